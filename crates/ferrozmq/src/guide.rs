//! # The ferrozmq guide: one page per messaging pattern
//!
//! These pages explain the ZeroMQ patterns as ferrozmq implements them, for a
//! Rust developer who knows pyzmq or the `zmq` crate (or neither). Each page
//! says what the pattern is for, which socket types take part and the rules
//! they follow, shows a complete program, lists the common mistakes, and
//! says where ferrozmq matches libzmq and where it deliberately differs.
//!
//! | page | sockets | zguide examples in `crates/ferrozmq/examples/` |
//! |---|---|---|
//! | [`pipeline`] | PUSH, PULL | `zguide_taskvent`, `zguide_taskwork`, `zguide_tasksink`, `async_task*` |
//! | [`pubsub`] | PUB, SUB, XPUB, XSUB | `zguide_wuserver`, `zguide_wuclient` |
//! | [`request_reply`] | REQ, REP | `zguide_hwserver`, `zguide_hwclient`, `zguide_lpclient`, `zguide_lpserver`, `async_hw*` |
//! | [`broker`] | ROUTER, DEALER, `proxy` | `zguide_rrbroker`, `zguide_rrworker`, `zguide_rrclient`, `zguide_msgqueue`, `zguide_mtserver`, `zguide_lbbroker`, `zguide_asyncsrv` |
//! | [`security`] | PLAIN, CURVE, ZAP | `fzmq keygen` |
//!
//! The pages live in `docs/guide/` in the repository, where they read as
//! plain Markdown; this module includes them so that every `rust` code block
//! in them is compiled and run as a doc test (`cargo test -p ferrozmq --doc`).
//! The examples use `inproc://` or `tcp://127.0.0.1:*` with
//! [`Socket::last_endpoint`](crate::Socket::last_endpoint), set receive
//! timeouts so that nothing can hang, and wait on conditions rather than
//! sleeping.
//!
//! The async examples need the `tokio` cargo feature (on by default) and a
//! tokio runtime with the `macros`, `rt` and `time` features.

#[doc = include_str!("../../../docs/guide/pipeline.md")]
pub mod pipeline {}

#[doc = include_str!("../../../docs/guide/pubsub.md")]
pub mod pubsub {}

#[doc = include_str!("../../../docs/guide/request-reply.md")]
pub mod request_reply {}

#[doc = include_str!("../../../docs/guide/broker.md")]
pub mod broker {}

#[doc = include_str!("../../../docs/guide/security.md")]
pub mod security {}
