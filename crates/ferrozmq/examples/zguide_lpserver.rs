//! Lazy Pirate server (zguide chapter 4, `lpserver`): an ordinary REP echo
//! server that misbehaves on purpose, to exercise the Lazy Pirate client.
//! After a few normal cycles it may "crash" (exit without replying) or be
//! "overloaded" (reply seconds late, after the client has given up).
//!
//! ```text
//! cargo run -p ferrozmq --example zguide_lpserver
//! cargo run -p ferrozmq --example zguide_lpclient
//! ```
//!
//! By default, as in the guide, each request after the third has a one in
//! three chance of a crash and then of an overload. For repeatable runs, any
//! of these options replaces the dice: `--crash-at N` (crash on receiving
//! the Nth request), `--overload-at N` (repeatable: reply late to the Nth
//! request), `--reliable` (never misbehave). Other options: `--bind
//! ENDPOINT` (default `tcp://*:5555`), `--overload-ms MS` (default 2000),
//! `--work-ms MS` (normal work per request; default 1000), `--count N` (exit
//! after N replies; default: serve until crashing).

use ferrozmq::{Context, SocketType};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const USAGE: &str = "zguide_lpserver [--bind ENDPOINT] [--crash-at N] [--overload-at N]... [--reliable] \
                     [--overload-ms MS] [--work-ms MS] [--count N]";

/// How the server decides to misbehave.
enum Faults {
    /// The guide's dice, from the fourth request on.
    Random(Rng),
    /// Exactly where the command line says.
    Scripted { crash_at: Option<u64>, overload_at: Vec<u64> },
}

impl Faults {
    fn crash(&mut self, cycle: u64) -> bool {
        match self {
            Faults::Random(rng) => cycle > 3 && rng.below(3) == 0,
            Faults::Scripted { crash_at, .. } => *crash_at == Some(cycle),
        }
    }

    fn overload(&mut self, cycle: u64) -> bool {
        match self {
            Faults::Random(rng) => cycle > 3 && rng.below(3) == 0,
            Faults::Scripted { overload_at, .. } => overload_at.contains(&cycle),
        }
    }
}

struct Options {
    bind: String,
    faults: Faults,
    overload: Duration,
    work: Duration,
    count: Option<u64>,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            bind: "tcp://*:5555".into(),
            faults: Faults::Random(Rng::from_clock()),
            overload: Duration::from_millis(2000),
            work: Duration::from_millis(1000),
            count: None,
        };
        let (mut crash_at, mut overload_at, mut scripted) = (None, Vec::new(), false);
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--bind" => o.bind = value(&mut args, &flag),
                "--crash-at" => {
                    crash_at = Some(value(&mut args, &flag));
                    scripted = true;
                }
                "--overload-at" => {
                    overload_at.push(value(&mut args, &flag));
                    scripted = true;
                }
                "--reliable" => scripted = true,
                "--overload-ms" => o.overload = Duration::from_millis(value(&mut args, &flag)),
                "--work-ms" => o.work = Duration::from_millis(value(&mut args, &flag)),
                "--count" => o.count = Some(value(&mut args, &flag)),
                _ => usage(),
            }
        }
        if scripted {
            o.faults = Faults::Scripted { crash_at, overload_at };
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

/// A small xorshift generator: the example needs dice, not a dependency.
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
    let mut opts = Options::parse();
    let ctx = Context::new();
    let server = ctx.socket(SocketType::Rep)?;
    server.bind(&opts.bind)?;
    println!("I: Lazy Pirate server on {}", server.last_endpoint()?);

    let mut cycles = 0u64;
    let mut replies = 0u64;
    while opts.count.is_none_or(|n| replies < n) {
        let request = server.recv_msg(0)?;
        cycles += 1;

        // Simulate various problems, after a few cycles
        if opts.faults.crash(cycles) {
            println!("I: simulating a crash");
            break;
        }
        if opts.faults.overload(cycles) {
            println!("I: simulating CPU overload");
            std::thread::sleep(opts.overload);
        }
        println!("I: normal request ({})", String::from_utf8_lossy(&request));
        std::thread::sleep(opts.work); // Do some heavy work
        server.send(request, 0)?;
        replies += 1;
    }
    Ok(())
}
