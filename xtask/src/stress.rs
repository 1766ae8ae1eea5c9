//! `cargo xtask stress --runs N [--load]`: builds the workspace tests once, then runs every test
//! binary N times, each with its package directory as the working directory (as `cargo test`
//! does). A test that fails in any run is flaky or broken; both are defects. `--load` keeps
//! every core busy with spinning processes for the whole run, which is how a timing assumption
//! shows itself. Doc tests are compiled at run time and are not part of the stress runs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand a load process runs: a busy loop until it is killed.
pub(crate) const SPIN: &str = "__spin";

/// A test binary should not take longer than this in one run; past it, it counts as hung.
const BINARY_DEADLINE: Duration = Duration::from_secs(900);

/// Spins one core until killed, or until the stress run that started it is gone (so that a
/// stress run stopped with a signal leaves no spinning process behind).
pub(crate) fn spin() -> Result<(), String> {
    let parent = std::os::unix::process::parent_id();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    loop {
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            std::hint::black_box(x);
        }
        if std::os::unix::process::parent_id() != parent {
            return Ok(());
        }
    }
}

/// One test executable and where it runs.
struct TestBinary {
    /// `package/target`, for reports.
    label: String,
    path: PathBuf,
    dir: PathBuf,
}

/// Processes that keep the cores busy; killed when dropped.
struct Load(Vec<Child>);

impl Load {
    fn start() -> Result<Self, String> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let exe = std::env::current_exe().map_err(|err| format!("no current exe: {err}"))?;
        let mut children = Vec::with_capacity(cores);
        for _ in 0..cores {
            let child = Command::new(&exe)
                .arg(SPIN)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|err| format!("could not start a load process: {err}"))?;
            children.push(child);
        }
        println!("==> load: {cores} spinning process(es), one per core");
        Ok(Self(children))
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Options {
    runs: u32,
    load: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    const USAGE: &str = "usage: cargo xtask stress --runs N [--load]";
    let mut runs = None;
    let mut load = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let n = args.next().ok_or(USAGE)?;
                runs = Some(
                    n.parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--runs takes a positive number, not `{n}`"))?,
                );
            }
            "--load" => load = true,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(Options {
        runs: runs.ok_or(USAGE)?,
        load,
    })
}

pub(crate) fn stress(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let binaries = build()?;
    println!("==> {} test binaries", binaries.len());
    let load = if options.load {
        Some(Load::start()?)
    } else {
        None
    };
    let mut failures: BTreeMap<String, u32> = BTreeMap::new();
    let mut failed_runs = 0u32;
    for run in 1..=options.runs {
        let started = Instant::now();
        let mut tests = 0u64;
        let mut failed_here: Vec<String> = Vec::new();
        for binary in &binaries {
            let outcome = run_binary(binary)?;
            tests += outcome.tests;
            failed_here.extend(outcome.failed);
        }
        if !failed_here.is_empty() {
            failed_runs += 1;
        }
        for name in &failed_here {
            *failures.entry(name.clone()).or_default() += 1;
        }
        println!(
            "run {run}/{}: {tests} tests, {} failed ({:.1} s){}",
            options.runs,
            failed_here.len(),
            started.elapsed().as_secs_f64(),
            if failed_here.is_empty() {
                String::new()
            } else {
                format!(": {}", failed_here.join(", "))
            }
        );
    }
    drop(load);
    if !failures.is_empty() {
        println!("failing tests (runs failed out of {}):", options.runs);
        for (name, count) in &failures {
            println!("  {count:>4}  {name}");
        }
    }
    let flaky: Vec<&str> = failures.keys().map(String::as_str).collect();
    println!(
        "stress runs={} failed_runs={failed_runs} flaky=[{}]",
        options.runs,
        flaky.join(", ")
    );
    if failed_runs > 0 {
        Err(format!("{failed_runs} of {} runs failed", options.runs))
    } else {
        Ok(())
    }
}

/// Builds the workspace tests (`cargo test --workspace --no-run`) and lists the executables.
fn build() -> Result<Vec<TestBinary>, String> {
    println!("==> cargo test --workspace --no-run");
    let output = super::cargo()
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("could not start cargo: {err}"))?;
    if !output.status.success() {
        return Err(format!("building the tests failed ({})", output.status));
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
            continue;
        }
        let Some(path) = message["executable"].as_str() else {
            continue;
        };
        let manifest = PathBuf::from(message["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest
            .parent()
            .map_or_else(super::root, std::path::Path::to_path_buf);
        let package = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let target = message["target"]["name"].as_str().unwrap_or("?");
        binaries.push(TestBinary {
            label: format!("{package}/{target}"),
            path: PathBuf::from(path),
            dir,
        });
    }
    if binaries.is_empty() {
        return Err("cargo built no test binaries".to_owned());
    }
    Ok(binaries)
}

/// What one binary's run showed.
struct Outcome {
    tests: u64,
    failed: Vec<String>,
}

/// Runs one test binary to the end (at most [`BINARY_DEADLINE`]) and reads its report.
fn run_binary(binary: &TestBinary) -> Result<Outcome, String> {
    let mut child = Command::new(&binary.path)
        .current_dir(&binary.dir)
        .env("CARGO_MANIFEST_DIR", &binary.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("could not start {}: {err}", binary.path.display()))?;
    let stdout = child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        })
    });
    // Drained so that a chatty test never blocks on a full pipe; not reported.
    let stderr = child.stderr.take().map(|mut err| {
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = err.read_to_end(&mut sink);
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|err| format!("waiting for {}: {err}", binary.label))?
        {
            break Some(status);
        }
        if started.elapsed() > BINARY_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let lines = stdout
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    if let Some(reader) = stderr {
        let _ = reader.join();
    }
    let mut failed: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            let name = line.strip_prefix("test ")?.strip_suffix(" ... FAILED")?;
            Some(format!("{}::{name}", binary.label))
        })
        .collect();
    let tests = lines
        .iter()
        .filter(|line| line.starts_with("test result:"))
        .filter_map(|line| super::test_counts(line))
        .map(|(passed, failed)| passed + failed)
        .sum();
    match status {
        None => failed.push(format!(
            "{} (hung: still running after {} s)",
            binary.label,
            BINARY_DEADLINE.as_secs()
        )),
        Some(status) if !status.success() && failed.is_empty() => {
            failed.push(format!("{} ({status})", binary.label));
        }
        Some(_) => {}
    }
    Ok(Outcome { tests, failed })
}
