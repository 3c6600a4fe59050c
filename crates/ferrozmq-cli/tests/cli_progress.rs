//! `--progress` / `--no-progress` of `fzmq send` and `fzmq recv`, through the
//! real binary. Standard error is a pipe here, so `--progress` gives plain
//! lines ("fzmq: received N messages, B bytes: R msg/s, X MB/s" at most once
//! a second) and the summary ("fzmq: received N messages, B bytes in T:
//! R msg/s, X MB/s"); without the flag nothing at all is printed.
//!
//! Every child is killed (and the test failed) after `DEADLINE`; every wait
//! for a line is bounded by it too.

mod common;

use common::{ipc_endpoint, Finished};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);

/// The shared child harness with this file's deadline as its limit.
struct Proc;

impl Proc {
    fn spawn(args: &[&str]) -> common::Proc {
        common::Proc::spawn(args, DEADLINE)
    }
}

/// `n` lines, every tenth of two frames; and the payload bytes they make
/// (frames' contents: no TAB, no newline).
fn lines(n: usize) -> (Vec<u8>, u64) {
    let mut v = Vec::new();
    let mut payload = 0u64;
    for i in 0..n {
        let line = if i % 10 == 0 { format!("m{i}\tx") } else { format!("m{i}") };
        payload += line.bytes().filter(|&b| b != b'\t').count() as u64;
        v.extend_from_slice(line.as_bytes());
        v.push(b'\n');
    }
    (v, payload)
}

/// A parsed summary line.
#[derive(Debug)]
struct Summary {
    count: u64,
    bytes: u64,
    msg_rate: f64,
    mb_rate: f64,
}

/// Parses "fzmq: VERB N messages, B bytes in T: R msg/s, X MB/s".
fn summary(line: &str, verb: &str) -> Summary {
    let parse = || -> Option<Summary> {
        let rest = line.strip_prefix(&format!("fzmq: {verb} "))?;
        let (count, rest) = rest.split_once(" messages, ")?;
        let (bytes, rest) = rest.split_once(" bytes in ")?;
        let (_elapsed, rest) = rest.split_once(": ")?;
        let (msg_rate, mb_rate) = rest.strip_suffix(" MB/s")?.split_once(" msg/s, ")?;
        Some(Summary {
            count: count.parse().ok()?,
            bytes: bytes.parse().ok()?,
            msg_rate: msg_rate.parse().ok()?,
            mb_rate: mb_rate.parse().ok()?,
        })
    };
    parse().unwrap_or_else(|| panic!("not a summary line for {verb:?}: {line:?}"))
}

/// Parses a periodic line "fzmq: VERB N messages, B bytes: R msg/s, X MB/s"
/// into (N, B).
fn periodic(line: &str, verb: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix(&format!("fzmq: {verb} "))?;
    let (count, rest) = rest.split_once(" messages, ")?;
    let (bytes, rest) = rest.split_once(" bytes: ")?;
    let (msg_rate, mb_rate) = rest.strip_suffix(" MB/s")?.split_once(" msg/s, ")?;
    msg_rate.parse::<f64>().ok()?;
    mb_rate.parse::<f64>().ok()?;
    Some((count.parse().ok()?, bytes.parse().ok()?))
}

/// Checks a `--progress` standard error: only plain lines (no escape, no
/// carriage return), `extra` lines first (e.g. "fzmq: bound to"), then
/// periodic lines with growing counts, at most one a second of `wall`, then
/// the summary as the last line, which is returned parsed.
fn check_progress_stderr(stderr: &str, verb: &str, extra: usize, wall: Duration) -> Summary {
    assert!(!stderr.contains('\r') && !stderr.contains('\x1b'), "terminal codes in a plain stderr: {stderr:?}");
    let all: Vec<&str> = stderr.lines().collect();
    assert!(all.len() > extra, "no summary in {stderr:?}");
    let (last, middle) = all[extra..].split_last().unwrap();
    let mut previous = 0;
    for line in middle {
        let (count, _) = periodic(line, verb).unwrap_or_else(|| panic!("unexpected stderr line {line:?} in {stderr}"));
        assert!(count > previous, "periodic lines must show a growing count: {stderr}");
        previous = count;
    }
    let most = wall.as_secs() as usize + 1;
    assert!(middle.len() <= most, "{} periodic lines in {wall:?} (at most one a second): {stderr}", middle.len());
    let s = summary(last, verb);
    assert!(s.count >= previous, "{stderr}");
    s
}

