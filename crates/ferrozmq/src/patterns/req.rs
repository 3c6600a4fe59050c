//! REQ (RFC 28): a client that alternates strictly between sending one
//! request and receiving one reply.
//!
//! Each request goes out with an empty delimiter frame before it (and, with
//! REQ_CORRELATE, a 4-byte request id before that); a reply is accepted only
//! from the peer the request went to and only with the right envelope —
//! anything else is dropped. Sending twice or receiving first fails with
//! `EFSM`, unless REQ_RELAXED allows a new request to abandon the old one.

use super::dealer::Dealer;
use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::options::{bool_value, ids};
use bytes::Bytes;
use ferrozmq_proto::SocketType;

pub(crate) struct Req {
    dealer: Dealer,
    /// A request was sent; a reply is due.
    receiving_reply: bool,
    /// The next frame sent starts a new request.
    message_begins: bool,
    /// The peer the last request went to.
    reply_pipe: Option<PipeId>,
    /// Inside the body of an accepted reply.
    in_reply_body: bool,
    request_id: u32,
    correlate: bool,
    relaxed: bool,
}

impl Req {
    pub(crate) fn new() -> Req {
        Req {
            dealer: Dealer::default(),
            receiving_reply: false,
            message_begins: true,
            reply_pipe: None,
            in_reply_body: false,
            request_id: std::process::id().wrapping_mul(0x9E37_79B9),
            correlate: false,
            relaxed: false,
        }
    }

    /// Drops the rest of a message from the fair queue.
    fn skip_rest(&mut self, mut more: bool) {
        while more {
            match self.dealer.recv_from_any() {
                Some((_, m)) => more = m.get_more(),
                None => return,
            }
        }
    }
}

impl Pattern for Req {
    fn attach(&mut self, peer: Peer) {
        self.dealer.attach(peer);
    }

    fn connected(&mut self, id: PipeId, rid: Option<Bytes>, t: SocketType, reconnect: bool) {
        self.dealer.connected(id, rid, t, reconnect);
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.dealer.pipe_readable(id);
    }

    fn pipe_writable(&mut self, id: PipeId) {
        self.dealer.pipe_writable(id);
    }

    fn send(&mut self, mut msg: Msg) -> SendResult {
        if self.receiving_reply {
            if !self.relaxed {
                return Err((Error::EFSM, msg));
            }
            // REQ_RELAXED: abandon the outstanding request.
            self.receiving_reply = false;
            self.message_begins = true;
        }
        if self.message_begins {
            self.reply_pipe = None;
            if self.correlate {
                self.request_id = self.request_id.wrapping_add(1);
                let mut idf = Msg::from(self.request_id.to_ne_bytes().to_vec());
                idf.set_more(true);
                match self.dealer.send_to_any(idf) {
                    Ok(p) => self.reply_pipe = p,
                    Err((e, _)) => return Err((e, msg)),
                }
                let mut delim = Msg::new();
                delim.set_more(true);
                // Same peer: the load balancer sticks inside a message.
                let _ = self.dealer.send_to_any(delim);
            } else {
                let mut delim = Msg::new();
                delim.set_more(true);
                match self.dealer.send_to_any(delim) {
                    Ok(p) => self.reply_pipe = p,
                    Err((e, _)) => return Err((e, msg)),
                }
            }
            self.message_begins = false;
            // Replies still queued from earlier requests are stale.
            while let Some((_, m)) = self.dealer.recv_from_any() {
                let more = m.get_more();
                self.skip_rest(more);
            }
        }
        let more = msg.get_more();
        msg.set_more(more);
        match self.dealer.send_to_any(msg) {
            Ok(_) => {}
            Err((e, m)) => return Err((e, m)),
        }
        if !more {
            self.receiving_reply = true;
            self.message_begins = true;
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg> {
        if !self.receiving_reply {
            return Err(Error::EFSM);
        }
        loop {
            if self.in_reply_body {
                let Some((_, m)) = self.dealer.recv_from_any() else { return Err(Error::EAGAIN) };
                if !m.get_more() {
                    self.in_reply_body = false;
                    self.receiving_reply = false;
                }
                return Ok(m);
            }
            // Start of a reply: check the envelope.
            let Some((pipe, first)) = self.dealer.recv_from_any() else { return Err(Error::EAGAIN) };
            if self.reply_pipe.is_some_and(|p| p != pipe) {
                self.skip_rest(first.get_more());
                continue;
            }
            let mut frame = first;
            if self.correlate {
                let ok = frame.get_more() && frame.as_bytes() == self.request_id.to_ne_bytes();
                if !ok {
                    self.skip_rest(frame.get_more());
                    continue;
                }
                match self.dealer.recv_from_any() {
                    Some((_, m)) => frame = m,
                    None => return Err(Error::EAGAIN),
                }
            }
            if !frame.is_empty() || !frame.get_more() {
                // Malformed reply (no delimiter): dropped, as libzmq does.
                self.skip_rest(frame.get_more());
                continue;
            }
            self.in_reply_body = true;
        }
    }

    fn has_in(&mut self) -> bool {
        self.receiving_reply && self.dealer.has_in()
    }

    fn has_out(&mut self) -> bool {
        (!self.receiving_reply || self.relaxed) && self.dealer.has_out()
    }

    fn set_option(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        let r = match id {
            ids::REQ_CORRELATE => bool_value(v).map(|b| self.correlate = b),
            ids::REQ_RELAXED => bool_value(v).map(|b| self.relaxed = b),
            _ => return self.dealer.set_option(id, v),
        };
        Some(r)
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        self.dealer.set_hwms(sndhwm, rcvhwm);
    }
}
