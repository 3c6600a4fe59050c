//! The 64-octet ZMTP 3.x greeting (RFC 37 §"Formal Grammar", §"Version
//! Negotiation") exactly as libzmq sends it (reference §5.3,
//! `zmtp_engine.cpp`):
//!
//! ```text
//! offset  0      FF                      signature start
//!         1..9   routing-id-size + 1     8 octets, big-endian ("padding" in
//!                                        the RFC: libzmq makes the signature
//!                                        double as a ZMTP 1.0 identity-frame
//!                                        header, RFC 37 §"Detecting ZMTP 1.0
//!                                        and 2.0 Peers")
//!         9      7F                      signature end
//!        10      03                      version-major
//!        11      01                      version-minor
//!        12..32  mechanism               NUL-padded, e.g. "NULL"
//!        32      as-server               libzmq always sends 0
//!        33..64  filler                  31 zero octets
//! ```

use crate::frame::WireFormat;

/// Length of the signature (octets 0-9).
pub const SIGNATURE_LEN: usize = 10;
/// Length of the whole ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;
/// Length of the ZMTP 2.0 greeting (RFC 15 `greeting = signature revision
/// socket-type`, before the identity frame): what libzmq exchanges with
/// revision 0x00/0x01 peers.
pub const V2_GREETING_LEN: usize = 12;

/// Offset of the version-major ("revision") octet.
pub const REVISION_POS: usize = 10;
/// Offset of the version-minor octet.
pub const MINOR_POS: usize = 11;
/// Offset of the 20-octet mechanism name.
pub const MECHANISM_POS: usize = 12;
/// Offset of the as-server octet.
pub const AS_SERVER_POS: usize = 32;

/// A ZMTP protocol version as negotiated with a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZmtpVersion {
    /// Major version: 1 (RFC 13), 2 (RFC 15) or 3 (RFC 23/37).
    pub major: u8,
    /// Minor version (0 or 1).
    pub minor: u8,
}

impl ZmtpVersion {
    /// ZMTP 1.0 (RFC 13): an unversioned peer (or revision byte 0x00, which
    /// libzmq's `select_handshake_fun` also treats as 1.0). V1 framing, no
    /// mechanism, identity as the first frame, no socket type.
    pub const V1_0: ZmtpVersion = ZmtpVersion { major: 1, minor: 0 };
    /// ZMTP 2.0 (RFC 15): revision byte 0x01. V2 framing, socket type in the
    /// 12-octet greeting, identity as the first frame, no mechanism.
    pub const V2_0: ZmtpVersion = ZmtpVersion { major: 2, minor: 0 };
    /// ZMTP 3.0 (RFC 23): subscriptions travel as `\x01`/`\x00`-prefixed
    /// message frames, not SUBSCRIBE/CANCEL commands.
    pub const V3_0: ZmtpVersion = ZmtpVersion { major: 3, minor: 0 };
    /// ZMTP 3.1 (RFC 37): SUBSCRIBE/CANCEL and PING/PONG commands.
    pub const V3_1: ZmtpVersion = ZmtpVersion { major: 3, minor: 1 };

    /// The version libzmq settles on for a peer that sent `revision` at
    /// offset 10 and `minor` at offset 11, for revision >= 2 (libzmq's
    /// `select_handshake_fun`): 3.0 only for exactly (3, 0); every other
    /// value, including higher revisions, is treated as 3.1 (RFC 37: "A peer
    /// MUST accept higher protocol versions as valid").
    pub fn negotiate(revision: u8, minor: u8) -> ZmtpVersion {
        if revision == 3 && minor == 0 {
            ZmtpVersion::V3_0
        } else {
            ZmtpVersion::V3_1
        }
    }

    /// Whether SUBSCRIBE/CANCEL go as commands (3.1) rather than prefixed
    /// message frames (3.0); libzmq picks `v3_1_encoder` vs `v2_encoder` on this.
    /// ZMTP 1.0/2.0 (RFC 13 has none; RFC 15 §"Publish-Subscribe") also
    /// use prefixed message frames.
    pub fn uses_subscribe_commands(self) -> bool {
        self.major > 3 || (self.major == 3 && self.minor >= 1)
    }

    /// The framing for this version (libzmq `select_handshake_fun`,
    /// reference §5.3): V1 for 1.0, V2 for 2.0, V3 for 3.x.
    pub fn wire_format(self) -> WireFormat {
        match self.major {
            0 | 1 => WireFormat::V1,
            2 => WireFormat::V2,
            _ => WireFormat::V3,
        }
    }
}

/// A security mechanism named in the greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MechanismName {
    /// "NULL": no authentication, no confidentiality (RFC 37 §"The NULL
    /// Security Mechanism").
    Null,
    /// "PLAIN": user name and password in clear (RFC 24).
    Plain,
    /// "CURVE": CurveZMQ (RFC 25, RFC 26).
    Curve,
}

