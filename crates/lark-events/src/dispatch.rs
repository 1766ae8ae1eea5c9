//! From a verified [`Incoming`] to the application: deduplication, the handler, and the
//! answer the platform gets — the same for webhooks and the long connection.

use crate::card::{CardAction, CardCallbackKind, CardResponse};
use crate::dedup::{DEFAULT_DEDUP_TTL, DedupKey, DedupStore, MemoryDedup};
use crate::receive::Incoming;
use crate::types::EventEnvelope;
use async_trait::async_trait;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::mpsc;

/// What a handler returns on failure.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The application's side: what to do with events and card callbacks.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Handles an event. An error releases the event's dedup keys and, when the answer has not
    /// gone out yet, makes the platform deliver it again.
    async fn handle_event(&self, event: EventEnvelope) -> Result<(), HandlerError>;

    /// Answers a card callback. The default leaves the card as it is.
    async fn handle_card(&self, action: CardAction) -> Result<CardResponse, HandlerError> {
        let _ = action;
        Ok(CardResponse::empty())
    }
}

/// A handler made of two async closures.
pub struct FnHandler<E, C> {
    on_event: E,
    on_card: C,
}

/// The card side of a handler made by [`handler_fn`]: cards stay as they are.
pub type KeepCards = fn(CardAction) -> std::future::Ready<Result<CardResponse, HandlerError>>;

/// A handler for events only, from an async closure.
///
/// ```
/// let handler = lark_events::handler_fn(|event: lark_events::EventEnvelope| async move {
///     println!("{}", event.header.event_type);
///     Ok(())
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<E, Fut>(on_event: E) -> FnHandler<E, KeepCards>
where
    E: Fn(EventEnvelope) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    FnHandler {
        on_event,
        on_card: |_| std::future::ready(Ok(CardResponse::empty())),
    }
}

impl<E, C> FnHandler<E, C> {
    /// Also answers card callbacks with `on_card`.
    pub fn on_card<C2, Fut>(self, on_card: C2) -> FnHandler<E, C2>
    where
        C2: Fn(CardAction) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CardResponse, HandlerError>> + Send + 'static,
    {
        FnHandler {
            on_event: self.on_event,
            on_card,
        }
    }
}

#[async_trait]
impl<E, EFut, C, CFut> EventHandler for FnHandler<E, C>
where
    E: Fn(EventEnvelope) -> EFut + Send + Sync + 'static,
    EFut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    C: Fn(CardAction) -> CFut + Send + Sync + 'static,
    CFut: Future<Output = Result<CardResponse, HandlerError>> + Send + 'static,
{
    async fn handle_event(&self, event: EventEnvelope) -> Result<(), HandlerError> {
        (self.on_event)(event).await
    }

    async fn handle_card(&self, action: CardAction) -> Result<CardResponse, HandlerError> {
        (self.on_card)(action).await
    }
}

/// A delivery handed to the application through a channel.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Delivery {
    /// An event.
    Event(Box<EventEnvelope>),
    /// A card callback, already answered with an empty response (the card stays).
    Card(Box<CardAction>),
}

/// A queue of the application's is full: it is not keeping up. A handler that fails with this
/// error is answered with 503, so the platform delivers the event again later.
#[derive(Debug, thiserror::Error)]
#[error("the event queue is full ({capacity} deliveries waiting); the platform will retry")]
pub struct Overloaded {
    capacity: usize,
}

impl Overloaded {
    /// A full queue of `capacity` deliveries.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self { capacity }
    }
}

/// A handler that puts every delivery on a bounded channel for the application to drain. When
/// the channel is full the delivery is refused with 503, so the platform delivers it again
/// later; nothing is dropped.
#[derive(Debug)]
pub struct ChannelHandler {
    tx: mpsc::Sender<Delivery>,
    capacity: usize,
}

/// A [`ChannelHandler`] and the receiving end of its channel.
#[must_use]
pub fn channel(capacity: usize) -> (ChannelHandler, mpsc::Receiver<Delivery>) {
    let capacity = capacity.max(1);
    let (tx, rx) = mpsc::channel(capacity);
    (ChannelHandler { tx, capacity }, rx)
}

#[async_trait]
impl EventHandler for ChannelHandler {
    async fn handle_event(&self, event: EventEnvelope) -> Result<(), HandlerError> {
        self.tx
            .try_send(Delivery::Event(Box::new(event)))
            .map_err(|_| {
                Box::new(Overloaded {
                    capacity: self.capacity,
                }) as HandlerError
            })
    }

