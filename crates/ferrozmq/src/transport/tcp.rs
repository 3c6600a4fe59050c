//! `tcp://`: IPv4 and IPv6, `*` for all interfaces, `*`/0 for an ephemeral
//! port (reported through `LAST_ENDPOINT`), TCP_NODELAY always on (ZeroMQ
//! batches itself; Nagle would only add latency).

use super::{Listener, Stream};
use crate::endpoint::{tcp_bind_addr, tcp_connect_addrs};
use crate::error::{Error, Result};
use std::net::SocketAddr;

/// Binds and returns the listener plus the resolved endpoint string
/// (`tcp://0.0.0.0:41234` for `tcp://*:*`, as libzmq's LAST_ENDPOINT).
pub(crate) fn bind(host: &str, port: Option<u16>, ipv6: bool) -> Result<(Listener, String)> {
    let addr = tcp_bind_addr(host, port, ipv6)?;
    let std_listener = std::net::TcpListener::bind(addr).map_err(Error::from)?;
    std_listener.set_nonblocking(true).map_err(Error::from)?;
    let local = std_listener.local_addr().map_err(Error::from)?;
    let endpoint = format!("tcp://{}", format_addr(local));
    Ok((Listener::Tcp(mio::net::TcpListener::from_std(std_listener)), endpoint))
}

fn format_addr(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => format!("{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

/// Starts a non-blocking connect to the first resolved address.
pub(crate) fn connect(host: &str, port: Option<u16>, ipv6: bool) -> Result<Stream> {
    let addrs = tcp_connect_addrs(host, port, ipv6)?;
    let mut last = Error::ECONNREFUSED;
    for a in addrs {
        match mio::net::TcpStream::connect(a) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(Stream::Tcp(s));
            }
            Err(e) => last = Error::from(e),
        }
    }
    Err(last)
}
