//! Connection metadata: the property list carried by READY (and later by
//! PLAIN/CURVE INITIATE and ZAP replies).
//!
//! Wire format, RFC 37 §"The NULL Security Mechanism":
//! ```text
//! metadata = *property
//! property = name value
//! name = short-size 1*255name-char
//! name-char = ALPHA | DIGIT | "-" | "_" | "." | "+"
//! value = 4OCTET *OCTET       ; Size in network byte order
//! ```
//! Names are case-insensitive (RFC 37 §"Connection Metadata"); values are
//! opaque bytes of at most 2^31-1 octets.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;

/// The largest value length RFC 37 allows ("0 to 2,147,483,647 octets").
pub const MAX_VALUE_LEN: usize = i32::MAX as usize;

/// Whether `name` is a valid property name: 1 to 255 octets of
/// ALPHA | DIGIT | "-" | "_" | "." | "+" (RFC 37 `name`/`name-char`).
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+'))
}

/// An ordered list of metadata properties, as sent on the wire.
///
/// Lookups ignore ASCII case, as RFC 37 says names do. [`Metadata::insert`]
/// keeps one entry per name; [`Metadata::parse`] keeps the peer's list as is,
/// including repeated names, and [`Metadata::get`] then returns the first
/// (libzmq keeps the first too: its property map uses insert-or-emplace).
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    entries: Vec<(String, Bytes)>,
    /// The values as NUL-terminated C strings, built on the first
    /// [`Metadata::get_cstr`] (only C callers of `zmq_msg_gets` need them;
    /// one list per connection, shared by all its frames). Cleared by every
    /// change.
    c_values: std::sync::OnceLock<Vec<std::ffi::CString>>,
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Metadata) -> bool {
        self.entries == other.entries
    }
}
impl Eq for Metadata {}

impl Metadata {
    /// An empty property list.
    pub fn new() -> Self {
        Metadata::default()
    }

    /// Sets `name` to `value`, replacing any existing property whose name
    /// matches ignoring case (in place, so order is kept); new names go last.
    ///
    /// # Panics
    /// If `name` is not a valid property name (see [`is_valid_name`]) or the
    /// value is longer than [`MAX_VALUE_LEN`]: such a property cannot be
    /// encoded. Use [`Metadata::try_insert`] for names that come from users.
    pub fn insert(&mut self, name: &str, value: impl Into<Bytes>) {
        if let Err(e) = self.try_insert(name, value) {
            panic!("Metadata::insert({name:?}): {e}");
        }
    }

