//! The facade against the emulator: every area's shortcuts, and a bot answering webhook
//! deliveries the emulator encrypts and signs.

use futures_util::TryStreamExt;
use lark::events::Event;
use lark::{
    BaseUrl, Bot, CardResponse, ChatId, Client, MessageContent, MessageEvent, MessageId, OpenId,
    ToastKind,
};
use lark_emulator::{Emulator, WebhookConfig};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

mod common;

async fn setup() -> (Emulator, Client, ChatId, OpenId) {
    let (emulator, client, chat) = common::emulated().await;
    let tom = OpenId::new(emulator.user("Tom").unwrap().open_id);
    (emulator, client, chat, tom)
}

#[tokio::test]
async fn message_shortcuts_cover_the_lifecycle_of_a_message() {
    let (emulator, client, chat, _) = setup().await;
    let messages = client.messages();
    let sent = messages.send(chat.clone(), "first").await.unwrap();
    let reply = messages.reply(&sent.message_id, "second").await.unwrap();
    assert_eq!(reply.parent_id.as_ref(), Some(&sent.message_id));
    let threaded = messages
        .reply(&sent.message_id, "in thread")
        .in_thread()
        .await
        .unwrap();
    assert!(threaded.thread_id.is_some());
    messages
        .edit(&sent.message_id, "first, edited")
        .await
        .unwrap();
    assert_eq!(
        messages
            .get(&sent.message_id)
            .await
            .unwrap()
            .content()
            .unwrap()
            .unwrap(),
        MessageContent::text("first, edited")
    );

    let thumbs = messages.react(&sent.message_id, "THUMBSUP").await.unwrap();
    let reactions: Vec<_> = messages
        .reactions(&sent.message_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(reactions.len(), 1);
    messages
        .unreact(&sent.message_id, &thumbs.reaction_id)
        .await
        .unwrap();

    let history: Vec<_> = messages.history(chat.clone()).try_collect().await.unwrap();
    assert_eq!(history.len(), 2, "the thread reply shows only as its root");
    messages.recall(&reply.message_id).await.unwrap();
    assert_eq!(
        emulator.message(reply.message_id.as_str()).unwrap()["deleted"],
        true
    );

    let forwarded = messages
        .forward(
            &sent.message_id,
            OpenId::new(emulator.user("Alice").unwrap().open_id),
        )
        .await
        .unwrap();
    assert_ne!(forwarded.chat_id.as_ref(), Some(&chat));
}

#[tokio::test]
async fn pins_read_receipts_urgent_messages_and_the_bots_identity() {
    let (emulator, client, chat, tom) = setup().await;
    let messages = client.messages();
    let sent = messages.send(chat.clone(), "read me").await.unwrap();

    let pin = messages.pin(&sent.message_id).await.unwrap();
    assert_eq!(pin.message_id, sent.message_id);
    let pins: Vec<_> = client.chats().pins(&chat).try_collect().await.unwrap();
    assert_eq!(pins.len(), 1);
    messages.unpin(&sent.message_id).await.unwrap();
    assert!(emulator.pins(chat.as_str()).is_empty());

    emulator
        .user_reads(tom.as_str(), &[sent.message_id.to_string()])
        .unwrap();
    let readers: Vec<_> = messages
        .read_users(&sent.message_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(readers.len(), 1);
    assert_eq!(readers[0].user_id, tom.as_str());

    let urgent = messages
        .urgent(&sent.message_id, [tom.clone(), OpenId::new("ou_nobody")])
        .await
        .unwrap();
    assert_eq!(urgent.invalid_user_id_list, ["ou_nobody"]);
    assert_eq!(
        emulator.urgent_notifications()[0]["open_ids"],
        json!([tom.as_str()])
    );

    let me = client.bot_info().await.unwrap();
    assert_eq!(me.open_id.as_str(), emulator.bot_open_id());
}

#[tokio::test]
async fn chats_members_images_and_files() {
    let (emulator, client, _, tom) = setup().await;
    let chat = client
        .chats()
        .create("Ops")
        .members([tom.clone()])
        .await
        .unwrap();
    let chat_id = chat.chat_id.unwrap();
    client
        .chats()
        .rename(&chat_id, "Ops on call")
        .await
        .unwrap();
    assert_eq!(
        client.chats().get(&chat_id).await.unwrap().name.as_deref(),
        Some("Ops on call")
    );
    let alice = OpenId::new(emulator.user("Alice").unwrap().open_id);
    client
        .members()
        .add(&chat_id, [alice.clone()])
        .await
        .unwrap();
    let members: Vec<_> = client.members().list(&chat_id).try_collect().await.unwrap();
    assert_eq!(members.len(), 2);
    client.members().remove(&chat_id, [alice]).await.unwrap();
    assert!(client.members().bot_is_in(&chat_id).await.unwrap());
    let chats: Vec<_> = client.chats().list().try_collect().await.unwrap();
    assert!(chats.iter().any(|c| c.chat_id == chat_id));

    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("gradient.png");
    std::fs::write(
        &png,
        include_bytes!("../../lark-http/tests/fixtures/gradient.png"),
    )
    .unwrap();
    let image = client.images().upload(&png).await.unwrap();
    let copy = dir.path().join("copy.png");
    client.images().download(&image, &copy).await.unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&png).unwrap());

    let file = client
        .files()
        .upload_bytes("runbook.md", &b"# Runbook\n"[..])
        .await
        .unwrap();
    let target = dir.path().join("runbook.md");
    let meta = client.files().download(&file, &target).await.unwrap();
    assert_eq!(meta.meta.file_name.as_deref(), Some("runbook.md"));
    assert_eq!(std::fs::read(&target).unwrap(), b"# Runbook\n");
    client.chats().delete(&chat_id).await.unwrap();
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
}

