//! ZMTP commands: the body of a frame with the COMMAND flag.
//!
//! RFC 37 §"Formal Grammar": `command-body = command-name command-data`,
//! `command-name = short-size 1*255command-name-char`. The commands known
//! here are READY and ERROR (§"The NULL Security Mechanism"), SUBSCRIBE and
//! CANCEL (§"The Publish-Subscribe Pattern") and PING and PONG
//! (§"Connection Heartbeating"). Names are matched exactly, as libzmq does.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::frame::encode_header;
use crate::metadata::Metadata;

/// Longest PING/PONG context RFC 37 allows ("MUST not exceed 16 octets").
pub const MAX_PING_CONTEXT: usize = 16;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `READY` + metadata: the NULL mechanism's only handshake command.
    Ready(Metadata),
    /// `ERROR` + reason (at most 255 octets): a fatal handshake error.
    Error {
        /// Free-text reason ("It has no defined semantic value", RFC 37).
        reason: Bytes,
    },
    /// `SUBSCRIBE` + topic prefix (RFC 37 §"The Publish-Subscribe Pattern").
    Subscribe(Bytes),
    /// `CANCEL` + topic prefix: undoes one SUBSCRIBE.
    Cancel(Bytes),
    /// `PING` + TTL + context (RFC 37 §"Connection Heartbeating").
    Ping {
        /// Time-to-live hint in tenths of a second; 0 = none.
        ttl_deciseconds: u16,
        /// At most 16 octets to be echoed in the PONG.
        context: Bytes,
    },
    /// `PONG` + the PING's context.
    Pong {
        /// The echoed context.
        context: Bytes,
    },
    /// Any other command name; kept so a caller can ignore it as RFC 37
    /// allows mechanisms to define their own commands.
    Unknown {
        /// Command name (1-255 octets on the wire).
        name: Bytes,
        /// Everything after the name.
        data: Bytes,
    },
}

impl Command {
    /// Parses a command body (the frame body without the frame header).
    ///
    /// Structure errors are [`ProtocolError::MalformedCommand`]; the rule is
    /// libzmq's `check_basic_command_structure`: the body must be longer than
    /// one octet and longer than its name-length octet. Broken READY metadata
    /// is [`ProtocolError::InvalidMetadata`], an ERROR whose reason length
    /// lies is [`ProtocolError::MalformedError`]. A PING shorter than its TTL
    /// or with a context over 16 octets is `MalformedCommand` (libzmq would
    /// truncate the context instead). An ERROR with bytes after its reason is
    /// accepted and the extra bytes ignored, as in libzmq.
    pub fn parse(body: &Bytes) -> Result<Command, ProtocolError> {
        let name_len = match body.first() {
            Some(&n) if body.len() > 1 => usize::from(n),
            _ => return Err(ProtocolError::MalformedCommand("command body too short")),
        };
        if body.len() <= name_len {
            return Err(ProtocolError::MalformedCommand(
                "command name runs past the end",
            ));
        }
        let name = body.slice(1..1 + name_len);
        let data = body.slice(1 + name_len..);
        Ok(match &name[..] {
            b"READY" => Command::Ready(Metadata::parse_bytes(&data)?),
            b"ERROR" => {
                let reason_len = usize::from(*data.first().ok_or(ProtocolError::MalformedError)?);
                if data.len() - 1 < reason_len {
                    return Err(ProtocolError::MalformedError);
                }
                Command::Error {
                    reason: data.slice(1..1 + reason_len),
                }
            }
            b"SUBSCRIBE" => Command::Subscribe(data),
            b"CANCEL" => Command::Cancel(data),
            b"PING" => {
                let ttl: [u8; 2] = data
                    .get(..2)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(ProtocolError::MalformedCommand("PING without TTL"))?;
                let context = data.slice(2..);
                if context.len() > MAX_PING_CONTEXT {
                    return Err(ProtocolError::MalformedCommand(
                        "PING context over 16 bytes",
                    ));
                }
                Command::Ping {
                    ttl_deciseconds: u16::from_be_bytes(ttl),
                    context,
                }
            }
            b"PONG" => Command::Pong { context: data },
            _ => Command::Unknown { name, data },
        })
    }

    /// The command name as sent on the wire (at most 255 octets of it).
    pub fn name(&self) -> &[u8] {
        let name: &[u8] = match self {
            Command::Ready(_) => b"READY",
            Command::Error { .. } => b"ERROR",
            Command::Subscribe(_) => b"SUBSCRIBE",
            Command::Cancel(_) => b"CANCEL",
            Command::Ping { .. } => b"PING",
            Command::Pong { .. } => b"PONG",
            Command::Unknown { name, .. } => name,
        };
        &name[..name.len().min(255)]
    }

    /// Length of the command body (name-length octet, name, data) that
    /// [`Command::encode`] frames.
    pub fn body_len(&self) -> usize {
        let data_len = match self {
            Command::Ready(m) => m.encoded_len(),
            Command::Error { reason } => 1 + reason.len().min(255),
            Command::Subscribe(d) | Command::Cancel(d) => d.len(),
            Command::Ping { context, .. } => 2 + context.len().min(MAX_PING_CONTEXT),
            Command::Pong { context } => context.len(),
            Command::Unknown { data, .. } => data.len(),
        };
        (1 + self.name().len()).saturating_add(data_len)
    }

