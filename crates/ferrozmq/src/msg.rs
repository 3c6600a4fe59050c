//! `Msg`: one frame of a ZeroMQ message.
//!
//! A message is one or more frames; every frame but the last carries the MORE
//! flag. Payloads up to [`INLINE_CAPACITY`] bytes live inside the `Msg` itself
//! (no allocation, no refcount traffic on the hot path); larger payloads are a
//! reference-counted [`Bytes`], so copying a message to many subscribers or
//! moving it through an inproc pipe never copies the payload.
//!
//! `Msg` is at most 64 bytes so that the C ABI's opaque `zmq_msg_t` (64 bytes)
//! can hold one by value.

use crate::payload_pool::PooledBuf;
use bytes::{Bytes, BytesMut};
use ferrozmq_proto::Metadata;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Largest payload stored inline, without a heap allocation.
pub const INLINE_CAPACITY: usize = 38;

/// The variant tag is a whole word (`repr(u64)`): with a one-byte tag, every
/// move of a `Msg` through `Option`/`Result` copied the tag and then the
/// other 55 bytes at odd offsets, and reloading that staged copy stalled
/// store forwarding (a third of the time of taking a frame out of a pipe).
/// With a word tag every copy is whole aligned words.
#[derive(Clone)]
#[repr(u64)]
enum Payload {
    Inline { len: u8, data: [u8; INLINE_CAPACITY] },
    Shared(Bytes),
    /// A private, writable buffer (from `with_size` or copy-on-write).
    Unique(BytesMut),
    /// A private buffer of 39 B to 8 KiB, recycled between threads when the
    /// message is dropped (see `payload_pool`).
    Pooled(PooledBuf),
}

/// One frame of a message, with its MORE flag.
///
/// Cheap to clone: inline payloads are copied (they are small), shared
/// payloads bump a reference count.
///
/// ```
/// use bytes::Bytes;
/// use ferrozmq::Msg;
/// let small = Msg::from("hello"); // stored inline, no allocation
/// assert_eq!(&*small, b"hello");
/// let big = Bytes::from(vec![0u8; 4096]);
/// let shared = Msg::from(big.clone()); // zero-copy: shares the buffer
/// assert_eq!(shared.as_bytes().as_ptr(), big.as_ptr());
/// let mut part = Msg::from("frame 1");
/// part.set_more(true);
/// assert!(part.get_more());
/// ```
#[derive(Clone)]
#[repr(C)]
pub struct Msg {
    payload: Payload,
    head: Head,
    /// The properties of the connection a received frame came from
    /// (`zmq_msg_gets`): shared by every frame of that connection, attached
    /// by the receiving socket's thread so the reference count never
    /// bounces between threads.
    metadata: Option<Arc<Metadata>>,
}

/// The MORE flag and the routing id, together one whole word. As a `bool`
/// the flag left seven bytes of padding at the end of `Msg`, which moves of
/// a `Msg` copied with overlapping 4-byte loads and stores; reloading those
/// stalled store forwarding, measured at a third of the time of taking a
/// frame out of a pipe. With no padding, a move is whole 8- and 16-byte words.
///
/// `flags` also carries [`HEAD_MARK`] in its high half, so that the C ABI
/// can tell a `zmq_msg_t` that holds a `Msg` from one that was never
/// initialised or was already closed (libzmq checks its type byte the same
/// way and answers `EFAULT`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C)]
struct Head {
    flags: u32,
    /// The routing id of CLIENT/SERVER messages (`zmq_msg_routing_id`); 0 = none.
    routing_id: u32,
}

/// The high half of `Head::flags` in every live `Msg`.
const HEAD_MARK: u32 = 0x4D53_0000;
const FLAG_MORE: u32 = 1;

impl Head {
    const NEW: Head = Head { flags: HEAD_MARK, routing_id: 0 };

    #[inline]
    fn more(self) -> bool {
        self.flags & FLAG_MORE != 0
    }
}

// The C ABI stores a `Msg` inside a 64-byte `zmq_msg_t`.
const _: () = assert!(std::mem::size_of::<Msg>() <= 64);

impl Msg {
    /// An empty frame (zero bytes), as `zmq_msg_init` makes.
    pub const fn new() -> Msg {
        Msg { payload: Payload::Inline { len: 0, data: [0; INLINE_CAPACITY] }, head: Head::NEW, metadata: None }
    }

