//! tcp PUSH/PULL throughput of the `rzmq` crate (its portable tokio path,
//! no io_uring); see lib.rs.
use rust_rivals::{fail, parse_args, print_thr, spawn_sender, Role, CLOSE_DELAY};
use rzmq::{Context, Msg, SocketType};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let ctx = Context::new().unwrap_or_else(|e| fail("context", e));
    match parse_args() {
        Role::Receive { endpoint, size, count } => {
            let pull = ctx.socket(SocketType::Pull).unwrap_or_else(|e| fail("socket", e));
            pull.bind(&endpoint).await.unwrap_or_else(|e| fail("bind", e));
            let mut sender = spawn_sender(&endpoint, size, count);
            let mut start = Instant::now();
            for i in 0..count {
                let m = pull.recv().await.unwrap_or_else(|e| fail("recv", e));
                if m.size() != size {
                    println!("message of incorrect size received");
                    std::process::exit(1);
                }
                if i == 0 {
                    start = Instant::now();
                }
            }
            let elapsed = start.elapsed();
            print_thr(size, count, elapsed);
            let _ = sender.wait();
            let _ = pull.close().await;
        }
        Role::Send { endpoint, size, count } => {
            let push = ctx.socket(SocketType::Push).unwrap_or_else(|e| fail("socket", e));
            push.connect(&endpoint).await.unwrap_or_else(|e| fail("connect", e));
            let payload = bytes::Bytes::from(vec![0u8; size]);
            for _ in 0..count {
                push.send(Msg::from_bytes(payload.clone())).await.unwrap_or_else(|e| fail("send", e));
            }
            tokio::time::sleep(CLOSE_DELAY).await;
            let _ = push.close().await;
        }
    }
    let _ = ctx.term().await;
}
