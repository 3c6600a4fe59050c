// A JeroMQ peer for ferrozmq's interop tests (crates/ferrozmq/tests/interop_jeromq.rs).
//
// JeroMQ 0.3.x (Debian's libjeromq-java) is a Java port of libzmq 3.2: it
// speaks ZMTP 2.0 (greeting revision 0x01, 12-octet greeting, identity
// frame, no mechanisms) and falls back to ZMTP 1.0. ferrozmq speaks ZMTP
// 3.1 and must downgrade to talk to it.
//
// Usage:
//
//   java -cp jeromq.jar:DIR JeroPeer ROLE bind|connect ENDPOINT [COUNT] [options]
//
// ENDPOINT is tcp only (JeroMQ has no ipc on the JVM); a bind endpoint
// ending in ":*" binds a random port; `connect` takes a comma-separated list. Every role first prints one line
//
//   READY <endpoint>
//
// once bound (the real endpoint) or connected, so that the Rust side waits on
// a condition, never a sleep. Results are single lines starting with OK /
// FAIL / a role-specific word.
//
// Scripted roles (COUNT messages of the shared test stream, see message()):
//
//   push    send message(0..COUNT); print SENT; close with linger -1,
//           terminate the context; print DONE
//   pull    receive COUNT messages, verify each in order; print
//           `OK messages=N frames=F bytes=B` or `FAIL ...`
//           (`WAITING received=i of N` each second nothing arrives)
//   req     COUNT round trips: send message(i), expect the reply
//           ["rep", message(i)...]; print `OK requests=N`
//   rep     answer COUNT requests, which must be message(0..COUNT) in order,
//           with ["rep", request...]; print `OK requests=N`, close with
//           linger -1, terminate; print DONE
//
// Interactive roles (pub, sub, xpub, xsub, dealer, router, pair): one socket,
// one command per stdin line, one reply line each:
//
//   SEND f1 f2 ...   -> OK | ERR EAGAIN      send a multipart message
//   RECV <ms>        -> MSG f1 f2 ... | TIMEOUT
//   SUB f / UNSUB f  -> OK                   (un)subscribe (SUB sockets)
//   QUIT             -> OK, then exits 0
//
// Frames are written `x<hex>` (`x` alone is an empty frame). Between
// commands the socket is serviced every 10 ms (ZMQ_EVENTS), as an
// application's poll loop would, so that it attaches new connections and
// sends its subscriptions.
//
// Options:
//   --identity x<hex>   ZMQ_IDENTITY before bind/connect
//   --sub x<hex>        (repeatable) ZMQ_SUBSCRIBE before bind/connect
//   --timeout S         print `FAIL timeout` and exit 2 after S seconds (60)
//
// Every role exits 3 as soon as its stdin reaches EOF (the test process went
// away), so no peer outlives its test.

import org.zeromq.ZMQ;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

public class JeroPeer {
    private static final Object OUT = new Object();
    private static final String EOF = "\u0000EOF";

    static void out(String line) {
        synchronized (OUT) {
            System.out.println(line);
            System.out.flush();
        }
    }

