//! Every benchmark, each against a baseline measured in the same run. One line per benchmark,
//! `bench NAME ours=X baseline=Y ratio=Z unit=U`, and `target/bench/summary.json`.
//!
//! `cargo xtask bench [--quick]`

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt;
use lark_api::im::messages::{GetMessageResource, SendMessage};
use lark_api::im::resources::DownloadFile;
use lark_api::{AccessToken, BaseUrl, Receiver, build_request};
use lark_bench::floor::MinimalEvent;
use lark_bench::{Budget, Figure, compare, pattern, peak_rss_growth};
use lark_content::limits::FILE_MAX_BYTES;
use lark_content::{ChatId, FileKey, MessageContent, MessageId};
use lark_emulator::Emulator;
use lark_events::{EncryptKey, EventConfig, Incoming, MemoryDedup, receive, sign_event};
use serde::Deserialize;
use sha2::Digest as _;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const CHILD_FLAG: &str = "--serve-emulator-with-file";
const TRANSFER_BYTES: usize = 50 * 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(CHILD_FLAG) {
        serve_emulator_child();
        return;
    }
    if lark_bench::floor::child(&args) {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only_floor = args.iter().any(|a| a == "--floor");
    let only_streaming = args.iter().any(|a| a == "--streaming");
    let budget = Budget::new(quick);
    let started = Instant::now();
    let mut figures = Vec::new();
    let mut report = |figure: Figure| {
        println!("{}", figure.line());
        figures.push(figure);
    };
    if only_streaming {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        if let Err(err) = runtime.block_on(lark_bench::streaming::run(quick, &mut report)) {
            eprintln!("bench streaming failed: {err}");
            std::process::exit(1);
        }
        return;
    }
    if !only_floor {
        content_decode(budget, &mut report);
        request_build(budget, &mut report);
        ingest(budget, &mut report);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(sends(quick, &mut report));
        if let Err(err) = runtime.block_on(lark_bench::streaming::run(quick, &mut report)) {
            eprintln!("bench streaming failed: {err}");
            std::process::exit(1);
        }
        match transfers(&runtime) {
            Ok(transfer_figures) => transfer_figures.into_iter().for_each(&mut report),
            Err(err) => eprintln!("bench lark-http/transfer skipped: {err}"),
        }
    }
    // Last, and pinned to one core: the client's own cost against the floor.
    if let Err(err) = lark_bench::floor::run(quick, &mut report) {
        eprintln!("bench floor failed: {err}");
        std::process::exit(1);
    }
    let elapsed = started.elapsed();
    let summary = serde_json::json!({
        "quick": quick,
        "seconds": elapsed.as_secs_f64(),
        "benchmarks": figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
        "targets_missed": figures.iter().filter(|f| f.met() == Some(false)).map(|f| f.name.clone()).collect::<Vec<_>>(),
    });
    let dir = target_dir().join("bench");
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&summary).unwrap_or_default(),
        )
    }) {
        eprintln!(
            "could not write {}: {err}",
            dir.join("summary.json").display()
        );
    }
    println!(
        "bench run took {:.1}s; summary in {}",
        elapsed.as_secs_f64(),
        dir.join("summary.json").display()
    );
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("target")
        },
        PathBuf::from,
    )
}

// ---------------------------------------------------------------------- content decode

const TEXT: &str =
    r#"{"text":"@_user_1 hello, the deploy of service api-gateway to production finished"}"#;

