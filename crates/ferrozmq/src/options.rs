//! Socket options: libzmq's numbers, names, types and defaults
//! (reference §3, `src/options.cpp` defaults), in one table so that the typed
//! Rust setters, the by-name form of the CLI and the by-number form of the C
//! ABI all go through the same validation.

use crate::error::{Error, Result};
use bytes::Bytes;

/// How an option's value is encoded on the C ABI.
///
/// ```
/// use ferrozmq::options::{option_by_name, OptionKind};
/// let (id, kind) = option_by_name("sndhwm").unwrap();
/// assert_eq!(id, 23); // ZMQ_SNDHWM
/// assert_eq!(kind, OptionKind::Int);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// `int` (4 bytes, host order); the CLI takes a decimal number.
    Int,
    /// `int` used as a boolean; the CLI also takes true/false/yes/no/on/off.
    Bool,
    /// `int64_t`.
    Int64,
    /// `uint64_t`.
    Uint64,
    /// Binary data.
    Bytes,
    /// A string (NUL-terminated on get in the C ABI).
    String,
}

macro_rules! option_ids {
    ($( $name:ident = $num:expr, $kind:ident; )*) => {
        /// libzmq's socket option numbers.
        #[allow(missing_docs)]
        pub mod ids {
            $( pub const $name: i32 = $num; )*
        }

        /// Every option this library knows: (lower-case name without `ZMQ_`, number, kind).
        pub const OPTION_TABLE: &[(&str, i32, OptionKind)] = &[
            $( (option_name(stringify!($name)), $num, OptionKind::$kind), )*
        ];
    };
}

const fn option_name(s: &'static str) -> &'static str {
    s
}

option_ids! {
    AFFINITY = 4, Uint64;
    ROUTING_ID = 5, Bytes;
    SUBSCRIBE = 6, Bytes;
    UNSUBSCRIBE = 7, Bytes;
    RATE = 8, Int;
    RECOVERY_IVL = 9, Int;
    SNDBUF = 11, Int;
    RCVBUF = 12, Int;
    RCVMORE = 13, Bool;
    FD = 14, Int;
    EVENTS = 15, Int;
    TYPE = 16, Int;
    LINGER = 17, Int;
    RECONNECT_IVL = 18, Int;
    BACKLOG = 19, Int;
    RECONNECT_IVL_MAX = 21, Int;
    MAXMSGSIZE = 22, Int64;
    SNDHWM = 23, Int;
    RCVHWM = 24, Int;
    MULTICAST_HOPS = 25, Int;
    RCVTIMEO = 27, Int;
    SNDTIMEO = 28, Int;
    IPV4ONLY = 31, Bool;
    LAST_ENDPOINT = 32, String;
    ROUTER_MANDATORY = 33, Bool;
    TCP_KEEPALIVE = 34, Int;
    TCP_KEEPALIVE_CNT = 35, Int;
    TCP_KEEPALIVE_IDLE = 36, Int;
    TCP_KEEPALIVE_INTVL = 37, Int;
    IMMEDIATE = 39, Bool;
    XPUB_VERBOSE = 40, Bool;
    ROUTER_RAW = 41, Bool;
    IPV6 = 42, Bool;
    MECHANISM = 43, Int;
    PLAIN_SERVER = 44, Bool;
    PLAIN_USERNAME = 45, String;
    PLAIN_PASSWORD = 46, String;
    CURVE_SERVER = 47, Bool;
    CURVE_PUBLICKEY = 48, Bytes;
    CURVE_SECRETKEY = 49, Bytes;
    CURVE_SERVERKEY = 50, Bytes;
    PROBE_ROUTER = 51, Bool;
    REQ_CORRELATE = 52, Bool;
    REQ_RELAXED = 53, Bool;
    CONFLATE = 54, Bool;
    ZAP_DOMAIN = 55, String;
    ROUTER_HANDOVER = 56, Bool;
    TOS = 57, Int;
    CONNECT_ROUTING_ID = 61, Bytes;
    HANDSHAKE_IVL = 66, Int;
    XPUB_NODROP = 69, Bool;
    XPUB_MANUAL = 71, Bool;
    XPUB_WELCOME_MSG = 72, Bytes;
    STREAM_NOTIFY = 73, Bool;
    INVERT_MATCHING = 74, Bool;
    HEARTBEAT_IVL = 75, Int;
    HEARTBEAT_TTL = 76, Int;
    HEARTBEAT_TIMEOUT = 77, Int;
    XPUB_VERBOSER = 78, Bool;
    CONNECT_TIMEOUT = 79, Int;
    TCP_MAXRT = 80, Int;
    THREAD_SAFE = 81, Bool;
    MULTICAST_MAXTPDU = 84, Int;
    BINDTODEVICE = 92, String;
    USE_FD = 89, Int;
    SOCKS_PROXY = 68, String;
    SOCKS_USERNAME = 99, String;
    SOCKS_PASSWORD = 100, String;
    ROUTER_NOTIFY = 97, Int;
    RECONNECT_STOP = 109, Int;
    TOPICS_COUNT = 116, Int;
    HELLO_MSG = 110, Bytes;
    DISCONNECT_MSG = 111, Bytes;
    ZAP_ENFORCE_DOMAIN = 93, Bool;
    LOOPBACK_FASTPATH = 94, Bool;
    METADATA = 95, String;
    MULTICAST_LOOP = 96, Bool;
    IN_BATCH_SIZE = 101, Int;
    OUT_BATCH_SIZE = 102, Int;
    PRIORITY = 112, Int;
    BUSY_POLL = 113, Int;
}

/// Aliases accepted by name (old libzmq names).
const ALIASES: &[(&str, &str)] = &[
    ("identity", "routing_id"),
    ("connect_rid", "connect_routing_id"),
    ("delay_attach_on_connect", "immediate"),
    ("hwm", "sndhwm"),
];

/// Looks an option up by its lower-case name (`sndhwm`, `ZMQ_SNDHWM` and
/// `SNDHWM` are all accepted).
pub fn option_by_name(name: &str) -> Option<(i32, OptionKind)> {
    let lower = name.trim().to_ascii_lowercase();
    let lower = lower.strip_prefix("zmq_").unwrap_or(&lower);
    let lower = ALIASES.iter().find(|(a, _)| *a == lower).map(|(_, b)| *b).unwrap_or(lower);
    OPTION_TABLE
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(lower))
        .map(|(_, id, kind)| (*id, *kind))
}

