//! The HTTP endpoint end to end: the emulator delivers over loopback, plain and encrypted; the
//! handler sees each event exactly once.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lark_content::card::{CardHeader, CardV2, Markdown};
use lark_emulator::{Emulator, EmulatorConfig, WebhookConfig};
use lark_events::{
    AckPolicy, CardAction, CardResponse, Delivery, Dispatcher, Event, EventConfig, EventEnvelope,
    HandlerError, ToastKind, WebhookService, channel, handler_fn,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const KEY: &str = "endpoint test key";
const TOKEN: &str = "endpoint-verification-token";

struct Running {
    url: String,
    _stop: oneshot::Sender<()>,
}

async fn serve(service: WebhookService) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(service.serve(listener, async move {
        let _ = stopped.await;
    }));
    Running { url, _stop: stop }
}

/// How long a test waits for something that should happen at once before it calls it a hang.
/// A ceiling, not a pace: every wait ends on the event it waits for.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the handler saw, and a wake-up for each new event.
#[derive(Clone, Default)]
struct Seen(Arc<(Mutex<Vec<EventEnvelope>>, tokio::sync::Notify)>);

impl Seen {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<EventEnvelope>> {
        self.0
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, event: EventEnvelope) {
        self.lock().push(event);
        self.0.1.notify_waiters();
    }
}

fn recording_dispatcher(seen: Seen) -> Dispatcher {
    Dispatcher::new(handler_fn(move |event: EventEnvelope| {
        let seen = seen.clone();
        async move {
            seen.push(event);
            Ok(())
        }
    }))
}

async fn wait_for(seen: &Seen, count: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let more = seen.0.1.notified();
        tokio::pin!(more);
        more.as_mut().enable();
        let now_seen = seen.lock().len();
        if now_seen >= count {
            return;
        }
        assert!(
            tokio::time::timeout_at(deadline, more).await.is_ok(),
            "expected {count} events, saw {now_seen}"
        );
    }
}

async fn encrypted_pair(dispatcher: Dispatcher) -> (Emulator, Running) {
    let service = WebhookService::new(
        EventConfig::new()
            .encrypt_key(KEY)
            .verification_token(TOKEN),
        dispatcher,
    );
    let running = serve(service).await;
    let emulator = Emulator::start(
        EmulatorConfig::default().webhook(
            WebhookConfig::new(&running.url)
                .encrypt_key(KEY)
                .verification_token(TOKEN)
                .retry_delays_ms([100, 200]),
        ),
    )
    .await
    .unwrap();
    (emulator, running)
}

#[tokio::test]
async fn encrypted_events_arrive_typed_and_duplicates_are_dropped() {
    let seen = Seen::default();
    let (emulator, _running) = encrypted_pair(recording_dispatcher(seen.clone())).await;
    emulator.verify_url().await.unwrap();
    emulator.duplicate_deliveries(2);
    let tom = emulator.user("Tom").unwrap();
    let text = format!(
        "<at user_id=\"{}\">bot</at> deploy prod",
        emulator.bot_open_id()
    );
    let message_id = emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, &text)
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries().len() == 3)
            .await
    );
    assert!(
        emulator.deliveries().iter().all(|d| d.status == Some(200)),
        "{:?}",
        emulator.deliveries()
    );
    wait_for(&seen, 1).await;
    // A duplicate is dropped before its delivery is answered, so with all three answered no
    // handler can still be on its way.
    let seen = seen.lock();
    assert_eq!(seen.len(), 1, "three deliveries, one event for the handler");
    let Event::MessageReceived(received) = &seen[0].event else {
        panic!("{:?}", seen[0].event)
    };
    assert_eq!(received.message.message_id.as_str(), message_id);
    assert_eq!(
        received.message.text_without_mentions().as_deref(),
        Some("deploy prod")
    );
    assert!(
        received
            .message
            .mentions_open_id(&lark_content::OpenId::new(emulator.bot_open_id()))
    );
}