/// Checks a summary's rate: positive, and at least what the whole run
/// (process start to exit, longer than the measured span) gives.
fn check_rate(s: &Summary, wall: Duration) {
    assert!(s.msg_rate > 0.0, "{s:?}");
    let floor = s.count as f64 / wall.as_secs_f64();
    assert!(s.msg_rate >= floor * 0.95, "rate {} msg/s below {floor:.0} (count over the whole run): {s:?}", s.msg_rate);
    let mb = s.bytes as f64 / 1e6 / wall.as_secs_f64();
    assert!(s.mb_rate >= mb * 0.95 - 0.01, "{} MB/s below {mb:.2}: {s:?}", s.mb_rate);
}

/// `fzmq recv pull --count N` fed by `fzmq send push` with `flags` on both.
fn push_pull(n: usize, input: Vec<u8>, flags: &[&str]) -> (Finished, Finished, String) {
    let count = n.to_string();
    let mut rx_args = vec!["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--count", &count, "--timeout-ms", "30000"];
    rx_args.extend_from_slice(flags);
    let mut rx = Proc::spawn(&rx_args);
    let ep = rx.bound_endpoint();
    let mut tx_args = vec!["send", "push", "--connect", &ep];
    tx_args.extend_from_slice(flags);
    let mut tx = Proc::spawn(&tx_args);
    let writer = tx.feed_and_close(input);
    let tx = tx.finish();
    writer.join().unwrap();
    let rx = rx.finish();
    (tx, rx, ep)
}

#[test]
fn progress_prints_a_summary_on_both_sides_and_leaves_the_output_alone() {
    const N: usize = 200_000;
    let (input, payload) = lines(N);
    let (tx, rx, _) = push_pull(N, input.clone(), &["--progress"]);

    assert_eq!(tx.code, Some(0), "send: {}", tx.stderr);
    assert!(tx.stdout.is_empty(), "send wrote to standard output");
    let sent = check_progress_stderr(&tx.stderr, "sent", 0, tx.wall);
    assert_eq!((sent.count, sent.bytes), (N as u64, payload), "{}", tx.stderr);
    check_rate(&sent, tx.wall);

    assert_eq!(rx.code, Some(0), "recv: {}", rx.stderr);
    // Standard output is exactly the lines sent, nothing more.
    assert_eq!(rx.stdout.len(), input.len());
    assert!(rx.stdout == input, "received lines differ from the input");
    let received = check_progress_stderr(&rx.stderr, "received", 1, rx.wall);
    assert_eq!((received.count, received.bytes), (N as u64, payload), "{}", rx.stderr);
    check_rate(&received, rx.wall);
}

#[test]
fn without_progress_nothing_is_printed_on_standard_error() {
    const N: usize = 200_000;
    let (input, payload) = lines(N);
    // Standard error is a pipe: off by default; --no-progress; and the last
    // of --progress/--no-progress wins.
    for flags in [&[][..], &["--no-progress"], &["--progress", "--no-progress"]] {
        let (tx, rx, ep) = push_pull(N, input.clone(), flags);
        assert_eq!(tx.code, Some(0), "send {flags:?}: {}", tx.stderr);
        assert_eq!(tx.stderr, "", "send {flags:?}");
        assert!(tx.stdout.is_empty());
        assert_eq!(rx.code, Some(0), "recv {flags:?}: {}", rx.stderr);
        assert_eq!(rx.stderr, format!("fzmq: bound to {ep}\n"), "recv {flags:?}");
        assert!(rx.stdout == input, "recv {flags:?}: received lines differ from the input");
    }
    let (tx, rx, _) = push_pull(N, input.clone(), &["--no-progress", "--progress"]);
    assert_eq!((tx.code, rx.code), (Some(0), Some(0)), "{}{}", tx.stderr, rx.stderr);
    assert_eq!(summary(tx.stderr.lines().last().unwrap(), "sent").bytes, payload);
    assert_eq!(summary(rx.stderr.lines().last().unwrap(), "received").count, N as u64);
    assert!(rx.stdout == input);
}

