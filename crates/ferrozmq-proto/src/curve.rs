//! The CURVE mechanism (RFC 25/ZMTP-CURVE, RFC 26/CurveZMQ), byte for byte
//! as libzmq's `curve_client_t` / `curve_server_t` / `curve_encoding_t`
//! frame it, on RustCrypto's `crypto_box` (X25519 + XSalsa20-Poly1305) and
//! `crypto_secretbox` (cookie). Also CURVE key helpers ([`KeyPair`],
//! [`public_from_secret`], [`parse_key`]).
//!
//! Command bodies (RFC 26 §"High-level Grammar", libzmq offsets):
//!
//! ```text
//! HELLO    200 = "\x05HELLO" 01 00, 72 zero octets, C', nonce8,
//!                Box[64 zeros](C'->S)                 nonce "CurveZMQHELLO---"
//! WELCOME  168 = "\x07WELCOME" nonce16, Box[S' + cookie](S->C')  "WELCOME-"
//!   cookie  96 = nonce16, SecretBox[C' + s'](K)                  "COOKIE--"
//! INITIATE     = "\x08INITIATE" cookie96, nonce8,
//!                Box[C + vouch + metadata](C'->S')    "CurveZMQINITIATE"
//!   vouch   96 = nonce16, Box[C' + S](C->S')                     "VOUCH---"
//! READY        = "\x05READY" nonce8, Box[metadata](S'->C')       "CurveZMQREADY---"
//! MESSAGE      = "\x07MESSAGE" nonce8, Box[flags + body](..)     "CurveZMQMESSAGEC"/"S"
//! ```
//!
//! A box on the wire is the 16-octet Poly1305 tag followed by the
//! ciphertext (NaCl `crypto_box` minus its 16 zero octets).

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::AeadInPlace;
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use crypto_secretbox::{KeyInit, XSalsa20Poly1305};
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::ProtocolError;
use crate::frame::{encode_header, Frame, FrameCipher};
use crate::greeting::MechanismName;
use crate::mechanism::{
    check_basic_structure, check_peer_socket_type, peer_error, Mechanism, ZapDecision, ZapGate,
};
use crate::metadata::Metadata;
use crate::socket_type::SocketType;
use crate::z85;
use crate::zap::ZapRequest;

/// Size of a CURVE key (RFC 26: "keys are 32 octets").
pub const KEY_SIZE: usize = 32;
/// Poly1305 tag size: "An encrypted box is always 16 octets larger than the
/// clear-text data it holds" (RFC 26 §"CurveZMQ Commands").
const TAG: usize = 16;

const HELLO: &[u8] = b"\x05HELLO";
const WELCOME: &[u8] = b"\x07WELCOME";
const INITIATE: &[u8] = b"\x08INITIATE";
const READY: &[u8] = b"\x05READY";
const ERROR: &[u8] = b"\x05ERROR";
const MESSAGE: &[u8] = b"\x07MESSAGE";

const HELLO_SIZE: usize = 200;
const WELCOME_SIZE: usize = 168;
/// RFC 26: INITIATE "SHALL be at least 257 octets long".
const INITIATE_MIN: usize = 257;
/// RFC 26: READY "SHALL be at least 30 octets long".
const READY_MIN: usize = 30;
/// RFC 26: MESSAGE "SHALL be at least 33 octets long".
const MESSAGE_MIN: usize = 33;

const NONCE_HELLO: &[u8; 16] = b"CurveZMQHELLO---";
const NONCE_INITIATE: &[u8; 16] = b"CurveZMQINITIATE";
const NONCE_READY: &[u8; 16] = b"CurveZMQREADY---";
const NONCE_MESSAGE_C: &[u8; 16] = b"CurveZMQMESSAGEC";
const NONCE_MESSAGE_S: &[u8; 16] = b"CurveZMQMESSAGES";
const NONCE_WELCOME: &[u8; 8] = b"WELCOME-";
const NONCE_COOKIE: &[u8; 8] = b"COOKIE--";
const NONCE_VOUCH: &[u8; 8] = b"VOUCH---";

