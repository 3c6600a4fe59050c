//! PUB and XPUB (RFC 29): fan a message out to every peer subscribed to a
//! prefix of its first frame. A peer at its HWM misses the message (PUB
//! never blocks), unless XPUB_NODROP asks for EAGAIN instead.
//!
//! Subscriptions arrive from peers as messages `\x01prefix` / `\x00prefix`
//! (the engine turns ZMTP 3.1 SUBSCRIBE/CANCEL commands into exactly these),
//! are recorded in a [`MultiTrie`], and for XPUB are also handed to the
//! application: the first subscription to a prefix and the last cancel only,
//! unless XPUB_VERBOSE (every subscribe) / XPUB_VERBOSER (every cancel too).

use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::options::{bool_value, ids};
use crate::pipe::PipeWriter;
use crate::routing::subscription_trie::MultiTrie;
use crate::routing::FairQueue;
use std::collections::{HashMap, VecDeque};

pub(crate) struct Publisher {
    xpub: bool,
    writers: HashMap<PipeId, PipeWriter>,
    /// Inbound: subscriptions (and XPUB upstream messages).
    fq: FairQueue,
    subscriptions: MultiTrie<PipeId>,
    /// Peers receiving the message being sent (chosen at its first frame).
    targets: Vec<PipeId>,
    more: bool,
    /// XPUB: messages for the application's recv.
    /// Messages for the application (XPUB), with the pipe they came from.
    pending: VecDeque<(PipeId, Msg)>,
    /// ZMQ_XPUB_MANUAL: subscriptions are not applied by themselves; the
    /// application applies them with ZMQ_SUBSCRIBE/UNSUBSCRIBE on this
    /// socket, for the peer whose subscription message it read last.
    manual: bool,
    /// The pipe of the last message the application received (XPUB_MANUAL).
    last_pipe: Option<PipeId>,
    verbose: bool,
    verboser: bool,
    nodrop: bool,
    /// ZMQ_INVERT_MATCHING: send to the subscribers that did not match.
    invert: bool,
    welcome: Option<Msg>,
    dead: Vec<PipeId>,
}

impl Publisher {
    pub(crate) fn new(xpub: bool) -> Publisher {
        Publisher {
            xpub,
            writers: HashMap::new(),
            fq: FairQueue::default(),
            subscriptions: MultiTrie::new(),
            targets: Vec::new(),
            more: false,
            pending: VecDeque::new(),
            manual: false,
            last_pipe: None,
            verbose: false,
            verboser: false,
            nodrop: false,
            invert: false,
            welcome: None,
            dead: Vec::new(),
        }
    }

    fn remove_peer(&mut self, id: PipeId) {
        self.writers.remove(&id);
        self.fq.detach(id);
        self.targets.retain(|t| *t != id);
        let xpub = self.xpub;
        let pending = &mut self.pending;
        self.subscriptions.remove_pipe(id, |prefix| {
            if xpub {
                let mut v = Vec::with_capacity(prefix.len() + 1);
                v.push(0);
                v.extend_from_slice(prefix);
                pending.push_back((id, Msg::from(v)));
            }
        });
    }

    /// Reads whatever the peers sent: subscriptions and cancels update the
    /// trie; XPUB also queues them (and other messages) for the application.
    fn process_inbound(&mut self) {
        let mut upstream_more = false;
        while let Some((id, msg)) = self.fq.recv(&mut self.dead) {
            if upstream_more || msg.get_more() {
                // A multipart message is never a subscription.
                upstream_more = msg.get_more();
                if self.xpub {
                    self.pending.push_back((id, msg));
                }
                continue;
            }
            let data = msg.as_bytes();
            match data.first() {
                Some(0 | 1) if self.manual => {
                    // The application decides (it sees every one).
                    self.pending.push_back((id, msg));
                }
                Some(1) => {
                    let first = self.subscriptions.add(&data[1..], id);
                    if self.xpub && (first || self.verbose || self.verboser) {
                        self.pending.push_back((id, msg));
                    }
                }
                Some(0) => {
                    let last = self.subscriptions.remove(&data[1..], id);
                    if self.xpub && (last || self.verboser) {
                        self.pending.push_back((id, msg));
                    }
                }
                _ => {
                    if self.xpub {
                        self.pending.push_back((id, msg));
                    }
                }
            }
        }
        let dead = std::mem::take(&mut self.dead);
        for id in dead {
            self.remove_peer(id);
        }
    }
}

