//! The demonstration run by `scripts/demo.sh`: the same code over inproc,
//! ipc and tcp — only the endpoint string changes — for a PUSH/PULL pipeline
//! and a PUB/SUB fan-out, printing what flowed and how fast.

use ferrozmq::{Context, Msg, SocketType};
use std::time::Instant;

const PIPELINE_MSGS: u64 = 1_000_000;
const PUBSUB_MSGS: u64 = 200_000;

fn endpoints() -> Vec<String> {
    vec![
        "inproc://demo".to_string(),
        format!("ipc:///tmp/ferrozmq-demo-{}.sock", std::process::id()),
        "tcp://127.0.0.1:*".to_string(),
    ]
}

fn pipeline(ctx: &Context, endpoint: &str) -> ferrozmq::Result<()> {
    let pull = ctx.socket(SocketType::Pull)?;
    pull.bind(endpoint)?;
    let endpoint = pull.last_endpoint()?;
    let push = ctx.socket(SocketType::Push)?;
    push.connect(&endpoint)?;
    let start = Instant::now();
    let sender = std::thread::spawn(move || -> ferrozmq::Result<()> {
        // One payload, shared by every message: a `Msg` made from `Bytes`
        // is zero-copy (a reference count), where a slice larger than the
        // inline size would be copied into a fresh allocation per message.
        let payload = Msg::from(bytes::Bytes::from(vec![7u8; 64]));
        for _ in 0..PIPELINE_MSGS {
            push.send(payload.clone(), 0)?;
        }
        Ok(())
    });
    let mut bytes = 0u64;
    for _ in 0..PIPELINE_MSGS {
        bytes += pull.recv_msg(0)?.len() as u64;
    }
    sender.join().expect("sender thread")?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  pipeline  PUSH -> PULL  {:<40} {:>9} msgs of 64 B  {:>6.2} M msg/s  {:>7.1} MB/s",
        endpoint,
        PIPELINE_MSGS,
        PIPELINE_MSGS as f64 / secs / 1e6,
        bytes as f64 / secs / 1e6
    );
    Ok(())
}

fn pubsub(ctx: &Context, endpoint: &str) -> ferrozmq::Result<()> {
    let publisher = ctx.socket(SocketType::Pub)?;
    publisher.set_sndhwm(0)?;
    publisher.bind(endpoint)?;
    let endpoint = publisher.last_endpoint()?;
    let mut subs = Vec::new();
    for topic in ["weather", "sports"] {
        let s = ctx.socket(SocketType::Sub)?;
        s.set_rcvhwm(0)?;
        s.connect(&endpoint)?;
        s.set_subscribe(topic.as_bytes())?;
        subs.push((topic, s));
    }
    // Subscriptions reach the publisher asynchronously (the "slow joiner"):
    // publish a sync message until every subscriber has seen one.
    for (topic, s) in &subs {
        s.set_rcvtimeo(10)?;
        loop {
            publisher.send(format!("{topic} sync"), 0)?;
            if s.recv_msg(0).is_ok() {
                break;
            }
        }
        while s.recv_msg(ferrozmq::DONTWAIT).is_ok() {}
        s.set_rcvtimeo(5000)?;
    }
    let start = Instant::now();
    let mut handles = Vec::new();
    for (topic, s) in subs {
        handles.push(std::thread::spawn(move || -> ferrozmq::Result<(String, u64)> {
            let mut n = 0;
            loop {
                let m = s.recv_msg(0)?;
                if m.ends_with(b"END") {
                    break;
                }
                assert!(m.starts_with(topic.as_bytes()), "filter let a wrong topic through");
                n += 1;
            }
            Ok((topic.to_string(), n))
        }));
    }
    for i in 0..PUBSUB_MSGS {
        let topic = ["weather", "sports", "news"][(i % 3) as usize];
        publisher.send(format!("{topic} {i}"), 0)?;
    }
    publisher.send("weather END", 0)?;
    publisher.send("sports END", 0)?;
    let mut summary = Vec::new();
    for h in handles {
        let (topic, n) = h.join().expect("subscriber thread")?;
        summary.push(format!("{topic}: {n}"));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  pub/sub   PUB -> 2 SUB  {:<40} {:>9} published      {:>6.2} M msg/s  received {}",
        endpoint,
        PUBSUB_MSGS,
        PUBSUB_MSGS as f64 / secs / 1e6,
        summary.join(", ")
    );
    Ok(())
}

fn main() {
    let ctx = Context::new();
    println!("ferrozmq demo: the same sockets over three transports (\"news\" has no subscriber)");
    let only = std::env::args().nth(1);
    for ep in endpoints().into_iter().filter(|e| only.as_deref().is_none_or(|o| e.starts_with(o))) {
        if let Err(e) = pipeline(&ctx, &ep).and_then(|_| pubsub(&ctx, &ep)) {
            eprintln!("demo: {ep}: {e}");
            std::process::exit(1);
        }
    }
}
