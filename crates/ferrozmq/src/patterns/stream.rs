//! STREAM: plain TCP peers, no ZMTP (libzmq's `ZMQ_STREAM`).
//!
//! Every message is two frames, `[routing id][data]`, like ROUTER. Whatever
//! bytes arrive from a peer become one data frame; a data frame sent is
//! written as it is. An empty data frame means "connected" or "disconnected"
//! on receive (STREAM_NOTIFY, on by default) and "close this connection" on
//! send. Ids are generated (5 bytes, zero first) or set for the next connect
//! with CONNECT_ROUTING_ID.

use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::options::{bool_value, ids};
use crate::pipe::{PipeReader, PipeWriter};
use crate::routing::FairQueue;
use bytes::Bytes;
use ferrozmq_proto::SocketType;
use std::collections::{HashMap, VecDeque};

struct Conn {
    writer: Option<PipeWriter>,
    routing_id: Bytes,
}

pub(crate) struct Stream {
    fq: FairQueue,
    conns: HashMap<PipeId, Conn>,
    by_id: HashMap<Bytes, PipeId>,
    /// Connect-side pipes whose TCP connection is not up yet.
    pending: HashMap<PipeId, (PipeReader, PipeWriter, Option<Bytes>)>,
    next_auto_id: u32,
    notify: bool,
    /// Frames ready for `recv` (notifications and split messages).
    ready: VecDeque<Msg>,
    send_to: Option<Option<PipeId>>,
    dead: Vec<PipeId>,
}

impl Stream {
    pub(crate) fn new() -> Stream {
        Stream {
            fq: FairQueue::default(),
            conns: HashMap::new(),
            by_id: HashMap::new(),
            pending: HashMap::new(),
            next_auto_id: std::process::id().wrapping_mul(2_246_822_519),
            notify: true,
            ready: VecDeque::new(),
            send_to: None,
            dead: Vec::new(),
        }
    }

    fn auto_id(&mut self) -> Bytes {
        loop {
            self.next_auto_id = self.next_auto_id.wrapping_add(1);
            let mut v = vec![0u8];
            v.extend_from_slice(&self.next_auto_id.to_be_bytes());
            let b = Bytes::from(v);
            if !self.by_id.contains_key(&b) {
                return b;
            }
        }
    }

    fn open(&mut self, id: PipeId, reader: PipeReader, writer: PipeWriter, local: Option<Bytes>) {
        let rid = match local.filter(|r| !r.is_empty() && !self.by_id.contains_key(r)) {
            Some(r) => r,
            None => self.auto_id(),
        };
        self.by_id.insert(rid.clone(), id);
        self.conns.insert(id, Conn { writer: Some(writer), routing_id: rid });
        // The connect and disconnect notifications come from the engine as
        // empty frames through this pipe (also across reconnects).
        self.fq.attach(id, reader);
    }

    fn close(&mut self, id: PipeId) {
        self.fq.detach(id);
        self.pending.remove(&id);
        if let Some(c) = self.conns.remove(&id) {
            if self.by_id.get(&c.routing_id) == Some(&id) {
                self.by_id.remove(&c.routing_id);
            }
        }
    }

    fn pull(&mut self) {
        if !self.ready.is_empty() {
            return;
        }
        while let Some((id, data)) = self.fq.recv(&mut self.dead) {
            if data.is_empty() && !self.notify {
                // STREAM_NOTIFY off: connect/disconnect frames are not shown.
                continue;
            }
            if let Some(c) = self.conns.get(&id) {
                let mut idf = Msg::from_bytes(c.routing_id.clone());
                idf.set_more(true);
                let mut data = data;
                data.set_more(false);
                self.ready.push_back(idf);
                self.ready.push_back(data);
                break;
            }
        }
        for id in std::mem::take(&mut self.dead) {
            self.close(id);
        }
    }
}

impl Pattern for Stream {
    fn attach(&mut self, peer: Peer) {
        if peer.is_identified() {
            self.open(peer.id, peer.reader, peer.writer, peer.local_routing_id);
        } else {
            self.pending.insert(peer.id, (peer.reader, peer.writer, peer.local_routing_id));
        }
    }

    fn connected(&mut self, id: PipeId, _rid: Option<Bytes>, _t: SocketType, _reconnect: bool) {
        if let Some((r, w, local)) = self.pending.remove(&id) {
            self.open(id, r, w, local);
        }
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.fq.activate(id);
    }

    fn pipe_writable(&mut self, id: PipeId) {
        // The connection is gone for sending; its last bytes are still read
        // and the disconnect is reported once they are (see `pull`).
        if let Some(c) = self.conns.get_mut(&id) {
            if c.writer.as_ref().is_some_and(|w| w.is_reader_closed()) {
                c.writer = None;
            }
        }
    }

    fn send(&mut self, mut msg: Msg) -> SendResult {
        match self.send_to {
            None => {
                if !msg.get_more() {
                    return Err((Error::EINVAL, msg));
                }
                let target = self.by_id.get(msg.as_bytes()).copied();
                match target {
                    Some(id) => {
                        let room = self
                            .conns
                            .get_mut(&id)
                            .and_then(|c| c.writer.as_mut())
                            .is_some_and(|w| w.check_write());
                        if !room {
                            return Err((Error::EAGAIN, msg));
                        }
                        self.send_to = Some(Some(id));
                    }
                    // libzmq: an unknown id fails with EHOSTUNREACH.
                    None => return Err((Error::EHOSTUNREACH, msg)),
                }
                Ok(())
            }
            Some(target) => {
                let more = msg.get_more();
                if !more {
                    self.send_to = None;
                }
                let Some(id) = target else { return Ok(()) };
                let close = msg.is_empty();
                msg.set_more(false);
                if let Some(c) = self.conns.get_mut(&id) {
                    if let Some(w) = c.writer.as_mut() {
                        w.write(msg);
                        w.flush();
                        if close {
                            // An empty frame closes the connection once what
                            // was written before has gone out.
                            c.writer = None;
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn recv(&mut self) -> Result<Msg> {
        self.pull();
        self.ready.pop_front().ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self) -> bool {
        self.pull();
        !self.ready.is_empty()
    }

    fn has_out(&mut self) -> bool {
        true
    }

    fn set_option(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        match id {
            ids::STREAM_NOTIFY => Some(bool_value(v).map(|b| self.notify = b)),
            _ => None,
        }
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        for c in self.conns.values() {
            if let Some(w) = &c.writer {
                w.set_hwm(sndhwm);
            }
        }
        self.fq.set_hwm(rcvhwm);
    }
}
