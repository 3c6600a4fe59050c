//! PAIR (RFC 31): exactly one peer; sends and receives to and from it.
//! A second peer is refused (its pipes are closed at once, libzmq's
//! `pair_t::xattach_pipe`).

use super::{Pattern, SendResult};
use crate::error::{Error, Result};
use crate::mailbox::{Peer, PipeId};
use crate::msg::Msg;
use crate::pipe::Read;

#[derive(Default)]
pub(crate) struct Pair {
    peer: Option<Peer>,
}

impl Pair {
    fn drop_if_dead(&mut self) {
        if let Some(p) = &mut self.peer {
            if p.writer.is_reader_closed() && p.reader.is_writer_closed() && !p.reader.has_message() {
                self.peer = None;
            }
        }
    }
}

impl Pattern for Pair {
    fn attach(&mut self, peer: Peer) {
        self.drop_if_dead();
        if self.peer.is_none() {
            self.peer = Some(peer);
        }
        // else: dropping `peer` closes both of its pipes.
    }

    fn pipe_readable(&mut self, _id: PipeId) {}

    fn pipe_writable(&mut self, id: PipeId) {
        if self.peer.as_ref().is_some_and(|p| p.id == id) {
            self.drop_if_dead();
        }
    }

    fn send(&mut self, msg: Msg) -> SendResult {
        let Some(p) = &mut self.peer else { return Err((Error::EAGAIN, msg)) };
        if !p.writer.check_write() {
            return Err((Error::EAGAIN, msg));
        }
        let more = msg.get_more();
        p.writer.write(msg);
        if !more && !p.writer.flush() {
            self.peer = None;
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg> {
        let Some(p) = &mut self.peer else { return Err(Error::EAGAIN) };
        match p.reader.read() {
            Read::Frame(m) => Ok(m),
            Read::Empty => Err(Error::EAGAIN),
            Read::Closed => {
                self.peer = None;
                Err(Error::EAGAIN)
            }
        }
    }

    fn has_in(&mut self) -> bool {
        self.peer.as_mut().is_some_and(|p| p.reader.in_message() || p.reader.has_message())
    }

    fn has_out(&mut self) -> bool {
        self.peer.as_mut().is_some_and(|p| p.writer.check_write())
    }

    fn set_hwms(&mut self, sndhwm: u64, rcvhwm: u64) {
        if let Some(p) = &self.peer {
            p.writer.set_hwm(sndhwm);
            p.reader.set_hwm(rcvhwm);
        }
    }
}
