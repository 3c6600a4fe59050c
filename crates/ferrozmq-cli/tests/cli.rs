//! End-to-end tests of the `fzmq` binary: every child process is bounded by a
//! watchdog (killed, and the test failed, after `WATCHDOG`), every receive by
//! `--timeout-ms`.

mod common;

use common::{free_port, fzmq, ipc_endpoint, Finished};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WATCHDOG: Duration = Duration::from_secs(20);

/// The shared child harness with this file's watchdog as its limit.
struct Proc;

impl Proc {
    fn spawn(args: &[&str]) -> common::Proc {
        common::Proc::spawn(args, WATCHDOG)
    }

    fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> common::Proc {
        common::Proc::spawn_env(args, env, WATCHDOG)
    }
}

/// Runs fzmq to completion with `input` on standard input.
fn run(args: &[&str], input: &[u8]) -> Finished {
    let mut p = Proc::spawn(args);
    let data = input.to_vec();
    let mut stdin = p.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let f = p.finish();
    writer.join().unwrap();
    f
}

/// 1000 lines: text, multi-frame lines, empty lines, lines of empty frames,
/// large frames, and binary bytes (NUL, 0xff, CR).
fn thousand_lines() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..1000u32 {
        match i % 7 {
            0 => v.extend_from_slice(format!("line {i}").as_bytes()),
            1 => v.extend_from_slice(format!("a\tb\t{i}").as_bytes()),
            2 => {}
            3 => v.extend_from_slice(format!("\t\tx{i}\t").as_bytes()),
            4 => v.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, (i as usize * 37) % 5000)),
            5 => v.extend_from_slice(&[0, 0xff, b'\r', 1, 2, 3, b'\t', 0x80, (i % 256) as u8, b'\r']),
            _ => v.extend_from_slice(format!("é ünïcode {i}\t\t").as_bytes()),
        }
        v.push(b'\n');
    }
    v
}

fn push_pull_round_trip(bind: &str) {
    let input = thousand_lines();
    let mut rx = Proc::spawn(&["recv", "pull", "--bind", bind, "--count", "1000", "--timeout-ms", "10000"]);
    let endpoint = if bind.starts_with("tcp://") {
        rx.bound_endpoint()
    } else {
        // The ipc listener exists once its socket file does.
        let path = bind.trim_start_matches("ipc://").to_string();
        let t = Instant::now();
        while !std::path::Path::new(&path).exists() {
            assert!(t.elapsed() < WATCHDOG && rx.is_running(), "receiver never bound {bind}");
            std::thread::sleep(Duration::from_millis(10));
        }
        bind.to_string()
    };
    let tx = run(&["send", "push", "--connect", &endpoint], &input);
    assert_eq!(tx.code, Some(0), "send failed: {}", tx.stderr);
    let rx = rx.finish();
    assert_eq!(rx.code, Some(0), "recv failed: {}", rx.stderr);
    assert_eq!(rx.stdout.len(), input.len());
    assert!(rx.stdout == input, "received bytes differ from the input");
}

#[test]
fn push_pull_tcp_1000_lines_round_trip() {
    push_pull_round_trip("tcp://127.0.0.1:0");
}

#[test]
fn push_pull_ipc_1000_lines_round_trip() {
    let ep = ipc_endpoint();
    push_pull_round_trip(&ep);
    let _ = std::fs::remove_file(ep.trim_start_matches("ipc://"));
}

