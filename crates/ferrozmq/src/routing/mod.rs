//! Routing parts shared by the socket patterns: each pattern is a few lines
//! of policy on top of these.
//!
//! * `LoadBalancer`: round-robin over peers that have room (PUSH, DEALER, REQ).
//! * `FairQueue`: round-robin over peers that have messages (PULL, SUB, DEALER…).
//! * [`subscription_trie`]: prefix sets for SUB filtering and PUB fan-out.

pub(crate) mod fair_queue;
pub(crate) mod load_balancer;
mod active_set;
pub mod subscription_trie;

pub(crate) use fair_queue::FairQueue;
pub(crate) use load_balancer::LoadBalancer;
