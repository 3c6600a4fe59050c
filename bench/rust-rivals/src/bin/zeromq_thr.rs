//! tcp PUSH/PULL throughput of the `zeromq` crate (zmq.rs); see lib.rs.
use bytes::Bytes;
use rust_rivals::{fail, parse_args, print_thr, spawn_sender, Role, CLOSE_DELAY};
use std::time::Instant;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

#[tokio::main]
async fn main() {
    match parse_args() {
        Role::Receive { endpoint, size, count } => {
            let mut pull = zeromq::PullSocket::new();
            pull.bind(&endpoint).await.unwrap_or_else(|e| fail("bind", e));
            let mut sender = spawn_sender(&endpoint, size, count);
            let mut start = Instant::now();
            for i in 0..count {
                let m = pull.recv().await.unwrap_or_else(|e| fail("recv", e));
                if m.len() != 1 || m.get(0).map(|f| f.len()) != Some(size) {
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
            pull.close().await;
        }
        Role::Send { endpoint, size, count } => {
            let mut push = zeromq::PushSocket::new();
            push.connect(&endpoint).await.unwrap_or_else(|e| fail("connect", e));
            let payload = Bytes::from(vec![0u8; size]);
            for _ in 0..count {
                push.send(ZmqMessage::from(payload.clone())).await.unwrap_or_else(|e| fail("send", e));
            }
            tokio::time::sleep(CLOSE_DELAY).await;
            push.close().await;
        }
    }
}
