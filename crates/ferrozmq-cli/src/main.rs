//! `fzmq`: send and receive ZeroMQ messages from a terminal or a script.
//!
//! This file parses the command line and dispatches to one module per
//! subcommand; `common` holds the socket setup and error type they share.
//! A new subcommand (`proxy`, `keygen`, `perf`, `monitor`) is a module with
//! an `Args` struct and a `run(args) -> Result<(), CliError>`, plus one
//! variant in [`Command`] and one arm in [`dispatch`].

mod common;
mod keygen;
mod monitor;
mod perf;
mod progress;
mod proxy;
mod recv;
mod send;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use common::CliError;
use std::io::Write;

#[derive(Parser, Debug)]
#[command(
    name = "fzmq",
    version,
    about = "Send and receive ZeroMQ messages (ferrozmq, wire-compatible with libzmq)",
    arg_required_else_help = true,
    after_help = "Examples:\n  \
        fzmq recv pull --bind tcp://127.0.0.1:5555 &\n  \
        printf 'hello\\tworld\\n' | fzmq send push --connect tcp://127.0.0.1:5555\n\n\
        Run 'fzmq help <COMMAND>' or 'fzmq <COMMAND> --help' for details."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    // About texts and help live on the Args structs (send.rs, recv.rs); a
    // doc comment here would replace them.
    Send(send::SendArgs),
    Recv(recv::RecvArgs),
    Proxy(proxy::ProxyArgs),
    Monitor(monitor::MonitorArgs),
    Keygen(keygen::KeygenArgs),
    /// libzmq's perf programs, same arguments and output (local_thr,
    /// remote_thr, local_lat, remote_lat, inproc_thr, inproc_lat)
    #[command(
        disable_help_flag = true,
        after_help = "Examples:\n  fzmq perf local_thr tcp://127.0.0.1:5555 64 1000000 &\n  fzmq perf remote_thr tcp://127.0.0.1:5555 64 1000000\n  fzmq perf inproc_lat 64 10000\n\nThe binary also runs these programs when invoked through a link named after them."
    )]
    Perf {
        /// PROGRAM then its arguments, exactly as libzmq's tool takes them
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "PROGRAM ARGS")]
        args: Vec<String>,
    },
}

fn dispatch(command: Command) -> Result<(), CliError> {
    match command {
        Command::Send(args) => send::run(args),
        Command::Recv(args) => recv::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Monitor(args) => monitor::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Perf { args } => {
            let (program, rest) = args.split_first().map(|(p, r)| (p.as_str(), r)).unwrap_or(("", &[]));
            std::process::exit(perf::run(program, rest));
        }
    }
}

/// Last resort: a panic anywhere (any thread) prints one line and exits 101,
/// without a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unexpected failure".to_string());
        let what = what.replace('\n', " ");
        let at = info.location().map(|l| format!(" (at {}:{})", l.file(), l.line())).unwrap_or_default();
        let _ = writeln!(std::io::stderr(), "fzmq: internal error: {what}{at}");
        std::process::exit(101);
    }));
}

/// clap's message with "error: " replaced by "fzmq: ".
fn fzmq_prefixed(rendered: &str) -> String {
    rendered.strip_prefix("error: ").map(|rest| format!("fzmq: {rest}")).unwrap_or_else(|| rendered.to_string())
}

/// The usage line(s) of a subcommand, as clap prints them ("Usage: fzmq send ...").
fn usage_of(subcommand: &str) -> String {
    let mut cmd = command();
    cmd.build();
    match cmd.find_subcommand_mut(subcommand) {
        Some(sub) => sub.render_usage().to_string(),
        None => cmd.render_usage().to_string(),
    }
}

/// The subcommand named on the command line, if any (for usage on errors).
fn subcommand_in_argv() -> Option<&'static str> {
    let names = ["send", "recv", "proxy", "perf", "monitor", "keygen"];
    std::env::args().skip(1).find_map(|a| names.iter().copied().find(|n| *n == a))
}

/// The command line definition, with what is only known at run time (the
/// socket types the library implements) filled in.
fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("send", |c| c.mut_arg("socket_type", |a| a.help(common::type_help(common::Direction::Send))))
        .mut_subcommand("recv", |c| c.mut_arg("socket_type", |a| a.help(common::type_help(common::Direction::Recv))))
}

fn parse_or_exit() -> Cli {
    let parsed = command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m));
    match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version: standard output, status 0.
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            let mut text = fzmq_prefixed(&e.render().to_string());
            if !text.contains("Usage:") {
                if let Some(sub) = subcommand_in_argv() {
                    let trimmed = text.trim_end().to_string();
                    // Put the usage before clap's "For more information" line.
                    text = match trimmed.rfind("\n\nFor more information") {
                        Some(i) => format!("{}\n\n{}{}\n", &trimmed[..i], usage_of(sub), &trimmed[i..]),
                        None => format!("{trimmed}\n\n{}\n", usage_of(sub)),
                    };
                }
            }
            let _ = std::io::stderr().write_all(text.as_bytes());
            std::process::exit(common::EXIT_FAILURE);
        }
    }
}

fn main() {
    install_panic_hook();
    // Invoked as `local_thr` etc. (a link): behave exactly like libzmq's tool.
    let argv0 = std::env::args().next().unwrap_or_default();
    let name = std::path::Path::new(&argv0).file_name().and_then(|n| n.to_str()).unwrap_or("");
    if perf::PROGRAMS.contains(&name) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        std::process::exit(perf::run(name, &args));
    }
    if std::env::var_os("FZMQ_TEST_PANIC").is_some() {
        // Lets the tests check the panic hook; not a user-facing feature.
        panic!("panic requested by FZMQ_TEST_PANIC");
    }
    let cli = parse_or_exit();
    if let Err(e) = dispatch(cli.command) {
        let mut text = format!("fzmq: {}\n", e.message);
        if let Some(sub) = e.usage_of {
            text.push('\n');
            text.push_str(&usage_of(sub));
            text.push_str(&format!("\n\nFor more information, try 'fzmq {sub} --help'.\n"));
        }
        let _ = std::io::stderr().write_all(text.as_bytes());
        std::process::exit(e.code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn prefix() {
        assert_eq!(fzmq_prefixed("error: bad\n"), "fzmq: bad\n");
        assert_eq!(fzmq_prefixed("other"), "other");
    }
}
