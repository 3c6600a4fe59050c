//! Connection life-cycle as `tracing` spans and events: a subscriber sees
//! each connection's span (endpoint, socket type, role) around its monitor
//! events, the handshake details, and why a connection ended. Runs as its
//! own test binary because it installs a process-wide subscriber (the
//! events come from the I/O thread, so a thread-local one would miss them).

use ferrozmq::{Context, SocketType};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects "LEVEL message fields [span fields]" lines.
#[derive(Default)]
struct Capture {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, String>>,
    lines: Mutex<Vec<String>>,
}

thread_local! {
    static STACK: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Fields(String);
impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }
}

struct Shared(Arc<Capture>);

impl Subscriber for Shared {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.0.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut f = Fields(format!("{}: ", attrs.metadata().name()));
        attrs.record(&mut f);
        self.0.spans.lock().unwrap_or_else(|p| p.into_inner()).insert(id, f.0);
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields(format!("{} ", event.metadata().level()));
        event.record(&mut f);
        let span = STACK.with(|s| s.borrow().last().copied());
        if let Some(id) = span {
            let spans = self.0.spans.lock().unwrap_or_else(|p| p.into_inner());
            let _ = write!(f.0, "[{}]", spans.get(&id).cloned().unwrap_or_default());
        }
        self.0.lines.lock().unwrap_or_else(|p| p.into_inner()).push(f.0);
    }
    fn enter(&self, id: &Id) {
        STACK.with(|s| s.borrow_mut().push(id.into_u64()));
    }
    fn exit(&self, _: &Id) {
        STACK.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

fn wait_for_line(cap: &Capture, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(l) = cap.lines.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|l| pred(l)) {
            return l.clone();
        }
        if Instant::now() > deadline {
            panic!("no trace line for {what}; saw:\n{}", cap.lines.lock().unwrap_or_else(|p| p.into_inner()).join("\n"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn connection_life_cycle_is_traced_in_spans() {
    let cap = Arc::new(Capture::default());
    tracing::subscriber::set_global_default(Shared(cap.clone())).unwrap();

    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    let ep = pull.last_endpoint().unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    push.send("traced", 0).unwrap();
    assert_eq!(pull.recv_msg(0).unwrap().as_str(), Some("traced"));

    let l = wait_for_line(&cap, "Connected in the connect span", |l| {
        l.contains("event=Connected") && l.contains("role=connect") && l.contains("socket_type=Push")
    });
    assert!(l.starts_with("INFO"), "{l}");
    assert!(l.contains(&format!("endpoint={ep}")), "{l}");
    wait_for_line(&cap, "the accepted side's handshake", |l| {
        l.contains("event=HandshakeSucceeded") && l.contains("role=accepted") && l.contains("socket_type=Pull")
    });
    wait_for_line(&cap, "handshake details", |l| {
        l.contains("handshake done") && l.contains("zmtp=3.1") && l.contains("peer_socket_type=Some(Pull)")
    });

    // The server goes away: the client's connection ends and is retried.
    drop(pull);
    wait_for_line(&cap, "the client's disconnection", |l| {
        l.contains("event=Disconnected") && l.contains("role=connect")
    });

    // A peer that speaks garbage is dropped with the reason at WARN.
    let server = ctx.socket(SocketType::Pull).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let addr = server.last_endpoint().unwrap().trim_start_matches("tcp://").to_string();
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    // A ZMTP 3.1 greeting (RFC 37) naming a mechanism nobody has.
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    let mut mechanism = b"BOGUS".to_vec();
    mechanism.resize(20, 0);
    greeting.extend_from_slice(&mechanism);
    greeting.resize(64, 0);
    raw.write_all(&greeting).unwrap();
    let l = wait_for_line(&cap, "the protocol error", |l| l.contains("protocol error") && l.contains("role=accepted"));
    assert!(l.starts_with("WARN"), "{l}");
    drop(raw);
}