#[tokio::test]
async fn plain_events_arrive_and_every_type_is_typed() {
    let seen = Seen::default();
    let service = WebhookService::new(
        EventConfig::new().verification_token(TOKEN),
        recording_dispatcher(seen.clone()),
    );
    let running = serve(service).await;
    let emulator = Emulator::start(
        EmulatorConfig::default()
            .webhook(WebhookConfig::new(&running.url).verification_token(TOKEN)),
    )
    .await
    .unwrap();
    let tom = emulator.user("Tom").unwrap();
    let alice = emulator.user("Alice").unwrap();
    let chat = emulator.default_chat();
    let said = emulator
        .user_says_text(&chat, &tom.open_id, "hello")
        .unwrap();
    emulator.user_reacts(&said, &alice.open_id, "OK").unwrap();
    emulator.user_recalls(&said).unwrap();
    emulator.user_leaves_chat(&chat, &alice.open_id).unwrap();
    emulator
        .rename_chat(&chat, &tom.open_id, "renamed")
        .unwrap();
    emulator.user_opens_p2p(&tom.open_id).unwrap();
    wait_for(&seen, 6).await;
    let kinds: Vec<&'static str> = seen
        .lock()
        .iter()
        .map(|e| match e.event {
            Event::MessageReceived(_) => "received",
            Event::ReactionCreated(_) => "reaction",
            Event::MessageRecalled(_) => "recalled",
            Event::ChatMemberUserWithdrawn(_) => "withdrawn",
            Event::ChatUpdated(_) => "updated",
            Event::BotP2pChatEntered(_) => "p2p",
            _ => "other",
        })
        .collect();
    for kind in [
        "received",
        "reaction",
        "recalled",
        "withdrawn",
        "updated",
        "p2p",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn a_failed_handler_releases_the_event_so_the_retry_is_handled() {
    let attempts = Arc::new(Mutex::new(0u32));
    let counter = attempts.clone();
    let dispatcher = Dispatcher::new(handler_fn(move |_event: EventEnvelope| {
        let counter = counter.clone();
        async move {
            let mut n = counter.lock().unwrap();
            *n += 1;
            if *n == 1 {
                Err::<(), HandlerError>("database down".into())
            } else {
                Ok(())
            }
        }
    }));
    let (emulator, _running) = encrypted_pair(dispatcher).await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "retry me")
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries().len() == 2)
            .await
    );
    let deliveries = emulator.deliveries();
    assert_eq!(
        deliveries[0].status,
        Some(500),
        "the failure asked the platform to deliver again"
    );
    assert_eq!(deliveries[1].status, Some(200));
    assert_eq!(
        *attempts.lock().unwrap(),
        2,
        "the redelivery reached the handler"
    );
}

/// A handler that panics on the first delivery, before (`yield_first` false) or after it
/// waited on something: the platform is asked to deliver again, and the retry is handled.
async fn a_panicking_handler_releases_the_event(yield_first: bool) {
    let attempts = Arc::new(Mutex::new(0u32));
    let counter = attempts.clone();
    let dispatcher = Dispatcher::new(handler_fn(move |_event: EventEnvelope| {
        let counter = counter.clone();
        async move {
            if yield_first {
                tokio::task::yield_now().await;
            }
            let n = {
                let mut n = counter.lock().unwrap();
                *n += 1;
                *n
            };
            assert!(n > 1, "the handler panics on the first delivery");
            Ok::<(), HandlerError>(())
        }
    }));
    let (emulator, _running) = encrypted_pair(dispatcher).await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "panic once")
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries().len() == 2)
            .await
    );
    let statuses: Vec<_> = emulator.deliveries().iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Some(500), Some(200)]);
    assert_eq!(*attempts.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_handler_that_panics_at_once_releases_the_event_so_the_retry_is_handled() {
    a_panicking_handler_releases_the_event(false).await;
}

#[tokio::test]
async fn a_handler_that_panics_after_waiting_releases_the_event_so_the_retry_is_handled() {
    a_panicking_handler_releases_the_event(true).await;
}

#[tokio::test]
async fn a_handler_still_running_is_acknowledged_within_the_budget() {
    // The handler holds until the test lets it go, so the answer cannot have waited for it.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let handler_gate = gate.clone();
    let dispatcher = Dispatcher::new(handler_fn(move |_event: EventEnvelope| {
        let gate = handler_gate.clone();
        async move {
            let _permit = gate.acquire().await;
            Ok(())
        }
    }))
    .with_ack(AckPolicy::WaitUpTo(Duration::from_millis(200)));
    let (emulator, _running) = encrypted_pair(dispatcher).await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "slow")
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| !e.deliveries().is_empty())
            .await
    );
    assert_eq!(
        emulator.deliveries()[0].status,
        Some(200),
        "answered while the handler still runs"
    );
    gate.add_permits(1);
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries_in_flight() == 0)
            .await
    );
    assert_eq!(
        emulator.deliveries().len(),
        1,
        "acknowledged in time, never redelivered"
    );
}