    /// A frame holding a copy of `data`; small frames are stored inline.
    pub fn copy_from_slice(data: &[u8]) -> Msg {
        if data.len() <= INLINE_CAPACITY {
            let mut buf = [0u8; INLINE_CAPACITY];
            buf[..data.len()].copy_from_slice(data);
            Msg { payload: Payload::Inline { len: data.len() as u8, data: buf }, head: Head::NEW, metadata: None }
        } else {
            let payload = match PooledBuf::copy_of(data) {
                Some(p) => Payload::Pooled(p),
                None => Payload::Shared(Bytes::copy_from_slice(data)),
            };
            Msg { payload, head: Head::NEW, metadata: None }
        }
    }

    /// A frame of `size` zero bytes (`zmq_msg_init_size`).
    pub fn with_size(size: usize) -> Msg {
        if size <= INLINE_CAPACITY {
            Msg { payload: Payload::Inline { len: size as u8, data: [0; INLINE_CAPACITY] }, head: Head::NEW, metadata: None }
        } else {
            let payload = match PooledBuf::zeroed(size) {
                Some(p) => Payload::Pooled(p),
                None => Payload::Unique(BytesMut::zeroed(size)),
            };
            Msg { payload, head: Head::NEW, metadata: None }
        }
    }

    /// Builds a frame around a `Bytes` without copying, unless it is small
    /// enough to store inline (which is cheaper to move around than a refcount).
    pub fn from_bytes(bytes: Bytes) -> Msg {
        if bytes.len() <= INLINE_CAPACITY {
            Msg::copy_from_slice(&bytes)
        } else {
            Msg { payload: Payload::Shared(bytes), head: Head::NEW, metadata: None }
        }
    }

