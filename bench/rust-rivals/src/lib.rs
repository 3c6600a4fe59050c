//! Shared plumbing of the rival throughput programs.
//!
//! `<prog> <tcp://host:port> <size> <count>` binds a PULL socket, starts a
//! copy of itself as the PUSH sender (`<prog> --send <endpoint> <size>
//! <count>`, a second process, as with libzmq's local_thr/remote_thr), and
//! prints local_thr's four lines. The clock starts at the first message,
//! which is counted but not timed, as in libzmq's tool.

use std::process::{Child, Command};
use std::time::Duration;

pub enum Role {
    Receive { endpoint: String, size: usize, count: usize },
    Send { endpoint: String, size: usize, count: usize },
}

pub fn parse_args() -> Role {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        println!("usage: {} <bind-to> <message-size> <message-count>", args[0]);
        std::process::exit(1)
    };
    let num = |s: &String| s.parse::<usize>().unwrap_or_else(|_| usage());
    match args.len() {
        4 => Role::Receive { endpoint: args[1].clone(), size: num(&args[2]), count: num(&args[3]) },
        5 if args[1] == "--send" => Role::Send { endpoint: args[2].clone(), size: num(&args[3]), count: num(&args[4]) },
        _ => usage(),
    }
}

/// Starts the sending copy of this program.
pub fn spawn_sender(endpoint: &str, size: usize, count: usize) -> Child {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new(exe)
        .args(["--send", endpoint, &size.to_string(), &count.to_string()])
        .spawn()
        .expect("spawning the sender")
}

pub fn print_thr(size: usize, count: usize, elapsed: Duration) {
    let us = (elapsed.as_secs_f64() * 1e6).max(1.0);
    let msgs = count as f64 / us * 1e6;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", msgs as u64);
    println!("mean throughput: {:.3} [Mb/s]", msgs * size as f64 * 8.0 / 1e6);
}

pub fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("error in {what}: {e}");
    std::process::exit(1)
}

/// Pause before the sender closes (outside the timed region), in case a
/// crate drops queued messages at close.
pub const CLOSE_DELAY: Duration = Duration::from_millis(500);
