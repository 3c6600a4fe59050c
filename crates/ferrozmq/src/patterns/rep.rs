//! REP (RFC 28): a server that alternates strictly between receiving one
//! request and sending one reply.
//!
//! On receive, the request's envelope — the routing id and any address
//! frames up to and including the empty delimiter — is taken off and kept;
//! the reply goes back to the same peer with that envelope restored. A
//! request without a delimiter is malformed and dropped. Sending before a
//! request arrived, or receiving twice, fails with `EFSM`.

use super::router::Router;
use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use bytes::Bytes;
use ferrozmq_proto::SocketType;

pub(crate) struct Rep {
    router: Router,
    /// A request was received; the reply is due.
    sending_reply: bool,
    /// Inside the body of the request being received.
    in_request_body: bool,
    /// The envelope of the current request (routing id first).
    envelope: Vec<Msg>,
    /// The reply's envelope has been sent.
    reply_started: bool,
}

impl Rep {
    pub(crate) fn new() -> Rep {
        Rep { router: Router::new(), sending_reply: false, in_request_body: false, envelope: Vec::new(), reply_started: false }
    }

}

impl Pattern for Rep {
    fn attach(&mut self, peer: Peer) {
        self.router.attach(peer);
    }

    fn connected(&mut self, id: PipeId, rid: Option<Bytes>, t: SocketType, reconnect: bool) {
        self.router.connected(id, rid, t, reconnect);
    }

    fn pipe_readable(&mut self, id: PipeId) {
        self.router.pipe_readable(id);
    }

    fn pipe_writable(&mut self, id: PipeId) {
        self.router.pipe_writable(id);
    }

    fn send(&mut self, msg: Msg) -> SendResult {
        if !self.sending_reply {
            return Err((Error::EFSM, msg));
        }
        if !self.reply_started {
            for f in std::mem::take(&mut self.envelope) {
                // Envelope frames all carry MORE; a full or vanished peer
                // makes the router drop the whole reply, as libzmq does.
                let _ = self.router.send_frame(f);
            }
            self.reply_started = true;
        }
        let more = msg.get_more();
        let r = self.router.send_frame(msg);
        if !more {
            self.sending_reply = false;
            self.reply_started = false;
        }
        r
    }

    fn recv(&mut self) -> Result<Msg> {
        if self.sending_reply {
            return Err(Error::EFSM);
        }
        loop {
            if self.in_request_body {
                let Some((_, m)) = self.router.recv_frame() else { return Err(Error::EAGAIN) };
                if !m.get_more() {
                    self.in_request_body = false;
                    self.sending_reply = true;
                }
                return Ok(m);
            }
            // Read the envelope: routing id, then frames up to the delimiter.
            let Some((_, id)) = self.router.recv_frame() else { return Err(Error::EAGAIN) };
            self.envelope.clear();
            self.envelope.push(id);
            loop {
                let Some((_, f)) = self.router.recv_frame() else {
                    // Frames of a message are published together; this only
                    // happens if the peer vanished mid-message.
                    self.envelope.clear();
                    return Err(Error::EAGAIN);
                };
                let more = f.get_more();
                let delimiter = f.is_empty();
                if !more {
                    // No delimiter before the last frame: malformed, dropped.
                    self.envelope.clear();
                    break;
                }
                self.envelope.push(f);
                if delimiter {
                    self.in_request_body = true;
                    break;
                }
            }
            if !self.in_request_body {
                continue;
            }
        }
    }

    fn has_in(&mut self) -> bool {
        !self.sending_reply && self.router.has_in()
    }

    fn has_out(&mut self) -> bool {
        self.sending_reply
    }

    fn set_option(&mut self, id: i32, v: &[u8]) -> Option<Result<()>> {
        self.router.set_option(id, v)
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        self.router.set_hwms(sndhwm, rcvhwm);
    }
}
