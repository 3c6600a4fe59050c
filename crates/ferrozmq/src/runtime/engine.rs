//! `Engine`: ZMTP over one non-blocking byte stream.
//!
//! The engine owns no policy: it reads what the kernel has, feeds the
//! handshake or the frame decoder, pushes whole frames into the inbound pipe
//! until its HWM, and writes the outbound pipe in batches (one `write` for
//! many small messages). It stops reading, without dropping anything, when
//! the inbound pipe is full, and resumes when the socket drains it.

use crate::mailbox::PipeId;
use crate::msg::{Msg, INLINE_CAPACITY};
use crate::pipe::{PipeReader, PipeWriter, Read};
use crate::runtime::body_pool::BodyPool;
use crate::transport::Stream;
use bytes::{Buf, BytesMut};
use ferrozmq_proto::{
    encode_header_for, Command, Frame, FrameCipher, FrameDecoder, Handshake, HandshakeConfig, HandshakeStatus,
    PeerInfo, ProtocolError, SocketType, WireFormat, ZapReply, ZapRequest, FLAG_MORE,
};
use std::io;

/// Bytes read per system call at most.
const READ_CHUNK: usize = 64 * 1024;
/// Largest single read when a big frame is arriving (its body is read in
/// one go, straight where the frame will be sliced from).
/// (Bounded: a peer that declares a huge frame and sends nothing must not
/// make us reserve much.)
const MAX_SINGLE_READ: usize = 256 * 1024;
/// Frame bodies this large are written from the message itself (writev),
/// not copied into the output buffer.
const LARGE_FRAME: usize = 16 * 1024;
/// Outbound bytes gathered before a write.
const OUT_BATCH: usize = 64 * 1024;
/// What a connection's buffers start with: an idle connection costs this
/// twice, not a full batch (libzmq's batches are 8 KiB); they grow to a
/// batch under load.
const INITIAL_BUFFER: usize = 8 * 1024;

/// Input processed per turn before yielding to other connections.
const READ_BUDGET: usize = 1024 * 1024;

/// Why an engine stopped.
#[derive(Debug)]
pub(crate) enum EngineError {
    /// The peer closed the connection (or reset it).
    Closed,
    /// An I/O error.
    Io(io::Error),
    /// The peer broke the protocol; the code goes to the monitor.
    Protocol(ProtocolError),
}

/// The socket-side pipes' far ends, as the engine uses them.
pub(crate) struct EnginePipes {
    pub id: PipeId,
    pub to_socket: PipeWriter,
    pub from_socket: PipeReader,
}

/// What a turn of the engine produced.
pub(crate) enum Progress {
    /// Nothing special; wait for readiness or activation.
    Idle,
    /// A raw (STREAM) connection is up: attach the pipes, then run again.
    RawReady,
    /// The handshake just completed: attach the pipes, then run again.
    HandshakeDone(PeerInfo),
    /// The mechanism needs ZAP authentication: send the request to the
    /// handler and pass its reply to [`Engine::zap_reply`].
    ZapRequest(ZapRequest),
    /// More work is ready now (input budget used up): run again soon.
    Busy,
    /// The outbound pipe is closed (socket gone) and everything was written.
    Drained,
}