#[test]
fn periodic_lines_at_most_once_a_second_and_silence_without_the_flag() {
    // Three pairs fed alike, with stdin kept open: one with --progress, one
    // with no flag, one with --no-progress. The --progress pair's periodic
    // lines (a second apart at least) are the clock: by the time it has
    // printed two, the others have run as long and must have printed nothing.
    let mut pairs = Vec::new();
    for flags in [&["--progress"][..], &[], &["--no-progress"]] {
        let mut rx_args = vec!["recv", "pull", "--bind", "tcp://127.0.0.1:0", "--count", "10", "--timeout-ms", "30000"];
        rx_args.extend_from_slice(flags);
        let mut rx = Proc::spawn(&rx_args);
        let ep = rx.bound_endpoint();
        let mut tx_args = vec!["send", "push", "--connect", &ep];
        tx_args.extend_from_slice(flags);
        let tx = Proc::spawn(&tx_args);
        pairs.push((tx, rx, ep));
    }
    let batch = |from: usize| -> Vec<u8> { (from..from + 5).flat_map(|i| format!("m{i}\n").into_bytes()).collect() };
    for (tx, _, _) in &mut pairs {
        tx.write(&batch(0));
    }
    let (tx, rx, _) = &mut pairs[0];
    let (_, first) = rx.stderr_line_at("fzmq: received 5 messages, ");
    let (sent_at, _) = tx.stderr_line_at("fzmq: sent 5 messages, ");
    assert_eq!(periodic(&first, "received"), Some((5, 10)), "{first}");
    for (tx, _, _) in &mut pairs {
        tx.write(&batch(5));
    }
    let (tx, _, _) = &mut pairs[0];
    let (sent_again_at, line) = tx.stderr_line_at("fzmq: sent 10 messages, ");
    assert_eq!(periodic(&line, "sent"), Some((10, 20)), "{line}");
    // Printed a second apart at least (read here with some scheduling jitter).
    let gap = sent_again_at.duration_since(sent_at);
    assert!(gap >= Duration::from_millis(500), "two progress lines {gap:?} apart");

    let expected: Vec<u8> = [batch(0), batch(5)].concat();
    for (i, (tx, rx, ep)) in pairs.into_iter().enumerate() {
        let tx = tx.finish();
        let rx = rx.finish();
        assert_eq!((tx.code, rx.code), (Some(0), Some(0)), "pair {i}: {}{}", tx.stderr, rx.stderr);
        assert!(rx.stdout == expected, "pair {i}: {:?}", String::from_utf8_lossy(&rx.stdout));
        if i == 0 {
            let s = check_progress_stderr(&tx.stderr, "sent", 0, tx.wall);
            assert_eq!((s.count, s.bytes), (10, 20), "{}", tx.stderr);
            let s = check_progress_stderr(&rx.stderr, "received", 1, rx.wall);
            assert_eq!((s.count, s.bytes), (10, 20), "{}", rx.stderr);
            assert!(tx.stderr.lines().count() >= 3, "two periodic lines and the summary: {}", tx.stderr);
        } else {
            assert_eq!(tx.stderr, "", "pair {i}");
            assert_eq!(rx.stderr, format!("fzmq: bound to {ep}\n"), "pair {i}");
        }
    }
}

