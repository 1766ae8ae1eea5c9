//! Peak memory of large transfers. The emulator runs in a child process (this same test binary,
//! started on its ignored `emulator_process` test), so that this process's peak resident size
//! measures the client alone.
//!
//! Run with `cargo test -p lark-http --test memory -- --nocapture` to see the figures.

use lark_api::BaseUrl;
use lark_api::im::messages::GetMessageResource;
use lark_api::im::resources::DownloadFile;
use lark_content::limits::FILE_MAX_BYTES;
use lark_content::{FileKey, MessageId};
use lark_emulator::Emulator;
use lark_http::Client;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

const CHILD_ENV: &str = "LARK_HTTP_MEMORY_TEST_EMULATOR";
const DOWNLOAD_BYTES: usize = 50 * 1024 * 1024;

#[allow(clippy::cast_precision_loss)] // sizes far below 2^52 bytes
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Deterministic bytes, the same in both processes.
fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
#[ignore = "the emulator process of large_transfers_stay_in_constant_memory; it starts this itself"]
fn emulator_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = Emulator::start_default().await.unwrap();
        let tom = emulator.user("Tom").unwrap().open_id;
        let message = emulator
            .user_sends_file(
                &emulator.default_chat(),
                &tom,
                "big.bin",
                pattern(DOWNLOAD_BYTES),
            )
            .unwrap();
        let stored = emulator.message(&message).unwrap();
        let content: serde_json::Value =
            serde_json::from_str(stored["body"]["content"].as_str().unwrap()).unwrap();
        println!(
            "READY {} {} {}",
            emulator.base_url(),
            message,
            content["file_key"].as_str().unwrap()
        );
        std::io::stdout().flush().unwrap();
        // Serve until the parent closes stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .unwrap();
    });
}

struct EmulatorProcess {
    child: Child,
    base_url: String,
    message_id: String,
    file_key: String,
}

impl EmulatorProcess {
    fn start() -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "emulator_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let line = lines
            .find_map(|line| line.split_once("READY ").map(|(_, rest)| rest.to_owned()))
            .expect("the emulator process reports its address");
        // Keep reading, so the child can still write its test summary when it ends.
        std::thread::spawn(move || lines.for_each(drop));
        let mut parts = line.split_whitespace().map(str::to_owned);
        let (base_url, message_id, file_key) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        Self {
            child,
            base_url,
            message_id,
            file_key,
        }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Peak resident size while `work` runs, above the resident size when it started.
fn peak_growth<T>(work: impl FnOnce() -> T) -> (T, u64) {
    // Writing 5 to clear_refs resets VmHWM to the current resident size (Linux 4.0+).
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting the peak resident size");
    let before = status_bytes("VmRSS:");
    let out = work();
    let peak = status_bytes("VmHWM:");
    (out, peak.saturating_sub(before))
}

fn files_equal(a: &std::path::Path, b: &[u8]) -> bool {
    let mut file = std::fs::File::open(a).unwrap();
    let mut offset = 0;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).unwrap();
        if read == 0 {
            return offset == b.len();
        }
        if b.get(offset..offset + read) != Some(&buffer[..read]) {
            return false;
        }
        offset += read;
    }
}

#[test]
fn large_transfers_stay_in_constant_memory() {
    assert!(
        std::path::Path::new("/proc/self/clear_refs").exists(),
        "this test measures memory through /proc/self; it runs on Linux"
    );
    let emulator = EmulatorProcess::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = Client::builder()
        .app("cli_9f5343c580712544", "emulator-app-secret")
        .base_url(BaseUrl::parse(&emulator.base_url).unwrap())
        .build()
        .unwrap();
    runtime.block_on(client.tenant_token()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // 50 MB down: a file a user sent, through the message resource endpoint.
    let target = dir.path().join("big.bin");
    let request = GetMessageResource::file(
        MessageId::new(emulator.message_id.clone()),
        FileKey::new(emulator.file_key.clone()),
    );
    let (meta, download_growth) = peak_growth(|| {
        runtime
            .block_on(client.download_to_file(request, &target, None))
            .unwrap()
    });
    assert_eq!(meta.meta.content_length, Some(DOWNLOAD_BYTES as u64));

    // 30 MB up (the platform's largest file), streamed from disk, then back down to check it.
    let upload_bytes = usize::try_from(FILE_MAX_BYTES).unwrap();
    let source = dir.path().join("upload.bin");
    std::fs::write(&source, pattern(upload_bytes)).unwrap();
    let (key, upload_growth) =
        peak_growth(|| runtime.block_on(client.upload_file(&source, None)).unwrap());

    let echo = dir.path().join("echo.bin");
    runtime
        .block_on(client.download_to_file(DownloadFile::new(key), &echo, None))
        .unwrap();
    let expected = pattern(DOWNLOAD_BYTES);
    assert!(
        files_equal(&target, &expected),
        "the 50 MB download arrived intact"
    );
    assert!(
        files_equal(&echo, &expected[..upload_bytes]),
        "the 30 MB upload arrived intact"
    );

    eprintln!(
        "peak memory growth: download {:.1} MiB for {:.0} MiB; upload {:.1} MiB for {:.0} MiB",
        mib(download_growth),
        mib(DOWNLOAD_BYTES as u64),
        mib(upload_growth),
        mib(upload_bytes as u64),
    );
    // Buffered whole, each would grow by at least its own size.
    assert!(
        download_growth < 8 * 1024 * 1024,
        "download peak grew {download_growth} bytes"
    );
    assert!(
        upload_growth < 8 * 1024 * 1024,
        "upload peak grew {upload_growth} bytes"
    );
}
