#!/usr/bin/env python3
"""A real-libzmq (pyzmq) peer for ferrozmq's interop tests.

Driven by command-line arguments and, for the `ctl` role, a line protocol on
stdin/stdout. Every role first prints one line

    READY <endpoint> [<endpoint>...]

once its sockets are bound (the resolved LAST_ENDPOINT, so `tcp://127.0.0.1:*`
works) or connected, so the Rust side waits on a condition, never a sleep.
Results are single lines starting with OK / FAIL / a role-specific word.

Every role is bounded: `--timeout` seconds (default 30) after start the peer
prints `FAIL timeout ...` and exits 2, and it exits 3 as soon as its stdin
reaches EOF (the test process went away), so no peer outlives its test.

Roles (one socket per --bind/--connect argument, in order):

  pull      --count N            receive N messages of the shared test stream
                                 (see message()), verify each in order, print
                                 `OK messages=N frames=F bytes=B` or `FAIL ...`
                                 (`WAITING received=i ...` each second nothing
                                 arrives). --wait-go: bind/connect only after
                                 a `GO` line on stdin.
  push      --count N            send N messages of the stream, close with
                                 linger -1, terminate the context, print `DONE`
  lb-pull   --count N            several PULL sockets: `probe` messages are
                                 counted per socket (prints `PROBED` once every
                                 socket has had one); `data...` messages are
                                 counted until N in all, then prints
                                 `COUNTS c0 c1 ...`
  fq-push   --count N            several PUSH sockets: wait until every one is
                                 connected (IMMEDIATE + POLLOUT), send N
                                 messages `<socket> <seq>[ <padding>]` on each,
                                 interleaved; print `BLOCKED ...` once no socket
                                 has been writable for 200 ms (back-pressure
                                 from the receiver on every peer), `SENT` at the
                                 end, then close with linger and print `DONE`
  ctl TYPE                       one socket of TYPE (pair, pub, sub, xpub, xsub,
                                 push, pull), commands on stdin, one reply
                                 line each:
        SEND f1 f2 ...   -> OK | ERR <ERRNO> <message>  send a multipart message
        RECV <ms>        -> MSG f1 f2 ... | TIMEOUT
        SUB f / UNSUB f  -> OK                   (UN)SUBSCRIBE (SUB sockets)
        CLOSE            -> OK                   close the socket (linger 0)
        QUIT             -> exits 0
     Frames are written `x<hex>` (`x` alone is an empty frame). Between
     commands the socket is serviced every 10 ms (ZMQ_EVENTS), as an
     application in a poll loop would, so that it attaches new connections.

Request-reply roles (tests/interop_reqrep.rs):

  ctl TYPE                       also req, rep, dealer, router, stream
  mon TYPE                       one socket of TYPE, monitored (all events)
                                 from before its bind/connect; every event is
                                 printed as it happens:
                                     EVENT <NAME> <value> <endpoint|->
                                 (NAME as libzmq's ZMQ_EVENT_<NAME>, e.g.
                                 CONNECT_RETRIED). Commands on stdin: the ctl
                                 ones (SEND/RECV/CLOSE/QUIT; their replies are
                                 interleaved with EVENT lines).
  broker                         a ROUTER (first endpoint) and a DEALER
                                 (second endpoint) joined by zmq.proxy; runs
                                 until stdin closes
  rep-workers --workers W        W REP sockets on the (first) endpoint; each
                                 answers a request [id, body...] with
                                 [id, "w<k>", body...]; runs until stdin closes
  req-clients --clients C --count N
                                 C REQ sockets on the (first) endpoint, each on
                                 its own thread sending N requests
                                 ["c<k>-<seq>", payload] and checking that the
                                 reply echoes that id and payload; prints
                                 `OK requests=C*N workers=w0:n0,w1:n1,...`

  --opt NAME=VALUE               (repeatable) setsockopt(ZMQ_<NAME>) before
                                 bind/connect: an int, or bytes as x<hex>

The test stream (also implemented in tests/common/mod.rs; keep in step):
message(i) is a list of frames chosen by i, with multipart messages, empty
frames (leading, trailing, alone), frames around the 1-byte/8-byte length
boundary (255/256/300 bytes), and a 1 MiB frame every 10 000 messages.
"""

import argparse
import errno
import os
import queue
import signal
import struct
import sys
import threading

