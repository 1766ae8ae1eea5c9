#![doc = include_str!("../README.md")]

mod args;
mod auth;
mod commands;
mod content;
mod control;
mod event;
mod ids;
mod listen;
mod output;
mod progress;
mod serve;
mod stream;

use std::process::ExitCode;

/// Tracing on standard error, as `RUST_LOG` says (`RUST_LOG=lark_http=debug`, say); warnings
/// only when it is unset.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = args::parse();
    init_tracing();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::from(output::EXIT_LOCAL);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::report(&failure, json);
            ExitCode::from(failure.exit_code())
        }
    }
}
