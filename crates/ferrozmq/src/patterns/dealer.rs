//! DEALER (RFC 28): load-balances outgoing messages over its peers and
//! fair-queues incoming ones, with no envelope handling. With PROBE_ROUTER it
//! sends an empty message to each new peer so a ROUTER learns about it.
//!
//! [`Dealer`] is also the engine under REQ, which needs to know which peer a
//! request went to and where a reply came from.

use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::options::{bool_value, ids};
use crate::routing::{FairQueue, LoadBalancer};
use bytes::Bytes;
use ferrozmq_proto::SocketType;

#[derive(Default)]
pub(crate) struct Dealer {
    pub(crate) lb: LoadBalancer,
    pub(crate) fq: FairQueue,
    probe_router: bool,
    dead: Vec<PipeId>,
}

impl Dealer {
    fn probe(&mut self, id: PipeId) {
        if let Some(w) = self.lb.writer(id) {
            if w.check_write() {
                w.write(Msg::new());
                w.flush();
            }
        }
    }

    fn bury(&mut self) {
        for id in std::mem::take(&mut self.dead) {
            self.lb.detach(id);
            self.fq.detach(id);
        }
    }

    /// Sends a frame; returns the peer it went to.
    pub(crate) fn send_to_any(&mut self, msg: Msg) -> std::result::Result<Option<PipeId>, (Error, Msg)> {
        let r = self.lb.send(msg, &mut self.dead).map_err(|m| (Error::EAGAIN, m));
        self.bury();
        r
    }

    /// Receives a frame and the peer it came from.
    pub(crate) fn recv_from_any(&mut self) -> Option<(PipeId, Msg)> {
        let r = self.fq.recv(&mut self.dead);
        self.bury();
        r
    }
}

impl Pattern for Dealer {
    fn attach(&mut self, peer: Peer) {
        let id = peer.id;
        let identified = peer.is_identified();
        self.lb.attach(id, peer.writer);
        self.fq.attach(id, peer.reader);
        if self.probe_router && identified {
            self.probe(id);
        }

    }

    fn connected(&mut self, id: PipeId, _rid: Option<Bytes>, _t: SocketType, _reconnect: bool) {
        if self.probe_router {
            self.probe(id);
        }
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.fq.activate(id);
    }

    fn pipe_writable(&mut self, id: PipeId) {
        // A peer that went away stops receiving at once, but what it sent
        // before is still read: the fair queue drops it only when drained.
        if !self.lb.reap(id) {
            self.lb.activate(id);
        }
    }

    fn send(&mut self, msg: Msg) -> SendResult {
        self.send_to_any(msg).map(|_| ())
    }

    fn recv(&mut self) -> Result<Msg> {
        self.recv_from_any().map(|(_, m)| m).ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self) -> bool {
        self.fq.has_in()
    }

    fn has_out(&mut self) -> bool {
        self.lb.has_out()
    }

    fn set_option(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        match id {
            ids::PROBE_ROUTER => Some(bool_value(v).map(|b| self.probe_router = b)),
            _ => None,
        }
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        self.lb.set_hwm(sndhwm);
        self.fq.set_hwm(rcvhwm);
    }
}
