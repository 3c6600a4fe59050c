//! ZeroMQ socket types: their numeric values, their ZMTP wire names and which
//! pairs of them may talk to each other.
//!
//! The wire names are the values of the `Socket-Type` metadata property
//! (RFC 37 §"The Socket-Type Property"); the compatibility matrix is the one
//! libzmq enforces in `mechanism_t::check_socket_type` (reference §2), which
//! is the RFC 37 table plus libzmq's DGRAM↔DGRAM entry.

use std::fmt;
use std::str::FromStr;

/// A ZeroMQ socket type, numbered exactly as libzmq's `ZMQ_PAIR` … `ZMQ_CHANNEL`
/// constants so the C ABI layer can convert with [`SocketType::from_raw`] /
/// [`SocketType::as_raw`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum SocketType {
    /// `ZMQ_PAIR` (RFC 31): exclusive pair.
    Pair = 0,
    /// `ZMQ_PUB` (RFC 29): publisher.
    Pub = 1,
    /// `ZMQ_SUB` (RFC 29): subscriber.
    Sub = 2,
    /// `ZMQ_REQ` (RFC 28): request side of request-reply.
    Req = 3,
    /// `ZMQ_REP` (RFC 28): reply side of request-reply.
    Rep = 4,
    /// `ZMQ_DEALER` (RFC 28): asynchronous request side.
    Dealer = 5,
    /// `ZMQ_ROUTER` (RFC 28): asynchronous, addressed reply side.
    Router = 6,
    /// `ZMQ_PULL` (RFC 30): pipeline sink.
    Pull = 7,
    /// `ZMQ_PUSH` (RFC 30): pipeline source.
    Push = 8,
    /// `ZMQ_XPUB` (RFC 29): publisher that sees subscriptions.
    XPub = 9,
    /// `ZMQ_XSUB` (RFC 29): subscriber that sends raw subscriptions.
    XSub = 10,
    /// `ZMQ_STREAM`: raw TCP, never speaks ZMTP, so it is compatible with nothing.
    Stream = 11,
    /// `ZMQ_SERVER` (RFC 41, draft).
    Server = 12,
    /// `ZMQ_CLIENT` (RFC 41, draft).
    Client = 13,
    /// `ZMQ_RADIO` (RFC 48, draft).
    Radio = 14,
    /// `ZMQ_DISH` (RFC 48, draft).
    Dish = 15,
    /// `ZMQ_GATHER` (RFC 49, draft).
    Gather = 16,
    /// `ZMQ_SCATTER` (RFC 49, draft).
    Scatter = 17,
    /// `ZMQ_DGRAM` (draft): UDP only.
    Dgram = 18,
    /// `ZMQ_PEER` (RFC 51, draft).
    Peer = 19,
    /// `ZMQ_CHANNEL` (RFC 52, draft).
    Channel = 20,
}

/// Every socket type in numeric order; index `i` holds the type whose raw value is `i`.
const ALL: [SocketType; 21] = [
    SocketType::Pair,
    SocketType::Pub,
    SocketType::Sub,
    SocketType::Req,
    SocketType::Rep,
    SocketType::Dealer,
    SocketType::Router,
    SocketType::Pull,
    SocketType::Push,
    SocketType::XPub,
    SocketType::XSub,
    SocketType::Stream,
    SocketType::Server,
    SocketType::Client,
    SocketType::Radio,
    SocketType::Dish,
    SocketType::Gather,
    SocketType::Scatter,
    SocketType::Dgram,
    SocketType::Peer,
    SocketType::Channel,
];

impl SocketType {
    /// All 21 socket types in numeric order, so callers and tests can iterate them.
    pub const ALL: [SocketType; 21] = ALL;

    /// Converts a libzmq `ZMQ_*` socket-type number; `None` for unknown values
    /// (the C API turns that into `EINVAL`).
    pub fn from_raw(v: i32) -> Option<SocketType> {
        usize::try_from(v).ok().and_then(|i| ALL.get(i).copied())
    }

    /// The libzmq `ZMQ_*` number of this socket type.
    pub fn as_raw(self) -> i32 {
        self as i32
    }

    /// ZMTP "Socket-Type" metadata value: "PAIR", "PUB", "SUB", "REQ", "REP",
    /// "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM", "SERVER",
    /// "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER", "DGRAM", "PEER",
    /// "CHANNEL" (libzmq `mechanism_t::socket_type_string`).
    pub fn wire_name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Stream => "STREAM",
            SocketType::Server => "SERVER",
            SocketType::Client => "CLIENT",
            SocketType::Radio => "RADIO",
            SocketType::Dish => "DISH",
            SocketType::Gather => "GATHER",
            SocketType::Scatter => "SCATTER",
            SocketType::Dgram => "DGRAM",
            SocketType::Peer => "PEER",
            SocketType::Channel => "CHANNEL",
        }
    }

    /// Parses a peer's `Socket-Type` value. The match is exact and
    /// case-sensitive, as libzmq's `strequals` in `check_socket_type` is, so
    /// "dealer" from a peer is not a DEALER.
    pub fn from_wire_name(name: &[u8]) -> Option<SocketType> {
        ALL.iter()
            .copied()
            .find(|t| t.wire_name().as_bytes() == name)
    }

    /// Whether a socket of type `self` accepts a peer of type `peer`: libzmq's
    /// `mechanism_t::check_socket_type` matrix (RFC 37 §"The Socket-Type
    /// Property"; SCATTER↔GATHER as the code says, not the doc table, see
    /// reference §2; DGRAM↔DGRAM from libzmq). STREAM is compatible with nothing.
    pub fn is_compatible_with(self, peer: SocketType) -> bool {
        use SocketType::*;
        match self {
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Push => matches!(peer, Pull),
            Pull => matches!(peer, Push),
            Pub | XPub => matches!(peer, Sub | XSub),
            Sub | XSub => matches!(peer, Pub | XPub),
            Pair => matches!(peer, Pair),
            Server => matches!(peer, Client),
            Client => matches!(peer, Server),
            Radio => matches!(peer, Dish),
            Dish => matches!(peer, Radio),
            Gather => matches!(peer, Scatter),
            Scatter => matches!(peer, Gather),
            Dgram => matches!(peer, Dgram),
            Peer => matches!(peer, Peer),
            Channel => matches!(peer, Channel),
            Stream => false,
        }
    }
}

