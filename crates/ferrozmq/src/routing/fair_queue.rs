//! `FairQueue`: receives from peers round-robin, one whole message at a time
//! (libzmq's `fq_t`), so that no single busy peer can starve the others.
//! A peer found empty is parked until its pipe says it is readable again.

use crate::mailbox::PipeId;
use crate::msg::Msg;
use crate::pipe::{PipeReader, Read};

#[derive(Default)]
pub(crate) struct FairQueue {
    /// `pipes[..active]` may have messages; the rest were found empty.
    pipes: Vec<(PipeId, PipeReader)>,
    active: usize,
    current: usize,
    /// In the middle of a multipart message from `pipes[current]`.
    more: bool,
}

impl FairQueue {
    pub(crate) fn attach(&mut self, id: PipeId, r: PipeReader) {
        self.pipes.push((id, r));
        let last = self.pipes.len() - 1;
        self.pipes.swap(self.active, last);
        self.active += 1;
    }

    fn index(&self, id: PipeId) -> Option<usize> {
        self.pipes.iter().position(|(i, _)| *i == id)
    }

    pub(crate) fn detach(&mut self, id: PipeId) -> Option<PipeReader> {
        let mut i = self.index(id)?;
        if i < self.active {
            if self.more && i == self.current {
                self.more = false;
            }
            self.active -= 1;
            self.pipes.swap(i, self.active);
            // The departing pipe now sits just past the active ones.
            i = self.active;
        }
        let (_, r) = self.pipes.swap_remove(i);
        if self.current >= self.active.max(1) {
            self.current = 0;
        }
        Some(r)
    }

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

    /// Takes the next frame, and the peer it came from. Peers whose writer
    /// closed and that are drained are removed and listed in `dead`.
    pub(crate) fn recv(&mut self, dead: &mut Vec<PipeId>) -> Option<(PipeId, Msg)> {
        while self.active > 0 {
            let cur = self.current;
            let (id, r) = &mut self.pipes[cur];
            let id = *id;
            match r.read() {
                Read::Frame(m) => {
                    self.more = m.get_more();
                    if !self.more {
                        self.current = (cur + 1) % self.active;
                    }
                    return Some((id, m));
                }
                Read::Empty => {
                    self.more = false;
                    self.deactivate(cur);
                }
                Read::Closed => {
                    self.more = false;
                    dead.push(id);
                    self.detach(id);
                }
            }
        }
        None
    }

    /// True if a message can be received now.
    pub(crate) fn has_in(&mut self) -> bool {
        if self.more {
            return true;
        }
        let mut i = 0;
        while i < self.active {
            if self.pipes[i].1.has_message() {
                return true;
            }
            i += 1;
        }
        false
    }

    pub(crate) fn set_hwm(&self, hwm: u64) {
        for (_, r) in &self.pipes {
            r.set_hwm(hwm);
        }
    }

}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::{pipe, PipeWriter};
    use crate::signal::Notify;
    use std::sync::Arc;

    struct Nop;
    impl Notify for Nop {
        fn notify(&self) {}
    }

    fn peer(fq: &mut FairQueue, id: PipeId) -> PipeWriter {
        let (w, r) = pipe(0, Arc::new(Nop), Arc::new(Nop));
        fq.attach(id, r);
        w
    }

    fn send(w: &mut PipeWriter, s: &str) {
        w.write(Msg::from(s));
        w.flush();
    }

    #[test]
    fn detaching_any_peer_keeps_every_other_peer_in_every_state() {
        // Peers in the active region, the parked region, first, middle, last:
        // whichever leaves, the others' messages still arrive.
        for leaving in 1..=4u64 {
            for parked in 0..=4u64 {
                let mut fq = FairQueue::default();
                let mut ws: Vec<(PipeId, PipeWriter)> = (1..=4).map(|id| (id, peer(&mut fq, id))).collect();
                let mut dead = Vec::new();
                if parked > 0 {
                    // Drain to park everything, then wake all but `parked`.
                    assert!(fq.recv(&mut dead).is_none());
                    for id in 1..=4 {
                        if id != parked {
                            fq.activate(id);
                        }
                    }
                }
                fq.detach(leaving);
                for (id, w) in ws.iter_mut() {
                    if *id != leaving {
                        send(w, &format!("from {id}"));
                        fq.activate(*id);
                    }
                }
                let mut got: Vec<String> = std::iter::from_fn(|| fq.recv(&mut dead))
                    .map(|(_, m)| m.as_str().unwrap().to_string())
                    .collect();
                got.sort();
                let want: Vec<String> = (1..=4).filter(|i| *i != leaving).map(|i| format!("from {i}")).collect();
                assert_eq!(got, want, "leaving {leaving}, parked {parked}");
            }
        }
    }
}
