//! `SocketMailbox`: everything that happens to a socket while its owner
//! thread is busy elsewhere — a new peer attached by an I/O thread or an
//! inproc peer, a pipe that became readable or writable — is posted here and
//! applied by the owner thread at its next call. The owner is woken through
//! the mailbox's [`Signal`].

use crate::pipe::{PipeReader, PipeWriter};
use crate::signal::{Notify, Signal};
use bytes::Bytes;
use ferrozmq_proto::SocketType;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Identifies one peer connection's pair of pipes, unique per process.
pub(crate) type PipeId = u64;

/// Allocates process-unique pipe/session ids.
pub(crate) fn next_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One peer as a socket pattern sees it: a pipe to it and a pipe from it.
pub(crate) struct Peer {
    pub id: PipeId,
    pub writer: PipeWriter,
    pub reader: PipeReader,
    /// The peer's routing id (its `Identity` metadata), if it sent one.
    pub routing_id: Option<Bytes>,
    /// The peer's socket type, when known (ZMTP handshake).
    pub peer_type: Option<SocketType>,
    /// CONNECT_ROUTING_ID: the routing id a ROUTER/STREAM gives this peer
    /// (set only on connect, overriding what the peer announces).
    pub local_routing_id: Option<Bytes>,
    /// Where the peer is, for statistics: the connect endpoint, the remote
    /// address of an accepted connection, or the inproc name.
    pub endpoint: String,
}

impl Peer {
    /// The peer is identified: we know its socket type (handshake done, or
    /// inproc peer bound).
    pub(crate) fn is_identified(&self) -> bool {
        self.peer_type.is_some()
    }
}

/// Work for the owner thread.
pub(crate) enum SocketCommand {
    /// A new peer is ready.
    Attach(Peer),
    /// A connect session (whose pipes were attached at `connect` time)
    /// completed a handshake: the peer is now known. `reconnect` is true
    /// when this is not the first connection over these pipes, so patterns
    /// re-send per-connection state (SUB/XSUB subscriptions).
    Connected { id: PipeId, routing_id: Option<Bytes>, peer_type: SocketType, reconnect: bool },
}

#[derive(Default)]
struct MailboxState {
    commands: Vec<SocketCommand>,
    readable: Vec<PipeId>,
    writable: Vec<PipeId>,
    /// The socket closed: nothing will ever read this mailbox again.
    closed: bool,
}

/// A socket's inbox (see module docs).
pub(crate) struct SocketMailbox {
    pub signal: Signal,
    has_work: AtomicBool,
    state: Mutex<MailboxState>,
}

/// What [`SocketMailbox::drain`] hands the owner.
#[derive(Default)]
pub(crate) struct Drained {
    pub commands: Vec<SocketCommand>,
    pub readable: Vec<PipeId>,
    pub writable: Vec<PipeId>,
}

impl SocketMailbox {
    pub(crate) fn new(busy_poll: std::time::Duration) -> std::io::Result<Arc<SocketMailbox>> {
        Ok(Arc::new(SocketMailbox {
            signal: Signal::new(busy_poll)?,
            has_work: AtomicBool::new(false),
            state: Mutex::new(MailboxState::default()),
        }))
    }

    fn with_state(&self, f: impl FnOnce(&mut MailboxState)) {
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.closed {
                return;
            }
            f(&mut st);
        }
        self.has_work.store(true, Ordering::Release);
        self.signal.notify();
    }

    /// Posts a command. After the socket closed, the command is dropped at
    /// once — with it any pipe ends it carries, so the sender (a session
    /// that just completed a handshake) sees the socket gone instead of
    /// lingering forever for a reader that will never come.
    pub(crate) fn post(&self, cmd: SocketCommand) {
        let rejected = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.closed {
                Some(cmd)
            } else {
                st.commands.push(cmd);
                None
            }
        };
        match rejected {
            // Dropped outside the lock: closing pipes notifies their peers.
            Some(cmd) => drop(cmd),
            None => {
                self.has_work.store(true, Ordering::Release);
                self.signal.notify();
            }
        }
    }

    /// Cheap check for the hot path: is there anything to drain?
    #[inline]
    pub(crate) fn has_work(&self) -> bool {
        self.has_work.load(Ordering::Acquire)
    }

    /// Takes everything posted so far. `out`'s vectors are reused.
    pub(crate) fn drain(&self, out: &mut Drained) {
        self.has_work.store(false, Ordering::Release);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut st.commands, &mut out.commands);
        std::mem::swap(&mut st.readable, &mut out.readable);
        std::mem::swap(&mut st.writable, &mut out.writable);
    }

    /// Closes the mailbox (socket close): drops everything queued, breaking
    /// the reference cycle between queued peers' pipes and this mailbox, and
    /// refuses whatever is posted later.
    pub(crate) fn clear(&self) {
        let old = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let old = std::mem::take(&mut *st);
            st.closed = true;
            old
        };
        drop(old);
    }
}

/// The `Notify` a socket-side pipe end carries: it tells the socket which
/// pipe changed, so patterns re-activate exactly that pipe (libzmq's
/// activate_read / activate_write commands).
pub(crate) struct PipeEvent {
    pub mailbox: Arc<SocketMailbox>,
    pub id: PipeId,
    pub readable: bool,
}

impl Notify for PipeEvent {
    fn notify(&self) {
        let (id, readable) = (self.id, self.readable);
        self.mailbox.with_state(|st| {
            if readable {
                st.readable.push(id)
            } else {
                st.writable.push(id)
            }
        });
    }
}

impl SocketMailbox {
    /// Wakes the owner so that a blocking call notices context termination.
    pub(crate) fn signal_term(&self) {
        self.has_work.store(true, Ordering::Release);
        self.signal.notify();
    }
}
