//! `fzmq perf`: libzmq's perf programs, argument- and output-compatible, so
//! that any ferrozmq side pairs with any libzmq side and scripts that scrape
//! libzmq's output (its `generate_csv.sh`) read ours unchanged.
//!
//! `fzmq perf local_thr <bind-to> <message-size> <message-count>` and
//! friends; the same programs also run under their own names when the
//! binary is invoked through a link called `local_thr`, `remote_lat`, ….
//! As in libzmq: a wrong argument count prints the usage line on standard
//! output and exits 1; a failing call prints `error in <call>: <reason>`;
//! sizes and counts are read like C's `atoi`; the first message of a
//! throughput run starts the clock and is not timed, but is counted.

use bytes::Bytes;
use ferrozmq::{Context, Msg, SocketType};
use std::time::{Duration, Instant};

/// The program names this module answers to.
pub const PROGRAMS: &[&str] = &["local_thr", "remote_thr", "local_lat", "remote_lat", "inproc_thr", "inproc_lat"];

fn usage(program: &str) -> &'static str {
    match program {
        "local_thr" => "usage: local_thr <bind-to> <message-size> <message-count>",
        "remote_thr" => "usage: remote_thr <connect-to> <message-size> <message-count>",
        "local_lat" => "usage: local_lat <bind-to> <message-size> <roundtrip-count>",
        "remote_lat" => "usage: remote_lat <connect-to> <message-size> <roundtrip-count>",
        "inproc_thr" => "usage: inproc_thr <message-size> <message-count>",
        "inproc_lat" => "usage: inproc_lat <message-size> <roundtrip-count>",
        _ => "usage: fzmq perf local_thr|remote_thr|local_lat|remote_lat|inproc_thr|inproc_lat ARGS...",
    }
}

/// C's `atoi`: optional sign and leading digits; anything else is 0.
fn atoi(s: &str) -> i32 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(|b| b.is_ascii_digit()) {
        v = (v * 10 + (b - b'0') as i64).min(i32::MAX as i64 + 1);
    }
    let v = if neg { -v } else { v };
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

struct Failure(String);

fn check<T>(what: &str, r: ferrozmq::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| Failure(format!("error in {what}: {e}")))
}

fn print_thr(size: i32, count: i32, elapsed: Duration) {
    let us = (elapsed.as_secs_f64() * 1e6).max(1.0);
    let msgs = count as f64 / us * 1e6;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", msgs as i64);
    println!("mean throughput: {:.3} [Mb/s]", msgs * size as f64 * 8.0 / 1e6);
}

fn print_lat_tail(roundtrips: i32, elapsed: Duration) {
    let us = elapsed.as_secs_f64() * 1e6;
    println!("average latency: {:.3} [us]", us / (roundtrips as f64 * 2.0));
}

fn payload(size: i32) -> Msg {
    // One zeroed buffer shared by every message: sending never copies the
    // payload on the application side (as libzmq's tool never fills it).
    Msg::from(Bytes::from(vec![0u8; size.max(0) as usize]))
}

fn receive_n(s: &ferrozmq::Socket, size: i32, count: i32) -> Result<Duration, Failure> {
    let mut start = Instant::now();
    for i in 0..count {
        let m = check("zmq_msg_recv", s.recv_msg(0))?;
        if m.len() as i32 != size {
            return Err(Failure("message of incorrect size received".into()));
        }
        if i == 0 {
            start = Instant::now();
        }
    }
    Ok(start.elapsed())
}

// FZMQ_PERF_CURVE=1 turns CURVE on in local_thr (server) and remote_thr
// (client) with fixed test key pairs (CurveZMQ's documented examples), the
// same as bench/curve/curve_thr.c, so either side pairs with libzmq's.
const CURVE_SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const CURVE_SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const CURVE_CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const CURVE_CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

fn curve_requested() -> bool {
    std::env::var("FZMQ_PERF_CURVE").is_ok_and(|v| v == "1")
}

fn local_thr(args: &[String]) -> Result<(), Failure> {
    let (ep, size, count) = (&args[0], atoi(&args[1]), atoi(&args[2]));
    let ctx = Context::new();
    let s = check("zmq_socket", ctx.socket(SocketType::Pull))?;
    if curve_requested() {
        check("zmq_setsockopt", s.set_option("curve_server", "1"))?;
        check("zmq_setsockopt", s.set_option("curve_secretkey", CURVE_SERVER_SECRET))?;
    }
    check("zmq_bind", s.bind(ep))?;
    let elapsed = receive_n(&s, size, count)?;
    print_thr(size, count, elapsed);
    Ok(())
}