    /// Appends the whole frame (header with the COMMAND flag + body) to
    /// `out`, byte-identical to libzmq's: e.g. a READY is `04 <len> 05
    /// "READY" <metadata>`; a body over 255 octets gets the long header.
    ///
    /// Values that cannot be encoded are truncated rather than rejected: an
    /// ERROR reason to 255 octets, a PING context to 16 (as libzmq truncates
    /// PONG contexts), an unknown command's name to 255.
    pub fn encode(&self, out: &mut BytesMut) {
        let body_len = self.body_len();
        let mut header = [0u8; 9];
        let n = encode_header(false, true, body_len as u64, &mut header);
        out.reserve(n + body_len);
        out.put_slice(&header[..n]);
        let name = self.name();
        out.put_u8(name.len() as u8);
        out.put_slice(name);
        match self {
            Command::Ready(m) => m.encode(out),
            Command::Error { reason } => {
                let r = &reason[..reason.len().min(255)];
                out.put_u8(r.len() as u8);
                out.put_slice(r);
            }
            Command::Subscribe(d) | Command::Cancel(d) => out.put_slice(d),
            Command::Ping {
                ttl_deciseconds,
                context,
            } => {
                out.put_u16(*ttl_deciseconds);
                out.put_slice(&context[..context.len().min(MAX_PING_CONTEXT)]);
            }
            Command::Pong { context } => out.put_slice(context),
            Command::Unknown { data, .. } => out.put_slice(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(c: &Command) -> Vec<u8> {
        let mut out = BytesMut::new();
        c.encode(&mut out);
        out.to_vec()
    }

    fn parse(b: &[u8]) -> Result<Command, ProtocolError> {
        Command::parse(&Bytes::copy_from_slice(b))
    }

    #[test]
    fn golden_simple_commands() {
        assert_eq!(
            enc(&Command::Subscribe("A".into())),
            b"\x04\x0b\x09SUBSCRIBEA"
        );
        assert_eq!(
            enc(&Command::Subscribe(Bytes::new())),
            b"\x04\x0a\x09SUBSCRIBE"
        );
        assert_eq!(enc(&Command::Cancel("AB".into())), b"\x04\x09\x06CANCELAB");
        // libzmq heartbeat: "\4PING" + 16-bit TTL in deciseconds, empty context.
        assert_eq!(
            enc(&Command::Ping {
                ttl_deciseconds: 0x0102,
                context: Bytes::new()
            }),
            b"\x04\x07\x04PING\x01\x02"
        );
        assert_eq!(
            enc(&Command::Ping {
                ttl_deciseconds: 0,
                context: "ctx".into()
            }),
            b"\x04\x0a\x04PING\x00\x00ctx"
        );
        assert_eq!(
            enc(&Command::Pong {
                context: "ctx".into()
            }),
            b"\x04\x08\x04PONGctx"
        );
        assert_eq!(
            enc(&Command::Error {
                reason: "Bad".into()
            }),
            b"\x04\x0a\x05ERROR\x03Bad"
        );
    }

    #[test]
    fn long_command_uses_long_header() {
        let c = Command::Subscribe(Bytes::from(vec![b'x'; 300]));
        let e = enc(&c);
        assert_eq!(&e[..9], &[0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x36]); // 310 = 0x136
        assert_eq!(parse(&e[9..]).unwrap(), c);
    }

    #[test]
    fn parse_known_and_unknown() {
        assert_eq!(
            parse(b"\x09SUBSCRIBEtopic").unwrap(),
            Command::Subscribe("topic".into())
        );
        assert_eq!(parse(b"\x06CANCEL").unwrap(), Command::Cancel(Bytes::new()));
        assert_eq!(
            parse(b"\x04PING\x00\x0aabc").unwrap(),
            Command::Ping {
                ttl_deciseconds: 10,
                context: "abc".into()
            }
        );
        assert_eq!(
            parse(b"\x04PONG").unwrap(),
            Command::Pong {
                context: Bytes::new()
            }
        );
        assert_eq!(
            parse(b"\x04JOINgroup").unwrap(),
            Command::Unknown {
                name: "JOIN".into(),
                data: "group".into()
            }
        );
        assert_eq!(
            parse(b"\x05ready").unwrap(),
            Command::Unknown {
                name: "ready".into(),
                data: Bytes::new()
            }
        );
        assert_eq!(
            parse(b"\x05ERROR\x02hi--").unwrap(),
            Command::Error {
                reason: "hi".into()
            }
        );
        assert_eq!(
            parse(b"\x05READY").unwrap(),
            Command::Ready(Metadata::new())
        );
    }

    #[test]
    fn parse_malformed() {
        assert!(matches!(
            parse(b""),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(matches!(
            parse(b"\x00"),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(matches!(
            parse(b"\x05READ"),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(matches!(
            parse(b"\xffX"),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(matches!(
            parse(b"\x04PING"),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(matches!(
            parse(b"\x04PING\x00"),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(matches!(
            parse(b"\x04PING\x00\x00012345678901234567"),
            Err(ProtocolError::MalformedCommand(_))
        ));
        assert!(parse(b"\x04PING\x00\x000123456789012345").is_ok());
        assert_eq!(parse(b"\x05ERROR"), Err(ProtocolError::MalformedError));
        assert_eq!(
            parse(b"\x05ERROR\x05abc"),
            Err(ProtocolError::MalformedError)
        );
        assert_eq!(
            parse(b"\x05READY\x05abc"),
            Err(ProtocolError::InvalidMetadata)
        );
    }

    #[test]
    fn encode_truncates_what_cannot_be_encoded() {
        let e = enc(&Command::Error {
            reason: Bytes::from(vec![b'r'; 300]),
        });
        assert_eq!(
            parse(&e[9..]).unwrap(),
            Command::Error {
                reason: Bytes::from(vec![b'r'; 255])
            }
        );
        let p = enc(&Command::Ping {
            ttl_deciseconds: 1,
            context: Bytes::from(vec![1u8; 20]),
        });
        assert_eq!(
            parse(&p[2..]).unwrap(),
            Command::Ping {
                ttl_deciseconds: 1,
                context: Bytes::from(vec![1u8; 16])
            }
        );
    }
}
