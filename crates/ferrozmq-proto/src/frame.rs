//! ZMTP framing in its three wire formats ([`WireFormat`]):
//!
//! * ZMTP 3.x (RFC 37 §"Framing", §"Formal Grammar"): a flags octet
//!   (MORE=0x01, LONG=0x02, COMMAND=0x04), then a 1-octet size (short frame)
//!   or an 8-octet big-endian size (long frame), then the body.
//! * ZMTP 2.0 (RFC 15 §"Framing"): the same layout without COMMAND.
//! * ZMTP 1.0 (RFC 13 §"The Framing Layer"): a length that *includes* the
//!   flags octet (1 octet, or 0xFF + 8 octets), then flags (MORE=0x01), then
//!   the body of length - 1 octets.
//!
//! The decoder is stateless apart from its limits: it looks at the front of a
//! buffer and takes a frame only when all of it is there. It never reserves
//! memory for a declared length; bodies are zero-copy slices of the input.

use bytes::{Buf, BufMut, BytesMut};

use crate::error::ProtocolError;

/// Flags bit 0: more frames of this message follow (RFC 37; zero on commands).
pub const FLAG_MORE: u8 = 0x01;
/// Flags bit 1: the size field is 8 octets, not 1 (RFC 37).
pub const FLAG_LONG: u8 = 0x02;
/// Flags bit 2: the frame is a command, not a message frame (RFC 37).
pub const FLAG_COMMAND: u8 = 0x04;

/// Length of a short frame header (flags + 1-octet size).
pub const SHORT_HEADER_LEN: usize = 2;
/// Length of a long frame header (flags + 8-octet size); also the largest header.
pub const LONG_HEADER_LEN: usize = 9;
/// Largest body RFC 37 allows in a long frame: 2^63-1 octets.
pub const MAX_FRAME_BODY: u64 = i64::MAX as u64;
/// Length of a ZMTP 1.0 long header (0xFF + 8-octet length + flags), the
/// largest header of any format.
pub const V1_LONG_HEADER_LEN: usize = 10;

/// The framing a connection uses, fixed by the handshake
/// ([`crate::PeerInfo::format`]): libzmq picks `v1_encoder`/`v1_decoder`
/// for ZMTP 1.0 peers, `v2_*` for 2.0 and 3.0, and `v3_1_encoder` +
/// `v2_decoder` for 3.1 (reference §5.3). The 3.0/3.1 difference is only in
/// how subscriptions travel, not in framing, so both are [`WireFormat::V3`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// ZMTP 1.0 (RFC 13): length (including flags) then flags; MORE only.
    V1,
    /// ZMTP 2.0 (RFC 15): flags then length; MORE and LONG.
    V2,
    /// ZMTP 3.x (RFC 23/37): ZMTP 2.0 framing plus the COMMAND flag.
    V3,
}

/// A decoded frame header, returned before the body has arrived so a caller
/// can check limits or pre-size a receive buffer for very large frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The MORE flag: another frame of the same message follows.
    pub more: bool,
    /// The COMMAND flag: this is a command frame.
    pub command: bool,
    /// Bytes taken by the header itself: 2 (short) or 9 (long); for
    /// [`WireFormat::V1`] 2 (short) or 10 (long: 0xFF, 8-octet length, flags).
    pub header_len: usize,
    /// Declared body length.
    pub body_len: u64,
}

/// One whole frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The MORE flag: another frame of the same message follows.
    pub more: bool,
    /// The COMMAND flag: the body is a command (name-length, name, data).
    pub command: bool,
    /// The body, a zero-copy slice of the decoder's input.
    pub body: bytes::Bytes,
}

/// Decodes ZMTP 3.x frames from the front of a buffer. Stateless apart from
/// its limits, so one decoder can serve any number of buffers.
///
/// Reserved flag bits 3-7 are ignored, not rejected: RFC 37 says senders
/// "MUST" zero them, but libzmq's `v2_decoder` ignores them and peers
/// interoperate with libzmq. A command frame with MORE set is passed through
/// with both flags; the caller decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameDecoder {
    max_msg_size: Option<u64>,
    max_command_size: Option<u64>,
    format: WireFormat,
}

impl FrameDecoder {
    /// A decoder that refuses bodies longer than `max_msg_size`
    /// (`ZMQ_MAXMSGSIZE`; `None` = unlimited, though never above 2^63-1).
    /// The limit applies to message and command frames alike, as in libzmq.
    pub fn new(max_msg_size: Option<u64>) -> Self {
        FrameDecoder::for_format(WireFormat::V3, max_msg_size)
    }

