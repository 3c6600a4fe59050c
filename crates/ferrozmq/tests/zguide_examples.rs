//! Runs the zguide ports in `examples/zguide_*.rs` as real processes, wired
//! together over tcp, ipc and inproc as the guide runs them, and checks what
//! they print.
//!
//! Cargo builds examples for integration tests but gives them no
//! `CARGO_BIN_EXE_*` variable, so the first test to need them builds them
//! (`cargo build --examples`, once per test binary) into this test binary's
//! own target directory and profile.
//!
//! Every child process is owned by a [`Proc`], which kills it when dropped,
//! and every wait (for output, for exit) is bounded by the test's
//! watchdog deadline: a hung example fails its test after [`WATCHDOG`]
//! instead of hanging the suite. The tests never sleep to synchronise: they
//! wait for the examples' own output, and leave the slow-joiner problem to
//! the examples, as the guide does (the weather server publishes until the
//! clients are done).

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one test's example processes may run in all.
const WATCHDOG: Duration = Duration::from_secs(30);

// ------------------------------------------------------------ the examples

/// `<target>/<profile>/examples`, with the examples built.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // This binary is <target>/<profile>/deps/zguide_examples-<hash>.
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>").to_path_buf();
        let target_dir = profile_dir.parent().expect("<target>");
        let profile = profile_dir.file_name().and_then(|p| p.to_str()).expect("profile name");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-q", "-p", "ferrozmq", "--examples", "--target-dir"])
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("cannot run cargo");
        assert!(status.success(), "`cargo build --examples` failed: {status}");
        profile_dir.join("examples")
    })
}

/// Builds the examples if needed, then starts the test's clock.
fn watchdog() -> Instant {
    examples_dir();
    Instant::now() + WATCHDOG
}

// --------------------------------------------------------------- endpoints

/// A TCP endpoint on a port that was free a moment ago (and that no other
/// test of this binary has been given).
fn tcp_endpoint() -> String {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut given = GIVEN.lock().unwrap();
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return format!("tcp://127.0.0.1:{port}");
        }
    }
}

/// An `ipc://` endpoint whose socket file is removed when this is dropped.
struct IpcEndpoint(PathBuf);

impl IpcEndpoint {
    fn new(tag: &str) -> IpcEndpoint {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("fzmq-zguide-{}-{tag}-{n}.ipc", std::process::id()));
        let _ = std::fs::remove_file(&path);
        IpcEndpoint(path)
    }

    fn endpoint(&self) -> String {
        format!("ipc://{}", self.0.display())
    }
}

impl Drop for IpcEndpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// --------------------------------------------------------------- processes

/// Everything a child wrote to one stream so far.
#[derive(Default)]
struct Captured {
    text: Mutex<(String, bool)>, // (text, end of stream)
    grew: Condvar,
}

impl Captured {
    fn collect(self: Arc<Self>, mut from: impl Read + Send + 'static) -> JoinHandle<()> {
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = from.read(&mut buf).unwrap_or(0);
                let mut t = self.text.lock().unwrap();
                if n == 0 {
                    t.1 = true;
                } else {
                    t.0.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                self.grew.notify_all();
                if n == 0 {
                    return;
                }
            }
        })
    }

    fn snapshot(&self) -> String {
        self.text.lock().unwrap().0.clone()
    }
}

/// What a finished example printed.
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Output {
    /// The stdout lines containing `needle`.
    fn lines_with(&self, needle: &str) -> std::vec::IntoIter<&str> {
        self.stdout.lines().filter(|l| l.contains(needle)).collect::<Vec<_>>().into_iter()
    }
}

/// A running example, killed (and reaped) when dropped.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Captured>,
    stderr: Arc<Captured>,
    readers: Vec<JoinHandle<()>>,
    deadline: Instant,
}

