//! Subscription-table micro-benchmarks (`ferrozmq::routing::subscription_trie`)
//! with 10 000 distinct, realistic prefixes.
//!
//! The prefixes are topic-like strings of varied lengths that share prefixes
//! the way real topic trees do: `region.site-N.kind.metric[.id]`, cut at a
//! level boundary or in the middle of a word (so some subscriptions are
//! prefixes of others), generated from a fixed seed so every run sees the
//! same table.
//!
//! * `subscriptions/match_hit`: `SubscriptionTrie::matches` on 1 024 message
//!   topics each matched by at least one prefix (a subscribed prefix plus a
//!   suffix).
//! * `subscriptions/match_miss`: 1 024 topics matched by none, most of them
//!   sharing a long run with some subscription before diverging (so the walk
//!   goes deep before it fails), plus some that fail at the first byte.
//! * `subscriptions/insert_10k`: a fresh table, all 10 000 prefixes added.
//! * `subscriptions/remove_10k`: all 10 000 removed from a full table (the
//!   table is built outside the timed region), down to an empty root.
//! * `subscriptions/churn`: on a full table, add one new prefix and remove it
//!   again (a subscribe/unsubscribe pair), 1 024 pairs per iteration.
//! * `multitrie/fanout_hit`: the PUB side, `MultiTrie::for_each_match` with the
//!   10 000 prefixes spread over 1 000 subscriber pipes (1 to 3 pipes each),
//!   on the `match_hit` topics, counting the pipes reached.
//!
//! The hit/miss sets are checked against a naive `starts_with` scan in
//! setup, so the benchmark measures what its name says.
//!
//! Run: `cargo bench -p ferrozmq --bench subscriptions`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrozmq::routing::subscription_trie::{MultiTrie, SubscriptionTrie};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

const PREFIXES: usize = 10_000;
const PROBES: usize = 1024;
const PIPES: u32 = 1000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const REGIONS: &[&str] = &[
    "eu-west", "eu-central", "eu-north", "us-east", "us-west", "ap-south", "ap-northeast", "sa-east",
];
const KINDS: &[&str] = &[
    "temperature",
    "humidity",
    "pressure",
    "power",
    "power-factor",
    "door",
    "door-lock",
    "hvac",
    "hvac-fan",
    "light",
    "occupancy",
    "co2",
];
const METRICS: &[&str] = &["value", "min", "max", "avg", "alarm", "status", "state", "battery"];

/// A full topic: `sensors/<region>/site-<n>/<kind>/<metric>[/<id>]`.
fn topic(rng: &mut Rng) -> String {
    let mut t = format!(
        "sensors/{}/site-{}/{}/{}",
        rng.pick(REGIONS),
        rng.below(120),
        rng.pick(KINDS),
        rng.pick(METRICS)
    );
    if rng.below(3) == 0 {
        t.push_str(&format!("/{:x}", rng.next() & 0xffff));
    }
    t
}

/// 10 000 distinct prefixes of varied length.
fn prefixes(rng: &mut Rng) -> Vec<String> {
    let mut set = BTreeSet::new();
    let mut order = Vec::new();
    while set.len() < PREFIXES {
        let t = topic(rng);
        // Cut after a random number of levels, sometimes inside the next
        // word: "sensors/eu-west/site-1", "sensors/eu-west/site-1/hv", ...
        let ends: Vec<usize> = t.match_indices('/').map(|(i, _)| i).chain([t.len()]).collect();
        let level = 2 + rng.below(ends.len() - 2); // at least sensors/<region>
        let mut end = ends[level];
        if rng.below(4) == 0 && level + 1 < ends.len() {
            let next = ends[level + 1];
            end += 1 + rng.below(next - end); // part of the next word
        }
        let p = t[..end.min(t.len())].to_string();
        if set.insert(p.clone()) {
            order.push(p);
        }
    }
    order
}

fn naive_match(prefixes: &[String], data: &[u8]) -> bool {
    prefixes.iter().any(|p| data.starts_with(p.as_bytes()))
}

struct Data {
    prefixes: Vec<String>,
    hits: Vec<Vec<u8>>,
    misses: Vec<Vec<u8>>,
    /// Prefixes that are not in the table (for churn).
    fresh: Vec<String>,
}

