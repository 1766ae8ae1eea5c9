//! Events out: the v2 and v1 envelopes, encryption and signing as the platform does them, and
//! delivery to the app's webhook with the platform's retry schedule.

use crate::config::Subscription;
use crate::crypto::{encrypt, sign};
use crate::server::Shared;
use crate::state::DeliveryRecord;
use crate::util::{now_millis, now_secs, random_hex};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// An event on its way out.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) app_id: String,
    pub(crate) event_id: String,
    pub(crate) event_type: String,
    pub(crate) payload: Value,
    /// Extra copies to deliver after the first success.
    pub(crate) duplicates: u32,
    /// A deliberate re-delivery of an event already emitted.
    pub(crate) redelivery: bool,
}

/// An event the emulator produced, for tests.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct EmittedEvent {
    /// The event id (v2) or uuid (v1).
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The app it was for.
    pub app_id: String,
    /// The plaintext envelope.
    pub payload: Value,
}

/// Hands events to the delivery task.
pub(crate) struct EventBus {
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Events emitted whose delivery has not ended yet (delivered with every copy, or given
    /// up after the last retry).
    in_flight: AtomicUsize,
}

impl EventBus {
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                tx,
                in_flight: AtomicUsize::new(0),
            },
            rx,
        )
    }

    pub(crate) fn emit(&self, event: Outgoing) {
        // Counted from here, so that "nothing in flight" is never seen between the emit and
        // the start of the delivery.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(event).is_err() {
            // After shutdown there is nobody to deliver to.
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// Ends one delivery's count when dropped, however the delivery ends.
struct Delivering(Arc<Shared>);

impl Drop for Delivering {
    fn drop(&mut self) {
        self.0.events.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

/// A v2 envelope: `{"schema":"2.0","header":{…},"event":{…}}`, created at `create_ms` on the
/// emulator's clock.
pub(crate) fn envelope_v2(
    app_id: &str,
    tenant_key: &str,
    token: &str,
    (event_type, create_ms): (&str, u64),
    event: Value,
) -> (String, Value) {
    let event_id = random_hex::<16>();
    let mut payload = json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "token": token,
            "create_time": create_ms.to_string(),
            "event_type": event_type,
            "tenant_key": tenant_key,
            "app_id": app_id,
        },
    });
    payload["event"] = event;
    (event_id, payload)
}

/// A v1 envelope: `{"ts","uuid","token","type":"event_callback","event":{…}}`.
pub(crate) fn envelope_v1(token: &str, event: Value) -> (String, Value) {
    let uuid = random_hex::<16>();
    let millis = now_millis();
    let mut payload = json!({
        "ts": format!("{}.{:03}", millis / 1000, millis % 1000),
        "uuid": uuid,
        "token": token,
        "type": "event_callback",
    });
    payload["event"] = event;
    (uuid, payload)
}

