//! `fzmq send`: one message per line of standard input, frames separated by TAB.

use crate::common::{abandon, describe, describe_io, open_socket, CliError, Direction, SocketArgs};
use clap::Args;
use ferrozmq::Context;
use std::io::BufRead;
use std::time::Duration;

/// Arguments of `fzmq send`.
#[derive(Args, Debug)]
#[command(
    override_usage = "fzmq send TYPE (--bind EP | --connect EP)... [-o NAME=VALUE]... [--delay-ms MS] [--count N]",
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
        error, 2 if SNDTIMEO (-o sndtimeo=MS) expired.",
    after_help = "Examples:\n  \
        printf 'hello\\nmulti\\tframe\\n' | fzmq send push --connect tcp://127.0.0.1:5555\n  \
        seq 100 | fzmq send pub --bind 'tcp://*:5556' --delay-ms 300\n  \
        yes tick | fzmq send push --connect ipc:///tmp/feed --count 10 -o sndhwm=100"
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
}

/// Runs `fzmq send`.
pub fn run(args: SendArgs) -> Result<(), CliError> {
    let ctx = Context::new();
    let socket = open_socket(&ctx, &args.socket, Direction::Send, |_| Ok(()), |_| Ok(()))?;
    if args.delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(args.delay_ms));
    }
    match pump(&socket, args.count) {
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

/// Reads standard input and sends each line.
fn pump(socket: &ferrozmq::Socket, count: Option<u64>) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(64 * 1024, stdin.lock());
    let mut line = Vec::with_capacity(256);
    let mut sent: u64 = 0;
    while count.map_or(true, |n| sent < n) {
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
        match socket.send_multipart(line.split(|&b| b == b'\t'), 0) {
            Ok(()) => sent += 1,
            Err(ferrozmq::Error::EAGAIN) => {
                let ms = socket.get_option("sndtimeo").unwrap_or_else(|_| "?".into());
                return Err(CliError::timeout(format!("timed out after {ms} ms sending message {}", sent + 1)));
            }
            Err(e) => {
                return Err(CliError::failure(format!("cannot send message {}: {}", sent + 1, describe(e))));
            }
        }
    }
    Ok(())
}