impl Proc {
    fn start(name: &str, args: &[&str], deadline: Instant) -> Proc {
        let path = examples_dir().join(format!("zguide_{name}"));
        let mut child = Command::new(&path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let (stdout, stderr) = (Arc::new(Captured::default()), Arc::new(Captured::default()));
        let readers = vec![
            stdout.clone().collect(child.stdout.take().expect("stdout")),
            stderr.clone().collect(child.stderr.take().expect("stderr")),
        ];
        let stdin = child.stdin.take();
        Proc { name: format!("zguide_{name} {}", args.join(" ")), child, stdin, stdout, stderr, readers, deadline }
    }

    fn describe(&self) -> String {
        format!("{}\n--- stdout:\n{}\n--- stderr:\n{}", self.name, self.stdout.snapshot(), self.stderr.snapshot())
    }

    /// Waits until the example has printed `needle` (a line need not be
    /// complete: prompts are not).
    fn wait_for_output(&self, needle: &str) {
        let mut t = self.stdout.text.lock().unwrap();
        while !t.0.contains(needle) {
            let now = Instant::now();
            if t.1 || now >= self.deadline {
                drop(t);
                panic!("never printed {needle:?}: {}", self.describe());
            }
            t = self.stdout.grew.wait_timeout(t, self.deadline - now).unwrap().0;
        }
    }

    /// Types a line on the example's stdin.
    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    fn collect(&mut self, status: ExitStatus) -> Output {
        for r in self.readers.drain(..) {
            r.join().expect("reader thread");
        }
        Output { status, stdout: self.stdout.snapshot(), stderr: self.stderr.snapshot() }
    }

    /// Waits for the example to exit by itself; kills it and fails the test
    /// at the deadline.
    fn wait(&mut self) -> Output {
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return self.collect(status);
            }
            if Instant::now() >= self.deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("watchdog: still running after {WATCHDOG:?}, killed: {}", self.describe());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Like [`Proc::wait`], and the exit must be a success.
    fn wait_success(&mut self) -> Output {
        let out = self.wait();
        assert!(out.status.success(), "exited with {}: {}", out.status, self.describe());
        out
    }

    /// Stops an example that serves forever, returning what it printed.
    fn stop(&mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait");
        self.collect(status)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The failing test's other examples: their output may explain it.
            eprintln!("=== {}\n", self.describe());
        }
    }
}

/// Parses "... was <n>F".
fn average_of(line: &str) -> i64 {
    let n = line.rsplit(' ').next().and_then(|w| w.strip_suffix('F')).expect("'<n>F' at the end");
    n.parse().unwrap_or_else(|_| panic!("not a temperature: {line:?}"))
}

// ------------------------------------------------------------------- tests

/// hwserver + hwclient: ten "Hello"s, ten "World"s, and the server stops by
/// itself after its count.
fn hello_world(endpoint: &str, count: u32) {
    let deadline = watchdog();
    let count_arg = count.to_string();
    let mut server = Proc::start("hwserver", &["--bind", endpoint, "--count", &count_arg, "--work-ms", "10"], deadline);
    let mut client = Proc::start("hwclient", &["--connect", endpoint, "--count", &count_arg], deadline);

    let out = client.wait_success();
    let replies: Vec<&str> = out.lines_with("Received").collect();
    let expected: Vec<String> = (0..count).map(|n| format!("Received World {n}")).collect();
    assert_eq!(replies, expected, "client output:\n{}", out.stdout);

    let out = server.wait_success();
    assert_eq!(out.lines_with("Received Hello").count(), count as usize, "server output:\n{}", out.stdout);
    assert!(out.stdout.contains(&format!("Served {count} requests")), "server output:\n{}", out.stdout);
}

#[test]
fn hello_world_over_tcp() {
    // The guide's run: the client's default is ten requests.
    let deadline = watchdog();
    let endpoint = tcp_endpoint();
    let mut server = Proc::start("hwserver", &["--bind", &endpoint, "--count", "10", "--work-ms", "10"], deadline);
    let mut client = Proc::start("hwclient", &["--connect", &endpoint], deadline);
    let out = client.wait_success();
    assert_eq!(out.lines_with("Received World").count(), 10, "client output:\n{}", out.stdout);
    server.wait_success();

    hello_world(&tcp_endpoint(), 3);
}

#[test]
fn hello_world_over_ipc() {
    let ipc = IpcEndpoint::new("hw");
    hello_world(&ipc.endpoint(), 5);
}

