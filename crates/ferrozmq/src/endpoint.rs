//! Endpoint strings: `tcp://host:port`, `ipc://path`, `inproc://name`.
//!
//! Parsing is separate from the transports so that a malformed endpoint is
//! refused with `EINVAL` (or `EPROTONOSUPPORT` for an unknown scheme) before
//! anything is created, as libzmq does.

use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// A parsed endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `tcp://host:port`; `host` may be `*`, an IP literal (IPv6 in
    /// brackets), an interface-less name resolved by DNS, or `localhost`.
    /// `port` None means `*` or 0 (ephemeral, bind only).
    Tcp { host: String, port: Option<u16> },
    /// `ipc://path`; a leading `@` is the Linux abstract namespace.
    Ipc(String),
    /// `inproc://name`, per context.
    Inproc(String),
}

impl Endpoint {
    pub(crate) fn parse(s: &str) -> Result<Endpoint> {
        let (scheme, rest) = s.split_once("://").ok_or(Error::EINVAL)?;
        match scheme {
            "tcp" => {
                // libzmq also accepts `src;dst` for connect; we take the
                // destination part (the source binding is not supported yet).
                let rest = rest.rsplit(';').next().unwrap_or(rest);
                let (host, port) = rest.rsplit_once(':').ok_or(Error::EINVAL)?;
                if host.is_empty() {
                    return Err(Error::EINVAL);
                }
                let port = match port {
                    "*" | "0" => None,
                    p => Some(p.parse::<u16>().map_err(|_| Error::EINVAL)?),
                };
                Ok(Endpoint::Tcp { host: host.to_string(), port })
            }
            "ipc" => {
                if rest.is_empty() {
                    return Err(Error::EINVAL);
                }
                Ok(Endpoint::Ipc(rest.to_string()))
            }
            "inproc" => {
                if rest.is_empty() {
                    return Err(Error::EINVAL);
                }
                Ok(Endpoint::Inproc(rest.to_string()))
            }
            "udp" | "pgm" | "epgm" | "norm" | "ws" | "wss" | "tipc" | "vmci" | "vsock" => {
                Err(Error::EPROTONOSUPPORT)
            }
            _ => Err(Error::EPROTONOSUPPORT),
        }
    }
}

/// libzmq's `check_protocol`: transports that exist only for some socket
/// types answer ENOCOMPATPROTO for the others, before "not built"
/// (EPROTONOSUPPORT). udp is for RADIO/DISH/DGRAM (none built here), pgm,
/// epgm and norm for the PUB/SUB family.
pub(crate) fn check_protocol(socket_type: ferrozmq_proto::SocketType, endpoint: &str) -> Result<()> {
    use ferrozmq_proto::SocketType::*;
    let scheme = endpoint.split_once("://").map(|(s, _)| s).unwrap_or("");
    let pubsub = matches!(socket_type, Pub | Sub | XPub | XSub);
    match scheme {
        "udp" => Err(Error::ENOCOMPATPROTO),
        "pgm" | "epgm" | "norm" if !pubsub => Err(Error::ENOCOMPATPROTO),
        _ => Ok(()),
    }
}

fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// The source part of a `tcp://src;dst` connect endpoint (libzmq's form:
/// `src` is `host`, `host:port` or `*:port`), resolved; `None` without one.
pub(crate) fn tcp_source(endpoint: &str, ipv6: bool) -> Result<Option<SocketAddr>> {
    let rest = endpoint.strip_prefix("tcp://").unwrap_or(endpoint);
    let Some((src, _dst)) = rest.split_once(';') else { return Ok(None) };
    let (host, port) = match src.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || src.starts_with('[') => {
            let port = match p {
                "*" | "0" => None,
                p => Some(p.parse::<u16>().map_err(|_| Error::EINVAL)?),
            };
            (h, port)
        }
        _ => (src, None),
    };
    if host.is_empty() {
        return Err(Error::EINVAL);
    }
    tcp_bind_addr(host, port, ipv6).map(Some)
}