pub(crate) struct Engine {
    pub stream: Stream,
    handshake: Option<Handshake>,
    decoder: FrameDecoder,
    inbuf: BytesMut,
    outbuf: BytesMut,
    /// Output older than `outbuf`, written first: large frame bodies are
    /// queued here as they are (zero-copy, one `writev` for the lot) with
    /// the encoded bytes that preceded them.
    out_segments: std::collections::VecDeque<bytes::Bytes>,
    out_segments_len: usize,
    pub readable: bool,
    pub writable: bool,
    /// Bytes asked for per read (grows under load, see `read_once`).
    read_size: usize,
    /// A decoded frame waiting for room in the inbound pipe.
    stalled: Option<Msg>,
    /// The engine stays off its outbound pipe until then (a timer brings it
    /// back). An I/O thread that keeps up with a streaming application takes
    /// each message as soon as it is published, and both threads then pay
    /// cache-line transfers per message (the queue's slots, its published
    /// count, the wake-up flags bounce between the cores): 3–5 M instead of
    /// 12–15 M 8-byte messages per second on two cores. Staying away for a
    /// few microseconds — not registered for a wake-up, so the writer does
    /// not notify — lets the writer fill a batch undisturbed, as libzmq's
    /// I/O thread does by sleeping. It starts only after two small batches
    /// in a row, so a lone message (a request, a reply) is written at once.
    pub paced_until: Option<std::time::Instant>,
    /// A large frame whose body is being read straight into its own buffer.
    large_body: Option<LargeBody>,
    /// Where large bodies' buffers come from and return to (made on the
    /// first one: most connections never see a large frame).
    body_pool: Option<BodyPool>,
    in_more: bool,
    out_more: bool,
    /// Encode `\x01`/`\x00` messages as SUBSCRIBE/CANCEL commands (we are a
    /// SUB/XSUB talking to a ZMTP 3.1 peer, RFC 37 §SUBSCRIBE).
    encode_subscriptions: bool,
    /// Turn inbound SUBSCRIBE/CANCEL commands into `\x01`/`\x00` messages
    /// (we are PUB/XPUB).
    decode_subscriptions: bool,
    socket_type: SocketType,
    out_closed: bool,
    /// STREAM: raw bytes, no ZMTP (libzmq's raw_engine).
    raw: bool,
    raw_announced: bool,
    /// STREAM: the application asked to close (an empty message).
    close_requested: bool,
    /// STREAM: the connect notification went into the pipe.
    raw_notified: bool,
    /// The wire format negotiated (ZMTP 1.0, 2.0 or 3.x framing).
    format: WireFormat,
    /// CURVE: every frame is boxed after the handshake.
    cipher: Option<Box<dyn FrameCipher + Send>>,
    /// We are PUB/XPUB and the peer is an unversioned ZMTP 1.0 peer: deliver
    /// a phantom "subscribe all" first (libzmq does).
    inject_subscribe_all: bool,
    /// When bytes last arrived (heartbeat timeouts count from here).
    pub last_rx: std::time::Instant,
    /// The TTL the peer announced in its last PING (RFC 37 §PING): if
    /// nothing arrives for that long, the peer considers us gone.
    pub peer_ttl: Option<std::time::Duration>,
    /// ZMQ_SOCKS_PROXY: the tunnel negotiation that comes before the ZMTP
    /// greeting on a connection made through a SOCKS5 proxy.
    socks: Option<ferrozmq_proto::socks::Socks5Client>,
}

impl Engine {
    pub(crate) fn new(stream: Stream, config: HandshakeConfig) -> Engine {
        Engine::through_socks(stream, config, None)
    }

    /// An engine whose connection first opens a SOCKS5 tunnel: the ZMTP
    /// greeting goes out once the proxy has connected us.
    pub(crate) fn through_socks(
        stream: Stream,
        config: HandshakeConfig,
        socks: Option<ferrozmq_proto::socks::Socks5Client>,
    ) -> Engine {
        let socket_type = config.socket_type;
        let max = config.max_msg_size;
        let raw = socket_type == SocketType::Stream;
        let mut outbuf = BytesMut::with_capacity(INITIAL_BUFFER);
        if let Some(s) = &socks {
            s.start(&mut outbuf);
        }
        let handshake = if raw {
            None
        } else {
            let mut hs = Handshake::new(config);
            if socks.is_none() {
                hs.poll_transmit(&mut outbuf);
            }
            Some(hs)
        };
        Engine {
            stream,
            handshake,
            decoder: FrameDecoder::new(max),
            inbuf: BytesMut::with_capacity(INITIAL_BUFFER),
            read_size: INITIAL_BUFFER,
            outbuf,
            out_segments: std::collections::VecDeque::new(),
            out_segments_len: 0,
            readable: true,
            writable: true,
            stalled: None,
            large_body: None,
            body_pool: None,
            paced_until: None,
            in_more: false,
            out_more: false,
            encode_subscriptions: false,
            decode_subscriptions: matches!(socket_type, SocketType::Pub | SocketType::XPub),
            socket_type,
            out_closed: false,
            raw,
            raw_announced: false,
            close_requested: false,
            raw_notified: false,
            format: WireFormat::V3,
            cipher: None,
            inject_subscribe_all: false,
            last_rx: std::time::Instant::now(),
            peer_ttl: None,
            socks,
        }
    }

