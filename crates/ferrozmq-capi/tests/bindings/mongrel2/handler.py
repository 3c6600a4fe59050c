#!/usr/bin/python3
"""A Mongrel2 handler written with pyzmq (Debian's python3-zmq, so it runs on
whichever libzmq.so.5 the dynamic loader finds).

    handler.py --pull ENDPOINT --pub ENDPOINT --ready FILE [--lifetime S]

The Mongrel2 handler protocol, implemented here rather than imported:
* Mongrel2 PUSHes each request to the handler's PULL socket as one frame
      UUID SP CONN_ID SP PATH SP HEADERS BODY
  where HEADERS is a tnetstring dict (protocol='tnetstring') or a netstring
  of JSON (protocol='json'), and BODY is a netstring `LEN:bytes,`.
* The handler PUBlishes each reply as one frame
      UUID SP LEN:CONN_IDS, SP HTTP-RESPONSE
  (CONN_IDS space-separated); Mongrel2's SUB socket subscribes to its UUID.
* A client closing its connection arrives as METHOD "JSON" with the body
  {"type":"disconnect"}: no reply.

Routes: /handler/ping -> "pong"; /handler/hello?QUERY -> "hello METHOD
PATH QUERY"; /handler/echo -> the request body, with X-Body-Length and
X-Body-Sha256; /handler/status/NNN -> status NNN; /handler/big?n=N -> N bytes
of a fixed pattern with X-Body-Sha256.

Writes FILE (JSON) once its sockets are connected: the libzmq it mapped
(from /proc/self/maps) and zmq_version(). Ends by itself after --lifetime
seconds, on SIGTERM or SIGINT, closing its sockets with linger 0 and
terminating the context (so a hang in zmq_ctx_term shows up as a handler
that does not exit).
"""

import argparse
import hashlib
import json
import os
import signal
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from m2proto import big_body, tnetstring_parse  # noqa: E402


def parse_request(msg):
    sender, conn_id, path, rest = msg.split(b" ", 3)
    headers, j = tnetstring_parse(rest, 0)
    if isinstance(headers, bytes):  # protocol='json': a netstring holding JSON
        headers = json.loads(headers)
    body, _ = tnetstring_parse(rest, j)
    return sender, conn_id, path.decode(), headers, body


def http_response(status, body, extra=None):
    reasons = {200: "OK", 201: "Created", 404: "Not Found", 418: "I'm a teapot", 500: "Internal Server Error"}
    head = ["HTTP/1.1 %d %s" % (status, reasons.get(status, "Status")),
            "Content-Type: text/plain", "Content-Length: %d" % len(body)]
    for k, v in (extra or {}).items():
        head.append("%s: %s" % (k, v))
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def respond(headers, path, body):
    method = headers.get("METHOD", "")
    query = headers.get("QUERY", "")
    if path == "/handler/ping":
        return http_response(200, b"pong")
    if path == "/handler/hello":
        return http_response(200, ("hello %s %s %s" % (method, path, query)).encode())
    if path == "/handler/echo":
        return http_response(200, body, {"X-Body-Length": len(body),
                                         "X-Body-Sha256": hashlib.sha256(body).hexdigest()})
    if path.startswith("/handler/status/"):
        code = int(path.rsplit("/", 1)[1])
        return http_response(code, ("status %d" % code).encode())
    if path == "/handler/big":
        n = int(dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv).get("n", "0"))
        data = big_body(n)
        return http_response(200, data, {"X-Body-Sha256": hashlib.sha256(data).hexdigest()})
    return http_response(404, ("no route for %s in the handler" % path).encode())


def mapped_libzmq():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and os.path.basename(parts[5].strip()).startswith("libzmq"):
                libs.add(os.path.realpath(parts[5].strip()))
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pull", required=True)
    ap.add_argument("--pub", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *a: stop.append("SIGINT"))

    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pub = ctx.socket(zmq.PUB)
    for s in (pull, pub):
        s.setsockopt(zmq.LINGER, 0)
    pull.connect(args.pull)
    pub.connect(args.pub)
    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"pid": os.getpid(), "libs": mapped_libzmq(), "zmq_version": zmq.zmq_version()}, f)
    os.rename(tmp, args.ready)

    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    deadline = time.monotonic() + args.lifetime
    served = disconnects = 0
    while not stop and time.monotonic() < deadline:
        try:
            events = dict(poller.poll(200))
        except zmq.ZMQError as e:
            if e.errno == zmq.EINTR:
                continue
            raise
        if pull not in events:
            continue
        msg = pull.recv()
        try:
            sender, conn_id, path, headers, body = parse_request(msg)
        except Exception as e:  # a malformed request is a test failure: say so
            print("handler: cannot parse request %r: %s" % (msg[:200], e), file=sys.stderr, flush=True)
            continue
        if headers.get("METHOD") == "JSON" and b'"disconnect"' in body:
            disconnects += 1
            continue
        reply = respond(headers, path, body)
        pub.send(sender + b" " + str(len(conn_id)).encode() + b":" + conn_id + b", " + reply)
        served += 1
    print("handler: served %d requests, %d disconnects; stopping (%s)" % (
        served, disconnects, stop[0] if stop else "lifetime over"), file=sys.stderr, flush=True)
    pull.close()
    pub.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
