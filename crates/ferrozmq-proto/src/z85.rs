//! Z85 (RFC 32/Z85): the printable encoding of CURVE keys used by
//! `zmq_z85_encode`/`zmq_z85_decode` and the `ZMQ_CURVE_*KEY` options.
//!
//! RFC 32 §"Formal Specification": binary frames are a multiple of 4 octets,
//! strings a multiple of 5 characters; each 4 octets are a big-endian u32
//! written as 5 base-85 digits, most significant first.

use std::fmt;

/// RFC 32 §"Formal Specification": the base-85 digits 0..84.
const ENCODER: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Why a Z85 encode or decode was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Z85Error {
    /// Binary input whose length is not a multiple of 4 (RFC 32: "SHALL have
    /// a length that is divisible by 4").
    BinaryLength,
    /// Text whose length is not a multiple of 5 (RFC 32: "SHALL have a
    /// length that is divisible by 5").
    TextLength,
    /// A character outside the 85-character alphabet, at this byte offset.
    InvalidCharacter(usize),
    /// A 5-character group worth more than 2^32-1 (libzmq `zmq_z85_decode`
    /// rejects it too), starting at this byte offset.
    Overflow(usize),
}

impl fmt::Display for Z85Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Z85Error::BinaryLength => f.write_str("Z85 input length is not a multiple of 4"),
            Z85Error::TextLength => f.write_str("Z85 text length is not a multiple of 5"),
            Z85Error::InvalidCharacter(at) => write!(f, "invalid Z85 character at offset {at}"),
            Z85Error::Overflow(at) => write!(f, "Z85 group at offset {at} exceeds 32 bits"),
        }
    }
}

impl std::error::Error for Z85Error {}

/// The value 0..84 of a Z85 digit, or `None`.
fn digit(c: u8) -> Option<u32> {
    ENCODER.iter().position(|&e| e == c).map(|p| p as u32)
}

/// Encodes `data` (length a multiple of 4) as Z85 text (RFC 32).
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::BinaryLength);
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut group = [0u8; 5];
        for slot in group.iter_mut().rev() {
            *slot = ENCODER[(value % 85) as usize];
            value /= 85;
        }
        // Every digit is ASCII.
        out.extend(group.iter().map(|&b| char::from(b)));
    }
    Ok(out)
}

/// Decodes Z85 `text` (length a multiple of 5) into bytes (RFC 32).
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let bytes = text.as_bytes();
    if bytes.len() % 5 != 0 {
        return Err(Z85Error::TextLength);
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for (i, group) in bytes.chunks_exact(5).enumerate() {
        let mut value: u32 = 0;
        for (j, &c) in group.iter().enumerate() {
            let d = digit(c).ok_or(Z85Error::InvalidCharacter(i * 5 + j))?;
            value = value
                .checked_mul(85)
                .and_then(|v| v.checked_add(d))
                .ok_or(Z85Error::Overflow(i * 5))?;
        }
        out.extend_from_slice(&value.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc32_test_vector() {
        let bin = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&bin).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), bin);
    }

    #[test]
    fn libzmq_curve_test_keys() {
        // The key pair from libzmq's curve test (tests/test_security_curve.cpp).
        let public = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        let secret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
        assert_eq!(decode(public).unwrap().len(), 32);
        assert_eq!(encode(&decode(secret).unwrap()).unwrap(), secret);
    }

    #[test]
    fn errors() {
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::BinaryLength));
        assert_eq!(decode("abcd"), Err(Z85Error::TextLength));
        assert_eq!(decode("abc\"e"), Err(Z85Error::InvalidCharacter(3)));
        assert_eq!(decode("0000~"), Err(Z85Error::InvalidCharacter(4)));
        // "%nSc1" is 2^32 exactly: one more than u32 can hold.
        assert_eq!(decode("%nSc0").unwrap(), [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(decode("%nSc1"), Err(Z85Error::Overflow(0)));
        assert_eq!(decode("#####"), Err(Z85Error::Overflow(0)));
        assert_eq!(encode(&[]).unwrap(), "");
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
        assert_eq!(decode("é123"), Err(Z85Error::InvalidCharacter(0)));
    }
}