impl Pattern for Publisher {
    fn attach(&mut self, mut peer: Peer) {
        if let Some(w) = &self.welcome {
            if peer.writer.check_write() {
                peer.writer.write(w.clone());
                peer.writer.flush();
            }
        }
        self.fq.attach(peer.id, peer.reader);
        self.writers.insert(peer.id, peer.writer);
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.fq.activate(id);
    }

    fn pipe_writable(&mut self, id: PipeId) {
        if self.writers.get(&id).is_some_and(|w| w.is_reader_closed()) {
            self.remove_peer(id);
        }
    }

    fn send(&mut self, msg: Msg) -> SendResult {
        self.process_inbound();
        if !self.more {
            self.targets.clear();
            let targets = &mut self.targets;
            self.subscriptions.for_each_match(msg.as_bytes(), |p| targets.push(p));
            if self.invert {
                // ZMQ_INVERT_MATCHING: every subscriber that did not match.
                let matched = std::mem::take(&mut self.targets);
                self.targets.extend(self.writers.keys().filter(|id| !matched.contains(id)).copied());
            }
            if self.nodrop {
                let full = self
                    .targets
                    .iter()
                    .any(|id| self.writers.get_mut(id).is_some_and(|w| !w.check_write()));
                if full {
                    self.targets.clear();
                    return Err((Error::EAGAIN, msg));
                }
            } else {
                // Mute peers (at HWM) miss this whole message.
                let writers = &mut self.writers;
                self.targets.retain(|id| {
                    writers.get_mut(id).is_some_and(|w| {
                        let room = w.check_write();
                        if !room {
                            w.note_dropped();
                        }
                        room
                    })
                });
            }
        }
        let more = msg.get_more();
        for id in &self.targets {
            if let Some(w) = self.writers.get_mut(id) {
                w.write(msg.clone());
                if !more && !w.flush() {
                    self.dead.push(*id);
                }
            }
        }
        self.more = more;
        let dead = std::mem::take(&mut self.dead);
        for id in dead {
            self.remove_peer(id);
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg> {
        if !self.xpub {
            return Err(Error::ENOTSUP);
        }
        self.process_inbound();
        let (id, msg) = self.pending.pop_front().ok_or(Error::EAGAIN)?;
        self.last_pipe = Some(id);
        Ok(msg)
    }

    fn has_in(&mut self) -> bool {
        if !self.xpub {
            return false;
        }
        self.process_inbound();
        !self.pending.is_empty()
    }

    fn has_out(&mut self) -> bool {
        // PUB never blocks; with NODROP it can.
        if !self.nodrop {
            return true;
        }
        self.writers.values_mut().all(|w| w.check_write())
    }

    fn set_option(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        let r = match id {
            ids::XPUB_VERBOSE if self.xpub => bool_value(v).map(|b| self.verbose = b),
            ids::XPUB_VERBOSER if self.xpub => bool_value(v).map(|b| {
                self.verboser = b;
                if b {
                    self.verbose = true;
                }
            }),
            ids::XPUB_NODROP => bool_value(v).map(|b| self.nodrop = b),
            ids::INVERT_MATCHING => bool_value(v).map(|b| self.invert = b),
            ids::XPUB_MANUAL if self.xpub => bool_value(v).map(|b| self.manual = b),
            ids::SUBSCRIBE | ids::UNSUBSCRIBE if self.xpub && self.manual => {
                // libzmq: applies to the peer of the last message received.
                if let Some(p) = self.last_pipe.filter(|p| self.writers.contains_key(p)) {
                    if id == ids::SUBSCRIBE {
                        self.subscriptions.add(v, p);
                    } else {
                        self.subscriptions.remove(v, p);
                    }
                }
                Ok(())
            }
            ids::XPUB_WELCOME_MSG if self.xpub => {
                self.welcome = if v.is_empty() { None } else { Some(Msg::from(v)) };
                Ok(())
            }
            _ => return None,
        };
        Some(r)
    }

    fn get_option(&self, id: i32) -> Option<Vec<u8>> {
        match id {
            ids::INVERT_MATCHING => Some((self.invert as i32).to_ne_bytes().to_vec()),
            ids::TOPICS_COUNT => Some((self.subscriptions.topics() as i32).to_ne_bytes().to_vec()),
            _ => None,
        }
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        for w in self.writers.values() {
            w.set_hwm(sndhwm);
        }
        self.fq.set_hwm(rcvhwm);
    }
}
