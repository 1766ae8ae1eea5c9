//! `cargo xtask …`: the project's own automation.
//!
//! `ci` runs every check that must be green before anything lands, in order, and stops at the
//! first failure.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "ci" => ci(),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci      fmt --check, clippy -D warnings, test, doc -D warnings, check-layers";

/// The workspace root: the parent of this crate's manifest directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs one step, printing it first, and turns a non-zero exit into an error naming the step.
fn step(name: &str, mut command: Command) -> Result<(), String> {
    println!("==> {name}");
    let status = command
        .status()
        .map_err(|err| format!("{name}: could not start: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn ci() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    step("cargo fmt --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    step("cargo clippy", clippy)?;

    // The README's test command, exactly.
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    step("cargo test --workspace", test)?;

    let mut doc = cargo();
    doc.args(["doc", "--no-deps", "--workspace"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("cargo doc --no-deps", doc)?;

    let check_layers = root().join("../shared/tools/check-layers");
    if check_layers.exists() {
        let mut layers = Command::new(&check_layers);
        layers.arg(root()).current_dir(root());
        step("check-layers", layers)?;
    } else {
        println!(
            "==> check-layers: {} not present, skipped",
            check_layers.display()
        );
    }
    println!("==> ci: all steps passed");
    Ok(())
}
