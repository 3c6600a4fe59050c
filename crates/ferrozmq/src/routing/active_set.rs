//! `ActiveSet`: the peers of a routing part, split into an active region
//! (worth trying now) and a parked region (waiting for a wake-up), with a
//! round-robin cursor over the active ones. `LoadBalancer` parks full pipes,
//! `FairQueue` parks empty ones; both keep their bookkeeping here, so the
//! swap arithmetic exists once.

use crate::mailbox::PipeId;

pub(crate) struct ActiveSet<T> {
    /// `items[..active]` are active, the rest parked.
    items: Vec<(PipeId, T)>,
    active: usize,
    /// Round-robin position, always `< active` when `active > 0`.
    current: usize,
}

impl<T> Default for ActiveSet<T> {
    fn default() -> Self {
        ActiveSet { items: Vec::new(), active: 0, current: 0 }
    }
}

impl<T> ActiveSet<T> {
    /// Adds a peer, active.
    pub(crate) fn attach(&mut self, id: PipeId, item: T) {
        self.items.push((id, item));
        let last = self.items.len() - 1;
        self.items.swap(self.active, last);
        self.active += 1;
    }

    fn index(&self, id: PipeId) -> Option<usize> {
        self.items.iter().position(|(i, _)| *i == id)
    }

    /// Removes a peer wherever it is.
    pub(crate) fn detach(&mut self, id: PipeId) -> Option<T> {
        let mut i = self.index(id)?;
        if i < self.active {
            self.park_at(i);
            // The departing peer now sits just past the active ones.
            i = self.active;
        }
        let (_, item) = self.items.swap_remove(i);
        Some(item)
    }

    /// Moves a parked peer back into the active region.
    pub(crate) fn activate(&mut self, id: PipeId) {
        if let Some(i) = self.index(id) {
            if i >= self.active {
                self.items.swap(i, self.active);
                self.active += 1;
            }
        }
    }

    /// Parks the current peer (found full or empty).
    pub(crate) fn park_current(&mut self) {
        self.park_at(self.current);
    }

    fn park_at(&mut self, i: usize) {
        self.active -= 1;
        self.items.swap(i, self.active);
        if self.current >= self.active {
            self.current = 0;
        }
    }

    /// The current active peer, if any.
    pub(crate) fn current(&mut self) -> Option<(PipeId, &mut T)> {
        if self.active == 0 {
            return None;
        }
        let (id, item) = &mut self.items[self.current];
        Some((*id, item))
    }

    /// The id of the current active peer, if any.
    pub(crate) fn current_id(&self) -> Option<PipeId> {
        (self.active > 0).then(|| self.items[self.current].0)
    }

    /// Moves the cursor to the next active peer.
    pub(crate) fn advance(&mut self) {
        // A compare, not `%`: an integer division per message costs more
        // than the rest of the cursor bookkeeping.
        self.current += 1;
        if self.current >= self.active {
            self.current = 0;
        }
    }

    /// The active peers.
    pub(crate) fn active_mut(&mut self) -> impl Iterator<Item = (PipeId, &mut T)> {
        self.items[..self.active].iter_mut().map(|(id, t)| (*id, t))
    }

    /// Every peer, active or parked.
    pub(crate) fn all(&self) -> impl Iterator<Item = (PipeId, &T)> {
        self.items.iter().map(|(id, t)| (*id, t))
    }

    /// Every peer, active or parked.
    pub(crate) fn all_mut(&mut self) -> impl Iterator<Item = (PipeId, &mut T)> {
        self.items.iter_mut().map(|(id, t)| (*id, t))
    }

    /// A peer by id.
    pub(crate) fn get_mut(&mut self, id: PipeId) -> Option<&mut T> {
        let i = self.index(id)?;
        Some(&mut self.items[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &ActiveSet<()>) -> Vec<PipeId> {
        let mut v: Vec<PipeId> = s.all().map(|(id, _)| id).collect();
        v.sort();
        v
    }

    #[test]
    fn detaching_any_peer_in_any_region_keeps_the_others() {
        for leaving in 1..=4 {
            for parked in 0..=4 {
                let mut s = ActiveSet::default();
                for id in 1..=4 {
                    s.attach(id, ());
                }
                if parked > 0 {
                    while s.current_id() != Some(parked) {
                        s.advance();
                    }
                    s.park_current();
                }
                assert!(s.detach(leaving).is_some());
                assert_eq!(ids(&s), (1..=4).filter(|i| *i != leaving).collect::<Vec<_>>());
                s.activate(parked);
                let mut seen: Vec<PipeId> = (0..3).filter_map(|_| {
                    let id = s.current_id();
                    s.advance();
                    id
                }).collect();
                seen.sort();
                assert_eq!(seen, ids(&s), "round robin visits every active peer");
            }
        }
    }
}
