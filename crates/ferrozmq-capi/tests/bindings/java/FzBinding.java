// One side of a REQ/REP or PUB/SUB exchange with ferrozmq's fzmq, through
// jzmq (Debian's libzmq-java 3.1.0: org.zeromq.ZMQ over JNI, libjzmq.so):
// run.sh starts the fzmq peer.
//
//   java FzBinding MODE [ENDPOINT] [STOPFILE]
//     lib-check                    only the check of the loaded library
//     rep-bind | rep-connect EP    REP: answer 3 requests, each frame prefixed "java:"
//     req-bind | req-connect EP    REQ: send 3 requests (one of 2 frames), expect the echo
//     pub-bind STOP | pub-connect EP STOP
//                                  PUB: publish "news <i>"/"weather <i>" until STOP exists
//     sub-bind | sub-connect EP    SUB "weather": 3 consecutive "weather <i>"
// "-bind" modes bind with Socket.bindToRandomPort("tcp://127.0.0.1") (jzmq
// 3.1 has no LAST_ENDPOINT getter; it retries random ports on EADDRINUSE)
// and print "ENDPOINT <endpoint>". Prints PASS/FAIL lines; exit status 1 if
// any check failed.
//
// jzmq loads libjzmq.so with System.loadLibrary("jzmq") (from
// java.library.path, /usr/lib/x86_64-linux-gnu/jni); libjzmq.so has
// DT_NEEDED libzmq.so.5 (no RPATH), so LD_LIBRARY_PATH=DIR selects ours.
// The first check reads /proc/self/maps.

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;

public class FzBinding {
    static final String LANG = "java";
    static String mode;
    static int failures = 0;

    static void pass(String name) {
        System.out.println("PASS " + LANG + "/" + mode + "/" + name);
    }

    static void fail(String name, String why) {
        System.out.println("FAIL " + LANG + "/" + mode + "/" + name + ": " + why);
        failures++;
    }

    static void check(boolean ok, String name, String why) {
        if (ok) pass(name);
        else fail(name, why);
    }

    static String show(List<String> parts) {
        StringBuilder b = new StringBuilder();
        for (String p : parts) b.append(b.length() > 0 ? " | " : "").append("'").append(p).append("'");
        return b.toString();
    }