/// Why a CURVE key could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Not 32 octets, 40 Z85 characters, or 40 characters plus a NUL.
    Length(usize),
    /// The text is not valid Z85.
    Z85(z85::Z85Error),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Length(n) => write!(
                f,
                "a CURVE key is 32 octets or 40 Z85 characters, not {n} octets"
            ),
            KeyError::Z85(e) => write!(f, "invalid Z85 CURVE key: {e}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Parses a key as libzmq's `options_t::set_curve_key` accepts it: 32 raw
/// octets, 40 Z85 characters, or 41 octets that are 40 Z85 characters and a
/// terminating NUL (the C string form).
pub fn parse_key(value: &[u8]) -> Result<[u8; KEY_SIZE], KeyError> {
    let text = match value.len() {
        KEY_SIZE => {
            let mut key = [0u8; KEY_SIZE];
            key.copy_from_slice(value);
            return Ok(key);
        }
        40 => value,
        41 if value[40] == 0 => &value[..40],
        n => return Err(KeyError::Length(n)),
    };
    let text =
        std::str::from_utf8(text).map_err(|_| KeyError::Z85(z85::Z85Error::InvalidCharacter(0)))?;
    let mut decoded = Zeroizing::new(z85::decode(text).map_err(KeyError::Z85)?);
    let mut key = [0u8; KEY_SIZE];
    key.copy_from_slice(&decoded[..KEY_SIZE]);
    decoded.zeroize();
    Ok(key)
}

/// The public key of a secret key (libzmq `zmq_curve_public`).
pub fn public_from_secret(secret: &[u8; KEY_SIZE]) -> [u8; KEY_SIZE] {
    SecretKey::from_bytes(*secret).public_key().to_bytes()
}

/// A CURVE long-term key pair; the secret half is wiped on drop.
#[derive(Clone)]
pub struct KeyPair {
    /// The public key.
    pub public: [u8; KEY_SIZE],
    secret: Zeroizing<[u8; KEY_SIZE]>,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &z85::encode(&self.public).unwrap_or_default())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key pair from the OS random source (libzmq `zmq_curve_keypair`).
    pub fn generate() -> KeyPair {
        let mut secret = Zeroizing::new([0u8; KEY_SIZE]);
        OsRng.fill_bytes(&mut secret[..]);
        KeyPair::from_secret(&secret)
    }

    /// The pair for an existing secret key.
    pub fn from_secret(secret: &[u8; KEY_SIZE]) -> KeyPair {
        KeyPair {
            public: public_from_secret(secret),
            secret: Zeroizing::new(*secret),
        }
    }

    /// The secret key.
    pub fn secret(&self) -> &[u8; KEY_SIZE] {
        &self.secret
    }

    /// Both keys as 40-character Z85 text (public, secret), like
    /// `zmq_curve_keypair`.
    pub fn to_z85(&self) -> (String, Zeroizing<String>) {
        // 32 is a multiple of 4: encoding cannot fail.
        (
            z85::encode(&self.public).unwrap_or_default(),
            Zeroizing::new(z85::encode(&self.secret[..]).unwrap_or_default()),
        )
    }
}

/// libsodium's `crypto_scalarmult` (used by `crypto_box`) fails when the
/// shared secret is all zeros, i.e. the peer key has small order; RustCrypto
/// does not check, so we do, in constant time.
fn is_weak_shared_secret(public: &[u8; KEY_SIZE], secret: &[u8; KEY_SIZE]) -> bool {
    let shared = Zeroizing::new(MontgomeryPoint(*public).mul_clamped(*secret).to_bytes());
    bool::from(shared.ct_eq(&[0u8; KEY_SIZE]))
}

/// `crypto_box_beforenm` + checks: the precomputed box for `public` and
/// `secret`, or `err` when the key has small order.
fn make_box(
    public: &[u8; KEY_SIZE],
    secret: &[u8; KEY_SIZE],
    err: ProtocolError,
) -> Result<SalsaBox, ProtocolError> {
    if is_weak_shared_secret(public, secret) {
        return Err(err);
    }
    let sk = SecretKey::from_bytes(*secret);
    Ok(SalsaBox::new(&PublicKey::from(*public), &sk))
}

fn nonce24(prefix: &[u8], rest: &[u8]) -> [u8; 24] {
    let mut n = [0u8; 24];
    n[..prefix.len()].copy_from_slice(prefix);
    n[prefix.len()..].copy_from_slice(rest);
    n
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// Appends Box[plaintext] as tag + ciphertext to `out`.
fn seal_into<A: AeadInPlace>(cipher: &A, nonce: &[u8; 24], plaintext: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; TAG]);
    out.extend_from_slice(plaintext);
    // Only fails for associated data or oversized input, neither possible here.
    if let Ok(tag) = cipher.encrypt_in_place_detached(
        GenericArray::from_slice(nonce),
        b"",
        &mut out[start + TAG..],
    ) {
        out[start..start + TAG].copy_from_slice(&tag);
    }
}

