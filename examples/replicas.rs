//! Two bot replicas in one process, sharing one Redis: one token fetch for both, an app ticket
//! either can use, and every event handled once however many times, and wherever, the platform
//! delivers it.
//!
//! `REDIS_URL=redis://127.0.0.1:6379/ cargo run --example replicas --features redis`

use lark::redis::Redis;
use lark::{BaseUrl, Bot, ChatId, Client, MessageEvent};
use lark_emulator::{Emulator, WebhookConfig};
use lark_examples::{BoxError, say, step};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Replica {
    name: &'static str,
    client: Client,
    url: String,
    handled: Arc<AtomicUsize>,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn replica(
    name: &'static str,
    emulator: &Emulator,
    redis: &Redis,
) -> Result<Replica, BoxError> {
    let client = Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url())?)
        .stores(redis)
        .build()?;
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let bot = Bot::builder(client.clone())
        .encrypt_key("replicas-key")
        .redis(redis)
        .on_message(move |event: MessageEvent| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let said = event.text().unwrap_or_default();
                println!("  ({name}) handling {:?} {}", said, event.message_id());
                event
                    .reply(format!("{name} got \"{said}\""))
                    .await
                    .map(drop)
            }
        })
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bot.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok(Replica {
        name,
        client,
        url,
        handled,
        stop,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let redis = Redis::open(&url)?;
    let emulator = Emulator::start_default().await?;
    let chat = ChatId::new(emulator.default_chat());
    let tom = emulator.user("Tom").ok_or("no Tom")?.open_id;
    println!(
        "two replicas on {} sharing {}",
        emulator.base_url(),
        redis.url()
    );
    let a = replica("replica A", &emulator, &redis).await?;
    let b = replica("replica B", &emulator, &redis).await?;

    step("Both replicas start sending at once");
    let sends = (0..8).map(|i| {
        let client = if i % 2 == 0 {
            a.client.clone()
        } else {
            b.client.clone()
        };
        let chat = chat.clone();
        async move { client.messages().send(chat, format!("status {i}")).await }
    });
    for sent in futures_util::future::join_all(sends).await {
        sent?;
    }
    say(format!(
        "8 sends from 2 replicas, {} token fetch(es)",
        emulator.token_fetches(&emulator.app_id())
    ));

    step("An event reaches A; the platform redelivers it to B");
    emulator.set_webhook(Some(
        WebhookConfig::new(a.url.clone()).encrypt_key("replicas-key"),
    ));
    let first = emulator.user_says_text(chat.as_str(), &tom, "deploy?")?;
    let answered = |e: &Emulator| {
        e.messages_in(chat.as_str())
            .iter()
            .any(|m| m["parent_id"] == first.as_str())
    };
    if !emulator.wait_until(Duration::from_secs(30), answered).await {
        return Err("replica A did not answer".into());
    }
    let event_id = emulator
        .emitted_events()
        .last()
        .map(|e| e.event_id.clone())
        .ok_or("no event")?;
    emulator.set_webhook(Some(
        WebhookConfig::new(b.url.clone()).encrypt_key("replicas-key"),
    ));
    if !emulator.redeliver(&event_id) {
        return Err("the emulator has no such event".into());
    }
    emulator
        .wait_until(Duration::from_secs(30), |e| e.deliveries().len() >= 2)
        .await;
    let replies = emulator
        .messages_in(chat.as_str())
        .iter()
        .filter(|m| m["parent_id"] == first.as_str())
        .count();
    say(format!(
        "{} handled it {} time(s), {} {} time(s): {replies} reply",
        a.name,
        a.handled.load(Ordering::SeqCst),
        b.name,
        b.handled.load(Ordering::SeqCst)
    ));

    step("The next event reaches B");
    let second = emulator.user_says_text(chat.as_str(), &tom, "and the docs?")?;
    let answered = |e: &Emulator| {
        e.messages_in(chat.as_str())
            .iter()
            .any(|m| m["parent_id"] == second.as_str())
    };
    if !emulator.wait_until(Duration::from_secs(30), answered).await {
        return Err("replica B did not answer".into());
    }
    say(format!(
        "{} has handled {} event(s)",
        b.name,
        b.handled.load(Ordering::SeqCst)
    ));
    let _ = a.stop.send(());
    let _ = b.stop.send(());
    Ok(())
}