try:
    import zmq
except ImportError as e:  # pragma: no cover - reported to the Rust side
    print("FAIL pyzmq is not importable (%s): run scripts/setup.sh" % e, flush=True)
    sys.exit(4)

# ---------------------------------------------------------------- test stream

_TABLE = bytes(((j * 7 + 3) & 0xFF) for j in range(512))


def pat(seed, n):
    """n pattern bytes; byte k is ((seed + k) % 256 * 7 + 3) & 0xff."""
    off = seed % 256
    base = _TABLE[off:off + 256]
    return (base * (n // 256 + 1))[:n]


def message(i):
    head = struct.pack(">Q", i)
    if i % 10000 == 5000:
        return [head, pat(i, 1 << 20)]
    if i % 1000 == 500:
        # Large frames (ferrozmq reads these into their own pooled buffers).
        return [head, pat(i, 16383 + i % 70000), pat(i + 1, 16384), pat(i + 2, 65536), b""]
    r = i % 13
    if r == 0:
        return [head]
    if r == 1:
        return [head, b""]
    if r == 2:
        return [head, b"", pat(i, i % 100)]
    if r == 3:
        return [head, pat(i, 300), b"", b"", pat(i + 1, 5)]
    if r == 4:
        return [b""]
    if r == 5:
        return [head, pat(i, 255)]
    if r == 6:
        return [head, pat(i, 256)]
    if r == 7:
        return [b"", b"", head]
    if r == 8:
        return [head, pat(i, 38), pat(i, 39)]
    if r == 9:
        return [head, pat(i, 4096 + i % 1000)]
    return [head, pat(i, i % 64)]


# ------------------------------------------------------------------- helpers

_OUT = threading.RLock()  # (re-entrant: the SIGALRM handler prints too)


def out(line):
    # Lines may come from several threads (mon role): one whole line each.
    with _OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def enc(frames):
    return " ".join("x" + f.hex() for f in frames)


def dec(word):
    if not word.startswith("x"):
        raise ValueError("frame must be written x<hex>: %r" % word)
    return bytes.fromhex(word[1:])


def describe(frames):
    return "[" + ", ".join(
        "%d:%s" % (len(f), f[:16].hex() + ("..." if len(f) > 16 else "")) for f in frames
    ) + "]"


GO = threading.Event()


def watch_stdin_eof():
    """Exit at once when the parent closes our stdin (it died or is done);
    a `GO` line sets the GO event (see --wait-go)."""
    def run():
        try:
            for line in sys.stdin:
                if line.strip() == "GO":
                    GO.set()
        except Exception:
            pass
        os._exit(3)
    threading.Thread(target=run, daemon=True).start()


def arm_timeout(seconds, role):
    def fire(_sig, _frm):
        out("FAIL timeout: %s peer still running after %s s" % (role, seconds))
        os._exit(2)
    signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)


SOCKET_TYPES = {
    "pair": zmq.PAIR, "pub": zmq.PUB, "sub": zmq.SUB, "xpub": zmq.XPUB,
    "xsub": zmq.XSUB, "push": zmq.PUSH, "pull": zmq.PULL,
    "req": zmq.REQ, "rep": zmq.REP, "dealer": zmq.DEALER, "router": zmq.ROUTER,
    "stream": zmq.STREAM,
}


def make_sockets(ctx, kind, args, setup=None):
    """One socket per --bind / --connect, in the order given. Returns the
    sockets and the endpoints to report."""
    socks, eps = [], []
    for how, ep in args.endpoints:
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, args.linger)
        if args.sndhwm is not None:
            s.setsockopt(zmq.SNDHWM, args.sndhwm)
        if args.rcvhwm is not None:
            s.setsockopt(zmq.RCVHWM, args.rcvhwm)
        for name, value in args.opts:
            s.setsockopt(getattr(zmq, name.upper()), value)
        if setup:
            setup(s)
        if how == "bind":
            s.bind(ep)
            eps.append(s.getsockopt_string(zmq.LAST_ENDPOINT))
        else:
            s.connect(ep)
            eps.append(ep)
        socks.append(s)
    return socks, eps


# --------------------------------------------------------------------- roles

