//! What the `fzmq` end-to-end tests share: a child-process harness whose
//! every wait is bounded (the child is killed and the test failed at the
//! limit), and unique endpoints.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The `fzmq` binary under test, without backtrace or terminal settings
/// inherited from the environment (stderr is a pipe in these tests).
pub fn fzmq() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fzmq"));
    c.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").env_remove("TERM");
    c
}

/// A unique ipc endpoint for this test process.
pub fn ipc_endpoint() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = format!("/tmp/fzmq-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let _ = std::fs::remove_file(&path);
    format!("ipc://{path}")
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// How a child ended.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// From spawn to exit, as seen by the test.
    pub wall: Duration,
}

impl Finished {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn assert_no_panic(&self) {
        let all = format!("{}{}", self.stdout_text(), self.stderr);
        assert!(!all.contains("panicked"), "output mentions a panic:\n{all}");
        assert!(!all.contains("RUST_BACKTRACE"), "output mentions RUST_BACKTRACE:\n{all}");
    }
}

/// A running `fzmq` with its output collected in the background; killed on
/// drop, and after `limit` by any wait.
pub struct Proc {
    child: Child,
    pub stdin: Option<ChildStdin>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<()>>,
    stderr_text: Arc<Mutex<String>>,
    /// Each stderr line with the time it was read.
    stderr_lines: mpsc::Receiver<(Instant, String)>,
    pub started: Instant,
    limit: Duration,
    what: String,
}

impl Proc {
    /// Starts `fzmq args…`; every wait on it fails after `limit`.
    pub fn spawn(args: &[&str], limit: Duration) -> Proc {
        Proc::spawn_env(args, &[], limit)
    }

    pub fn spawn_env(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Proc {
        let mut cmd = fzmq();
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn fzmq");
        let started = Instant::now();
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let err = child.stderr.take().unwrap();
        let stderr_text = Arc::new(Mutex::new(String::new()));
        let text = stderr_text.clone();
        let (tx, stderr_lines) = mpsc::channel();
        let stderr = std::thread::spawn(move || {
            // Split on '\n' only, keeping any '\r' for the checks.
            for line in BufReader::new(err).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).into_owned();
                text.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send((Instant::now(), line));
            }
        });
        Proc {
            child,
            stdin,
            stdout: Some(stdout),
            stderr: Some(stderr),
            stderr_text,
            stderr_lines,
            started,
            limit,
            what: format!("fzmq {}", args.join(" ")),
        }
    }

    /// Writes to standard input (the process keeps it open).
    pub fn write(&mut self, data: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(data).expect("write to fzmq's stdin");
        stdin.flush().unwrap();
    }

    /// Closes standard input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Feeds `data` from a thread, then closes standard input.
    pub fn feed_and_close(&mut self, data: Vec<u8>) -> JoinHandle<()> {
        let mut stdin = self.stdin.take().expect("stdin still open");
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        })
    }

    /// Waits for a stderr line starting with `prefix`; returns it and when
    /// it was read. Fails (killing the child) at the limit.
    pub fn stderr_line_at(&mut self, prefix: &str) -> (Instant, String) {
        let deadline = self.started + self.limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok((at, line)) if line.starts_with(prefix) => return (at, line),
                Ok(_) => continue,
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("{}: no stderr line starting with {prefix:?}; stderr: {}", self.what, self.stderr());
                }
            }
        }
    }

    /// Waits for a stderr line starting with `prefix`.
    pub fn stderr_line(&mut self, prefix: &str) -> String {
        self.stderr_line_at(prefix).1
    }

    /// The endpoint printed by a bind to a wildcard port ("fzmq: bound to EP").
    pub fn bound_endpoint(&mut self) -> String {
        self.stderr_line("fzmq: bound to ").trim_start_matches("fzmq: bound to ").to_string()
    }

    /// Standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr_text.lock().unwrap().clone()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Closes stdin and waits for the exit; kills and fails at the limit.
    pub fn finish(mut self) -> Finished {
        self.stdin = None;
        let deadline = self.started + self.limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{}: still running after {:?}, killed; stderr: {}", self.what, self.limit, self.stderr());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let wall = self.started.elapsed();
        let stdout = self.stdout.take().unwrap().join().unwrap();
        self.stderr.take().unwrap().join().unwrap();
        let f = Finished { code: status.code(), stdout, stderr: self.stderr(), wall };
        f.assert_no_panic();
        f
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
