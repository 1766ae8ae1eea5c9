//! The floor harness: what the client itself costs, in CPU per item, against a minimal client
//! doing the same job.
//!
//! The other end runs in a second process of this binary, pinned to core 0, while this process
//! is pinned to core 1, so neither steals the other's time and the server's cost never enters
//! the figure. CPU time comes from `getrusage(RUSAGE_SELF)`: user plus system time of every
//! thread of this process. Runs alternate, floor then ours, and each side's figure is the median
//! of its runs.
//!
//! - Sends: the child is a raw hyper server answering the platform's documented JSON for
//!   tokens and sends. The floor is a hyper client posting the same JSON with a fixed token and
//!   reading only `code` and `data.message_id`.
//! - `receive()`: pure CPU in this process; the floor checks the signature, decrypts and reads
//!   a minimal struct.
//! - The bot path: the child is the platform, firing signed, encrypted deliveries over
//!   keep-alive connections at the real [`lark::Bot`] service on a loopback socket. The floor
//!   is a raw hyper server doing the same checks and answering a fixed body.

use crate::{Figure, median};
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lark_events::{EncryptKey, EventConfig, receive, sign_event};
use serde::Deserialize;
use serde_json::Value;
use sha2::Digest as _;
use std::collections::HashSet;
use std::convert::Infallible;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The flag that makes this binary the platform's HTTP server.
pub const SERVER_ROLE: &str = "--floor-server";
/// The flag that makes this binary the platform delivering webhook events.
pub const LOAD_ROLE: &str = "--floor-load";

/// The Encrypt Key both webhook endpoints are configured with.
const KEY: &str = "floor bench encrypt key";
/// How many deliveries are in flight at once on the bot path.
const DELIVERY_CONCURRENCY: usize = 16;

const RESPONSES: &str = include_str!("../../crates/lark-api/tests/fixtures/responses.json");
const EVENTS: &str = include_str!("../../crates/lark-events/tests/fixtures/documented.json");

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Alternating pairs (floor, ours) per figure.
    pub pairs: usize,
    /// Sends per run.
    pub sends: usize,
    /// `receive()` calls per run.
    pub receives: usize,
    /// Webhook deliveries per run.
    pub deliveries: usize,
}

impl Plan {
    /// The full run, or the quick one.
    #[must_use]
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                pairs: 3,
                sends: 1000,
                receives: 20_000,
                deliveries: 1000,
            }
        } else {
            Self {
                pairs: 8,
                sends: 4000,
                receives: 100_000,
                deliveries: 4000,
            }
        }
    }
}

/// Pins the calling thread, and every thread it starts afterwards, to `core`.
pub fn pin_to(core: usize) -> Result<(), String> {
    let mut set = nix::sched::CpuSet::new();
    set.set(core)
        .map_err(|err| format!("core {core} is not in a CPU set: {err}"))?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|err| format!("pinning to core {core}: {err}"))
}

/// User plus system CPU time of this whole process so far.
#[must_use]
pub fn cpu_time() -> Duration {
    let Ok(usage) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) else {
        return Duration::ZERO;
    };
    let part = |time: nix::sys::time::TimeVal| {
        Duration::new(
            u64::try_from(time.tv_sec()).unwrap_or(0),
            u32::try_from(time.tv_usec()).unwrap_or(0) * 1000,
        )
    };
    part(usage.user_time()) + part(usage.system_time())
}

/// Runs `role` when this process was started as a child of the harness; `false` otherwise.
#[must_use]
pub fn child(args: &[String]) -> bool {
    match args.first().map(String::as_str) {
        Some(SERVER_ROLE) => {
            serve_platform();
            true
        }
        Some(LOAD_ROLE) => {
            deliver_events();
            true
        }
        _ => false,
    }
}

fn documented_body(name: &str) -> Bytes {
    let all: Value = serde_json::from_str(RESPONSES).unwrap_or(Value::Null);
    Bytes::from(all[name]["body"].to_string())
}

fn documented_event() -> Value {
    let all: Value = serde_json::from_str(EVENTS).unwrap_or(Value::Null);
    all["receive_v1"]["payload"].clone()
}

/// An event as the platform writes it: `schema`, then `header`, then `event`, the order of the
/// documented example. (`Value` would write its keys sorted, `event` first.)
#[must_use]
pub fn platform_order(event: &Value) -> Vec<u8> {
    format!(
        r#"{{"schema":{},"header":{},"event":{}}}"#,
        event["schema"], event["header"], event["event"]
    )
    .into_bytes()
}

