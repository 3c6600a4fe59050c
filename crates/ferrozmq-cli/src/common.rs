//! What every subcommand that opens a socket shares: the socket arguments
//! (`TYPE`, `--bind`, `--connect`, `-o NAME=VALUE`), socket setup from them,
//! and the one error type with its exit code and one-line message.

use clap::Args;
use ferrozmq::options::{self, ids, OptionKind};
use ferrozmq::{Context, Socket, SocketType};
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

/// Exit status for usage and setup errors.
pub const EXIT_FAILURE: i32 = 1;
/// Exit status when a `--timeout-ms` (or RCVTIMEO/SNDTIMEO) expired.
pub const EXIT_TIMEOUT: i32 = 2;

/// A failure that ends the command: its exit code and its one-line message
/// (without the `fzmq: ` prefix, which `main` adds).
#[derive(Debug)]
pub struct CliError {
    /// Process exit status.
    pub code: i32,
    /// The message, one line, no prefix.
    pub message: String,
    /// For usage errors: the subcommand whose usage is printed after the message.
    pub usage_of: Option<&'static str>,
}

impl CliError {
    /// A setup or runtime failure (exit 1).
    pub fn failure(message: impl Into<String>) -> CliError {
        CliError { code: EXIT_FAILURE, message: message.into(), usage_of: None }
    }

    /// A misuse of a subcommand's arguments (exit 1, usage printed).
    pub fn usage(subcommand: &'static str, message: impl Into<String>) -> CliError {
        CliError { code: EXIT_FAILURE, message: message.into(), usage_of: Some(subcommand) }
    }

    /// A timeout (exit 2).
    pub fn timeout(message: impl Into<String>) -> CliError {
        CliError { code: EXIT_TIMEOUT, message: message.into(), usage_of: None }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// libzmq's strerror text with its first letter in lower case, to follow
/// "cannot bind X: " ("permission denied", "address already in use").
pub fn describe(e: ferrozmq::Error) -> String {
    lower_first(&e.to_string())
}

/// Same for an I/O error of the tool itself (standard input/output), without
/// Rust's " (os error N)" suffix.
pub fn describe_io(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    };
    lower_first(&text)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The socket part of `send` and `recv` (and later `proxy`, `perf`, `monitor`).
#[derive(Args, Debug)]
pub struct SocketArgs {
    /// Socket type (the list of types is filled in at run time by
    /// `type_help`, from what the library implements)
    #[arg(value_name = "TYPE", value_parser = parse_socket_type)]
    pub socket_type: SocketType,

    #[command(flatten)]
    pub endpoints: Endpoints,

    /// Set a socket option before binding/connecting, by libzmq's name in lower
    /// case without ZMQ_ (sndhwm=1000, linger=0, routing_id=abc, ...);
    /// repeatable, applied in order
    #[arg(short = 'o', long = "option", value_name = "NAME=VALUE", value_parser = name_value_parser())]
    pub options: Vec<(String, OsString)>,
}

/// At least one `--bind` or `--connect`.
#[derive(Args, Debug)]
#[group(required = true, multiple = true)]
pub struct Endpoints {
    /// Bind to an endpoint (tcp://127.0.0.1:5555, tcp://*:5555, ipc:///tmp/feed,
    /// ipc://@abstract); repeatable. A wildcard port (tcp://*:* or :0) is
    /// resolved and printed on standard error
    #[arg(long, value_name = "EP")]
    pub bind: Vec<String>,

    /// Connect to an endpoint; repeatable. Connections are made (and remade)
    /// in the background, so the peer may start later
    #[arg(long, value_name = "EP")]
    pub connect: Vec<String>,
}

fn parse_socket_type(s: &str) -> Result<SocketType, String> {
    s.parse::<SocketType>().map_err(|e| {
        let supported: Vec<String> = SocketType::ALL
            .iter()
            .filter(|t| ferrozmq::has_socket_type(**t))
            .map(|t| t.to_string().to_ascii_lowercase())
            .collect();
        format!("{e} (supported: {})", supported.join(", "))
    })
}

/// `-o NAME=VALUE`, with the value kept as raw bytes.
fn name_value_parser() -> impl clap::builder::TypedValueParser<Value = (String, OsString)> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().try_map(|s: OsString| parse_name_value(&s))
}

fn parse_name_value(s: &std::ffi::OsStr) -> Result<(String, OsString), String> {
    let bytes = s.as_bytes();
    let Some(eq) = bytes.iter().position(|&b| b == b'=') else {
        return Err(format!("expected NAME=VALUE, got '{}'", s.to_string_lossy()));
    };
    let name = std::str::from_utf8(&bytes[..eq])
        .map_err(|_| format!("option name '{}' is not valid text", s.to_string_lossy()))?;
    if name.is_empty() {
        return Err(format!("expected NAME=VALUE, got '{}'", s.to_string_lossy()));
    }
    let value = std::ffi::OsStr::from_bytes(&bytes[eq + 1..]).to_os_string();
    Ok((name.to_string(), value))
}

/// Which way messages flow through the socket a subcommand opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `fzmq send`.
    Send,
    /// `fzmq recv`.
    Recv,
}

