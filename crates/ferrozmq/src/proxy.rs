//! `proxy`: the built-in device that joins a frontend and a backend socket
//! (`zmq_proxy`, `zmq_proxy_steerable`): every message arriving on one side
//! is sent, whole, to the other, and copied to an optional capture socket.
//!
//! The steerable form also obeys a control socket: `PAUSE` stops moving
//! messages, `RESUME` restarts, `TERMINATE` returns, and `STATISTICS`
//! replies with eight `u64` frames (frontend: messages in, bytes in,
//! messages out, bytes out; then the same for the backend), as libzmq does.
//! A REP control socket gets an empty reply to the other commands.

use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::poll::{poll, PollItem};
use crate::socket::{Socket, DONTWAIT, POLLIN, SNDMORE};

/// How many messages one side may move before the other gets a turn, so
/// that a busy direction cannot starve the other.
const BATCH: usize = 256;

#[derive(Default, Clone, Copy)]
struct SideStats {
    msgs_in: u64,
    bytes_in: u64,
    msgs_out: u64,
    bytes_out: u64,
}

/// Moves up to `BATCH` whole messages from `from` to `to`; false if none was
/// waiting.
fn forward(
    from: &Socket,
    to: &Socket,
    capture: Option<&Socket>,
    from_stats: &mut SideStats,
    to_stats: &mut SideStats,
) -> Result<bool> {
    let mut moved = false;
    for _ in 0..BATCH {
        let first = match from.recv_msg(DONTWAIT) {
            Ok(m) => m,
            // A send-only side (PUSH, PUB) has nothing to forward: libzmq
            // polls it and never finds it readable.
            Err(Error::EAGAIN | Error::ENOTSUP) => break,
            Err(e) => return Err(e),
        };
        moved = true;
        let mut frame = first;
        loop {
            let more = frame.get_more();
            let len = frame.len() as u64;
            if let Some(c) = capture {
                // libzmq (proxy.cpp, capture_msg): the copy goes first, with
                // a blocking send, so a capture peer that connects late
                // still gets every message.
                let copy = Msg::from(&frame);
                c.send(copy, if more { SNDMORE } else { 0 })?;
            }
            from_stats.bytes_in += len;
            to_stats.bytes_out += len;
            to.send(frame, if more { SNDMORE } else { 0 })?;
            if !more {
                break;
            }
            frame = from.recv_msg(0)?;
        }
        from_stats.msgs_in += 1;
        to_stats.msgs_out += 1;
    }
    Ok(moved)
}

/// Runs the proxy until an error (`ETERM` when the context terminates).
pub fn proxy(frontend: &Socket, backend: &Socket, capture: Option<&Socket>) -> Result<()> {
    proxy_steerable(frontend, backend, capture, None)
}

/// Runs the proxy under the control of `control` (see the module docs);
/// returns `Ok(())` on `TERMINATE`.
pub fn proxy_steerable(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: Option<&Socket>,
) -> Result<()> {
    let mut fstats = SideStats::default();
    let mut bstats = SideStats::default();
    let mut paused = false;
    let same = std::ptr::eq(frontend, backend);
    loop {
        // Drain what is ready before sleeping in poll.
        let mut any = false;
        if !paused {
            if same {
                any |= forward(frontend, frontend, capture, &mut fstats, &mut bstats)?;
            } else {
                any |= forward(frontend, backend, capture, &mut fstats, &mut bstats)?;
                any |= forward(backend, frontend, capture, &mut bstats, &mut fstats)?;
            }
        }
        if let Some(ctl) = control {
            match ctl.recv_msg(DONTWAIT) {
                Ok(cmd) => {
                    any = true;
                    // Commands are single frames; drop any extra frames.
                    let mut more = cmd.get_more();
                    while more {
                        more = ctl.recv_msg(0)?.get_more();
                    }
                    // A REP control socket must answer every request: libzmq
                    // (its current manual) replies with an empty message to
                    // everything but STATISTICS; other types get no reply.
                    let ack = || -> Result<()> {
                        if ctl.socket_type() == crate::SocketType::Rep {
                            ctl.send(Msg::new(), 0)?;
                        }
                        Ok(())
                    };
                    match cmd.as_bytes() {
                        b"PAUSE" => {
                            paused = true;
                            ack()?;
                        }
                        b"RESUME" => {
                            paused = false;
                            ack()?;
                        }
                        b"TERMINATE" => {
                            ack()?;
                            return Ok(());
                        }
                        b"STATISTICS" => {
                            let vals = [
                                fstats.msgs_in,
                                fstats.bytes_in,
                                fstats.msgs_out,
                                fstats.bytes_out,
                                bstats.msgs_in,
                                bstats.bytes_in,
                                bstats.msgs_out,
                                bstats.bytes_out,
                            ];
                            for (i, v) in vals.iter().enumerate() {
                                let flags = if i + 1 < vals.len() { SNDMORE } else { 0 };
                                ctl.send(v.to_ne_bytes().to_vec(), flags)?;
                            }
                        }
                        // libzmq ignores unknown commands (and logs them).
                        _ => ack()?,
                    }
                }
                Err(Error::EAGAIN) => {}
                Err(e) => return Err(e),
            }
        }
        if any {
            continue;
        }
        let mut items: Vec<PollItem<'_>> = Vec::with_capacity(3);
        if !paused {
            items.push(PollItem::from_socket(frontend, POLLIN));
            if !same {
                items.push(PollItem::from_socket(backend, POLLIN));
            }
        }
        if let Some(ctl) = control {
            items.push(PollItem::from_socket(ctl, POLLIN));
        }
        if items.is_empty() {
            // Paused with no control socket: nothing can ever resume us.
            return Err(Error::EINVAL);
        }
        poll(&mut items, -1)?;
    }
}
