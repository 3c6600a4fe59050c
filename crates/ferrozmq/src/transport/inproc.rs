//! `inproc://`: two sockets of one context joined by a pair of pipes — no
//! I/O thread, no encoding, no copy (a `Msg` moves from one thread to the
//! other). Bind and connect work in either order: a connect to a name not
//! yet bound creates its pipes at once (so sends queue up) and the binder
//! picks up the far ends when it binds, as libzmq does.
//!
//! As in libzmq, an inproc pipe's HWM is the sum of the sender's SNDHWM and
//! the receiver's RCVHWM (0 if either is unlimited).

use crate::error::{Error, Result};
use crate::mailbox::{next_id, Peer, PipeEvent, PipeId, SocketCommand, SocketMailbox};
use crate::pipe::pipe;
use crate::signal::Notify;
use bytes::Bytes;
use ferrozmq_proto::SocketType;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// What a connecting or binding socket tells the registry about itself.
#[derive(Clone)]
pub(crate) struct InprocSide {
    pub socket_id: u64,
    pub mailbox: Arc<SocketMailbox>,
    pub socket_type: SocketType,
    pub sndhwm: u64,
    pub rcvhwm: u64,
    pub routing_id: Option<Bytes>,
    /// CONNECT_ROUTING_ID for this connect (connector side only).
    pub connect_routing_id: Option<Bytes>,
}

/// A connect waiting for its binder.
struct Pending {
    connector: InprocSide,
    peer: Peer,
    /// Filled in when the binder appears.
    binder_read: Arc<DeferredNotify>,
    binder_write: Arc<DeferredNotify>,
}

/// Name → bound socket, plus connects waiting for a bind.
#[derive(Default)]
pub(crate) struct InprocRegistry {
    bound: HashMap<String, InprocSide>,
    pending: HashMap<String, Vec<Pending>>,
}

/// A `Notify` whose target is known only later (the binder of a pending
/// connect); notifications before that are dropped, which is safe because
/// the binder checks every newly attached pipe anyway.
#[derive(Default)]
pub(crate) struct DeferredNotify(OnceLock<Arc<dyn Notify>>);

impl Notify for DeferredNotify {
    fn notify(&self) {
        if let Some(n) = self.0.get() {
            n.notify();
        }
    }
}

fn sum_hwm(a: u64, b: u64) -> u64 {
    if a == 0 || b == 0 {
        0
    } else {
        a + b
    }
}

impl InprocRegistry {
    /// Registers a bound name; returns the peers that were waiting for it.
    pub(crate) fn bind(&mut self, name: &str, binder: InprocSide) -> Result<Vec<Peer>> {
        if self.bound.contains_key(name) {
            return Err(Error::EADDRINUSE);
        }
        self.bound.insert(name.to_string(), binder.clone());
        let mut peers = Vec::new();
        for p in self.pending.remove(name).unwrap_or_default() {
            let _ = p.binder_read.0.set(Arc::new(PipeEvent {
                mailbox: binder.mailbox.clone(),
                id: p.peer.id,
                readable: true,
            }));
            let _ = p.binder_write.0.set(Arc::new(PipeEvent {
                mailbox: binder.mailbox.clone(),
                id: p.peer.id,
                readable: false,
            }));
            p.connector.mailbox.post(SocketCommand::Connected {
                id: p.peer.id,
                routing_id: binder.routing_id.clone(),
                peer_type: binder.socket_type,
                reconnect: false,
            });
            p.peer.writer.set_hwm(sum_hwm(binder.sndhwm, p.connector.rcvhwm));
            p.peer.reader.set_hwm(sum_hwm(p.connector.sndhwm, binder.rcvhwm));
            peers.push(p.peer);
        }
        Ok(peers)
    }

    pub(crate) fn unbind(&mut self, name: &str, socket_id: u64) -> Result<()> {
        match self.bound.get(name) {
            Some(b) if b.socket_id == socket_id => {
                self.bound.remove(name);
                Ok(())
            }
            _ => Err(Error::ENOENT),
        }
    }

    /// Removes everything a closing socket registered.
    pub(crate) fn socket_closed(&mut self, socket_id: u64) {
        self.bound.retain(|_, b| b.socket_id != socket_id);
        for v in self.pending.values_mut() {
            v.retain(|p| p.connector.socket_id != socket_id);
        }
        self.pending.retain(|_, v| !v.is_empty());
    }

    /// Removes a bound name whatever its owner (a monitor endpoint).
    pub(crate) fn socket_closed_name(&mut self, name: &str) {
        self.bound.remove(name);
    }