    /// A decoder for `format` (see [`FrameDecoder::new`] for the limit).
    /// [`WireFormat::V2`] decodes exactly like V3, COMMAND flag included, as
    /// libzmq's shared `v2_decoder` does; [`WireFormat::V1`] frames never
    /// have `command` set.
    pub fn for_format(format: WireFormat, max_msg_size: Option<u64>) -> Self {
        FrameDecoder {
            max_msg_size,
            max_command_size: None,
            format,
        }
    }

    /// The wire format this decoder reads.
    pub fn format(&self) -> WireFormat {
        self.format
    }

    /// Adds a further limit for command frames only (the handshake uses this
    /// to cap READY whatever `ZMQ_MAXMSGSIZE` is).
    pub fn with_command_limit(mut self, max_command_size: Option<u64>) -> Self {
        self.max_command_size = max_command_size;
        self
    }

    /// The message-size limit this decoder enforces.
    pub fn max_msg_size(&self) -> Option<u64> {
        self.max_msg_size
    }

    /// Parses only the header at the front of `buf`; `Ok(None)` if it is
    /// incomplete. Fails with [`ProtocolError::FrameTooLarge`] when the body
    /// is longer than the limits, longer than 2^63-1 (RFC 37: "A long frame
    /// has a body of 0 to 2^63-1 octets"), even with no limit, or longer than
    /// this platform's `usize`.
    ///
    /// For [`WireFormat::V1`] (RFC 13 §"The Framing Layer") the header is
    /// the length (1 octet below 0xFF, else 0xFF + 8 octets) and the flags
    /// octet, so it is complete only once the flags octet is there; a length
    /// of 0 is [`ProtocolError::InvalidFrame`] (libzmq `v1_decoder`: EPROTO).
    /// Only MORE is read from V1 flags (libzmq masks `msg_t::more`).
    pub fn decode_header(&self, buf: &[u8]) -> Result<Option<FrameHeader>, ProtocolError> {
        if self.format == WireFormat::V1 {
            return self.decode_header_v1(buf);
        }
        let Some(&flags) = buf.first() else {
            return Ok(None);
        };
        let command = flags & FLAG_COMMAND != 0;
        let (header_len, body_len) = if flags & FLAG_LONG != 0 {
            match buf
                .get(1..LONG_HEADER_LEN)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
            {
                Some(size) => (LONG_HEADER_LEN, u64::from_be_bytes(size)),
                None => return Ok(None),
            }
        } else {
            match buf.get(1) {
                Some(&size) => (SHORT_HEADER_LEN, u64::from(size)),
                None => return Ok(None),
            }
        };
        self.check_limits(command, body_len)?;
        Ok(Some(FrameHeader {
            more: flags & FLAG_MORE != 0,
            command,
            header_len,
            body_len,
        }))
    }

    /// RFC 13 framing: `length = OCTET / (%xFF 8OCTET)`, then flags, then
    /// length - 1 octets of body.
    fn decode_header_v1(&self, buf: &[u8]) -> Result<Option<FrameHeader>, ProtocolError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let (length, flags_pos) = if first == 0xFF {
            match buf.get(1..9).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                Some(size) => (u64::from_be_bytes(size), 9),
                None => return Ok(None),
            }
        } else {
            (u64::from(first), 1)
        };
        // RFC 13: "The minimum valid length of a frame is 1 octet, thus a
        // length of 0 is invalid" (libzmq v1_decoder: EPROTO, fail fast).
        if length == 0 {
            return Err(ProtocolError::InvalidFrame("ZMTP 1.0 frame length 0"));
        }
        let body_len = length - 1;
        self.check_limits(false, body_len)?;
        let Some(&flags) = buf.get(flags_pos) else {
            return Ok(None);
        };
        Ok(Some(FrameHeader {
            more: flags & FLAG_MORE != 0,
            command: false,
            header_len: flags_pos + 1,
            body_len,
        }))
    }

    /// Applies the message, command, 2^63-1 and address-space limits.
    fn check_limits(&self, command: bool, body_len: u64) -> Result<(), ProtocolError> {
        let mut max = MAX_FRAME_BODY;
        if let Some(m) = self.max_msg_size {
            max = max.min(m);
        }
        if command {
            if let Some(m) = self.max_command_size {
                max = max.min(m);
            }
        }
        // Body plus header must be addressable on this platform.
        let addressable = (usize::MAX - V1_LONG_HEADER_LEN) as u64;
        max = max.min(addressable);
        if body_len > max {
            return Err(ProtocolError::FrameTooLarge {
                size: body_len,
                max,
            });
        }
        Ok(())
    }

    /// If a whole frame is at the front of `buf`, removes it and returns it
    /// (the body is a zero-copy `split_to(..).freeze()` of `buf`). `Ok(None)`
    /// if more bytes are needed; it never reserves capacity for the declared
    /// length. On error nothing is consumed.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        let Some(h) = self.decode_header(buf)? else {
            return Ok(None);
        };
        // decode_header guarantees body_len + header_len fits in usize.
        let body_len = usize::try_from(h.body_len).map_err(|_| ProtocolError::FrameTooLarge {
            size: h.body_len,
            max: usize::MAX as u64,
        })?;
        let total = h
            .header_len
            .checked_add(body_len)
            .ok_or(ProtocolError::FrameTooLarge {
                size: h.body_len,
                max: usize::MAX as u64,
            })?;
        if buf.len() < total {
            return Ok(None);
        }
        buf.advance(h.header_len);
        let body = buf.split_to(body_len).freeze();
        Ok(Some(Frame {
            more: h.more,
            command: h.command,
            body,
        }))
    }
}

