//! `LoadBalancer`: sends each message to the next peer, round-robin, among
//! the peers whose pipe is below its HWM (libzmq's `lb_t`). A multipart
//! message sticks to one peer. A full pipe is parked until its reader tells
//! us it has room (`activate`).

use super::active_set::ActiveSet;
use crate::mailbox::PipeId;
use crate::msg::Msg;
use crate::pipe::PipeWriter;

#[derive(Default)]
pub(crate) struct LoadBalancer {
    pipes: ActiveSet<PipeWriter>,
    /// A multipart message is in progress on the current pipe.
    more: bool,
}

impl LoadBalancer {
    pub(crate) fn attach(&mut self, id: PipeId, w: PipeWriter) {
        self.pipes.attach(id, w);
    }

    /// Removes a peer (it went away). An unfinished message to it is lost,
    /// as in libzmq.
    pub(crate) fn detach(&mut self, id: PipeId) -> Option<PipeWriter> {
        if self.more && self.pipes.current_id() == Some(id) {
            self.more = false;
        }
        self.pipes.detach(id)
    }

    /// The peer's pipe has room again.
    pub(crate) fn activate(&mut self, id: PipeId) {
        self.pipes.activate(id);
    }

    /// Parked pipes may have room by now even if their wake-up has not been
    /// processed yet; re-checks them. Returns true if one was revived.
    fn revive(&mut self) -> bool {
        let ready: Vec<PipeId> =
            self.pipes.all_mut().filter_map(|(id, w)| w.check_write().then_some(id)).collect();
        for id in &ready {
            self.pipes.activate(*id);
        }
        !ready.is_empty()
    }

    /// Sends one frame and returns the peer it went to (`None` if that peer
    /// vanished as it was written). `Err(msg)` gives the frame back when no
    /// peer can take it now (the caller blocks or returns EAGAIN). Peers found
    /// dead are listed in `dead`.
    pub(crate) fn send(&mut self, msg: Msg, dead: &mut Vec<PipeId>) -> Result<Option<PipeId>, Msg> {
        loop {
            let Some((id, w)) = self.pipes.current() else {
                if self.revive() {
                    continue;
                }
                return Err(msg);
            };
            if !self.more && !w.check_write() {
                self.pipes.park_current();
                continue;
            }
            let more = msg.get_more();
            w.write(msg);
            if more {
                self.more = true;
                return Ok(Some(id));
            }
            self.more = false;
            if !w.flush() {
                dead.push(id);
                self.detach(id);
                // The message went to a peer that vanished in the meantime;
                // libzmq drops it the same way.
                return Ok(None);
            }
            self.pipes.advance();
            return Ok(Some(id));
        }
    }

    /// True if a send could proceed now (for `ZMQ_EVENTS`/poll).
    pub(crate) fn has_out(&mut self) -> bool {
        self.more || self.pipes.current().is_some_and(|(_, w)| w.check_write()) || self.revive()
    }

    /// The writer of a peer, for patterns that also address peers directly.
    pub(crate) fn writer(&mut self, id: PipeId) -> Option<&mut PipeWriter> {
        self.pipes.get_mut(id)
    }

    pub(crate) fn set_hwm(&self, hwm: u64) {
        for (_, w) in self.pipes.all() {
            w.set_hwm(hwm);
        }
    }

    /// Removes the peer if its reader has gone; returns true if it did.
    pub(crate) fn reap(&mut self, id: PipeId) -> bool {
        if self.pipes.get_mut(id).is_some_and(|w| w.is_reader_closed()) {
            self.detach(id);
            return true;
        }
        false
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::{pipe, PipeReader, Read};
    use crate::signal::Notify;
    use std::sync::Arc;

    struct Nop;
    impl Notify for Nop {
        fn notify(&self) {}
    }

    #[test]
    fn detaching_a_peer_keeps_the_others_and_round_robin_goes_on() {
        for leaving in 1..=3u64 {
            let mut lb = LoadBalancer::default();
            let mut readers: Vec<(PipeId, PipeReader)> = Vec::new();
            for id in 1..=3 {
                let (w, r) = pipe(0, Arc::new(Nop), Arc::new(Nop));
                lb.attach(id, w);
                readers.push((id, r));
            }
            lb.detach(leaving);
            let mut dead = Vec::new();
            for i in 0..4 {
                lb.send(Msg::from(format!("{i}")), &mut dead).unwrap();
            }
            for (id, r) in readers.iter_mut() {
                let mut n = 0;
                while let Read::Frame(_) = r.read() {
                    n += 1;
                }
                if *id == leaving {
                    assert_eq!(n, 0);
                } else {
                    assert_eq!(n, 2, "peer {id} after {leaving} left");
                }
            }
        }
    }
}
