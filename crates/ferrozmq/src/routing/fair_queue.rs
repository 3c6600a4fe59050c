//! `FairQueue`: receives from peers round-robin, one whole message at a time
//! (libzmq's `fq_t`), so that no single busy peer can starve the others.
//! A peer found empty is parked until its pipe says it is readable again.

use super::active_set::ActiveSet;
use crate::mailbox::PipeId;
use crate::msg::Msg;
use crate::pipe::{PipeReader, Read};

#[derive(Default)]
pub(crate) struct FairQueue {
    pipes: ActiveSet<PipeReader>,
    /// In the middle of a multipart message from the current pipe.
    more: bool,
}

impl FairQueue {
    pub(crate) fn attach(&mut self, id: PipeId, r: PipeReader) {
        self.pipes.attach(id, r);
    }

    pub(crate) fn detach(&mut self, id: PipeId) -> Option<PipeReader> {
        if self.more && self.pipes.current_id() == Some(id) {
            self.more = false;
        }
        self.pipes.detach(id)
    }

    pub(crate) fn activate(&mut self, id: PipeId) {
        self.pipes.activate(id);
    }

    /// Takes the next frame, and the peer it came from. Peers whose writer
    /// closed and that are drained are removed and listed in `dead`.
    pub(crate) fn recv(&mut self, dead: &mut Vec<PipeId>) -> Option<(PipeId, Msg)> {
        while let Some((id, r)) = self.pipes.current() {
            match r.read() {
                Read::Frame(m) => {
                    self.more = m.get_more();
                    if !self.more {
                        self.pipes.advance();
                    }
                    return Some((id, m));
                }
                Read::Empty => {
                    self.more = false;
                    self.pipes.park_current();
                }
                Read::Closed => {
                    self.more = false;
                    dead.push(id);
                    self.pipes.detach(id);
                }
            }
        }
        None
    }

    /// True if a message can be received now (registers for a wake-up
    /// otherwise, see `PipeReader::has_message`).
    pub(crate) fn has_in(&mut self) -> bool {
        self.more || self.pipes.active_mut().any(|(_, r)| r.has_message())
    }

    pub(crate) fn set_hwm(&self, hwm: u64) {
        for (_, r) in self.pipes.all() {
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