/// Writes a frame header into `out` and returns its length: 2 for a body of
/// at most 255 octets, else 9. libzmq's encoders use the short form exactly
/// when the body fits (RFC 37 only says SHOULD); we match byte for byte.
pub fn encode_header(more: bool, command: bool, body_len: u64, out: &mut [u8; 9]) -> usize {
    let mut flags = 0u8;
    if more {
        flags |= FLAG_MORE;
    }
    if command {
        flags |= FLAG_COMMAND;
    }
    match u8::try_from(body_len) {
        Ok(short) => {
            out[0] = flags;
            out[1] = short;
            SHORT_HEADER_LEN
        }
        Err(_) => {
            out[0] = flags | FLAG_LONG;
            out[1..9].copy_from_slice(&body_len.to_be_bytes());
            LONG_HEADER_LEN
        }
    }
}

/// Appends a whole frame (header + body) to `out`.
pub fn encode_frame(more: bool, command: bool, body: &[u8], out: &mut BytesMut) {
    encode_frame_for(WireFormat::V3, more, command, body, out);
}

/// Writes a frame header for `format` into `out` and returns its length.
///
/// * V3: as [`encode_header`] (2 or 9 octets).
/// * V2: the same, COMMAND included if asked (libzmq's `v2_encoder` writes
///   it; RFC 15 peers never see commands because nothing sends them any).
/// * V1 (RFC 13, libzmq `v1_encoder`): length = body + 1 as one octet when
///   below 255, else 0xFF + 8 octets; then flags with MORE only (2 or 10
///   octets). ZMTP 1.0 has no commands: `command` is ignored, so a caller
///   must not send commands to a V1 peer.
pub fn encode_header_for(
    format: WireFormat,
    more: bool,
    command: bool,
    body_len: u64,
    out: &mut [u8; 10],
) -> usize {
    match format {
        WireFormat::V2 | WireFormat::V3 => {
            let mut h = [0u8; 9];
            let n = encode_header(more, command, body_len, &mut h);
            out[..n].copy_from_slice(&h[..n]);
            n
        }
        WireFormat::V1 => {
            let flags = if more { FLAG_MORE } else { 0 };
            let length = body_len.saturating_add(1);
            if length < 0xFF {
                out[0] = length as u8;
                out[1] = flags;
                SHORT_HEADER_LEN
            } else {
                out[0] = 0xFF;
                out[1..9].copy_from_slice(&length.to_be_bytes());
                out[9] = flags;
                V1_LONG_HEADER_LEN
            }
        }
    }
}

/// Appends a whole frame (header for `format` + body) to `out`.
pub fn encode_frame_for(
    format: WireFormat,
    more: bool,
    command: bool,
    body: &[u8],
    out: &mut BytesMut,
) {
    let mut header = [0u8; 10];
    let n = encode_header_for(format, more, command, body.len() as u64, &mut header);
    out.reserve(n + body.len());
    out.put_slice(&header[..n]);
    out.put_slice(body);
}