    async fn handle_card(&self, action: CardAction) -> Result<CardResponse, HandlerError> {
        self.tx
            .try_send(Delivery::Card(Box::new(action)))
            .map_err(|_| {
                Box::new(Overloaded {
                    capacity: self.capacity,
                }) as HandlerError
            })?;
        Ok(CardResponse::empty())
    }
}

/// When an event is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckPolicy {
    /// Wait for the handler up to this long. If it succeeds, acknowledge; if it fails, answer
    /// with an error so the platform delivers again; if it is still running, acknowledge and
    /// let it finish (a later failure still releases the dedup keys).
    WaitUpTo(Duration),
    /// Acknowledge at once; the handler runs in the background.
    Immediately,
}

/// The platform expects an answer within 3 s; the default waits 2.5 s for the handler, keeping
/// half a second for the network.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_millis(2500);

impl Default for AckPolicy {
    fn default() -> Self {
        Self::WaitUpTo(DEFAULT_ACK_WAIT)
    }
}

/// What the platform is to be told.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Dispatched {
    /// Echo the challenge: the body to send.
    Challenge(String),
    /// Acknowledge (HTTP 200 `{"msg":"success"}`, WebSocket code 200).
    Acknowledged,
    /// Already handled: acknowledge and do nothing.
    Duplicate,
    /// The handler failed: answer with an error so the platform delivers again.
    Failed(String),
    /// The application is not keeping up: answer 503 so the platform delivers again.
    Overloaded,
    /// The answer to a card callback, as JSON.
    Card(Value),
}