fn can_send(t: SocketType) -> bool {
    !matches!(t, SocketType::Sub | SocketType::Pull | SocketType::Dish | SocketType::Gather)
}

fn can_recv(t: SocketType) -> bool {
    !matches!(t, SocketType::Pub | SocketType::Push | SocketType::Radio | SocketType::Scatter)
}

/// REQ and REP alternate sending and receiving: a REQ starts by sending
/// (`fzmq send req` prints each reply), a REP by receiving (`fzmq recv rep
/// --echo` answers each request). The other way round is refused, with the
/// command that works.
fn lockstep_misuse(t: SocketType, direction: Direction) -> Option<&'static str> {
    match (t, direction) {
        (SocketType::Req, Direction::Recv) => Some("fzmq send req"),
        (SocketType::Rep, Direction::Send) => Some("fzmq recv rep --echo"),
        _ => None,
    }
}

/// The help text of TYPE for a subcommand: the implemented types usable in
/// that direction.
pub fn type_help(direction: Direction) -> String {
    let usable: Vec<String> = SocketType::ALL
        .iter()
        .copied()
        .filter(|&t| ferrozmq::has_socket_type(t) && lockstep_misuse(t, direction).is_none())
        .filter(|&t| if direction == Direction::Send { can_send(t) } else { can_recv(t) })
        .map(|t| t.to_string().to_ascii_lowercase())
        .collect();
    let legacy = if direction == Direction::Send { "downstream = push" } else { "upstream = pull" };
    format!("Socket type, case-insensitive: {} (also the legacy name {legacy})", usable.join(", "))
}

/// Options that only some socket types take (as in libzmq): `Some(types)`
/// for those, `None` for options every type takes.
fn option_applies_to(id: i32) -> Option<&'static [SocketType]> {
    use SocketType::*;
    Some(match id {
        ids::SUBSCRIBE | ids::UNSUBSCRIBE => &[Sub],
        ids::XPUB_VERBOSE | ids::XPUB_VERBOSER | ids::XPUB_NODROP | ids::XPUB_MANUAL | ids::XPUB_WELCOME_MSG => &[XPub],
        ids::ROUTER_MANDATORY | ids::ROUTER_HANDOVER | ids::ROUTER_RAW => &[Router],
        ids::PROBE_ROUTER => &[Router, Dealer, Req],
        ids::REQ_CORRELATE | ids::REQ_RELAXED => &[Req],
        ids::STREAM_NOTIFY => &[Stream],
        ids::INVERT_MATCHING => &[Pub, XPub, Sub],
        _ => return None,
    })
}

/// Options that can only be read.
fn read_only(id: i32) -> bool {
    matches!(
        id,
        ids::TYPE | ids::RCVMORE | ids::FD | ids::EVENTS | ids::LAST_ENDPOINT | ids::MECHANISM | ids::THREAD_SAFE
    )
}

/// True if one of the `-o` options is `subscribe` (so the default
/// subscribe-to-everything of `recv sub` does not apply).
pub fn has_subscribe_option(args: &SocketArgs) -> bool {
    args.options.iter().any(|(name, _)| options::option_by_name(name).is_some_and(|(id, _)| id == ids::SUBSCRIBE))
}

/// Applies one `-o NAME=VALUE`.
fn apply_option(socket: &Socket, name: &str, value: &std::ffi::OsStr) -> Result<(), CliError> {
    let shown = value.to_string_lossy();
    let Some((id, kind)) = options::option_by_name(name) else {
        return Err(CliError::failure(format!("unknown socket option '{name}'")));
    };
    if read_only(id) {
        return Err(CliError::failure(format!("socket option '{name}' is read-only")));
    }
    let invalid = || CliError::failure(format!("invalid value '{shown}' for option '{name}'"));
    let raw = match kind {
        // Binary-safe: the argument's bytes as given.
        OptionKind::Bytes | OptionKind::String => value.as_bytes().to_vec(),
        _ => {
            let text = value.to_str().ok_or_else(invalid)?;
            options::encode_option_value(kind, text).map_err(|_| invalid())?
        }
    };
    match socket.set_option_raw(id, &raw) {
        Ok(()) => Ok(()),
        Err(ferrozmq::Error::EINVAL) => {
            let t = socket.socket_type();
            match option_applies_to(id) {
                Some(types) if !types.contains(&t) => {
                    Err(CliError::failure(format!("socket option '{name}' does not apply to {t} sockets")))
                }
                _ => Err(invalid()),
            }
        }
        Err(e) => Err(CliError::failure(format!("cannot set option '{name}': {}", describe(e)))),
    }
}

/// "cannot bind EP: reason", with a hint where libzmq's errno is terse.
fn endpoint_error(verb: &str, endpoint: &str, e: ferrozmq::Error) -> CliError {
    let hint = match e {
        ferrozmq::Error::EINVAL if endpoint.starts_with("tcp://[") => " (IPv6 addresses need -o ipv6=1)",
        _ => "",
    };
    CliError::failure(format!("cannot {verb} {endpoint}: {}{hint}", describe(e)))
}