#[test]
fn send_count_last_line_without_newline_and_recv_timeout_after_partial() {
    // recv waits for 3 but send --count 2 sends only 2: recv prints 2, then times out.
    let mut rx = Proc::spawn(&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--count", "3", "--timeout-ms", "1500"]);
    let ep = rx.bound_endpoint();
    let tx = run(&["send", "push", "--connect", &ep, "--count", "2"], b"one\ntwo\nthree\n");
    assert_eq!(tx.code, Some(0), "{}", tx.stderr);
    let rx = rx.finish();
    assert_eq!(rx.code, Some(2), "stderr: {}", rx.stderr);
    assert_eq!(rx.stdout_text(), "one\ntwo\n");
    assert_eq!(rx.stderr.trim_end().lines().last(), Some("fzmq: timed out after 1500 ms waiting for a message"));

    // A last line without a newline is a message too; empty input sends nothing.
    let mut rx = Proc::spawn(&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--count", "2", "--timeout-ms", "10000"]);
    let ep = rx.bound_endpoint();
    assert_eq!(run(&["send", "push", "--connect", &ep], b"").code, Some(0));
    assert_eq!(run(&["send", "push", "--connect", &ep], b"x\ny").code, Some(0));
    let rx = rx.finish();
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    assert_eq!(rx.stdout_text(), "x\ny\n");
}

#[test]
fn recv_count_exits_zero_after_n() {
    let mut rx = Proc::spawn(&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--count", "3", "--timeout-ms", "10000"]);
    let ep = rx.bound_endpoint();
    // The sender keeps its stdin open: recv must exit after 3 on its own.
    let mut tx = Proc::spawn(&["send", "push", "--connect", &ep]);
    tx.write(b"m1\nm2\nm3\nm4\nm5\n");
    let rx = rx.finish();
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    assert_eq!(rx.stdout_text(), "m1\nm2\nm3\n");
    assert_eq!(rx.stderr, "fzmq: bound to ".to_string() + &ep + "\n");
    // The rest stays queued for a receiver that will never come: stop the sender.
    drop(tx);
}

#[test]
fn recv_timeout_without_sender_exits_2() {
    let ep = ipc_endpoint();
    let t = Instant::now();
    let f = run(&["recv", "pull", "--bind", &ep, "--timeout-ms", "200"], b"");
    assert_eq!(f.code, Some(2));
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(f.stderr, "fzmq: timed out after 200 ms waiting for a message\n");
    assert!(f.stdout.is_empty());
    let _ = std::fs::remove_file(ep.trim_start_matches("ipc://"));

    // Also through -o rcvtimeo, on a connecting SUB (which must not linger).
    let port = free_port();
    let f = run(&["recv", "sub", "--connect", &format!("tcp://127.0.0.1:{port}"), "-o", "rcvtimeo=100"], b"");
    assert_eq!(f.code, Some(2));
    assert_eq!(f.stderr, "fzmq: timed out after 100 ms waiting for a message\n");
}

/// Feeds a PUB with lines until the SUB has what it needs (subscriptions
/// travel asynchronously, so a fixed delay would be a guess).
fn pub_sub(sub_args: &[&str], expected: usize) -> Finished {
    let mut tx = Proc::spawn(&["send", "pub", "--bind", "tcp://127.0.0.1:0", "-o", "linger=0"]);
    let ep = tx.bound_endpoint();
    let mut args = vec!["recv", "sub", "--connect", &ep, "--timeout-ms", "10000"];
    let count = expected.to_string();
    args.extend_from_slice(&["--count", &count]);
    args.extend_from_slice(sub_args);
    let mut rx = Proc::spawn(&args);
    let mut i = 0;
    while rx.is_running() && i < 5000 {
        tx.write(format!("a{i}\tx\nb{i}\nc{i}\nab{i}\n").as_bytes());
        std::thread::sleep(Duration::from_millis(5));
        i += 1;
    }
    tx.close_stdin();
    let tx = tx.finish();
    assert_eq!(tx.code, Some(0), "{}", tx.stderr);
    rx.finish()
}

#[test]
fn pub_sub_subscribe_filters_by_prefix() {
    let rx = pub_sub(&["--subscribe", "a"], 6);
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    let text = rx.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for l in &lines {
        assert!(l.starts_with('a'), "unexpected line {l:?} in {text}");
    }
    // Both "aN\tx" and "abN" match, in the order sent.
    assert!(lines.iter().any(|l| l.contains('\t')), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("ab")), "{text}");
}

#[test]
fn pub_sub_without_subscribe_gets_everything() {
    let rx = pub_sub(&[], 8);
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    let text = rx.stdout_text();
    for p in ['a', 'b', 'c'] {
        assert!(text.lines().any(|l| l.starts_with(p)), "nothing starting with {p} in {text}");
    }
}

#[test]
fn xsub_subscribe_filters_by_prefix() {
    let mut tx = Proc::spawn(&["send", "pub", "--bind", "tcp://127.0.0.1:0", "-o", "linger=0"]);
    let ep = tx.bound_endpoint();
    let mut rx =
        Proc::spawn(&["recv", "xsub", "--connect", &ep, "--subscribe", "b", "--count", "3", "--timeout-ms", "10000"]);
    let mut i = 0;
    while rx.is_running() && i < 5000 {
        tx.write(format!("a{i}\nb{i}\n").as_bytes());
        std::thread::sleep(Duration::from_millis(5));
        i += 1;
    }
    drop(tx);
    let rx = rx.finish();
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    assert!(rx.stdout_text().lines().all(|l| l.starts_with('b')), "{}", rx.stdout_text());
}

#[test]
fn router_prints_the_routing_id_frame_and_sends_by_it() {
    // DEALER -> ROUTER: the ROUTER prints the sender's routing id as the first frame.
    // (The DEALER stays up until the ROUTER is done: see the report on
    // messages lost when a DEALER closes right after sending.)
    let mut rx =
        Proc::spawn(&["recv", "router", "--bind", "tcp://127.0.0.1:0", "--count", "2", "--timeout-ms", "10000"]);
    let ep = rx.bound_endpoint();
    let mut tx = Proc::spawn(&["send", "dealer", "--connect", &ep, "-o", "routing_id=abc"]);
    tx.write(b"hello\tworld\n\tafter an empty frame\n");
    let rx = rx.finish();
    drop(tx);
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    assert_eq!(rx.stdout_text(), "abc\thello\tworld\nabc\t\tafter an empty frame\n");

    // ROUTER -> DEALER: the first frame of each line picks the peer; lines
    // for unknown peers are dropped (ROUTER_MANDATORY off).
    let mut tx = Proc::spawn(&["send", "router", "--bind", "tcp://127.0.0.1:0", "-o", "linger=0"]);
    let ep = tx.bound_endpoint();
    let mut rx = Proc::spawn(&[
        "recv",
        "dealer",
        "--connect",
        &ep,
        "-o",
        "routing_id=peer1",
        "--count",
        "1",
        "--timeout-ms",
        "10000",
    ]);
    let mut i = 0;
    while rx.is_running() && i < 2000 {
        tx.write(format!("nobody\tlost {i}\npeer1\tfor you\t{i}\n").as_bytes());
        std::thread::sleep(Duration::from_millis(5));
        i += 1;
    }
    let rx = rx.finish();
    drop(tx);
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    assert!(rx.stdout_text().starts_with("for you\t"), "{}", rx.stdout_text());
}

#[test]
fn bind_to_a_port_in_use_fails_with_one_line() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let cases: [&[&str]; 2] =
        [&["recv", "pull", "--bind", &ep, "--timeout-ms", "100"], &["send", "push", "--bind", &ep]];
    for args in cases {
        let f = run(args, b"");
        assert_eq!(f.code, Some(1), "fzmq {args:?}: {}", f.stderr);
        assert_eq!(f.stderr, format!("fzmq: cannot bind {ep}: address already in use\n"));
    }
    drop(holder);
}

#[test]
fn setup_errors_are_one_line_with_exit_1() {
    let cases: &[(&[&str], &str)] = &[
        (&["send", "push", "--connect", "nonsense"], "fzmq: cannot connect nonsense: invalid argument\n"),
        (
            &["send", "push", "--connect", "udp://127.0.0.1:5"],
            "fzmq: cannot connect udp://127.0.0.1:5: the protocol is not compatible with the socket type\n",
        ),
        (
            &["send", "push", "--connect", "ws://127.0.0.1:5"],
            "fzmq: cannot connect ws://127.0.0.1:5: protocol not supported\n",
        ),
        (&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "-o", "foo=1"], "fzmq: unknown socket option 'foo'\n"),
        (
            &["recv", "pull", "--bind", "tcp://127.0.0.1:0", "-o", "sndhwm=x"],
            "fzmq: invalid value 'x' for option 'sndhwm'\n",
        ),
        (
            &["recv", "pull", "--bind", "tcp://127.0.0.1:0", "-o", "sndhwm=-2"],
            "fzmq: invalid value '-2' for option 'sndhwm'\n",
        ),
        (
            &["recv", "pull", "--bind", "tcp://127.0.0.1:0", "-o", "routing_id="],
            "fzmq: invalid value '' for option 'routing_id'\n",
        ),
        (
            &["recv", "pull", "--bind", "tcp://127.0.0.1:0", "-o", "events=1"],
            "fzmq: socket option 'events' is read-only\n",
        ),
        (
            &["send", "push", "--bind", "ipc:///nonexistent-dir/fzmq/x"],
            "fzmq: cannot bind ipc:///nonexistent-dir/fzmq/x: no such file or directory\n",
        ),
    ];
    for (args, expected) in cases {
        let f = run(args, b"");
        assert_eq!(f.code, Some(1), "fzmq {args:?}: {}", f.stderr);
        assert_eq!(&f.stderr, expected, "fzmq {args:?}");
        assert!(f.stdout.is_empty());
    }
}