    static void exit(int code) {
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    // ------------------------------------------------------------ test stream
    // Same as tests/common/mod.rs `message` and tests/peers/zmq_peer.py.

    static byte[] pat(long seed, int n) {
        int off = (int) (seed % 256);
        byte[] b = new byte[n];
        for (int k = 0; k < n; k++) {
            b[k] = (byte) ((((off + k) % 256) * 7 + 3) & 0xFF);
        }
        return b;
    }

    static List<byte[]> message(long i) {
        byte[] head = new byte[8];
        for (int k = 0; k < 8; k++) {
            head[k] = (byte) (i >>> (56 - 8 * k));
        }
        byte[] e = new byte[0];
        if (i % 10000 == 5000) {
            return Arrays.asList(head, pat(i, 1 << 20));
        }
        if (i % 1000 == 500) {
            return Arrays.asList(head, pat(i, 16383 + (int) (i % 70000)), pat(i + 1, 16384), pat(i + 2, 65536), e);
        }
        switch ((int) (i % 13)) {
            case 0: return Arrays.asList(head);
            case 1: return Arrays.asList(head, e);
            case 2: return Arrays.asList(head, e, pat(i, (int) (i % 100)));
            case 3: return Arrays.asList(head, pat(i, 300), e, e, pat(i + 1, 5));
            case 4: return Arrays.asList(e);
            case 5: return Arrays.asList(head, pat(i, 255));
            case 6: return Arrays.asList(head, pat(i, 256));
            case 7: return Arrays.asList(e, e, head);
            case 8: return Arrays.asList(head, pat(i, 38), pat(i, 39));
            case 9: return Arrays.asList(head, pat(i, 4096 + (int) (i % 1000)));
            default: return Arrays.asList(head, pat(i, (int) (i % 64)));
        }
    }

    // ---------------------------------------------------------------- helpers

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xFF));
        }
        return sb.toString();
    }

    static byte[] unhexWord(String w) {
        if (!w.startsWith("x")) {
            throw new IllegalArgumentException("frame must be written x<hex>: " + w);
        }
        String h = w.substring(1);
        byte[] b = new byte[h.length() / 2];
        for (int k = 0; k < b.length; k++) {
            b[k] = (byte) Integer.parseInt(h.substring(2 * k, 2 * k + 2), 16);
        }
        return b;
    }

    static String enc(List<byte[]> frames) {
        StringBuilder sb = new StringBuilder();
        for (byte[] f : frames) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append('x').append(hex(f));
        }
        return sb.toString();
    }

    static String describe(List<byte[]> frames) {
        StringBuilder sb = new StringBuilder("[");
        for (int k = 0; k < frames.size(); k++) {
            byte[] f = frames.get(k);
            if (k > 0) {
                sb.append(", ");
            }
            sb.append(f.length).append(':').append(hex(Arrays.copyOf(f, Math.min(16, f.length))));
            if (f.length > 16) {
                sb.append("...");
            }
        }
        return sb.append(']').toString();
    }

    static boolean same(List<byte[]> a, List<byte[]> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int k = 0; k < a.size(); k++) {
            if (!Arrays.equals(a.get(k), b.get(k))) {
                return false;
            }
        }
        return true;
    }

    /** Where two messages first differ, for FAIL lines. */
    static String firstDiff(List<byte[]> a, List<byte[]> b) {
        for (int k = 0; k < Math.min(a.size(), b.size()); k++) {
            byte[] x = a.get(k);
            byte[] y = b.get(k);
            for (int j = 0; j < Math.min(x.length, y.length); j++) {
                if (x[j] != y[j]) {
                    return "frame " + k + " octet " + j + ": " + hex(Arrays.copyOfRange(x, j, Math.min(x.length, j + 16)))
                            + " vs " + hex(Arrays.copyOfRange(y, j, Math.min(y.length, j + 16)));
                }
            }
            if (x.length != y.length) {
                return "frame " + k + " is " + x.length + " octets, expected " + y.length;
            }
        }
        return a.size() + " frames, expected " + b.size();
    }

    static byte[] nz(byte[] b) {
        return b == null ? new byte[0] : b;
    }

    /** A whole multipart message, or null if none arrived within RCVTIMEO. */
    static List<byte[]> recvMulti(ZMQ.Socket s) {
        byte[] f = s.recv(0);
        if (f == null) {
            return null;
        }
        List<byte[]> frames = new ArrayList<>();
        frames.add(nz(f));
        while (s.hasReceiveMore()) {
            frames.add(nz(s.recv(0)));
        }
        return frames;
    }

    static boolean sendMulti(ZMQ.Socket s, List<byte[]> frames) {
        for (int k = 0; k < frames.size(); k++) {
            if (!s.send(frames.get(k), k + 1 < frames.size() ? ZMQ.SNDMORE : 0)) {
                return false;
            }
        }
        return true;
    }

    /** Receives one message, printing WAITING each second nothing arrives. */
    static List<byte[]> recvWaiting(ZMQ.Socket s, String what) {
        s.setReceiveTimeOut(1000);
        while (true) {
            List<byte[]> m = recvMulti(s);
            if (m != null) {
                return m;
            }
            out("WAITING " + what);
        }
    }

    static int socketType(String role) {
        switch (role) {
            case "pair": return ZMQ.PAIR;
            case "pub": return ZMQ.PUB;
            case "sub": return ZMQ.SUB;
            case "xpub": return ZMQ.XPUB;
            case "xsub": return ZMQ.XSUB;
            case "req": return ZMQ.REQ;
            case "rep": return ZMQ.REP;
            case "dealer": return ZMQ.DEALER;
            case "router": return ZMQ.ROUTER;
            case "pull": return ZMQ.PULL;
            case "push": return ZMQ.PUSH;
            default: throw new IllegalArgumentException("unknown role " + role);
        }
    }

    // ------------------------------------------------------------------- main

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            out("FAIL usage: JeroPeer ROLE bind|connect ENDPOINT [COUNT] [--identity x<hex>] [--sub x<hex>]... [--timeout S]");
            exit(64);
        }
        final String role = args[0];
        final String how = args[1];
        final String ep = args[2];
        long count = 0;
        byte[] identity = null;
        List<byte[]> subs = new ArrayList<>();
        int timeout = 60;
        for (int k = 3; k < args.length; k++) {
            switch (args[k]) {
                case "--identity": identity = unhexWord(args[++k]); break;
                case "--sub": subs.add(unhexWord(args[++k])); break;
                case "--timeout": timeout = Integer.parseInt(args[++k]); break;
                default: count = Long.parseLong(args[k]);
            }
        }

        // Bounded life: a deadline, and exit when the test process goes away.
        final int secs = timeout;
        Thread dog = new Thread(() -> {
            try {
                Thread.sleep(secs * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            out("FAIL timeout: " + role + " peer still running after " + secs + " s");
            exit(2);
        });
        dog.setDaemon(true);
        dog.start();
        final boolean interactive = !Arrays.asList("push", "pull", "req", "rep").contains(role);
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                String l;
                while ((l = in.readLine()) != null) {
                    if (interactive) {
                        lines.put(l);
                    }
                }
            } catch (Exception e) {
                // fall through: treat as EOF
            }
            if (interactive) {
                lines.add(EOF);
            } else {
                exit(3);
            }
        });
        reader.setDaemon(true);
        reader.start();

        ZMQ.Context ctx = ZMQ.context(1);
        ZMQ.Socket s = ctx.socket(socketType(role));
        s.setLinger(0);
        if (identity != null) {
            s.setIdentity(identity);
        }
        for (byte[] p : subs) {
            s.subscribe(p);
        }
        String resolved;
        if (how.equals("bind")) {
            if (ep.endsWith(":*")) {
                // Not bindToRandomPort: JeroMQ 0.3.6 tries ports 49152,
                // 49153, ... in order, so consecutive peers reuse the same
                // port, and a stale connection retrying it from an earlier
                // test would reach the next peer (ZMTP 2.0 does not check
                // socket types). Take a port the kernel hands out instead.
                String prefix = ep.substring(0, ep.length() - 2);
                String host = prefix.substring(prefix.indexOf("://") + 3);
                resolved = null;
                for (int attempt = 0; resolved == null; attempt++) {
                    int port;
                    try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
                        port = probe.getLocalPort();
                    }
                    try {
                        s.bind(prefix + ":" + port);
                        resolved = prefix + ":" + port;
                    } catch (RuntimeException e) {
                        if (attempt >= 20) {
                            throw e;
                        }
                    }
                }
            } else {
                s.bind(ep);
                resolved = ep;
            }
        } else if (how.equals("connect")) {
            for (String e : ep.split(",")) {
                s.connect(e);
            }
            resolved = ep;
        } else {
            out("FAIL bind|connect expected, got " + how);
            exit(64);
            return;
        }
        out("READY " + resolved);

        int rc;
        switch (role) {
            case "push": rc = rolePush(ctx, s, count); break;
            case "pull": rc = rolePull(s, count); break;
            case "req": rc = roleReq(s, count); break;
            case "rep": rc = roleRep(ctx, s, count); break;
            default: rc = roleCtl(s, lines);
        }
        exit(rc);
    }

    static int rolePush(ZMQ.Context ctx, ZMQ.Socket s, long count) {
        for (long i = 0; i < count; i++) {
            if (!sendMulti(s, message(i))) {
                out("FAIL send of message " + i + " failed");
                return 1;
            }
        }
        out("SENT");
        s.setLinger(-1);
        s.close();
        ctx.term();
        out("DONE");
        return 0;
    }

    static int rolePull(ZMQ.Socket s, long count) {
        long frames = 0;
        long bytes = 0;
        for (long i = 0; i < count; i++) {
            List<byte[]> got = recvWaiting(s, "received=" + i + " of " + count);
            List<byte[]> exp = message(i);
            if (!same(got, exp)) {
                out("FAIL message " + i + ": got " + got.size() + " frames " + describe(got)
                        + ", expected " + exp.size() + " frames " + describe(exp) + " (first difference: "
                        + firstDiff(got, exp) + ")");
                return 1;
            }
            frames += got.size();
            for (byte[] f : got) {
                bytes += f.length;
            }
        }
        out("OK messages=" + count + " frames=" + frames + " bytes=" + bytes);
        return 0;
    }

    static int roleReq(ZMQ.Socket s, long count) {
        for (long i = 0; i < count; i++) {
            List<byte[]> req = message(i);
            if (!sendMulti(s, req)) {
                out("FAIL send of request " + i + " failed");
                return 1;
            }
            List<byte[]> got = recvWaiting(s, "reply " + i + " of " + count);
            List<byte[]> exp = new ArrayList<>();
            exp.add("rep".getBytes(StandardCharsets.US_ASCII));
            exp.addAll(req);
            if (!same(got, exp)) {
                out("FAIL reply " + i + ": got " + describe(got) + ", expected " + describe(exp)
                        + " (first difference: " + firstDiff(got, exp) + ")");
                return 1;
            }
        }
        out("OK requests=" + count);
        return 0;
    }

    static int roleRep(ZMQ.Context ctx, ZMQ.Socket s, long count) {
        for (long i = 0; i < count; i++) {
            List<byte[]> got = recvWaiting(s, "request " + i + " of " + count);
            List<byte[]> exp = message(i);
            if (!same(got, exp)) {
                out("FAIL request " + i + ": got " + describe(got) + ", expected " + describe(exp)
                        + " (first difference: " + firstDiff(got, exp) + ")");
                return 1;
            }
            List<byte[]> reply = new ArrayList<>();
            reply.add("rep".getBytes(StandardCharsets.US_ASCII));
            reply.addAll(got);
            if (!sendMulti(s, reply)) {
                out("FAIL send of reply " + i + " failed");
                return 1;
            }
        }
        out("OK requests=" + count);
        s.setLinger(-1);
        s.close();
        ctx.term();
        out("DONE");
        return 0;
    }

    static int roleCtl(ZMQ.Socket s, BlockingQueue<String> lines) throws InterruptedException {
        s.setSendTimeOut(10000);
        while (true) {
            String line = lines.poll(10, TimeUnit.MILLISECONDS);
            if (line == null) {
                s.getEvents(); // processes pending commands (attach, subscriptions)
                continue;
            }
            if (line.equals(EOF)) {
                return 3;
            }
            String[] w = line.trim().split("\\s+");
            try {
                switch (w[0]) {
                    case "SEND": {
                        List<byte[]> frames = new ArrayList<>();
                        for (int k = 1; k < w.length; k++) {
                            frames.add(unhexWord(w[k]));
                        }
                        out(sendMulti(s, frames) ? "OK" : "ERR EAGAIN");
                        break;
                    }
                    case "RECV": {
                        s.setReceiveTimeOut(Integer.parseInt(w[1]));
                        List<byte[]> m = recvMulti(s);
                        out(m == null ? "TIMEOUT" : "MSG " + enc(m));
                        break;
                    }
                    case "SUB":
                        s.subscribe(w.length > 1 ? unhexWord(w[1]) : new byte[0]);
                        out("OK");
                        break;
                    case "UNSUB":
                        s.unsubscribe(w.length > 1 ? unhexWord(w[1]) : new byte[0]);
                        out("OK");
                        break;
                    case "QUIT":
                        out("OK");
                        return 0;
                    default:
                        out("FAIL unknown command " + line);
                        return 1;
                }
            } catch (RuntimeException e) {
                out("FAIL " + w[0] + ": " + e);
                return 1;
            }
        }
    }
}