impl MechanismName {
    /// The name as text, also the ZAP request's mechanism frame (RFC 27).
    pub fn as_str(&self) -> &'static str {
        match self {
            MechanismName::Null => "NULL",
            MechanismName::Plain => "PLAIN",
            MechanismName::Curve => "CURVE",
        }
    }

    /// The 20-octet, NUL-padded greeting field for this mechanism.
    pub fn as_bytes(&self) -> [u8; 20] {
        let name = self.as_str().as_bytes();
        let mut out = [0u8; 20];
        out[..name.len()].copy_from_slice(name);
        out
    }

    /// The mechanism whose 20-octet field is exactly `b` (libzmq compares all
    /// 20 octets with `memcmp`); `None` for anything else.
    pub fn parse(b: &[u8; 20]) -> Option<MechanismName> {
        [
            MechanismName::Null,
            MechanismName::Plain,
            MechanismName::Curve,
        ]
        .into_iter()
        .find(|m| &m.as_bytes() == b)
    }
}

/// Writes the full 64-octet greeting exactly as libzmq sends it:
/// `FF`, `routing_id_len + 1` as 8 big-endian octets, `7F`, `03 01`, the
/// mechanism, the as-server octet, 31 zero octets. libzmq always sends
/// as-server 0 (reference §5.1), and RFC 37 requires 0 for NULL;
/// [`crate::Handshake`] therefore always passes `false`.
pub fn encode_greeting(
    mechanism: MechanismName,
    as_server: bool,
    routing_id_len: usize,
    out: &mut [u8; 64],
) {
    out.fill(0);
    out[0] = 0xFF;
    let padding = (routing_id_len as u64).saturating_add(1);
    out[1..9].copy_from_slice(&padding.to_be_bytes());
    out[9] = 0x7F;
    out[REVISION_POS] = 3;
    out[MINOR_POS] = 1;
    out[MECHANISM_POS..MECHANISM_POS + 20].copy_from_slice(&mechanism.as_bytes());
    out[AS_SERVER_POS] = u8::from(as_server);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_greeting_golden() {
        let mut g = [0u8; 64];
        encode_greeting(MechanismName::Null, false, 0, &mut g);
        let mut expected = Vec::new();
        expected.extend_from_slice(b"\xff\0\0\0\0\0\0\0\x01\x7f");
        expected.extend_from_slice(b"\x03\x01");
        expected.extend_from_slice(b"NULL");
        expected.extend_from_slice(&[0u8; 16]);
        expected.push(0); // as-server
        expected.extend_from_slice(&[0u8; 31]);
        assert_eq!(expected.len(), 64);
        assert_eq!(&g[..], &expected[..]);
    }

    #[test]
    fn routing_id_len_in_padding() {
        let mut g = [0u8; 64];
        encode_greeting(MechanismName::Null, true, 255, &mut g);
        assert_eq!(&g[..10], b"\xff\0\0\0\0\0\0\x01\x00\x7f");
        assert_eq!(g[AS_SERVER_POS], 1);
        encode_greeting(MechanismName::Null, false, 4, &mut g);
        assert_eq!(&g[..10], b"\xff\0\0\0\0\0\0\0\x05\x7f");
    }

    #[test]
    fn mechanism_parse() {
        let null = MechanismName::Null.as_bytes();
        assert_eq!(MechanismName::parse(&null), Some(MechanismName::Null));
        let mut junk = null;
        junk[19] = b'X';
        assert_eq!(MechanismName::parse(&junk), None);
        let mut plain = [0u8; 20];
        plain[..5].copy_from_slice(b"PLAIN");
        assert_eq!(MechanismName::parse(&plain), Some(MechanismName::Plain));
        plain[..5].copy_from_slice(b"CURVE");
        assert_eq!(MechanismName::parse(&plain), Some(MechanismName::Curve));
        plain[5] = b'X';
        assert_eq!(MechanismName::parse(&plain), None);
    }

    #[test]
    fn version_negotiation() {
        assert_eq!(ZmtpVersion::negotiate(3, 0), ZmtpVersion::V3_0);
        assert_eq!(ZmtpVersion::negotiate(3, 1), ZmtpVersion::V3_1);
        assert_eq!(ZmtpVersion::negotiate(3, 7), ZmtpVersion::V3_1);
        assert_eq!(ZmtpVersion::negotiate(4, 0), ZmtpVersion::V3_1);
        assert!(!ZmtpVersion::V3_0.uses_subscribe_commands());
        assert!(ZmtpVersion::V3_1.uses_subscribe_commands());
        assert!(!ZmtpVersion::V1_0.uses_subscribe_commands());
        assert!(!ZmtpVersion::V2_0.uses_subscribe_commands());
        assert_eq!(ZmtpVersion::V1_0.wire_format(), WireFormat::V1);
        assert_eq!(ZmtpVersion::V2_0.wire_format(), WireFormat::V2);
        assert_eq!(ZmtpVersion::V3_0.wire_format(), WireFormat::V3);
        assert_eq!(ZmtpVersion::V3_1.wire_format(), WireFormat::V3);
    }
}
