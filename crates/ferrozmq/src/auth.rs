//! `Authenticator`: a ZAP handler (RFC 27) a Rust program sets up in a few
//! lines, in the spirit of czmq's zauth.
//!
//! It binds `inproc://zeromq.zap.01` in the context and answers every
//! authentication request of the context's PLAIN and CURVE servers (and of
//! NULL sockets that set a ZAP_DOMAIN):
//! * addresses: if any address is allowed, only those pass; otherwise denied
//!   addresses are refused and the rest pass;
//! * NULL: passes the address check;
//! * PLAIN: the user name and password must be in the table;
//! * CURVE: the client's public key must be allowed, unless any key is.
//!
//! ```
//! use ferrozmq::{Context, SocketType, auth::Authenticator};
//! let ctx = Context::new();
//! let auth = Authenticator::new(&ctx)?;
//! auth.plain_user("admin", "secret");
//! let server = ctx.socket(SocketType::Rep)?;
//! server.set_option("plain_server", "1")?;
//! server.bind("inproc://auth-doc")?;
//! let client = ctx.socket(SocketType::Req)?;
//! client.set_option("plain_username", "admin")?;
//! client.set_option("plain_password", "secret")?;
//! client.connect("inproc://auth-doc")?;
//! # Ok::<(), ferrozmq::Error>(())
//! ```

use crate::context::Context;
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::socket::SNDMORE;
use crate::SocketType;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Default)]
struct Policy {
    allowed: HashSet<String>,
    denied: HashSet<String>,
    passwords: HashMap<Vec<u8>, Vec<u8>>,
    curve_keys: HashSet<[u8; 32]>,
    curve_any: bool,
}

impl Policy {
    /// (status, text, user id) for one request.
    fn decide(&self, address: &str, mechanism: &[u8], creds: &[Msg]) -> (u16, &'static str, Vec<u8>) {
        if !self.allowed.is_empty() {
            if !self.allowed.contains(address) {
                return (400, "Address not allowed", Vec::new());
            }
        } else if self.denied.contains(address) {
            return (400, "Address denied", Vec::new());
        }
        match mechanism {
            b"NULL" => (200, "OK", Vec::new()),
            b"PLAIN" => {
                let (Some(user), Some(pass)) = (creds.first(), creds.get(1)) else {
                    return (400, "Malformed credentials", Vec::new());
                };
                match self.passwords.get(user.as_bytes()) {
                    Some(p) if crate::auth::eq_constant_time(p, pass.as_bytes()) => (200, "OK", user.to_vec()),
                    _ => (400, "Invalid username or password", Vec::new()),
                }
            }
            b"CURVE" => {
                let Some(key) = creds.first().and_then(|k| <[u8; 32]>::try_from(k.as_bytes()).ok()) else {
                    return (400, "Malformed credentials", Vec::new());
                };
                if self.curve_any || self.curve_keys.contains(&key) {
                    // User id: the client's public key in Z85, as zauth does.
                    let id = ferrozmq_proto::z85::encode(&key).unwrap_or_default();
                    (200, "OK", id.into_bytes())
                } else {
                    (400, "Unknown public key", Vec::new())
                }
            }
            _ => (500, "Unsupported mechanism", Vec::new()),
        }
    }
}

fn eq_constant_time(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A running ZAP handler for one context; stops when dropped.
///
/// ```
/// use ferrozmq::{auth::Authenticator, Context, SocketType};
/// let ctx = Context::new();
/// let auth = Authenticator::new(&ctx)?;
/// auth.plain_user("admin", "secret");
/// let server = ctx.socket(SocketType::Pull)?;
/// server.set_option("plain_server", "1")?;
/// server.bind("tcp://127.0.0.1:*")?;
/// let client = ctx.socket(SocketType::Push)?;
/// client.set_option("plain_username", "admin")?;
/// client.set_option("plain_password", "secret")?;
/// client.connect(&server.last_endpoint()?)?;
/// client.send("hello", 0)?;
/// server.set_rcvtimeo(5000)?;
/// let m = server.recv_msg(0)?;
/// assert_eq!(m.gets("User-Id"), Some("admin"));
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub struct Authenticator {
    policy: Arc<Mutex<Policy>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Authenticator {
    /// Starts the handler. `EADDRINUSE` if the context already has one.
    pub fn new(ctx: &Context) -> Result<Authenticator> {
        let rep = ctx.socket(SocketType::Rep)?;
        rep.set_linger(0)?;
        rep.bind("inproc://zeromq.zap.01")?;
        rep.set_rcvtimeo(50)?;
        let policy = Arc::new(Mutex::new(Policy::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, st) = (policy.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("fzmq-zap".into())
            .spawn(move || serve(rep, p, st))
            .map_err(|_| Error::EMTHREAD)?;
        Ok(Authenticator { policy, stop, thread: Some(thread) })
    }

    fn policy(&self) -> std::sync::MutexGuard<'_, Policy> {
        self.policy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Allows an address (IP for tcp); once any is allowed, only allowed
    /// addresses pass.
    pub fn allow(&self, address: &str) {
        self.policy().allowed.insert(address.to_string());
    }

    /// Denies an address (ignored while some address is allowed).
    pub fn deny(&self, address: &str) {
        self.policy().denied.insert(address.to_string());
    }

    /// Adds (or replaces) a PLAIN user.
    pub fn plain_user(&self, username: &str, password: &str) {
        self.policy().passwords.insert(username.as_bytes().to_vec(), password.as_bytes().to_vec());
    }

    /// Allows a CURVE client key (32 bytes, or 40 Z85 characters).
    pub fn curve_allow(&self, public_key: &[u8]) -> Result<()> {
        let key = ferrozmq_proto::curve::parse_key(public_key).map_err(|_| Error::EINVAL)?;
        self.policy().curve_keys.insert(key);
        Ok(())
    }

    /// Accepts any CURVE client that completes the handshake (it still needs
    /// the server's public key).
    pub fn curve_allow_any(&self) {
        self.policy().curve_any = true;
    }
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(rep: crate::Socket, policy: Arc<Mutex<Policy>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Acquire) {
        let frames = match rep.recv_multipart(0) {
            Ok(f) => f,
            Err(Error::EAGAIN) => continue,
            Err(_) => return,
        };
        // version, request id, domain, address, identity, mechanism, creds…
        let (status, text, user) = if frames.len() < 6 || frames[0].as_bytes() != b"1.0" {
            (500, "Malformed request", Vec::new())
        } else {
            let address = String::from_utf8_lossy(frames[3].as_bytes()).into_owned();
            let p = policy.lock().unwrap_or_else(|p| p.into_inner());
            p.decide(&address, frames[5].as_bytes(), &frames[6..])
        };
        let request_id = frames.get(1).cloned().unwrap_or_default();
        let reply: [Msg; 6] = [
            Msg::from("1.0"),
            Msg::from(request_id.as_bytes()),
            Msg::from(status.to_string()),
            Msg::from(text),
            Msg::from(user),
            Msg::new(),
        ];
        for (i, m) in reply.into_iter().enumerate() {
            if rep.send(m, if i < 5 { SNDMORE } else { 0 }).is_err() {
                break;
            }
        }
    }
}
