#!/usr/bin/env python3
"""libzmq (pyzmq) peer for ferrozmq-proto's interop tests (tests/interop_pyzmq.rs).

Runs one libzmq socket with the NULL, PLAIN or CURVE mechanism, either bound
(prints "PORT <n>") or connected to --connect, with an optional ZAP handler
thread that allows or denies, then either receives one message (prints
"RECV <hex>|<hex>..." per frame) or sends one (--send hex frames), and exits.
Every wait is bounded by --timeout seconds; the exit code is 0 on success,
2 on timeout. Events go to stdout, one per line, flushed:

    PORT <n>            bound port (server mode)
    ZAP <mech> <hex>..  a ZAP request (mechanism, credentials as hex)
    RECV <hex>|<hex>    a received message
    SENT                the message was queued (delivered before we exit)
    EVENT <name> <val>  monitor events (handshake failures)
    TIMEOUT             nothing happened in time
"""

import argparse
import sys
import threading

import zmq


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def zap_handler(ctx, allow, ready, stop):
    sock = ctx.socket(zmq.REP)
    sock.linger = 0
    sock.bind("inproc://zeromq.zap.01")
    ready.set()
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    while not stop.is_set():
        if not poller.poll(100):
            continue
        frames = sock.recv_multipart()
        version, request_id, domain, address, identity, mechanism = frames[:6]
        credentials = frames[6:]
        out("ZAP %s %s" % (mechanism.decode(), " ".join(c.hex() for c in credentials)))
        if allow:
            reply = [version, request_id, b"200", b"OK", b"user-42", b""]
        else:
            reply = [version, request_id, b"400", b"Denied", b"", b""]
        sock.send_multipart(reply)
    sock.close()


def monitor_thread(mon, stop, failed):
    poller = zmq.Poller()
    poller.register(mon, zmq.POLLIN)
    names = {
        zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "HANDSHAKE_FAILED_NO_DETAIL",
        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "HANDSHAKE_FAILED_PROTOCOL",
        zmq.EVENT_HANDSHAKE_FAILED_AUTH: "HANDSHAKE_FAILED_AUTH",
        zmq.EVENT_HANDSHAKE_SUCCEEDED: "HANDSHAKE_SUCCEEDED",
    }
    while not stop.is_set():
        if not poller.poll(100):
            continue
        try:
            msg = mon.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            continue
        event = int.from_bytes(msg[0][:2], sys.byteorder)
        value = int.from_bytes(msg[0][2:6], sys.byteorder)
        if event in names:
            out("EVENT %s %d" % (names[event], value))
            if "FAILED" in names[event]:
                failed.set()
    mon.close(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mech", choices=["null", "plain", "curve"], required=True)
    ap.add_argument("--role", choices=["server", "client"], required=True)
    ap.add_argument("--type", default="PULL", help="socket type name, e.g. PULL, PUSH, ROUTER")
    ap.add_argument("--connect", help="tcp endpoint to connect to (else bind 127.0.0.1:*)")
    ap.add_argument("--public", help="our CURVE public key (Z85)")
    ap.add_argument("--secret", help="our CURVE secret key (Z85)")
    ap.add_argument("--server-key", help="the server's CURVE public key (Z85, client)")
    ap.add_argument("--username", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--zap", choices=["none", "allow", "deny"], default="none")
    ap.add_argument("--send", help="frames to send, hex, separated by '|'")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument(
        "--until-failure",
        action="store_true",
        help="instead of sending/receiving, wait for a HANDSHAKE_FAILED_* event",
    )
    args = ap.parse_args()

    ctx = zmq.Context()
    stop = threading.Event()
    threads = []
    if args.zap != "none":
        ready = threading.Event()
        t = threading.Thread(target=zap_handler, args=(ctx, args.zap == "allow", ready, stop))
        t.daemon = True
        t.start()
        threads.append(t)
        ready.wait(args.timeout)

    sock = ctx.socket(getattr(zmq, args.type))
    sock.linger = int(args.timeout * 1000)
    if args.mech == "plain":
        if args.role == "server":
            sock.plain_server = True
        else:
            sock.plain_username = args.username.encode()
            sock.plain_password = args.password.encode()
    elif args.mech == "curve":
        sock.curve_secretkey = args.secret.encode()
        sock.curve_publickey = args.public.encode()
        if args.role == "server":
            sock.curve_server = True
        else:
            sock.curve_serverkey = args.server_key.encode()

    mon = sock.get_monitor_socket()
    failed = threading.Event()
    mt = threading.Thread(target=monitor_thread, args=(mon, stop, failed))
    mt.daemon = True
    mt.start()
    threads.append(mt)

    if args.connect:
        sock.connect(args.connect)
    else:
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        out("PORT %d" % port)

    rc = 0
    if args.until_failure:
        if not failed.wait(args.timeout):
            out("TIMEOUT")
            rc = 2
        sock.linger = 0
    elif args.send is not None:
        frames = [bytes.fromhex(f) for f in args.send.split("|")]
        if not sock.poll(int(args.timeout * 1000), zmq.POLLOUT):
            out("TIMEOUT")
            rc = 2
        else:
            sock.send_multipart(frames)
            out("SENT")
    else:
        if sock.poll(int(args.timeout * 1000), zmq.POLLIN):
            frames = sock.recv_multipart()
            out("RECV " + "|".join(f.hex() for f in frames))
        else:
            out("TIMEOUT")
            rc = 2
    sock.close()
    stop.set()
    for t in threads:
        t.join(2)
    ctx.term()
    return rc


if __name__ == "__main__":
    sys.exit(main())