def role_pull(ctx, args):
    if args.wait_go:
        GO.wait()
    socks, eps = make_sockets(ctx, zmq.PULL, args)
    s = socks[0]
    out("READY " + " ".join(eps))
    frames_total = bytes_total = 0
    for i in range(args.count):
        # Say so (once a second) while nothing arrives, for the diagnostics.
        while not s.poll(1000, zmq.POLLIN):
            out("WAITING received=%d of %d" % (i, args.count))
        got = s.recv_multipart()
        exp = message(i)
        if got != exp:
            out("FAIL message %d: got %d frames %s, expected %d frames %s" % (
                i, len(got), describe(got), len(exp), describe(exp)))
            return 1
        frames_total += len(got)
        bytes_total += sum(len(f) for f in got)
    out("OK messages=%d frames=%d bytes=%d" % (args.count, frames_total, bytes_total))
    return 0


def role_push(ctx, args):
    socks, eps = make_sockets(ctx, zmq.PUSH, args)
    s = socks[0]
    out("READY " + " ".join(eps))
    for i in range(args.count):
        s.send_multipart(message(i))
    out("SENT")
    s.close(linger=-1)
    ctx.term()
    out("DONE")
    return 0


def role_lb_pull(ctx, args):
    socks, eps = make_sockets(ctx, zmq.PULL, args)
    out("READY " + " ".join(eps))
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    index = {s: k for k, s in enumerate(socks)}
    counts = [0] * len(socks)
    probed = [False] * len(socks)
    announced = False
    total = 0
    while total < args.count:
        for s, _ in poller.poll(1000):
            while True:
                try:
                    m = s.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                k = index[s]
                if m == b"probe":
                    probed[k] = True
                    if not announced and all(probed):
                        announced = True
                        out("PROBED")
                elif m.startswith(b"data"):
                    if not announced:
                        out("FAIL data message %r arrived before every peer was probed" % m)
                        return 1
                    counts[k] += 1
                    total += 1
                else:
                    out("FAIL unexpected message %r on socket %d" % (m, k))
                    return 1
    out("COUNTS " + " ".join(str(c) for c in counts))
    return 0


def role_fq_push(ctx, args):
    socks, eps = make_sockets(ctx, zmq.PUSH, args, setup=lambda s: s.setsockopt(zmq.IMMEDIATE, 1))
    out("READY " + " ".join(eps))
    # Wait until every socket has a connected peer: with IMMEDIATE, POLLOUT
    # means a completed connection.
    pending = set(socks)
    while pending:
        poller = zmq.Poller()
        for s in pending:
            poller.register(s, zmq.POLLOUT)
        for s, _ in poller.poll(1000):
            pending.discard(s)
    out("CONNECTED")
    # Send round-robin over the sockets, each message as soon as its socket
    # can take it. With --size large enough and a small SNDHWM, every socket
    # ends up blocked by back-pressure (the receiver has stopped reading):
    # say BLOCKED once no socket has become writable for 200 ms, which means
    # the receiver holds queued data from every peer.
    pad = b" " + b"." * args.size if args.size else b""
    seq = [0] * len(socks)
    blocked = False
    while any(n < args.count for n in seq):
        poller = zmq.Poller()
        for k, s in enumerate(socks):
            if seq[k] < args.count:
                poller.register(s, zmq.POLLOUT)
        ready = dict(poller.poll(200))
        if not ready and not blocked:
            blocked = True
            out("BLOCKED sent=%s" % ",".join(str(n) for n in seq))
        for k, s in enumerate(socks):
            if s in ready and seq[k] < args.count:
                s.send(b"%d %d" % (k, seq[k]) + pad, zmq.NOBLOCK)
                seq[k] += 1
    out("SENT")
    for s in socks:
        s.close(linger=-1)
    ctx.term()
    out("DONE")
    return 0


EVENT_NAMES = {
    0x0001: "CONNECTED", 0x0002: "CONNECT_DELAYED", 0x0004: "CONNECT_RETRIED",
    0x0008: "LISTENING", 0x0010: "BIND_FAILED", 0x0020: "ACCEPTED",
    0x0040: "ACCEPT_FAILED", 0x0080: "CLOSED", 0x0100: "CLOSE_FAILED",
    0x0200: "DISCONNECTED", 0x0400: "MONITOR_STOPPED",
    0x0800: "HANDSHAKE_FAILED_NO_DETAIL", 0x1000: "HANDSHAKE_SUCCEEDED",
    0x2000: "HANDSHAKE_FAILED_PROTOCOL", 0x4000: "HANDSHAKE_FAILED_AUTH",
}