    /// True if a socket is bound to `name` (e.g. a ZAP handler).
    pub(crate) fn is_bound(&self, name: &str) -> bool {
        self.bound.contains_key(name)
    }

    /// Connects a non-socket client (a session's ZAP request pipe) to a bound
    /// name, waking it through `notify`; `ECONNREFUSED` if nothing is bound.
    pub(crate) fn connect_internal(
        &mut self,
        name: &str,
        socket_type: SocketType,
        notify: Arc<dyn Notify>,
    ) -> Result<Peer> {
        let binder = self.bound.get(name).ok_or(Error::ECONNREFUSED)?;
        let id: PipeId = next_id();
        let b_read: Arc<dyn Notify> = Arc::new(PipeEvent { mailbox: binder.mailbox.clone(), id, readable: true });
        let b_write: Arc<dyn Notify> = Arc::new(PipeEvent { mailbox: binder.mailbox.clone(), id, readable: false });
        // The ZAP pipe has no HWM, as in libzmq.
        let (c2b_w, c2b_r) = pipe(0, b_read, notify.clone());
        let (b2c_w, b2c_r) = pipe(0, notify, b_write);
        binder.mailbox.post(SocketCommand::Attach(Peer {
            id,
            writer: b2c_w,
            reader: c2b_r,
            routing_id: None,
            peer_type: Some(socket_type),
            local_routing_id: None,
            endpoint: format!("inproc://{name}"),
        }));
        Ok(Peer {
            id,
            writer: c2b_w,
            reader: b2c_r,
            routing_id: None,
            peer_type: Some(binder.socket_type),
            local_routing_id: None,
            endpoint: format!("inproc://{name}"),
        })
    }

    /// Connects; returns the connector's peer to attach locally.
    pub(crate) fn connect(&mut self, name: &str, connector: InprocSide) -> Result<Peer> {
        let id: PipeId = next_id();
        let conn_read: Arc<dyn Notify> =
            Arc::new(PipeEvent { mailbox: connector.mailbox.clone(), id, readable: true });
        let conn_write: Arc<dyn Notify> =
            Arc::new(PipeEvent { mailbox: connector.mailbox.clone(), id, readable: false });
        if let Some(binder) = self.bound.get(name) {
            let b_read: Arc<dyn Notify> = Arc::new(PipeEvent { mailbox: binder.mailbox.clone(), id, readable: true });
            let b_write: Arc<dyn Notify> =
                Arc::new(PipeEvent { mailbox: binder.mailbox.clone(), id, readable: false });
            let (c2b_w, c2b_r) = pipe(sum_hwm(connector.sndhwm, binder.rcvhwm), b_read, conn_write);
            let (b2c_w, b2c_r) = pipe(sum_hwm(binder.sndhwm, connector.rcvhwm), conn_read, b_write);
            binder.mailbox.post(SocketCommand::Attach(Peer {
                id,
                writer: b2c_w,
                reader: c2b_r,
                routing_id: connector.routing_id.clone(),
                peer_type: Some(connector.socket_type),
                local_routing_id: None,
                endpoint: format!("inproc://{name}"),
            }));
            return Ok(Peer {
                id,
                writer: c2b_w,
                reader: b2c_r,
                routing_id: binder.routing_id.clone(),
                peer_type: Some(binder.socket_type),
                local_routing_id: connector.connect_routing_id.clone(),
                endpoint: format!("inproc://{name}"),
            });
        }
        let b_read = Arc::new(DeferredNotify::default());
        let b_write = Arc::new(DeferredNotify::default());
        let (c2b_w, c2b_r) = pipe(connector.sndhwm, b_read.clone(), conn_write);
        let (b2c_w, b2c_r) = pipe(connector.rcvhwm, conn_read, b_write.clone());
        self.pending.entry(name.to_string()).or_default().push(Pending {
            connector: connector.clone(),
            peer: Peer {
                id,
                writer: b2c_w,
                reader: c2b_r,
                routing_id: connector.routing_id.clone(),
                peer_type: Some(connector.socket_type),
                local_routing_id: None,
                endpoint: format!("inproc://{name}"),
            },
            binder_read: b_read,
            binder_write: b_write,
        });
        Ok(Peer {
            id,
            writer: c2b_w,
            reader: b2c_r,
            routing_id: None,
            peer_type: None,
            local_routing_id: connector.connect_routing_id.clone(),
            endpoint: format!("inproc://{name}"),
        })
    }
}
