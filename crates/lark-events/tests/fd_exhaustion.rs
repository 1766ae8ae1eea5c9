//! The webhook server when the process runs out of file descriptors: it pauses between failed
//! accepts instead of spinning, logs the failure once per interval, and serves again as soon as
//! descriptors come free.
//!
//! The test lowers this process's `RLIMIT_NOFILE`, so it lives alone in its own test binary.
//! The attacking connections come from a second process (this binary again, running the
//! ignored `attacker` entry point), so that only the server spends this process's descriptors.

#![cfg(target_os = "linux")]

mod common;

use common::{NEVER, PATIENCE, Server, challenge, exchange, service};
use lark_events::ServeOptions;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The attacker's address, given to the child process.
const ATTACK_ADDR: &str = "LARK_TEST_ATTACK_ADDR";

/// How many connections the attacker opens: four times the descriptors left to the server, and
/// within the listen backlog (128), which holds the ones the server cannot accept.
const ATTACK_CONNECTIONS: usize = 100;

/// Descriptors left free for the server once the limit is lowered.
const HEADROOM: u64 = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_server_pauses_logs_once_and_serves_again() {
    let (lines, subscriber) = common::warnings();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // No cap and no header deadline: only the descriptor limit stops the server.
    let server = Server::start(service(
        ServeOptions::default()
            .with_max_connections(100_000)
            .with_header_timeout(NEVER)
            .with_log_interval(NEVER),
    ))
    .await;

    let mut attacker = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "attacker",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ATTACK_ADDR, server.addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the attacking process starts");
    let mut commands = attacker.stdin.take().unwrap();
    let mut reports = BufReader::new(attacker.stdout.take().unwrap()).lines();

    // Only now, with the attacker running under the normal limit, is this process's lowered.
    let mut clock = CpuClock::open();
    let open = u64::try_from(std::fs::read_dir("/proc/self/fd").unwrap().count()).unwrap();
    let before = getrlimit(Resource::Nofile);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(open + HEADROOM),
            maximum: before.maximum,
        },
    )
    .unwrap();

    writeln!(commands, "attack").unwrap();
    let opened = tokio::task::spawn_blocking(move || {
        let line = reports
            .by_ref()
            .map_while(Result::ok)
            // libtest may print "test attacker ... " on the same line first.
            .find_map(|line| line.split_once("opened ").map(|(_, n)| n.trim().to_owned()))
            .expect("the attacker reports its connections");
        (line, reports)
    });
    let (opened, _reports) = tokio::time::timeout(PATIENCE, opened)
        .await
        .expect("the attacker opened its connections")
        .unwrap();
    let opened: u64 = opened.parse().unwrap();
    assert!(
        opened > 2 * HEADROOM,
        "the attacker opened only {opened} connections"
    );

    // The server runs out. It pauses after each failed accept, longer each time (10 ms
    // doubling to 1 s), and spends no CPU while it waits.
    server.wait_until(|c| c.accept_errors >= 2).await;
    let (wall, cpu) = (Instant::now(), clock.now());
    let counts = server.wait_until(|c| c.accept_errors >= 9).await;
    let (wall, cpu) = (wall.elapsed(), clock.now().saturating_sub(cpu));
    println!("fd exhaustion: {counts:?}; {cpu:?} of CPU in {wall:?}");
    assert!(
        counts.accept_paused >= Duration::from_secs(2),
        "{} failed accepts but only {:?} paused: {counts:?}",
        counts.accept_errors,
        counts.accept_paused
    );
    assert!(
        cpu <= wall / 2 + Duration::from_millis(100),
        "the process used {cpu:?} of CPU in {wall:?} while the server waited"
    );

    // The attacker goes away; the server serves again.
    drop(commands);
    let exited = tokio::task::spawn_blocking(move || attacker.wait());
    tokio::time::timeout(PATIENCE, exited)
        .await
        .expect("the attacker exits")
        .unwrap()
        .unwrap();
    // This process's own connect needs a descriptor too: while the server still holds the
    // attacker's closed connections, it waits for the server to let one go.
    let stream = loop {
        let before = server.stats.snapshot();
        match tokio::net::TcpStream::connect(server.addr).await {
            Ok(stream) => break stream,
            Err(_) => drop(server.wait_until(|c| *c != before).await),
        }
    };
    let (status, body) = exchange(stream, &challenge()).await;
    assert_eq!(status, 200, "{body}");

    let lines = lines.lines();
    let accept_lines = lines
        .iter()
        .filter(|l| l.contains("accepting a webhook connection failed"))
        .count();
    assert_eq!(accept_lines, 1, "one line per interval: {lines:?}");
    setrlimit(Resource::Nofile, before).unwrap();
}

/// The CPU time this process has used, user and system, from `/proc/self/stat`, which is
/// opened once, while descriptors are still free.
struct CpuClock(std::fs::File);

impl CpuClock {
    fn open() -> Self {
        Self(std::fs::File::open("/proc/self/stat").unwrap())
    }

    fn now(&mut self) -> Duration {
        use std::io::{Read, Seek};
        let mut stat = String::new();
        self.0.rewind().unwrap();
        self.0.read_to_string(&mut stat).unwrap();
        // The fields after the command name, which is in parentheses and may hold spaces;
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        let per_second = rustix::param::clock_ticks_per_second();
        Duration::from_millis(ticks * 1000 / per_second)
    }
}

/// The attacking process: opens up to [`ATTACK_CONNECTIONS`] connections when told to, reports, and
/// holds them until its input closes. It does nothing when run without an address.
#[test]
#[ignore = "the attacking process of out_of_descriptors_the_server_pauses_logs_once_and_serves_again, which starts it"]
fn attacker() {
    let Ok(addr) = std::env::var(ATTACK_ADDR) else {
        return;
    };
    let mut input = std::io::stdin().lock().lines();
    assert_eq!(input.next().unwrap().unwrap(), "attack");
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    // Until the count, or until the listen backlog is full.
    let held: Vec<std::net::TcpStream> = (0..ATTACK_CONNECTIONS)
        .map_while(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok())
        .collect();
    println!("opened {}", held.len());
    std::io::stdout().flush().unwrap();
    // Hold everything until the test closes our input.
    for _ in input {}
    drop(held);
}