fn event_token() -> String {
    documented_event()["header"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn child_runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
}

/// Ends this process when the harness closes its standard input (or dies).
fn exit_with_parent() {
    std::thread::spawn(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
        std::process::exit(0);
    });
}

// ---------------------------------------------------------------------- the platform's server

fn serve_platform() {
    let _ = pin_to(0);
    exit_with_parent();
    let Some(runtime) = child_runtime() else {
        return;
    };
    let token = documented_body("tenant_token_internal");
    let sent = documented_body("send_message");
    runtime.block_on(async move {
        let Ok(listener) = TcpListener::bind(("127.0.0.1", 0)).await else {
            return;
        };
        let Ok(address) = listener.local_addr() else {
            return;
        };
        println!("READY {address}");
        let _ = std::io::stdout().flush();
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let (token, sent) = (token.clone(), sent.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let answer = if request
                        .uri()
                        .path()
                        .ends_with("/tenant_access_token/internal")
                    {
                        token.clone()
                    } else {
                        sent.clone()
                    };
                    async move {
                        // The body is read in full, as the platform reads it.
                        let _ = request.into_body().collect().await;
                        Ok::<_, Infallible>(
                            http::Response::builder()
                                .header(
                                    http::header::CONTENT_TYPE,
                                    "application/json; charset=utf-8",
                                )
                                .body(Full::new(answer))
                                .unwrap_or_default(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

// ---------------------------------------------------------------------- the platform's deliveries

/// Reads commands on standard input: `PREPARE tag n` signs and encrypts `n` distinct
/// deliveries; `FIRE address` delivers them all and answers `DONE failed`.
fn deliver_events() {
    let _ = pin_to(0);
    let Some(runtime) = child_runtime() else {
        return;
    };
    let key = EncryptKey::new(KEY);
    let template = documented_event();
    let client: HyperClient<HttpConnector, Full<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build_http();
    let mut prepared: Vec<(http::HeaderMap, Bytes)> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["PREPARE", tag, n] => {
                let n: usize = n.parse().unwrap_or(0);
                prepared = prepare(Some(&key), &template, tag, n);
                println!("PREPARED {n}");
            }
            ["FIRE", address] => {
                let failed = runtime.block_on(fire(&client, address, &prepared));
                println!("DONE {failed}");
            }
            _ => println!("UNKNOWN {line}"),
        }
        let _ = std::io::stdout().flush();
    }
}

/// `n` deliveries of the template with fresh ids, encrypted and signed with `key`, or plain.
fn prepare(
    key: Option<&EncryptKey>,
    template: &Value,
    tag: &str,
    n: usize,
) -> Vec<(http::HeaderMap, Bytes)> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (0..n)
        .map(|i| {
            let mut event = template.clone();
            event["header"]["event_id"] = Value::from(format!("ev-{tag}-{i}"));
            event["event"]["message"]["message_id"] = Value::from(format!("om_{tag}_{i}"));
            let signed = sign_event(key, &platform_order(&event), now, &format!("n{i}"));
            (signed.headers, signed.body)
        })
        .collect()
}

async fn fire(
    client: &HyperClient<HttpConnector, Full<Bytes>>,
    address: &str,
    prepared: &[(http::HeaderMap, Bytes)],
) -> usize {
    let Ok(uri) = format!("http://{address}/webhook/event").parse::<http::Uri>() else {
        return prepared.len();
    };
    futures_util::stream::iter(prepared)
        .map(|(headers, body)| {
            let mut request = http::Request::post(uri.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()))
                .unwrap_or_default();
            request.headers_mut().extend(headers.clone());
            async move {
                match client.request(request).await {
                    Ok(response) => {
                        let ok = response.status() == http::StatusCode::OK;
                        let _ = response.into_body().collect().await;
                        ok
                    }
                    Err(_) => false,
                }
            }
        })
        .buffer_unordered(DELIVERY_CONCURRENCY)
        .filter(|ok| std::future::ready(!*ok))
        .count()
        .await
}

// ---------------------------------------------------------------------- the harness

struct Worker {
    // Kept so that the child is killed when the harness ends.
    _child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl Worker {
    fn start(role: &str) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|err| err.to_string())?;
        let mut child = Command::new(exe)
            .arg(role)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| format!("starting {role}: {err}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        Ok(Self {
            _child: child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
        })
    }

    async fn line(&mut self) -> Result<String, String> {
        self.stdout
            .next_line()
            .await
            .map_err(|err| err.to_string())?
            .ok_or_else(|| "the child process ended".to_owned())
    }

    async fn ask(&mut self, command: &str) -> Result<String, String> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(|err| err.to_string())?;
        self.line().await
    }
}

