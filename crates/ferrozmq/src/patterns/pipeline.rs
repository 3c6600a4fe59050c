//! PUSH and PULL (RFC 30, formerly DOWNSTREAM and UPSTREAM).
//! PUSH load-balances messages over its peers and blocks when all are at
//! their HWM; PULL fair-queues from its peers.

use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::pipe::{PipeReader, PipeWriter};
use crate::routing::{FairQueue, LoadBalancer};
use std::collections::HashMap;

/// PUSH: send-only, round-robin.
#[derive(Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
    /// Inbound pipes are kept open (a PULL never sends, but closing our end
    /// would look like the socket went away).
    unused_readers: HashMap<PipeId, PipeReader>,
    dead: Vec<PipeId>,
}

impl Push {
    fn bury(&mut self) {
        for id in self.dead.drain(..) {
            self.unused_readers.remove(&id);
        }
    }
}

impl Pattern for Push {
    fn attach(&mut self, peer: Peer) {
        self.lb.attach(peer.id, peer.writer);
        self.unused_readers.insert(peer.id, peer.reader);
    }

    fn pipe_readable(&mut self, _id: PipeId) {}

    fn pipe_writable(&mut self, id: PipeId) {
        if self.lb.reap(id) {
            self.unused_readers.remove(&id);
        } else {
            self.lb.activate(id);
        }
    }

    fn send(&mut self, msg: Msg) -> SendResult {
        let r = self.lb.send(msg, &mut self.dead).map(|_| ()).map_err(|m| (Error::EAGAIN, m));
        self.bury();
        r
    }

    fn recv(&mut self) -> Result<Msg> {
        Err(Error::ENOTSUP)
    }

    fn has_in(&mut self) -> bool {
        false
    }

    fn has_out(&mut self) -> bool {
        self.lb.has_out()
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        self.lb.set_hwm(sndhwm);
        for r in self.unused_readers.values() {
            r.set_hwm(rcvhwm);
        }
    }
}

/// PULL: receive-only, fair-queued.
#[derive(Default)]
pub(crate) struct Pull {
    fq: FairQueue,
    unused_writers: HashMap<PipeId, PipeWriter>,
    dead: Vec<PipeId>,
}

impl Pattern for Pull {
    fn attach(&mut self, peer: Peer) {
        self.fq.attach(peer.id, peer.reader);
        self.unused_writers.insert(peer.id, peer.writer);
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.fq.activate(id);
    }

    fn pipe_writable(&mut self, _id: PipeId) {}

    fn send(&mut self, msg: Msg) -> SendResult {
        Err((Error::ENOTSUP, msg))
    }

    fn recv(&mut self) -> Result<Msg> {
        let r = self.fq.recv(&mut self.dead);
        for id in self.dead.drain(..) {
            self.unused_writers.remove(&id);
        }
        r.map(|(_, m)| m).ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self) -> bool {
        self.fq.has_in()
    }

    fn has_out(&mut self) -> bool {
        false
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        self.fq.set_hwm(rcvhwm);
        for w in self.unused_writers.values() {
            w.set_hwm(sndhwm);
        }
    }
}
