//! ROUTER (RFC 28): every message is addressed. On receive, the frame naming
//! the peer (its routing id) is prepended; on send, the first frame names
//! the peer to send to.
//!
//! Routing ids come from the peer's `Identity` metadata (its ROUTING_ID),
//! from CONNECT_ROUTING_ID for connections this socket made, or are
//! generated: 5 bytes, a zero then a 32-bit counter (libzmq's format). A
//! peer claiming an id already in use is ignored, unless ROUTER_HANDOVER
//! lets it take the id over. Unknown ids are dropped silently, or fail with
//! `EHOSTUNREACH` under ROUTER_MANDATORY (`EAGAIN` when the peer is full).
//!
//! ROUTER_NOTIFY (draft) delivers `[routing id, ""]` when a peer connects
//! (bit 1) or disconnects (bit 2); DISCONNECT_MSG delivers `[routing id,
//! msg]` when a peer disconnects — libzmq's draft options for brokers that
//! track their peers. (HELLO_MSG is sent by the session, see
//! `SessionConfig::hello_msg`.)
//!
//! [`Router`] is also the engine under REP.

use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::options::{bool_value, ids};
use crate::pipe::{PipeReader, PipeWriter};
use crate::routing::FairQueue;
use bytes::Bytes;
use ferrozmq_proto::SocketType;
use std::collections::HashMap;

struct Outlet {
    /// None once the peer went away (its last messages may still be read).
    writer: Option<PipeWriter>,
    routing_id: Option<Bytes>,
}

/// Where the frames of the message being sent go.
enum SendState {
    /// Expecting a routing-id frame.
    Idle,
    /// Sending to this peer.
    To(PipeId),
    /// Dropping the rest of the message (unknown or full peer).
    Drop,
}

pub(crate) struct Router {
    fq: FairQueue,
    outlets: HashMap<PipeId, Outlet>,
    by_id: HashMap<Bytes, PipeId>,
    /// Pipes attached before their handshake completed (their reader waits
    /// here, outside the fair queue, until they are identified).
    anonymous: HashMap<PipeId, (PipeReader, Option<Bytes>)>,
    next_auto_id: u32,
    send_state: SendState,
    /// A frame taken from the fair queue, to return after its routing id.
    stashed: Option<(PipeId, Msg)>,
    /// In the middle of receiving a multipart message.
    receiving: bool,
    mandatory: bool,
    handover: bool,
    probe: bool,
    dead: Vec<PipeId>,
    /// ZMQ_ROUTER_NOTIFY bits: 1 = connections, 2 = disconnections.
    notify: i32,
    /// ZMQ_DISCONNECT_MSG, received "from" each peer that disconnects.
    disconnect_msg: Option<Msg>,
    /// Notifications to deliver, before queued messages: (routing id, body).
    notices: std::collections::VecDeque<(Bytes, Msg)>,
}

/// ZMQ_NOTIFY_CONNECT and ZMQ_NOTIFY_DISCONNECT.
const NOTIFY_CONNECT: i32 = 1;
const NOTIFY_DISCONNECT: i32 = 2;

impl Router {
    pub(crate) fn new() -> Router {
        Router {
            fq: FairQueue::default(),
            outlets: HashMap::new(),
            by_id: HashMap::new(),
            anonymous: HashMap::new(),
            // libzmq starts from a random value; any start works as long as
            // ids are unique within the socket.
            next_auto_id: std::process::id().wrapping_mul(2_654_435_761),
            send_state: SendState::Idle,
            stashed: None,
            receiving: false,
            mandatory: false,
            handover: false,
            probe: false,
            dead: Vec::new(),
            notify: 0,
            disconnect_msg: None,
            notices: std::collections::VecDeque::new(),
        }
    }

