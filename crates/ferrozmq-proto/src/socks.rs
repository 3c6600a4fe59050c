//! The client side of SOCKS5 (RFC 1928, with RFC 1929 username/password
//! authentication), as libzmq's `ZMQ_SOCKS_PROXY` uses it: a tcp connect
//! goes to the proxy, which is asked to CONNECT to the real endpoint; once
//! it answers, the stream carries ZMTP as usual.
//!
//! Sans-IO like the rest of this crate: [`Socks5Client::start`] writes the
//! first request, [`Socks5Client::feed`] consumes the proxy's answers from
//! an input buffer and writes what follows, until it reports the tunnel
//! open. Bytes after the proxy's final reply (the peer's greeting may come
//! in the same read) are left in the input buffer.

use bytes::{Buf, BufMut, BytesMut};
use std::net::IpAddr;

/// Why the proxy would not open the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksError {
    /// Not a SOCKS5 answer.
    Protocol,
    /// The proxy accepts none of our authentication methods.
    NoAcceptableMethod,
    /// The proxy refused the username/password.
    AuthFailed,
    /// The CONNECT reply's code (RFC 1928 §6: 1 general failure, 2 not
    /// allowed, 3 network unreachable, 4 host unreachable, 5 refused, ...).
    Refused(u8),
    /// A name, username or password longer than 255 bytes.
    TooLong,
}

impl std::fmt::Display for SocksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocksError::Protocol => f.write_str("SOCKS5: malformed reply"),
            SocksError::NoAcceptableMethod => f.write_str("SOCKS5: no acceptable authentication method"),
            SocksError::AuthFailed => f.write_str("SOCKS5: authentication failed"),
            SocksError::Refused(c) => write!(f, "SOCKS5: connect refused (reply {c})"),
            SocksError::TooLong => f.write_str("SOCKS5: name or credentials longer than 255 bytes"),
        }
    }
}

impl std::error::Error for SocksError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the method selection (2 bytes).
    Method,
    /// Waiting for the username/password status (2 bytes).
    Auth,
    /// Waiting for the CONNECT reply.
    Reply,
    Done,
}

/// One SOCKS5 CONNECT negotiation.
#[derive(Debug, Clone)]
pub struct Socks5Client {
    host: String,
    port: u16,
    credentials: Option<(Vec<u8>, Vec<u8>)>,
    state: State,
}

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const USER_PASS: u8 = 2;
const NO_ACCEPTABLE: u8 = 0xFF;
const CMD_CONNECT: u8 = 1;
const ATYP_V4: u8 = 1;
const ATYP_NAME: u8 = 3;
const ATYP_V6: u8 = 4;

impl Socks5Client {
    /// A negotiation for a tunnel to `host:port` (an IP address or a name
    /// the proxy resolves). With `credentials`, username/password
    /// authentication is offered beside "none" (libzmq offers it only when a
    /// username is set).
    pub fn new(host: &str, port: u16, credentials: Option<(Vec<u8>, Vec<u8>)>) -> Result<Socks5Client, SocksError> {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if host.len() > 255 {
            return Err(SocksError::TooLong);
        }
        if let Some((u, p)) = &credentials {
            if u.len() > 255 || p.len() > 255 {
                return Err(SocksError::TooLong);
            }
        }
        Ok(Socks5Client { host, port, credentials, state: State::Method })
    }

    /// Writes the greeting (the methods we offer).
    pub fn start(&self, out: &mut BytesMut) {
        if self.credentials.is_some() {
            out.put_slice(&[VERSION, 2, NO_AUTH, USER_PASS]);
        } else {
            out.put_slice(&[VERSION, 1, NO_AUTH]);
        }
    }

