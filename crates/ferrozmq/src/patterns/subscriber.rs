//! SUB and XSUB (RFC 29): receive, fair-queued, only messages whose first
//! frame starts with a subscribed prefix.
//!
//! Subscriptions travel upstream to every publisher as `\x01prefix` /
//! `\x00prefix` messages (the engine encodes them as ZMTP 3.1 SUBSCRIBE /
//! CANCEL commands). As in libzmq, every subscribe is sent (XPUB peers
//! de-duplicate), a cancel only when the last reference to the prefix goes,
//! and all subscriptions are re-sent to a publisher that (re)connects.

use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::options::{bool_value, ids};
use crate::pipe::PipeWriter;
use crate::routing::subscription_trie::SubscriptionTrie;
use crate::routing::FairQueue;
use std::collections::HashMap;

pub(crate) struct Subscriber {
    xsub: bool,
    writers: HashMap<PipeId, PipeWriter>,
    fq: FairQueue,
    subscriptions: SubscriptionTrie,
    /// ZMQ_INVERT_MATCHING: deliver the messages that match no subscription.
    invert: bool,
    /// A message is being dropped because its first frame did not match.
    skipping: bool,
    /// A matching multipart message is being delivered.
    delivering: bool,
    /// XSUB: an upstream multipart message is being sent.
    sending_more: bool,
    /// A frame taken from the queue by `has_in` and not yet returned.
    prefetched: Option<Msg>,
    dead: Vec<PipeId>,
}

fn subscription_msg(subscribe: bool, prefix: &[u8]) -> Msg {
    let mut v = Vec::with_capacity(prefix.len() + 1);
    v.push(subscribe as u8);
    v.extend_from_slice(prefix);
    Msg::from(v)
}

impl Subscriber {
    pub(crate) fn new(xsub: bool) -> Subscriber {
        Subscriber {
            xsub,
            writers: HashMap::new(),
            fq: FairQueue::default(),
            subscriptions: SubscriptionTrie::new(),
            invert: false,
            skipping: false,
            delivering: false,
            sending_more: false,
            prefetched: None,
            dead: Vec::new(),
        }
    }

    /// Sends to every publisher; a publisher at its HWM misses it (libzmq's
    /// dist behaviour for subscriptions).
    fn send_to_all(&mut self, msg: &Msg) {
        for w in self.writers.values_mut() {
            if w.check_write() {
                w.write(msg.clone());
                if !msg.get_more() {
                    w.flush();
                }
            }
        }
    }

    fn subscribe(&mut self, prefix: &[u8]) {
        self.subscriptions.add(prefix);
        self.send_to_all(&subscription_msg(true, prefix));
    }

    fn unsubscribe(&mut self, prefix: &[u8]) {
        if self.subscriptions.remove(prefix) {
            self.send_to_all(&subscription_msg(false, prefix));
        }
    }

    fn resend_subscriptions(&mut self, id: PipeId) {
        let Some(w) = self.writers.get_mut(&id) else { return };
        let mut msgs = Vec::new();
        self.subscriptions.for_each(|p| msgs.push(subscription_msg(true, p)));
        for m in msgs {
            if w.check_write() {
                w.write(m);
            }
        }
        w.flush();
    }

    fn bury(&mut self) {
        for id in self.dead.drain(..) {
            self.writers.remove(&id);
        }
    }

    /// The next frame that passes the filter, if any.
    fn next_frame(&mut self) -> Option<Msg> {
        if let Some(m) = self.prefetched.take() {
            return Some(m);
        }
        loop {
            let (_, msg) = self.fq.recv(&mut self.dead)?;
            if self.delivering || self.skipping {
                let more = msg.get_more();
                if self.skipping {
                    self.skipping = more;
                    continue;
                }
                self.delivering = more;
                return Some(msg);
            }
            if self.subscriptions.matches(msg.as_bytes()) != self.invert {
                self.delivering = msg.get_more();
                return Some(msg);
            }
            self.skipping = msg.get_more();
        }
    }
}

impl Pattern for Subscriber {
    fn attach(&mut self, peer: Peer) {
        let id = peer.id;
        self.fq.attach(id, peer.reader);
        self.writers.insert(id, peer.writer);
        self.resend_subscriptions(id);
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.fq.activate(id);
    }

    fn pipe_writable(&mut self, id: PipeId) {
        // The publisher went away: stop sending it subscriptions, but keep
        // reading what it published before (the queue closes when drained).
        if self.writers.get(&id).is_some_and(|w| w.is_reader_closed()) {
            self.writers.remove(&id);
        }
    }

    fn connected(&mut self, id: PipeId, _rid: Option<bytes::Bytes>, _t: ferrozmq_proto::SocketType, reconnect: bool) {
        // The first connection carries the subscriptions queued at attach
        // time; a reconnect needs them again (libzmq's hiccup).
        if reconnect {
            self.resend_subscriptions(id);
        }
    }

    fn send(&mut self, msg: Msg) -> SendResult {
        if !self.xsub {
            return Err((Error::ENOTSUP, msg));
        }
        if !self.sending_more && !msg.get_more() {
            match msg.as_bytes().first() {
                Some(1) => {
                    self.subscribe(&msg.as_bytes()[1..]);
                    return Ok(());
                }
                Some(0) => {
                    self.unsubscribe(&msg.as_bytes()[1..]);
                    return Ok(());
                }
                _ => {}
            }
        }
        self.sending_more = msg.get_more();
        self.send_to_all(&msg);
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg> {
        let r = self.next_frame().ok_or(Error::EAGAIN);
        self.bury();
        r
    }

    fn has_in(&mut self) -> bool {
        if self.prefetched.is_some() || self.delivering {
            return true;
        }
        let m = self.next_frame();
        self.bury();
        match m {
            Some(m) => {
                self.prefetched = Some(m);
                true
            }
            None => false,
        }
    }

    fn has_out(&mut self) -> bool {
        self.xsub
    }

    fn set_option(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        match id {
            ids::SUBSCRIBE if !self.xsub => {
                self.subscribe(v);
                Some(Ok(()))
            }
            ids::UNSUBSCRIBE if !self.xsub => {
                self.unsubscribe(v);
                Some(Ok(()))
            }
            ids::INVERT_MATCHING => Some(bool_value(v).map(|b| self.invert = b)),
            _ => None,
        }
    }

    fn get_option(&self, id: i32) -> Option<Vec<u8>> {
        match id {
            ids::INVERT_MATCHING => Some((self.invert as i32).to_ne_bytes().to_vec()),
            ids::TOPICS_COUNT => Some((self.subscriptions.len() as i32).to_ne_bytes().to_vec()),
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
