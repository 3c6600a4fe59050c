//! `fzmq` with request/reply sockets and the proxy: `send req` prints each
//! reply, `recv rep|router --echo` answers, `proxy` forwards and obeys its
//! control socket. Every child runs under a watchdog.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn fzmq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fzmq"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process that is killed if the test ends (or panics) first, so a
/// failing test never leaves a process behind.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits for a child with a deadline; kills it and fails on expiry.
fn finish(mut guard: Guard, what: &str) -> std::process::Output {
    let mut child = guard.0.take().expect("finished once");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{what} hung; stderr: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn spawn(args: &[&str], stdin: Option<&[u8]>) -> Guard {
    let mut c = fzmq()
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        let mut i = c.stdin.take().unwrap();
        i.write_all(data).unwrap();
    }
    Guard(Some(c))
}

#[test]
fn req_prints_each_reply_from_an_echoing_rep() {
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let rep = spawn(&["recv", "rep", "--bind", &ep, "--echo", "--count", "3", "--timeout-ms", "10000"], None);
    let req = spawn(&["send", "req", "--connect", &ep, "--timeout-ms", "10000"], Some(b"one\ntwo\tframes\nthree\n"));
    let out = finish(req, "send req");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\tframes\nthree\n");
    let out = finish(rep, "recv rep");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\tframes\nthree\n");
}

#[test]
fn rep_without_echo_and_req_on_recv_are_usage_errors() {
    let out = fzmq().args(["recv", "rep", "--bind", "inproc://x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--echo"));
    let out = fzmq().args(["recv", "req", "--connect", "inproc://x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fzmq send req"));
    let out = fzmq().args(["recv", "pull", "--bind", "inproc://x", "--echo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn router_echo_replies_to_each_sender() {
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let router = spawn(&["recv", "router", "--bind", &ep, "--echo", "--count", "2", "--timeout-ms", "10000"], None);
    let ctx = ferrozmq::Context::new();
    let mut dealers = Vec::new();
    for name in ["d1", "d2"] {
        let d = ctx.socket(ferrozmq::SocketType::Dealer).unwrap();
        d.set_routing_id(name.as_bytes()).unwrap();
        d.set_rcvtimeo(10_000).unwrap();
        d.connect(&ep).unwrap();
        d.send(format!("from {name}"), 0).unwrap();
        dealers.push((name, d));
    }
    for (name, d) in &dealers {
        assert_eq!(d.recv_string(0).unwrap().unwrap(), format!("from {name}"));
    }
    let out = finish(router, "recv router --echo");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("d1\tfrom d1\n") && text.contains("d2\tfrom d2\n"), "{text}");
}

#[test]
fn proxy_forwards_requests_and_terminates_on_command() {
    let front = format!("tcp://127.0.0.1:{}", free_port());
    let back = format!("tcp://127.0.0.1:{}", free_port());
    let control = format!("ipc://@fzmq-proxy-test-{}", std::process::id());
    let proxy = spawn(
        &[
            "proxy", "router", "dealer", "--frontend-bind", &front, "--backend-bind", &back, "--control", "pair",
            "--control-bind", &control,
        ],
        None,
    );
    let worker = spawn(&["recv", "rep", "--connect", &back, "--echo", "--count", "2", "--timeout-ms", "10000"], None);
    let client = spawn(&["send", "req", "--connect", &front, "--timeout-ms", "10000"], Some(b"via\nproxy\n"));
    let out = finish(client, "send req through the proxy");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via\nproxy\n");
    assert!(finish(worker, "worker").status.success());
    let ctx = ferrozmq::Context::new();
    let ctl = ctx.socket(ferrozmq::SocketType::Pair).unwrap();
    ctl.connect(&control).unwrap();
    ctl.send("TERMINATE", 0).unwrap();
    let out = finish(proxy, "proxy");
    assert!(out.status.success(), "proxy exit: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
}

#[test]
fn perf_tools_print_libzmq_lines() {
    let out = fzmq().args(["perf", "inproc_thr", "64", "10000"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "message size: 64 [B]");
    assert_eq!(lines[1], "message count: 10000");
    assert!(lines[2].starts_with("mean throughput: ") && lines[2].ends_with(" [msg/s]"));
    assert!(lines[3].starts_with("mean throughput: ") && lines[3].ends_with(" [Mb/s]"));
    let out = fzmq().args(["perf", "inproc_lat", "8", "1000"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().nth(2).unwrap().starts_with("average latency: "), "{text}");
    let out = fzmq().args(["perf", "local_thr", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "usage: local_thr <bind-to> <message-size> <message-count>\n");
    // A ferrozmq side pairs with a ferrozmq side over tcp, like libzmq's tools.
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let local = spawn(&["perf", "local_lat", &ep, "32", "200"], None);
    let remote = spawn(&["perf", "remote_lat", &ep, "32", "200"], None);
    let out = finish(remote, "remote_lat");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("roundtrip count: 200"));
    assert!(finish(local, "local_lat").status.success());
}

#[test]
fn monitor_prints_connection_events() {
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let mon = spawn(&["monitor", "--connect", &ep, "--count", "3", "--timeout-ms", "10000"], None);
    // The peer appears a little later: the monitor sees the connection made.
    let ctx = ferrozmq::Context::new();
    let router = ctx.socket(ferrozmq::SocketType::Router).unwrap();
    router.bind(&ep).unwrap();
    let out = finish(mon, "monitor");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().next().unwrap().contains(" CONNECT_DELAYED "), "{text}");
    assert!(text.contains(&format!(" {ep}")), "{text}");
}

#[test]
fn keygen_pairs_match_and_work_for_curve() {
    let out = fzmq().arg("keygen").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "== CURVE PUBLIC KEY ==");
    assert_eq!(lines[2], "== CURVE SECRET KEY ==");
    let (public, secret) = (lines[1], lines[3]);
    assert_eq!(public.len(), 40);
    assert_eq!(secret.len(), 40);
    // The public key is the one derived from the secret key.
    let out = fzmq().args(["keygen", "--public-from", secret]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), public);
    // And the pair drives a CURVE connection through the -o forms.
    let ep = format!("tcp://127.0.0.1:{}", free_port());
    let server = spawn(
        &["recv", "pull", "--bind", &ep, "-o", "curve_server=1", "-o", &format!("curve_secretkey={secret}"),
          "--count", "1", "--timeout-ms", "10000"],
        None,
    );
    let client_pair = String::from_utf8(fzmq().arg("keygen").output().unwrap().stdout).unwrap();
    let cl: Vec<&str> = client_pair.lines().collect();
    let client = spawn(
        &["send", "push", "--connect", &ep, "-o", &format!("curve_serverkey={public}"),
          "-o", &format!("curve_publickey={}", cl[1]), "-o", &format!("curve_secretkey={}", cl[3])],
        Some(b"secret message\n"),
    );
    let out = finish(server, "curve recv");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "secret message\n");
    assert!(finish(client, "curve send").status.success());
    let bad = fzmq().args(["keygen", "--public-from", "nonsense"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
}
