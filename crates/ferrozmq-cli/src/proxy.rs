//! `fzmq proxy`: libzmq's built-in proxy between a frontend and a backend
//! socket, with an optional capture socket and steering (control) socket.

use crate::common::{describe, CliError};
use clap::Args;
use ferrozmq::{Context, Socket, SocketType};

/// Arguments of `fzmq proxy`.
#[derive(Args, Debug)]
#[command(
    about = "Forward messages between a frontend and a backend socket (zmq_proxy)",
    long_about = "Forward messages between a frontend and a backend socket (zmq_proxy).\n\n\
        Every message arriving on one side is sent, whole, to the other. A capture \
        socket (PUSH, PUB, PAIR…) receives a copy of every frame. A control socket \
        (REP, PAIR or SUB) steers the proxy with PAUSE, RESUME, TERMINATE and \
        STATISTICS, as zmq_proxy_steerable does; fzmq exits 0 on TERMINATE.",
    after_help = "Examples:\n  \
        fzmq proxy router dealer --frontend-bind 'tcp://*:5559' --backend-bind 'tcp://*:5560'\n  \
        fzmq proxy xsub xpub --frontend-bind tcp://*:5557 --backend-bind tcp://*:5558 \\\n      \
        --capture push --capture-bind ipc:///tmp/capture --control rep --control-bind ipc:///tmp/ctl"
)]
pub struct ProxyArgs {
    /// Frontend socket type (e.g. router, xsub, pull)
    pub frontend: SocketType,
    /// Backend socket type (e.g. dealer, xpub, push)
    pub backend: SocketType,
    /// Frontend: bind to EP (repeatable)
    #[arg(long, value_name = "EP")]
    pub frontend_bind: Vec<String>,
    /// Frontend: connect to EP (repeatable)
    #[arg(long, value_name = "EP")]
    pub frontend_connect: Vec<String>,
    /// Backend: bind to EP (repeatable)
    #[arg(long, value_name = "EP")]
    pub backend_bind: Vec<String>,
    /// Backend: connect to EP (repeatable)
    #[arg(long, value_name = "EP")]
    pub backend_connect: Vec<String>,
    /// Capture socket type (push, pub, pair, dealer…)
    #[arg(long, value_name = "TYPE", requires = "capture_bind")]
    pub capture: Option<SocketType>,
    /// Capture socket: bind to EP
    #[arg(long, value_name = "EP", requires = "capture")]
    pub capture_bind: Option<String>,
    /// Control socket type (rep, pair or sub)
    #[arg(long, value_name = "TYPE", requires = "control_bind")]
    pub control: Option<SocketType>,
    /// Control socket: bind to EP
    #[arg(long, value_name = "EP", requires = "control")]
    pub control_bind: Option<String>,
}

fn make(ctx: &Context, t: SocketType, role: &str, bind: &[String], connect: &[String]) -> Result<Socket, CliError> {
    let s = ctx.socket(t).map_err(|e| CliError::failure(format!("cannot create the {role} {t} socket: {}", describe(e))))?;
    if t == SocketType::Sub {
        // A SUB control socket takes every command.
        s.set_subscribe(b"").map_err(|e| CliError::failure(format!("cannot subscribe: {}", describe(e))))?;
    }
    for ep in bind {
        s.bind(ep).map_err(|e| CliError::failure(format!("cannot bind {role} {ep}: {}", describe(e))))?;
    }
    for ep in connect {
        s.connect(ep).map_err(|e| CliError::failure(format!("cannot connect {role} {ep}: {}", describe(e))))?;
    }
    Ok(s)
}

/// Runs `fzmq proxy`.
pub fn run(args: ProxyArgs) -> Result<(), CliError> {
    if args.frontend_bind.is_empty() && args.frontend_connect.is_empty() {
        return Err(CliError::usage("proxy", "the frontend needs --frontend-bind or --frontend-connect"));
    }
    if args.backend_bind.is_empty() && args.backend_connect.is_empty() {
        return Err(CliError::usage("proxy", "the backend needs --backend-bind or --backend-connect"));
    }
    let ctx = Context::new();
    let front = make(&ctx, args.frontend, "frontend", &args.frontend_bind, &args.frontend_connect)?;
    let back = make(&ctx, args.backend, "backend", &args.backend_bind, &args.backend_connect)?;
    let capture = match (args.capture, &args.capture_bind) {
        (Some(t), Some(ep)) => Some(make(&ctx, t, "capture", std::slice::from_ref(ep), &[])?),
        _ => None,
    };
    let control = match (args.control, &args.control_bind) {
        (Some(t), Some(ep)) => Some(make(&ctx, t, "control", std::slice::from_ref(ep), &[])?),
        _ => None,
    };
    ferrozmq::proxy_steerable(&front, &back, capture.as_ref(), control.as_ref())
        .map_err(|e| CliError::failure(format!("proxy stopped: {}", describe(e))))?;
    for s in [Some(front), Some(back), capture, control].into_iter().flatten() {
        let _ = s.set_linger(0);
    }
    Ok(())
}