/// One side's runs.
#[derive(Default)]
struct Runs {
    cpu_per_item: Vec<f64>,
    per_second: Vec<f64>,
}

impl Runs {
    #[allow(clippy::cast_precision_loss)] // nanoseconds and counts far below 2^52
    fn add(&mut self, cpu: Duration, wall: Duration, items: usize) {
        self.cpu_per_item.push(cpu.as_nanos() as f64 / items as f64);
        self.per_second.push(items as f64 / wall.as_secs_f64());
    }
}

/// Measures `work` (which does `items` items): CPU and wall time. Each pair of runs alternates
/// which side goes first.
async fn measured<F: Future<Output = Result<(), String>>>(
    runs: &mut Runs,
    items: usize,
    work: F,
) -> Result<(), String> {
    let (cpu, wall) = (cpu_time(), Instant::now());
    work.await?;
    runs.add(cpu_time().saturating_sub(cpu), wall.elapsed(), items);
    Ok(())
}

/// ours ÷ floor for each pair of runs.
fn pair_ratios(ours: &[f64], floor: &[f64]) -> Vec<f64> {
    ours.iter()
        .zip(floor)
        .map(|(ours, floor)| ours / floor)
        .collect()
}

fn cpu_figure(
    name: &str,
    ours: &Runs,
    floor: &Runs,
    baseline_is: &str,
    max: Option<f64>,
) -> Figure {
    Figure {
        name: format!("floor/{name}"),
        ours: median(ours.cpu_per_item.clone()),
        baseline: median(floor.cpu_per_item.clone()),
        unit: "cpu_ns/item",
        baseline_is: baseline_is.to_owned(),
        max_ratio: max,
        pair_ratios: pair_ratios(&ours.cpu_per_item, &floor.cpu_per_item),
        ..Figure::default()
    }
}

/// Runs every floor benchmark, reporting a line each.
pub fn run(quick: bool, report: &mut impl FnMut(Figure)) -> Result<(), String> {
    let plan = Plan::new(quick);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cores < 2 {
        println!("bench floor: this machine has one core; the client and the server share it");
    } else {
        pin_to(1)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime.block_on(sends(plan, report))?;
    receives(plan, report);
    runtime.block_on(bot_path(plan, report))?;
    runtime.block_on(duplicates(plan, false, report))?;
    runtime.block_on(duplicates(plan, true, report))
}

// ---------------------------------------------------------------------- sends

#[derive(Deserialize)]
struct SendAnswer {
    code: i64,
    data: Option<SentMessage>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct SentMessage {
    message_id: String,
}

#[derive(serde::Serialize)]
struct SendBody<'a> {
    receive_id: &'a str,
    msg_type: &'static str,
    content: String,
    uuid: String,
}

/// The floor for sends: a hyper client posting a text message's JSON with a fixed token, and
/// reading only `code` and `data.message_id` of the answer.
pub struct RawSender {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
    authorization: http::HeaderValue,
    chat: String,
    next: AtomicU64,
}

impl RawSender {
    /// A sender to `chat` through the platform at `base`, with `token`.
    pub fn new(base: &str, token: &str, chat: &str) -> Result<Self, String> {
        Ok(Self {
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
            uri: format!("{base}/open-apis/im/v1/messages?receive_id_type=chat_id")
                .parse()
                .map_err(|err| format!("{err}"))?,
            authorization: http::HeaderValue::try_from(format!("Bearer {token}"))
                .map_err(|err| format!("{err}"))?,
            chat: chat.to_owned(),
            next: AtomicU64::new(0),
        })
    }

    /// Sends `text`; whether the platform answered `code` 0 with a message id.
    pub async fn send(&self, text: &str) -> bool {
        #[derive(serde::Serialize)]
        struct Text<'a> {
            text: &'a str,
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let body = SendBody {
            receive_id: &self.chat,
            msg_type: "text",
            content: serde_json::to_string(&Text { text }).unwrap_or_default(),
            uuid: format!("{n:032x}"),
        };
        let Ok(request) = http::Request::post(self.uri.clone())
            .header(http::header::AUTHORIZATION, self.authorization.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(Full::new(Bytes::from(
                serde_json::to_vec(&body).unwrap_or_default(),
            )))
        else {
            return false;
        };
        let Ok(response) = self.client.request(request).await else {
            return false;
        };
        let Ok(collected) = response.into_body().collect().await else {
            return false;
        };
        serde_json::from_slice::<SendAnswer>(&collected.to_bytes())
            .is_ok_and(|answer| answer.code == 0 && answer.data.is_some())
    }
}

async fn run_sends<F, Fut>(sends: usize, concurrency: usize, send: F) -> Result<(), String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = bool>,
{
    let failed = futures_util::stream::iter(0..sends)
        .map(send)
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(!*ok))
        .count()
        .await;
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} of {sends} sends failed"))
    }
}

