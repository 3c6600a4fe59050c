//! `fzmq send`: one message per line of standard input, frames separated by TAB.

use crate::common::{abandon, describe, describe_io, open_socket, CliError, Direction, SocketArgs};
use crate::progress::{Meter, ProgressArgs};
use clap::Args;
use ferrozmq::Context;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

/// Arguments of `fzmq send`.
#[derive(Args, Debug)]
#[command(
    override_usage = "fzmq send TYPE (--bind EP | --connect EP)... [-o NAME=VALUE]... [--delay-ms MS] [--count N] [--progress | --no-progress]",
    about = "Send each line of standard input as one message",
    long_about = "Send each line of standard input as one message.\n\n\
        Standard input is read as bytes: every line (up to a newline, which is \
        not sent) is one message, and a TAB separates the frames of a message, \
        so \"a<TAB>b\" is a 2-frame message and an empty line is a message of one \
        empty frame. A last line without a newline is sent too. Nothing else is \
        changed: a carriage return before the newline stays in the frame.\n\n\
        fzmq exits with status 0 once standard input has ended and every message \
        has been delivered (the socket lingers until then, LINGER = -1 by default; \
        use -o linger=MS to bound the wait). Exit status 1 on a usage or setup \
        error, 2 if SNDTIMEO (-o sndtimeo=MS) expired.\n\n\
        Progress: when standard error is a terminal and standard input is not \
        (the lines come from a file or a pipe), a line on standard error shows \
        the messages and bytes sent so far (bytes: the frames' contents, without \
        the TABs and newlines) and the current rate in msg/s and MB/s, updated \
        up to 10 times a second; when sending ends it is replaced by a summary \
        (count, bytes, time since the first message, average rate). \
        --progress shows them in any case: as plain lines (at most one a \
        second, then the summary), fit for a log, when standard error is not \
        a terminal, when the lines are typed on the terminal or when a REQ's \
        replies are printed there; \
        --no-progress never shows them. Progress never goes to standard output \
        and does not change the exit status.",
    after_help = "Examples:\n  \
        printf 'hello\\nmulti\\tframe\\n' | fzmq send push --connect tcp://127.0.0.1:5555\n  \
        seq 100 | fzmq send pub --bind 'tcp://*:5556' --delay-ms 300\n  \
        yes tick | fzmq send push --connect ipc:///tmp/feed --count 10 -o sndhwm=100\n  \
        echo ping | fzmq send req --connect tcp://127.0.0.1:5555   # prints the reply\n  \
        seq 1000000 | fzmq send push --connect tcp://127.0.0.1:5555 --progress 2>send.log\n  \
        seq 1000000 | fzmq send push --connect tcp://127.0.0.1:5555 --no-progress   # quiet on a terminal too\n  \
        seq 1000 | fzmq send pub --bind 'tcp://*:5556' --delay-ms 300 --stats   # drops per subscriber\n\n\
        A REQ socket sends one line, then prints the reply (frames joined by TAB) \
        before sending the next."
)]
pub struct SendArgs {
    #[command(flatten)]
    pub socket: SocketArgs,

    /// Wait this long after binding/connecting before the first message (e.g.
    /// so that a PUB's subscribers have time to connect and subscribe)
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay_ms: u64,

    /// Send only the first N lines, then stop reading standard input
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// REQ only: wait at most MS milliseconds for each reply; on expiry exit
    /// with status 2
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(i32).range(0..))]
    pub timeout_ms: Option<i32>,

    #[command(flatten)]
    pub progress: ProgressArgs,

    /// At exit, print the socket's statistics on standard error: messages
    /// and bytes in and out, queued, dropped at the HWM and reconnects, in
    /// total and per peer
    #[arg(long)]
    pub stats: bool,
}

/// Runs `fzmq send`.
pub fn run(args: SendArgs) -> Result<(), CliError> {
    let ctx = Context::new();
    let is_req = args.socket.socket_type == ferrozmq::SocketType::Req;
    if args.timeout_ms.is_some() && !is_req {
        return Err(CliError::usage("send", "--timeout-ms applies only to REQ sockets (waiting for replies)"));
    }
    let socket = open_socket(&ctx, &args.socket, Direction::Send, |_| Ok(()), |s| {
        if let Some(ms) = args.timeout_ms {
            s.set_rcvtimeo(ms).map_err(|e| CliError::failure(format!("cannot set the timeout: {}", describe(e))))?;
        }
        Ok(())
    })?;
    if args.delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(args.delay_ms));
    }
    // Lines typed on the keyboard, or a REQ's replies printed on the
    // terminal, would be torn by a live line.
    let terminal_in_use = std::io::stdin().is_terminal() || (is_req && std::io::stdout().is_terminal());
    let mut meter = Meter::start(args.progress.mode(terminal_in_use), "sent");
    let result = pump(&socket, args.count, is_req.then_some(args.timeout_ms), &mut meter);
    // The summary comes before the linger (the wait for delivery), and
    // before any error message.
    meter.finish();
    if args.stats {
        crate::common::print_stats(&socket);
    }
    match result {
        Ok(()) => {
            // Linger: dropping the socket, then the context, delivers
            // everything still queued (up to LINGER).
            drop(socket);
            drop(ctx);
            Ok(())
        }
        Err(e) => {
            abandon(socket);
            Err(e)
        }
    }
}

/// Reads standard input and sends each line; with `replies` (REQ), waits for
/// and prints the reply to each (the inner option is the reply timeout).
fn pump(
    socket: &ferrozmq::Socket,
    count: Option<u64>,
    replies: Option<Option<i32>>,
    meter: &mut Meter,
) -> Result<(), CliError> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(64 * 1024, stdin.lock());
    let mut line = Vec::with_capacity(256);
    let mut sent: u64 = 0;
    while count.is_none_or(|n| sent < n) {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::failure(format!("cannot read standard input: {}", describe_io(&e))))?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let mut bytes = 0;
        match socket.send_multipart(line.split(|&b| b == b'\t').inspect(|f| bytes += f.len()), 0) {
            Ok(()) => {
                sent += 1;
                meter.record(bytes);
                if let Some(timeout) = replies {
                    print_reply(socket, &mut out, timeout)?;
                }
            }
            Err(ferrozmq::Error::EAGAIN) => {
                let ms = socket.get_option("sndtimeo").unwrap_or_else(|_| "?".into());
                return Err(CliError::timeout(format!("timed out after {ms} ms sending message {}", sent + 1)));
            }
            Err(e) => {
                return Err(CliError::failure(format!("cannot send message {}: {}", sent + 1, describe(e))));
            }
        }
    }
    out.flush().map_err(|e| CliError::failure(format!("cannot write to standard output: {}", describe_io(&e))))?;
    Ok(())
}

/// Waits for a REQ's reply and prints it as one line.
fn print_reply(socket: &ferrozmq::Socket, out: &mut impl Write, timeout: Option<i32>) -> Result<(), CliError> {
    let frames = socket.recv_multipart(0).map_err(|e| match e {
        ferrozmq::Error::EAGAIN => {
            CliError::timeout(format!("timed out after {} ms waiting for a reply", timeout.unwrap_or(-1)))
        }
        e => CliError::failure(format!("cannot receive the reply: {}", describe(e))),
    })?;
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        for (i, f) in frames.iter().enumerate() {
            if i > 0 {
                out.write_all(b"\t")?;
            }
            out.write_all(f)?;
        }
        out.write_all(b"\n")?;
        out.flush()
    };
    write(out).map_err(|e| CliError::failure(format!("cannot write to standard output: {}", describe_io(&e))))
}