def start_monitor(s):
    """Prints every event of `s` as `EVENT <NAME> <value> <endpoint|->`, from
    a thread reading pyzmq's monitor socket (set up before bind/connect)."""
    from zmq.utils.monitor import recv_monitor_message
    m = s.get_monitor_socket(zmq.EVENT_ALL)

    def run():
        while True:
            try:
                e = recv_monitor_message(m)
            except zmq.ZMQError:
                return
            ev = int(e["event"])
            ep = e["endpoint"].decode("utf-8", "replace") or "-"
            out("EVENT %s %d %s" % (EVENT_NAMES.get(ev, "0x%x" % ev), int(e["value"]), ep))
            if ev == zmq.EVENT_MONITOR_STOPPED:
                return
    threading.Thread(target=run, daemon=True).start()


def role_mon(ctx, args):
    return role_ctl(ctx, args, monitor=True)


def role_ctl(ctx, args, monitor=False):
    kind = SOCKET_TYPES[args.type]

    def setup(s):
        s.setsockopt(zmq.SNDTIMEO, 10000)
        if monitor:
            start_monitor(s)
    socks, eps = make_sockets(ctx, kind, args, setup=setup)
    s = socks[0]
    out("READY " + " ".join(eps))
    # Read commands on a thread; meanwhile keep the socket serviced, as an
    # application in a poll loop would. (A libzmq socket only processes its
    # commands - new connections, sending its subscriptions to them - when
    # the application calls into it.)
    lines = queue.Queue()

    def reader():
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=reader, daemon=True).start()
    closed = False
    while True:
        try:
            line = lines.get(timeout=0.01)
        except queue.Empty:
            if not closed:
                s.getsockopt(zmq.EVENTS)
            continue
        if line is None:
            break
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        try:
            if cmd == "SEND":
                s.send_multipart([dec(w) for w in words[1:]])
                out("OK")
            elif cmd == "RECV":
                if s.poll(int(words[1]), zmq.POLLIN):
                    out("MSG " + enc(s.recv_multipart()))
                else:
                    out("TIMEOUT")
            elif cmd == "SUB":
                s.setsockopt(zmq.SUBSCRIBE, dec(words[1]))
                out("OK")
            elif cmd == "UNSUB":
                s.setsockopt(zmq.UNSUBSCRIBE, dec(words[1]))
                out("OK")
            elif cmd == "CLOSE":
                s.close(linger=0)
                closed = True
                out("OK")
            elif cmd == "QUIT":
                if not monitor:  # (the monitor thread still uses its socket)
                    ctx.destroy(linger=1000)
                return 0
            else:
                out("ERR unknown command %r" % cmd)
        except zmq.ZMQError as e:
            out("ERR %s %s" % (errno.errorcode.get(e.errno, str(e.errno)), e))
    return 3


def role_broker(ctx, args):
    """ROUTER frontend + DEALER backend joined by zmq.proxy (libzmq's)."""
    if len(args.endpoints) != 2:
        out("FAIL broker needs two endpoints: frontend, backend")
        return 1
    fe_args = argparse.Namespace(**vars(args))
    fe_args.endpoints = args.endpoints[:1]
    be_args = argparse.Namespace(**vars(args))
    be_args.endpoints = args.endpoints[1:]
    (fe,), fe_eps = make_sockets(ctx, zmq.ROUTER, fe_args)
    (be,), be_eps = make_sockets(ctx, zmq.DEALER, be_args)
    out("READY " + " ".join(fe_eps + be_eps))
    zmq.proxy(fe, be)
    return 0


def role_rep_workers(ctx, args):
    socks, eps = make_sockets(ctx, zmq.REP, argparse.Namespace(
        **dict(vars(args), endpoints=args.endpoints[:1] * args.workers)))

    def work(k, s):
        me = b"w%d" % k
        try:
            while True:
                req = s.recv_multipart()
                s.send_multipart([req[0], me] + req[1:])
        except zmq.ZMQError:
            return
    for k, s in enumerate(socks):
        threading.Thread(target=work, args=(k, s), daemon=True).start()
    out("READY " + " ".join(eps[:1]))
    threading.Event().wait()
    return 0


