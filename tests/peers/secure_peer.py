#!/usr/bin/env python3
"""A real-libzmq (pyzmq) peer for ferrozmq's security interop tests
(crates/ferrozmq/tests/interop_security.rs): CURVE and PLAIN sockets, a ZAP
handler (RFC 27) in the peer's context, libzmq's monitor events, and bulk
streams.

One process hosts any number of named sockets in one context. It is driven
by a line protocol: one command per line on stdin, one reply line each on
stdout (OK / OK <value> / MSG ... / TIMEOUT / KEYS ... / ERR ...). Lines that
things happening in the background print at any time start with a word of
their own, so the driver can tell them from replies:

    EVENT <sock> <NAME> <value> <endpoint|->   a monitor event (NAME as
                                             libzmq's ZMQ_EVENT_<NAME>)
    ZAP version=x.. request_id=x.. domain=x.. address=x.. identity=x..
        mechanism=x.. creds=x..,x.. status=<code>
                                             a ZAP request the handler
                                             answered (frames as x<hex>)
    STREAM <sock> <result...>                a bulk stream finished (or
                                             `STREAM <sock> FAIL ...`)
    WAITING <sock> received=i of n           once a second while a receiving
                                             stream gets nothing
    FAIL ...                                 fatal (timeout, crash)

Commands (frames and binary values are written x<hex>, `x` = empty):

    KEYPAIR                      -> KEYS <public z85> <secret z85>
                                    (zmq_curve_keypair)
    ZAP                          -> OK   bind a ZAP handler at
                                    inproc://zeromq.zap.01 in this context;
                                    it answers 200 for NULL, for PLAIN users
                                    and CURVE keys allowed below, 400
                                    otherwise, and prints a ZAP line per
                                    request
    ZAPPLAIN x<user> x<password> -> OK   allow a PLAIN user
    ZAPCURVE x<key32>|<z85>      -> OK   allow a CURVE client key
    SOCKET <sock> <type>         -> OK   new socket (LINGER 0, SNDTIMEO 10 s)
    OPT <sock> <NAME> <value>    -> OK   setsockopt(ZMQ_<NAME>): an int,
                                    x<hex> bytes, or s:<text>
    MON <sock>                   -> OK   monitor all events (EVENT lines);
                                    do it before BIND/CONNECT
    BIND <sock> <endpoint>       -> OK <resolved endpoint>
    CONNECT <sock> <endpoint>    -> OK
    SEND <sock> f1 f2 ...        -> OK | ERR <errno> <text>
    RECV <sock> <ms>             -> MSG f1 f2 ... | TIMEOUT
    SENDSTREAM <sock> <n>        -> OK   a thread sends bulk(0..n) and
                                    prints `STREAM <sock> SENT n secs=S`
    RECVSTREAM <sock> <n>        -> OK   a thread receives n messages,
                                    checks each is bulk(i) in order and
                                    prints `STREAM <sock> OK messages=n
                                    bytes=B secs=S`
    STREAMWAIT <sock>            -> OK   once the stream thread is done
                                    (the socket can be used again)
    CLOSE <sock>                 -> OK
    QUIT                         -> exits 0

The bulk stream (also in interop_security.rs; keep in step): bulk(i) is one
frame: i as 8 bytes big-endian, then pattern bytes pat(i, size - 8), size
1 MiB when i % 25000 == 24999, 1024 otherwise; pat(seed, n) byte k is
((seed + k) % 256 * 7 + 3) & 0xff.

Bounded: `--timeout` seconds after start the peer prints `FAIL timeout` and
exits 2; it exits 3 as soon as stdin reaches EOF (its test went away).
"""

import argparse
import errno
import os
import queue
import signal
import struct
import sys
import threading
import time

try:
    import zmq
    from zmq.utils.monitor import recv_monitor_message
    from zmq.utils import z85
except ImportError as e:  # pragma: no cover - reported to the Rust side
    print("FAIL pyzmq is not importable (%s): run scripts/setup.sh" % e, flush=True)
    sys.exit(4)

_OUT = threading.RLock()  # (re-entrant: the SIGALRM handler prints too)


def out(line):
    with _OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def enc(frames):
    return " ".join("x" + bytes(f).hex() for f in frames)


def dec(word):
    if not word.startswith("x"):
        raise ValueError("frame must be written x<hex>: %r" % word)
    return bytes.fromhex(word[1:])


# ---------------------------------------------------------------- the stream

BIG = 1 << 20
SMALL = 1024
_TABLE = bytes(((j % 256) * 7 + 3) & 0xFF for j in range(BIG + 256))