/// The kind of an option number.
pub fn option_kind(id: i32) -> Option<OptionKind> {
    OPTION_TABLE.iter().find(|(_, n, _)| *n == id).map(|(_, _, k)| *k)
}

/// Converts a textual value (as given to `fzmq -o name=value`) into the raw
/// bytes the C ABI would pass for that option.
pub fn encode_option_value(kind: OptionKind, value: &str) -> Result<Vec<u8>> {
    match kind {
        OptionKind::Int => {
            let v: i32 = value.trim().parse().map_err(|_| Error::EINVAL)?;
            Ok(v.to_ne_bytes().to_vec())
        }
        OptionKind::Bool => {
            let v: i32 = match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => 1,
                "0" | "false" | "no" | "off" => 0,
                other => other.parse().map_err(|_| Error::EINVAL)?,
            };
            Ok(v.to_ne_bytes().to_vec())
        }
        OptionKind::Int64 => {
            let v: i64 = value.trim().parse().map_err(|_| Error::EINVAL)?;
            Ok(v.to_ne_bytes().to_vec())
        }
        OptionKind::Uint64 => {
            let v: u64 = value.trim().parse().map_err(|_| Error::EINVAL)?;
            Ok(v.to_ne_bytes().to_vec())
        }
        OptionKind::Bytes | OptionKind::String => Ok(value.as_bytes().to_vec()),
    }
}

/// Reads a C `int` option value; libzmq demands exactly `sizeof(int)` bytes.
pub(crate) fn int_value(v: &[u8]) -> Result<i32> {
    let arr: [u8; 4] = v.try_into().map_err(|_| Error::EINVAL)?;
    Ok(i32::from_ne_bytes(arr))
}

pub(crate) fn bool_value(v: &[u8]) -> Result<bool> {
    match int_value(v)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::EINVAL),
    }
}