/// Encrypts and decrypts the frames of a connection whose mechanism
/// protects data after the handshake (CURVE: RFC 26 §"The MESSAGE Command";
/// libzmq `curve_encoding_t`). Obtained from
/// [`crate::Handshake::take_cipher`] once the handshake is complete; NULL
/// and PLAIN have none. Every error is final: close the connection.
pub trait FrameCipher: std::fmt::Debug {
    /// Appends one whole frame to `out` that carries `body` with its MORE and
    /// COMMAND flags inside the box (CURVE: a MESSAGE command frame; the
    /// inner flags octet is libzmq's `msg_t` flags, MORE = 0x01 and
    /// COMMAND = 0x02). Fails only when the nonce counter is exhausted.
    fn encrypt(
        &mut self,
        more: bool,
        command: bool,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), ProtocolError>;

    /// Opens one frame as decoded by a [`FrameDecoder`] (CURVE: a MESSAGE
    /// command) and returns the inner frame with its own flags. Rejects
    /// other commands, short frames, replayed or reordered nonces and boxes
    /// that do not open.
    fn decrypt(&mut self, frame: Frame) -> Result<Frame, ProtocolError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(more: bool, command: bool, len: u64) -> Vec<u8> {
        let mut h = [0u8; 9];
        let n = encode_header(more, command, len, &mut h);
        h[..n].to_vec()
    }