const ENCRYPT_KEY: &str = "facade-test-key";
const VERIFICATION_TOKEN: &str = "facade-test-token";

/// A bot that checks what the emulator's webhook signs and encrypts with.
fn signed_bot(client: Client) -> lark::BotBuilder {
    Bot::builder(client)
        .encrypt_key(ENCRYPT_KEY)
        .verification_token(VERIFICATION_TOKEN)
}

/// A signed bot whose `handle` gets each message with how many came before it; the count of
/// handled messages is returned beside it.
fn counting_bot<F, Fut>(client: Client, handle: F) -> (Bot, Arc<AtomicU32>)
where
    F: Fn(MessageEvent, u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), lark::Error>> + Send + 'static,
{
    let count = Arc::new(AtomicU32::new(0));
    let counter = count.clone();
    let handle = Arc::new(handle);
    let bot = signed_bot(client)
        .on_message(move |event: MessageEvent| {
            let before = counter.fetch_add(1, Ordering::SeqCst);
            handle(event, before)
        })
        .build()
        .unwrap();
    (bot, count)
}

async fn serve(emulator: &Emulator, bot: Bot) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    emulator.set_webhook(Some(
        WebhookConfig::new(format!("http://{addr}/events"))
            .encrypt_key(ENCRYPT_KEY)
            .verification_token(VERIFICATION_TOKEN)
            .retry_delays_ms([50, 100, 200]),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bot.serve(listener, async move {
        let _ = stopped.await;
    }));
    Running { stop }
}

#[tokio::test]
async fn a_marketplace_bot_stores_its_app_ticket_by_itself() {
    let mut config = lark_emulator::EmulatorConfig::default();
    let mut isv = lark_emulator::AppConfig::new("cli_a5fb0ae6a4000002", "isv-secret");
    isv.marketplace = true;
    isv.tenant_key = "2df73991750abcde".to_owned();
    config.apps.push(isv);
    let emulator = Emulator::start(config).await.unwrap();
    let client = Client::builder()
        .app("cli_a5fb0ae6a4000002", "isv-secret")
        .marketplace(lark::TenantKey::new("2df73991750abcde"))
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .build()
        .unwrap();
    let bot = signed_bot(client.clone()).build().unwrap();
    let running = serve(&emulator, bot).await;

    // No ticket yet: the platform is asked to push one, which the bot stores with no handler.
    let first = client.http().tenant_token().await.unwrap_err();
    assert_eq!(first.kind(), lark::ErrorKind::NotReady, "{first}");
    assert!(
        emulator
            .wait_until(Duration::from_secs(60), |e| e
                .deliveries()
                .iter()
                .any(|d| d.event_type == "app_ticket" && d.status == Some(200)))
            .await
    );
    let token = client.http().tenant_token().await.unwrap();
    assert!(token.expose().starts_with("t-"));
    let _ = running.stop.send(());
}