def pat(seed, n):
    off = seed % 256
    return _TABLE[off:off + n]


def bulk(i):
    size = BIG if i % 25000 == 24999 else SMALL
    return struct.pack(">Q", i) + pat(i, size - 8)


# ----------------------------------------------------------------------- ZAP

class Zap:
    def __init__(self):
        self.lock = threading.Lock()
        self.plain = {}
        self.curve = set()

    def start(self, ctx):
        sock = ctx.socket(zmq.REP)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind("inproc://zeromq.zap.01")
        threading.Thread(target=self.run, args=(sock,), daemon=True).start()

    def decide(self, mechanism, creds):
        with self.lock:
            if mechanism == b"NULL":
                return b"200", b"OK", b"anonymous"
            if mechanism == b"PLAIN" and len(creds) == 2:
                if self.plain.get(creds[0]) == creds[1]:
                    return b"200", b"OK", creds[0]
                return b"400", b"Invalid username or password", b""
            if mechanism == b"CURVE" and len(creds) == 1:
                if creds[0] in self.curve:
                    return b"200", b"OK", z85.encode(creds[0])
                return b"400", b"Unknown public key", b""
            return b"500", b"Unexpected request", b""

    def run(self, sock):
        while True:
            try:
                req = sock.recv_multipart()
            except zmq.ZMQError:
                return
            if len(req) < 6:
                out("ZAP malformed %s" % enc(req))
                sock.send_multipart([b"1.0", req[1] if len(req) > 1 else b"", b"500", b"Malformed", b"", b""])
                continue
            version, rid, domain, address, identity, mechanism = req[:6]
            creds = req[6:]
            status, text, user = self.decide(mechanism, creds)
            out("ZAP version=x%s request_id=x%s domain=x%s address=x%s identity=x%s mechanism=x%s creds=%s status=%s" % (
                version.hex(), rid.hex(), domain.hex(), address.hex(), identity.hex(), mechanism.hex(),
                ",".join("x" + c.hex() for c in creds), status.decode()))
            sock.send_multipart([b"1.0", rid, status, text, user, b""])


# ------------------------------------------------------------------- monitor

EVENT_NAMES = {
    0x0001: "CONNECTED", 0x0002: "CONNECT_DELAYED", 0x0004: "CONNECT_RETRIED",
    0x0008: "LISTENING", 0x0010: "BIND_FAILED", 0x0020: "ACCEPTED",
    0x0040: "ACCEPT_FAILED", 0x0080: "CLOSED", 0x0100: "CLOSE_FAILED",
    0x0200: "DISCONNECTED", 0x0400: "MONITOR_STOPPED",
    0x0800: "HANDSHAKE_FAILED_NO_DETAIL", 0x1000: "HANDSHAKE_SUCCEEDED",
    0x2000: "HANDSHAKE_FAILED_PROTOCOL", 0x4000: "HANDSHAKE_FAILED_AUTH",
}


def start_monitor(name, s):
    m = s.get_monitor_socket(zmq.EVENT_ALL)

    def run():
        while True:
            try:
                e = recv_monitor_message(m)
            except zmq.ZMQError:
                return
            ev = int(e["event"])
            ep = e["endpoint"].decode("utf-8", "replace") or "-"
            out("EVENT %s %s %d %s" % (name, EVENT_NAMES.get(ev, "0x%x" % ev), int(e["value"]), ep))
            if ev == zmq.EVENT_MONITOR_STOPPED:
                return
    threading.Thread(target=run, daemon=True).start()


# ------------------------------------------------------------------- streams

def send_stream(name, s, n):
    try:
        t0 = time.monotonic()
        for i in range(n):
            s.send(bulk(i), copy=False)
        out("STREAM %s SENT %d secs=%.3f" % (name, n, time.monotonic() - t0))
    except Exception as e:  # noqa: BLE001 - reported to the driver
        out("STREAM %s FAIL sending: %r" % (name, e))


def recv_stream(name, s, n):
    try:
        t0 = time.monotonic()
        total = 0
        for i in range(n):
            while not s.poll(1000, zmq.POLLIN):
                out("WAITING %s received=%d of %d" % (name, i, n))
            got = s.recv_multipart()
            exp = bulk(i)
            if len(got) != 1 or got[0] != exp:
                out("STREAM %s FAIL message %d: got %d frames [%s], expected 1 frame of %d bytes starting %s" % (
                    name, i, len(got), ", ".join("%d:%s" % (len(f), f[:16].hex()) for f in got),
                    len(exp), exp[:16].hex()))
                return
            total += len(exp)
        out("STREAM %s OK messages=%d bytes=%d secs=%.3f" % (name, n, total, time.monotonic() - t0))
    except Exception as e:  # noqa: BLE001
        out("STREAM %s FAIL receiving: %r" % (name, e))