/// The local address to bind a TCP endpoint to.
pub(crate) fn tcp_bind_addr(host: &str, port: Option<u16>, ipv6: bool) -> Result<SocketAddr> {
    let port = port.unwrap_or(0);
    let h = strip_brackets(host);
    let ip = if h == "*" {
        if ipv6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    } else if let Ok(ip) = h.parse::<IpAddr>() {
        if ip.is_ipv6() && !ipv6 {
            // libzmq refuses IPv6 addresses unless ZMQ_IPV6 is set.
            return Err(Error::EINVAL);
        }
        ip
    } else if h == "localhost" || h == "lo" {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        // An interface name: libzmq resolves it to its address; ENODEV if
        // there is no such interface.
        interface_addr(h, ipv6).ok_or(Error::ENODEV)?
    };
    Ok(SocketAddr::new(ip, port))
}

fn interface_addr(name: &str, ipv6: bool) -> Option<IpAddr> {
    // Linux keeps interface addresses in /proc for IPv6 only; for IPv4 we rely
    // on DNS-free fallbacks: the loopback alias above. Unknown names fail.
    let _ = (name, ipv6);
    None
}

/// Resolves the peer address of a TCP connect endpoint.
pub(crate) fn tcp_connect_addrs(host: &str, port: Option<u16>, ipv6: bool) -> Result<Vec<SocketAddr>> {
    let port = port.ok_or(Error::EINVAL)?;
    let h = strip_brackets(host);
    if h == "*" {
        return Err(Error::EINVAL);
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        if ip.is_ipv6() && !ipv6 {
            return Err(Error::EINVAL);
        }
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = (h, port)
        .to_socket_addrs()
        .map_err(|_| Error::EINVAL)?
        .filter(|a| ipv6 || a.is_ipv4())
        .collect();
    if addrs.is_empty() {
        return Err(Error::EINVAL);
    }
    Ok(addrs)
}

/// The filesystem path (or abstract name) of an ipc endpoint.
pub(crate) fn ipc_path(name: &str) -> Result<PathBuf> {
    // sun_path holds 108 bytes including the NUL.
    if name.len() > 107 {
        return Err(Error::ENAMETOOLONG);
    }
    Ok(PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:5555").unwrap(),
            Endpoint::Tcp { host: "127.0.0.1".into(), port: Some(5555) }
        );
        assert_eq!(Endpoint::parse("tcp://*:*").unwrap(), Endpoint::Tcp { host: "*".into(), port: None });
        assert_eq!(
            Endpoint::parse("tcp://[::1]:80").unwrap(),
            Endpoint::Tcp { host: "[::1]".into(), port: Some(80) }
        );
        assert_eq!(Endpoint::parse("ipc://@abs").unwrap(), Endpoint::Ipc("@abs".into()));
        assert_eq!(Endpoint::parse("inproc://x").unwrap(), Endpoint::Inproc("x".into()));
        assert_eq!(Endpoint::parse("tcp://host"), Err(Error::EINVAL));
        assert_eq!(Endpoint::parse("tcp://h:99999"), Err(Error::EINVAL));
        assert_eq!(Endpoint::parse("nonsense"), Err(Error::EINVAL));
        assert_eq!(Endpoint::parse("foo://x"), Err(Error::EPROTONOSUPPORT));
        assert_eq!(Endpoint::parse("inproc://"), Err(Error::EINVAL));
    }

    #[test]
    fn bind_addresses() {
        assert_eq!(tcp_bind_addr("*", None, false).unwrap().to_string(), "0.0.0.0:0");
        assert_eq!(tcp_bind_addr("*", Some(1), true).unwrap().to_string(), "[::]:1");
        assert_eq!(tcp_bind_addr("[::1]", Some(1), false), Err(Error::EINVAL));
        assert_eq!(tcp_bind_addr("nosuchif0", Some(1), false), Err(Error::ENODEV));
    }
}