def role_req_clients(ctx, args):
    socks, eps = make_sockets(ctx, zmq.REQ, argparse.Namespace(
        **dict(vars(args), endpoints=args.endpoints[:1] * args.clients)))
    for s in socks:
        s.setsockopt(zmq.RCVTIMEO, 10000)
        s.setsockopt(zmq.SNDTIMEO, 10000)
    out("READY " + " ".join(eps[:1]))
    errors = []
    workers = {}
    lock = threading.Lock()

    def client(k, s):
        seen = {}
        try:
            for seq in range(args.count):
                rid = b"c%d-%d" % (k, seq)
                payload = pat(k * 100003 + seq, seq % 50)
                s.send_multipart([rid, payload])
                rep = s.recv_multipart()
                if len(rep) != 3 or rep[0] != rid or rep[2] != payload:
                    errors.append("client %d request %d: reply %s does not match request %s" % (
                        k, seq, describe(rep), describe([rid, payload])))
                    return
                seen[rep[1]] = seen.get(rep[1], 0) + 1
        except zmq.ZMQError as e:
            errors.append("client %d: %s (after %d replies)" % (k, e, sum(seen.values())))
        with lock:
            for w, n in seen.items():
                workers[w] = workers.get(w, 0) + n
    threads = [threading.Thread(target=client, args=(k, s), daemon=True) for k, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        out("FAIL " + "; ".join(errors))
        return 1
    total = sum(workers.values())
    out("OK requests=%d workers=%s" % (total, ",".join(
        "%s:%d" % (w.decode(), n) for w, n in sorted(workers.items()))))
    return 0


ROLES = {
    "pull": role_pull,
    "push": role_push,
    "lb-pull": role_lb_pull,
    "fq-push": role_fq_push,
    "ctl": role_ctl,
    "mon": role_mon,
    "broker": role_broker,
    "rep-workers": role_rep_workers,
    "req-clients": role_req_clients,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", choices=sorted(ROLES))
    p.add_argument("type", nargs="?", help="socket type for the ctl role")
    p.add_argument("--bind", action="append", default=[], dest="binds")
    p.add_argument("--connect", action="append", default=[], dest="connects")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--timeout", type=int, default=30)
    p.add_argument("--linger", type=int, default=-1)
    p.add_argument("--sndhwm", type=int)
    p.add_argument("--rcvhwm", type=int)
    p.add_argument("--size", type=int, default=0,
                   help="fq-push: pad each message with this many bytes")
    p.add_argument("--workers", type=int, default=1, help="rep-workers: REP sockets")
    p.add_argument("--clients", type=int, default=1, help="req-clients: REQ sockets")
    p.add_argument("--opt", action="append", default=[], dest="opt_words",
                   help="NAME=VALUE: setsockopt(ZMQ_NAME) (int, or bytes as x<hex>)")
    p.add_argument("--wait-go", action="store_true",
                   help="pull: create, bind/connect the socket only after a GO line on stdin")
    # Keep the command-line order of --bind/--connect.
    args = p.parse_args()
    order = []
    argv = sys.argv[1:]
    for k, a in enumerate(argv):
        if a in ("--bind", "--connect") and k + 1 < len(argv):
            order.append((a[2:], argv[k + 1]))
        elif a.startswith("--bind="):
            order.append(("bind", a.split("=", 1)[1]))
        elif a.startswith("--connect="):
            order.append(("connect", a.split("=", 1)[1]))
    args.endpoints = order
    if not order:
        p.error("give at least one --bind or --connect")
    args.opts = []
    for w in args.opt_words:
        name, _, value = w.partition("=")
        args.opts.append((name, dec(value) if value.startswith("x") else int(value)))
    if args.role in ("ctl", "mon") and args.type not in SOCKET_TYPES:
        p.error("ctl needs a socket type: " + ", ".join(sorted(SOCKET_TYPES)))

    arm_timeout(args.timeout, args.role)
    if args.role not in ("ctl", "mon"):
        watch_stdin_eof()
    ctx = zmq.Context()
    try:
        rc = ROLES[args.role](ctx, args)
    except zmq.ZMQError as e:
        out("FAIL %s: %s" % (args.role, e))
        rc = 1
    sys.stdout.flush()
    # Do not wait for lingering sockets after a failure or a QUIT.
    os._exit(rc)


if __name__ == "__main__":
    main()