/// The options every socket type shares, with libzmq's defaults.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub sndhwm: i32,
    pub rcvhwm: i32,
    pub affinity: u64,
    pub routing_id: Option<Bytes>,
    pub rate: i32,
    pub recovery_ivl: i32,
    pub sndbuf: i32,
    pub rcvbuf: i32,
    pub linger: i32,
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    pub backlog: i32,
    pub maxmsgsize: i64,
    pub multicast_hops: i32,
    pub rcvtimeo: i32,
    pub sndtimeo: i32,
    pub ipv6: bool,
    pub immediate: bool,
    pub tcp_keepalive: i32,
    pub tcp_keepalive_cnt: i32,
    pub tcp_keepalive_idle: i32,
    pub tcp_keepalive_intvl: i32,
    pub tos: i32,
    pub handshake_ivl: i32,
    pub heartbeat_ivl: i32,
    pub heartbeat_ttl: i32,
    pub heartbeat_timeout: i32,
    pub connect_timeout: i32,
    pub tcp_maxrt: i32,
    pub conflate: bool,
    pub zap_domain: String,
    pub connect_routing_id: Option<Bytes>,
    pub multicast_maxtpdu: i32,
    pub bindtodevice: String,
    pub last_endpoint: String,
    /// ZMQ_METADATA: application properties (`X-*`) sent in the handshake.
    pub app_metadata: ferrozmq_proto::Metadata,
    /// ZMQ_ZAP_ENFORCE_DOMAIN: with a ZAP domain and no handler, fail the
    /// handshake instead of proceeding unauthenticated.
    pub zap_enforce_domain: bool,
    /// ZMQ_SOCKS_PROXY (`host:port`, empty = none) and its RFC 1929
    /// credentials (ZMQ_SOCKS_USERNAME/PASSWORD, draft): tcp connects go
    /// through that SOCKS5 proxy.
    pub socks_proxy: String,
    pub socks_username: String,
    pub socks_password: String,
    /// ZMQ_RECONNECT_STOP (draft): when a connect socket stops retrying.
    pub reconnect_stop: i32,
    /// ZMQ_INVERT_MATCHING on socket types it does nothing for (libzmq
    /// stores it on every socket; PUB/XPUB/SUB/XSUB act on it themselves).
    pub invert_matching: bool,
    /// ZMQ_HELLO_MSG (draft): a message sent to every peer as soon as its
    /// connection's handshake completes.
    pub hello_msg: Option<Bytes>,
    /// Options kept for libzmq programs that set and read them, with no
    /// effect of their own here: ZMQ_USE_FD (only -1, "make the socket",
    /// is accepted), MULTICAST_LOOP (for the multicast transports),
    /// LOOPBACK_FASTPATH (Windows only in libzmq), IN/OUT_BATCH_SIZE (the
    /// engine sizes its own batches), PRIORITY (SO_PRIORITY), BUSY_POLL
    /// (ferrozmq busy-polls by context setting).
    pub use_fd: i32,
    pub multicast_loop: bool,
    pub loopback_fastpath: bool,
    pub in_batch_size: i32,
    pub out_batch_size: i32,
    pub priority: i32,
    pub busy_poll: i32,
    /// The security mechanism and its keys/credentials (PLAIN_*, CURVE_*),
    /// selected the way libzmq's options.cpp does: setting a PLAIN option
    /// switches to PLAIN, a CURVE option to CURVE, `*_SERVER=0` back to NULL.
    pub security: Security,
}

/// The mechanism options of a socket.
#[derive(Clone, Debug, Default)]
pub(crate) struct Security {
    pub mechanism: i32,
    pub as_server: bool,
    pub plain_username: Vec<u8>,
    pub plain_password: Vec<u8>,
    pub curve_public: Option<[u8; 32]>,
    pub curve_secret: Option<[u8; 32]>,
    pub curve_server: Option<[u8; 32]>,
}

/// `ZMQ_NULL`, `ZMQ_PLAIN`, `ZMQ_CURVE`.
pub(crate) const MECHANISM_NULL: i32 = 0;
pub(crate) const MECHANISM_PLAIN: i32 = 1;
pub(crate) const MECHANISM_CURVE: i32 = 2;

impl Security {
    /// The handshake's view of these options; `EINVAL`-free: a CURVE socket
    /// missing a key fails its handshakes (libzmq's behaviour) rather than
    /// the option call.
    pub(crate) fn mechanism_config(&self) -> ferrozmq_proto::MechanismConfig {
        use ferrozmq_proto::MechanismConfig;
        match self.mechanism {
            MECHANISM_PLAIN => MechanismConfig::Plain {
                server: self.as_server,
                username: self.plain_username.clone(),
                password: self.plain_password.clone(),
            },
            MECHANISM_CURVE => {
                let secret = self.curve_secret.unwrap_or([0; 32]);
                let public = self
                    .curve_public
                    .unwrap_or_else(|| ferrozmq_proto::curve::public_from_secret(&secret));
                MechanismConfig::Curve {
                    server: self.as_server,
                    public_key: public,
                    secret_key: secret,
                    server_key: if self.as_server { None } else { self.curve_server },
                }
            }
            _ => MechanismConfig::Null,
        }
    }
}

