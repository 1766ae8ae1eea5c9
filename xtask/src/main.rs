//! `cargo xtask …`: the project's own automation.
//!
//! `ci` runs every check that must be green before anything lands, in order, and stops at the
//! first failure. `stress` runs the test suite many times and names every test that failed in
//! any run.

mod features;
mod layers;
mod publish;
mod stress;

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
        "stress" => stress::stress(&args[1..]),
        "layers" => layers::check(),
        "deny" => publish::deny(),
        "package" => publish::package(),
        "man" => man(),
        "features" => features::features(),
        stress::SPIN => stress::spin(),
        "bench" => bench(&args[1..]),
        "soak" => soak(&args[1..]),
        "fuzz" => fuzz(&args[1..]),
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
  ci                  fmt --check, clippy -D warnings, the workspace tests, every crate
                      alone (its tests, and a build with no default features and with all
                      features), the Redis tests (installing redis-server when missing),
                      the Python walk-through against `lark emulator` when python3 is
                      present (pytest from PyPI into target/python), doc -D warnings, the layering rules of docs/architecture.md, deny
                      and package (below)
  layers              the layering rules of docs/architecture.md, against cargo metadata
  deny                cargo deny check: licences, bans and sources (deny.toml); advisories
                      when their database can be fetched (installs cargo-deny when missing)
  package             cargo package for every publishable crate, then a new crate built
                      from the packages by their published names, and the CLI from its own
  man                 the `lark` man pages, into target/man
  features            crates compiled, cold release build time and binary size of three
                      users of the facade (send-only, webhook bot, long-connection bot),
                      each built from the packaged crates in its own target directory
  stress --runs N [--load]
                      builds the workspace tests once and runs them N times (--load keeps
                      every core busy meanwhile); lists each test that failed with its count
                      and ends with `stress runs=N failed_runs=F flaky=[…]`
  bench [--quick] [--floor | --streaming]
                      every benchmark against its in-run baseline, then the client against
                      the floor (--floor: only that; --streaming: only the streaming cards);
                      target/bench/summary.json
  soak [--sends N]    N sends (default 2000) through injected faults; fails if any is lost or doubled
  soak --quota        660 sends against the emulator in quota mode; fails on any refusal or a
                      rate more than 10% off the platform's limits
  fuzz [--cases N]    the content, event and frame property suites with N cases each (default 10000)";

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

/// Runs one step done in this process, printing it first.
fn step_fn(name: &str, run: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("==> {name}");
    run().map_err(|err| format!("{name} failed: {err}"))
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

    crates_alone()?;
    redis_checks()?;
    python_checks()?;

    let mut doc = cargo();
    doc.args(["doc", "--no-deps", "--workspace", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("cargo doc --no-deps --all-features", doc)?;

    step_fn("layers (docs/architecture.md)", layers::check)?;
    publish::deny()?;
    publish::package()?;
    // The steering workspace's own layering check, when this repository sits beside it.
    let external = root()
        .join("..")
        .join("shared")
        .join("tools")
        .join("check-layers");
    if external.exists() {
        let mut layers = Command::new(&external);
        layers.arg(root()).current_dir(root());
        step("check-layers", layers)?;
    }
    println!("==> ci: all steps passed");
    Ok(())
}

/// The library crates users take one by one: every directory under `crates/`.
fn crates() -> Result<Vec<String>, String> {
    let dir = root().join("crates");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|err| format!("reading {}: {err}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Each crate on its own, as a user who takes only that crate gets it: its own tests with its
/// own features (no other crate of the workspace turns a dependency's feature on for it), and
/// a build of every target with no default features and with all features.
fn crates_alone() -> Result<(), String> {
    for package in crates()? {
        let mut test = cargo();
        test.args(["test", "--package", &package]);
        step(&format!("cargo test -p {package}"), test)?;
        if package == "larkrs" {
            // The facade's own tests need the bot and the long connection, off by default.
            let mut test = cargo();
            test.args(["test", "--package", &package, "--features", "ws,axum"]);
            step(&format!("cargo test -p {package} --features ws,axum"), test)?;
        }
        for features in ["--no-default-features", "--all-features"] {
            let mut check = cargo();
            check.args(["check", "--package", &package, "--all-targets", features]);
            step(&format!("cargo check -p {package} {features}"), check)?;
        }
    }
    Ok(())
}

/// Writes the `lark` man pages into `target/man`, replacing the pages of an earlier run.
fn man() -> Result<(), String> {
    let dir = root().join("target").join("man");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|err| format!("removing {}: {err}", dir.display()))?;
    }
    let mut command = cargo();
    command
        .args(["run", "--quiet", "--package", "larkrs-cli", "--", "man"])
        .arg(&dir);
    step("lark man target/man", command)
}

/// Runs the benchmark binary in release mode.
fn bench(args: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask bench [--quick] [--floor | --streaming]";
    if args
        .iter()
        .any(|a| !matches!(a.as_str(), "--quick" | "--floor" | "--streaming"))
    {
        return Err(usage.to_owned());
    }
    let mut command = cargo();
    command.args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "lark-bench",
        "--bin",
        "bench",
        "--",
    ]);
    command.args(args);
    step("bench", command)
}

/// Runs the fault soak in release mode.
fn soak(args: &[String]) -> Result<(), String> {
    let mut command = cargo();
    command.args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "lark-bench",
        "--bin",
        "soak",
        "--",
    ]);
    match args {
        [] => {}
        [flag, n] if flag == "--sends" && n.parse::<u64>().is_ok() => {
            command.args(["--sends", n]);
        }
        [flag] if flag == "--quota" => {
            command.arg("--quota");
        }
        _ => return Err("usage: cargo xtask soak [--sends N | --quota]".to_owned()),
    }
    step("soak", command)
}