#[test]
fn a_bot_reads_its_keys_from_the_environment() {
    let vars = |name: &str| match name {
        "LARK_APP_ID" => Some("cli_a5fb0ae6a4000003".to_owned()),
        "LARK_APP_SECRET" => Some("secret".to_owned()),
        "LARK_ENCRYPT_KEY" => Some("the-encrypt-key".to_owned()),
        "LARK_VERIFICATION_TOKEN" => Some("the-verification-token".to_owned()),
        _ => None,
    };
    let builder = Bot::from_vars(vars).unwrap();
    // Both are set, and neither shows in Debug output.
    let debug = format!("{builder:?}");
    assert!(
        debug.contains("encrypt_key: Some") && debug.contains("verification_token: Some"),
        "{debug}"
    );
    assert!(
        !debug.contains("the-encrypt-key") && !debug.contains("the-verification-token"),
        "{debug}"
    );
    // With a key, the bot is not one that would accept forged events.
    builder.build().unwrap();
    let neither = |name: &str| {
        vars(name)
            .filter(|_| !name.starts_with("LARK_ENCRYPT") && !name.starts_with("LARK_VERIFICATION"))
    };
    let refused = Bot::from_vars(neither).unwrap().build().unwrap_err();
    assert_eq!(refused.kind(), lark::ErrorKind::Config);
    let no_app = Bot::from_vars(|_| None).unwrap_err();
    assert_eq!(no_app.kind(), lark::ErrorKind::Config);
}

