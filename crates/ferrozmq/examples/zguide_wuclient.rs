//! Weather update client (zguide chapter 1, `wuclient`): the SUB end of the
//! publish-subscribe pattern. It subscribes to one zip code, collects a
//! hundred updates for it and prints the average temperature.
//!
//! The subscription is a byte prefix: "10001 " (with the space) matches the
//! updates for 10001 only. Filtering happens at the publisher, so the other
//! updates never cross the network. A subscriber that connects late misses
//! whatever was published before it joined (the "slow joiner").
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_wuserver
//! cargo run -p ferrozmq --example zguide_wuclient -- --zip 10001
//! ```
//!
//! Options: `--connect ENDPOINT` (default `tcp://localhost:5556`),
//! `--zip ZIPCODE` (default 10001), `--count N` (updates to collect; default
//! 100).

use ferrozmq::{Context, SocketType};
use std::str::FromStr;

const USAGE: &str = "zguide_wuclient [--connect ENDPOINT] [--zip ZIPCODE] [--count N]";

struct Options {
    connect: String,
    zip: String,
    count: u64,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { connect: "tcp://localhost:5556".into(), zip: "10001".into(), count: 100 };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--connect" => o.connect = value(&mut args, &flag),
                "--zip" => o.zip = value(&mut args, &flag),
                "--count" => o.count = value::<u64>(&mut args, &flag).max(1),
                _ => usage(),
            }
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = Options::parse();
    let ctx = Context::new();
    println!("Collecting updates from weather server at {}...", opts.connect);
    let subscriber = ctx.socket(SocketType::Sub)?;
    subscriber.connect(&opts.connect)?;
    subscriber.set_subscribe(format!("{} ", opts.zip).as_bytes())?;

    let mut total_temp = 0i64;
    for _ in 0..opts.count {
        let update = subscriber.recv_msg(0)?;
        let text = String::from_utf8_lossy(&update);
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [zipcode, temperature, _relhumidity] = fields[..] else {
            return Err(format!("malformed update: {text:?}").into());
        };
        if zipcode != opts.zip {
            return Err(format!("subscribed to {} but received {text:?}", opts.zip).into());
        }
        total_temp += temperature.parse::<i64>()?;
    }
    println!("Average temperature for zipcode '{}' was {}F", opts.zip, total_temp / opts.count as i64);
    Ok(())
}