    static void checkLoadedLib() throws Exception {
        String want = System.getenv("FERRO_EXPECT_LIB");
        if (want == null || want.isEmpty()) {
            fail("loaded-library", "FERRO_EXPECT_LIB is not set (run me through run.sh)");
            return;
        }
        // Loads libjzmq, hence libzmq. (The version is the ZMQ_VERSION jzmq
        // was compiled with, not the loaded library's.)
        String version = ZMQ.getVersionString();
        boolean found = false;
        TreeSet<String> others = new TreeSet<>();
        for (String line : Files.readAllLines(Paths.get("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash < 0) continue;
            String path = line.substring(slash).trim();
            if (path.equals(want)) found = true;
            else if (new File(path).getName().contains("libzmq.so")) others.add(path);
        }
        if (found && others.isEmpty()) {
            System.out.println("INFO " + LANG + ": " + want + " (jzmq built for libzmq " + version + ")");
            pass("loaded-library");
        } else {
            fail("loaded-library", "expected " + want + " to be mapped (" + (found ? "it is" : "it is NOT")
                    + "), other libzmq mapped: " + (others.isEmpty() ? "none" : String.join(" ", others)));
        }
    }

    static ZMQ.Context ctx;

    static ZMQ.Socket open(int type, boolean bind, String endpoint) {
        ZMQ.Socket s = ctx.socket(type);
        s.setLinger(2000);
        s.setReceiveTimeOut(15000);
        s.setSendTimeOut(15000);
        if (bind) {
            int port = s.bindToRandomPort("tcp://127.0.0.1");
            check(port > 0, "bind-random-port", "port " + port);
            System.out.println("ENDPOINT tcp://127.0.0.1:" + port);
        } else {
            s.connect(endpoint);
        }
        return s;
    }

    // A multipart message of strings, or null on timeout.
    static List<String> recvParts(ZMQ.Socket s) {
        List<String> parts = new ArrayList<>();
        do {
            byte[] frame = s.recv(0);
            if (frame == null) return null;
            parts.add(new String(frame, StandardCharsets.UTF_8));
        } while (s.hasReceiveMore());
        return parts;
    }

    static boolean sendParts(ZMQ.Socket s, List<String> parts) {
        for (int i = 0; i < parts.size(); i++)
            if (!s.send(parts.get(i).getBytes(StandardCharsets.UTF_8), i < parts.size() - 1 ? ZMQ.SNDMORE : 0))
                return false;
        return true;
    }

    static final List<List<String>> REQUESTS =
            Arrays.asList(Arrays.asList("hello 1"), Arrays.asList("hello 2"), Arrays.asList("multi", "part"));

    public static void main(String[] args) throws Exception {
        System.setOut(new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true));
        if (args.length < 1) {
            System.err.println("usage: FzBinding MODE [ENDPOINT] [STOPFILE]");
            System.exit(2);
        }
        mode = args[0];
        checkLoadedLib();
        if (mode.equals("lib-check")) System.exit(failures == 0 ? 0 : 1);

        ctx = ZMQ.context(1);
        ZMQ.Socket s = null;
        Matcher m = Pattern.compile("^(rep|req|pub|sub)-(bind|connect)$").matcher(mode);
        if (!m.matches()) {
            System.err.println("unknown mode '" + mode + "'");
            System.exit(2);
        }
        String role = m.group(1);
        boolean bind = m.group(2).equals("bind");
        String endpoint = bind ? null : args[1];
        try {
            switch (role) {
                case "rep": {
                    s = open(ZMQ.REP, bind, endpoint);
                    for (int i = 0; i < REQUESTS.size(); i++) {
                        List<String> got = recvParts(s);
                        if (got == null) {
                            fail("request-" + i, "no request within 15 s");
                            break;
                        }
                        List<String> want = REQUESTS.get(i);
                        check(got.equals(want), "request-" + i, "got " + show(got) + ", want " + show(want));
                        List<String> reply = new ArrayList<>();
                        for (String p : got) reply.add(LANG + ":" + p);
                        sendParts(s, reply);
                    }
                    break;
                }
                case "req": {
                    s = open(ZMQ.REQ, bind, endpoint);
                    for (int i = 0; i < REQUESTS.size(); i++) {
                        List<String> want = REQUESTS.get(i);
                        if (!sendParts(s, want)) {
                            fail("send-" + i, "send failed within 15 s");
                            break;
                        }
                        List<String> got = recvParts(s);
                        if (got == null) {
                            fail("echo-" + i, "no reply within 15 s");
                            break;
                        }
                        check(got.equals(want), "echo-" + i, "got " + show(got) + ", want " + show(want));
                    }
                    break;
                }
                case "pub": {
                    File stop = new File(bind ? args[1] : args[2]);
                    s = open(ZMQ.PUB, bind, endpoint);
                    // Publish until the peer has what it needs (run.sh creates STOP), bounded.
                    long deadline = System.currentTimeMillis() + 20000;
                    int i = 0;
                    while (!stop.exists() && System.currentTimeMillis() < deadline) {
                        s.send("news " + i);
                        s.send("weather " + i);
                        i++;
                        Thread.sleep(10); // pacing the stream, not a synchronisation
                    }
                    check(stop.exists(), "published-until-peer-done", "STOP file never appeared after " + i + " messages");
                    s.setLinger(0);
                    break;
                }
                case "sub": {
                    s = open(ZMQ.SUB, bind, endpoint);
                    s.subscribe("weather".getBytes(StandardCharsets.UTF_8));
                    Integer prev = null;
                    String why = "";
                    Pattern w = Pattern.compile("^weather (\\d+)$");
                    for (int n = 1; n <= 3; n++) {
                        List<String> got = recvParts(s);
                        if (got == null) {
                            why = "message " + n + ": nothing within 15 s";
                            break;
                        }
                        String text = String.join("\t", got);
                        Matcher mm = w.matcher(text);
                        if (!mm.matches()) {
                            why = "message " + n + ": '" + text + "' (only weather wanted)";
                            break;
                        }
                        int v = Integer.parseInt(mm.group(1));
                        if (prev != null && v != prev + 1) {
                            why = "message " + n + ": '" + text + "' after weather " + prev;
                            break;
                        }
                        prev = v;
                    }
                    check(why.isEmpty(), "gets-only-weather-in-order", why);
                    s.setLinger(0);
                    break;
                }
            }
        } catch (ZMQException e) {
            fail("zmq-exception", "ZMQException " + e.getErrorCode() + ": " + e.getMessage());
        }
        if (s != null) s.close();
        ctx.term();
        System.exit(failures == 0 ? 0 : 1);
    }
}
