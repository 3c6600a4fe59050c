<?php
// One side of a REQ/REP or PUB/SUB exchange with ferrozmq's fzmq, through
// Debian's php-zmq extension (zmq.so 1.1.3): run.sh starts the fzmq peer.
//
//   php fz_binding.php MODE [ENDPOINT] [STOPFILE]
//     lib-check                    only the check of the loaded library
//     rep-bind | rep-connect EP    REP: answer 3 requests, each frame prefixed "php:"
//     req-bind | req-connect EP    REQ: send 3 requests (one of 2 frames), expect the echo
//     pub-bind STOP | pub-connect EP STOP
//                                  PUB: publish "news <i>"/"weather <i>" until STOP exists
//     sub-bind | sub-connect EP    SUB "weather": 3 consecutive "weather <i>"
// "-bind" modes bind tcp://127.0.0.1:* and print "ENDPOINT <resolved>".
// Prints PASS/FAIL lines; exit status 1 if any check failed.
//
// php-zmq is a PHP extension (/usr/lib/php/*/zmq.so, loaded at start-up
// from conf.d/20-zmq.ini) linked against libzmq.so.5 (DT_NEEDED, no RPATH):
// the dynamic loader resolves it, so LD_LIBRARY_PATH=DIR selects ours. The
// first check reads /proc/self/maps.

const LANG = 'php';
$mode = $argv[1] ?? null;
if (!$mode) {
    fwrite(STDERR, "usage: fz_binding.php MODE [ENDPOINT] [STOPFILE]\n");
    exit(2);
}
$args = array_slice($argv, 2);
$failures = 0;

function pass($name) { global $mode; echo 'PASS ', LANG, "/$mode/$name\n"; }
function fail($name, $why) { global $mode, $failures; echo 'FAIL ', LANG, "/$mode/$name: $why\n"; $failures++; }
function check($ok, $name, $why) { $ok ? pass($name) : fail($name, $why); }
function show($parts) { return implode(' | ', array_map(fn($p) => "'$p'", $parts)); }
function finish() { global $failures; exit($failures ? 1 : 0); }

function check_loaded_lib()
{
    $want = getenv('FERRO_EXPECT_LIB');
    if (!$want) {
        fail('loaded-library', 'FERRO_EXPECT_LIB is not set (run me through run.sh)');
        return;
    }
    $found = false;
    $others = [];
    foreach (file('/proc/self/maps') as $line) {
        if (!preg_match('#(/\S+)$#', trim($line), $m))
            continue;
        if ($m[1] === $want)
            $found = true;
        elseif (strpos(basename($m[1]), 'libzmq.so') !== false)
            $others[$m[1]] = true;
    }
    if ($found && !$others) {
        echo 'INFO ', LANG, ': libzmq ', ZMQ::LIBZMQ_VERSION, " from $want (php-zmq ", phpversion('zmq'), ")\n";
        pass('loaded-library');
    } else {
        fail('loaded-library', "expected $want to be mapped (" . ($found ? 'it is' : 'it is NOT')
            . '), other libzmq mapped: ' . ($others ? implode(' ', array_keys($others)) : 'none'));
    }
}

check_loaded_lib();
if ($mode === 'lib-check')
    finish();

$ctx = new ZMQContext(1, false);

function open_socket($type, $bind, $endpoint)
{
    global $ctx;
    $s = new ZMQSocket($ctx, $type);
    $s->setSockOpt(ZMQ::SOCKOPT_LINGER, 2000);
    $s->setSockOpt(ZMQ::SOCKOPT_RCVTIMEO, 15000);
    $s->setSockOpt(ZMQ::SOCKOPT_SNDTIMEO, 15000);
    if ($bind) {
        $s->bind('tcp://127.0.0.1:*');
        $ep = $s->getSockOpt(ZMQ::SOCKOPT_LAST_ENDPOINT);
        check(preg_match('#^tcp://127\.0\.0\.1:\d+$#', $ep), 'bind-resolves-endpoint', "LAST_ENDPOINT '$ep'");
        echo "ENDPOINT $ep\n";
    } else {
        $s->connect($endpoint);
    }
    return $s;
}

