//! The one error type of the library, with libzmq's errno mapping.
//!
//! Every failing call returns an [`Error`] whose variant is the errno libzmq
//! would set for the same misuse, so that the C ABI can report exactly what a
//! libzmq program expects and Rust users can match on familiar names.

use std::fmt;

/// libzmq's base for its own error numbers (`ZMQ_HAUSNUMERO`).
pub const HAUSNUMERO: i32 = 156_384_712;

macro_rules! errors {
    ($( $(#[$doc:meta])* $name:ident = $raw:expr, $text:expr; )*) => {
        /// An errno-style error, named as libzmq names it.
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Error {
            $( $(#[$doc])* $name, )*
        }

        impl Error {
            /// The numeric errno (POSIX value, or HAUSNUMERO-based for ZeroMQ's own).
            pub fn to_raw(self) -> i32 {
                match self { $( Error::$name => $raw, )* }
            }

            /// The error for an errno value; unknown values map to `EINVAL`'s
            /// neighbour `EPROTO` rather than panicking.
            pub fn from_raw(raw: i32) -> Error {
                $( if raw == $raw { return Error::$name; } )*
                Error::EPROTO
            }

            /// The same text as libzmq's `zmq_strerror`.
            pub fn message(self) -> &'static str {
                match self { $( Error::$name => $text, )* }
            }
        }
    };
}

errors! {
    /// Permission denied (e.g. binding a privileged port).
    EACCES = libc::EACCES, "Permission denied";
    /// The address is already in use.
    EADDRINUSE = libc::EADDRINUSE, "Address already in use";
    /// The address is not local.
    EADDRNOTAVAIL = libc::EADDRNOTAVAIL, "Cannot assign requested address";
    /// Non-blocking operation could not complete now, or a timeout expired.
    EAGAIN = libc::EAGAIN, "Resource temporarily unavailable";
    /// Resource busy.
    EBUSY = libc::EBUSY, "Device or resource busy";
    /// Bad file descriptor (a poller given a negative fd).
    EBADF = libc::EBADF, "Bad file descriptor";
    /// Connection refused.
    ECONNREFUSED = libc::ECONNREFUSED, "Connection refused";
    /// Connection aborted.
    ECONNABORTED = libc::ECONNABORTED, "Software caused connection abort";
    /// Connection reset by peer.
    ECONNRESET = libc::ECONNRESET, "Connection reset by peer";
    /// Bad address.
    EFAULT = libc::EFAULT, "Bad address";
    /// ROUTER_MANDATORY: no peer with that routing id.
    EHOSTUNREACH = libc::EHOSTUNREACH, "Host unreachable";
    /// Operation in progress.
    EINPROGRESS = libc::EINPROGRESS, "Operation now in progress";
    /// Interrupted by a signal.
    EINTR = libc::EINTR, "Interrupted system call";
    /// Invalid argument: unknown option, wrong value, malformed endpoint.
    EINVAL = libc::EINVAL, "Invalid argument";
    /// Too many open sockets.
    EMFILE = libc::EMFILE, "Too many open files";
    /// Message too long.
    EMSGSIZE = libc::EMSGSIZE, "Message too long";
    /// A name (e.g. an ipc path) is too long.
    ENAMETOOLONG = libc::ENAMETOOLONG, "File name too long";
    /// Network is down.
    ENETDOWN = libc::ENETDOWN, "Network is down";
    /// No buffer space available.
    ENOBUFS = libc::ENOBUFS, "No buffer space available";
    /// No such device (unknown interface name).
    ENODEV = libc::ENODEV, "No such device";
    /// No such endpoint (e.g. unbind of an address never bound).
    ENOENT = libc::ENOENT, "No such file or directory";
    /// Out of memory.
    ENOMEM = libc::ENOMEM, "Cannot allocate memory";
    /// Not connected.
    ENOTCONN = libc::ENOTCONN, "Transport endpoint is not connected";
    /// Not a socket (closed or invalid handle).
    ENOTSOCK = libc::ENOTSOCK, "Socket operation on non-socket";
    /// Operation not supported by this socket type (send on SUB, recv on PUB).
    ENOTSUP = libc::ENOTSUP, "Operation not supported";
    /// Protocol error.
    EPROTO = libc::EPROTO, "Protocol error";
    /// Transport not supported (unknown scheme).
    EPROTONOSUPPORT = libc::EPROTONOSUPPORT, "Protocol not supported";
    /// Timed out.
    ETIMEDOUT = libc::ETIMEDOUT, "Connection timed out";
    /// The operation is not valid in the socket's current state (REQ send twice).
    EFSM = HAUSNUMERO + 51, "Operation cannot be accomplished in current state";
    /// The transport is not compatible with the socket type.
    ENOCOMPATPROTO = HAUSNUMERO + 52, "The protocol is not compatible with the socket type";
    /// The context was terminated.
    ETERM = HAUSNUMERO + 53, "Context was terminated";
    /// No I/O thread available.
    EMTHREAD = HAUSNUMERO + 54, "No thread available";
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        match e.raw_os_error() {
            Some(code) => Error::from_raw(code),
            None => match e.kind() {
                std::io::ErrorKind::WouldBlock => Error::EAGAIN,
                std::io::ErrorKind::InvalidInput => Error::EINVAL,
                std::io::ErrorKind::AddrInUse => Error::EADDRINUSE,
                std::io::ErrorKind::PermissionDenied => Error::EACCES,
                std::io::ErrorKind::NotFound => Error::ENOENT,
                std::io::ErrorKind::TimedOut => Error::ETIMEDOUT,
                _ => Error::EPROTO,
            },
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::from_raw_os_error(e.to_raw())
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip_and_libzmq_values() {
        assert_eq!(Error::ETERM.to_raw(), 156_384_765);
        assert_eq!(Error::EFSM.to_raw(), 156_384_763);
        assert_eq!(Error::from_raw(libc::EAGAIN), Error::EAGAIN);
        assert_eq!(Error::from_raw(Error::ENOCOMPATPROTO.to_raw()), Error::ENOCOMPATPROTO);
        assert_eq!(Error::EADDRINUSE.to_string(), "Address already in use");
    }
}
