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
        SEND f1 f2 ...   -> OK | ERR <errno>     send a multipart message
        RECV <ms>        -> MSG f1 f2 ... | TIMEOUT
        SUB f / UNSUB f  -> OK                   (UN)SUBSCRIBE (SUB sockets)
        CLOSE            -> OK                   close the socket (linger 0)
        QUIT             -> exits 0
     Frames are written `x<hex>` (`x` alone is an empty frame). Between
     commands the socket is serviced every 10 ms (ZMQ_EVENTS), as an
     application in a poll loop would, so that it attaches new connections.

The test stream (also implemented in tests/common/mod.rs; keep in step):
message(i) is a list of frames chosen by i, with multipart messages, empty
frames (leading, trailing, alone), frames around the 1-byte/8-byte length
boundary (255/256/300 bytes), and a 1 MiB frame every 10 000 messages.
"""

import argparse
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

def out(line):
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


def role_ctl(ctx, args):
    kind = SOCKET_TYPES[args.type]
    socks, eps = make_sockets(ctx, kind, args, setup=lambda s: s.setsockopt(zmq.SNDTIMEO, 10000))
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
                ctx.destroy(linger=1000)
                return 0
            else:
                out("ERR unknown command %r" % cmd)
        except zmq.ZMQError as e:
            out("ERR %s" % e)
    return 3


ROLES = {
    "pull": role_pull,
    "push": role_push,
    "lb-pull": role_lb_pull,
    "fq-push": role_fq_push,
    "ctl": role_ctl,
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
    if args.role == "ctl" and args.type not in SOCKET_TYPES:
        p.error("ctl needs a socket type: " + ", ".join(sorted(SOCKET_TYPES)))

    arm_timeout(args.timeout, args.role)
    if args.role != "ctl":
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
