//! `fzmq recv`: print one line per message, frames joined by TAB.

use crate::common::{abandon, describe, describe_io, open_socket, CliError, Direction, SocketArgs};
use crate::progress::{Meter, ProgressArgs};
use clap::Args;
use ferrozmq::{Context, Msg, Socket, SocketType, DONTWAIT};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;

/// Arguments of `fzmq recv`.
#[derive(Args, Debug)]
#[command(
    override_usage = "fzmq recv TYPE (--bind EP | --connect EP)... [-o NAME=VALUE]... [--subscribe PREFIX]... [--count N] [--timeout-ms MS] [--progress | --no-progress]",
    about = "Print each message received as one line",
    long_about = "Print each message received as one line.\n\n\
        The frames of a message are written as raw bytes (binary-safe), joined by \
        a TAB and ended by a newline. Standard output is flushed after every \
        message when it is a terminal; otherwise it is buffered while messages \
        keep arriving and flushed whenever the socket has nothing more to read, \
        and at exit.\n\n\
        A SUB socket given no --subscribe (and no -o subscribe=...) subscribes to \
        everything (the empty prefix). An XSUB socket sends its subscriptions as \
        subscribe messages, with the same default.\n\n\
        Exit status: 0 after --count messages (without --count, fzmq receives \
        until it is interrupted); 1 on a usage or setup error; 2 when \
        --timeout-ms (or -o rcvtimeo=MS) expired waiting for a message.\n\n\
        Progress: when standard error is a terminal and standard output is not \
        (the messages go to a file or a pipe), a line on standard error shows \
        the messages and bytes received so far (bytes: the frames' contents, \
        without the TABs and newlines) and the current rate in msg/s and MB/s, \
        updated up to 10 times a second; when receiving ends (--count reached, \
        timeout, error) it is replaced by a summary (count, bytes, time since \
        the first message, average rate; an interrupt such as Ctrl-C ends \
        fzmq without one). --progress shows them in any case: \
        as plain lines (at most one a second, then the summary) when standard \
        error is not a terminal or when the messages are printed on the \
        terminal too; --no-progress never shows them. Progress never goes to \
        standard output and does not change the exit status.",
    after_help = "Examples:\n  \
        fzmq recv pull --bind tcp://127.0.0.1:5555\n  \
        fzmq recv sub --connect tcp://127.0.0.1:5556 --subscribe weather. --subscribe news.\n  \
        fzmq recv pull --bind ipc:///tmp/feed --count 1 --timeout-ms 5000\n  \
        fzmq recv rep --bind tcp://127.0.0.1:5555 --echo\n  \
        fzmq recv pull --bind tcp://127.0.0.1:5555 --count 1000000 > messages.txt   # progress on the terminal\n  \
        fzmq recv pull --bind tcp://127.0.0.1:5555 --progress > messages.txt 2> recv.log\n  \
        fzmq recv sub --connect tcp://127.0.0.1:5556 --count 1000 --stats   # per-peer counts at exit"
)]
pub struct RecvArgs {
    #[command(flatten)]
    pub socket: SocketArgs,

    /// Receive only messages whose first frame starts with PREFIX (SUB and XSUB
    /// only; repeatable; default: everything)
    #[arg(long, value_name = "PREFIX")]
    pub subscribe: Vec<OsString>,

    /// Exit (status 0) after receiving N messages
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Wait at most MS milliseconds for each message; on expiry exit with status 2
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(i32).range(0..))]
    pub timeout_ms: Option<i32>,

    /// Answer each message with itself (REP: the reply; ROUTER: back to the
    /// sender; DEALER and PAIR: back to the peer). Required for REP.
    #[arg(long)]
    pub echo: bool,

    #[command(flatten)]
    pub progress: ProgressArgs,

    /// At exit, print the socket's statistics on standard error: messages
    /// and bytes in and out, queued, dropped at the HWM and reconnects, in
    /// total and per peer
    #[arg(long)]
    pub stats: bool,
}

/// Runs `fzmq recv`.
pub fn run(args: RecvArgs) -> Result<(), CliError> {
    let t = args.socket.socket_type;
    let subscribes = matches!(t, SocketType::Sub | SocketType::XSub);
    if !args.subscribe.is_empty() && !subscribes {
        return Err(CliError::usage("recv", format!("--subscribe applies only to SUB and XSUB sockets, not {t}")));
    }
    let mut prefixes: Vec<Vec<u8>> = args.subscribe.iter().map(|p| p.as_bytes().to_vec()).collect();
    if subscribes && prefixes.is_empty() && !crate::common::has_subscribe_option(&args.socket) {
        prefixes.push(Vec::new());
    }

    let echoes = matches!(t, SocketType::Rep | SocketType::Router | SocketType::Dealer | SocketType::Pair);
    if args.echo && !echoes {
        return Err(CliError::usage("recv", format!("--echo applies to REP, ROUTER, DEALER and PAIR sockets, not {t}")));
    }
    if t == SocketType::Rep && !args.echo {
        return Err(CliError::usage("recv", "a REP socket must answer every request: use --echo"));
    }

    let ctx = Context::new();
    let socket = open_socket(
        &ctx,
        &args.socket,
        Direction::Recv,
        // Nothing this command sends upstream (subscriptions) is worth
        // waiting for at exit; -o linger=... still overrides.
        // (With --echo the replies are worth delivering: default linger.)
        |s| {
            if args.echo {
                return Ok(());
            }
            s.set_linger(0).map_err(|e| CliError::failure(format!("cannot set linger: {}", describe(e))))
        },
        |s| {
            if let Some(ms) = args.timeout_ms {
                s.set_rcvtimeo(ms)
                    .map_err(|e| CliError::failure(format!("cannot set the timeout: {}", describe(e))))?;
            }
            subscribe(s, t, &prefixes)
        },
    )?;
    // Messages printed on the terminal would be torn by a live line.
    let meter = Meter::start(args.progress.mode(std::io::stdout().is_terminal()), "received");
    let result = receive(&socket, args.count, args.timeout_ms, args.echo, meter);
    if args.stats {
        crate::common::print_stats(&socket);
    }
    if args.echo && result.is_ok() {
        // Deliver the last echoes (LINGER as configured, default -1).
        drop(socket);
    } else {
        abandon(socket);
    }
    drop(ctx);
    result
}