async fn sends(plan: Plan, report: &mut impl FnMut(Figure)) -> Result<(), String> {
    use lark_api::im::messages::SendMessage;
    use lark_content::{ChatId, MessageContent};

    let mut server = Worker::start(SERVER_ROLE)?;
    let ready = server.line().await?;
    let address: SocketAddr = ready
        .strip_prefix("READY ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("the floor server said {ready:?}"))?;
    let base = format!("http://{address}");
    let chat = ChatId::new("oc_5ad11d72b830411d72b836c20");
    let ours = lark_http::Client::builder()
        .app("cli_floor_bench", "floor bench secret")
        .base_url(lark_api::BaseUrl::parse(&base).map_err(|err| err.to_string())?)
        // The client's own cost is measured, not the platform's quotas.
        .quotas(lark_http::Quotas::off())
        .build()
        .map_err(|err| err.to_string())?;
    let floor = RawSender::new(
        &base,
        "t-caecc734c2e3328a62489fe0648c4b98779515d3",
        chat.as_str(),
    )?;
    let ours_send = |i: usize| {
        let request = SendMessage::new(
            lark_api::Receiver::chat(chat.clone()),
            MessageContent::text(format!("floor bench {i}")),
        );
        let client = &ours;
        async move { client.execute(request).await.is_ok() }
    };
    let floor_send = |i: usize| {
        let floor = &floor;
        async move { floor.send(&format!("floor bench {i}")).await }
    };
    for concurrency in [1usize, 32] {
        // Warm both: connections, the token.
        run_sends(plan.sends / 8, concurrency, &floor_send).await?;
        run_sends(plan.sends / 8, concurrency, &ours_send).await?;
        let (mut floor_runs, mut ours_runs) = (Runs::default(), Runs::default());
        for pair in 0..plan.pairs {
            let n = plan.sends;
            // Floor first in even pairs, ours first in odd ones: a drift favours neither.
            if pair % 2 == 1 {
                measured(&mut ours_runs, n, run_sends(n, concurrency, &ours_send)).await?;
            }
            measured(&mut floor_runs, n, run_sends(n, concurrency, &floor_send)).await?;
            if pair % 2 == 0 {
                measured(&mut ours_runs, n, run_sends(n, concurrency, &ours_send)).await?;
            }
        }
        let target = (concurrency == 32).then_some(1.2);
        report(cpu_figure(
            &format!("send_c{concurrency}_cpu"),
            &ours_runs,
            &floor_runs,
            "hyper client posting the same JSON with a fixed token, reading code and message_id",
            target,
        ));
        report(Figure {
            name: format!("floor/send_c{concurrency}_throughput"),
            ours: median(ours_runs.per_second.clone()),
            baseline: median(floor_runs.per_second.clone()),
            unit: "msg/s",
            baseline_is: "the same hyper client".to_owned(),
            min_ratio: (concurrency == 32).then_some(0.85),
            pair_ratios: pair_ratios(&ours_runs.per_second, &floor_runs.per_second),
            ..Figure::default()
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------- receive()

/// The documented `im.message.receive_v1` event, every field, owned, as a hand-written client
/// would type it: the same information `receive()` hands over, with the content left as its
/// string and the mentions as raw JSON (both are decoded on first use by `receive()`'s types).
#[derive(Deserialize)]
#[allow(dead_code)]
struct FullEvent {
    schema: String,
    header: FullHeader,
    event: FullBody,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FullHeader {
    event_id: String,
    event_type: String,
    create_time: String,
    token: String,
    app_id: String,
    tenant_key: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FullBody {
    sender: FullSender,
    message: FullMessage,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FullSender {
    sender_id: FullIds,
    sender_type: String,
    tenant_key: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FullIds {
    union_id: String,
    user_id: String,
    open_id: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FullMessage {
    message_id: String,
    root_id: String,
    parent_id: String,
    create_time: String,
    update_time: String,
    chat_id: String,
    thread_id: String,
    chat_type: String,
    message_type: String,
    content: String,
    mentions: Box<serde_json::value::RawValue>,
    user_agent: String,
}

/// Six fields: what a bot that reads only ids, the token and the text needs.
#[derive(Deserialize)]
pub struct MinimalEvent {
    /// The header's three.
    pub header: MinimalHeader,
    /// The message's three.
    pub event: MinimalBody,
}

/// [`MinimalEvent`]'s header.
#[derive(Deserialize)]
pub struct MinimalHeader {
    /// `event_id`.
    pub event_id: String,
    /// `event_type`.
    pub event_type: String,
    /// `token`.
    pub token: String,
}

/// [`MinimalEvent`]'s event.
#[derive(Deserialize)]
pub struct MinimalBody {
    /// The message.
    pub message: MinimalMessage,
}

/// [`MinimalEvent`]'s message.
#[derive(Deserialize)]
pub struct MinimalMessage {
    /// `message_id`.
    pub message_id: String,
    /// `chat_id`.
    pub chat_id: String,
    /// `content`.
    pub content: String,
}

#[derive(Deserialize)]
struct Encrypted<'a> {
    #[serde(borrow)]
    encrypt: std::borrow::Cow<'a, str>,
}

/// Which struct the floor reads an event into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// [`FullEvent`]: the job `receive()` does.
    Full,
    /// [`MinimalEvent`]: less than `receive()` does, for comparison.
    Minimal,
}

/// The ids a delivery is deduplicated by.
struct Ids {
    event_id: String,
    message_id: String,
}

/// What a hand-written endpoint does with a delivery: the signature (when signed), decryption
/// (when encrypted), a struct of the event, the token.
struct FloorReceiver {
    aes_key: [u8; 32],
    key: String,
    token: String,
}

impl FloorReceiver {
    fn new(token: &str) -> Self {
        Self {
            aes_key: sha2::Sha256::digest(KEY.as_bytes()).into(),
            key: KEY.to_owned(),
            token: token.to_owned(),
        }
    }

    fn plain(&self, shape: Shape, body: &[u8]) -> Option<Ids> {
        match shape {
            Shape::Full => serde_json::from_slice::<FullEvent>(body)
                .ok()
                .filter(|event| event.header.token == self.token)
                .map(|event| Ids {
                    event_id: event.header.event_id,
                    message_id: event.event.message.message_id,
                }),
            Shape::Minimal => serde_json::from_slice::<MinimalEvent>(body)
                .ok()
                .filter(|event| event.header.token == self.token)
                .map(|event| Ids {
                    event_id: event.header.event_id,
                    message_id: event.event.message.message_id,
                }),
        }
    }

    fn encrypted(&self, shape: Shape, headers: &http::HeaderMap, body: &[u8]) -> Option<Ids> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let mut hasher = sha2::Sha256::new();
        hasher.update(get("x-lark-request-timestamp")?.as_bytes());
        hasher.update(get("x-lark-request-nonce")?.as_bytes());
        hasher.update(self.key.as_bytes());
        hasher.update(body);
        if !hex_matches(&hasher.finalize(), get("x-lark-signature")?) {
            return None;
        }
        let outer = serde_json::from_slice::<Encrypted>(body).ok()?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(outer.encrypt.as_bytes())
            .ok()?;
        if raw.len() < 32 {
            return None;
        }
        let (iv, ciphertext) = raw.split_at(16);
        let iv = <[u8; 16]>::try_from(iv).ok()?;
        let plain = cbc::Decryptor::<aes::Aes256>::new(&self.aes_key.into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .ok()?;
        self.plain(shape, &plain)
    }
}

/// Whether lowercase hex `text` spells `bytes`, without allocating.
#[must_use]
pub fn hex_matches(bytes: &[u8], text: &str) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    text.len() == bytes.len() * 2
        && bytes
            .iter()
            .zip(text.as_bytes().chunks_exact(2))
            .all(|(byte, pair)| {
                pair[0] == HEX[usize::from(byte >> 4)] && pair[1] == HEX[usize::from(byte & 0xF)]
            })
}

fn cpu_loop(runs: &mut Runs, n: usize, mut work: impl FnMut() -> bool) {
    let (cpu, wall) = (cpu_time(), Instant::now());
    let mut ok = 0usize;
    for _ in 0..n {
        ok += usize::from(std::hint::black_box(work()));
    }
    assert_eq!(ok, n, "every call succeeds");
    runs.add(cpu_time().saturating_sub(cpu), wall.elapsed(), n);
}

/// One `receive()` case: name, the floor's shape, whether encrypted, target.
type Case<'a> = (&'a str, Shape, bool, Option<f64>);

fn receives(plan: Plan, report: &mut impl FnMut(Figure)) {
    let now = SystemTime::now();
    let timestamp = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let token = event_token();
    let body = platform_order(&documented_event());
    let floor = FloorReceiver::new(&token);
    let plain_config = EventConfig::new().verification_token(&token);
    let encrypted_config = EventConfig::new()
        .encrypt_key(KEY)
        .verification_token(&token);
    let signed = sign_event(Some(&EncryptKey::new(KEY)), &body, timestamp, "nonce-1");
    let none = http::HeaderMap::new();
    let cases: [Case<'_>; 3] = [
        ("receive_plain_cpu", Shape::Full, false, None),
        ("receive_encrypted_cpu", Shape::Full, true, Some(1.15)),
        (
            "receive_encrypted_cpu_vs_six_fields",
            Shape::Minimal,
            true,
            None,
        ),
    ];
    for (name, shape, encrypted, target) in cases {
        let (config, headers, body): (_, _, &[u8]) = if encrypted {
            (&encrypted_config, &signed.headers, &signed.body)
        } else {
            (&plain_config, &none, &body)
        };
        let floor_call = || {
            if encrypted {
                floor.encrypted(shape, headers, body).is_some()
            } else {
                floor.plain(shape, body).is_some()
            }
        };
        let ours_call = || receive(config, headers, body, now).is_ok();
        cpu_loop(&mut Runs::default(), plan.receives / 10, floor_call);
        cpu_loop(&mut Runs::default(), plan.receives / 10, ours_call);
        let (mut floor_runs, mut ours_runs) = (Runs::default(), Runs::default());
        for pair in 0..plan.pairs {
            if pair % 2 == 1 {
                cpu_loop(&mut ours_runs, plan.receives, ours_call);
            }
            cpu_loop(&mut floor_runs, plan.receives, floor_call);
            if pair % 2 == 0 {
                cpu_loop(&mut ours_runs, plan.receives, ours_call);
            }
        }
        let baseline_is = match shape {
            Shape::Full => {
                "signature, AES-256-CBC, serde_json into the documented event's every field, token compared"
            }
            Shape::Minimal => {
                "signature, AES-256-CBC, serde_json into six fields of the event, token compared"
            }
        };
        report(cpu_figure(
            name,
            &ours_runs,
            &floor_runs,
            baseline_is,
            target,
        ));
    }
}

// ---------------------------------------------------------------------- the bot path

/// A dedup store that remembers nothing: every delivery is new.
struct NoDedup;

#[async_trait::async_trait]
impl lark_events::DedupStore for NoDedup {
    async fn mark_if_new(
        &self,
        _key: &str,
        _ttl: Duration,
    ) -> Result<bool, lark_events::DedupError> {
        Ok(true)
    }

    async fn release(&self, _key: &str) -> Result<(), lark_events::DedupError> {
        Ok(())
    }
}

/// The floor's webhook endpoint: the checks of [`FloorReceiver`], an optional set of seen
/// ids, a fixed answer.
async fn serve_floor(listener: TcpListener, receiver: Arc<FloorReceiver>, dedup: bool) {
    let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let (receiver, seen) = (receiver.clone(), seen.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let (receiver, seen) = (receiver.clone(), seen.clone());
                async move {
                    let (parts, body) = request.into_parts();
                    let accepted = match body.collect().await {
                        Ok(body) => receiver
                            .encrypted(Shape::Full, &parts.headers, &body.to_bytes())
                            .is_some_and(|ids| {
                                !dedup || {
                                    let mut seen = seen
                                        .lock()
                                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                                    seen.insert(ids.event_id) && seen.insert(ids.message_id)
                                }
                            }),
                        Err(_) => false,
                    };
                    let status = if accepted {
                        http::StatusCode::OK
                    } else {
                        http::StatusCode::BAD_REQUEST
                    };
                    Ok::<_, Infallible>(
                        http::Response::builder()
                            .status(status)
                            .header(http::header::CONTENT_TYPE, "application/json")
                            .body(Full::new(Bytes::from_static(br#"{"msg":"success"}"#)))
                            .unwrap_or_default(),
                    )
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Fires one prepared batch at `address`.
async fn deliver(load: &mut Worker, address: SocketAddr) -> Result<(), String> {
    let done = load.ask(&format!("FIRE {address}")).await?;
    match done.as_str() {
        "DONE 0" => Ok(()),
        other => Err(format!("deliveries to {address} failed: {other}")),
    }
}

async fn prepare_batch(load: &mut Worker, tag: &str, n: usize) -> Result<(), String> {
    let answer = load.ask(&format!("PREPARE {tag} {n}")).await?;
    if answer == format!("PREPARED {n}") {
        Ok(())
    } else {
        Err(format!("the load process said {answer:?}"))
    }
}

async fn start_bot(
    token: &str,
    dedup: bool,
    handled: Arc<AtomicU64>,
) -> Result<SocketAddr, String> {
    let client = lark::Client::builder()
        .app("cli_floor_bench", "floor bench secret")
        .build()
        .map_err(|err| err.to_string())?;
    let mut builder = lark::Bot::builder(client)
        .encrypt_key(KEY)
        .verification_token(token)
        .on_message(move |_message| {
            handled.fetch_add(1, Ordering::Relaxed);
            async { Ok::<(), Infallible>(()) }
        });
    if !dedup {
        builder = builder.dedup(Arc::new(NoDedup));
    }
    let bot = builder.build().map_err(|err| err.to_string())?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|err| err.to_string())?;
    let address = listener.local_addr().map_err(|err| err.to_string())?;
    tokio::spawn(bot.serve(listener, std::future::pending()));
    Ok(address)
}

async fn start_floor(token: &str, dedup: bool) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|err| err.to_string())?;
    let address = listener.local_addr().map_err(|err| err.to_string())?;
    tokio::spawn(serve_floor(
        listener,
        Arc::new(FloorReceiver::new(token)),
        dedup,
    ));
    Ok(address)
}

/// A redelivery against a first delivery, through the real bot's webhook service in this
/// process: the bot's own cost, without the socket and HTTP parsing both share. Encrypted,
/// both pay the signature and the decryption, which must come before anything reads the ids.
async fn duplicates(
    plan: Plan,
    encrypted: bool,
    report: &mut impl FnMut(Figure),
) -> Result<(), String> {
    let token = event_token();
    let handled = Arc::new(AtomicU64::new(0));
    let counter = handled.clone();
    let client = lark::Client::builder()
        .app("cli_floor_bench", "floor bench secret")
        .build()
        .map_err(|err| err.to_string())?;
    let mut builder = lark::Bot::builder(client)
        .verification_token(&token)
        .on_message(move |_message| {
            counter.fetch_add(1, Ordering::Relaxed);
            async { Ok::<(), Infallible>(()) }
        });
    if encrypted {
        builder = builder.encrypt_key(KEY);
    }
    let service = builder.build().map_err(|err| err.to_string())?.webhook();
    let key = EncryptKey::new(KEY);
    let key = encrypted.then_some(&key);
    let template = documented_event();
    let n = plan.deliveries;
    let deliver_all = |batch: &[(http::HeaderMap, Bytes)]| {
        let requests: Vec<http::Request<Full<Bytes>>> = batch
            .iter()
            .map(|(headers, body)| {
                let mut request = http::Request::post("/webhook/event")
                    .body(Full::new(body.clone()))
                    .unwrap_or_default();
                *request.headers_mut() = headers.clone();
                request
            })
            .collect();
        let service = &service;
        async move {
            for request in requests {
                let status = service.handle(request).await.status();
                if status != http::StatusCode::OK {
                    return Err(format!("a delivery was answered {status}"));
                }
            }
            Ok(())
        }
    };
    let (mut first, mut again) = (Runs::default(), Runs::default());
    for pair in 0..=plan.pairs {
        let batch = prepare(key, &template, &format!("dup{pair}"), n);
        let (fresh, repeat) = (deliver_all(&batch), deliver_all(&batch));
        if pair == 0 {
            // Warm-up.
            fresh.await?;
            repeat.await?;
            continue;
        }
        measured(&mut first, n, fresh).await?;
        measured(&mut again, n, repeat).await?;
    }
    let expected = (n * (plan.pairs + 1)) as u64;
    if handled.load(Ordering::Relaxed) != expected {
        return Err(format!(
            "the bot handled {} messages of {expected}",
            handled.load(Ordering::Relaxed)
        ));
    }
    let (name, baseline_is, target) = if encrypted {
        (
            "floor/bot_duplicate_encrypted_cpu",
            "the same bot's first delivery of each event, encrypted, in process",
            None,
        )
    } else {
        (
            "floor/bot_duplicate_cpu",
            "the same bot's first delivery of each event, in process",
            Some(0.4),
        )
    };
    report(Figure {
        name: name.to_owned(),
        ours: median(again.cpu_per_item.clone()),
        baseline: median(first.cpu_per_item.clone()),
        unit: "cpu_ns/item",
        baseline_is: baseline_is.to_owned(),
        max_ratio: target,
        pair_ratios: pair_ratios(&again.cpu_per_item, &first.cpu_per_item),
        ..Figure::default()
    });
    Ok(())
}

async fn bot_path(plan: Plan, report: &mut impl FnMut(Figure)) -> Result<(), String> {
    let mut load = Worker::start(LOAD_ROLE)?;
    let token = event_token();
    let n = plan.deliveries;
    let mut batch = 0u64;
    let mut next_tag = || {
        batch += 1;
        format!("b{batch}")
    };
    for dedup in [false, true] {
        let handled = Arc::new(AtomicU64::new(0));
        let ours = start_bot(&token, dedup, handled.clone()).await?;
        let floor = start_floor(&token, dedup).await?;
        // Warm both: connections, the dedup stores' first allocations.
        for address in [floor, ours] {
            prepare_batch(&mut load, &next_tag(), n / 8).await?;
            deliver(&mut load, address).await?;
        }
        let (mut floor_runs, mut ours_runs) = (Runs::default(), Runs::default());
        for pair in 0..plan.pairs {
            let order = if pair % 2 == 0 {
                [(floor, false), (ours, true)]
            } else {
                [(ours, true), (floor, false)]
            };
            for (address, is_ours) in order {
                prepare_batch(&mut load, &next_tag(), n).await?;
                let runs = if is_ours {
                    &mut ours_runs
                } else {
                    &mut floor_runs
                };
                measured(runs, n, deliver(&mut load, address)).await?;
            }
        }
        let expected = (n / 8 + n * plan.pairs) as u64;
        if handled.load(Ordering::Relaxed) != expected {
            return Err(format!(
                "the bot handled {} messages of {expected}",
                handled.load(Ordering::Relaxed)
            ));
        }
        let (name, target) = if dedup {
            ("bot_encrypted_dedup_on_cpu", Some(1.5))
        } else {
            ("bot_encrypted_dedup_off_cpu", None)
        };
        report(cpu_figure(
            name,
            &ours_runs,
            &floor_runs,
            "raw hyper endpoint: signature, AES, serde_json into the documented event, token, HashSet of both ids",
            target,
        ));
        if dedup {
            // The same deliveries again: every one a duplicate.
            let (mut first, mut again) = (Runs::default(), Runs::default());
            for _ in 0..plan.pairs {
                prepare_batch(&mut load, &next_tag(), n).await?;
                measured(&mut first, n, deliver(&mut load, ours)).await?;
                measured(&mut again, n, deliver(&mut load, ours)).await?;
            }
            report(Figure {
                name: "floor/bot_duplicate_over_http_cpu".to_owned(),
                ours: median(again.cpu_per_item.clone()),
                baseline: median(first.cpu_per_item.clone()),
                unit: "cpu_ns/item",
                baseline_is: "the same bot's first delivery of each event, over loopback HTTP"
                    .to_owned(),
                pair_ratios: pair_ratios(&again.cpu_per_item, &first.cpu_per_item),
                ..Figure::default()
            });
        }
    }
    Ok(())
}