fn remote_thr(args: &[String]) -> Result<(), Failure> {
    let (ep, size, count) = (&args[0], atoi(&args[1]), atoi(&args[2]));
    let ctx = Context::new();
    let s = check("zmq_socket", ctx.socket(SocketType::Push))?;
    if curve_requested() {
        check("zmq_setsockopt", s.set_option("curve_serverkey", CURVE_SERVER_PUBLIC))?;
        check("zmq_setsockopt", s.set_option("curve_publickey", CURVE_CLIENT_PUBLIC))?;
        check("zmq_setsockopt", s.set_option("curve_secretkey", CURVE_CLIENT_SECRET))?;
    }
    check("zmq_connect", s.connect(ep))?;
    let m = payload(size);
    for _ in 0..count {
        check("zmq_msg_send", s.send(m.clone(), 0))?;
    }
    // Closing with the default LINGER (-1) delivers everything on our side.
    // A libzmq *receiver* can still lose the tail of an ipc stream when the
    // sender closes at once (its issue #4660), so like the project's C kit we
    // pause before closing, outside any timed region (FZMQ_PERF_CLOSE_DELAY_MS,
    // default 500; 0 to skip).
    let delay = std::env::var("FZMQ_PERF_CLOSE_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(500u64);
    std::thread::sleep(Duration::from_millis(delay));
    drop(s);
    drop(ctx);
    Ok(())
}

fn local_lat(args: &[String]) -> Result<(), Failure> {
    let (ep, size, count) = (&args[0], atoi(&args[1]), atoi(&args[2]));
    let ctx = Context::new();
    let s = check("zmq_socket", ctx.socket(SocketType::Rep))?;
    check("zmq_bind", s.bind(ep))?;
    for _ in 0..count {
        let m = check("zmq_msg_recv", s.recv_msg(0))?;
        if m.len() as i32 != size {
            return Err(Failure("message of incorrect size received".into()));
        }
        check("zmq_msg_send", s.send(m, 0))?;
    }
    std::thread::sleep(Duration::from_secs(1));
    Ok(())
}

fn ping_pong(s: &ferrozmq::Socket, size: i32, roundtrips: i32) -> Result<Duration, Failure> {
    let m = payload(size);
    let start = Instant::now();
    for _ in 0..roundtrips {
        check("zmq_msg_send", s.send(m.clone(), 0))?;
        let r = check("zmq_msg_recv", s.recv_msg(0))?;
        if r.len() as i32 != size {
            return Err(Failure("message of incorrect size received".into()));
        }
    }
    Ok(start.elapsed())
}

fn remote_lat(args: &[String]) -> Result<(), Failure> {
    let (ep, size, count) = (&args[0], atoi(&args[1]), atoi(&args[2]));
    let ctx = Context::new();
    let s = check("zmq_socket", ctx.socket(SocketType::Req))?;
    check("zmq_connect", s.connect(ep))?;
    let elapsed = ping_pong(&s, size, count)?;
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    print_lat_tail(count, elapsed);
    Ok(())
}

fn inproc_thr(args: &[String]) -> Result<(), Failure> {
    let (size, count) = (atoi(&args[0]), atoi(&args[1]));
    let ctx = Context::new();
    let s = check("zmq_socket", ctx.socket(SocketType::Pull))?;
    check("zmq_bind", s.bind("inproc://thr_test"))?;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    let ctx2 = ctx.clone();
    let worker = std::thread::spawn(move || -> Result<(), Failure> {
        let p = check("zmq_socket", ctx2.socket(SocketType::Push))?;
        check("zmq_connect", p.connect("inproc://thr_test"))?;
        let m = payload(size);
        for _ in 0..count {
            check("zmq_sendmsg", p.send(m.clone(), 0))?;
        }
        Ok(())
    });
    let elapsed = receive_n(&s, size, count)?;
    worker.join().map_err(|_| Failure("worker thread failed".into()))??;
    let us = (elapsed.as_secs_f64() * 1e6).max(1.0);
    let msgs = (count as f64 / us * 1e6) as u64;
    println!("mean throughput: {msgs} [msg/s]");
    println!("mean throughput: {:.3} [Mb/s]", (msgs * size.max(0) as u64 * 8) as f64 / 1e6);
    Ok(())
}

fn inproc_lat(args: &[String]) -> Result<(), Failure> {
    let (size, count) = (atoi(&args[0]), atoi(&args[1]));
    let ctx = Context::new();
    let s = check("zmq_socket", ctx.socket(SocketType::Req))?;
    check("zmq_bind", s.bind("inproc://lat_test"))?;
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    let ctx2 = ctx.clone();
    let worker = std::thread::spawn(move || -> Result<(), Failure> {
        let r = check("zmq_socket", ctx2.socket(SocketType::Rep))?;
        check("zmq_connect", r.connect("inproc://lat_test"))?;
        for _ in 0..count {
            let m = check("zmq_recvmsg", r.recv_msg(0))?;
            check("zmq_sendmsg", r.send(m, 0))?;
        }
        Ok(())
    });
    let elapsed = ping_pong(&s, size, count)?;
    worker.join().map_err(|_| Failure("worker thread failed".into()))??;
    print_lat_tail(count, elapsed);
    Ok(())
}

/// Runs `program` with its positional arguments; returns the exit status.
pub fn run(program: &str, args: &[String]) -> i32 {
    let (want, f): (usize, fn(&[String]) -> Result<(), Failure>) = match program {
        "local_thr" => (3, local_thr),
        "remote_thr" => (3, remote_thr),
        "local_lat" => (3, local_lat),
        "remote_lat" => (3, remote_lat),
        "inproc_thr" => (2, inproc_thr),
        "inproc_lat" => (2, inproc_lat),
        _ => {
            println!("{}", usage(""));
            return 1;
        }
    };
    if args.len() != want {
        println!("{}", usage(program));
        return 1;
    }
    match f(args) {
        Ok(()) => 0,
        Err(Failure(text)) => {
            if text.starts_with("message of incorrect size") {
                println!("{text}");
            } else {
                eprintln!("{text}");
            }
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi("64"), 64);
        assert_eq!(atoi(" 12abc"), 12);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("-5"), -5);
        assert_eq!(atoi("99999999999"), i32::MAX);
    }
}