fn subscribe(socket: &Socket, t: SocketType, prefixes: &[Vec<u8>]) -> Result<(), CliError> {
    for p in prefixes {
        let r = if t == SocketType::XSub {
            let mut m = Vec::with_capacity(p.len() + 1);
            m.push(1u8);
            m.extend_from_slice(p);
            socket.send(m, 0)
        } else {
            socket.set_subscribe(p)
        };
        r.map_err(|e| {
            CliError::failure(format!("cannot subscribe to '{}': {}", String::from_utf8_lossy(p), describe(e)))
        })?;
    }
    Ok(())
}

/// Where messages are printed: flushed per message on a terminal, buffered
/// otherwise.
struct Output {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    interactive: bool,
}

impl Output {
    fn new() -> Output {
        let stdout = std::io::stdout();
        let interactive = stdout.is_terminal();
        Output { out: std::io::BufWriter::with_capacity(64 * 1024, stdout.lock()), interactive }
    }

    fn write_message(&mut self, frames: &[Msg]) -> std::io::Result<()> {
        for (i, f) in frames.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b"\t")?;
            }
            self.out.write_all(f)?;
        }
        self.out.write_all(b"\n")?;
        if self.interactive {
            self.out.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// What ends the receive loop early.
enum Stop {
    /// Standard output is closed (`fzmq recv ... | head`): stop quietly.
    OutputClosed,
    Error(CliError),
}

fn output_error(e: std::io::Error) -> Stop {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Stop::OutputClosed
    } else {
        Stop::Error(CliError::failure(format!("cannot write to standard output: {}", describe_io(&e))))
    }
}

fn receive(
    socket: &Socket,
    count: Option<u64>,
    timeout_ms: Option<i32>,
    echo: bool,
    mut meter: Meter,
) -> Result<(), CliError> {
    let mut out = Output::new();
    let result = receive_loop(socket, &mut out, count, timeout_ms, echo, &mut meter);
    let flushed = out.flush().map_err(output_error);
    // The summary, before any error message.
    meter.finish();
    match result.and(flushed) {
        Ok(()) | Err(Stop::OutputClosed) => Ok(()),
        Err(Stop::Error(e)) => Err(e),
    }
}

fn receive_loop(
    socket: &Socket,
    out: &mut Output,
    count: Option<u64>,
    timeout_ms: Option<i32>,
    echo: bool,
    meter: &mut Meter,
) -> Result<(), Stop> {
    let mut received: u64 = 0;
    while count.is_none_or(|n| received < n) {
        // Take what is already here without blocking; flush before waiting,
        // so buffered output is never held back while the socket is idle.
        let frames = match socket.recv_multipart(DONTWAIT) {
            Ok(f) => f,
            Err(ferrozmq::Error::EAGAIN) => {
                out.flush().map_err(output_error)?;
                match socket.recv_multipart(0) {
                    Ok(f) => f,
                    Err(ferrozmq::Error::EAGAIN) => {
                        let ms = match timeout_ms {
                            Some(ms) => ms.to_string(),
                            None => socket.get_option("rcvtimeo").unwrap_or_else(|_| "?".into()),
                        };
                        return Err(Stop::Error(CliError::timeout(format!(
                            "timed out after {ms} ms waiting for a message"
                        ))));
                    }
                    Err(e) => return Err(Stop::Error(receive_error(e))),
                }
            }
            Err(e) => return Err(Stop::Error(receive_error(e))),
        };
        out.write_message(&frames).map_err(output_error)?;
        meter.record(frames.iter().map(|f| f.len()).sum());
        if echo {
            // ROUTER: the first frame (the sender's id) routes the echo back.
            socket
                .send_multipart(frames, 0)
                .map_err(|e| Stop::Error(CliError::failure(format!("cannot send the echo: {}", describe(e)))))?;
        }
        received += 1;
    }
    Ok(())
}

fn receive_error(e: ferrozmq::Error) -> CliError {
    CliError::failure(format!("cannot receive: {}", describe(e)))
}