fn is_wildcard(endpoint: &str) -> bool {
    endpoint == "ipc://*" || (endpoint.starts_with("tcp://") && (endpoint.ends_with(":*") || endpoint.ends_with(":0")))
}

/// Creates the socket described by `args` for `direction`, in this order:
/// type checks, `defaults` (the subcommand's own defaults, which `-o` may
/// override), the `-o` options in order, `before_endpoints` (e.g. the
/// subscriptions), then every `--bind`, then every `--connect`.
pub fn open_socket(
    ctx: &Context,
    args: &SocketArgs,
    direction: Direction,
    defaults: impl FnOnce(&Socket) -> Result<(), CliError>,
    before_endpoints: impl FnOnce(&Socket) -> Result<(), CliError>,
) -> Result<Socket, CliError> {
    let t = args.socket_type;
    let (subcommand, ok, other) = match direction {
        Direction::Send => ("send", can_send(t), "recv"),
        Direction::Recv => ("recv", can_recv(t), "send"),
    };
    if !ok {
        let verb = if direction == Direction::Send { "send" } else { "receive" };
        return Err(CliError::usage(
            subcommand,
            format!(
                "a {t} socket cannot {verb} messages (did you mean 'fzmq {other} {}'?)",
                t.to_string().to_lowercase()
            ),
        ));
    }
    if let Some(alt) = lockstep_misuse(t, direction) {
        return Err(CliError::usage(
            subcommand,
            format!("'fzmq {subcommand}' cannot use a {t} socket: {t} alternates sending and receiving (use '{alt}')"),
        ));
    }
    if !ferrozmq::has_socket_type(t) {
        return Err(CliError::failure(format!("socket type {t} is not supported yet")));
    }
    let socket = ctx.socket(t).map_err(|e| match e {
        ferrozmq::Error::EINVAL => CliError::failure(format!("socket type {t} is not supported yet")),
        e => CliError::failure(format!("cannot create a {t} socket: {}", describe(e))),
    })?;
    defaults(&socket)?;
    for (name, value) in &args.options {
        apply_option(&socket, name, value)?;
    }
    before_endpoints(&socket)?;
    for ep in &args.endpoints.bind {
        socket.bind(ep).map_err(|e| endpoint_error("bind", ep, e))?;
        if is_wildcard(ep) {
            if let Ok(resolved) = socket.last_endpoint() {
                let _ = writeln!(std::io::stderr(), "fzmq: bound to {resolved}");
            }
        }
    }
    for ep in &args.endpoints.connect {
        socket.connect(ep).map_err(|e| endpoint_error("connect", ep, e))?;
    }
    Ok(socket)
}

/// Makes dropping `socket` prompt: used on error paths so that a failure
/// never turns into an endless linger.
pub fn abandon(socket: Socket) {
    let _ = socket.set_linger(0);
    drop(socket);
}

/// Writes a socket's statistics (`--stats`) on standard error: the totals,
/// then one line per peer.
pub fn print_stats(socket: &ferrozmq::Socket) {
    let s = socket.stats();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "fzmq: stats: in {} msgs {} B, out {} msgs {} B, queued in {} out {}, dropped {}, reconnects {}, peers {}",
        s.msgs_in,
        s.bytes_in,
        s.msgs_out,
        s.bytes_out,
        s.queued_in,
        s.queued_out,
        s.dropped,
        s.reconnects,
        s.peers.len()
    );
    for p in &s.peers {
        let id = p.routing_id.as_ref().map(|r| format!(" id {}", String::from_utf8_lossy(r))).unwrap_or_default();
        let _ = writeln!(
            err,
            "fzmq: stats: peer {}{id}: in {} msgs {} B, out {} msgs {} B, queued in {} out {}, dropped {}, reconnects {}",
            p.endpoint, p.msgs_in, p.bytes_in, p.msgs_out, p.bytes_out, p.queued_in, p.queued_out, p.dropped, p.reconnects
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_first_letter() {
        assert_eq!(describe(ferrozmq::Error::EACCES), "permission denied");
        assert_eq!(describe(ferrozmq::Error::EADDRINUSE), "address already in use");
        assert_eq!(lower_first(""), "");
    }

    #[test]
    fn name_value() {
        let (n, v) = parse_name_value(std::ffi::OsStr::new("sndhwm=10")).unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("sndhwm", "10"));
        let (n, v) = parse_name_value(std::ffi::OsStr::new("subscribe=a=b")).unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("subscribe", "a=b"));
        let (_, v) = parse_name_value(std::ffi::OsStr::new("routing_id=")).unwrap();
        assert!(v.is_empty());
        assert!(parse_name_value(std::ffi::OsStr::new("sndhwm")).is_err());
        assert!(parse_name_value(std::ffi::OsStr::new("=1")).is_err());
    }

    #[test]
    fn wildcards() {
        assert!(is_wildcard("tcp://*:*"));
        assert!(is_wildcard("tcp://127.0.0.1:0"));
        assert!(is_wildcard("ipc://*"));
        assert!(!is_wildcard("tcp://127.0.0.1:5555"));
        assert!(!is_wildcard("ipc:///tmp/x:0"));
    }
}
