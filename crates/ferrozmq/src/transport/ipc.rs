//! `ipc://`: Unix-domain stream sockets. A path is a filesystem socket (an
//! existing stale file is replaced, and the file is removed on unbind, as
//! libzmq does); `@name` is Linux's abstract namespace (no file); `*` picks a
//! fresh path in the temporary directory.

use super::{Listener, Stream};
use crate::endpoint::ipc_path;
use crate::error::{Error, Result};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

fn socket_addr(name: &str) -> Result<SocketAddr> {
    if let Some(abs) = name.strip_prefix('@') {
        SocketAddr::from_abstract_name(abs.as_bytes()).map_err(|_| Error::EINVAL)
    } else {
        SocketAddr::from_pathname(ipc_path(name)?).map_err(|_| Error::ENAMETOOLONG)
    }
}

/// Binds and returns the listener plus the endpoint string. `backlog` is
/// ZMQ_BACKLOG, the kernel's queue of connections not yet accepted.
pub(crate) fn bind(name: &str, backlog: i32) -> Result<(Listener, String)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = if name == "*" {
        let dir = std::env::temp_dir();
        format!(
            "{}/fzmq-{}-{}",
            dir.display(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    } else {
        name.to_string()
    };
    let addr = socket_addr(&name)?;
    let path = if name.starts_with('@') {
        None
    } else {
        // Replace a socket file left behind by an earlier run (libzmq does
        // the same); refuse to clobber anything that is not a socket.
        let p = ipc_path(&name)?;
        if let Ok(meta) = std::fs::symlink_metadata(&p) {
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_socket() {
                let _ = std::fs::remove_file(&p);
            }
        }
        Some(p)
    };
    let std_listener = std::os::unix::net::UnixListener::bind_addr(&addr).map_err(Error::from)?;
    std_listener.set_nonblocking(true).map_err(Error::from)?;
    // std listens with its own backlog; listening again sets ours.
    socket2::SockRef::from(&std_listener).listen(backlog.max(1)).map_err(Error::from)?;
    let owned = path.and_then(|p| {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(&p).ok().map(|m| (p, m.ino()))
    });
    Ok((Listener::Unix(mio::net::UnixListener::from_std(std_listener), owned), format!("ipc://{name}")))
}

/// Connects (Unix-domain connects complete at once or fail at once).
pub(crate) fn connect(name: &str) -> Result<Stream> {
    let addr = socket_addr(name)?;
    let s = std::os::unix::net::UnixStream::connect_addr(&addr).map_err(Error::from)?;
    s.set_nonblocking(true).map_err(Error::from)?;
    Ok(Stream::Unix(mio::net::UnixStream::from_std(s)))
}
