//! Per-socket statistics (`Socket::stats`): messages and bytes in and out,
//! per peer and in total, what is queued, what was dropped at the HWM, and
//! how often connections were re-established. libzmq has none of this (only
//! the proxy's totals); ferrozmq offers it because "why is my subscriber
//! missing messages?" should be answerable without a packet capture.
//!
//! Cost: the counters live in the pipes each peer already has. Each is
//! written by one thread with a plain relaxed store (per batch on the
//! writer's side, per message on the reader's), so the hot path does no
//! shared read-modify-write; a snapshot only loads them.

use crate::mailbox::{Peer, PipeId};
use crate::pipe::{PipeCounters, PipeShared};
use bytes::Bytes;
use std::sync::Arc;

/// Traffic with one peer, as seen by this socket.
///
/// ```
/// use ferrozmq::{Context, SocketType};
/// let ctx = Context::new();
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://peer-stats-doc")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://peer-stats-doc")?;
/// push.send("abc", 0)?;
/// let peer = &push.stats().peers[0];
/// assert_eq!(peer.endpoint, "inproc://peer-stats-doc");
/// assert_eq!((peer.msgs_out, peer.bytes_out), (1, 3));
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Where the peer is: the endpoint this socket connected to, the remote
    /// address of an accepted tcp connection (`tcp://10.0.0.7:51234`), the
    /// listener's endpoint for an accepted ipc connection, or the inproc
    /// name.
    pub endpoint: String,
    /// The peer's routing id, when it announced one.
    pub routing_id: Option<Bytes>,
    /// Messages (all frames of a multipart message count once) received
    /// from the peer and delivered to the application.
    pub msgs_in: u64,
    /// Payload bytes of those messages.
    pub bytes_in: u64,
    /// Messages received from the peer, not yet taken by the application.
    pub queued_in: u64,
    /// Messages the application sent to this peer (accepted by the socket).
    pub msgs_out: u64,
    /// Payload bytes of those messages.
    pub bytes_out: u64,
    /// Messages sent to this peer still waiting to be written to the
    /// connection (or taken by an inproc peer).
    pub queued_out: u64,
    /// Messages this socket discarded for this peer because its queue was at
    /// the high-water mark (PUB/XPUB fan-out, ROUTER without
    /// ROUTER_MANDATORY).
    pub dropped: u64,
    /// How many times the connection was re-established after a loss.
    pub reconnects: u64,
}

/// A socket's statistics: totals over every peer it ever had, and the
/// peers it has now.
///
/// ```
/// use ferrozmq::{Context, SocketType};
/// let ctx = Context::new();
/// let push = ctx.socket(SocketType::Push)?;
/// let pull = ctx.socket(SocketType::Pull)?;
/// pull.bind("inproc://stats-doc")?;
/// push.connect("inproc://stats-doc")?;
/// push.send("hello", 0)?;
/// pull.recv_msg(0)?;
/// assert_eq!(push.stats().msgs_out, 1);
/// assert_eq!(pull.stats().bytes_in, 5);
/// assert_eq!(pull.stats().peers.len(), 1);
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketStats {
    /// Messages delivered to the application.
    pub msgs_in: u64,
    /// Payload bytes delivered to the application.
    pub bytes_in: u64,
    /// Messages received and waiting to be read.
    pub queued_in: u64,
    /// Messages the application sent (to any peer).
    pub msgs_out: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Messages sent and not yet written to their connections.
    pub queued_out: u64,
    /// Messages discarded at a peer's high-water mark.
    pub dropped: u64,
    /// Connections re-established after a loss.
    pub reconnects: u64,
    /// The peers attached now (a connect endpoint counts as a peer from
    /// `connect` on, unless IMMEDIATE is set).
    pub peers: Vec<PeerStats>,
}

struct PeerRecord {
    id: PipeId,
    endpoint: String,
    routing_id: Option<Bytes>,
    /// Peer -> socket.
    inbound: Arc<PipeShared>,
    /// Socket -> peer.
    outbound: Arc<PipeShared>,
}

impl PeerRecord {
    fn snapshot(&self) -> PeerStats {
        let i: PipeCounters = self.inbound.counters();
        let o: PipeCounters = self.outbound.counters();
        PeerStats {
            endpoint: self.endpoint.clone(),
            routing_id: self.routing_id.clone(),
            msgs_in: i.read_msgs,
            bytes_in: i.read_bytes,
            queued_in: i.written_msgs.saturating_sub(i.read_msgs),
            msgs_out: o.written_msgs,
            bytes_out: o.written_bytes,
            queued_out: o.written_msgs.saturating_sub(o.read_msgs),
            dropped: o.dropped,
            reconnects: i.reconnects,
        }
    }

    /// The peer is gone: it closed both its ends, and everything it sent
    /// was read (the pattern notices the closed pipes only when it next
    /// reads or writes them, so this does not wait for that).
    fn finished(&self) -> bool {
        let i = self.inbound.counters();
        self.inbound.writer_closed() && i.read_msgs >= i.written_msgs && self.outbound.reader_closed()
    }
}

/// The socket's record of its peers (owned by the socket's thread).
#[derive(Default)]
pub(crate) struct StatsRegistry {
    peers: Vec<PeerRecord>,
    /// Totals of peers that are gone.
    retired: SocketStats,
}

impl StatsRegistry {
    pub(crate) fn attach(&mut self, peer: &Peer) {
        self.prune();
        self.peers.push(PeerRecord {
            id: peer.id,
            endpoint: peer.endpoint.clone(),
            routing_id: peer.routing_id.clone().filter(|r| !r.is_empty()),
            inbound: peer.reader.shared().clone(),
            outbound: peer.writer.shared().clone(),
        });
    }

    pub(crate) fn connected(&mut self, id: PipeId, routing_id: Option<&Bytes>) {
        if let Some(p) = self.peers.iter_mut().find(|p| p.id == id) {
            p.routing_id = routing_id.filter(|r| !r.is_empty()).cloned();
        }
    }

    /// Folds the counters of finished peers into the retired totals, so the
    /// list stays as long as the set of live peers.
    fn prune(&mut self) {
        let mut i = 0;
        while i < self.peers.len() {
            if self.peers[i].finished() {
                let gone = self.peers.swap_remove(i).snapshot();
                add(&mut self.retired, &gone);
            } else {
                i += 1;
            }
        }
    }

    pub(crate) fn snapshot(&mut self) -> SocketStats {
        self.prune();
        let mut total = self.retired.clone();
        total.queued_in = 0;
        total.queued_out = 0;
        for p in &self.peers {
            let s = p.snapshot();
            add(&mut total, &s);
            total.peers.push(s);
        }
        total
    }
}

fn add(total: &mut SocketStats, p: &PeerStats) {
    total.msgs_in += p.msgs_in;
    total.bytes_in += p.bytes_in;
    total.queued_in += p.queued_in;
    total.msgs_out += p.msgs_out;
    total.bytes_out += p.bytes_out;
    total.queued_out += p.queued_out;
    total.dropped += p.dropped;
    total.reconnects += p.reconnects;
}
