//! Helpers shared by the acceptance suites (`interop_libzmq`, `bad_input`):
//! the real-libzmq peer process (tests/peers/zmq_peer.py), a per-test
//! watchdog, unique endpoints, the shared test message stream, and small
//! utilities. Each test binary uses a subset, hence the `dead_code` allow.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ python

/// The interpreter running the peers (`FERROZMQ_PYTHON`, default `python3`).
pub fn python() -> String {
    std::env::var("FERROZMQ_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// tests/peers/zmq_peer.py at the workspace root.
pub fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/zmq_peer.py")
}

/// Fails the calling test, loudly, unless `python3 -c "import zmq"` works:
/// the interop suite must never pass by skipping.
pub fn require_pyzmq() {
    static CHECK: OnceLock<Result<String, String>> = OnceLock::new();
    let r = CHECK.get_or_init(|| {
        let py = python();
        match Command::new(&py).args(["-c", "import zmq; print(zmq.zmq_version())"]).stdin(Stdio::null()).output() {
            Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
            Ok(o) => Err(format!(
                "`{py} -c \"import zmq\"` failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run `{py}`: {e}")),
        }
    });
    if let Err(e) = r {
        panic!(
            "\n\nThe libzmq interop tests need pyzmq (real libzmq) and it is not available:\n  {e}\n\
             Run the project's setup script first:  bash scripts/setup.sh\n\
             (CI installs pyzmq there; these tests are not skipped without it.)\n"
        );
    }
    assert!(peer_script().exists(), "peer script missing: {}", peer_script().display());
}

// ---------------------------------------------------------------- watchdog

/// A test's time budget. [`bounded`] runs the test body on its own thread;
/// if the body is not done within the budget, the peers it started are
/// killed and the test fails with a "hung" message (the stuck thread is
/// left behind; the test binary still exits when the harness is done).
pub struct Watchdog {
    pids: Arc<Mutex<Vec<u32>>>,
    started: Instant,
    limit: Duration,
}

impl Watchdog {
    /// The instant by which the test must be done.
    pub fn deadline(&self) -> Instant {
        self.started + self.limit
    }

    /// Time left before the watchdog fires (at least 1 ms).
    pub fn remaining(&self) -> Duration {
        self.deadline().saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
    }

    /// Has this dog kill `pid` (a child process the test started) if the
    /// test hangs.
    pub fn watch_pid(&self, pid: u32) {
        self.pids.lock().unwrap().push(pid);
    }

    /// Starts a libzmq peer (see tests/peers/zmq_peer.py) watched by this dog.
    /// Its own deadline is a little earlier than the watchdog's, so that a
    /// stuck peer is reported as such.
    pub fn peer(&self, args: &[&str]) -> Peer {
        let limit = self.remaining().saturating_sub(Duration::from_secs(2)).max(Duration::from_secs(1));
        let p = Peer::spawn(args, limit);
        self.pids.lock().unwrap().push(p.child.id());
        p
    }
}

/// Runs `body` with a watchdog of `limit`. Panics in the body fail the
/// test as usual; a body still running after `limit` fails it as hung.
pub fn bounded<F>(name: &str, limit: Duration, body: F)
where
    F: FnOnce(&Watchdog) + Send + 'static,
{
    let pids: Arc<Mutex<Vec<u32>>> = Arc::default();
    let wd = Watchdog { pids: pids.clone(), started: Instant::now(), limit };
    let (tx, rx) = mpsc::channel();
    let h = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&wd)));
            let _ = tx.send(());
            r
        })
        .expect("spawn test body");
    match rx.recv_timeout(limit + Duration::from_secs(1)) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            if let Err(p) = h.join().expect("body thread") {
                std::panic::resume_unwind(p);
            }
        }
        Err(RecvTimeoutError::Timeout) => {
            for pid in pids.lock().unwrap().iter() {
                // SAFETY: kill(2) of a child process this test started.
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
            panic!("WATCHDOG: test `{name}` hung: not finished after {limit:?} (its peers were killed)");
        }
    }
}