    /// Queues a command frame: plain for ZMTP 3.x, boxed for CURVE, not at
    /// all for ZMTP 1.0/2.0 peers (they have no commands).
    fn queue_command(&mut self, cmd: &Command) -> Result<(), EngineError> {
        if self.format != WireFormat::V3 {
            return Ok(());
        }
        match &mut self.cipher {
            None => cmd.encode(&mut self.outbuf),
            Some(c) => {
                let mut frame = BytesMut::new();
                cmd.encode(&mut frame);
                let body = &frame[frame.len() - cmd.body_len()..];
                c.encrypt(false, true, body, &mut self.outbuf).map_err(EngineError::Protocol)?;
            }
        }
        Ok(())
    }

    /// Queues a heartbeat PING (RFC 37 §PING) and writes what it can.
    pub(crate) fn send_ping(&mut self, ttl_deciseconds: u16) -> Result<(), EngineError> {
        if self.format != WireFormat::V3 {
            // ZMTP 1.0/2.0 peers have no heartbeats.
            return Ok(());
        }
        self.queue_command(&Command::Ping { ttl_deciseconds, context: bytes::Bytes::new() })?;
        self.write_out()
    }

    /// Hands the ZAP handler's answer to the handshake. A refusal is final:
    /// the ERROR it produces (400/500) is written before the error returns.
    pub(crate) fn zap_reply(&mut self, reply: ZapReply) -> Result<(), EngineError> {
        let Some(hs) = self.handshake.as_mut() else { return Ok(()) };
        let r = hs.zap_reply(reply);
        hs.poll_transmit(&mut self.outbuf);
        let _ = self.write_out();
        r.map_err(EngineError::Protocol)
    }

    /// True while the handshake waits for a ZAP reply.
    pub(crate) fn awaiting_zap(&self) -> bool {
        self.handshake.as_ref().is_some_and(|h| h.awaiting_zap_reply())
    }

    /// True if the connection is held up by its peer: output the kernel
    /// will not take (EAGAIN) until the peer reads. Busy-polling cannot
    /// make that clear sooner; it only takes the CPU from the peer, which
    /// may share it. (A frame waiting for room in the socket's own pipe is
    /// different: the application drains it within microseconds, and
    /// polling for that saves it a wake-up per batch.)
    pub(crate) fn backpressured(&self) -> bool {
        !self.writable && self.out_len() > 0
    }

    /// The stream's file descriptor (monitor events report it).
    pub(crate) fn raw_fd(&self) -> i32 {
        self.stream.raw_fd()
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.handshake.is_some() || self.socks.is_some()
    }

    /// Drives the SOCKS5 negotiation; Ok(true) once the tunnel is open (the
    /// ZMTP greeting then goes out), Ok(false) while waiting for the proxy.
    fn run_socks(&mut self) -> Result<bool, EngineError> {
        loop {
            self.write_out()?;
            let Some(socks) = self.socks.as_mut() else { return Ok(true) };
            match socks.feed(&mut self.inbuf, &mut self.outbuf) {
                Ok(true) => {
                    self.socks = None;
                    if let Some(hs) = &mut self.handshake {
                        hs.poll_transmit(&mut self.outbuf);
                    }
                    self.write_out()?;
                    return Ok(true);
                }
                Ok(false) => {
                    self.write_out()?;
                    if !self.readable || !self.read_once()? {
                        return Ok(false);
                    }
                }
                Err(e) => {
                    tracing::info!(target: "ferrozmq", error = %e, "SOCKS proxy did not open the tunnel");
                    return Err(EngineError::Io(io::Error::new(io::ErrorKind::ConnectionRefused, e)));
                }
            }
        }
    }

