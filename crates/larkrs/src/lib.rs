#![doc = include_str!("../README.md")]
// On docs.rs, every item that needs a feature says which.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod areas;
#[cfg(feature = "bot")]
mod bot;
mod call;
mod cards;
mod client;
#[cfg(feature = "bot")]
mod conversation;
mod oauth;

pub use areas::{Chats, Files, Images, Members, Messages};
#[cfg(feature = "bot")]
#[cfg_attr(docsrs, doc(cfg(feature = "bot")))]
pub use bot::{Bot, BotBuilder, BotEvent, CardEvent, MessageEvent};
pub use call::{Call, List, Upload};
pub use cards::{
    CardStream, Cards, INTERRUPTED_NOTE, STREAM_CARD_MAX_BYTES, STREAM_ELEMENT_ID, StreamMode,
    Streamed,
};
pub use client::{Client, ClientBuilder};
#[cfg(feature = "bot")]
#[cfg_attr(docsrs, doc(cfg(feature = "bot")))]
pub use conversation::{BotIdentity, Conversation, ConversationStats, Ignored, OrderBy};
pub use oauth::{OAuth, Redirect, SignIn, SignInOutcome, SignIns};

/// The endpoints as values (`lark-api`), for calls the shortcuts do not cover.
pub use lark_api as api;
/// Message contents, ids, cards and mentions (`lark-content`).
pub use lark_content as content;
/// Webhook events and card callbacks (`lark-events`).
#[cfg(feature = "bot")]
#[cfg_attr(docsrs, doc(cfg(feature = "bot")))]
pub use lark_events as events;
/// The executor (`lark-http`): retry and token policies, stores, streaming transfers.
pub use lark_http as http;
/// Shared stores on Redis (`lark-redis`), for several replicas.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use lark_redis as redis;
/// The long connection (`lark-ws`): status, options, the frame format.
#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
pub use lark_ws as ws;

pub use lark_api::{BaseUrl, Receiver};
pub use lark_content::{
    AppId, Card, CardId, ChatId, Email, FileKey, ImageKey, MessageContent, MessageId, OpenId, Post,
    ReactionId, TenantKey, Text, UnionId, UserId,
};
#[cfg(feature = "bot")]
#[cfg_attr(docsrs, doc(cfg(feature = "bot")))]
pub use lark_events::{CardResponse, Event, ServeOptions, ToastKind};
pub use lark_http::{
    AnswerMeta, Error, ErrorKind, Existing, Quota, Quotas, RateLimiter, RetryPolicy, Saved,
    TokenPolicy, TransferLimit, TransferTimeouts, Usage, UserSession, UserTokenPair,
};