fn replies_to(emulator: &Emulator, chat: &ChatId, message: &str) -> Vec<String> {
    emulator
        .messages_in(chat.as_str())
        .into_iter()
        .filter(|m| m["parent_id"] == message)
        .map(|m| m["body"]["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_bot_answers_each_message_once_even_when_delivered_twice() {
    let (emulator, client, chat, tom) = setup().await;
    let (bot, handled) = counting_bot(client, |event, _| async move {
        let text = event.text_without_mentions().unwrap_or_default();
        event.reply(format!("echo: {text}")).await.map(drop)
    });
    let running = serve(&emulator, bot).await;
    emulator.duplicate_deliveries(2);
    let said = emulator
        .user_says_text(chat.as_str(), tom.as_str(), "hello bot")
        .unwrap();
    assert!(
        emulator
            .wait_until(Duration::from_secs(60), |e| !replies_to(e, &chat, &said)
                .is_empty())
            .await
    );
    assert!(
        emulator
            .wait_until(Duration::from_secs(60), |e| e.deliveries().len() >= 3)
            .await
    );
    // Duplicates are dropped before their deliveries are answered: with all three answered,
    // no second handling can still be on its way.
    assert_eq!(
        replies_to(&emulator, &chat, &said),
        [r#"{"text":"echo: hello bot"}"#]
    );
    assert_eq!(
        handled.load(Ordering::SeqCst),
        1,
        "three deliveries, one handling"
    );
    let _ = running.stop.send(());
}

#[tokio::test]
async fn a_failing_handler_gets_the_event_again() {
    let (emulator, client, chat, tom) = setup().await;
    let (bot, attempts) = counting_bot(client, |event, before| async move {
        if before == 0 {
            return Err(lark::Error::Config("the database is down".to_owned()));
        }
        event
            .reply("handled on the second delivery")
            .await
            .map(drop)
    });
    let running = serve(&emulator, bot).await;
    let said = emulator
        .user_says_text(chat.as_str(), tom.as_str(), "retry me")
        .unwrap();
    assert!(
        emulator
            .wait_until(Duration::from_secs(60), |e| !replies_to(e, &chat, &said)
                .is_empty())
            .await
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let statuses: Vec<_> = emulator.deliveries().iter().map(|d| d.status).collect();
    assert_eq!(statuses[0], Some(500), "{statuses:?}");
    let _ = running.stop.send(());
}

#[tokio::test]
async fn other_events_and_card_clicks_reach_their_handlers() {
    let (emulator, client, chat, tom) = setup().await;
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let bot = signed_bot(client.clone())
        .on_event(move |event: lark::BotEvent| {
            let events = events.clone();
            async move {
                events
                    .send(event.event)
                    .map_err(|_| lark::Error::Config("test ended".to_owned()))
            }
        })
        .on_card(|click: lark::CardEvent| async move {
            let choice = click.value_str("choice").unwrap_or_default().to_owned();
            Ok::<_, lark::Error>(CardResponse::toast(
                ToastKind::Info,
                format!("picked {choice}"),
            ))
        })
        .build()
        .unwrap();
    let running = serve(&emulator, bot).await;

    let sent = client
        .messages()
        .send(chat.clone(), "react to me")
        .await
        .unwrap();
    emulator
        .user_reacts(sent.message_id.as_str(), tom.as_str(), "SMILE")
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(60), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let Event::ReactionCreated(reaction) = event else {
        panic!("{event:?}")
    };
    assert_eq!(
        reaction.message_id,
        MessageId::new(sent.message_id.as_str())
    );

    let card = lark::content::card::CardV2::builder()
        .element(lark::content::card::Button::new("A").callback(json!({"choice": "a"})))
        .build();
    let card_message = client
        .messages()
        .send(chat.clone(), MessageContent::card(card))
        .await
        .unwrap();
    let outcome = emulator
        .click(
            card_message.message_id.as_str(),
            tom.as_str(),
            json!({"choice": "a"}),
        )
        .await
        .unwrap();
    assert_eq!(outcome.toast.unwrap()["content"], "picked a");
    let _ = running.stop.send(());
}

#[tokio::test]
async fn the_same_bot_answers_over_the_long_connection() {
    let mut config = lark_emulator::EmulatorConfig::default().long_connection();
    config.ws.ping_interval_secs = 1;
    let emulator = Emulator::start(config).await.unwrap();
    let (client, chat) = common::client_of(&emulator);
    let tom = OpenId::new(emulator.user("Tom").unwrap().open_id);
    let bot = Bot::builder(client.clone())
        .allow_unsigned_events()
        .on_message(|event: MessageEvent| async move {
            event
                .reply(format!("ws echo: {}", event.text().unwrap_or_default()))
                .await
                .map(drop)
        })
        .on_card(|_click: lark::CardEvent| async move {
            Ok::<_, lark::Error>(CardResponse::toast(ToastKind::Info, "over ws"))
        })
        .build()
        .unwrap();
    let handle = common::connected(&bot).await;
    let said = emulator
        .user_says_text(chat.as_str(), tom.as_str(), "hello")
        .unwrap();
    assert!(
        emulator
            .wait_until(Duration::from_secs(60), |e| !replies_to(e, &chat, &said)
                .is_empty())
            .await
    );
    assert_eq!(
        replies_to(&emulator, &chat, &said),
        [r#"{"text":"ws echo: hello"}"#]
    );

    let card = lark::content::card::CardV2::builder()
        .element(lark::content::card::Button::new("Go").callback(json!({"go": true})))
        .build();
    let sent = client
        .messages()
        .send(chat.clone(), MessageContent::card(card))
        .await
        .unwrap();
    let outcome = emulator
        .click(sent.message_id.as_str(), tom.as_str(), json!({"go": true}))
        .await
        .unwrap();
    assert_eq!(outcome.toast.unwrap()["content"], "over ws");
    assert!(
        emulator.deliveries().iter().all(|d| d.long_connection),
        "no webhook was involved"
    );
    assert_eq!(
        handle.shutdown().await,
        lark::ws::Status::Stopped(lark::ws::StopReason::Shutdown)
    );
}

#[tokio::test]
async fn a_bots_debug_output_shows_no_key_token_or_secret() {
    let (emulator, client, _, _) = setup().await;
    let builder = Bot::builder(client)
        .encrypt_key("bot-encrypt-key-1234")
        .verification_token("bot-verification-token-5678");
    let shown_builder = format!("{builder:?}");
    let bot = builder.build().unwrap();
    for shown in [
        shown_builder,
        format!("{bot:?}"),
        format!("{:#?}", bot.client()),
    ] {
        assert!(!shown.contains("bot-encrypt-key-1234"), "{shown}");
        assert!(!shown.contains("bot-verification-token-5678"), "{shown}");
        assert!(!shown.contains(&emulator.app_secret()), "{shown}");
    }
}

#[tokio::test]
async fn a_bot_that_would_accept_forged_events_is_refused_unless_asked_for() {
    let (_emulator, client, _, _) = setup().await;
    let err = Bot::builder(client.clone())
        .on_message(|_: MessageEvent| async { Ok::<_, lark::Error>(()) })
        .build()
        .expect_err("no key and no token");
    assert_eq!(err.kind(), lark::ErrorKind::Config);
    let text = err.to_string();
    assert!(
        text.contains("forged")
            && text.contains("encrypt_key")
            && text.contains("allow_unsigned_events"),
        "{text}"
    );
    let token_only = Bot::builder(client.clone()).verification_token("t").build();
    assert!(token_only.is_ok());
    let allowed = Bot::builder(client)
        .allow_unsigned_events()
        .build()
        .unwrap();
    assert!(allowed.webhook().accepts_unsigned_events());
}