    /// Bytes still missing from the frame at the front of the input (0 if
    /// unknown: handshake, raw mode, or no complete header yet).
    fn frame_remainder(&self) -> usize {
        if self.handshake.is_some() || self.raw {
            return 0;
        }
        match self.decoder.decode_header(&self.inbuf) {
            Ok(Some(h)) => (h.header_len as u64 + h.body_len).saturating_sub(self.inbuf.len() as u64) as usize,
            _ => 0,
        }
    }

    /// Reads once into `inbuf`. Ok(false) = would block.
    fn read_once(&mut self) -> Result<bool, EngineError> {
        // Read into the input buffer itself. A frame the decoder is waiting
        // for may be larger than a chunk: then ask for all of it at once.
        // Reads start small (an idle connection keeps a small buffer) and
        // double while they come back full, up to a chunk.
        let want = self.read_size.max(self.frame_remainder().min(MAX_SINGLE_READ));
        self.inbuf.reserve(want);
        let r = crate::sys::read_into(self.stream.raw_fd(), &mut self.inbuf, want);
        if matches!(r, Ok(n) if n == want) {
            self.read_size = (self.read_size * 2).min(READ_CHUNK);
        }
        self.read_result(r)
    }

    /// What a read's result means for the connection. Ok(false) = would block.
    fn read_result(&mut self, r: io::Result<usize>) -> Result<bool, EngineError> {
        match r {
            Ok(0) => Err(EngineError::Closed),
            Ok(_) => {
                self.last_rx = std::time::Instant::now();
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) if is_reset(&e) => Err(EngineError::Closed),
            Err(e) => Err(EngineError::Io(e)),
        }
    }

    /// Starts reading the large frame whose header is at the front of the
    /// input: what already arrived of its body moves to the body's own
    /// buffer (at most one read's worth), the rest will be read straight
    /// into it by [`Engine::read_large_body`].
    fn start_large_body(&mut self, header_len: usize, body_len: usize, more: bool) {
        let pool = self.body_pool.get_or_insert_with(BodyPool::new);
        let mut body = pool.take(body_len, MAX_SINGLE_READ);
        self.inbuf.advance(header_len);
        body.extend_from_slice(&self.inbuf);
        self.inbuf.clear();
        // The next frame's header comes with a small read, so little of a
        // large body ever passes through the input buffer.
        self.read_size = INITIAL_BUFFER;
        self.large_body = Some(LargeBody { body, len: body_len, more });
    }

    /// Reads the large body in progress straight into its buffer. Returns
    /// the finished frame, or None if the kernel has no more bytes for now
    /// (or the turn's `budget` ran out).
    fn read_large_body(&mut self, budget: &mut usize) -> Result<Option<Msg>, EngineError> {
        loop {
            let lb = self.large_body.as_mut().expect("a large body is in progress");
            let missing = lb.len - lb.body.len();
            if missing == 0 {
                let lb = self.large_body.take().expect("checked above");
                let pool = self.body_pool.as_ref().expect("made with the body");
                let mut msg = Msg::from_bytes(pool.freeze(lb.body));
                msg.set_more(lb.more);
                return Ok(Some(msg));
            }
            if !self.readable || *budget == 0 {
                return Ok(None);
            }
            // Grow by what a read may bring, never by what the peer merely
            // declared (pooled buffers already have their full size).
            let want = missing.min(MAX_SINGLE_READ);
            lb.body.reserve(want);
            let r = crate::sys::read_into(self.stream.raw_fd(), &mut lb.body, want);
            if let Ok(n) = r {
                *budget = budget.saturating_sub(n);
            }
            if !self.read_result(r)? {
                return Ok(None);
            }
        }
    }

