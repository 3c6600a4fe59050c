//! `fzmq monitor`: open a socket on some endpoints and print its monitor
//! events (connections, handshakes, disconnections, retries) as they happen —
//! a quick way to see whether, and how, a ZeroMQ peer can be reached.

use crate::common::{describe, CliError, Endpoints};
use clap::Args;
use ferrozmq::monitor::{EventKind, EVENT_ALL};
use ferrozmq::{Context, SocketType};
use std::io::Write;
use std::time::Instant;

/// Arguments of `fzmq monitor`.
#[derive(Args, Debug)]
#[command(
    about = "Print a socket's connection events as they happen",
    long_about = "Print a socket's connection events as they happen.\n\n\
        Opens a socket of TYPE (default DEALER, which any ROUTER/REP/DEALER peer \
        accepts; use the type your peer expects, e.g. sub for a PUB), binds and \
        connects it, and prints one line per monitor event: seconds since start, \
        the event name as libzmq names it, its value (fd, errno, interval or \
        protocol error code) and the endpoint. Exits 0 after --count events, 2 \
        after --timeout-ms without an event.",
    after_help = "Examples:\n  \
        fzmq monitor --connect tcp://127.0.0.1:5555\n  \
        fzmq monitor --type sub --connect tcp://10.0.0.1:5556 --count 3"
)]
pub struct MonitorArgs {
    /// Socket type to open
    #[arg(long = "type", value_name = "TYPE", default_value = "dealer")]
    pub socket_type: SocketType,
    #[command(flatten)]
    pub endpoints: Endpoints,
    /// Exit after N events
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Exit with status 2 when no event arrives for MS milliseconds
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(i32).range(0..))]
    pub timeout_ms: Option<i32>,
}

/// libzmq's name for an event.
pub fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Connected => "CONNECTED",
        EventKind::ConnectDelayed => "CONNECT_DELAYED",
        EventKind::ConnectRetried => "CONNECT_RETRIED",
        EventKind::Listening => "LISTENING",
        EventKind::BindFailed => "BIND_FAILED",
        EventKind::Accepted => "ACCEPTED",
        EventKind::AcceptFailed => "ACCEPT_FAILED",
        EventKind::Closed => "CLOSED",
        EventKind::CloseFailed => "CLOSE_FAILED",
        EventKind::Disconnected => "DISCONNECTED",
        EventKind::MonitorStopped => "MONITOR_STOPPED",
        EventKind::HandshakeFailedNoDetail => "HANDSHAKE_FAILED_NO_DETAIL",
        EventKind::HandshakeSucceeded => "HANDSHAKE_SUCCEEDED",
        EventKind::HandshakeFailedProtocol => "HANDSHAKE_FAILED_PROTOCOL",
        EventKind::HandshakeFailedAuth => "HANDSHAKE_FAILED_AUTH",
    }
}

/// Runs `fzmq monitor`.
pub fn run(args: MonitorArgs) -> Result<(), CliError> {
    let ctx = Context::new();
    let s = ctx
        .socket(args.socket_type)
        .map_err(|e| CliError::failure(format!("cannot create a {} socket: {}", args.socket_type, describe(e))))?;
    let events = s.monitor_events(EVENT_ALL).map_err(|e| CliError::failure(format!("cannot monitor: {}", describe(e))))?;
    let start = Instant::now();
    for ep in &args.endpoints.bind {
        // A failed bind is itself an event worth printing (BIND_FAILED).
        let _ = s.bind(ep);
    }
    for ep in &args.endpoints.connect {
        s.connect(ep).map_err(|e| CliError::failure(format!("cannot connect {ep}: {}", describe(e))))?;
    }
    let mut out = std::io::stdout().lock();
    let mut seen = 0u64;
    while args.count.is_none_or(|n| seen < n) {
        let e = match events.next_event(args.timeout_ms.unwrap_or(-1)) {
            Ok(e) => e,
            Err(ferrozmq::Error::EAGAIN) => {
                let _ = s.set_linger(0);
                return Err(CliError::timeout(format!(
                    "no event for {} ms",
                    args.timeout_ms.unwrap_or(-1)
                )));
            }
            Err(e) => return Err(CliError::failure(format!("cannot read events: {}", describe(e)))),
        };
        let line = format!("{:.3} {} {} {}\n", start.elapsed().as_secs_f64(), event_name(e.kind), e.value, e.endpoint);
        if out.write_all(line.as_bytes()).and_then(|_| out.flush()).is_err() {
            break;
        }
        seen += 1;
    }
    let _ = s.set_linger(0);
    Ok(())
}