#[test]
fn exit_status_and_error_message_are_unchanged_by_progress() {
    // A timeout still exits 2 with its message last, after the summary.
    let ep = ipc_endpoint();
    let rx = Proc::spawn(&["recv", "pull", "--bind", &ep, "--timeout-ms", "200", "--progress"]).finish();
    assert_eq!(rx.code, Some(2), "{}", rx.stderr);
    assert_eq!(rx.stderr, "fzmq: received 0 messages, 0 bytes\nfzmq: timed out after 200 ms waiting for a message\n");
    assert!(rx.stdout.is_empty());
    let _ = std::fs::remove_file(ep.trim_start_matches("ipc://"));

    let mut rx = Proc::spawn(&[
        "recv",
        "pull",
        "--bind",
        "tcp://127.0.0.1:0",
        "--count",
        "3",
        "--timeout-ms",
        "1000",
        "--progress",
    ]);
    let ep = rx.bound_endpoint();
    let mut tx = Proc::spawn(&["send", "push", "--connect", &ep, "--progress"]);
    let writer = tx.feed_and_close(b"one\ntwo\tframes\n".to_vec());
    let tx = tx.finish();
    writer.join().unwrap();
    let rx = rx.finish();
    assert_eq!(tx.code, Some(0), "{}", tx.stderr);
    assert_eq!(summary(tx.stderr.trim_end(), "sent").count, 2, "{}", tx.stderr);
    assert_eq!(rx.code, Some(2), "{}", rx.stderr);
    assert_eq!(rx.stdout, b"one\ntwo\tframes\n");
    // (A periodic line may come before the summary if this ran over a second.)
    let lines: Vec<&str> = rx.stderr.lines().filter(|l| periodic(l, "received").is_none()).collect();
    assert_eq!(lines.len(), 3, "{}", rx.stderr);
    let s = summary(lines[1], "received");
    assert_eq!((s.count, s.bytes), (2, 12), "{}", rx.stderr);
    assert_eq!(lines[2], "fzmq: timed out after 1000 ms waiting for a message");
}

#[test]
fn req_replies_on_standard_output_are_unchanged_by_progress() {
    let mut rep = Proc::spawn(&[
        "recv",
        "rep",
        "--bind",
        "tcp://127.0.0.1:0",
        "--echo",
        "--count",
        "3",
        "--timeout-ms",
        "30000",
        "--progress",
    ]);
    let ep = rep.bound_endpoint();
    let mut req = Proc::spawn(&["send", "req", "--connect", &ep, "--timeout-ms", "30000", "--progress"]);
    let writer = req.feed_and_close(b"a\nb\tc\nd\n".to_vec());
    let req = req.finish();
    writer.join().unwrap();
    let rep = rep.finish();
    assert_eq!(req.code, Some(0), "{}", req.stderr);
    assert_eq!(req.stdout, b"a\nb\tc\nd\n", "the replies, exactly");
    let s = summary(req.stderr.trim_end(), "sent");
    assert_eq!((s.count, s.bytes), (3, 4));
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert_eq!(rep.stdout, b"a\nb\tc\nd\n");
    let s = summary(rep.stderr.lines().last().unwrap(), "received");
    assert_eq!((s.count, s.bytes), (3, 4));
}

#[test]
fn help_documents_the_flags() {
    for sub in ["send", "recv"] {
        let f = Proc::spawn(&[sub, "--help"]).finish();
        assert_eq!(f.code, Some(0));
        let text = String::from_utf8_lossy(&f.stdout).into_owned();
        for needle in ["--progress", "--no-progress", "Progress:", "MB/s", "summary"] {
            assert!(text.contains(needle), "fzmq {sub} --help lacks {needle:?}:\n{text}");
        }
        assert!(
            text.lines().any(|l| l.contains(&format!("fzmq {sub} ")) && l.contains("--progress")),
            "no example with --progress in fzmq {sub} --help:\n{text}"
        );
    }
}
