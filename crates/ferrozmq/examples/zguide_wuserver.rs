//! Weather update server (zguide chapter 1, `wuserver`): the PUB end of the
//! publish-subscribe pattern. It publishes an endless stream of random
//! weather updates, "zipcode temperature relhumidity", to whoever listens.
//!
//! A PUB socket never blocks and never waits for subscribers: updates sent
//! while nobody (or only a slow joiner) is connected are simply dropped, and
//! each subscriber gets only the updates matching its filters.
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_wuserver
//! cargo run -p ferrozmq --example zguide_wuclient -- --zip 10001
//! ```
//!
//! Options: `--bind ENDPOINT` (repeatable; default `tcp://*:5556`; the guide
//! also binds `ipc://weather.ipc`), `--count N` (exit after N updates;
//! default: publish forever), `--zip-max N` (zip codes are drawn from
//! `0..N`, printed as five digits; default 100000 — a smaller range makes a
//! given zip code come up more often).

use ferrozmq::{Context, SocketType};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "zguide_wuserver [--bind ENDPOINT]... [--count N] [--zip-max N]";

struct Options {
    binds: Vec<String>,
    count: Option<u64>,
    zip_max: u64,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { binds: Vec::new(), count: None, zip_max: 100_000 };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--bind" => o.binds.push(value(&mut args, &flag)),
                "--count" => o.count = Some(value(&mut args, &flag)),
                "--zip-max" => o.zip_max = value::<u64>(&mut args, &flag).clamp(1, 100_000),
                _ => usage(),
            }
        }
        if o.binds.is_empty() {
            o.binds.push("tcp://*:5556".into());
        }
        o
    }
}

fn value<T: FromStr>(args: &mut impl Iterator<Item = String>, flag: &str) -> T {
    args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        eprintln!("{flag} needs a valid value");
        usage()
    })
}

fn usage() -> ! {
    eprintln!("usage: {USAGE}");
    std::process::exit(2)
}

/// A small xorshift generator: the example needs noise, not a dependency.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Rng {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Rng(nanos ^ (u64::from(std::process::id()) << 32) | 1)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn main() -> Result<(), ferrozmq::Error> {
    let opts = Options::parse();
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub)?;
    for endpoint in &opts.binds {
        publisher.bind(endpoint)?;
        println!("Publishing weather updates on {}", publisher.last_endpoint()?);
    }

    let mut rng = Rng::from_clock();
    let mut published = 0u64;
    while opts.count.is_none_or(|n| published < n) {
        let zipcode = rng.below(opts.zip_max);
        let temperature = rng.below(215) as i64 - 80;
        let relhumidity = rng.below(50) + 10;
        publisher.send(format!("{zipcode:05} {temperature} {relhumidity}"), 0)?;
        published += 1;
    }
    println!("Published {published} updates, exiting");
    Ok(())
}
