//! The fault soak: N sends through the facade against the emulator while one request in ten to
//! the message endpoints fails (5xx, dropped connections before and after the message is
//! stored, 429 with the reset header), the token is revoked halfway, and users write to the bot,
//! whose webhook gets every event twice. Ends with one line:
//!
//! `soak sent=N delivered=N duplicates=0 lost=0 caller_errors=E token_fetches=T`
//!
//! and exits non-zero if any message is lost or delivered twice.
//!
//! `cargo xtask soak [--sends N]`
//!
//! With `--quota`, the quota soak instead: against the emulator in quota mode, a client with
//! its default quotas sends 60 messages into one chat from 32 concurrent tasks, then 600 spread
//! over 60 chats, and prints
//!
//! `quota sent=N refused=R per_chat_rate=X per_app_rate=Y`
//!
//! failing unless nothing was refused and both rates are within 10% of the platform's limits
//! (5 a second into one chat, 50 a second to one API).

use futures_util::StreamExt;
use lark::{BaseUrl, Bot, ChatId, Client, MessageEvent, RetryPolicy};
use lark_emulator::{
    ChatConfig, Emulator, EmulatorConfig, Fault, FaultRule, QuotaConfig, WebhookConfig,
};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ENCRYPT_KEY: &str = "soak-encrypt-key";
const TOKEN: &str = "soak-verification-token";

/// What to run.
enum Mode {
    Faults(usize),
    Quota,
}

fn mode_from_args() -> Result<Mode, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(Mode::Faults(2000)),
        [flag] if flag == "--quota" => Ok(Mode::Quota),
        [flag, n] if flag == "--sends" => n
            .parse()
            .map(Mode::Faults)
            .map_err(|_| format!("--sends takes a number, not `{n}`")),
        _ => Err("usage: soak [--sends N | --quota]".to_owned()),
    }
}

fn main() -> ExitCode {
    let mode = match mode_from_args() {
        Ok(mode) => mode,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        eprintln!("could not start a tokio runtime");
        return ExitCode::FAILURE;
    };
    let run = match mode {
        Mode::Faults(sends) => runtime.block_on(soak(sends)),
        Mode::Quota => runtime.block_on(quota_soak()),
    };
    match run {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("soak could not run: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The steady rate of a run of sends under a quota of `burst` per window: the sends after the
/// first `burst` over the time from the `burst`-th to the last. The first window may let
/// through fewer than `burst` at once, when calls before the run are still in it; counting
/// from the `burst`-th send measures the same rate either way.
fn steady_rate(mut done: Vec<Instant>, burst: usize) -> f64 {
    done.sort();
    match (done.get(burst.saturating_sub(1)), done.last()) {
        (Some(start), Some(last)) if done.len() > burst && last > start => {
            #[allow(clippy::cast_precision_loss)] // a few hundred sends
            let after = (done.len() - burst) as f64;
            after / last.duration_since(*start).as_secs_f64()
        }
        _ => 0.0,
    }
}

/// Sends `texts` to their chats from `tasks` concurrent tasks; returns when each was stored.
async fn send_all(
    client: &Client,
    sends: Vec<(ChatId, String)>,
    tasks: usize,
) -> Result<Vec<Instant>, String> {
    let queue = Arc::new(tokio::sync::Mutex::new(sends));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (client, queue) = (client.clone(), queue.clone());
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let Some((chat, text)) = queue.lock().await.pop() else {
                    return Ok::<_, String>(done);
                };
                client
                    .messages()
                    .send(chat, text.as_str())
                    .await
                    .map_err(|err| err.to_string())?;
                done.push(Instant::now());
            }
        });
    }
    let mut done = Vec::new();
    while let Some(worker) = workers.join_next().await {
        done.extend(worker.map_err(|err| err.to_string())??);
    }
    Ok(done)
}

/// The quota soak (see the module doc).
async fn quota_soak() -> Result<bool, String> {
    const CHATS: usize = 60;
    let mut config = EmulatorConfig::default();
    config.quota = Some(QuotaConfig::default());
    let app_id = config.apps[0].app_id.clone();
    for n in 0..CHATS {
        let mut chat = ChatConfig::default();
        chat.chat_id = format!("oc_quota{n:024}");
        chat.name = format!("quota {n}");
        chat.bots = vec![app_id.clone()];
        config.chats.push(chat);
    }
    let emulator = Emulator::start(config)
        .await
        .map_err(|err| err.to_string())?;
    let client = Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).map_err(|err| err.to_string())?)
        .build()
        .map_err(|err| err.to_string())?;

    let one = ChatId::new(emulator.default_chat());
    let into_one = (0..60).map(|n| (one.clone(), format!("one {n}"))).collect();
    let per_chat = send_all(&client, into_one, 32).await?;
    let spread = (0..600)
        .map(|n| {
            (
                ChatId::new(format!("oc_quota{:024}", n % CHATS)),
                format!("spread {n}"),
            )
        })
        .collect();
    let per_app = send_all(&client, spread, 32).await?;

    let sent = per_chat.len() + per_app.len();
    let refused: u64 = emulator.quota_refusals().values().sum();
    let per_chat_rate = steady_rate(per_chat, 5);
    let per_app_rate = steady_rate(per_app, 50);
    println!(
        "quota sent={sent} refused={refused} per_chat_rate={per_chat_rate:.2} per_app_rate={per_app_rate:.2}"
    );
    let within = |rate: f64, limit: f64| (rate - limit).abs() <= limit / 10.0;
    Ok(sent == 660 && refused == 0 && within(per_chat_rate, 5.0) && within(per_app_rate, 50.0))
}