/// The body and headers of one delivery, encrypted and signed as configured.
pub(crate) struct Signed {
    pub(crate) body: Bytes,
    pub(crate) headers: Vec<(&'static str, String)>,
}

pub(crate) fn seal(payload: &Value, encrypt_key: &str) -> Signed {
    let plain = payload.to_string();
    let body = if encrypt_key.is_empty() {
        Bytes::from(plain)
    } else {
        Bytes::from(json!({ "encrypt": encrypt(encrypt_key, plain.as_bytes()) }).to_string())
    };
    let timestamp = now_secs().to_string();
    let nonce = random_hex::<8>();
    let mut headers = vec![
        ("content-type", "application/json; charset=utf-8".to_owned()),
        ("x-lark-request-timestamp", timestamp.clone()),
        ("x-lark-request-nonce", nonce.clone()),
    ];
    if !encrypt_key.is_empty() {
        headers.push((
            "x-lark-signature",
            sign(&timestamp, &nonce, encrypt_key, &body),
        ));
    }
    Signed { body, headers }
}

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Posts `signed` to `url`, waiting at most `timeout`.
pub(crate) async fn post(
    client: &HttpClient,
    url: &str,
    signed: &Signed,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), String> {
    let mut builder = http::Request::post(url);
    for (name, value) in &signed.headers {
        builder = builder.header(*name, value);
    }
    let request = builder
        .body(Full::new(signed.body.clone()))
        .map_err(|err| format!("bad webhook url {url}: {err}"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|err| format!("could not reach {url}: {err}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| format!("reading the answer from {url} failed: {err}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{url} did not answer within {} ms", timeout.as_millis()))?
}

/// Delivers events until the emulator is dropped. Each delivery runs in a task of this one's
/// set, so that dropping the emulator (which aborts this task) ends every delivery with it.
pub(crate) async fn run(shared: Weak<Shared>, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let client = http_client();
    let mut deliveries = JoinSet::new();
    loop {
        let mut event = tokio::select! {
            event = rx.recv() => match event {
                Some(event) => event,
                None => return,
            },
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => continue,
        };
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let long_connection = {
            let mut state = strong.state();
            event.duplicates = event.duplicates.max(state.extra_copies);
            if !event.redelivery {
                crate::server::remember(
                    &mut state.emitted,
                    EmittedEvent {
                        event_id: event.event_id.clone(),
                        event_type: event.event_type.clone(),
                        app_id: event.app_id.clone(),
                        payload: event.payload.clone(),
                    },
                );
            }
            state
                .apps
                .get(&event.app_id)
                .is_some_and(|app| app.config.subscription == Subscription::LongConnection)
        };
        strong.changed.notify_waiters();
        // The app's subscription mode decides the way, as in the developer console; there is
        // no fallback from one to the other.
        let delivering = Delivering(strong.clone());
        if long_connection {
            deliveries.spawn(async move {
                crate::ws::deliver(strong, event).await;
                drop(delivering);
            });
        } else {
            let client = client.clone();
            deliveries.spawn(async move {
                deliver(strong, client, event).await;
                drop(delivering);
            });
        }
    }
}

/// Keeps one delivery attempt's record and wakes those waiting on the state.
pub(crate) fn note_delivery(shared: &Shared, record: DeliveryRecord) {
    crate::server::remember(&mut shared.state().deliveries, record);
    shared.changed.notify_waiters();
}

impl DeliveryRecord {
    /// The record of attempt `attempt` at delivering `event`, with no status or answer yet.
    pub(crate) fn of(
        event: &Outgoing,
        attempt: u32,
        duplicate: bool,
        error: Option<String>,
        long_connection: bool,
    ) -> Self {
        Self {
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            attempt,
            status: None,
            error,
            answer: None,
            duplicate,
            long_connection,
        }
    }
}

/// Posts an event to the webhook, retried on the schedule while it fails.
async fn deliver(shared: Arc<Shared>, client: HttpClient, event: Outgoing) {
    let mut attempt = 1u32;
    let mut failures = 0usize;
    let mut copies_left = event.duplicates;
    let mut duplicate = event.redelivery;
    loop {
        let Some(webhook) = shared.state().config.webhook.clone() else {
            return;
        };
        if webhook.url.is_empty() {
            return;
        }
        let signed = seal(&event.payload, &webhook.encrypt_key);
        let timeout = Duration::from_millis(webhook.timeout_ms.max(1));
        let outcome = post(&client, &webhook.url, &signed, timeout).await;
        let (status, error) = match &outcome {
            Ok((status, _)) if *status == StatusCode::OK => (Some(status.as_u16()), None),
            Ok((status, body)) => (
                Some(status.as_u16()),
                Some(format!(
                    "answered {status}: {}",
                    String::from_utf8_lossy(body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                )),
            ),
            Err(err) => (None, Some(err.clone())),
        };
        let succeeded = error.is_none();
        let answer = outcome
            .as_ref()
            .ok()
            .map(|(_, body)| crate::state::kept_answer(body));
        note_delivery(
            &shared,
            DeliveryRecord {
                status,
                answer,
                ..DeliveryRecord::of(&event, attempt, duplicate, error, false)
            },
        );
        attempt += 1;
        if succeeded {
            if copies_left == 0 {
                return;
            }
            copies_left -= 1;
            duplicate = true;
            continue;
        }
        let Some(delay) = webhook.retry_delays_ms.get(failures) else {
            return;
        };
        failures += 1;
        tokio::time::sleep(Duration::from_millis(*delay)).await;
    }
}

/// A new card-callback token (`c-…`), valid for delayed updates.
pub(crate) fn callback_token() -> String {
    format!("c-{}", random_hex::<20>())
}