    /// A peer with this routing id went away: queue what the options ask
    /// the application to see.
    fn note_disconnect(&mut self, rid: Bytes) {
        if self.notify & NOTIFY_DISCONNECT != 0 {
            self.notices.push_back((rid.clone(), Msg::new()));
        }
        if let Some(m) = &self.disconnect_msg {
            self.notices.push_back((rid, Msg::from(m)));
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

    /// Gives a pipe its routing id; false if the peer must be ignored (id in
    /// use without handover).
    fn identify(&mut self, id: PipeId, local: Option<Bytes>, announced: Option<Bytes>) -> bool {
        let rid = match local.or(announced).filter(|r| !r.is_empty()) {
            Some(r) => r,
            None => self.auto_id(),
        };
        if let Some(&old) = self.by_id.get(&rid) {
            if old != id {
                if !self.handover {
                    return false;
                }
                // The new connection takes the id over; the old one is
                // closed (libzmq terminates it).
                self.remove_peer(old);
            }
        }
        if let Some(prev) = self.outlets.get(&id).and_then(|o| o.routing_id.clone()) {
            self.by_id.remove(&prev);
        }
        self.by_id.insert(rid.clone(), id);
        if let Some(o) = self.outlets.get_mut(&id) {
            o.routing_id = Some(rid);
        }
        true
    }

    fn remove_peer(&mut self, id: PipeId) {
        if let Some(o) = self.outlets.remove(&id) {
            if let Some(rid) = o.routing_id {
                if self.by_id.get(&rid) == Some(&id) {
                    self.by_id.remove(&rid);
                }
                if o.writer.is_some() {
                    self.note_disconnect(rid);
                }
            }
        }
        self.fq.detach(id);
        self.anonymous.remove(&id);
        if matches!(self.send_state, SendState::To(p) if p == id) {
            self.send_state = SendState::Drop;
        }
    }

    fn bury(&mut self) {
        for id in std::mem::take(&mut self.dead) {
            self.remove_peer(id);
        }
    }

    fn probe(&mut self, id: PipeId) {
        if let Some(w) = self.outlets.get_mut(&id).and_then(|o| o.writer.as_mut()) {
            if w.check_write() {
                w.write(Msg::new());
                w.flush();
            }
        }
    }

    fn activate_peer(&mut self, id: PipeId, reader: PipeReader, local: Option<Bytes>, announced: Option<Bytes>) {
        if self.identify(id, local, announced) {
            self.fq.attach(id, reader);
            if self.probe {
                self.probe(id);
            }
            self.greet(id);
        } else {
            // Ignored duplicate: keep it parked so the connection stays up
            // but its messages are never read (libzmq's behaviour).
            self.anonymous.insert(id, (reader, None));
        }
    }

    /// ROUTER_NOTIFY's connect notice for a peer just identified.
    fn greet(&mut self, id: PipeId) {
        if self.notify & NOTIFY_CONNECT != 0 {
            if let Some(rid) = self.outlets.get(&id).and_then(|o| o.routing_id.clone()) {
                self.notices.push_back((rid, Msg::new()));
            }
        }
    }

    /// The peer can no longer be sent to; its queued input is still read.
    fn writer_gone(&mut self, id: PipeId) {
        let mut gone_rid = None;
        if let Some(o) = self.outlets.get_mut(&id) {
            if o.writer.take().is_some() {
                gone_rid = o.routing_id.clone();
            }
            if let Some(rid) = &o.routing_id {
                if self.by_id.get(rid) == Some(&id) {
                    self.by_id.remove(rid);
                }
            }
        }
        if let Some(rid) = gone_rid {
            self.note_disconnect(rid);
        }
        if matches!(self.send_state, SendState::To(p) if p == id) {
            self.send_state = SendState::Drop;
        }
        if self.anonymous.contains_key(&id) {
            self.remove_peer(id);
        }
    }

    /// Receives one frame and the pipe it came from; the first frame of each
    /// message is the routing id.
    pub(crate) fn recv_frame(&mut self) -> Option<(PipeId, Msg)> {
        if let Some((id, m)) = self.stashed.take() {
            self.receiving = m.get_more();
            return Some((id, m));
        }
        if !self.receiving {
            if let Some((rid, body)) = self.notices.pop_front() {
                let mut idf = Msg::from_bytes(rid);
                idf.set_more(true);
                // A notice comes from no pipe: id 0 is never a pipe's.
                self.stashed = Some((0, body));
                self.receiving = true;
                return Some((0, idf));
            }
        }
        let r = self.fq.recv(&mut self.dead);
        self.bury();
        if r.is_none() && !self.receiving && !self.notices.is_empty() {
            // Burying a drained peer queued its disconnect notice.
            return self.recv_frame();
        }
        let (id, msg) = r?;
        if self.receiving {
            self.receiving = msg.get_more();
            return Some((id, msg));
        }
        let rid = self.outlets.get(&id).and_then(|o| o.routing_id.clone()).unwrap_or_default();
        let mut idf = Msg::from_bytes(rid);
        idf.set_more(true);
        // The routing-id frame carries the connection's properties too, as
        // libzmq's router gives its prefetched id the message's metadata.
        idf.copy_metadata_from(&msg);
        self.stashed = Some((id, msg));
        self.receiving = true;
        Some((id, idf))
    }

    /// Sends one frame (the first frame of a message names the peer).
    pub(crate) fn send_frame(&mut self, msg: Msg) -> SendResult {
        match self.send_state {
            SendState::Idle => {
                if !msg.get_more() {
                    // A lone routing id is not a message; libzmq drops it.
                    return Ok(());
                }
                let target = self.by_id.get(msg.as_bytes()).copied();
                match target {
                    Some(id) => {
                        let full = !self
                            .outlets
                            .get_mut(&id)
                            .and_then(|o| o.writer.as_mut())
                            .is_some_and(|w| w.check_write());
                        if full {
                            if self.mandatory {
                                return Err((Error::EAGAIN, msg));
                            }
                            if let Some(w) = self.outlets.get(&id).and_then(|o| o.writer.as_ref()) {
                                w.note_dropped();
                            }
                            self.send_state = SendState::Drop;
                        } else {
                            self.send_state = SendState::To(id);
                        }
                    }
                    None => {
                        if self.mandatory {
                            return Err((Error::EHOSTUNREACH, msg));
                        }
                        self.send_state = SendState::Drop;
                    }
                }
                Ok(())
            }
            SendState::To(id) => {
                let more = msg.get_more();
                if let Some(w) = self.outlets.get_mut(&id).and_then(|o| o.writer.as_mut()) {
                    w.write(msg);
                    if !more && !w.flush() {
                        self.writer_gone(id);
                    }
                }
                if !more {
                    self.send_state = SendState::Idle;
                }
                Ok(())
            }
            SendState::Drop => {
                if !msg.get_more() {
                    self.send_state = SendState::Idle;
                }
                Ok(())
            }
        }
    }
}

impl Pattern for Router {
    fn attach(&mut self, peer: Peer) {
        let id = peer.id;
        let identified = peer.is_identified();
        self.outlets.insert(id, Outlet { writer: Some(peer.writer), routing_id: None });
        if identified {
            self.activate_peer(id, peer.reader, peer.local_routing_id, peer.routing_id);
        } else {
            self.anonymous.insert(id, (peer.reader, peer.local_routing_id));
        }
    }

    fn connected(&mut self, id: PipeId, routing_id: Option<Bytes>, _t: SocketType, reconnect: bool) {
        if let Some((reader, local)) = self.anonymous.remove(&id) {
            self.activate_peer(id, reader, local, routing_id);
        } else if reconnect && self.outlets.contains_key(&id) {
            // Same pipes, new connection: the peer may announce a new id.
            let local = None;
            let _ = self.identify(id, local, routing_id);
            if self.probe {
                self.probe(id);
            }
        }
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.fq.activate(id);
    }

    fn pipe_writable(&mut self, id: PipeId) {
        // The peer went away: it can no longer be addressed (its id is free
        // for a reconnecting peer), but what it sent is still delivered; the
        // rest of it goes when the fair queue finds the pipe drained.
        let gone = self.outlets.get(&id).and_then(|o| o.writer.as_ref()).is_some_and(|w| w.is_reader_closed());
        if gone {
            self.writer_gone(id);
        }
    }

    fn send(&mut self, msg: Msg) -> SendResult {
        self.send_frame(msg)
    }


    fn recv(&mut self) -> Result<Msg> {
        self.recv_frame().map(|(_, m)| m).ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self) -> bool {
        self.stashed.is_some() || self.receiving || !self.notices.is_empty() || self.fq.has_in()
    }

    fn has_out(&mut self) -> bool {
        // libzmq: a ROUTER is always writable (unknown peers are dropped).
        true
    }

    fn set_option(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        let r = match id {
            ids::ROUTER_MANDATORY => bool_value(v).map(|b| self.mandatory = b),
            ids::ROUTER_HANDOVER => bool_value(v).map(|b| self.handover = b),
            ids::PROBE_ROUTER => bool_value(v).map(|b| self.probe = b),
            ids::ROUTER_NOTIFY => crate::options::int_value(v).and_then(|n| {
                if !(0..=NOTIFY_CONNECT | NOTIFY_DISCONNECT).contains(&n) {
                    return Err(Error::EINVAL);
                }
                self.notify = n;
                Ok(())
            }),
            ids::DISCONNECT_MSG => {
                self.disconnect_msg = (!v.is_empty()).then(|| Msg::from(v));
                Ok(())
            }
            _ => return None,
        };
        Some(r)
    }

    fn get_option(&self, id: i32) -> Option<Vec<u8>> {
        (id == ids::ROUTER_NOTIFY).then(|| self.notify.to_ne_bytes().to_vec())
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        for w in self.outlets.values().filter_map(|o| o.writer.as_ref()) {
            w.set_hwm(sndhwm);
        }
        self.fq.set_hwm(rcvhwm);
        for (r, _) in self.anonymous.values() {
            r.set_hwm(rcvhwm);
        }
    }
}