fn curve_key(v: &[u8]) -> Result<[u8; 32]> {
    ferrozmq_proto::curve::parse_key(v).map_err(|_| Error::EINVAL)
}

impl Default for Options {
    fn default() -> Options {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            affinity: 0,
            routing_id: None,
            rate: 100,
            recovery_ivl: 10_000,
            sndbuf: -1,
            rcvbuf: -1,
            linger: -1,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            backlog: 100,
            maxmsgsize: -1,
            multicast_hops: 1,
            rcvtimeo: -1,
            sndtimeo: -1,
            ipv6: false,
            immediate: false,
            tcp_keepalive: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            tos: 0,
            handshake_ivl: 30_000,
            heartbeat_ivl: 0,
            heartbeat_ttl: 0,
            heartbeat_timeout: -1,
            connect_timeout: 0,
            tcp_maxrt: 0,
            conflate: false,
            zap_domain: String::new(),
            connect_routing_id: None,
            multicast_maxtpdu: 1500,
            bindtodevice: String::new(),
            last_endpoint: String::new(),
            app_metadata: ferrozmq_proto::Metadata::new(),
            zap_enforce_domain: false,
            hello_msg: None,
            invert_matching: false,
            reconnect_stop: 0,
            socks_proxy: String::new(),
            socks_username: String::new(),
            socks_password: String::new(),
            use_fd: -1,
            multicast_loop: true,
            loopback_fastpath: false,
            in_batch_size: 8192,
            out_batch_size: 8192,
            priority: 0,
            busy_poll: 0,
            security: Security::default(),
        }
    }
}

fn non_negative(v: i32) -> Result<i32> {
    if v < 0 {
        Err(Error::EINVAL)
    } else {
        Ok(v)
    }
}

fn at_least_minus_one(v: i32) -> Result<i32> {
    if v < -1 {
        Err(Error::EINVAL)
    } else {
        Ok(v)
    }
}