    /// Bytes waiting to be written.
    fn out_len(&self) -> usize {
        self.out_segments_len + self.outbuf.len()
    }

    /// Drops `n` written bytes from the front of the output.
    fn consume_out(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.out_segments.front_mut() else { break };
            let k = n.min(front.len());
            front.advance(k);
            self.out_segments_len -= k;
            n -= k;
            if front.is_empty() {
                self.out_segments.pop_front();
            }
        }
        self.outbuf.advance(n);
    }

    /// Writes as much of the output as the kernel takes.
    fn write_out(&mut self) -> Result<(), EngineError> {
        while self.out_len() > 0 && self.writable {
            let r = if self.out_segments.is_empty() {
                self.stream.write(&self.outbuf)
            } else {
                let mut iov: Vec<io::IoSlice<'_>> = Vec::with_capacity(self.out_segments.len().min(63) + 1);
                iov.extend(self.out_segments.iter().take(63).map(|b| io::IoSlice::new(b)));
                if self.out_segments.len() <= 63 && !self.outbuf.is_empty() {
                    iov.push(io::IoSlice::new(&self.outbuf));
                }
                self.stream.write_vectored(&iov)
            };
            match r {
                Ok(0) => return Err(EngineError::Closed),
                Ok(n) => self.consume_out(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_reset(&e) => return Err(EngineError::Closed),
                Err(e) => return Err(EngineError::Io(e)),
            }
        }
        Ok(())
    }

    fn flush_handshake(&mut self) -> Result<(), EngineError> {
        if let Some(hs) = &mut self.handshake {
            hs.poll_transmit(&mut self.outbuf);
        }
        self.write_out()
    }

    /// One turn: handshake, or move data both ways.
    pub(crate) fn run(&mut self, pipes: Option<&mut EnginePipes>) -> Result<Progress, EngineError> {
        if self.socks.is_some() && !self.run_socks()? {
            return Ok(Progress::Idle);
        }
        if self.raw && !self.raw_announced {
            self.raw_announced = true;
            return Ok(Progress::RawReady);
        }
        while self.handshake.is_some() {
            self.flush_handshake()?;
            let hs = self.handshake.as_mut().expect("loop condition");
            let status = match hs.feed(&mut self.inbuf) {
                Ok(s) => s,
                Err(e) => {
                    // An ERROR command the mechanism queued goes out first.
                    let _ = self.flush_handshake();
                    return Err(EngineError::Protocol(e));
                }
            };
            match status {
                HandshakeStatus::Complete(peer) => {
                    self.flush_handshake()?;
                    let mut hs = self.handshake.take().expect("loop condition");
                    self.cipher = hs.take_cipher();
                    self.format = peer.format;
                    self.decoder = FrameDecoder::for_format(peer.format, self.decoder.max_msg_size());
                    self.encode_subscriptions = matches!(self.socket_type, SocketType::Sub | SocketType::XSub)
                        && peer.version.uses_subscribe_commands();
                    self.inject_subscribe_all = peer.subscribe_all;
                    return Ok(Progress::HandshakeDone(peer));
                }
                HandshakeStatus::ZapRequest(req) => {
                    self.flush_handshake()?;
                    return Ok(Progress::ZapRequest(req));
                }
                HandshakeStatus::InProgress => {
                    self.flush_handshake()?;
                    if self.awaiting_zap() {
                        return Ok(Progress::Idle);
                    }
                    if !self.readable || !self.read_once()? {
                        return Ok(Progress::Idle);
                    }
                }
            }
        }
        let Some(pipes) = pipes else { return Ok(Progress::Idle) };
        let busy = self.input(pipes)?;
        let drained = self.output(pipes)?;
        if drained {
            return Ok(Progress::Drained);
        }
        if self.close_requested && self.out_len() == 0 {
            // STREAM: the application closed this connection; the session
            // ends (no reconnect, no notification), as in libzmq.
            return Ok(Progress::Drained);
        }
        Ok(if busy { Progress::Busy } else { Progress::Idle })
    }

    /// Pushes a frame into the inbound pipe; false if the pipe is full.
    fn push(&mut self, pipes: &mut EnginePipes, msg: Msg) -> bool {
        if !self.in_more && !pipes.to_socket.check_write() {
            self.stalled = Some(msg);
            return false;
        }
        self.in_more = msg.get_more();
        pipes.to_socket.write(msg);
        true
    }

    /// Decodes and delivers input. Returns true if it stopped on its budget
    /// with more input possibly pending. Whatever was decoded is published
    /// to the socket even when the connection then fails (a peer that sends
    /// and closes at once must still be heard).
    fn input(&mut self, pipes: &mut EnginePipes) -> Result<bool, EngineError> {
        let r = self.input_frames(pipes);
        if r.is_err() && self.raw && self.raw_notified && !self.close_requested {
            // STREAM: the peer went away; an empty frame says so, after
            // everything it sent (libzmq's disconnect notification).
            if pipes.to_socket.check_write() {
                pipes.to_socket.write(Msg::new());
            }
        }
        pipes.to_socket.flush();
        r
    }

    fn input_frames(&mut self, pipes: &mut EnginePipes) -> Result<bool, EngineError> {
        if self.raw && !self.raw_notified {
            // STREAM: an empty frame tells the socket the connection is up
            // (libzmq's raw engine sends it through the pipe the same way).
            self.raw_notified = true;
            if !self.push(pipes, Msg::new()) {
                return Ok(false);
            }
        }
        if self.inject_subscribe_all {
            self.inject_subscribe_all = false;
            if !self.push(pipes, Msg::from(&b"\x01"[..])) {
                return Ok(false);
            }
        }
        if let Some(m) = self.stalled.take() {
            if !self.push(pipes, m) {
                return Ok(false);
            }
        }
        let mut budget = READ_BUDGET;
        let mut busy = false;
        'outer: loop {
            if self.large_body.is_some() {
                match self.read_large_body(&mut budget)? {
                    Some(msg) => {
                        if !self.push(pipes, msg) {
                            break 'outer;
                        }
                    }
                    None => {
                        busy = self.readable;
                        break 'outer;
                    }
                }
            }
            if self.raw && !self.inbuf.is_empty() {
                // STREAM: whatever arrived is one message (libzmq's raw
                // decoder does the same).
                let chunk = self.inbuf.split().freeze();
                if !self.push(pipes, Msg::from_bytes(chunk)) {
                    break 'outer;
                }
            }
            // Decode everything complete in the buffer.
            while !self.raw {
                let Some(h) = self.decoder.decode_header(&self.inbuf).map_err(EngineError::Protocol)? else {
                    break;
                };
                // decode_header bounds body_len (< 2^63 and MAXMSGSIZE), and
                // we only index once the bytes are really there.
                let body_len = h.body_len as usize;
                let total = h.header_len + body_len;
                if self.inbuf.len() < total {
                    if body_len >= LARGE_FRAME && !h.command && self.cipher.is_none() {
                        self.start_large_body(h.header_len, body_len, h.more);
                        continue 'outer;
                    }
                    break;
                }
                if let Some(cipher) = &mut self.cipher {
                    // CURVE: every frame is a MESSAGE box around the real one.
                    self.inbuf.advance(h.header_len);
                    let body = self.inbuf.split_to(body_len).freeze();
                    let inner = cipher
                        .decrypt(Frame { more: h.more, command: h.command, body })
                        .map_err(EngineError::Protocol)?;
                    let msg = if inner.command {
                        let cmd = Command::parse(&inner.body).map_err(EngineError::Protocol)?;
                        match self.on_command(cmd)? {
                            Some(m) => m,
                            None => continue,
                        }
                    } else {
                        let mut m = Msg::from_bytes(inner.body);
                        m.set_more(inner.more);
                        m
                    };
                    if !self.push(pipes, msg) {
                        break 'outer;
                    }
                    continue;
                }
                if h.command {
                    self.inbuf.advance(h.header_len);
                    let body = self.inbuf.split_to(body_len).freeze();
                    let cmd = Command::parse(&body).map_err(EngineError::Protocol)?;
                    if let Some(msg) = self.on_command(cmd)? {
                        if !self.push(pipes, msg) {
                            break 'outer;
                        }
                    }
                    continue;
                }
                let mut msg = if body_len <= INLINE_CAPACITY {
                    // Small frames are copied into the message with
                    // constant-size moves when the buffer holds a whole
                    // inline store's worth past the body's start (almost
                    // always, while streaming); the extra bytes are not part
                    // of the frame.
                    let body = &self.inbuf[h.header_len..];
                    let m = match body.first_chunk::<INLINE_CAPACITY>() {
                        Some(store) => Msg::from_inline(body_len, *store),
                        None => Msg::copy_from_slice(&body[..body_len]),
                    };
                    self.inbuf.advance(total);
                    m
                } else {
                    self.inbuf.advance(h.header_len);
                    Msg::from_bytes(self.inbuf.split_to(body_len).freeze())
                };
                msg.set_more(h.more);
                if !self.push(pipes, msg) {
                    break 'outer;
                }
            }
            if !self.readable {
                break;
            }
            if budget == 0 {
                busy = true;
                break;
            }
            if !self.read_once()? {
                break;
            }
            budget = budget.saturating_sub(READ_CHUNK);
        }
        Ok(busy && self.stalled.is_none())
    }

    fn on_command(&mut self, cmd: Command) -> Result<Option<Msg>, EngineError> {
        match cmd {
            Command::Ping { context, ttl_deciseconds } => {
                self.peer_ttl = (ttl_deciseconds > 0)
                    .then(|| std::time::Duration::from_millis(ttl_deciseconds as u64 * 100));
                // RFC 37 §PING: answer with a PONG carrying the same context.
                self.queue_command(&Command::Pong { context })?;
                Ok(None)
            }
            Command::Pong { .. } => Ok(None),
            Command::Subscribe(topic) | Command::Cancel(topic) if !self.decode_subscriptions => {
                let _ = topic;
                Ok(None)
            }
            Command::Subscribe(topic) => {
                let mut v = Vec::with_capacity(topic.len() + 1);
                v.push(1);
                v.extend_from_slice(&topic);
                Ok(Some(Msg::from(v)))
            }
            Command::Cancel(topic) => {
                let mut v = Vec::with_capacity(topic.len() + 1);
                v.push(0);
                v.extend_from_slice(&topic);
                Ok(Some(Msg::from(v)))
            }
            Command::Error { reason } => Err(EngineError::Protocol(ProtocolError::PeerError {
                reason: String::from_utf8_lossy(&reason).into_owned(),
            })),
            Command::Ready(_) => Err(EngineError::Protocol(ProtocolError::UnexpectedCommand)),
            // RFC 37: unknown commands are ignored.
            Command::Unknown { .. } => Ok(None),
        }
    }

    /// Encodes outbound frames and writes them. Returns true once the socket
    /// side closed the pipe and everything has been written.
    fn output(&mut self, pipes: &mut EnginePipes) -> Result<bool, EngineError> {
        if self.paced_until.is_some_and(|t| std::time::Instant::now() >= t) {
            self.paced_until = None;
        }
        loop {
            // Frames in the batch being read, and small batches in a row
            // in this turn (see `paced_until`): a reply or request per turn
            // never counts as streaming.
            let mut batch = 0usize;
            let mut small_batches = 0u32;
            while self.paced_until.is_none() && self.out_len() < OUT_BATCH && !self.out_closed {
                match pipes.from_socket.read() {
                    Read::Frame(msg) => {
                        self.encode(msg)?;
                        batch += 1;
                        if pipes.from_socket.at_batch_end() {
                            if batch < SMALL_BATCH {
                                small_batches += 1;
                            } else {
                                small_batches = 0;
                            }
                            batch = 0;
                            if small_batches >= 2 {
                                // Chasing a streaming writer: come back for
                                // the next batch in a while, without
                                // registering for a wake-up meanwhile.
                                self.paced_until = Some(std::time::Instant::now() + READER_PACE);
                            }
                        }
                    }
                    Read::Empty => break,
                    Read::Closed => self.out_closed = true,
                }
            }
            if self.out_len() == 0 {
                return Ok(self.out_closed);
            }
            self.write_out()?;
            if !self.writable || self.paced_until.is_some() {
                return Ok(false);
            }
        }
    }

    /// Queues one whole message ahead of anything from the pipes (HELLO_MSG,
    /// right after the handshake, when no message is half written).
    pub(crate) fn send_first(&mut self, msg: Msg) -> Result<(), EngineError> {
        self.encode(msg)
    }

    fn encode(&mut self, msg: Msg) -> Result<(), EngineError> {
        let more = msg.get_more();
        let data = msg.as_bytes();
        if self.raw {
            if data.is_empty() && !self.out_more {
                self.close_requested = true;
            } else {
                self.outbuf.extend_from_slice(data);
            }
            self.out_more = more;
            return Ok(());
        }
        if self.encode_subscriptions && !self.out_more && !more {
            match data.first() {
                Some(1) => {
                    return self.queue_command(&Command::Subscribe(bytes::Bytes::copy_from_slice(&data[1..])));
                }
                Some(0) => {
                    return self.queue_command(&Command::Cancel(bytes::Bytes::copy_from_slice(&data[1..])));
                }
                _ => {}
            }
        }
        self.out_more = more;
        if let Some(c) = &mut self.cipher {
            return c.encrypt(more, false, data, &mut self.outbuf).map_err(EngineError::Protocol);
        }
        if self.format != WireFormat::V1 {
            if let Some((len, store)) = msg.inline_parts() {
                // A small frame (RFC 37 §2.3.2: flags, one size byte, body)
                // goes out with constant-size copies: one fixed-size append,
                // then the tail past the body is cut off again.
                let mut frame = [0u8; 2 + INLINE_CAPACITY];
                frame[0] = if more { FLAG_MORE } else { 0 };
                frame[1] = len as u8;
                frame[2..].copy_from_slice(store);
                let end = self.outbuf.len() + 2 + len;
                self.outbuf.extend_from_slice(&frame);
                self.outbuf.truncate(end);
                return Ok(());
            }
        }
        let mut hdr = [0u8; 10];
        let n = encode_header_for(self.format, more, false, data.len() as u64, &mut hdr);
        self.outbuf.extend_from_slice(&hdr[..n]);
        if data.len() >= LARGE_FRAME && msg.is_shared() {
            // Large body: no copy. What was encoded before it (header
            // included) becomes a segment, then the body itself.
            let head = self.outbuf.split().freeze();
            self.out_segments_len += head.len();
            self.out_segments.push_back(head);
            let body = msg.into_bytes();
            self.out_segments_len += body.len();
            self.out_segments.push_back(body);
            return Ok(());
        }
        self.outbuf.extend_from_slice(data);
        Ok(())
    }
}

/// A published batch smaller than this, twice in a row, means the engine is
/// chasing the writer of its outbound pipe (see `Engine::paced_until`).
const SMALL_BATCH: usize = 16;
/// How long the engine stays off a streaming outbound pipe.
const READER_PACE: std::time::Duration = std::time::Duration::from_micros(10);

/// A large frame being received into its own buffer.
struct LargeBody {
    body: Vec<u8>,
    /// The body's full length, from the frame header.
    len: usize,
    more: bool,
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
    )
}
