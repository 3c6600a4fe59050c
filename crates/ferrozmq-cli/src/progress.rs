//! Progress of `fzmq send` and `fzmq recv` on standard error: messages and
//! bytes so far with the current rate while running, and a one-line summary
//! at the end.
//!
//! The message loop only bumps two counters ([`Meter::record`]: plain
//! additions and two relaxed atomic stores, no clock, no system call); a
//! separate thread wakes up on its own schedule, reads them and draws:
//!
//! - [`Mode::Live`] (standard error is a terminal): one line redrawn in
//!   place at most 10 times a second, through `indicatif`, cleared at the end;
//! - [`Mode::Lines`] (forced with `--progress` when standard error is not a
//!   terminal, e.g. a log file or a test's pipe): a plain line (no escape
//!   sequence, no carriage return) at most once a second, only when the
//!   count moved.
//!
//! Both end with the summary line. Nothing is ever written to standard
//! output, which carries the messages.

use clap::Args;
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `--progress` / `--no-progress`, shared by `send` and `recv` (the last
/// one given wins).
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct ProgressArgs {
    /// Show progress on standard error (messages and bytes so far, current
    /// msg/s and MB/s) and a summary line at the end, even when standard
    /// error is not a terminal: then as plain lines, at most one a second.
    /// [default: on when standard error is a terminal and the messages are
    /// neither typed nor printed on a terminal]
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,

    /// Never show progress or the summary
    #[arg(long, overrides_with = "progress")]
    pub no_progress: bool,
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Not at all.
    Off,
    /// One line redrawn in place on the terminal.
    Live,
    /// Plain lines, at most one a second.
    Lines,
}

/// Interval of the live line (10 updates a second at most).
const LIVE_INTERVAL: Duration = Duration::from_millis(100);
/// Interval of the plain lines.
const LINES_INTERVAL: Duration = Duration::from_secs(1);
/// The live rate is measured over about this much of the recent past.
const LIVE_WINDOW: Duration = Duration::from_secs(1);

impl ProgressArgs {
    /// The mode for this process. `terminal_in_use`: the command's own
    /// input or output is on a terminal too (`recv` printing messages there,
    /// `send` read from the keyboard): a line redrawn in place would tear
    /// them (and erase what is being typed), so the default is off and
    /// `--progress` gives plain lines.
    pub fn mode(self, terminal_in_use: bool) -> Mode {
        let stderr_tty = std::io::stderr().is_terminal() && !dumb_terminal();
        resolve(self, stderr_tty, terminal_in_use)
    }
}

/// TERM=dumb: a terminal that cannot clear a line.
fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// The decision of [`ProgressArgs::mode`], from what it observed.
fn resolve(args: ProgressArgs, stderr_tty: bool, terminal_in_use: bool) -> Mode {
    let live_ok = stderr_tty && !terminal_in_use;
    if args.no_progress {
        Mode::Off
    } else if args.progress {
        if live_ok {
            Mode::Live
        } else {
            Mode::Lines
        }
    } else if live_ok {
        Mode::Live
    } else {
        Mode::Off
    }
}

/// The counters the message loop writes and the drawing thread reads.
struct Shared {
    count: AtomicU64,
    bytes: AtomicU64,
}

/// The drawing thread and the means to stop it.
struct Renderer {
    shared: Arc<Shared>,
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// Counts messages and bytes for one `send` or `recv`, and shows them
/// according to its [`Mode`].
pub struct Meter {
    verb: &'static str,
    count: u64,
    bytes: u64,
    first: Option<Instant>,
    renderer: Option<Renderer>,
}

impl Meter {
    /// Starts showing progress (`verb`: "sent" or "received"); with
    /// [`Mode::Off`] it only counts.
    pub fn start(mode: Mode, verb: &'static str) -> Meter {
        let renderer = (mode != Mode::Off).then(|| {
            let shared = Arc::new(Shared { count: AtomicU64::new(0), bytes: AtomicU64::new(0) });
            let (stop, stopped) = mpsc::channel();
            let for_thread = shared.clone();
            let thread = std::thread::Builder::new()
                .name("fzmq-progress".into())
                .spawn(move || draw(mode, verb, &for_thread, &stopped))
                .expect("spawn the progress thread");
            Renderer { shared, stop, thread }
        });
        Meter { verb, count: 0, bytes: 0, first: None, renderer }
    }

    /// One more message of `bytes` payload bytes (all frames). Cheap enough
    /// for the hot loop: no clock but at the first message, no system call.
    #[inline]
    pub fn record(&mut self, bytes: usize) {
        self.count += 1;
        self.bytes += bytes as u64;
        if let Some(r) = &self.renderer {
            if self.count == 1 {
                self.first = Some(Instant::now());
            }
            // One writer: plain stores, no read-modify-write.
            r.shared.count.store(self.count, Ordering::Relaxed);
            r.shared.bytes.store(self.bytes, Ordering::Relaxed);
        }
    }

    /// Stops the display (clearing the live line) and prints the summary.
    pub fn finish(self) {
        let Some(r) = self.renderer else { return };
        let end = Instant::now();
        drop(r.stop);
        let _ = r.thread.join();
        let elapsed = self.first.map(|t| end.saturating_duration_since(t));
        write_line(&summary_line(self.verb, self.count, self.bytes, elapsed));
    }
}

/// Writes one whole line to standard error in one write; errors (standard
/// error closed) are ignored: progress is never a reason to fail.
fn write_line(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The drawing thread: wakes up every interval until `stopped` says so.
fn draw(mode: Mode, verb: &'static str, shared: &Shared, stopped: &mpsc::Receiver<()>) {
    let interval = if mode == Mode::Live { LIVE_INTERVAL } else { LINES_INTERVAL };
    let bar = (mode == Mode::Live).then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr_with_hz(10));
        let style = indicatif::ProgressStyle::with_template("{spinner} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
            .tick_chars("|/-\\ ");
        bar.set_style(style);
        bar
    });
    let start = Instant::now();
    // Recent samples (time, count, bytes) for the live rate.
    let mut window: VecDeque<(Instant, u64, u64)> = VecDeque::from([(start, 0, 0)]);
    // The previous tick and the count last printed, for the plain lines.
    let mut last = (start, 0u64, 0u64);
    let mut printed = 0u64;
    let mut next = start + interval;
    // Until `finish` drops the sender (or sends).
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
        let now = Instant::now();
        next += interval;
        if next <= now {
            next = now + interval;
        }
        let count = shared.count.load(Ordering::Relaxed);
        let bytes = shared.bytes.load(Ordering::Relaxed);
        if let Some(bar) = &bar {
            window.push_back((now, count, bytes));
            while window.len() > 2 && now.duration_since(window[1].0) >= LIVE_WINDOW {
                window.pop_front();
            }
            let (t0, c0, b0) = window[0];
            let (msg_rate, byte_rate) = rates(count - c0, bytes - b0, now.duration_since(t0));
            bar.set_message(status_line(verb, count, &human_bytes(bytes), msg_rate, byte_rate));
            bar.tick();
        } else {
            let (t0, c0, b0) = last;
            if count != printed {
                let (msg_rate, byte_rate) = rates(count - c0, bytes - b0, now.duration_since(t0));
                let line = status_line(verb, count, &format!("{bytes} bytes"), msg_rate, byte_rate);
                write_line(&format!("fzmq: {line}"));
                printed = count;
            }
            last = (now, count, bytes);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// Messages and bytes per second over `elapsed`.
fn rates(count: u64, bytes: u64, elapsed: Duration) -> (f64, f64) {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return (0.0, 0.0);
    }
    (count as f64 / secs, bytes as f64 / secs)
}

fn messages(count: u64) -> String {
    if count == 1 {
        "1 message".to_string()
    } else {
        format!("{count} messages")
    }
}

/// "received 1200 messages, 8.4 kB: 950 msg/s, 0.01 MB/s".
fn status_line(verb: &str, count: u64, bytes: &str, msg_rate: f64, byte_rate: f64) -> String {
    format!("{verb} {}, {bytes}: {msg_rate:.0} msg/s, {:.2} MB/s", messages(count), byte_rate / 1e6)
}

/// "fzmq: received 200000 messages, 1288890 bytes in 1.53 s: 130718 msg/s,
/// 0.84 MB/s". `elapsed` runs from the first message to the end; without
/// at least two messages there is no rate.
fn summary_line(verb: &str, count: u64, bytes: u64, elapsed: Option<Duration>) -> String {
    let head = format!("fzmq: {verb} {}, {bytes} bytes", messages(count));
    match elapsed {
        Some(e) if count >= 2 && !e.is_zero() => {
            let (msg_rate, byte_rate) = rates(count, bytes, e);
            format!("{head} in {}: {msg_rate:.0} msg/s, {:.2} MB/s", human_duration(e), byte_rate / 1e6)
        }
        _ => head,
    }
}

/// Decimal units, 3 significant digits: "512 B", "8.40 kB", "12.3 MB".
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        // (999.5 kB would print as "1000 kB": that is 1.00 MB.)
        if value < 999.5 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// "0.042 s", "1.53 s", "2 min 05 s", "1 h 02 min 05 s".
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{secs:.3} s")
    } else if secs < 60.0 {
        format!("{secs:.2} s")
    } else {
        let total = d.as_secs();
        let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
        if h > 0 {
            format!("{h} h {m:02} min {s:02} s")
        } else {
            format!("{m} min {s:02} s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(progress: bool, no_progress: bool) -> ProgressArgs {
        ProgressArgs { progress, no_progress }
    }

    #[test]
    fn mode_resolution() {
        // Default: live on a terminal only, and not over messages printed or typed there.
        assert_eq!(resolve(args(false, false), true, false), Mode::Live);
        assert_eq!(resolve(args(false, false), true, true), Mode::Off);
        assert_eq!(resolve(args(false, false), false, false), Mode::Off);
        // --progress: live where it can be, plain lines elsewhere.
        assert_eq!(resolve(args(true, false), true, false), Mode::Live);
        assert_eq!(resolve(args(true, false), true, true), Mode::Lines);
        assert_eq!(resolve(args(true, false), false, false), Mode::Lines);
        // --no-progress: never.
        for (tty, msgs) in [(true, false), (true, true), (false, false)] {
            assert_eq!(resolve(args(false, true), tty, msgs), Mode::Off);
        }
    }

    #[test]
    fn lines() {
        assert_eq!(
            status_line("received", 1200, "8.40 kB", 950.4, 12_345.0),
            "received 1200 messages, 8.40 kB: 950 msg/s, 0.01 MB/s"
        );
        assert_eq!(
            summary_line("received", 200_000, 1_288_890, Some(Duration::from_millis(1530))),
            "fzmq: received 200000 messages, 1288890 bytes in 1.53 s: 130719 msg/s, 0.84 MB/s"
        );
        assert_eq!(summary_line("sent", 0, 0, None), "fzmq: sent 0 messages, 0 bytes");
        assert_eq!(summary_line("sent", 1, 5, Some(Duration::ZERO)), "fzmq: sent 1 message, 5 bytes");
        assert_eq!(
            summary_line("sent", 2, 10, Some(Duration::from_millis(5))),
            "fzmq: sent 2 messages, 10 bytes in 0.005 s: 400 msg/s, 0.00 MB/s"
        );
    }

    #[test]
    fn units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(999_999), "1.00 MB");
        assert_eq!(human_bytes(8_400), "8.40 kB");
        assert_eq!(human_bytes(12_345_678), "12.3 MB");
        assert_eq!(human_bytes(456_000_000_000), "456 GB");
        assert_eq!(human_duration(Duration::from_millis(42)), "0.042 s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2 min 05 s");
        assert_eq!(human_duration(Duration::from_secs(3725)), "1 h 02 min 05 s");
    }

    #[test]
    fn meter_counts_without_display() {
        let mut m = Meter::start(Mode::Off, "sent");
        m.record(3);
        m.record(0);
        assert_eq!((m.count, m.bytes), (2, 3));
        assert!(m.first.is_none(), "no clock read when off");
        m.finish();
    }
}