/// Error from parsing a socket-type name that is not one of the 21 names or
/// the legacy aliases; carries the offending text for the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSocketType {
    name: String,
}

impl UnknownSocketType {
    /// The text that failed to parse.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for UnknownSocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown socket type '{}'", self.name)
    }
}

impl std::error::Error for UnknownSocketType {}

impl FromStr for SocketType {
    type Err = UnknownSocketType;

    /// Parses a human-typed name (CLI flags, config): case-insensitive wire
    /// names plus libzmq's legacy aliases "upstream" (PULL), "downstream"
    /// (PUSH), "xreq" (DEALER) and "xrep" (ROUTER).
    fn from_str(s: &str) -> Result<SocketType, UnknownSocketType> {
        if let Some(t) = ALL
            .iter()
            .copied()
            .find(|t| t.wire_name().eq_ignore_ascii_case(s))
        {
            return Ok(t);
        }
        let alias = [
            ("upstream", SocketType::Pull),
            ("downstream", SocketType::Push),
            ("xreq", SocketType::Dealer),
            ("xrep", SocketType::Router),
        ];
        alias
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|&(_, t)| t)
            .ok_or_else(|| UnknownSocketType { name: s.to_owned() })
    }
}

impl fmt::Display for SocketType {
    /// Writes the ZMTP wire name, e.g. `DEALER`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        for (i, t) in SocketType::ALL.iter().enumerate() {
            assert_eq!(t.as_raw(), i as i32);
            assert_eq!(SocketType::from_raw(i as i32), Some(*t));
        }
        assert_eq!(SocketType::from_raw(-1), None);
        assert_eq!(SocketType::from_raw(21), None);
        assert_eq!(SocketType::from_raw(i32::MIN), None);
    }

    #[test]
    fn wire_names_exact() {
        for t in SocketType::ALL {
            assert_eq!(
                SocketType::from_wire_name(t.wire_name().as_bytes()),
                Some(t)
            );
            assert_eq!(t.to_string(), t.wire_name());
        }
        assert_eq!(SocketType::from_wire_name(b"dealer"), None);
        assert_eq!(SocketType::from_wire_name(b"DEALER\0"), None);
        assert_eq!(SocketType::from_wire_name(b""), None);
    }

    #[test]
    fn from_str_case_insensitive_and_aliases() {
        assert_eq!("dealer".parse::<SocketType>(), Ok(SocketType::Dealer));
        assert_eq!("XPub".parse::<SocketType>(), Ok(SocketType::XPub));
        assert_eq!("upstream".parse::<SocketType>(), Ok(SocketType::Pull));
        assert_eq!("DOWNSTREAM".parse::<SocketType>(), Ok(SocketType::Push));
        assert_eq!("xreq".parse::<SocketType>(), Ok(SocketType::Dealer));
        assert_eq!("xrep".parse::<SocketType>(), Ok(SocketType::Router));
        let e = "bogus".parse::<SocketType>().unwrap_err();
        assert_eq!(e.to_string(), "unknown socket type 'bogus'");
        assert_eq!(e.name(), "bogus");
    }

    #[test]
    fn compatibility_matrix_is_symmetric_and_matches_rfc() {
        use SocketType::*;
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(
                    a.is_compatible_with(b),
                    b.is_compatible_with(a),
                    "{a} vs {b}"
                );
            }
        }
        assert!(Req.is_compatible_with(Rep));
        assert!(Req.is_compatible_with(Router));
        assert!(!Req.is_compatible_with(Req));
        assert!(!Req.is_compatible_with(Pub));
        assert!(Dealer.is_compatible_with(Dealer));
        assert!(Router.is_compatible_with(Router));
        assert!(XPub.is_compatible_with(XSub));
        assert!(!Pub.is_compatible_with(Pub));
        assert!(Scatter.is_compatible_with(Gather));
        assert!(!Scatter.is_compatible_with(Scatter));
        assert!(!Gather.is_compatible_with(Gather));
        assert!(Dgram.is_compatible_with(Dgram));
        assert!(!Stream.is_compatible_with(Stream));
        let count = SocketType::ALL
            .iter()
            .flat_map(|a| SocketType::ALL.iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.is_compatible_with(**b))
            .count();
        // REQ 2, REP 2, DEALER 3, ROUTER 3, PUSH 1, PULL 1, PUB/XPUB/SUB/XSUB 2 each,
        // PAIR 1, SERVER/CLIENT/RADIO/DISH/GATHER/SCATTER 1 each, DGRAM/PEER/CHANNEL 1 each.
        assert_eq!(count, 2 + 2 + 3 + 3 + 1 + 1 + 8 + 1 + 6 + 3);
    }
}