    /// The payload.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.payload {
            Payload::Inline { len, data } => &data[..*len as usize],
            Payload::Shared(b) => b,
            Payload::Unique(b) => b,
            Payload::Pooled(b) => b.as_slice(),
        }
    }

    /// An inline payload as its length and the whole fixed-size store
    /// (bytes past the length are not part of the frame). Lets the encoder
    /// copy a small frame with constant-size moves instead of a `memcpy`
    /// call per frame.
    #[inline]
    pub(crate) fn inline_parts(&self) -> Option<(usize, &[u8; INLINE_CAPACITY])> {
        match &self.payload {
            Payload::Inline { len, data } => Some((*len as usize, data)),
            _ => None,
        }
    }

    /// A frame of the first `len` (≤ [`INLINE_CAPACITY`]) bytes of `data`,
    /// stored inline; the decoder's constant-size counterpart of
    /// `copy_from_slice` (the rest of `data` is kept but never exposed).
    #[inline]
    pub(crate) fn from_inline(len: usize, data: [u8; INLINE_CAPACITY]) -> Msg {
        debug_assert!(len <= INLINE_CAPACITY);
        Msg { payload: Payload::Inline { len: len.min(INLINE_CAPACITY) as u8, data }, head: Head::NEW, metadata: None }
    }

    /// Mutable access to the payload (`zmq_msg_data`). A shared payload is
    /// copied once into a private buffer first (copy-on-write), so no other
    /// message ever sees the change.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        if let Payload::Shared(b) = &self.payload {
            self.payload = Payload::Unique(BytesMut::from(&b[..]));
        }
        match &mut self.payload {
            Payload::Inline { len, data } => &mut data[..*len as usize],
            Payload::Unique(b) => &mut b[..],
            Payload::Pooled(b) => b.as_mut_slice(),
            Payload::Shared(_) => unreachable!("converted to Unique above"),
        }
    }

    /// Payload length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.payload {
            Payload::Inline { len, .. } => *len as usize,
            Payload::Shared(b) => b.len(),
            Payload::Unique(b) => b.len(),
            Payload::Pooled(b) => b.as_slice().len(),
        }
    }

    /// True for a zero-length frame (delimiters, STREAM notifications).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if more frames of the same message follow this one.
    #[inline]
    pub fn get_more(&self) -> bool {
        self.head.more()
    }

    /// Sets the MORE flag (normally done by `send` from `SNDMORE`).
    #[inline]
    pub fn set_more(&mut self, more: bool) {
        self.head.flags = HEAD_MARK | more as u32;
    }

    /// The routing id a SERVER stamped on a received message, or that a
    /// SERVER is to route a reply by (`zmq_msg_routing_id`); 0 = none.
    #[inline]
    pub fn routing_id(&self) -> u32 {
        self.head.routing_id
    }

    /// Sets the routing id (`zmq_msg_set_routing_id`); 0 clears it.
    #[inline]
    pub fn set_routing_id(&mut self, id: u32) {
        self.head.routing_id = id;
    }

    /// The payload as a `Bytes` (zero-copy for shared payloads).
    pub fn into_bytes(self) -> Bytes {
        match self.payload {
            Payload::Inline { len, data } => Bytes::copy_from_slice(&data[..len as usize]),
            Payload::Shared(b) => b,
            Payload::Unique(b) => b.freeze(),
            Payload::Pooled(b) => Bytes::from(b.into_vec()),
        }
    }

    /// The payload as UTF-8 text, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// A property of the connection this frame was received on
    /// (`zmq_msg_gets`): `Socket-Type`, `Identity` (or `Routing-Id`),
    /// `Peer-Address`, and after ZAP authentication `User-Id` and the
    /// handler's metadata; names ignore ASCII case. `None` for frames that
    /// were not received from a ZMTP connection (built locally, or over
    /// inproc, as in libzmq) and for properties the peer did not send.
    ///
    /// ```
    /// # use ferrozmq::Msg;
    /// assert_eq!(Msg::from("local").gets("Socket-Type"), None);
    /// ```
    pub fn gets(&self, name: &str) -> Option<&str> {
        self.property(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Like [`Msg::gets`], for values that need not be UTF-8.
    pub fn property(&self, name: &str) -> Option<&[u8]> {
        let meta = self.metadata.as_deref()?;
        if name.eq_ignore_ascii_case("Routing-Id") {
            // libzmq answers both names from the peer's Identity property.
            return meta.get("Identity").map(|b| &b[..]);
        }
        meta.get(name).map(|b| &b[..])
    }

    /// Every property of the connection this frame came from, if any.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_deref()
    }

    /// Gives this frame the connection properties of `other`.
    #[inline]
    pub(crate) fn copy_metadata_from(&mut self, other: &Msg) {
        self.metadata = other.metadata.clone();
    }

    /// Attaches a connection's properties (done by the receiving pipe).
    #[inline]
    pub(crate) fn set_metadata(&mut self, metadata: Option<Arc<Metadata>>) {
        self.metadata = metadata;
    }

    /// True if the payload is shared with other messages (`ZMQ_SHARED`).
    pub fn is_shared(&self) -> bool {
        !matches!(self.payload, Payload::Inline { .. })
    }

    /// Whether the payload may be shared with another message
    /// (`zmq_msg_get(ZMQ_SHARED)`): after a copy that shares it, or when it is
    /// constant data (`zmq_send_const`, a static `Bytes`). A payload of its
    /// own (inline, private or pooled) is not.
    pub fn payload_is_shared(&self) -> bool {
        match &self.payload {
            Payload::Shared(b) => !b.is_unique(),
            _ => false,
        }
    }

    /// Builds a frame around a `Bytes` without copying, whatever its size:
    /// `zmq_msg_init_data` and `zmq_send_const` hand over a caller's buffer,
    /// and the caller must get its own pointer back from `zmq_msg_data` and
    /// its free callback only when the last reference goes.
    pub fn from_bytes_shared(bytes: Bytes) -> Msg {
        Msg { payload: Payload::Shared(bytes), head: Head::NEW, metadata: None }
    }

    /// A copy that shares this frame's payload (`zmq_msg_copy`): a private
    /// buffer is frozen into a shared one first, so neither copy duplicates
    /// the bytes. The copy keeps the MORE flag, routing id and properties.
    pub fn share(&mut self) -> Msg {
        match &mut self.payload {
            Payload::Unique(b) => {
                let frozen = std::mem::take(b).freeze();
                self.payload = Payload::Shared(frozen);
            }
            Payload::Pooled(_) => {
                let Payload::Pooled(b) = std::mem::replace(&mut self.payload, Payload::Shared(Bytes::new())) else {
                    unreachable!("matched Pooled above")
                };
                self.payload = Payload::Shared(Bytes::from(b.into_vec()));
            }
            _ => {}
        }
        self.clone()
    }

    /// Like [`Msg::gets`], as a NUL-terminated C string that lives as long
    /// as the message (`zmq_msg_gets` returns a `const char *`).
    pub fn property_cstr(&self, name: &str) -> Option<&std::ffi::CStr> {
        let meta = self.metadata.as_deref()?;
        let name = if name.eq_ignore_ascii_case("Routing-Id") { "Identity" } else { name };
        meta.get_cstr(name)
    }

    /// Whether 64 raw bytes hold a live `Msg` (written by one of the
    /// constructors and not yet dropped): its payload tag is one of the four
    /// and its head carries the mark. The C ABI asks this before it treats a
    /// caller's `zmq_msg_t` as a `Msg`, so that a message that was never
    /// initialised, or was closed (the ABI zeroes it), fails with `EFAULT`
    /// as in libzmq instead of being read as one. A check, not a proof:
    /// garbage that happens to look right is not detected (nor is it by
    /// libzmq).
    #[doc(hidden)]
    pub fn raw_looks_live(raw: &[u64; 8]) -> bool {
        const HEAD_WORD: usize = std::mem::offset_of!(Msg, head) / 8;
        const _: () = assert!(std::mem::offset_of!(Msg, head) % 8 == 0);
        const _: () = assert!(std::mem::offset_of!(Msg, payload) == 0);
        let word = raw[HEAD_WORD];
        // `flags` is the first field of `Head`: the low half of the word on
        // a little-endian machine.
        let flags = if cfg!(target_endian = "little") { word as u32 } else { (word >> 32) as u32 };
        raw[0] <= 3 && flags & 0xFFFF_0000 == HEAD_MARK
    }
}