#[test]
fn weather_clients_average_their_own_zip_code() {
    let deadline = watchdog();
    let endpoint = tcp_endpoint();
    // Ten zip codes instead of 100000, so that a hundred updates for one of
    // them come quickly; the server publishes until the clients are done.
    let mut server = Proc::start("wuserver", &["--bind", &endpoint, "--zip-max", "10"], deadline);
    let mut clients: Vec<(&str, Proc)> = ["00003", "00007"]
        .into_iter()
        .map(|zip| (zip, Proc::start("wuclient", &["--connect", &endpoint, "--zip", zip], deadline)))
        .collect();
    for (zip, client) in &mut clients {
        // wuclient fails if an update for another zip code gets through.
        let out = client.wait_success();
        let line = out
            .lines_with(&format!("Average temperature for zipcode '{zip}' was "))
            .next()
            .unwrap_or_else(|| panic!("no average for {zip}:\n{}", out.stdout));
        let avg = average_of(line);
        assert!((-80..=134).contains(&avg), "average out of range: {line}");
    }
    let out = server.stop();
    assert!(out.stdout.contains("Publishing weather updates on"), "server output:\n{}", out.stdout);
}

// The ventilator closes its PUSH socket as soon as the batch is queued; a
// late worker's handshake may complete at that very moment. (That race once
// left the ventilator's context lingering forever: a closed socket's mailbox
// now refuses, and so closes, the pipes posted to it.)
#[test]
fn pipeline_sink_collects_every_task() {
    let deadline = watchdog();
    let (tasks, results) = (tcp_endpoint(), tcp_endpoint());
    let mut sink = Proc::start("tasksink", &["--bind", &results], deadline);
    let mut vent = Proc::start("taskvent", &["--bind", &tasks, "--sink", &results, "--max-ms", "10"], deadline);
    vent.wait_for_output("Press Enter when the workers are ready");
    let mut workers: Vec<Proc> =
        (0..2).map(|_| Proc::start("taskwork", &["--pull", &tasks, "--push", &results], deadline)).collect();
    for w in &workers {
        w.wait_for_output("Worker pulling tasks");
    }
    vent.type_line("");

    let out = vent.wait_success();
    let expected_cost: u64 = out
        .lines_with("Total expected cost: ")
        .next()
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no expected cost:\n{}", out.stdout));

    let out = sink.wait_success();
    // "Sink collecting ...", then one mark per result, then the time.
    let progress = out.stdout.lines().nth(1).unwrap_or_default();
    assert_eq!(progress.len(), 100, "sink output:\n{}", out.stdout);
    assert!(progress.chars().all(|c| c == ':' || c == '.'), "sink output:\n{}", out.stdout);
    assert_eq!(progress.matches(':').count(), 10, "sink output:\n{}", out.stdout);
    assert!(out.stdout.contains("Total elapsed time: "), "sink output:\n{}", out.stdout);

    // The sink has every result, so the workers have printed every task.
    let (mut done, mut cost) = (0, 0);
    let mut shares = Vec::new();
    for w in &mut workers {
        let out = w.stop();
        let progress = out.stdout.lines().skip(1).collect::<String>();
        let loads: Vec<u64> = progress
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap_or_else(|_| panic!("bad worker output:\n{}", out.stdout)))
            .collect();
        shares.push(loads.len());
        done += loads.len();
        cost += loads.iter().sum::<u64>();
    }
    assert_eq!(done, 100, "tasks per worker: {shares:?}");
    assert_eq!(cost, expected_cost, "the workers did not do the work the ventilator sent");
}

/// Two REQ clients and two REP workers through a broker that stops after
/// relaying 20 replies.
fn request_reply_broker(broker: &str) {
    let deadline = watchdog();
    let (frontend, backend) = (tcp_endpoint(), tcp_endpoint());
    let mut broker = Proc::start(broker, &["--frontend", &frontend, "--backend", &backend, "--count", "20"], deadline);
    let mut workers: Vec<Proc> =
        (0..2).map(|_| Proc::start("rrworker", &["--connect", &backend, "--work-ms", "10"], deadline)).collect();
    let mut clients: Vec<Proc> = (0..2).map(|_| Proc::start("rrclient", &["--connect", &frontend], deadline)).collect();

    for c in &mut clients {
        let out = c.wait_success();
        let replies: Vec<&str> = out.lines_with("Received reply").collect();
        let expected: Vec<String> = (0..10).map(|n| format!("Received reply {n} [World]")).collect();
        assert_eq!(replies, expected, "client output:\n{}", out.stdout);
    }
    let out = broker.wait_success();
    assert!(out.stdout.contains("relayed 20 requests"), "broker output:\n{}", out.stdout);
    let served: usize = workers.iter_mut().map(|w| w.stop().lines_with("Received request: [Hello]").count()).sum();
    assert_eq!(served, 20);
}