impl Options {
    /// Sets a generic option. Returns `Err(ENOTSUP)`-free `Ok(false)` if the
    /// option is not a generic one (the socket type may know it).
    pub(crate) fn set(&mut self, id: i32, v: &[u8]) -> Result<bool> {
        use ids::*;
        match id {
            SNDHWM => self.sndhwm = non_negative(int_value(v)?)?,
            RCVHWM => self.rcvhwm = non_negative(int_value(v)?)?,
            AFFINITY => {
                self.affinity = u64::from_ne_bytes(v.try_into().map_err(|_| Error::EINVAL)?)
            }
            ROUTING_ID => {
                // libzmq: 1..=255 bytes, and must not start with a zero byte
                // (reserved for auto-generated ids).
                if v.is_empty() || v.len() > 255 || v[0] == 0 {
                    return Err(Error::EINVAL);
                }
                self.routing_id = Some(Bytes::copy_from_slice(v));
            }
            RATE => self.rate = int_value(v).and_then(|x| if x > 0 { Ok(x) } else { Err(Error::EINVAL) })?,
            RECOVERY_IVL => self.recovery_ivl = non_negative(int_value(v)?)?,
            SNDBUF => self.sndbuf = at_least_minus_one(int_value(v)?)?,
            RCVBUF => self.rcvbuf = at_least_minus_one(int_value(v)?)?,
            LINGER => self.linger = at_least_minus_one(int_value(v)?)?,
            RECONNECT_IVL => self.reconnect_ivl = at_least_minus_one(int_value(v)?)?,
            RECONNECT_IVL_MAX => self.reconnect_ivl_max = non_negative(int_value(v)?)?,
            BACKLOG => self.backlog = non_negative(int_value(v)?)?,
            MAXMSGSIZE => {
                let x = i64::from_ne_bytes(v.try_into().map_err(|_| Error::EINVAL)?);
                if x < -1 {
                    return Err(Error::EINVAL);
                }
                self.maxmsgsize = x;
            }
            MULTICAST_HOPS => self.multicast_hops = int_value(v).and_then(|x| if x > 0 { Ok(x) } else { Err(Error::EINVAL) })?,
            RCVTIMEO => self.rcvtimeo = at_least_minus_one(int_value(v)?)?,
            SNDTIMEO => self.sndtimeo = at_least_minus_one(int_value(v)?)?,
            IPV6 => self.ipv6 = bool_value(v)?,
            IPV4ONLY => self.ipv6 = !bool_value(v)?,
            IMMEDIATE => self.immediate = bool_value(v)?,
            TCP_KEEPALIVE => {
                let x = int_value(v)?;
                if !(-1..=1).contains(&x) {
                    return Err(Error::EINVAL);
                }
                self.tcp_keepalive = x;
            }
            TCP_KEEPALIVE_CNT => self.tcp_keepalive_cnt = at_least_minus_one(int_value(v)?)?,
            TCP_KEEPALIVE_IDLE => self.tcp_keepalive_idle = at_least_minus_one(int_value(v)?)?,
            TCP_KEEPALIVE_INTVL => self.tcp_keepalive_intvl = at_least_minus_one(int_value(v)?)?,
            TOS => self.tos = non_negative(int_value(v)?)?,
            HANDSHAKE_IVL => self.handshake_ivl = non_negative(int_value(v)?)?,
            HEARTBEAT_IVL => self.heartbeat_ivl = non_negative(int_value(v)?)?,
            HEARTBEAT_TTL => {
                // Sent on the wire in deciseconds as a u16 (RFC 37 PING).
                let x = non_negative(int_value(v)?)?;
                if x / 100 > u16::MAX as i32 {
                    return Err(Error::EINVAL);
                }
                self.heartbeat_ttl = x;
            }
            HEARTBEAT_TIMEOUT => self.heartbeat_timeout = at_least_minus_one(int_value(v)?)?,
            CONNECT_TIMEOUT => self.connect_timeout = non_negative(int_value(v)?)?,
            TCP_MAXRT => self.tcp_maxrt = non_negative(int_value(v)?)?,
            CONFLATE => self.conflate = bool_value(v)?,
            ZAP_DOMAIN => {
                if v.len() > 255 {
                    return Err(Error::EINVAL);
                }
                self.zap_domain = String::from_utf8(v.to_vec()).map_err(|_| Error::EINVAL)?
            }
            CONNECT_ROUTING_ID => {
                if v.is_empty() || v.len() > 255 {
                    return Err(Error::EINVAL);
                }
                self.connect_routing_id = Some(Bytes::copy_from_slice(v));
            }
            MULTICAST_MAXTPDU => self.multicast_maxtpdu = int_value(v).and_then(|x| if x > 0 { Ok(x) } else { Err(Error::EINVAL) })?,
            BINDTODEVICE => {
                if v.len() > 16 {
                    return Err(Error::EINVAL);
                }
                self.bindtodevice = String::from_utf8(v.to_vec()).map_err(|_| Error::EINVAL)?
            }
            METADATA => {
                // libzmq: "X-name:value", a name of at most 255 bytes.
                let text = std::str::from_utf8(v).map_err(|_| Error::EINVAL)?;
                let (name, value) = text.split_once(':').ok_or(Error::EINVAL)?;
                if !name.starts_with("X-") || name.len() > 255 || value.is_empty() {
                    return Err(Error::EINVAL);
                }
                self.app_metadata.try_insert(name, Bytes::copy_from_slice(value.as_bytes())).map_err(|_| Error::EINVAL)?;
            }
            ZAP_ENFORCE_DOMAIN => self.zap_enforce_domain = bool_value(v)?,
            SOCKS_PROXY | SOCKS_USERNAME | SOCKS_PASSWORD => {
                let text = std::str::from_utf8(v).map_err(|_| Error::EINVAL)?.trim_end_matches('\0');
                if text.len() > 255 {
                    return Err(Error::EINVAL);
                }
                if id == SOCKS_PROXY && !text.is_empty() && text.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()) {
                    return Err(Error::EINVAL);
                }
                let slot = match id {
                    SOCKS_PROXY => &mut self.socks_proxy,
                    SOCKS_USERNAME => &mut self.socks_username,
                    _ => &mut self.socks_password,
                };
                *slot = text.to_string();
            }
            RECONNECT_STOP => {
                let x = int_value(v)?;
                if !(0..=7).contains(&x) {
                    return Err(Error::EINVAL);
                }
                self.reconnect_stop = x;
            }
            INVERT_MATCHING => self.invert_matching = bool_value(v)?,
            HELLO_MSG => self.hello_msg = (!v.is_empty()).then(|| Bytes::copy_from_slice(v)),
            USE_FD => {
                // Binding over a descriptor the caller made is not
                // implemented: only "none" (-1) is accepted.
                if int_value(v)? != -1 {
                    return Err(Error::EINVAL);
                }
            }
            MULTICAST_LOOP => self.multicast_loop = bool_value(v)?,
            LOOPBACK_FASTPATH => self.loopback_fastpath = bool_value(v)?,
            IN_BATCH_SIZE => self.in_batch_size = int_value(v).and_then(|x| if x > 0 { Ok(x) } else { Err(Error::EINVAL) })?,
            OUT_BATCH_SIZE => self.out_batch_size = int_value(v).and_then(|x| if x > 0 { Ok(x) } else { Err(Error::EINVAL) })?,
            PRIORITY => self.priority = non_negative(int_value(v)?)?,
            BUSY_POLL => self.busy_poll = non_negative(int_value(v)?)?,
            PLAIN_SERVER => {
                let on = bool_value(v)?;
                self.security.as_server = on;
                self.security.mechanism = if on { MECHANISM_PLAIN } else { MECHANISM_NULL };
            }
            PLAIN_USERNAME | PLAIN_PASSWORD => {
                if v.is_empty() {
                    // libzmq: an empty value switches back to NULL.
                    self.security.mechanism = MECHANISM_NULL;
                } else if v.len() > 255 {
                    return Err(Error::EINVAL);
                } else {
                    if id == PLAIN_USERNAME {
                        self.security.plain_username = v.to_vec();
                    } else {
                        self.security.plain_password = v.to_vec();
                    }
                    self.security.as_server = false;
                    self.security.mechanism = MECHANISM_PLAIN;
                }
            }
            CURVE_SERVER => {
                let on = bool_value(v)?;
                self.security.as_server = on;
                self.security.mechanism = if on { MECHANISM_CURVE } else { MECHANISM_NULL };
            }
            CURVE_PUBLICKEY => {
                self.security.curve_public = Some(curve_key(v)?);
                self.security.mechanism = MECHANISM_CURVE;
            }
            CURVE_SECRETKEY => {
                self.security.curve_secret = Some(curve_key(v)?);
                self.security.mechanism = MECHANISM_CURVE;
            }
            CURVE_SERVERKEY => {
                self.security.curve_server = Some(curve_key(v)?);
                self.security.as_server = false;
                self.security.mechanism = MECHANISM_CURVE;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Reads a generic option as raw bytes; `None` if it is not generic.
    pub(crate) fn get(&self, id: i32) -> Option<Vec<u8>> {
        use ids::*;
        let int = |x: i32| Some(x.to_ne_bytes().to_vec());
        match id {
            SNDHWM => int(self.sndhwm),
            RCVHWM => int(self.rcvhwm),
            AFFINITY => Some(self.affinity.to_ne_bytes().to_vec()),
            ROUTING_ID => Some(self.routing_id.as_deref().unwrap_or(&[]).to_vec()),
            RATE => int(self.rate),
            RECOVERY_IVL => int(self.recovery_ivl),
            SNDBUF => int(self.sndbuf),
            RCVBUF => int(self.rcvbuf),
            LINGER => int(self.linger),
            RECONNECT_IVL => int(self.reconnect_ivl),
            RECONNECT_IVL_MAX => int(self.reconnect_ivl_max),
            BACKLOG => int(self.backlog),
            MAXMSGSIZE => Some(self.maxmsgsize.to_ne_bytes().to_vec()),
            MULTICAST_HOPS => int(self.multicast_hops),
            RCVTIMEO => int(self.rcvtimeo),
            SNDTIMEO => int(self.sndtimeo),
            IPV6 => int(self.ipv6 as i32),
            IPV4ONLY => int(!self.ipv6 as i32),
            IMMEDIATE => int(self.immediate as i32),
            TCP_KEEPALIVE => int(self.tcp_keepalive),
            TCP_KEEPALIVE_CNT => int(self.tcp_keepalive_cnt),
            TCP_KEEPALIVE_IDLE => int(self.tcp_keepalive_idle),
            TCP_KEEPALIVE_INTVL => int(self.tcp_keepalive_intvl),
            TOS => int(self.tos),
            HANDSHAKE_IVL => int(self.handshake_ivl),
            HEARTBEAT_IVL => int(self.heartbeat_ivl),
            HEARTBEAT_TTL => int(self.heartbeat_ttl),
            HEARTBEAT_TIMEOUT => int(self.heartbeat_timeout),
            CONNECT_TIMEOUT => int(self.connect_timeout),
            TCP_MAXRT => int(self.tcp_maxrt),
            CONFLATE => int(self.conflate as i32),
            ZAP_DOMAIN => Some(self.zap_domain.as_bytes().to_vec()),
            MULTICAST_MAXTPDU => int(self.multicast_maxtpdu),
            BINDTODEVICE => Some(self.bindtodevice.as_bytes().to_vec()),
            LAST_ENDPOINT => Some(self.last_endpoint.as_bytes().to_vec()),
            ZAP_ENFORCE_DOMAIN => int(self.zap_enforce_domain as i32),
            RECONNECT_STOP => int(self.reconnect_stop),
            INVERT_MATCHING => int(self.invert_matching as i32),
            SOCKS_PROXY => Some(self.socks_proxy.as_bytes().to_vec()),
            SOCKS_USERNAME => Some(self.socks_username.as_bytes().to_vec()),
            SOCKS_PASSWORD => Some(self.socks_password.as_bytes().to_vec()),
            USE_FD => int(self.use_fd),
            MULTICAST_LOOP => int(self.multicast_loop as i32),
            LOOPBACK_FASTPATH => int(self.loopback_fastpath as i32),
            IN_BATCH_SIZE => int(self.in_batch_size),
            OUT_BATCH_SIZE => int(self.out_batch_size),
            PRIORITY => int(self.priority),
            BUSY_POLL => int(self.busy_poll),
            MECHANISM => int(self.security.mechanism),
            PLAIN_SERVER => int((self.security.mechanism == MECHANISM_PLAIN && self.security.as_server) as i32),
            CURVE_SERVER => int((self.security.mechanism == MECHANISM_CURVE && self.security.as_server) as i32),
            PLAIN_USERNAME => Some(self.security.plain_username.clone()),
            PLAIN_PASSWORD => Some(self.security.plain_password.clone()),
            CURVE_PUBLICKEY => Some(self.security.curve_public.map(|k| k.to_vec()).unwrap_or_default()),
            CURVE_SECRETKEY => Some(self.security.curve_secret.map(|k| k.to_vec()).unwrap_or_default()),
            CURVE_SERVERKEY => Some(self.security.curve_server.map(|k| k.to_vec()).unwrap_or_default()),
            _ => None,
        }
    }

    pub(crate) fn max_msg_size(&self) -> Option<u64> {
        if self.maxmsgsize < 0 {
            None
        } else {
            Some(self.maxmsgsize as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_defaults() {
        assert_eq!(option_by_name("sndhwm"), Some((23, OptionKind::Int)));
        assert_eq!(option_by_name("ZMQ_LINGER"), Some((17, OptionKind::Int)));
        assert_eq!(option_by_name("identity"), Some((5, OptionKind::Bytes)));
        assert_eq!(option_by_name("nonsense"), None);
        let o = Options::default();
        assert_eq!(o.get(ids::SNDHWM), Some(1000i32.to_ne_bytes().to_vec()));
        assert_eq!(o.get(ids::HANDSHAKE_IVL), Some(30000i32.to_ne_bytes().to_vec()));
    }

    #[test]
    fn validation_like_libzmq() {
        let mut o = Options::default();
        assert_eq!(o.set(ids::SNDHWM, &[1, 2]), Err(Error::EINVAL), "int needs 4 bytes");
        assert_eq!(o.set(ids::SNDHWM, &(-1i32).to_ne_bytes()), Err(Error::EINVAL));
        assert_eq!(o.set(ids::ROUTING_ID, b"\0abc"), Err(Error::EINVAL));
        assert_eq!(o.set(ids::LINGER, &(-1i32).to_ne_bytes()), Ok(true));
        assert_eq!(o.set(9999, &[]), Ok(false));
    }
}