// -------------------------------------------------------------------- peer

/// A running zmq_peer.py. Its stdout is read line by line on a thread; every
/// wait is bounded by the peer's deadline. Dropping it kills the process.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    seen: Vec<String>,
    pub name: String,
    deadline: Instant,
}

impl Peer {
    /// Spawns `python3 zmq_peer.py ARGS --timeout T`, T a little longer than
    /// `limit` so that the Rust side reports first.
    pub fn spawn(args: &[&str], limit: Duration) -> Peer {
        require_pyzmq();
        let secs = limit.as_secs().max(1) + 5;
        let mut cmd = Command::new(python());
        cmd.arg("-u").arg(peer_script()).args(args).arg("--timeout").arg(secs.to_string());
        let name = args.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
        Peer::from_command(cmd, name, limit)
    }

    /// Starts any program that speaks the peer line protocol (READY, SEND,
    /// RECV, ... on stdin/stdout: zmq_peer.py, the JeroMQ peer), with its
    /// output collected and every wait bounded by `limit`.
    pub fn from_command(mut cmd: Command, name: String, limit: Duration) -> Peer {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e} (run scripts/setup.sh)"));
        let rx = stdout_lines(&mut child);
        let stderr = collect_stderr(&mut child);
        Peer {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr,
            seen: Vec::new(),
            name,
            deadline: Instant::now() + limit,
        }
    }

    fn context(&self) -> String {
        format!("peer `{}`: output so far {:?}; stderr: {}", self.name, self.seen, self.stderr.lock().unwrap().trim())
    }

    /// Panics with everything the peer said.
    pub fn fail(&self, what: &str) -> ! {
        panic!("{what}\n  {}", self.context())
    }

    /// The next output line, waiting at most `timeout` (and never past the
    /// deadline). None on timeout; panics if the peer exited.
    pub fn try_line(&mut self, timeout: Duration) -> Option<String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(timeout.min(left)) {
            Ok(l) => {
                self.seen.push(l.clone());
                Some(l)
            }
            Err(RecvTimeoutError::Timeout) => {
                if Instant::now() >= self.deadline {
                    self.fail("peer deadline passed");
                }
                None
            }
            Err(RecvTimeoutError::Disconnected) => {
                // Give stderr a moment to be collected for the message.
                let _ = self.child.try_wait();
                std::thread::sleep(Duration::from_millis(50));
                self.fail("peer exited (stdout closed)")
            }
        }
    }

    /// The next output line before the deadline; panics on `FAIL ...`.
    pub fn line(&mut self) -> String {
        loop {
            if let Some(l) = self.try_line(Duration::from_secs(3600)) {
                if l.starts_with("FAIL") {
                    self.fail(&format!("peer reported: {l}"));
                }
                return l;
            }
        }
    }

    /// Waits for a line starting with `word` (other lines are kept for the
    /// diagnostics) and returns the rest of it.
    /// A peer that prints the same `WAITING ...` progress line (once a
    /// second while nothing arrives) 10 times in a row has stalled: fail now
    /// rather than at the deadline.
    pub fn expect(&mut self, word: &str) -> String {
        let mut stalled = 0;
        loop {
            let l = self.line();
            if l.starts_with("WAITING") && word != "WAITING" {
                let same = self.seen.len() >= 2 && self.seen[self.seen.len() - 2] == l;
                stalled = if same { stalled + 1 } else { 0 };
                if stalled >= 9 {
                    self.fail(&format!("peer stalled (no progress for 10 s) while waiting for `{word}`: {l}"));
                }
                continue;
            }
            if l == word {
                return String::new();
            }
            if let Some(rest) = l.strip_prefix(word).and_then(|r| r.strip_prefix(' ')) {
                return rest.to_string();
            }
        }
    }

    /// Waits for `READY ep...` and returns the endpoints.
    pub fn ready(&mut self) -> Vec<String> {
        self.expect("READY").split_whitespace().map(str::to_string).collect()
    }

    /// Writes one command line (ctl role).
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        if let Err(e) = writeln!(stdin, "{line}").and_then(|_| stdin.flush()) {
            self.fail(&format!("cannot write {line:?} to peer: {e}"));
        }
    }

    /// Sends a ctl command and returns its one-line reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send_line(line);
        self.line()
    }

    /// Sends a ctl command that must answer `OK`.
    pub fn cmd_ok(&mut self, line: &str) {
        let r = self.cmd(line);
        if r != "OK" {
            self.fail(&format!("command {line:?} answered {r:?}"));
        }
    }

    /// ctl: `RECV ms` → Some(frames) or None on timeout.
    pub fn recv(&mut self, ms: u64) -> Option<Vec<Vec<u8>>> {
        let r = self.cmd(&format!("RECV {ms}"));
        if r == "TIMEOUT" {
            return None;
        }
        match r.strip_prefix("MSG") {
            Some(rest) => Some(dec_frames(rest)),
            None => self.fail(&format!("RECV answered {r:?}")),
        }
    }

    /// ctl: sends a multipart message.
    pub fn send(&mut self, frames: &[&[u8]]) {
        let line = format!("SEND {}", enc_frames(frames));
        self.cmd_ok(&line);
    }

    /// Waits for the process to exit with status 0 (before the deadline).
    pub fn wait_success(mut self) {
        // Drain the remaining output into `seen` for diagnostics.
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            if Instant::now() >= self.deadline {
                self.fail("peer did not exit before the deadline");
            }
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
        if !status.success() || self.seen.iter().any(|l| l.starts_with("FAIL")) {
            self.fail(&format!("peer exited with {status}"));
        }
    }

    /// Closes our end of the peer's stdin (the peer then exits).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The peer's process id (e.g. to SIGSTOP it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line the peer printed so far (diagnostics).
    pub fn seen(&self) -> &[String] {
        &self.seen
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Frames as the ctl protocol writes them: `x<hex>` each, space-separated.
pub fn enc_frames(frames: &[&[u8]]) -> String {
    frames.iter().map(|f| format!("x{}", hex(f))).collect::<Vec<_>>().join(" ")
}

pub fn dec_frames(s: &str) -> Vec<Vec<u8>> {
    s.split_whitespace()
        .map(|w| {
            let h = w.strip_prefix('x').unwrap_or_else(|| panic!("bad frame word {w:?}"));
            unhex(h)
        })
        .collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(h: &str) -> Vec<u8> {
    assert!(h.len() % 2 == 0, "odd hex {h:?}");
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex")).collect()
}

// --------------------------------------------------------------- endpoints

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(tag: &str) -> String {
    format!("{}-{}-{}", std::process::id(), tag, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A wildcard TCP endpoint; read the real one back from LAST_ENDPOINT.
pub const TCP_ANY: &str = "tcp://127.0.0.1:*";

/// A fresh filesystem ipc endpoint in the temporary directory.
pub fn ipc_path(tag: &str) -> String {
    format!("ipc://{}/fzmq-t-{}.sock", std::env::temp_dir().display(), unique(tag))
}

/// A fresh abstract-namespace ipc endpoint.
pub fn ipc_abstract(tag: &str) -> String {
    format!("ipc://@fzmq-t-{}", unique(tag))
}

/// A fresh inproc name.
pub fn inproc(tag: &str) -> String {
    format!("inproc://{}", unique(tag))
}

/// Removes an ipc socket file left by a test (no-op for abstract names).
pub fn cleanup_ipc(ep: &str) {
    if let Some(p) = ep.strip_prefix("ipc://") {
        if !p.starts_with('@') {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Removes ipc socket files when the test ends, even if it fails.
pub struct Cleanup(pub Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for ep in &self.0 {
            cleanup_ipc(ep);
        }
    }
}

/// Transport of the interop scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Ipc,
}

impl Transport {
    /// What to bind to: a wildcard TCP port or a fresh ipc path.
    pub fn bind_ep(self, tag: &str) -> String {
        match self {
            Transport::Tcp => TCP_ANY.to_string(),
            Transport::Ipc => ipc_path(tag),
        }
    }
}

// ------------------------------------------------------------- test stream

/// `n` pattern bytes; byte k is `((seed + k) % 256 * 7 + 3) & 0xff`
/// (zmq_peer.py `pat`).
pub fn pat(seed: u64, n: usize) -> Vec<u8> {
    let off = (seed % 256) as usize;
    (0..n).map(|k| ((((off + k) % 256) * 7 + 3) & 0xFF) as u8).collect()
}

/// Message `i` of the shared test stream (zmq_peer.py `message`): multipart
/// messages, empty frames in every position, frames at the short/long
/// length boundary, large frames around and above 16 KiB every 1 000
/// messages, and a 1 MiB frame every 10 000 messages.
pub fn message(i: u64) -> Vec<Vec<u8>> {
    let head = i.to_be_bytes().to_vec();
    if i % 10_000 == 5_000 {
        return vec![head, pat(i, 1 << 20)];
    }
    if i % 1_000 == 500 {
        // Large frames (read into their own pooled buffers).
        return vec![head, pat(i, 16383 + (i % 70_000) as usize), pat(i + 1, 16384), pat(i + 2, 65536), vec![]];
    }
    match i % 13 {
        0 => vec![head],
        1 => vec![head, vec![]],
        2 => vec![head, vec![], pat(i, (i % 100) as usize)],
        3 => vec![head, pat(i, 300), vec![], vec![], pat(i + 1, 5)],
        4 => vec![vec![]],
        5 => vec![head, pat(i, 255)],
        6 => vec![head, pat(i, 256)],
        7 => vec![vec![], vec![], head],
        8 => vec![head, pat(i, 38), pat(i, 39)],
        9 => vec![head, pat(i, 4096 + (i % 1000) as usize)],
        _ => vec![head, pat(i, (i % 64) as usize)],
    }
}

/// Short description of a message for assertion failures.
pub fn describe(frames: &[impl AsRef<[u8]>]) -> String {
    let parts: Vec<String> = frames
        .iter()
        .map(|f| {
            let f = f.as_ref();
            format!("{}:{}{}", f.len(), hex(&f[..f.len().min(16)]), if f.len() > 16 { "..." } else { "" })
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Sends messages `0..n` of the stream.
pub fn send_stream(s: &ferrozmq::Socket, n: u64) {
    for i in 0..n {
        s.send_multipart(message(i), 0).unwrap_or_else(|e| panic!("send of stream message {i} failed: {e}"));
    }
}

/// Receives messages `0..n` of the stream and checks every frame, in order.
/// Set RCVTIMEO on `s` first: a timeout fails the test with the position.
pub fn recv_stream(s: &ferrozmq::Socket, n: u64, what: &str) {
    for i in 0..n {
        let got = s.recv_multipart(0).unwrap_or_else(|e| panic!("{what}: receiving stream message {i} of {n}: {e}"));
        let exp = message(i);
        let same = got.len() == exp.len() && got.iter().zip(&exp).all(|(g, e)| g.as_bytes() == e.as_slice());
        if !same {
            panic!(
                "{what}: stream message {i} differs: got {} frames {}, expected {} frames {}",
                got.len(),
                describe(&got),
                exp.len(),
                describe(&exp)
            );
        }
    }
}

// ------------------------------------------------------------------ memory

/// This process's resident set size in KiB (/proc/self/status VmRSS).
pub fn vm_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Polls `cond` every few ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads a child's standard output line by line on a thread of its own;
/// the lines arrive on the returned channel (closed at end of output).
pub fn stdout_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects a child's standard error on a thread of its own (for failure
/// messages).
pub fn collect_stderr(child: &mut std::process::Child) -> Arc<Mutex<String>> {
    let mut pipe = child.stderr.take().expect("stderr piped");
    let stderr = Arc::new(Mutex::new(String::new()));
    let e2 = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            e2.lock().unwrap_or_else(|p| p.into_inner()).push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    stderr
}