impl Default for Msg {
    fn default() -> Msg {
        Msg::new()
    }
}

impl Deref for Msg {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Msg {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        self.as_bytes() == other.as_bytes() && self.get_more() == other.get_more()
    }
}
impl Eq for Msg {}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Msg")
            .field("len", &self.len())
            .field("more", &self.get_more())
            .field("data", &String::from_utf8_lossy(&self.as_bytes()[..self.len().min(32)]))
            .finish()
    }
}

impl From<&[u8]> for Msg {
    fn from(d: &[u8]) -> Msg {
        Msg::copy_from_slice(d)
    }
}
impl<const N: usize> From<&[u8; N]> for Msg {
    fn from(d: &[u8; N]) -> Msg {
        Msg::copy_from_slice(d)
    }
}
impl From<&str> for Msg {
    fn from(s: &str) -> Msg {
        Msg::copy_from_slice(s.as_bytes())
    }
}
impl From<String> for Msg {
    fn from(s: String) -> Msg {
        Msg::from(s.into_bytes())
    }
}
impl From<&String> for Msg {
    fn from(s: &String) -> Msg {
        Msg::copy_from_slice(s.as_bytes())
    }
}
impl From<Vec<u8>> for Msg {
    fn from(v: Vec<u8>) -> Msg {
        if v.len() <= INLINE_CAPACITY {
            Msg::copy_from_slice(&v)
        } else {
            Msg { payload: Payload::Shared(Bytes::from(v)), head: Head::NEW, metadata: None }
        }
    }
}
impl From<&Vec<u8>> for Msg {
    fn from(v: &Vec<u8>) -> Msg {
        Msg::copy_from_slice(v)
    }
}
impl From<Bytes> for Msg {
    fn from(b: Bytes) -> Msg {
        Msg::from_bytes(b)
    }
}
impl From<&Msg> for Msg {
    fn from(m: &Msg) -> Msg {
        let mut m = m.clone();
        m.head = Head::NEW;
        m.metadata = None;
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_in_zmq_msg_t() {
        assert!(std::mem::size_of::<Msg>() <= 64);
    }

    #[test]
    fn small_is_inline_large_is_shared_zero_copy() {
        let m = Msg::from("hello");
        assert!(!m.is_shared());
        assert_eq!(&*m, b"hello");
        let big = Bytes::from(vec![7u8; 1000]);
        let ptr = big.as_ptr();
        let m = Msg::from(big);
        assert!(m.is_shared());
        assert_eq!(m.as_bytes().as_ptr(), ptr, "no copy for large payloads");
        let edge = Msg::from(vec![1u8; INLINE_CAPACITY]);
        assert!(!edge.is_shared());
    }

    #[test]
    fn share_freezes_once_and_keeps_the_pointer() {
        let mut m = Msg::with_size(1000);
        m.as_mut_bytes()[0] = 9;
        let p = m.as_bytes().as_ptr();
        let c = m.share();
        assert_eq!(c.as_bytes().as_ptr(), p);
        assert_eq!(m.as_bytes().as_ptr(), p);
        assert_eq!(c[0], 9);
    }

    #[test]
    fn more_flag_round_trip() {
        let mut m = Msg::from("a");
        assert!(!m.get_more());
        m.set_more(true);
        assert!(m.get_more());
    }
}