// A multipart message, or null on timeout (recvMulti returns false on EAGAIN).
function recv_parts($s)
{
    $parts = $s->recvMulti();
    return $parts === false ? null : $parts;
}

$REQUESTS = [['hello 1'], ['hello 2'], ['multi', 'part']];

try {
    if (preg_match('/^rep-(bind|connect)$/', $mode, $m)) {
        $s = open_socket(ZMQ::SOCKET_REP, $m[1] === 'bind', $args[0] ?? null);
        foreach ($REQUESTS as $i => $want) {
            $got = recv_parts($s);
            if ($got === null) {
                fail("request-$i", 'no request within 15 s');
                break;
            }
            check($got === $want, "request-$i", 'got ' . show($got) . ', want ' . show($want));
            $s->sendmulti(array_map(fn($p) => LANG . ":$p", $got));
        }
    } elseif (preg_match('/^req-(bind|connect)$/', $mode, $m)) {
        $s = open_socket(ZMQ::SOCKET_REQ, $m[1] === 'bind', $args[0] ?? null);
        foreach ($REQUESTS as $i => $want) {
            if ($s->sendmulti($want) === false) {
                fail("send-$i", 'send failed within 15 s');
                break;
            }
            $got = recv_parts($s);
            if ($got === null) {
                fail("echo-$i", 'no reply within 15 s');
                break;
            }
            check($got === $want, "echo-$i", 'got ' . show($got) . ', want ' . show($want));
        }
    } elseif (preg_match('/^pub-(bind|connect)$/', $mode, $m)) {
        $bind = $m[1] === 'bind';
        $stop = $bind ? ($args[0] ?? null) : ($args[1] ?? null);
        if (!$stop) {
            fwrite(STDERR, "pub-* needs a STOPFILE\n");
            exit(2);
        }
        $s = open_socket(ZMQ::SOCKET_PUB, $bind, $args[0]);
        // Publish until the peer has what it needs (run.sh creates STOP), bounded.
        $i = 0;
        $deadline = microtime(true) + 20;
        while (!file_exists($stop) && microtime(true) < $deadline) {
            $s->send("news $i");
            $s->send("weather $i");
            $i++;
            usleep(10000); // pacing the stream, not a synchronisation
            clearstatcache();
        }
        check(file_exists($stop), 'published-until-peer-done', "STOP file never appeared after $i messages");
        $s->setSockOpt(ZMQ::SOCKOPT_LINGER, 0);
    } elseif (preg_match('/^sub-(bind|connect)$/', $mode, $m)) {
        $s = open_socket(ZMQ::SOCKET_SUB, $m[1] === 'bind', $args[0] ?? null);
        $s->setSockOpt(ZMQ::SOCKOPT_SUBSCRIBE, 'weather');
        $prev = null;
        $why = '';
        for ($n = 1; $n <= 3; $n++) {
            $got = recv_parts($s);
            if ($got === null) {
                $why = "message $n: nothing within 15 s";
                break;
            }
            $text = implode("\t", $got);
            if (!preg_match('/^weather (\d+)$/', $text, $mm)) {
                $why = "message $n: '$text' (only weather wanted)";
                break;
            }
            if ($prev !== null && (int) $mm[1] !== $prev + 1) {
                $why = "message $n: '$text' after weather $prev";
                break;
            }
            $prev = (int) $mm[1];
        }
        check($why === '', 'gets-only-weather-in-order', $why);
        $s->setSockOpt(ZMQ::SOCKOPT_LINGER, 0);
    } else {
        fwrite(STDERR, "unknown mode '$mode'\n");
        exit(2);
    }
} catch (ZMQException $e) {
    fail('zmq-exception', get_class($e) . ' ' . $e->getCode() . ': ' . $e->getMessage());
}
unset($s);
finish();