    #[test]
    fn header_golden() {
        assert_eq!(hdr(false, false, 0), [0x00, 0x00]);
        assert_eq!(hdr(true, false, 5), [0x01, 0x05]);
        assert_eq!(hdr(false, true, 255), [0x04, 0xff]);
        assert_eq!(hdr(false, false, 256), [0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(hdr(true, false, 256), [0x03, 0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(
            hdr(false, true, 0x0102_0304_0506_0708),
            [0x06, 1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn decode_short_and_long_and_leftover() {
        let mut buf = BytesMut::new();
        encode_frame(true, false, b"abc", &mut buf);
        encode_frame(false, false, &[7u8; 300], &mut buf);
        buf.put_slice(b"\x00");
        let d = FrameDecoder::new(None);
        let f = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!(
            f,
            Frame {
                more: true,
                command: false,
                body: "abc".into()
            }
        );
        let f = d.decode(&mut buf).unwrap().unwrap();
        assert!(!f.more && f.body.len() == 300);
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert_eq!(&buf[..], b"\x00");
    }

    #[test]
    fn long_form_with_small_size_is_accepted() {
        let mut buf = BytesMut::from(&b"\x02\0\0\0\0\0\0\0\x01x"[..]);
        let f = FrameDecoder::new(None).decode(&mut buf).unwrap().unwrap();
        assert_eq!(f.body.as_ref(), b"x");
    }

    #[test]
    fn reserved_bits_ignored() {
        let mut buf = BytesMut::from(&b"\xf9\x01x"[..]);
        let f = FrameDecoder::new(None).decode(&mut buf).unwrap().unwrap();
        assert!(f.more && !f.command);
    }

    #[test]
    fn incomplete_needs_more_and_does_not_reserve() {
        let d = FrameDecoder::new(None);
        let mut buf = BytesMut::from(&b"\x02\x00\x00\x00\x10\x00\x00\x00\x00"[..]);
        let cap = buf.capacity();
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), 9);
        assert_eq!(buf.capacity(), cap);
        for n in 0..9 {
            assert_eq!(
                d.decode_header(&b"\x02\0\0\0\0\0\0\0\x05"[..n]).unwrap(),
                None
            );
        }
    }

    fn hdr_for(format: WireFormat, more: bool, command: bool, len: u64) -> Vec<u8> {
        let mut h = [0u8; 10];
        let n = encode_header_for(format, more, command, len, &mut h);
        h[..n].to_vec()
    }

    #[test]
    fn v1_header_golden() {
        // RFC 13: length includes the flags octet.
        assert_eq!(hdr_for(WireFormat::V1, false, false, 0), [0x01, 0x00]);
        assert_eq!(hdr_for(WireFormat::V1, true, true, 5), [0x06, 0x01]);
        assert_eq!(hdr_for(WireFormat::V1, false, false, 253), [0xfe, 0x00]);
        // libzmq v1_encoder: size (body + 1) < 255 is short, else 0xFF + 8 octets.
        assert_eq!(
            hdr_for(WireFormat::V1, false, false, 254),
            [0xff, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x00]
        );
        assert_eq!(
            hdr_for(WireFormat::V1, true, false, 300),
            [0xff, 0, 0, 0, 0, 0, 0, 0x01, 0x2d, 0x01]
        );
        assert_eq!(hdr_for(WireFormat::V2, true, false, 5), [0x01, 0x05]);
        assert_eq!(hdr_for(WireFormat::V3, false, true, 5), [0x04, 0x05]);
    }

    #[test]
    fn v1_decode() {
        let d = FrameDecoder::for_format(WireFormat::V1, None);
        assert_eq!(d.format(), WireFormat::V1);
        let mut buf = BytesMut::new();
        encode_frame_for(WireFormat::V1, true, false, b"abc", &mut buf);
        encode_frame_for(WireFormat::V1, false, false, &[9u8; 300], &mut buf);
        assert_eq!(&buf[..2], b"\x04\x01");
        let f = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!((f.more, f.command, &f.body[..]), (true, false, &b"abc"[..]));
        let f = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!((f.more, f.body.len()), (false, 300));
        assert!(buf.is_empty());
        // The libzmq signature read as a V1 identity frame header: FF, 8-byte
        // length 1, flags 0x7F (only MORE is kept), empty body.
        let h = d
            .decode_header(b"\xff\0\0\0\0\0\0\0\x01\x7f")
            .unwrap()
            .unwrap();
        assert_eq!(
            h,
            FrameHeader {
                more: true,
                command: false,
                header_len: 10,
                body_len: 0
            }
        );
        // Incomplete until the flags octet arrives.
        assert_eq!(d.decode_header(b"\x05").unwrap(), None);
        assert_eq!(d.decode_header(b"\xff\0\0\0\0\0\0\0\x05").unwrap(), None);
        // Length 0 is invalid (RFC 13), short or long.
        assert!(matches!(
            d.decode_header(b"\x00"),
            Err(ProtocolError::InvalidFrame(_))
        ));
        assert!(matches!(
            d.decode_header(b"\xff\0\0\0\0\0\0\0\0"),
            Err(ProtocolError::InvalidFrame(_))
        ));
        // Command-looking flags are just flags in V1.
        let h = d.decode_header(b"\x02\x04x").unwrap().unwrap();
        assert!(!h.command && !h.more);
        // Limits apply to length - 1, before the flags octet arrives.
        let small = FrameDecoder::for_format(WireFormat::V1, Some(3));
        assert!(small.decode_header(b"\x04\x00").unwrap().is_some());
        assert_eq!(
            small.decode_header(b"\x05"),
            Err(ProtocolError::FrameTooLarge { size: 4, max: 3 })
        );
        assert!(matches!(
            FrameDecoder::for_format(WireFormat::V1, None)
                .decode_header(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn v2_decodes_like_v3() {
        let d = FrameDecoder::for_format(WireFormat::V2, None);
        let mut buf = BytesMut::from(&b"\x05\x01x"[..]);
        let f = d.decode(&mut buf).unwrap().unwrap();
        assert!(f.more && f.command);
    }

    #[test]
    fn too_large() {
        let d = FrameDecoder::new(Some(10));
        let mut buf = BytesMut::from(&b"\x00\x0b"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(ProtocolError::FrameTooLarge { size: 11, max: 10 })
        );
        assert_eq!(buf.len(), 2, "nothing consumed on error");
        let mut ok = BytesMut::from(&b"\x00\x0a0123456789"[..]);
        assert!(d.decode(&mut ok).unwrap().is_some());

        let unlimited = FrameDecoder::new(None);
        let mut huge = BytesMut::from(&b"\x02\x80\0\0\0\0\0\0\0"[..]);
        assert_eq!(
            unlimited.decode(&mut huge),
            Err(ProtocolError::FrameTooLarge {
                size: 1 << 63,
                max: MAX_FRAME_BODY
            })
        );
        let mut max = BytesMut::from(&b"\x06\xff\xff\xff\xff\xff\xff\xff\xff"[..]);
        assert!(matches!(
            unlimited.decode(&mut max),
            Err(ProtocolError::FrameTooLarge { size: u64::MAX, .. })
        ));
        assert_eq!(max.len(), 9);

        let cmd = FrameDecoder::new(None).with_command_limit(Some(4));
        assert!(cmd.decode_header(b"\x04\x05").is_err());
        assert!(cmd.decode_header(b"\x00\x05").unwrap().is_some());
    }
}