/// Counts of each text among the messages of `chat`.
fn text_counts(emulator: &Emulator, chat: &ChatId) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in emulator.messages_in(chat.as_str()) {
        if let Some(text) = message["body"]["content"]
            .as_str()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .and_then(|c| c["text"].as_str().map(str::to_owned))
        {
            *counts.entry(text).or_insert(0) += 1;
        }
    }
    counts
}

#[allow(clippy::too_many_lines)] // one run, told in order
async fn soak(sends: usize) -> Result<bool, String> {
    let started = Instant::now();
    let mut config = EmulatorConfig::default();
    config.fault_seed = 0x50A4;
    let emulator = Emulator::start(config)
        .await
        .map_err(|err| err.to_string())?;
    let chat = ChatId::new(emulator.default_chat());
    let tom = emulator.user("Tom").ok_or("no Tom")?.open_id;
    // Eight attempts: with one request in ten failing, the chance that any of N sends runs out
    // of attempts is about N × 10⁻⁸.
    let retry = RetryPolicy::default()
        .with_max_attempts(8)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(200));
    let client = Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).map_err(|err| err.to_string())?)
        .retry(retry)
        // The fault soak sends as fast as it can into one chat; quotas have a soak of their
        // own (`--quota`).
        .quotas(lark::Quotas::off())
        .build()
        .map_err(|err| err.to_string())?;

    // The bot answers every user message once.
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let bot = Bot::builder(client.clone())
        .encrypt_key(ENCRYPT_KEY)
        .verification_token(TOKEN)
        .on_message(move |event: MessageEvent| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let said = event.text().unwrap_or_default();
                event.reply(format!("ack {said}")).await.map(drop)
            }
        })
        .build()
        .map_err(|err| err.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| err.to_string())?;
    let addr = listener.local_addr().map_err(|err| err.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bot.serve(listener, async move {
        let _ = stopped.await;
    }));
    emulator.set_webhook(Some(
        WebhookConfig::new(format!("http://{addr}/events"))
            .encrypt_key(ENCRYPT_KEY)
            .verification_token(TOKEN)
            .retry_delays_ms([200, 500, 1_000, 2_000, 4_000]),
    ));
    emulator.duplicate_deliveries(1);

    for fault in [
        Fault::server_error(500),
        Fault::server_error(503),
        Fault::DropBeforeProcessing,
        Fault::DropAfterProcessing,
        Fault::RateLimit {
            reset_secs: 1,
            limit: 50,
        },
    ] {
        emulator.inject(
            FaultRule::probability(0.02, fault)
                .on_path("/open-apis/im/v1/messages")
                .on_method("POST"),
        );
    }

    let user_messages = (sends / 20).max(1);
    let revoked = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(AtomicUsize::new(0));
    let results: Vec<Result<(), String>> = futures_util::stream::iter(0..sends)
        .map(|i| {
            let client = client.clone();
            let chat = chat.clone();
            let emulator = &emulator;
            let (tom, revoked, progress) = (&tom, revoked.clone(), progress.clone());
            async move {
                let done = progress.fetch_add(1, Ordering::SeqCst);
                if done == sends / 2 && revoked.fetch_add(1, Ordering::SeqCst) == 0 {
                    emulator.revoke_tokens(&emulator.app_id());
                }
                if done % 20 == 10 && done / 20 < user_messages {
                    emulator
                        .user_says_text(chat.as_str(), tom, &format!("user {}", done / 20))
                        .map_err(|err| err.to_string())?;
                }
                client
                    .messages()
                    .send(chat, format!("soak {i}"))
                    .await
                    .map(drop)
                    .map_err(|err| err.to_string())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let caller_errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    for err in caller_errors.iter().take(5) {
        eprintln!("caller error: {err}");
    }

    // Wait for the bot to answer every user message (redeliveries included).
    let answered = |emulator: &Emulator| {
        let counts = text_counts(emulator, &chat);
        (0..user_messages).all(|n| {
            counts
                .get(&format!("ack user {n}"))
                .is_some_and(|c| *c >= 1)
        })
    };
    emulator.wait_until(Duration::from_secs(30), answered).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop.send(());
    let _ = server.await;

    let counts = text_counts(&emulator, &chat);
    let delivered = (0..sends)
        .filter(|i| counts.contains_key(&format!("soak {i}")))
        .count();
    let doubled_sends = (0..sends)
        .filter(|i| counts.get(&format!("soak {i}")).is_some_and(|c| *c > 1))
        .count();
    let answered_users = (0..user_messages)
        .filter(|n| counts.contains_key(&format!("ack user {n}")))
        .count();
    let doubled_answers = (0..user_messages)
        .filter(|n| counts.get(&format!("ack user {n}")).is_some_and(|c| *c > 1))
        .count();
    let lost = (sends - delivered) + (user_messages - answered_users);
    let duplicates = doubled_sends + doubled_answers;
    let deliveries = emulator.deliveries();
    let fired: u64 = emulator.fault_rules().iter().map(|rule| rule.fired).sum();
    let requests = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/open-apis/im/v1/messages"))
        .count();
    println!(
        "faults: {fired} of {requests} message requests failed on purpose; token revoked once; \
         webhook: {user_messages} user messages, {} deliveries ({} marked duplicate by the emulator), \
         {} handler runs, {answered_users} answered; {:.1}s",
        deliveries.len(),
        deliveries.iter().filter(|d| d.duplicate).count(),
        handled.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
    println!(
        "soak sent={sends} delivered={delivered} duplicates={duplicates} lost={lost} caller_errors={} token_fetches={}",
        caller_errors.len(),
        emulator.token_fetches(&emulator.app_id())
    );
    Ok(lost == 0 && duplicates == 0)
}