/// Opens tag + ciphertext; the plaintext is wiped on drop.
fn open<A: AeadInPlace>(
    cipher: &A,
    nonce: &[u8; 24],
    boxed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
    if boxed.len() < TAG {
        return Err(ProtocolError::Cryptographic);
    }
    let (tag, ct) = boxed.split_at(TAG);
    let mut buf = Zeroizing::new(ct.to_vec());
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            b"",
            &mut buf[..],
            GenericArray::from_slice(tag),
        )
        .map_err(|_| ProtocolError::Cryptographic)?;
    Ok(buf)
}

/// Appends a command frame (COMMAND flag) whose body is `body`.
fn command_frame(body: &[u8], out: &mut BytesMut) {
    let mut header = [0u8; 9];
    let n = encode_header(false, true, body.len() as u64, &mut header);
    out.reserve(n + body.len());
    out.put_slice(&header[..n]);
    out.put_slice(body);
}

fn key_from(slice: &[u8]) -> [u8; KEY_SIZE] {
    let mut k = [0u8; KEY_SIZE];
    k.copy_from_slice(&slice[..KEY_SIZE]);
    k
}

/// The data-phase MESSAGE codec of a completed CURVE handshake (RFC 26
/// §"The MESSAGE Command", libzmq `curve_encoding_t`).
pub struct CurveCipher {
    precom: SalsaBox,
    send_prefix: &'static [u8; 16],
    recv_prefix: &'static [u8; 16],
    /// Short nonce for our next MESSAGE.
    next_nonce: u64,
    /// Highest short nonce seen from the peer (READY/INITIATE, then
    /// MESSAGEs); the next must be larger.
    peer_nonce: u64,
}

impl fmt::Debug for CurveCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveCipher")
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

/// Inner flags (libzmq `msg_t::more` / `msg_t::command`).
const INNER_MORE: u8 = 0x01;
const INNER_COMMAND: u8 = 0x02;

impl FrameCipher for CurveCipher {
    /// Appends `MESSAGE nonce Box[flags + body]` as one frame. The frame
    /// header carries no flags, as libzmq's encoder writes the boxed message
    /// (its `msg_t` flags are reset by the encryption): MORE and COMMAND are
    /// inside the box only. A nonce is never reused: after 2^64-2 messages
    /// this fails with [`ProtocolError::InvalidSequence`] (RFC 26: "SHALL
    /// NOT send more than 2^64-1 commands").
    fn encrypt(
        &mut self,
        more: bool,
        command: bool,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), ProtocolError> {
        if self.next_nonce == u64::MAX {
            return Err(ProtocolError::InvalidSequence);
        }
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        let frame_len = MESSAGE.len() + 8 + TAG + 1 + body.len();
        let mut header = [0u8; 9];
        let n = encode_header(false, false, frame_len as u64, &mut header);
        out.reserve(n + frame_len);
        out.put_slice(&header[..n]);
        out.put_slice(MESSAGE);
        out.put_u64(nonce);
        let tag_at = out.len();
        out.put_slice(&[0u8; TAG]);
        let mut flags = 0u8;
        if more {
            flags |= INNER_MORE;
        }
        if command {
            flags |= INNER_COMMAND;
        }
        out.put_u8(flags);
        out.put_slice(body);
        let nonce24 = nonce24(self.send_prefix, &nonce.to_be_bytes());
        let tag = self
            .precom
            .encrypt_in_place_detached(
                GenericArray::from_slice(&nonce24),
                b"",
                &mut out[tag_at + TAG..],
            )
            .map_err(|_| ProtocolError::Cryptographic)?;
        out[tag_at..tag_at + TAG].copy_from_slice(&tag);
        Ok(())
    }