/// The text of `err` and of each error under it, outermost first, joined by `: `; a cause
/// whose text is already shown is left out.
fn with_causes(err: &(dyn std::error::Error + 'static)) -> String {
    std::iter::once(err.to_string())
        .chain(crate::error::causes(err))
        .collect::<Vec<_>>()
        .join(": ")
}

/// What a handled event comes to: `Err((message, overloaded))` when the handler failed.
type Handled = Result<(), (String, bool)>;

/// Runs the handler on `event`; a failure releases the event's dedup keys.
fn handle(
    handler: Arc<dyn EventHandler>,
    dedup: Arc<dyn DedupStore>,
    event: EventEnvelope,
    keys: [Option<DedupKey>; 2],
) -> Pin<Box<dyn Future<Output = Handled> + Send>> {
    Box::pin(async move {
        let result = handler.handle_event(event).await;
        if let Err(err) = &result {
            let event = keys[0].as_ref().map_or("", DedupKey::as_str);
            tracing::warn!(
                event,
                error = &**err as &dyn std::error::Error,
                "event handler failed; its dedup keys are released"
            );
            for key in keys.iter().flatten() {
                let _ = dedup.release(key.as_str()).await;
            }
        }
        result.map_err(|err| (with_causes(&*err), err.is::<Overloaded>()))
    })
}

/// What a panic said, when it said it as text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Joins deduplication and a handler.
#[derive(Clone)]
pub struct Dispatcher {
    handler: Arc<dyn EventHandler>,
    dedup: Arc<dyn DedupStore>,
    ttl: Duration,
    ack: AckPolicy,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("ttl", &self.ttl)
            .field("ack", &self.ack)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// `handler` behind the default in-memory dedup store.
    pub fn new(handler: impl EventHandler) -> Self {
        Self {
            handler: Arc::new(handler),
            dedup: Arc::new(MemoryDedup::default()),
            ttl: DEFAULT_DEDUP_TTL,
            ack: AckPolicy::default(),
        }
    }

    /// Uses `store` for deduplication (a shared one, for several replicas).
    #[must_use]
    pub fn with_dedup(mut self, store: Arc<dyn DedupStore>) -> Self {
        self.dedup = store;
        self
    }

    /// How long dedup keys live.
    #[must_use]
    pub fn with_dedup_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// When events are acknowledged.
    #[must_use]
    pub fn with_ack(mut self, ack: AckPolicy) -> Self {
        self.ack = ack;
        self
    }

    /// Whether the event with this id is known to be handled already, as far as the dedup
    /// store can tell without waiting (the in-memory store can; a shared one is asked when the
    /// event is dispatched).
    pub(crate) fn seen_event(&self, event_id: &str) -> bool {
        let key = DedupKey::new("event", event_id);
        self.dedup.try_seen_now(key.as_str()).unwrap_or(false)
    }

    /// Dispatches one verified delivery.
    pub async fn dispatch(&self, incoming: Incoming) -> Dispatched {
        match incoming {
            Incoming::Challenge(challenge) => Dispatched::Challenge(challenge.response_body()),
            Incoming::Event(event) => self.event(*event).await,
            Incoming::CardAction(action) => self.card(*action).await,
        }
    }

    async fn event(&self, event: EventEnvelope) -> Dispatched {
        let keys = event.keys();
        for key in keys.iter().flatten() {
            let key = key.as_str();
            let marked = match self.dedup.try_mark_now(key, self.ttl) {
                Some(marked) => marked,
                None => self.dedup.mark_if_new(key, self.ttl).await,
            };
            match marked {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(key, "duplicate delivery dropped");
                    return Dispatched::Duplicate;
                }
                Err(err) => {
                    tracing::warn!(
                        key,
                        error = &err as &dyn std::error::Error,
                        "dedup store failed; refusing so the platform retries"
                    );
                    return Dispatched::Failed(with_causes(&err));
                }
            }
        }
        let held = keys.clone();
        let mut handling = handle(self.handler.clone(), self.dedup.clone(), event, keys);
        let wait = match self.ack {
            AckPolicy::Immediately => {
                tokio::spawn(handling);
                return Dispatched::Acknowledged;
            }
            AckPolicy::WaitUpTo(wait) => wait,
        };
        // A handler that finishes without waiting on anything is answered at once: no task,
        // no timer. One that waits goes on in a task, bounded by the ack wait.
        let first = std::future::poll_fn(|cx| {
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handling.as_mut().poll(cx)
            }));
            Poll::Ready(polled)
        })
        .await;
        let finished = match first {
            Ok(Poll::Ready(result)) => Ok(result),
            Ok(Poll::Pending) => match tokio::time::timeout(wait, tokio::spawn(handling)).await {
                Err(_) => return Dispatched::Acknowledged,
                Ok(Ok(result)) => Ok(result),
                Ok(Err(join)) => Err(join.to_string()),
            },
            Err(panic) => Err(panic_message(&*panic)),
        };
        match finished {
            Ok(Ok(())) => Dispatched::Acknowledged,
            Ok(Err((_, true))) => Dispatched::Overloaded,
            Ok(Err((message, false))) => Dispatched::Failed(message),
            Err(panic) => {
                for key in held.iter().flatten() {
                    let _ = self.dedup.release(key.as_str()).await;
                }
                Dispatched::Failed(format!("the event handler panicked: {panic}"))
            }
        }
    }

    async fn card(&self, action: CardAction) -> Dispatched {
        let legacy = action.kind == CardCallbackKind::Legacy;
        if let Some(header) = &action.header {
            let key = format!("event:{}", header.event_id);
            if let Ok(false) = self.dedup.mark_if_new(&key, self.ttl).await {
                return Dispatched::Card(serde_json::json!({}));
            }
        }
        let handler = self.handler.clone();
        let task = tokio::spawn(async move {
            handler
                .handle_card(action)
                .await
                .map_err(|err| err.to_string())
        });
        let wait = match self.ack {
            AckPolicy::WaitUpTo(wait) => wait,
            AckPolicy::Immediately => DEFAULT_ACK_WAIT,
        };
        let response = match tokio::time::timeout(wait, task).await {
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(err))) => {
                tracing::warn!(error = %err, "card handler failed; the card stays as it is");
                return Dispatched::Failed(err);
            }
            Ok(Err(join)) => {
                return Dispatched::Failed(format!("the card handler panicked: {join}"));
            }
            Err(_) => {
                tracing::warn!(
                    "card handler took longer than the platform waits; answering with an empty response"
                );
                CardResponse::empty()
            }
        };
        let body = if legacy {
            response.to_legacy_json()
        } else {
            serde_json::to_value(&response).unwrap_or_default()
        };
        Dispatched::Card(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::DedupError;

    #[test]
    fn a_failure_reason_names_each_cause_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "redis refused");
        let err = DedupError::because("mark the event as seen", refused);
        assert_eq!(
            with_causes(&err),
            "the dedup store could not mark the event as seen: redis refused"
        );
        let plain = DedupError::new("mark the event as seen: redis refused");
        assert_eq!(
            with_causes(&plain),
            "the dedup store could not mark the event as seen: redis refused"
        );
    }
}
