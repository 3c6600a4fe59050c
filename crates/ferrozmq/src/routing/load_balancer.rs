//! `LoadBalancer`: sends each message to the next peer, round-robin, among
//! the peers whose pipe is below its HWM (libzmq's `lb_t`). A multipart
//! message sticks to one peer. A full pipe is parked until its reader tells
//! us it has room (`activate`).

use crate::mailbox::PipeId;
use crate::msg::Msg;
use crate::pipe::PipeWriter;

#[derive(Default)]
pub(crate) struct LoadBalancer {
    /// `pipes[..active]` may be written; the rest are full, parked.
    pipes: Vec<(PipeId, PipeWriter)>,
    active: usize,
    current: usize,
    /// A multipart message is in progress on `pipes[current]`.
    more: bool,
}

impl LoadBalancer {
    pub(crate) fn attach(&mut self, id: PipeId, w: PipeWriter) {
        self.pipes.push((id, w));
        let last = self.pipes.len() - 1;
        self.pipes.swap(self.active, last);
        self.active += 1;
    }

    fn index(&self, id: PipeId) -> Option<usize> {
        self.pipes.iter().position(|(i, _)| *i == id)
    }

    /// Removes a peer (it went away). An unfinished message to it is lost,
    /// as in libzmq.
    pub(crate) fn detach(&mut self, id: PipeId) -> Option<PipeWriter> {
        let mut i = self.index(id)?;
        if i < self.active {
            if self.more && i == self.current {
                self.more = false;
            }
            self.active -= 1;
            self.pipes.swap(i, self.active);
            // The departing pipe now sits just past the active ones.
            i = self.active;
            if self.current == self.active && self.current > 0 {
                self.current = 0;
            }
        }
        let (_, w) = self.pipes.swap_remove(i);
        if self.current >= self.active.max(1) {
            self.current = 0;
        }
        Some(w)
    }

    /// The peer's pipe has room again.
    pub(crate) fn activate(&mut self, id: PipeId) {
        if let Some(i) = self.index(id) {
            if i >= self.active {
                self.pipes.swap(i, self.active);
                self.active += 1;
            }
        }
    }

    fn deactivate(&mut self, i: usize) {
        self.active -= 1;
        self.pipes.swap(i, self.active);
        if self.current >= self.active {
            self.current = 0;
        }
    }

    /// Sends one frame and returns the peer it went to (`None` if that peer
    /// vanished as it was written). `Err(msg)` gives the frame back when no
    /// peer can take it now (the caller blocks or returns EAGAIN). Peers found
    /// dead are listed in `dead`.
    pub(crate) fn send(&mut self, msg: Msg, dead: &mut Vec<PipeId>) -> Result<Option<PipeId>, Msg> {
        loop {
            if self.active == 0 {
                // Parked pipes may have room by now even if their wake-up has
                // not been processed yet; one re-check avoids a needless block.
                let mut revived = false;
                let mut i = 0;
                while i < self.pipes.len() {
                    if self.pipes[i].1.check_write() {
                        let id = self.pipes[i].0;
                        self.activate(id);
                        revived = true;
                    }
                    i += 1;
                }
                if !revived {
                    return Err(msg);
                }
                continue;
            }
            let cur = self.current;
            if !self.more && !self.pipes[cur].1.check_write() {
                self.deactivate(cur);
                continue;
            }
            let more = msg.get_more();
            let id = self.pipes[cur].0;
            let w = &mut self.pipes[cur].1;
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
            self.current = (cur + 1) % self.active.max(1);
            return Ok(Some(id));
        }
    }

    /// True if a send could proceed now (for `ZMQ_EVENTS`/poll).
    pub(crate) fn has_out(&mut self) -> bool {
        if self.more {
            return true;
        }
        let mut i = 0;
        while i < self.pipes.len() {
            if self.pipes[i].1.check_write() {
                let id = self.pipes[i].0;
                self.activate(id);
                return true;
            }
            i += 1;
        }
        false
    }

    /// The writer of a peer, for patterns that also address peers directly.
    pub(crate) fn writer(&mut self, id: PipeId) -> Option<&mut PipeWriter> {
        let i = self.index(id)?;
        Some(&mut self.pipes[i].1)
    }

    pub(crate) fn set_hwm(&self, hwm: u64) {
        for (_, w) in &self.pipes {
            w.set_hwm(hwm);
        }
    }

    /// Looks at every peer whose reader may have gone; returns the dead ones.
    pub(crate) fn reap(&mut self, id: PipeId) -> bool {
        if let Some(i) = self.index(id) {
            if self.pipes[i].1.is_reader_closed() {
                self.detach(id);
                return true;
            }
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