    /// libzmq `curve_encoding_t::check_validity` + `decode`: the body must
    /// start with `\x07MESSAGE` (else unexpected command), be at least 33
    /// octets (`MALFORMED_COMMAND_MESSAGE`), carry a nonce above every
    /// earlier one (`INVALID_SEQUENCE`: replays and reordering) and open
    /// (`CRYPTOGRAPHIC`). The outer frame flags are ignored, as libzmq does.
    fn decrypt(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
        let body = frame.body;
        if !body.starts_with(MESSAGE) {
            return Err(ProtocolError::UnexpectedCommand);
        }
        if body.len() < MESSAGE_MIN {
            return Err(ProtocolError::MalformedMessage);
        }
        let mut nonce_bytes = [0u8; 8];
        nonce_bytes.copy_from_slice(&body[8..16]);
        let nonce = u64::from_be_bytes(nonce_bytes);
        if nonce <= self.peer_nonce {
            return Err(ProtocolError::InvalidSequence);
        }
        let mut buf = BytesMut::from(&body[16 + TAG..]);
        self.precom
            .decrypt_in_place_detached(
                GenericArray::from_slice(&nonce24(self.recv_prefix, &nonce_bytes)),
                b"",
                &mut buf[..],
                GenericArray::from_slice(&body[16..16 + TAG]),
            )
            .map_err(|_| ProtocolError::Cryptographic)?;
        self.peer_nonce = nonce;
        let flags = buf[0];
        buf.advance(1);
        Ok(Frame {
            more: flags & INNER_MORE != 0,
            command: flags & INNER_COMMAND != 0,
            body: buf.freeze(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientState {
    ExpectWelcome,
    ExpectReady,
    Done,
}

/// CURVE client: HELLO at once, INITIATE after WELCOME, done on READY.
pub(crate) struct CurveClient {
    local: SocketType,
    properties: Metadata,
    public: [u8; KEY_SIZE],
    secret: Zeroizing<[u8; KEY_SIZE]>,
    server_key: [u8; KEY_SIZE],
    cn_public: [u8; KEY_SIZE],
    cn_secret: Zeroizing<[u8; KEY_SIZE]>,
    /// Our next short nonce (libzmq starts at 1).
    nonce: u64,
    precom: Option<SalsaBox>,
    state: ClientState,
    out: BytesMut,
    peer: Option<Metadata>,
    cipher: Option<CurveCipher>,
    zap: ZapGate,
}

impl fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveClient")
            .field("state", &self.state)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl CurveClient {
    /// Generates the transient key pair and queues HELLO (RFC 26 §"The HELLO
    /// Command"; libzmq `curve_client_tools_t::produce_hello`). A server key
    /// of small order cannot make a box: [`ProtocolError::Cryptographic`],
    /// as libzmq's failing `crypto_box`.
    pub(crate) fn new(
        local: SocketType,
        properties: &Metadata,
        public: &[u8; KEY_SIZE],
        secret: &[u8; KEY_SIZE],
        server_key: &[u8; KEY_SIZE],
    ) -> Result<Self, ProtocolError> {
        let cn = KeyPair::generate();
        let mut c = CurveClient {
            local,
            properties: properties.clone(),
            public: *public,
            secret: Zeroizing::new(*secret),
            server_key: *server_key,
            cn_public: cn.public,
            cn_secret: Zeroizing::new(*cn.secret()),
            nonce: 1,
            precom: None,
            state: ClientState::ExpectWelcome,
            out: BytesMut::new(),
            peer: None,
            cipher: None,
            zap: ZapGate::default(),
        };
        let hello_box = make_box(&c.server_key, &c.cn_secret, ProtocolError::Cryptographic)?;
        let nonce = c.next_nonce();
        let mut body = Vec::with_capacity(HELLO_SIZE);
        body.extend_from_slice(HELLO);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&[0u8; 72]);
        body.extend_from_slice(&c.cn_public);
        body.extend_from_slice(&nonce.to_be_bytes());
        seal_into(
            &hello_box,
            &nonce24(NONCE_HELLO, &nonce.to_be_bytes()),
            &[0u8; 64],
            &mut body,
        );
        debug_assert_eq!(body.len(), HELLO_SIZE);
        command_frame(&body, &mut c.out);
        Ok(c)
    }

    fn next_nonce(&mut self) -> u64 {
        let n = self.nonce;
        self.nonce += 1;
        n
    }

    /// libzmq `process_welcome`: exactly 168 octets; open Box[S' +
    /// cookie](S->C'); precompute C'/S'; then INITIATE.
    fn process_welcome(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        if body.len() != WELCOME_SIZE {
            return Err(ProtocolError::MalformedWelcome);
        }
        let welcome_box = make_box(
            &self.server_key,
            &self.cn_secret,
            ProtocolError::Cryptographic,
        )?;
        let plain = open(
            &welcome_box,
            &nonce24(NONCE_WELCOME, &body[8..24]),
            &body[24..],
        )?;
        let cn_server = key_from(&plain[..32]);
        let cookie = &plain[32..128];
        let precom = make_box(&cn_server, &self.cn_secret, ProtocolError::KeyExchange)?;

        // vouch = Box[C' + S](C->S') with a random long nonce.
        let vouch_nonce: [u8; 16] = random();
        let vouch_box = make_box(&cn_server, &self.secret, ProtocolError::KeyExchange)?;
        let mut vouch_plain = Zeroizing::new([0u8; 64]);
        vouch_plain[..32].copy_from_slice(&self.cn_public);
        vouch_plain[32..].copy_from_slice(&self.server_key);

        // Box[C + vouch + metadata](C'->S').
        let mut md = BytesMut::new();
        self.properties.encode(&mut md);
        let mut initiate_plain = Zeroizing::new(Vec::with_capacity(128 + md.len()));
        initiate_plain.extend_from_slice(&self.public);
        initiate_plain.extend_from_slice(&vouch_nonce);
        seal_into(
            &vouch_box,
            &nonce24(NONCE_VOUCH, &vouch_nonce),
            &vouch_plain[..],
            &mut initiate_plain,
        );
        initiate_plain.extend_from_slice(&md);

        let nonce = self.next_nonce();
        let mut body = Vec::with_capacity(113 + TAG + initiate_plain.len());
        body.extend_from_slice(INITIATE);
        body.extend_from_slice(cookie);
        body.extend_from_slice(&nonce.to_be_bytes());
        seal_into(
            &precom,
            &nonce24(NONCE_INITIATE, &nonce.to_be_bytes()),
            &initiate_plain,
            &mut body,
        );
        command_frame(&body, &mut self.out);
        self.precom = Some(precom);
        self.state = ClientState::ExpectReady;
        Ok(())
    }

    /// libzmq `process_ready`: at least 30 octets (`MALFORMED_COMMAND_READY`),
    /// open Box[metadata](S'->C'), parse and vet the metadata.
    fn process_ready(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        if body.len() < READY_MIN {
            return Err(ProtocolError::MalformedReady);
        }
        let Some(precom) = self.precom.take() else {
            return Err(ProtocolError::UnexpectedCommand);
        };
        let plain = open(&precom, &nonce24(NONCE_READY, &body[6..14]), &body[14..])?;
        let metadata = Metadata::parse(&plain)?;
        check_peer_socket_type(self.local, &metadata)?;
        let mut n = [0u8; 8];
        n.copy_from_slice(&body[6..14]);
        self.cipher = Some(CurveCipher {
            precom,
            send_prefix: NONCE_MESSAGE_C,
            recv_prefix: NONCE_MESSAGE_S,
            next_nonce: self.nonce,
            peer_nonce: u64::from_be_bytes(n),
        });
        self.peer = Some(metadata);
        self.state = ClientState::Done;
        Ok(())
    }
}

impl Mechanism for CurveClient {
    fn poll_transmit(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(&self.out);
        self.out.clear();
    }

    fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// libzmq `curve_client_t::process_handshake_command`: dispatch on the
    /// prefix; WELCOME and READY only in their state, ERROR while waiting.
    fn process_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        let body = &frame.body;
        if body.starts_with(WELCOME) && self.state == ClientState::ExpectWelcome {
            self.process_welcome(body)
        } else if body.starts_with(READY) && self.state == ClientState::ExpectReady {
            self.process_ready(body)
        } else if body.starts_with(ERROR) && self.state != ClientState::Done {
            Err(peer_error(body))
        } else {
            Err(ProtocolError::UnexpectedCommand)
        }
    }

    fn is_complete(&self) -> bool {
        self.state == ClientState::Done
    }

    fn peer_metadata(&self) -> Option<&Metadata> {
        self.peer.as_ref()
    }

    fn zap_gate(&self) -> &ZapGate {
        &self.zap
    }

    fn zap_gate_mut(&mut self) -> &mut ZapGate {
        &mut self.zap
    }

    fn zap_accepted(&mut self) -> Result<(), ProtocolError> {
        Err(ProtocolError::ZapUnspecified)
    }

    fn take_cipher(&mut self) -> Option<Box<dyn FrameCipher + Send>> {
        self.cipher
            .take()
            .map(|c| Box::new(c) as Box<dyn FrameCipher + Send>)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerState {
    ExpectHello,
    ExpectInitiate,
    WaitZap,
    Done,
}

/// CURVE server: HELLO → WELCOME, INITIATE → (ZAP) → READY.
pub(crate) struct CurveServer {
    local: SocketType,
    properties: Metadata,
    zap_decision: ZapDecision,
    /// Our long-term keys (S, s); S is derived from s, as libzmq's server
    /// only reads its secret key.
    public: [u8; KEY_SIZE],
    secret: Zeroizing<[u8; KEY_SIZE]>,
    cn_public: [u8; KEY_SIZE],
    cn_secret: Zeroizing<[u8; KEY_SIZE]>,
    /// Per-connection cookie key K (libzmq makes a fresh one per WELCOME).
    cookie_key: Zeroizing<[u8; 32]>,
    cn_client: [u8; KEY_SIZE],
    peer_nonce: u64,
    precom: Option<SalsaBox>,
    state: ServerState,
    out: BytesMut,
    peer: Option<Metadata>,
    cipher: Option<CurveCipher>,
    zap: ZapGate,
}

impl fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveServer")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl CurveServer {
    pub(crate) fn new(
        local: SocketType,
        properties: &Metadata,
        secret: &[u8; KEY_SIZE],
        zap: ZapDecision,
    ) -> Self {
        let cn = KeyPair::generate();
        CurveServer {
            local,
            properties: properties.clone(),
            zap_decision: zap,
            public: public_from_secret(secret),
            secret: Zeroizing::new(*secret),
            cn_public: cn.public,
            cn_secret: Zeroizing::new(*cn.secret()),
            cookie_key: Zeroizing::new(random()),
            cn_client: [0u8; KEY_SIZE],
            peer_nonce: 0,
            precom: None,
            state: ServerState::ExpectHello,
            out: BytesMut::new(),
            peer: None,
            cipher: None,
            zap: ZapGate::default(),
        }
    }

    /// libzmq `curve_server_t::process_hello` (+ `produce_welcome`): basic
    /// structure, `\x05HELLO` (else unexpected command), 200 octets and
    /// version 1.0 (`MALFORMED_COMMAND_HELLO`), Box[64 zeros](C'->S) opens
    /// (`CRYPTOGRAPHIC`: e.g. the client has the wrong server key); then
    /// WELCOME with a fresh cookie.
    fn process_hello(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        check_basic_structure(body)?;
        if !body.starts_with(HELLO) {
            return Err(ProtocolError::UnexpectedCommand);
        }
        if body.len() != HELLO_SIZE || body[6..8] != [1, 0] {
            return Err(ProtocolError::MalformedHello);
        }
        let cn_client = key_from(&body[80..112]);
        let hello_box = make_box(&cn_client, &self.secret, ProtocolError::Cryptographic)?;
        let zeros = open(
            &hello_box,
            &nonce24(NONCE_HELLO, &body[112..120]),
            &body[120..200],
        )?;
        // RFC 26: the signature box "SHALL contain 64 zero octets" (libzmq
        // does not look; an honest client always sends zeros).
        if !bool::from(zeros[..].ct_eq(&[0u8; 64][..])) {
            return Err(ProtocolError::Cryptographic);
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(&body[112..120]);
        self.peer_nonce = u64::from_be_bytes(n);
        self.cn_client = cn_client;

        // cookie = nonce16 + SecretBox[C' + s'](K)
        let cookie_nonce: [u8; 16] = random();
        let mut cookie_plain = Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(&self.cn_client);
        cookie_plain[32..].copy_from_slice(&self.cn_secret[..]);
        let cookie_cipher = XSalsa20Poly1305::new(GenericArray::from_slice(&self.cookie_key[..]));
        let mut welcome_plain = Zeroizing::new(Vec::with_capacity(128));
        welcome_plain.extend_from_slice(&self.cn_public);
        welcome_plain.extend_from_slice(&cookie_nonce);
        seal_into(
            &cookie_cipher,
            &nonce24(NONCE_COOKIE, &cookie_nonce),
            &cookie_plain[..],
            &mut welcome_plain,
        );
        // WELCOME = nonce16 + Box[S' + cookie](S->C')
        let welcome_nonce: [u8; 16] = random();
        let mut body = Vec::with_capacity(WELCOME_SIZE);
        body.extend_from_slice(WELCOME);
        body.extend_from_slice(&welcome_nonce);
        seal_into(
            &hello_box,
            &nonce24(NONCE_WELCOME, &welcome_nonce),
            &welcome_plain,
            &mut body,
        );
        debug_assert_eq!(body.len(), WELCOME_SIZE);
        command_frame(&body, &mut self.out);
        self.state = ServerState::ExpectInitiate;
        Ok(())
    }

    /// libzmq `curve_server_t::process_initiate`: `\x08INITIATE` (else
    /// unexpected command), at least 257 octets (`MALFORMED_COMMAND_INITIATE`),
    /// the cookie opens with K and holds [C' + s'], the box opens with C'/s',
    /// the vouch opens with C/s' and names C' (`KEY_EXCHANGE`) — and, beyond
    /// libzmq, this server (RFC 26 vouch = Box[C',S]) — then the metadata.
    /// The short nonce must exceed HELLO's (RFC 26: "SHALL verify that a
    /// client connection does use correctly incrementing short nonces").
    fn process_initiate(&mut self, body: &Bytes) -> Result<(), ProtocolError> {
        check_basic_structure(body)?;
        if !body.starts_with(INITIATE) {
            return Err(ProtocolError::UnexpectedCommand);
        }
        if body.len() < INITIATE_MIN {
            return Err(ProtocolError::MalformedInitiate);
        }
        let cookie_cipher = XSalsa20Poly1305::new(GenericArray::from_slice(&self.cookie_key[..]));
        let cookie = open(
            &cookie_cipher,
            &nonce24(NONCE_COOKIE, &body[9..25]),
            &body[25..105],
        )?;
        let cookie_ok =
            cookie[..32].ct_eq(&self.cn_client) & cookie[32..64].ct_eq(&self.cn_secret[..]);
        if !bool::from(cookie_ok) {
            return Err(ProtocolError::Cryptographic);
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(&body[105..113]);
        let nonce = u64::from_be_bytes(n);
        if nonce <= self.peer_nonce {
            return Err(ProtocolError::InvalidSequence);
        }
        let precom = make_box(
            &self.cn_client,
            &self.cn_secret,
            ProtocolError::Cryptographic,
        )?;
        let plain = open(&precom, &nonce24(NONCE_INITIATE, &n), &body[113..])?;
        // 144 boxed octets at least: C (32) + vouch (96) + metadata.
        let client_key = key_from(&plain[..32]);
        let vouch_box = make_box(&client_key, &self.cn_secret, ProtocolError::Cryptographic)?;
        let vouch = open(
            &vouch_box,
            &nonce24(NONCE_VOUCH, &plain[32..48]),
            &plain[48..128],
        )?;
        let vouch_ok = vouch[..32].ct_eq(&self.cn_client) & vouch[32..64].ct_eq(&self.public);
        if !bool::from(vouch_ok) {
            return Err(ProtocolError::KeyExchange);
        }
        let metadata = Metadata::parse(&plain[128..])?;
        check_peer_socket_type(self.local, &metadata)?;
        self.peer_nonce = nonce;
        self.precom = Some(precom);
        self.peer = Some(metadata);
        // Already wiped on drop, but the cookie key is needed no more
        // (RFC 26: discard it "as soon as the client sends a valid INITIATE").
        self.cookie_key.zeroize();
        match self.zap_decision {
            ZapDecision::Ask => {
                self.zap.start(ZapRequest {
                    mechanism: MechanismName::Curve.as_str(),
                    credentials: vec![Bytes::copy_from_slice(&client_key)],
                });
                self.state = ServerState::WaitZap;
                Ok(())
            }
            ZapDecision::Skip => self.produce_ready(),
            ZapDecision::Fail => Err(ProtocolError::ZapHandlerMissing),
        }
    }

    /// libzmq `produce_ready`: `\x05READY` nonce8 Box[metadata](S'->C'),
    /// short nonce 1 (the server's first command).
    fn produce_ready(&mut self) -> Result<(), ProtocolError> {
        let Some(precom) = self.precom.take() else {
            return Err(ProtocolError::UnexpectedCommand);
        };
        let nonce: u64 = 1;
        let mut md = Zeroizing::new(Vec::new());
        let mut enc = BytesMut::new();
        self.properties.encode(&mut enc);
        md.extend_from_slice(&enc);
        let mut body = Vec::with_capacity(14 + TAG + md.len());
        body.extend_from_slice(READY);
        body.extend_from_slice(&nonce.to_be_bytes());
        seal_into(
            &precom,
            &nonce24(NONCE_READY, &nonce.to_be_bytes()),
            &md,
            &mut body,
        );
        command_frame(&body, &mut self.out);
        self.cipher = Some(CurveCipher {
            precom,
            send_prefix: NONCE_MESSAGE_S,
            recv_prefix: NONCE_MESSAGE_C,
            next_nonce: nonce + 1,
            peer_nonce: self.peer_nonce,
        });
        self.state = ServerState::Done;
        Ok(())
    }
}

impl Mechanism for CurveServer {
    fn poll_transmit(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(&self.out);
        self.out.clear();
    }

    fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    fn process_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        match self.state {
            ServerState::ExpectHello => self.process_hello(&frame.body),
            ServerState::ExpectInitiate => self.process_initiate(&frame.body),
            ServerState::WaitZap | ServerState::Done => Err(ProtocolError::UnexpectedCommand),
        }
    }

    fn is_complete(&self) -> bool {
        self.state == ServerState::Done
    }

    fn peer_metadata(&self) -> Option<&Metadata> {
        self.peer.as_ref()
    }

    fn zap_gate(&self) -> &ZapGate {
        &self.zap
    }

    fn zap_gate_mut(&mut self) -> &mut ZapGate {
        &mut self.zap
    }

    fn zap_accepted(&mut self) -> Result<(), ProtocolError> {
        if self.state != ServerState::WaitZap {
            return Err(ProtocolError::ZapUnspecified);
        }
        self.produce_ready()
    }

    fn take_cipher(&mut self) -> Option<Box<dyn FrameCipher + Send>> {
        self.cipher
            .take()
            .map(|c| Box::new(c) as Box<dyn FrameCipher + Send>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parsing_like_set_curve_key() {
        let kp = KeyPair::generate();
        let (public_z85, secret_z85) = kp.to_z85();
        assert_eq!(public_z85.len(), 40);
        assert_eq!(parse_key(&kp.public).unwrap(), kp.public);
        assert_eq!(parse_key(public_z85.as_bytes()).unwrap(), kp.public);
        let mut c_string = public_z85.clone().into_bytes();
        c_string.push(0);
        assert_eq!(parse_key(&c_string).unwrap(), kp.public);
        assert_eq!(parse_key(secret_z85.as_bytes()).unwrap(), *kp.secret());
        assert_eq!(parse_key(&[0u8; 31]), Err(KeyError::Length(31)));
        let mut no_nul = c_string.clone();
        no_nul[40] = b'0';
        assert_eq!(parse_key(&no_nul), Err(KeyError::Length(41)));
        assert!(matches!(parse_key(&[b'~'; 40]), Err(KeyError::Z85(_))));
        assert!(matches!(parse_key(&[0xff; 40]), Err(KeyError::Z85(_))));
    }

    #[test]
    fn libzmq_test_key_pair() {
        // tests/testutil_security.cpp: the server key pair libzmq's tests use.
        let public = parse_key(b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7").unwrap();
        let secret = parse_key(b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").unwrap();
        assert_eq!(public_from_secret(&secret), public);
        assert_eq!(KeyPair::from_secret(&secret).public, public);
    }

    #[test]
    fn nacl_box_layout() {
        // Box = tag (16) || ciphertext, and each side opens the other's.
        let a = KeyPair::generate();
        let b = KeyPair::generate();
        let ab = make_box(&b.public, a.secret(), ProtocolError::Cryptographic).unwrap();
        let ba = make_box(&a.public, b.secret(), ProtocolError::Cryptographic).unwrap();
        let nonce = [7u8; 24];
        let mut sealed = Vec::new();
        seal_into(&ab, &nonce, b"hello", &mut sealed);
        assert_eq!(sealed.len(), 16 + 5);
        assert_eq!(&open(&ba, &nonce, &sealed).unwrap()[..], b"hello");
        sealed[0] ^= 1;
        assert_eq!(
            open(&ba, &nonce, &sealed),
            Err(ProtocolError::Cryptographic)
        );
        assert_eq!(
            open(&ba, &nonce, &[0u8; 15]),
            Err(ProtocolError::Cryptographic)
        );
    }

    #[test]
    fn small_order_keys_are_refused() {
        let kp = KeyPair::generate();
        // The identity point (u = 0) and u = 1 have small order.
        for bad in [[0u8; 32], {
            let mut k = [0u8; 32];
            k[0] = 1;
            k
        }] {
            assert!(is_weak_shared_secret(&bad, kp.secret()));
            assert!(make_box(&bad, kp.secret(), ProtocolError::KeyExchange).is_err());
        }
        assert!(!is_weak_shared_secret(
            &KeyPair::generate().public,
            kp.secret()
        ));
    }
}