# ------------------------------------------------------------------- driver

SOCKET_TYPES = {
    "pair": zmq.PAIR, "push": zmq.PUSH, "pull": zmq.PULL, "req": zmq.REQ, "rep": zmq.REP,
    "dealer": zmq.DEALER, "router": zmq.ROUTER, "pub": zmq.PUB, "sub": zmq.SUB,
}


def opt_value(w):
    if w.startswith("x"):
        return dec(w)
    if w.startswith("s:"):
        return w[2:].encode()
    return int(w)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timeout", type=int, default=30)
    args = p.parse_args()

    def fire(_sig, _frm):
        out("FAIL timeout: secure peer still running after %s s" % args.timeout)
        os._exit(2)
    signal.signal(signal.SIGALRM, fire)
    signal.alarm(args.timeout)

    ctx = zmq.Context()
    zap = Zap()
    socks = {}
    streams = {}  # name -> thread (the socket is the thread's until joined)
    lines = queue.Queue()

    def reader():
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=reader, daemon=True).start()
    out("READY")
    while True:
        try:
            line = lines.get(timeout=0.01)
        except queue.Empty:
            # Keep idle sockets serviced as an application's poll loop would
            # (a libzmq socket attaches new pipes when called into).
            for name, s in socks.items():
                if name not in streams:
                    s.getsockopt(zmq.EVENTS)
            continue
        if line is None:
            os._exit(3)
        w = line.split()
        if not w:
            continue
        cmd = w[0]
        try:
            if cmd == "KEYPAIR":
                pub, sec = zmq.curve_keypair()
                out("KEYS %s %s" % (pub.decode(), sec.decode()))
            elif cmd == "ZAP":
                zap.start(ctx)
                out("OK")
            elif cmd == "ZAPPLAIN":
                with zap.lock:
                    zap.plain[dec(w[1])] = dec(w[2])
                out("OK")
            elif cmd == "ZAPCURVE":
                key = dec(w[1]) if w[1].startswith("x") else z85.decode(w[1])
                with zap.lock:
                    zap.curve.add(key)
                out("OK")
            elif cmd == "SOCKET":
                s = ctx.socket(SOCKET_TYPES[w[2]])
                s.setsockopt(zmq.LINGER, 0)
                s.setsockopt(zmq.SNDTIMEO, 10000)
                socks[w[1]] = s
                out("OK")
            elif cmd in ("STREAMWAIT",):
                t = streams.pop(w[1], None)
                if t is not None:
                    t.join()
                out("OK")
            elif len(w) > 1 and w[1] in streams:
                out("ERR EBUSY socket %s is running a stream" % w[1])
            elif cmd == "OPT":
                socks[w[1]].setsockopt(getattr(zmq, w[2].upper()), opt_value(w[3]))
                out("OK")
            elif cmd == "MON":
                start_monitor(w[1], socks[w[1]])
                out("OK")
            elif cmd == "BIND":
                s = socks[w[1]]
                s.bind(w[2])
                out("OK " + s.getsockopt_string(zmq.LAST_ENDPOINT))
            elif cmd == "CONNECT":
                socks[w[1]].connect(w[2])
                out("OK")
            elif cmd == "SEND":
                socks[w[1]].send_multipart([dec(f) for f in w[2:]])
                out("OK")
            elif cmd == "RECV":
                s = socks[w[1]]
                if s.poll(int(w[2]), zmq.POLLIN):
                    out("MSG " + enc(s.recv_multipart()))
                else:
                    out("TIMEOUT")
            elif cmd in ("SENDSTREAM", "RECVSTREAM"):
                fn = send_stream if cmd == "SENDSTREAM" else recv_stream
                t = threading.Thread(target=fn, args=(w[1], socks[w[1]], int(w[2])), daemon=True)
                streams[w[1]] = t
                t.start()
                out("OK")
            elif cmd == "CLOSE":
                socks.pop(w[1]).close(linger=0)
                out("OK")
            elif cmd == "QUIT":
                sys.stdout.flush()
                os._exit(0)
            else:
                out("ERR EINVAL unknown command %r" % cmd)
        except zmq.ZMQError as e:
            out("ERR %s %s" % (errno.errorcode.get(e.errno, str(e.errno)), e))
        except (KeyError, IndexError, ValueError, AttributeError) as e:
            out("ERR EINVAL %s: %r" % (cmd, e))


if __name__ == "__main__":
    main()