    /// Like [`Metadata::insert`] but returns [`ProtocolError::InvalidMetadata`]
    /// instead of panicking on an invalid name or an over-long value.
    pub fn try_insert(&mut self, name: &str, value: impl Into<Bytes>) -> Result<(), ProtocolError> {
        let value = value.into();
        if !is_valid_name(name.as_bytes()) || value.len() > MAX_VALUE_LEN {
            return Err(ProtocolError::InvalidMetadata);
        }
        self.c_values = std::sync::OnceLock::new();
        match self
            .entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                self.entries[i] = (name.to_owned(), value);
                let mut j = 0usize;
                self.entries.retain(|(n, _)| {
                    let keep = j <= i || !n.eq_ignore_ascii_case(name);
                    j += 1;
                    keep
                });
            }
            None => self.entries.push((name.to_owned(), value)),
        }
        Ok(())
    }

    /// The value of the first property named `name`, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value of the first property named `name` as a NUL-terminated C
    /// string (what `zmq_msg_gets` returns). A value with a NUL byte inside
    /// reads up to that byte, as a C caller would see it anyway.
    pub fn get_cstr(&self, name: &str) -> Option<&std::ffi::CStr> {
        let i = self.entries.iter().position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        let all = self.c_values.get_or_init(|| {
            self.entries
                .iter()
                .map(|(_, v)| {
                    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                    std::ffi::CString::new(&v[..end]).unwrap_or_default()
                })
                .collect()
        });
        all.get(i).map(|c| c.as_c_str())
    }

    /// Removes every property named `name` (ignoring case); returns the first
    /// removed value.
    pub fn remove(&mut self, name: &str) -> Option<Bytes> {
        self.c_values = std::sync::OnceLock::new();
        let first = self.get(name).cloned();
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        first
    }

    /// The properties in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of properties (repeated names counted each time).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of bytes [`Metadata::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        self.entries.iter().fold(0usize, |acc, (n, v)| {
            acc.saturating_add(1 + n.len() + 4).saturating_add(v.len())
        })
    }

    /// Appends the wire encoding (name-length, name, 4-byte big-endian
    /// value-length, value; per property, in order) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        for (name, value) in &self.entries {
            // Lengths were validated on insert/parse: name 1..=255, value <= 2^31-1.
            out.put_u8(name.len() as u8);
            out.put_slice(name.as_bytes());
            out.put_u32(value.len() as u32);
            out.put_slice(value);
        }
    }

    /// Parses a property list that fills all of `data` (copying it once).
    /// Returns [`ProtocolError::InvalidMetadata`] when a length runs past the
    /// end, a name is empty or has a character outside the RFC 37 set, a
    /// value is longer than 2^31-1, or bytes are left over.
    pub fn parse(data: &[u8]) -> Result<Metadata, ProtocolError> {
        Metadata::parse_bytes(&Bytes::copy_from_slice(data))
    }

    /// [`Metadata::parse`] without copying: values are slices of `data`.
    pub fn parse_bytes(data: &Bytes) -> Result<Metadata, ProtocolError> {
        let mut entries = Vec::new();
        let mut pos = 0usize;
        while pos < data.len() {
            let name_len = usize::from(data[pos]);
            pos += 1;
            let name_end = pos
                .checked_add(name_len)
                .ok_or(ProtocolError::InvalidMetadata)?;
            let name = data
                .get(pos..name_end)
                .ok_or(ProtocolError::InvalidMetadata)?;
            if !is_valid_name(name) {
                return Err(ProtocolError::InvalidMetadata);
            }
            let name = std::str::from_utf8(name).map_err(|_| ProtocolError::InvalidMetadata)?;
            pos = name_end;
            let len_end = pos.checked_add(4).ok_or(ProtocolError::InvalidMetadata)?;
            let len_bytes: [u8; 4] = data
                .get(pos..len_end)
                .and_then(|b| b.try_into().ok())
                .ok_or(ProtocolError::InvalidMetadata)?;
            let value_len = usize::try_from(u32::from_be_bytes(len_bytes))
                .map_err(|_| ProtocolError::InvalidMetadata)?;
            if value_len > MAX_VALUE_LEN {
                return Err(ProtocolError::InvalidMetadata);
            }
            pos = len_end;
            let value_end = pos
                .checked_add(value_len)
                .ok_or(ProtocolError::InvalidMetadata)?;
            if value_end > data.len() {
                return Err(ProtocolError::InvalidMetadata);
            }
            entries.push((name.to_owned(), data.slice(pos..value_end)));
            pos = value_end;
        }
        Ok(Metadata { entries, c_values: std::sync::OnceLock::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_follow_changes() {
        let mut m = Metadata::new();
        m.insert("Socket-Type", "DEALER");
        assert_eq!(m.get_cstr("socket-type").unwrap().to_bytes(), b"DEALER");
        m.insert("socket-type", "ROUTER");
        assert_eq!(m.get_cstr("Socket-Type").unwrap().to_bytes(), b"ROUTER");
        m.insert("X-Nul", &b"ab\0cd"[..]);
        assert_eq!(m.get_cstr("X-Nul").unwrap().to_bytes(), b"ab");
        assert!(m.get_cstr("User-Id").is_none());
    }

    #[test]
    fn insert_replaces_case_insensitively() {
        let mut m = Metadata::new();
        m.insert("Socket-Type", "DEALER");
        m.insert("X-A", "1");
        m.insert("socket-type", "ROUTER");
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("SOCKET-TYPE").unwrap().as_ref(), b"ROUTER");
        assert_eq!(m.iter().next().unwrap().0, "socket-type");
        assert!(m.try_insert("", "x").is_err());
        assert!(m.try_insert("bad name", "x").is_err());
        assert!(m.try_insert(&"a".repeat(256), "x").is_err());
        assert!(m.try_insert(&"a".repeat(255), "x").is_ok());
        assert_eq!(m.remove("x-a").unwrap().as_ref(), b"1");
        assert_eq!(m.get("X-A"), None);
    }

    #[test]
    #[should_panic]
    fn insert_panics_on_bad_name() {
        Metadata::new().insert("a b", "x");
    }

    #[test]
    fn encode_golden() {
        let mut m = Metadata::new();
        m.insert("Socket-Type", "SUB");
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(&out[..], b"\x0bSocket-Type\0\0\0\x03SUB");
        assert_eq!(m.encoded_len(), out.len());
        assert_eq!(Metadata::parse(&out).unwrap(), m);
    }

    #[test]
    fn parse_keeps_duplicates_and_get_returns_first() {
        let m = Metadata::parse(b"\x01A\0\0\0\x011\x01a\0\0\0\x012").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("a").unwrap().as_ref(), b"1");
    }

    #[test]
    fn parse_rejects_lies() {
        let bad: &[&[u8]] = &[
            b"\x05ab",                // name runs past the end
            b"\x00\0\0\0\0",          // empty name
            b"\x02a b\0\0\0\0",       // name length 2 but then junk
            b"\x03a b\0\0\0\0",       // space in name
            b"\x01\xff\0\0\0\0",      // non-ASCII name
            b"\x01a\0\0\0",           // value length truncated
            b"\x01a\0\0\0\x05abc",    // value runs past the end
            b"\x01a\xff\xff\xff\xff", // 4 GiB value declared
            b"\x01a\x80\0\0\0",       // > 2^31-1
            b"\x01a\0\0\0\0\x01",     // trailing byte
        ];
        for b in bad {
            assert_eq!(
                Metadata::parse(b),
                Err(ProtocolError::InvalidMetadata),
                "{b:?}"
            );
        }
        assert_eq!(Metadata::parse(b"").unwrap(), Metadata::new());
        assert!(Metadata::parse(b"\x07X-a.b+_\0\0\0\0").is_ok());
    }
}
