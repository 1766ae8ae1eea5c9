#![doc = include_str!("../README.md")]

mod card;
mod crypto;
mod dedup;
mod dispatch;
mod error;
mod json;
mod receive;
mod secret;
mod server;
mod service;
mod sign;
mod types;

pub use card::{
    CardAction, CardActionData, CardCallbackKind, CardContext, CardOperator, CardResponse,
    CardUpdate, Toast, ToastKind,
};
pub use crypto::{decrypt, encrypt_with_iv, event_signature, legacy_card_signature};
pub use dedup::{DEFAULT_DEDUP_CAPACITY, DEFAULT_DEDUP_TTL, DedupError, DedupStore, MemoryDedup};
pub use dispatch::{
    AckPolicy, ChannelHandler, DEFAULT_ACK_WAIT, Delivery, Dispatched, Dispatcher, EventHandler,
    FnHandler, HandlerError, KeepCards, Overloaded, channel, handler_fn,
};
pub use error::{EventError, EventErrorKind, causes};
pub use receive::{
    Challenge, DEFAULT_FRESHNESS, DEFAULT_MAX_BODY, EventConfig, Incoming, MAX_FUTURE_SKEW, receive,
};
pub use secret::{EncryptKey, VerificationToken};
pub use server::{ServeOptions, ServerCounts, ServerStats};
pub use service::WebhookService;
#[cfg(feature = "axum")]
pub use service::axum_router;
pub use sign::{SignedRequest, sign_event, sign_legacy_card};
pub use types::{
    AppTicket, BotP2pChatEntered, ChatEvent, ChatMemberUserEvent, ChatType, ChatUpdated, ChatUser,
    Event, EventEnvelope, EventHeader, EventReactionType, EventSender, MessageRead,
    MessageRecalled, MessageReceived, ReactionEvent, Reader, RecallType, ReceivedMessage, Schema,
    SenderType,
};