/// The property suites, their `fuzz::` tests only, with many cases.
const FUZZ_SUITES: [(&str, &str); 3] = [
    ("lark-content", "properties"),
    ("lark-events", "security"),
    ("lark-ws", "frames"),
];

/// Runs each property suite with `--cases` cases per property and reports the inputs tried.
fn fuzz(args: &[String]) -> Result<(), String> {
    let cases: u64 = match args {
        [] => 10_000,
        [flag, n] if flag == "--cases" => n
            .parse()
            .map_err(|_| format!("--cases takes a number, not `{n}`"))?,
        _ => return Err("usage: cargo xtask fuzz [--cases N]".to_owned()),
    };
    let (mut total_inputs, mut total_failed) = (0u64, 0u64);
    for (package, test) in FUZZ_SUITES {
        println!("==> fuzz {package}/{test}: {cases} cases per property");
        let output = cargo()
            .args([
                "test",
                "--release",
                "--quiet",
                "--package",
                package,
                "--test",
                test,
                "--",
                "fuzz::",
            ])
            .env("PROPTEST_CASES", cases.to_string())
            .output()
            .map_err(|err| format!("could not start cargo test: {err}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let (passed, failed) = test_counts(&stdout).ok_or_else(|| {
            format!(
                "{package}/{test}: no test summary\n{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        if failed > 0 {
            println!("{stdout}");
        }
        let inputs = (passed + failed) * cases;
        println!(
            "fuzz {package}/{test} properties={} cases={cases} inputs={inputs} failed={failed}",
            passed + failed
        );
        total_inputs += inputs;
        total_failed += failed;
    }
    println!("fuzz inputs={total_inputs} failed={total_failed}");
    if total_failed > 0 {
        Err(format!("{total_failed} properties failed"))
    } else {
        Ok(())
    }
}

/// `passed` and `failed` from libtest's `test result:` line.
fn test_counts(output: &str) -> Option<(u64, u64)> {
    let line = output
        .lines()
        .find(|line| line.starts_with("test result:"))?;
    let number = |label: &str| -> Option<u64> {
        let before = line.split(label).next()?;
        before
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())?
            .parse()
            .ok()
    };
    Some((number(" passed")?, number(" failed")?))
}

/// Whether `program` runs.
fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The pytest version the Python walk-through is run with.
const PYTEST: &str = "pytest==8.3.4";

/// `examples/python`: a bot written in Python, tested against `lark emulator` through its
/// control API, when python3 is present. pytest comes from PyPI into a virtual environment
/// under `target/`, so nothing is installed on the machine itself.
fn python_checks() -> Result<(), String> {
    if !runs("python3", "--version") {
        println!("==> python3 is missing; the Python walk-through is skipped");
        return Ok(());
    }
    let mut build = cargo();
    build.args(["build", "--package", "larkrs-cli", "--bin", "lark"]);
    step("cargo build -p larkrs-cli", build)?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let venv = target.join("python");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(&venv);
        step("python3 -m venv target/python", create)?;
    }
    let mut install = Command::new(&python);
    install.args(["-m", "pip", "install", "--quiet", PYTEST]);
    step(&format!("pip install {PYTEST}"), install)?;
    let mut pytest = Command::new(&python);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("examples").join("python"))
        .env("LARK_BIN", target.join("debug").join("lark"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(root());
    step("pytest examples/python", pytest)
}

/// Installs redis-server from Debian's packages when it is missing.
fn ensure_redis_server() -> Result<(), String> {
    if runs("redis-server", "--version") {
        return Ok(());
    }
    println!("==> redis-server is missing; installing it with apt-get");
    let install = || {
        let mut command = Command::new("apt-get");
        command
            .args(["install", "-y", "--no-install-recommends", "redis-server"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        step("apt-get install redis-server", command)
    };
    if install().is_err() {
        let mut update = Command::new("apt-get");
        update.arg("update");
        step("apt-get update", update)?;
        install()?;
    }
    if runs("redis-server", "--version") {
        Ok(())
    } else {
        Err(
            "redis-server is still missing after apt-get install; the Redis tests cannot run"
                .to_owned(),
        )
    }
}

/// A redis-server on a free loopback port, stopped when dropped.
struct RedisServer(std::process::Child, u16);

impl RedisServer {
    fn start() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|err| format!("no free port: {err}"))?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|err| format!("redis-server did not start: {err}"))?;
        let server = Self(child, port);
        for _ in 0..250 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Err(format!("redis-server did not listen on port {port}"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Redis integration tests (each starts its own server) and the replicas example against
/// a server started here. Never skipped: a missing redis-server is installed, or CI fails.
fn redis_checks() -> Result<(), String> {
    ensure_redis_server()?;
    let mut tests = cargo();
    tests.args([
        "test",
        "--package",
        "lark-redis",
        "--features",
        "integration",
        "--",
        "--nocapture",
    ]);
    step("cargo test -p lark-redis --features integration", tests)?;
    let mut facade = cargo();
    facade.args([
        "test",
        "--package",
        "larkrs",
        "--features",
        "redis",
        "--lib",
    ]);
    step("cargo test -p larkrs --features redis", facade)?;

    let server = RedisServer::start()?;
    let mut example = cargo();
    example
        .args([
            "run",
            "--quiet",
            "--package",
            "lark-examples",
            "--example",
            "replicas",
            "--features",
            "redis",
        ])
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", server.1));
    let result = step("cargo run --example replicas --features redis", example);
    drop(server);
    result
}