fn data() -> Data {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let prefixes = prefixes(&mut rng);
    let mut hits = Vec::with_capacity(PROBES);
    while hits.len() < PROBES {
        let p = &prefixes[rng.below(prefixes.len())];
        let mut m = p.clone().into_bytes();
        m.extend_from_slice(format!("/{}=\x00\x01{}", rng.pick(METRICS), rng.next() % 1000).as_bytes());
        hits.push(m);
    }
    let mut misses = Vec::with_capacity(PROBES);
    while misses.len() < PROBES {
        let m = match rng.below(8) {
            // Fails at the first byte.
            0 => format!("metrics/{}", topic(&mut rng)).into_bytes(),
            // Shares a long run with a subscription, then diverges: change
            // one byte of a subscribed prefix's tail, or take a topic of a
            // region/site that may not be subscribed at that depth.
            1..=4 => {
                let mut m = prefixes[rng.below(prefixes.len())].clone().into_bytes();
                let i = m.len() - 1 - rng.below(m.len().min(6));
                m[i] = b'#';
                m.extend_from_slice(b"/value");
                m
            }
            _ => topic(&mut rng).into_bytes(),
        };
        if !naive_match(&prefixes, &m) {
            misses.push(m);
        }
    }
    for h in &hits {
        assert!(naive_match(&prefixes, h));
    }
    let mut fresh = Vec::with_capacity(PROBES);
    while fresh.len() < PROBES {
        let p = format!("{}/{:x}", prefixes[rng.below(prefixes.len())], rng.next());
        if !prefixes.contains(&p) && !fresh.contains(&p) {
            fresh.push(p);
        }
    }
    Data { prefixes, hits, misses, fresh }
}

fn full_trie(prefixes: &[String]) -> SubscriptionTrie {
    let mut t = SubscriptionTrie::new();
    for p in prefixes {
        assert!(t.add(p.as_bytes()));
    }
    assert_eq!(t.len(), PREFIXES);
    t
}

fn subscriptions(c: &mut Criterion) {
    let d = data();
    let trie = full_trie(&d.prefixes);
    for h in &d.hits {
        assert!(trie.matches(h));
    }
    for m in &d.misses {
        assert!(!trie.matches(m));
    }

    let mut group = c.benchmark_group("subscriptions");
    group.throughput(Throughput::Elements(PROBES as u64));
    group.bench_function("match_hit", |b| {
        b.iter(|| d.hits.iter().filter(|m| trie.matches(black_box(m))).count())
    });
    group.bench_function("match_miss", |b| {
        b.iter(|| d.misses.iter().filter(|m| trie.matches(black_box(m))).count())
    });

    group.throughput(Throughput::Elements(PREFIXES as u64));
    group.bench_function("insert_10k", |b| {
        b.iter(|| {
            let mut t = SubscriptionTrie::new();
            for p in &d.prefixes {
                t.add(black_box(p.as_bytes()));
            }
            t
        })
    });
    group.bench_function("remove_10k", |b| {
        b.iter_batched_ref(
            || full_trie(&d.prefixes),
            |t| {
                for p in &d.prefixes {
                    t.remove(black_box(p.as_bytes()));
                }
                debug_assert!(t.is_empty());
            },
            BatchSize::LargeInput,
        )
    });

    group.throughput(Throughput::Elements(PROBES as u64));
    let mut churn = full_trie(&d.prefixes);
    group.bench_function("churn", |b| {
        b.iter(|| {
            for p in &d.fresh {
                churn.add(black_box(p.as_bytes()));
                churn.remove(black_box(p.as_bytes()));
            }
        })
    });
    assert_eq!(churn.len(), PREFIXES);
    group.finish();

    // PUB side: prefixes spread over subscriber pipes.
    let mut rng = Rng(42);
    let mut multi: MultiTrie<u32> = MultiTrie::new();
    for p in &d.prefixes {
        for _ in 0..1 + rng.below(3) {
            multi.add(p.as_bytes(), rng.below(PIPES as usize) as u32);
        }
    }
    let mut group = c.benchmark_group("multitrie");
    group.throughput(Throughput::Elements(PROBES as u64));
    group.bench_function("fanout_hit", |b| {
        b.iter(|| {
            let mut reached = 0usize;
            for m in &d.hits {
                multi.for_each_match(black_box(m), |pipe| {
                    black_box(pipe);
                    reached += 1;
                });
            }
            reached
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = subscriptions
}
criterion_main!(benches);
