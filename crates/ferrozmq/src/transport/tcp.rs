//! `tcp://`: IPv4 and IPv6, `*` for all interfaces, `*`/0 for an ephemeral
//! port (reported through `LAST_ENDPOINT`), TCP_NODELAY always on (ZeroMQ
//! batches itself; Nagle would only add latency). The socket options that
//! libzmq applies to TCP connections (buffers, keepalive, TOS, TCP_MAXRT,
//! BINDTODEVICE, BACKLOG) are applied here.

use super::{Listener, Stream};
use crate::endpoint::{tcp_bind_addr, tcp_connect_addrs};
use crate::error::{Error, Result};
use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};
use std::net::SocketAddr;
use std::time::Duration;

/// The options a TCP socket takes from its ZeroMQ socket (-1 = OS default).
#[derive(Clone, Debug)]
pub(crate) struct TcpOptions {
    pub sndbuf: i32,
    pub rcvbuf: i32,
    pub keepalive: i32,
    pub keepalive_cnt: i32,
    pub keepalive_idle: i32,
    pub keepalive_intvl: i32,
    pub tos: i32,
    pub maxrt: i32,
    pub bindtodevice: String,
    pub backlog: i32,
    /// The local address of a connect, from `tcp://src;dst` (libzmq's
    /// source-address form): bound before connecting.
    pub source: Option<std::net::SocketAddr>,
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions {
            sndbuf: -1,
            rcvbuf: -1,
            keepalive: -1,
            keepalive_cnt: -1,
            keepalive_idle: -1,
            keepalive_intvl: -1,
            tos: 0,
            maxrt: 0,
            bindtodevice: String::new(),
            backlog: 100,
            source: None,
        }
    }
}

impl TcpOptions {
    /// Applies the per-connection options (libzmq's tune_tcp_* calls).
    /// Failures are ignored as libzmq ignores most of them: an option the
    /// kernel refuses must not cost the connection.
    pub(crate) fn apply(&self, s: SockRef<'_>) {
        let _ = s.set_nodelay(true);
        if self.sndbuf >= 0 {
            let _ = s.set_send_buffer_size(self.sndbuf as usize);
        }
        if self.rcvbuf >= 0 {
            let _ = s.set_recv_buffer_size(self.rcvbuf as usize);
        }
        if self.tos > 0 {
            let _ = s.set_tos(self.tos as u32);
        }
        match self.keepalive {
            1 => {
                let mut ka = TcpKeepalive::new();
                if self.keepalive_idle > 0 {
                    ka = ka.with_time(Duration::from_secs(self.keepalive_idle as u64));
                }
                if self.keepalive_intvl > 0 {
                    ka = ka.with_interval(Duration::from_secs(self.keepalive_intvl as u64));
                }
                if self.keepalive_cnt > 0 {
                    ka = ka.with_retries(self.keepalive_cnt as u32);
                }
                let _ = s.set_tcp_keepalive(&ka);
            }
            0 => {
                let _ = s.set_keepalive(false);
            }
            _ => {}
        }
        if self.maxrt > 0 {
            let _ = s.set_tcp_user_timeout(Some(Duration::from_millis(self.maxrt as u64)));
        }
        if !self.bindtodevice.is_empty() {
            let _ = s.bind_device(Some(self.bindtodevice.as_bytes()));
        }
    }
}

/// Binds and returns the listener plus the resolved endpoint string
/// (`tcp://0.0.0.0:41234` for `tcp://*:*`, as libzmq's LAST_ENDPOINT).
pub(crate) fn bind(host: &str, port: Option<u16>, ipv6: bool, opts: &TcpOptions) -> Result<(Listener, String)> {
    let addr = tcp_bind_addr(host, port, ipv6)?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(Error::from)?;
    // As libzmq: SO_REUSEADDR so a restarted server can rebind at once.
    socket.set_reuse_address(true).map_err(Error::from)?;
    if addr.is_ipv6() {
        // `tcp://*:port` with IPV6 accepts IPv4 too (dual stack), as libzmq.
        let _ = socket.set_only_v6(false);
    }
    opts.apply(SockRef::from(&socket));
    socket.bind(&addr.into()).map_err(Error::from)?;
    socket.listen(opts.backlog.max(1)).map_err(Error::from)?;
    socket.set_nonblocking(true).map_err(Error::from)?;
    let std_listener: std::net::TcpListener = socket.into();
    let local = std_listener.local_addr().map_err(Error::from)?;
    let endpoint = format!("tcp://{}", format_addr(local));
    Ok((Listener::Tcp(mio::net::TcpListener::from_std(std_listener), opts.clone()), endpoint))
}

fn format_addr(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => format!("{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

/// Starts a non-blocking connect to the first resolved address.
pub(crate) fn connect(host: &str, port: Option<u16>, ipv6: bool, opts: &TcpOptions) -> Result<Stream> {
    let addrs = tcp_connect_addrs(host, port, ipv6)?;
    let mut last = Error::ECONNREFUSED;
    for a in addrs {
        let socket = match Socket::new(Domain::for_address(a), Type::STREAM, None) {
            Ok(s) => s,
            Err(e) => {
                last = Error::from(e);
                continue;
            }
        };
        opts.apply(SockRef::from(&socket));
        if let Some(src) = opts.source {
            let _ = socket.set_reuse_address(true);
            if let Err(e) = socket.bind(&src.into()) {
                last = Error::from(e);
                continue;
            }
        }
        if let Err(e) = socket.set_nonblocking(true) {
            last = Error::from(e);
            continue;
        }
        match socket.connect(&a.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => {
                last = Error::from(e);
                continue;
            }
        }
        let std_stream: std::net::TcpStream = socket.into();
        return Ok(Stream::Tcp(mio::net::TcpStream::from_std(std_stream)));
    }
    Err(last)
}
