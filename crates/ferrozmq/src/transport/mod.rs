//! Transports: how bytes get between two ZMTP peers.
//!
//! `tcp` and `ipc` produce non-blocking byte streams ([`Stream`]) that the I/O
//! runtime drives with the ZMTP engine; `inproc` has no stream at all — it
//! connects two sockets' pipes directly (see [`inproc`]). Adding a stream
//! transport means adding a file here and a variant to [`Stream`]/[`Listener`].

pub(crate) mod inproc;
pub(crate) mod ipc;
pub(crate) mod tcp;

use std::io::{self, Write};

/// A connected, non-blocking byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

impl Stream {
    pub(crate) fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    /// `writev(2)`: many buffers in one system call.
    pub(crate) fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    /// The file descriptor (monitor events report it).
    pub(crate) fn raw_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    /// The peer's address as ZAP and `Peer-Address` give it: the IP for
    /// TCP, empty for ipc (as libzmq).
    pub(crate) fn peer_address(&self) -> String {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            Stream::Unix(_) => String::new(),
        }
    }

    /// The remote end as an endpoint string (`tcp://ip:port`), if it has
    /// an address (unnamed unix sockets do not).
    pub(crate) fn peer_endpoint(&self) -> Option<String> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|a| format!("tcp://{a}")),
            Stream::Unix(_) => None,
        }
    }

    /// True once a non-blocking connect has completed.
    pub(crate) fn is_connected(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.peer_addr().is_ok(),
            Stream::Unix(s) => s.peer_addr().is_ok(),
        }
    }

}

/// A bound, listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(mio::net::TcpListener, tcp::TcpOptions),
    Unix(mio::net::UnixListener, Option<(std::path::PathBuf, u64)>),
}

impl Listener {
    pub(crate) fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l, _) => l,
            Listener::Unix(l, _) => l,
        }
    }

    /// The file descriptor (monitor events report it).
    pub(crate) fn raw_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Listener::Tcp(l, _) => l.as_raw_fd(),
            Listener::Unix(l, _) => l.as_raw_fd(),
        }
    }

    /// Accepts one pending connection, if any.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l, opts) => {
                let (s, _) = l.accept()?;
                opts.apply(socket2::SockRef::from(&s));
                Ok(Stream::Tcp(s))
            }
            Listener::Unix(l, _) => {
                let (s, _) = l.accept()?;
                Ok(Stream::Unix(s))
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // libzmq removes the socket file of an ipc endpoint it bound.
        // Only if the file is still the one we created: a new socket may
        // already have bound the same path while this listener was closing.
        if let Listener::Unix(_, Some((path, ino))) = self {
            use std::os::unix::fs::MetadataExt;
            if std::fs::symlink_metadata(&*path).is_ok_and(|m| m.ino() == *ino) {
                let _ = std::fs::remove_file(&*path);
            }
        }
    }
}