#[tokio::test]
async fn card_clicks_are_answered_and_the_card_replaced() {
    let dispatcher = Dispatcher::new(
        handler_fn(|_event: EventEnvelope| async { Ok(()) }).on_card(
            |action: CardAction| async move {
                let choice = action.value_str("action").unwrap_or("none").to_owned();
                let card = CardV2::builder()
                    .header(CardHeader::new(format!("You chose {choice}")))
                    .element(Markdown::new("done"))
                    .build();
                Ok::<_, HandlerError>(
                    CardResponse::toast(ToastKind::Success, "Recorded").with_card(card),
                )
            },
        ),
    );
    let (emulator, _running) = encrypted_pair(dispatcher).await;
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let token_answer = http
        .request(
            http::Request::post(format!(
                "{}/open-apis/auth/v3/tenant_access_token/internal",
                emulator.base_url()
            ))
            .body(Full::new(Bytes::from(
                json!({"app_id": emulator.app_id(), "app_secret": emulator.app_secret()})
                    .to_string(),
            )))
            .unwrap(),
        )
        .await
        .unwrap();
    let token: Value =
        serde_json::from_slice(&token_answer.into_body().collect().await.unwrap().to_bytes())
            .unwrap();
    let card = json!({"schema": "2.0", "body": {"elements": [{"tag": "button", "text": {"tag": "plain_text", "content": "Go"}, "behaviors": [{"type": "callback", "value": {"action": "go"}}]}]}});
    let sent = http
        .request(
            http::Request::post(format!("{}/open-apis/im/v1/messages?receive_id_type=chat_id", emulator.base_url()))
                .header("authorization", format!("Bearer {}", token["tenant_access_token"].as_str().unwrap()))
                .body(Full::new(Bytes::from(
                    json!({"receive_id": emulator.default_chat(), "msg_type": "interactive", "content": card.to_string()}).to_string(),
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    let sent: Value =
        serde_json::from_slice(&sent.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let id = sent["data"]["message_id"].as_str().unwrap().to_owned();
    let tom = emulator.user("Tom").unwrap();
    let outcome = emulator
        .click(&id, &tom.open_id, json!({"action": "go"}))
        .await
        .unwrap();
    assert!(outcome.card_updated);
    assert_eq!(outcome.toast.unwrap()["content"], "Recorded");
    let stored: Value = serde_json::from_str(
        emulator.message(&id).unwrap()["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored["header"]["title"]["content"], "You chose go");
}

#[tokio::test]
async fn a_full_channel_answers_503_and_the_platform_delivers_again() {
    let (handler, mut rx) = channel(1);
    let (emulator, _running) = encrypted_pair(Dispatcher::new(handler)).await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "first")
        .unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "second")
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e
                .deliveries()
                .iter()
                .any(|d| d.status == Some(503)))
            .await
    );
    let first = rx.recv().await.unwrap();
    assert!(matches!(first, Delivery::Event(_)));
    let second = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let (Delivery::Event(a), Delivery::Event(b)) = (first, second) else {
        panic!()
    };
    assert_ne!(
        a.header.event_id, b.header.event_id,
        "both messages got through, the second on its retry"
    );
}

async fn raw(url: &str, method: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = client
        .request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn bad_requests_get_clear_statuses() {
    let seen = Seen::default();
    let service = WebhookService::new(
        EventConfig::new()
            .encrypt_key(KEY)
            .verification_token(TOKEN),
        recording_dispatcher(seen.clone()),
    );
    let running = serve(service).await;
    let (status, body) = raw(&running.url, "GET", &[], Vec::new()).await;
    assert_eq!(status, 405, "{body}");
    let (status, body) = raw(&running.url, "POST", &[], b"{not json".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("not a Lark event"));
    let forged = lark_events::sign_event(
        Some(&lark_events::EncryptKey::new("attacker key")),
        br#"{"schema":"2.0"}"#,
        1_700_000_000,
        "n",
    );
    let headers: Vec<(String, String)> = forged
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) = raw(&running.url, "POST", &headers, forged.body.to_vec()).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = raw(&running.url, "POST", &[], vec![b' '; 2 * 1024 * 1024]).await;
    assert_eq!(status, 413, "{body}");
    assert!(seen.lock().is_empty());
}