#[test]
fn unimplemented_socket_type_is_one_line_with_exit_1() {
    use ferrozmq::SocketType;
    // The first type the library does not implement yet (the list shrinks as
    // it grows), used from the side it can work in.
    let receive_only = [SocketType::Sub, SocketType::Pull, SocketType::Dish, SocketType::Gather];
    let Some(t) = SocketType::ALL.iter().copied().find(|t| !ferrozmq::has_socket_type(*t)) else {
        eprintln!("note: every socket type is implemented; nothing to check");
        return;
    };
    let name = t.to_string();
    let sub = if receive_only.contains(&t) { "recv" } else { "send" };
    let f = run(&[sub, &name.to_lowercase(), "--connect", "tcp://127.0.0.1:5555"], b"");
    assert_eq!(f.code, Some(1), "{}", f.stderr);
    assert_eq!(f.stderr, format!("fzmq: socket type {name} is not supported yet\n"));
}

#[test]
fn req_and_rep_the_wrong_way_round_are_refused_with_the_right_command() {
    for (sub, ty, alt) in [("send", "rep", "fzmq recv rep --echo"), ("recv", "req", "fzmq send req")] {
        let f = run(&[sub, ty, "--connect", "tcp://127.0.0.1:5555"], b"");
        assert_eq!(f.code, Some(1), "{}", f.stderr);
        let first = f.stderr.lines().next().unwrap();
        assert!(first.starts_with(&format!("fzmq: 'fzmq {sub}' cannot use a {} socket", ty.to_uppercase())), "{first}");
        assert!(first.ends_with(&format!("(use '{alt}')")), "{first}");
        assert!(f.stderr.contains(&format!("Usage: fzmq {sub} TYPE")), "{}", f.stderr);
    }
}