    /// Consumes what the proxy sent and writes our next request; `Ok(true)`
    /// once the tunnel is open (the rest of `input` is the peer's).
    pub fn feed(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> Result<bool, SocksError> {
        loop {
            match self.state {
                State::Method => {
                    if input.len() < 2 {
                        return Ok(false);
                    }
                    let (ver, method) = (input[0], input[1]);
                    input.advance(2);
                    if ver != VERSION {
                        return Err(SocksError::Protocol);
                    }
                    match method {
                        NO_AUTH => {
                            self.connect_request(out);
                            self.state = State::Reply;
                        }
                        USER_PASS if self.credentials.is_some() => {
                            let (u, p) = self.credentials.as_ref().expect("checked");
                            out.put_u8(1);
                            out.put_u8(u.len() as u8);
                            out.put_slice(u);
                            out.put_u8(p.len() as u8);
                            out.put_slice(p);
                            self.state = State::Auth;
                        }
                        NO_ACCEPTABLE => return Err(SocksError::NoAcceptableMethod),
                        _ => return Err(SocksError::Protocol),
                    }
                }
                State::Auth => {
                    if input.len() < 2 {
                        return Ok(false);
                    }
                    let status = input[1];
                    input.advance(2);
                    if status != 0 {
                        return Err(SocksError::AuthFailed);
                    }
                    self.connect_request(out);
                    self.state = State::Reply;
                }
                State::Reply => {
                    if input.len() < 5 {
                        return Ok(false);
                    }
                    if input[0] != VERSION {
                        return Err(SocksError::Protocol);
                    }
                    let addr_len = match input[3] {
                        ATYP_V4 => 4,
                        ATYP_V6 => 16,
                        ATYP_NAME => 1 + input[4] as usize,
                        _ => return Err(SocksError::Protocol),
                    };
                    let total = 4 + addr_len + 2;
                    if input.len() < total {
                        return Ok(false);
                    }
                    let code = input[1];
                    input.advance(total);
                    if code != 0 {
                        return Err(SocksError::Refused(code));
                    }
                    self.state = State::Done;
                }
                State::Done => return Ok(true),
            }
        }
    }

    fn connect_request(&self, out: &mut BytesMut) {
        out.put_slice(&[VERSION, CMD_CONNECT, 0]);
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => {
                out.put_u8(ATYP_V4);
                out.put_slice(&a.octets());
            }
            Ok(IpAddr::V6(a)) => {
                out.put_u8(ATYP_V6);
                out.put_slice(&a.octets());
            }
            Err(_) => {
                out.put_u8(ATYP_NAME);
                out.put_u8(self.host.len() as u8);
                out.put_slice(self.host.as_bytes());
            }
        }
        out.put_u16(self.port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_auth_connect_to_an_ipv4_address_with_the_greeting_behind() {
        let c = Socks5Client::new("10.1.2.3", 5555, None).unwrap();
        let mut c2 = c.clone();
        let mut out = BytesMut::new();
        c.start(&mut out);
        assert_eq!(&out[..], &[5, 1, 0]);
        out.clear();
        let mut input = BytesMut::from(&[5u8, 0][..]);
        assert_eq!(c2.feed(&mut input, &mut out), Ok(false));
        assert_eq!(&out[..], &[5, 1, 0, 1, 10, 1, 2, 3, 0x15, 0xB3]);
        // The reply, then the peer's first bytes in the same read.
        let mut input = BytesMut::from(&[5u8, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0xFF, 0][..]);
        assert_eq!(c2.feed(&mut input, &mut out), Ok(true));
        assert_eq!(&input[..], &[0xFF, 0]);
    }

    #[test]
    fn username_password_then_a_name_and_a_refusal() {
        let mut c = Socks5Client::new("example.test", 80, Some((b"u".to_vec(), b"pw".to_vec()))).unwrap();
        let mut out = BytesMut::new();
        c.start(&mut out);
        assert_eq!(&out[..], &[5, 2, 0, 2]);
        out.clear();
        assert_eq!(c.feed(&mut BytesMut::from(&[5u8, 2][..]), &mut out), Ok(false));
        assert_eq!(&out[..], &[1, 1, b'u', 2, b'p', b'w']);
        out.clear();
        assert_eq!(c.feed(&mut BytesMut::from(&[1u8, 0][..]), &mut out), Ok(false));
        assert_eq!(&out[..5], &[5, 1, 0, 3, 12]);
        assert_eq!(&out[5..17], b"example.test");
        // A reply arriving one byte at a time, then "connection refused".
        let reply = [5u8, 5, 0, 1, 0, 0, 0, 0, 0, 0];
        let mut input = BytesMut::new();
        for (i, b) in reply.iter().enumerate() {
            input.put_u8(*b);
            let r = c.feed(&mut input, &mut out);
            if i + 1 < reply.len() {
                assert_eq!(r, Ok(false));
            } else {
                assert_eq!(r, Err(SocksError::Refused(5)));
            }
        }
    }

    #[test]
    fn refusals_of_method_and_password() {
        let mut c = Socks5Client::new("::1", 1, None).unwrap();
        let mut out = BytesMut::new();
        assert_eq!(c.feed(&mut BytesMut::from(&[5u8, 0xFF][..]), &mut out), Err(SocksError::NoAcceptableMethod));
        let mut c = Socks5Client::new("::1", 1, Some((b"a".to_vec(), b"b".to_vec()))).unwrap();
        c.feed(&mut BytesMut::from(&[5u8, 2][..]), &mut out).unwrap();
        assert_eq!(c.feed(&mut BytesMut::from(&[1u8, 1][..]), &mut out), Err(SocksError::AuthFailed));
        let c = Socks5Client::new("::1", 1, None).unwrap();
        let mut c = c;
        out.clear();
        c.feed(&mut BytesMut::from(&[5u8, 0][..]), &mut out).unwrap();
        assert_eq!(out[3], 4, "an IPv6 address goes as ATYP 4");
        assert_eq!(out.len(), 4 + 16 + 2);
    }
}