#[test]
fn rrbroker_relays_between_clients_and_workers() {
    request_reply_broker("rrbroker");
}

#[test]
fn msgqueue_proxy_relays_between_clients_and_workers() {
    request_reply_broker("msgqueue");
}

/// Every client gets its reply, every request is handled by one worker,
/// and the broker's per-worker tally adds up.
fn load_balancing(clients: usize, workers: usize, endpoints: &[&str]) {
    let deadline = watchdog();
    let (c, w) = (clients.to_string(), workers.to_string());
    let mut args = vec!["--clients", &c, "--workers", &w];
    args.extend_from_slice(endpoints);
    let out = Proc::start("lbbroker", &args, deadline).wait_success();

    let mut answered: Vec<String> = out.lines_with(": OK").map(str::to_string).collect();
    answered.sort();
    let mut expected: Vec<String> = (0..clients).map(|i| format!("Client-{i}: OK")).collect();
    expected.sort();
    assert_eq!(answered, expected, "output:\n{}", out.stdout);

    let mut requesters: Vec<&str> = out.lines_with(": HELLO from ").map(|l| l.rsplit(' ').next().unwrap()).collect();
    requesters.sort();
    let mut expected: Vec<String> = (0..clients).map(|i| format!("Client-{i}")).collect();
    expected.sort();
    assert_eq!(requesters, expected, "each request handled exactly once:\n{}", out.stdout);

    let summary = out
        .lines_with(&format!("Broker routed {clients} requests ("))
        .next()
        .unwrap_or_else(|| panic!("no summary:\n{}", out.stdout));
    let tally: BTreeMap<&str, usize> = summary
        .split('(')
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .split(", ")
        .map(|kv| {
            let (k, v) = kv.split_once(": ").unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    assert_eq!(tally.values().sum::<usize>(), clients, "{summary}");
    for (worker, n) in &tally {
        assert_eq!(out.lines_with(&format!("{worker}: HELLO")).count(), *n, "{summary}");
    }
}

#[test]
fn lbbroker_routes_every_request_over_inproc() {
    load_balancing(10, 3, &[]);
}

#[test]
fn lbbroker_routes_every_request_over_ipc() {
    let (frontend, backend) = (IpcEndpoint::new("lbf"), IpcEndpoint::new("lbb"));
    let (f, b) = (frontend.endpoint(), backend.endpoint());
    load_balancing(20, 4, &["--frontend", &f, "--backend", &b]);
}

#[test]
fn asyncsrv_returns_every_reply_to_its_client() {
    let deadline = watchdog();
    let endpoint = tcp_endpoint();
    let args = [
        "--endpoint",
        endpoint.as_str(),
        "--clients",
        "3",
        "--workers",
        "5",
        "--requests",
        "4",
        "--replies",
        "2",
        "--interval-ms",
        "50",
        "--max-delay-ms",
        "20",
    ];
    let out = Proc::start("asyncsrv", &args, deadline).wait_success();

    let mut per_client: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for line in out.lines_with(" received: request #") {
        // "<id> received: request #<n> from <id>"
        let words: Vec<&str> = line.split_whitespace().collect();
        let [me, "received:", "request", n, "from", sender] = words[..] else { panic!("odd line {line:?}") };
        assert_eq!(me, sender, "a reply reached the wrong client: {line}");
        per_client.entry(me).or_default().push(n.trim_start_matches('#').parse().unwrap());
    }
    assert_eq!(per_client.len(), 3, "output:\n{}", out.stdout);
    for (client, numbers) in &mut per_client {
        numbers.sort();
        assert_eq!(numbers, &[1, 1, 2, 2, 3, 3, 4, 4], "replies to {client}");
        assert!(out.stdout.contains(&format!("{client} done: 4 requests, 8 replies")), "{}", out.stdout);
    }
}

#[test]
fn lazy_pirate_client_survives_a_server_crash() {
    let deadline = watchdog();
    let endpoint = tcp_endpoint();
    let mut first = Proc::start("lpserver", &["--bind", &endpoint, "--crash-at", "3", "--work-ms", "20"], deadline);
    let mut client = Proc::start(
        "lpclient",
        &["--connect", &endpoint, "--count", "5", "--timeout-ms", "500", "--retries", "5"],
        deadline,
    );
    // The server "crashes" on the third request; restart it, as the guide's
    // reader would.
    let out = first.wait_success();
    assert!(out.stdout.contains("I: simulating a crash"), "server output:\n{}", out.stdout);
    let mut second = Proc::start("lpserver", &["--bind", &endpoint, "--reliable", "--work-ms", "20"], deadline);

    let out = client.wait_success();
    let ok: Vec<&str> = out.lines_with("I: server replied OK").collect();
    let expected: Vec<String> = (1..=5).map(|n| format!("I: server replied OK ({n})")).collect();
    assert_eq!(ok, expected, "client output:\n{}", out.stdout);
    assert!(out.stdout.contains("W: no response from server, retrying"), "client output:\n{}", out.stdout);
    let out = second.stop();
    assert!(out.stdout.contains("I: normal request (5)"), "second server output:\n{}", out.stdout);
}

#[test]
fn lazy_pirate_client_retries_through_an_overload() {
    let deadline = watchdog();
    let endpoint = tcp_endpoint();
    let mut server = Proc::start(
        "lpserver",
        &["--bind", &endpoint, "--overload-at", "2", "--overload-ms", "1200", "--work-ms", "20"],
        deadline,
    );
    let mut client = Proc::start(
        "lpclient",
        &["--connect", &endpoint, "--count", "4", "--timeout-ms", "500", "--retries", "6"],
        deadline,
    );
    let out = client.wait_success();
    let ok: Vec<&str> = out.lines_with("I: server replied OK").collect();
    let expected: Vec<String> = (1..=4).map(|n| format!("I: server replied OK ({n})")).collect();
    assert_eq!(ok, expected, "client output:\n{}", out.stdout);
    assert!(out.stdout.contains("W: no response from server, retrying"), "client output:\n{}", out.stdout);
    let out = server.stop();
    assert!(out.stdout.contains("I: simulating CPU overload"), "server output:\n{}", out.stdout);
}

#[test]
fn lazy_pirate_client_abandons_without_a_server() {
    let deadline = watchdog();
    let endpoint = tcp_endpoint();
    let out = Proc::start(
        "lpclient",
        &["--connect", &endpoint, "--count", "2", "--timeout-ms", "200", "--retries", "3"],
        deadline,
    )
    .wait();
    assert_eq!(out.status.code(), Some(1), "output:\n{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.lines_with("W: no response from server, retrying").count(), 2, "{}", out.stdout);
    assert!(out.stdout.ends_with("E: server seems to be offline, abandoning\n"), "{}", out.stdout);
}

#[test]
fn mtserver_answers_every_request() {
    let deadline = watchdog();
    let endpoint = tcp_endpoint();
    let mut server = Proc::start(
        "mtserver",
        &["--bind", &endpoint, "--workers", "5", "--work-ms", "100", "--count", "10"],
        deadline,
    );
    let mut clients: Vec<Proc> =
        (0..2).map(|_| Proc::start("hwclient", &["--connect", &endpoint, "--count", "5"], deadline)).collect();
    for c in &mut clients {
        let out = c.wait_success();
        assert_eq!(out.lines_with("Received World").count(), 5, "client output:\n{}", out.stdout);
    }
    let out = server.wait_success();
    assert!(out.stdout.contains("Answered 10 requests"), "server output:\n{}", out.stdout);
    let served: Vec<&str> = out.lines_with("Received request: [Hello]").collect();
    assert_eq!(served.len(), 10, "server output:\n{}", out.stdout);
    let workers: HashSet<&str> = served.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert!(workers.len() >= 2, "the proxy should spread requests over the pool: {workers:?}");
}