#[test]
fn options_are_applied() {
    // Valid options in lower case, upper case, with the ZMQ_ prefix, and an alias.
    let mut rx = Proc::spawn(&[
        "recv",
        "pull",
        "--bind",
        "tcp://127.0.0.1:0",
        "-o",
        "rcvhwm=10",
        "-o",
        "ZMQ_LINGER=0",
        "-o",
        "IMMEDIATE=1",
        "-o",
        "identity=me",
        "-o",
        "maxmsgsize=100",
        "--count",
        "1",
        "--timeout-ms",
        "10000",
    ]);
    let ep = rx.bound_endpoint();
    let tx = run(&["send", "push", "--connect", &ep, "-o", "sndhwm=5", "-o", "linger=5000"], b"hello\n");
    assert_eq!(tx.code, Some(0), "{}", tx.stderr);
    let rx = rx.finish();
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    assert_eq!(rx.stdout_text(), "hello\n");
}

#[test]
fn usage_errors_print_usage_and_exit_1() {
    let cases: &[(&[&str], &str)] = &[
        (&["send", "push"], "fzmq send TYPE (--bind EP | --connect EP)..."),
        (&["recv", "pull", "--count", "1"], "fzmq recv TYPE (--bind EP | --connect EP)..."),
        (&["send", "frobnicator", "--bind", "tcp://127.0.0.1:0"], "fzmq send TYPE"),
        (&["recv", "sub", "--connect", "tcp://127.0.0.1:1", "-o", "novalue"], "fzmq recv TYPE"),
        (&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--subscribe", "a"], "fzmq recv TYPE"),
        (&["send", "sub", "--connect", "tcp://127.0.0.1:1"], "fzmq send TYPE"),
        (&["recv", "push", "--connect", "tcp://127.0.0.1:1"], "fzmq recv TYPE"),
        (&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--timeout-ms", "soon"], "fzmq recv TYPE"),
        (&["send", "push", "--bind", "tcp://127.0.0.1:0", "--bogus"], "fzmq send TYPE"),
        (&["frob"], "Usage: fzmq"),
        (&[], "Usage: fzmq"),
    ];
    for (args, usage) in cases {
        let f = run(args, b"");
        assert_eq!(f.code, Some(1), "fzmq {args:?}: {}", f.stderr);
        assert!(f.stderr.contains(usage), "fzmq {args:?}: no usage in {}", f.stderr);
        if !args.is_empty() {
            assert!(f.stderr.starts_with("fzmq: "), "fzmq {args:?}: {}", f.stderr);
        }
        assert!(f.stdout.is_empty(), "fzmq {args:?}");
    }
    let f = run(&["send", "frobnicator", "--bind", "tcp://127.0.0.1:0"], b"");
    assert!(f.stderr.contains("unknown socket type 'frobnicator'"), "{}", f.stderr);
    let f = run(&["send", "push"], b"");
    assert!(f.stderr.contains("--bind") && f.stderr.contains("--connect"), "{}", f.stderr);
}

#[test]
fn help_and_version() {
    for sub in ["send", "recv"] {
        let f = run(&[sub, "--help"], b"");
        assert_eq!(f.code, Some(0));
        let text = f.stdout_text();
        assert!(text.contains(&format!("Usage: fzmq {sub} TYPE")), "{text}");
        assert!(text.contains("Examples:"), "{text}");
        assert!(text.contains(&format!("fzmq {sub} ")), "{text}");
        let f = run(&["help", sub], b"");
        assert_eq!(f.code, Some(0));
        assert!(f.stdout_text().contains("Examples:"));
    }
    let f = run(&["recv", "--help"], b"");
    assert!(f.stdout_text().contains("subscribes to everything"));
    // TYPE lists the implemented types usable in that direction.
    let types = |sub: &str| -> Vec<String> {
        let text = run(&[sub, "--help"], b"").stdout_text();
        let line =
            text.lines().find_map(|l| l.trim().strip_prefix("Socket type, case-insensitive: ")).unwrap().to_string();
        let list = line.split(" (").next().unwrap().to_string();
        list.split(", ").map(str::to_string).collect()
    };
    let recv_types = types("recv");
    for t in ["pair", "sub", "pull", "xpub", "xsub", "rep"] {
        assert!(recv_types.iter().any(|x| x == t), "{t} missing from {recv_types:?}");
    }
    for t in ["pub", "push", "req"] {
        assert!(!recv_types.iter().any(|x| x == t), "{t} listed in {recv_types:?}");
    }
    let send_types = types("send");
    for t in ["pair", "pub", "push", "xpub", "xsub", "req"] {
        assert!(send_types.iter().any(|x| x == t), "{t} missing from {send_types:?}");
    }
    for t in ["sub", "pull", "rep"] {
        assert!(!send_types.iter().any(|x| x == t), "{t} listed in {send_types:?}");
    }
    let f = run(&["--help"], b"");
    assert_eq!(f.code, Some(0));
    assert!(f.stdout_text().contains("send") && f.stdout_text().contains("recv"));
    let f = run(&["--version"], b"");
    assert_eq!(f.code, Some(0));
    assert_eq!(f.stdout_text(), format!("fzmq {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn panic_hook_prints_one_line_and_exits_101() {
    let p = Proc::spawn_env(&["--version"], &[("FZMQ_TEST_PANIC", "1"), ("RUST_BACKTRACE", "1")]);
    let f = p.finish();
    assert_eq!(f.code, Some(101));
    assert!(f.stderr.starts_with("fzmq: internal error: "), "{}", f.stderr);
    assert_eq!(f.stderr.lines().count(), 1, "{}", f.stderr);
}

#[test]
fn recv_stops_quietly_when_stdout_closes() {
    let mut rx = fzmq()
        .args(["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--timeout-ms", "10000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(rx.stdout.take()); // nobody reads standard output any more
    let mut err = BufReader::new(rx.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let ep = line.trim().trim_start_matches("fzmq: bound to ").to_string();
    let tx = run(&["send", "push", "--connect", &ep], b"a\nb\nc\n");
    assert_eq!(tx.code, Some(0));
    let t = Instant::now();
    let status = loop {
        if let Some(s) = rx.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > WATCHDOG {
            let _ = rx.kill();
            panic!("recv kept running after its standard output closed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert_eq!(rest, "");
}

fn have_pyzmq() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import zmq"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("note: pyzmq is not installed (python3 -c 'import zmq' failed); skipping the interop test");
    }
    ok
}

/// Runs a python script bounded by the watchdog; returns (stdout lines receiver, child).
fn python(script: &str) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn python_lines(child: &mut Child, lines: &mpsc::Receiver<String>, n: usize, started: Instant) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let left = (started + WATCHDOG).saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) => got.push(l),
            Err(_) => {
                let _ = child.kill();
                panic!("python printed only {} of {n} lines: {got:?}", got.len());
            }
        }
    }
    got
}

#[test]
fn pyzmq_pull_receives_from_fzmq_send_push_in_order() {
    if !have_pyzmq() {
        return;
    }
    let started = Instant::now();
    let script = r#"
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.setsockopt(zmq.RCVTIMEO, 15000)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
for i in range(100):
    frames = s.recv_multipart()
    print(repr([f.decode() for f in frames]), flush=True)
"#;
    let (mut py, lines) = python(script);
    let port = python_lines(&mut py, &lines, 1, started).remove(0);
    let input: String =
        (0..100).map(|i| if i % 10 == 3 { format!("m{i}\tpart\t\n") } else { format!("m{i}\n") }).collect();
    let tx = run(&["send", "push", "--connect", &format!("tcp://127.0.0.1:{port}")], input.as_bytes());
    assert_eq!(tx.code, Some(0), "{}", tx.stderr);
    let got = python_lines(&mut py, &lines, 100, started);
    let want: Vec<String> =
        (0..100).map(|i| if i % 10 == 3 { format!("['m{i}', 'part', '']") } else { format!("['m{i}']") }).collect();
    assert_eq!(got, want);
    let _ = py.kill();
    let _ = py.wait();
}

#[test]
fn fzmq_recv_pull_receives_from_pyzmq_push() {
    if !have_pyzmq() {
        return;
    }
    let mut rx =
        Proc::spawn(&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--count", "50", "--timeout-ms", "10000"]);
    let ep = rx.bound_endpoint();
    let script = format!(
        r#"
import zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect("{ep}")
for i in range(50):
    s.send_multipart([b"py%d" % i, b"", b"\x00\xff"])
s.close(linger=10000)
ctx.term()
"#
    );
    let (mut py, _lines) = python(&script);
    let rx = rx.finish();
    let _ = py.kill();
    let _ = py.wait();
    assert_eq!(rx.code, Some(0), "{}", rx.stderr);
    let mut want = Vec::new();
    for i in 0..50 {
        want.extend_from_slice(format!("py{i}\t\t").as_bytes());
        want.extend_from_slice(b"\x00\xff\n");
    }
    assert!(rx.stdout == want, "got {:?}", String::from_utf8_lossy(&rx.stdout));
}

// ---- Library bugs found while writing fzmq: these pass once they are fixed.
// Run with `cargo test -p ferrozmq-cli -- --ignored`.

#[test]
fn send_before_the_receiver_binds_is_delivered() {
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    // The sender reads all its input and closes its socket before anyone listens:
    // with LINGER -1 it must keep reconnecting and deliver once the PULL binds.
    let mut tx = Proc::spawn(&["send", "push", "--connect", &ep]);
    tx.write(b"early 1\nearly 2\n");
    tx.close_stdin();
    std::thread::sleep(Duration::from_millis(500));
    let rx = run(&["recv", "pull", "--bind", &ep, "--count", "2", "--timeout-ms", "5000"], b"");
    assert_eq!(rx.stdout_text(), "early 1\nearly 2\n", "{}", rx.stderr);
    let tx = tx.finish();
    assert_eq!(tx.code, Some(0));
}

#[test]
fn dealer_that_exits_at_once_is_delivered() {
    let mut rx =
        Proc::spawn(&["recv", "router", "--bind", "tcp://127.0.0.1:0", "--count", "1", "--timeout-ms", "3000"]);
    let ep = rx.bound_endpoint();
    let tx = run(&["send", "dealer", "--connect", &ep, "-o", "routing_id=abc"], b"hello\n");
    assert_eq!(tx.code, Some(0), "{}", tx.stderr);
    let rx = rx.finish();
    assert_eq!(rx.stdout_text(), "abc\thello\n", "{}", rx.stderr);
}

#[test]
fn sub_gets_everything_from_a_pub_that_exits_after_sending() {
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let rx = Proc::spawn(&["recv", "sub", "--connect", &ep, "--count", "1000", "--timeout-ms", "3000"]);
    let input: String = (0..1000).map(|i| format!("{i}\n")).collect();
    // 500 ms for the SUB to connect and subscribe, then send 1000 and exit.
    let tx = run(&["send", "pub", "--bind", &ep, "--delay-ms", "500"], input.as_bytes());
    assert_eq!(tx.code, Some(0), "{}", tx.stderr);
    let rx = rx.finish();
    assert_eq!(rx.stdout_text().lines().count(), 1000, "{}", rx.stderr);
    assert_eq!(rx.code, Some(0));
}

#[test]
fn stats_report_counts_in_total_and_per_peer_on_stderr() {
    let mut rx = Proc::spawn(&["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--count", "3", "--timeout-ms", "10000", "--stats"]);
    let endpoint = rx.bound_endpoint();
    let tx = run(&["send", "push", "--connect", &endpoint, "--stats"], b"one\ntwo\tframes\nthree\n");
    assert_eq!(tx.code, Some(0), "send failed: {}", tx.stderr);
    assert!(
        tx.stderr.contains("fzmq: stats: in 0 msgs 0 B, out 3 msgs 17 B,"),
        "sender totals: {}",
        tx.stderr
    );
    assert!(tx.stderr.contains(&format!("fzmq: stats: peer {endpoint}: ")), "sender's peer line: {}", tx.stderr);
    let rx = rx.finish();
    assert_eq!(rx.code, Some(0), "recv failed: {}", rx.stderr);
    assert_eq!(rx.stdout_text(), "one\ntwo\tframes\nthree\n");
    assert!(
        rx.stderr.contains("fzmq: stats: in 3 msgs 17 B, out 0 msgs 0 B, queued in 0 out 0, dropped 0, reconnects 0, peers "),
        "receiver totals (the sender may have left already: its counts stay in the totals): {}",
        rx.stderr
    );
}