#[derive(Deserialize)]
#[allow(dead_code)]
struct MinimalText {
    text: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct MinimalPost {
    #[serde(default)]
    title: String,
    content: Vec<Vec<MinimalElement>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct MinimalElement {
    tag: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    href: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    image_key: Option<String>,
    #[serde(default)]
    style: Vec<String>,
}

/// A received post of at least 2 KB: the documented received example's paragraphs, repeated.
fn post_2kb() -> String {
    let documented: Vec<serde_json::Value> = serde_json::from_str(include_str!(
        "../../../crates/lark-content/tests/fixtures/documented_contents.json"
    ))
    .expect("the documented contents parse");
    let example = documented
        .iter()
        .find(|d| d["direction"] == "receive" && d["msg_type"] == "post")
        .expect("a documented received post");
    let mut post: serde_json::Value =
        serde_json::from_str(example["content"].as_str().unwrap_or_default())
            .expect("the post parses");
    let paragraphs = post["content"].as_array().cloned().unwrap_or_default();
    while post.to_string().len() < 2048 {
        if let Some(content) = post["content"].as_array_mut() {
            content.extend(paragraphs.iter().cloned());
        }
    }
    post.to_string()
}

fn content_decode(budget: Budget, report: &mut impl FnMut(Figure)) {
    let (ours, baseline) = compare(
        budget,
        || MessageContent::decode("text", std::hint::black_box(TEXT)).is_ok(),
        || serde_json::from_str::<MinimalText>(std::hint::black_box(TEXT)).is_ok(),
    );
    report(Figure {
        name: "lark-content/decode_text_with_mention".to_owned(),
        ours,
        baseline,
        unit: "ns/op",
        baseline_is: "serde_json into a one-field struct".to_owned(),
        max_ratio: Some(1.5),
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
    let (ours, baseline) = compare(
        budget,
        || MessageContent::decode("text", std::hint::black_box(TEXT)).is_ok(),
        || serde_json::from_str::<serde_json::Value>(std::hint::black_box(TEXT)).is_ok(),
    );
    report(Figure {
        name: "lark-content/decode_text_with_mention_vs_value".to_owned(),
        ours,
        baseline,
        unit: "ns/op",
        baseline_is: "serde_json into serde_json::Value".to_owned(),
        max_ratio: None,
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
    let post = post_2kb();
    let (ours, baseline) = compare(
        budget,
        || MessageContent::decode("post", std::hint::black_box(&post)).is_ok(),
        || serde_json::from_str::<serde_json::Value>(std::hint::black_box(&post)).is_ok(),
    );
    report(Figure {
        name: format!("lark-content/decode_post_{}b_vs_value", post.len()),
        ours,
        baseline,
        unit: "ns/op",
        baseline_is: "serde_json into serde_json::Value".to_owned(),
        max_ratio: None,
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
    let (ours, baseline) = compare(
        budget,
        || MessageContent::decode("post", std::hint::black_box(&post)).is_ok(),
        || serde_json::from_str::<MinimalPost>(std::hint::black_box(&post)).is_ok(),
    );
    report(Figure {
        name: format!("lark-content/decode_post_{}b", post.len()),
        ours,
        baseline,
        unit: "ns/op",
        baseline_is: "serde_json into a minimal post struct (title, paragraphs of tagged elements)"
            .to_owned(),
        max_ratio: Some(1.5),
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
}

// ---------------------------------------------------------------------- request building

fn request_build(budget: Budget, report: &mut impl FnMut(Figure)) {
    let base = BaseUrl::feishu();
    let token = AccessToken::new("t-g1044ghJRUIJJ5ELPYOVTRQBWTHFOV7YFDCTRMJ");
    let chat = ChatId::new("oc_5ad11d72b830411d72b836c20");
    let text = "the deploy of api-gateway finished: 128 tests passed, 0 failed";
    let uuid = "4b8a1d2e-6f0c-4a55-9e3b-7d2c1f0a9b86";
    let (ours, baseline) = compare(
        budget,
        || {
            let request =
                SendMessage::new(Receiver::chat(chat.clone()), MessageContent::text(text))
                    .uuid(uuid);
            build_request(&request, &base, Some(&token)).is_ok()
        },
        || {
            let content = serde_json::json!({ "text": text }).to_string();
            let body = serde_json::json!({"receive_id": chat.as_str(), "msg_type": "text", "content": content, "uuid": uuid});
            http::Request::post(format!(
                "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
                "https://open.feishu.cn"
            ))
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose()),
            )
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()))
            .is_ok()
        },
    );
    report(Figure {
        name: "lark-api/build_send_request".to_owned(),
        ours,
        baseline,
        unit: "ns/op",
        baseline_is: "http::Request built by hand with serde_json::json!".to_owned(),
        max_ratio: None,
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
}

// ---------------------------------------------------------------------- webhook ingest

const KEY: &str = "bench encrypt key";
const TOKEN: &str = "066zT6pS4QCbgj5Do145GfDbbagCHGgF";

fn payload() -> Vec<u8> {
    let all: serde_json::Value = serde_json::from_str(include_str!(
        "../../../crates/lark-events/tests/fixtures/documented.json"
    ))
    .expect("fixtures parse");
    lark_bench::floor::platform_order(&all["receive_v1"]["payload"])
}

/// What a hand-written receiver does: check the token, and remember both ids.
fn baseline_accept(event: &MinimalEvent, seen: &mut HashSet<String>, n: u64) -> bool {
    if seen.len() > 1 << 20 {
        seen.clear();
    }
    event.header.token == TOKEN
        && seen.insert(format!("event:{}:{n}", event.header.event_id))
        && seen.insert(format!("message:{}:{n}", event.event.message.message_id))
}

fn ours_accept(incoming: Incoming, dedup: &MemoryDedup, n: u64) -> bool {
    let Incoming::Event(event) = incoming else {
        return false;
    };
    let now = Instant::now();
    event
        .dedup_keys()
        .iter()
        .all(|key| dedup.mark_now(&format!("{key}:{n}"), Duration::from_secs(60), now))
}

fn ingest(budget: Budget, report: &mut impl FnMut(Figure)) {
    ingest_plain(budget, report);
    ingest_encrypted(budget, report);
}

fn ingest_plain(budget: Budget, report: &mut impl FnMut(Figure)) {
    let now = SystemTime::now();
    let body = payload();

    // Plain: the token check, parse, dedup.
    let plain_config = EventConfig::new().verification_token(TOKEN);
    let headers = http::HeaderMap::new();
    let dedup = MemoryDedup::new(1 << 20);
    let mut seen = HashSet::new();
    let (mut n, mut m) = (0u64, 0u64);
    let (ours, baseline) = compare(
        budget,
        || {
            n += 1;
            receive(&plain_config, &headers, std::hint::black_box(&body), now)
                .is_ok_and(|incoming| ours_accept(incoming, &dedup, n))
        },
        || {
            m += 1;
            serde_json::from_slice::<MinimalEvent>(std::hint::black_box(&body))
                .is_ok_and(|event| baseline_accept(&event, &mut seen, m))
        },
    );
    report(Figure {
        name: "lark-events/ingest_plain".to_owned(),
        ours,
        baseline,
        unit: "ns/op",
        baseline_is: "serde_json into a minimal struct, token compare, HashSet dedup".to_owned(),
        max_ratio: None,
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
}

fn ingest_encrypted(budget: Budget, report: &mut impl FnMut(Figure)) {
    let now = SystemTime::now();
    let timestamp = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let body = payload();

    // Encrypted: signature, decryption, parse, dedup.
    let key = EncryptKey::new(KEY);
    let signed = sign_event(Some(&key), &body, timestamp, "nonce-1");
    let config = EventConfig::new()
        .encrypt_key(KEY)
        .verification_token(TOKEN);
    let aes_key: [u8; 32] = sha2::Sha256::digest(KEY.as_bytes()).into();
    let signature = signed
        .headers
        .get("x-lark-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let prefix = format!("{timestamp}nonce-1{KEY}");
    let dedup = MemoryDedup::new(1 << 20);
    let mut seen = HashSet::new();
    let (mut n, mut m) = (0u64, 0u64);
    let (ours, baseline) = compare(
        budget,
        || {
            n += 1;
            receive(
                &config,
                &signed.headers,
                std::hint::black_box(&signed.body),
                now,
            )
            .is_ok_and(|incoming| ours_accept(incoming, &dedup, n))
        },
        || {
            m += 1;
            let body = std::hint::black_box(&signed.body);
            let mut hasher = sha2::Sha256::new();
            hasher.update(prefix.as_bytes());
            hasher.update(body);
            let digest = hasher.finalize();
            if !lark_bench::floor::hex_matches(&digest, &signature) {
                return false;
            }
            let Ok(outer) = serde_json::from_slice::<serde_json::Value>(body) else {
                return false;
            };
            let Ok(raw) = base64::engine::general_purpose::STANDARD
                .decode(outer["encrypt"].as_str().unwrap_or_default())
            else {
                return false;
            };
            if raw.len() < 32 {
                return false;
            }
            let (iv, ciphertext) = raw.split_at(16);
            let Ok(iv) = <[u8; 16]>::try_from(iv) else {
                return false;
            };
            let Ok(plain) = cbc::Decryptor::<aes::Aes256>::new(&aes_key.into(), &iv.into())
                .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            else {
                return false;
            };
            serde_json::from_slice::<MinimalEvent>(&plain)
                .is_ok_and(|event| baseline_accept(&event, &mut seen, m))
        },
    );
    report(Figure {
        name: "lark-events/ingest_encrypted".to_owned(),
        ours,
        baseline,
        unit: "ns/op",
        baseline_is:
            "raw sha256 signature + AES-256-CBC + serde_json into a minimal struct + HashSet dedup"
                .to_owned(),
        max_ratio: Some(1.3),
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
}

// ---------------------------------------------------------------------- sends

async fn run_sends<F, Fut>(ops: usize, concurrency: usize, send: F) -> f64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    let ok = futures_util::stream::iter(0..ops)
        .map(&send)
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    assert_eq!(ok, ops, "every send succeeds");
    #[allow(clippy::cast_precision_loss)] // nanoseconds and counts far below 2^52
    let per_op = start.elapsed().as_nanos() as f64 / ops as f64;
    per_op
}

async fn sends(quick: bool, report: &mut impl FnMut(Figure)) {
    let (rounds, ops) = if quick { (5, 600) } else { (7, 2000) };
    let emulator = Emulator::start_default()
        .await
        .expect("the emulator starts");
    let chat = ChatId::new(emulator.default_chat());
    let client = lark_http::Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).expect("the emulator's url"))
        // The client's own cost is measured, not the platform's quotas.
        .quotas(lark_http::Quotas::off())
        .build()
        .expect("a client");
    let raw_token = {
        let probe = lark_http::Client::builder()
            .app(emulator.app_id(), emulator.app_secret())
            .base_url(BaseUrl::parse(&emulator.base_url()).expect("the emulator's url"))
            .build()
            .expect("a client");
        probe
            .tenant_token()
            .await
            .expect("a token for the raw client")
    };
    let fetches_before = emulator.token_fetches(&emulator.app_id());
    let raw =
        lark_bench::floor::RawSender::new(&emulator.base_url(), raw_token.expose(), chat.as_str())
            .expect("a raw sender");
    let ours = |i: usize| {
        let client = client.clone();
        let request = SendMessage::new(
            Receiver::chat(chat.clone()),
            MessageContent::text(format!("bench {i}")),
        );
        async move { client.execute(request).await.is_ok() }
    };
    let baseline = |i: usize| {
        let raw = &raw;
        async move { raw.send(&format!("bench {i}")).await }
    };
    // The client's first calls all start at once: one token fetch must serve them.
    let first = futures_util::future::join_all((0..32).map(&ours)).await;
    assert!(
        first.iter().all(|ok| *ok),
        "the first 32 concurrent sends succeed"
    );
    for concurrency in [1usize, 32] {
        run_sends(ops / 4, concurrency, &ours).await;
        run_sends(ops / 4, concurrency, &baseline).await;
        let mut ours_rounds = Vec::new();
        let mut baseline_rounds = Vec::new();
        for _ in 0..rounds {
            ours_rounds.push(run_sends(ops, concurrency, &ours).await);
            baseline_rounds.push(run_sends(ops, concurrency, &baseline).await);
        }
        report(Figure {
            name: format!("lark-http/send_text_concurrency_{concurrency}"),
            ours: lark_bench::median(ours_rounds),
            baseline: lark_bench::median(baseline_rounds),
            unit: "ns/op",
            baseline_is: "hyper-util client posting the same JSON to the same emulator, reading code and message_id".to_owned(),
            max_ratio: (concurrency == 32).then_some(1.25),
            min_ratio: None,
            pair_ratios: Vec::new(),
        });
    }
    #[allow(clippy::cast_precision_loss)] // a handful of fetches
    let fetches = (emulator.token_fetches(&emulator.app_id()) - fetches_before) as f64;
    report(Figure {
        name: "lark-http/token_fetches_during_sends".to_owned(),
        ours: fetches,
        baseline: 1.0,
        unit: "fetches",
        baseline_is: "the one fetch a token cache needs".to_owned(),
        max_ratio: Some(1.0),
        min_ratio: None,
        pair_ratios: Vec::new(),
    });
}

// ---------------------------------------------------------------------- transfers

/// The emulator, in a child process so that this process's peak memory is the client's alone.
fn serve_emulator_child() {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        let Ok(emulator) = Emulator::start_default().await else {
            return;
        };
        let Some(tom) = emulator.user("Tom") else {
            return;
        };
        let Ok(message) = emulator.user_sends_file(
            &emulator.default_chat(),
            &tom.open_id,
            "big.bin",
            pattern(TRANSFER_BYTES),
        ) else {
            return;
        };
        let content = emulator
            .message(&message)
            .map(|m| m["body"]["content"].as_str().unwrap_or_default().to_owned());
        let key = content
            .and_then(|c| serde_json::from_str::<serde_json::Value>(&c).ok())
            .and_then(|c| c["file_key"].as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("READY {} {message} {key}", emulator.base_url());
        let _ = std::io::stdout().flush();
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
    });
}

fn transfers(runtime: &tokio::runtime::Runtime) -> Result<Vec<Figure>, String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let mut child = Command::new(exe)
        .arg(CHILD_FLAG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|err| format!("starting the emulator process: {err}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let ready = lines
        .find_map(|line| line.strip_prefix("READY ").map(str::to_owned))
        .ok_or("the emulator process did not start")?;
    std::thread::spawn(move || lines.for_each(drop));
    let result = measure_transfers(runtime, &ready);
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

fn measure_transfers(
    runtime: &tokio::runtime::Runtime,
    ready: &str,
) -> Result<Vec<Figure>, String> {
    let mut parts = ready.split_whitespace();
    let (Some(base), Some(message), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("unreadable READY line: {ready}"));
    };
    let client = lark_http::Client::builder()
        .app("cli_9f5343c580712544", "emulator-app-secret")
        .base_url(BaseUrl::parse(base).map_err(|err| err.to_string())?)
        .quotas(lark_http::Quotas::off())
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .block_on(client.tenant_token())
        .map_err(|err| err.to_string())?;
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;

    let target = dir.path().join("download.bin");
    let request = GetMessageResource::file(MessageId::new(message), FileKey::new(key));
    let (downloaded, download_growth) =
        peak_rss_growth(|| runtime.block_on(client.download_to_file(request, &target, None)))?;
    downloaded.map_err(|err| err.to_string())?;

    let upload_bytes = usize::try_from(FILE_MAX_BYTES).unwrap_or(30 * 1024 * 1024);
    let source = dir.path().join("upload.bin");
    std::fs::write(&source, &pattern(TRANSFER_BYTES)[..upload_bytes])
        .map_err(|err| err.to_string())?;
    let (uploaded, upload_growth) =
        peak_rss_growth(|| runtime.block_on(client.upload_file(&source, None)))?;
    let key = uploaded.map_err(|err| err.to_string())?;
    let echo = dir.path().join("echo.bin");
    runtime
        .block_on(client.download_to_file(DownloadFile::new(key), &echo, None))
        .map_err(|err| err.to_string())?;
    let expected = pattern(TRANSFER_BYTES);
    if std::fs::read(&target).map_err(|err| err.to_string())? != expected
        || std::fs::read(&echo).map_err(|err| err.to_string())? != expected[..upload_bytes]
    {
        return Err("a transfer arrived corrupted".to_owned());
    }
    let limit = 16.0 * 1024.0 * 1024.0;
    #[allow(clippy::cast_precision_loss)] // sizes far below 2^52
    let figures = vec![
        Figure {
            name: "lark-http/download_50mb_peak_rss_growth".to_owned(),
            ours: download_growth as f64,
            baseline: TRANSFER_BYTES as f64,
            unit: "bytes",
            baseline_is: "the file's size (what buffering it whole would add)".to_owned(),
            max_ratio: Some(limit / TRANSFER_BYTES as f64),
            min_ratio: None,
            pair_ratios: Vec::new(),
        },
        Figure {
            name: "lark-http/upload_30mb_peak_rss_growth".to_owned(),
            ours: upload_growth as f64,
            baseline: upload_bytes as f64,
            unit: "bytes",
            baseline_is: "the file's size; 30 MB is the platform's largest file".to_owned(),
            max_ratio: Some(limit / upload_bytes as f64),
            min_ratio: None,
            pair_ratios: Vec::new(),
        },
    ];
    Ok(figures)
}
