//! The platform's state: apps and tokens, users, chats, messages, reactions, uploads, and what
//! arrived, for tests to inspect.

use crate::config::{AppConfig, ChatConfig, EmulatorConfig, UserConfig};
use crate::faults::Faults;
use crate::util::{new_id, now_millis, random_hex};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// A registered app and its token state.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub(crate) config: AppConfig,
    /// The latest app ticket pushed to a marketplace app.
    pub(crate) ticket: Option<String>,
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TokenKind {
    Tenant,
    App,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) app_id: String,
    pub(crate) kind: TokenKind,
    pub(crate) expires_at: Instant,
    pub(crate) revoked: bool,
}

/// A user.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) open_id: String,
    pub(crate) union_id: String,
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) resigned: bool,
}

impl User {
    pub(crate) fn from_config(config: &UserConfig) -> Self {
        let open_id = if config.open_id.is_empty() {
            new_id("ou_")
        } else {
            config.open_id.clone()
        };
        let tail = open_id.trim_start_matches("ou_").to_owned();
        let short: String = tail.chars().take(8).collect();
        Self {
            name: config.name.clone(),
            resigned: config.resigned,
            union_id: if config.union_id.is_empty() {
                format!("on_{tail}")
            } else {
                config.union_id.clone()
            },
            user_id: if config.user_id.is_empty() {
                format!("u{short}")
            } else {
                config.user_id.clone()
            },
            email: if config.email.is_empty() {
                format!(
                    "{}@emulator.example",
                    config.name.to_lowercase().replace(' ', ".")
                )
            } else {
                config.email.clone()
            },
            open_id,
        }
    }

    /// The `{"union_id","user_id","open_id"}` object events carry.
    pub(crate) fn ids(&self) -> Value {
        json!({ "union_id": self.union_id, "user_id": self.user_id, "open_id": self.open_id })
    }
}

/// The chat's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChatMode {
    Group,
    P2p,
}

/// A chat.
#[derive(Clone, Debug)]
pub(crate) struct Chat {
    pub(crate) chat_id: String,
    pub(crate) mode: ChatMode,
    pub(crate) name: String,
    pub(crate) description: String,
    /// The owner: a user's open_id or a bot's app_id.
    pub(crate) owner: String,
    pub(crate) users: Vec<String>,
    pub(crate) bots: Vec<String>,
    pub(crate) dissolved: bool,
    pub(crate) created_ms: u64,
    pub(crate) last_active_ms: u64,
    /// Settings as the platform names them (chat_type, i18n_names, permissions, …).
    pub(crate) settings: serde_json::Map<String, Value>,
}

impl Chat {
    pub(crate) fn has_bot(&self, app_id: &str) -> bool {
        self.bots.iter().any(|b| b == app_id)
    }

    pub(crate) fn has_user(&self, open_id: &str) -> bool {
        self.users.iter().any(|u| u == open_id)
    }
}

/// Who sent a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Author {
    Bot(String),
    User(String),
}

/// A stored message.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub(crate) message_id: String,
    pub(crate) root_id: Option<String>,
    pub(crate) parent_id: Option<String>,
    pub(crate) thread_id: Option<String>,
    pub(crate) msg_type: String,
    /// The content string as sent (send side form for bots, received form for users).
    pub(crate) content: String,
    pub(crate) create_ms: u64,
    pub(crate) update_ms: u64,
    pub(crate) deleted: bool,
    pub(crate) updated: bool,
    pub(crate) chat_id: String,
    pub(crate) author: Author,
    /// Who the `@_user_N` placeholders in `content` stand for.
    pub(crate) mentions: Vec<MentionRec>,
    pub(crate) upper_message_id: Option<String>,
    /// The idempotency uuid the message was created with.
    pub(crate) uuid: Option<String>,
    pub(crate) edits: u32,
    pub(crate) reactions: Vec<Reaction>,
}

/// One mention placeholder and who it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MentionRec {
    pub(crate) key: String,
    pub(crate) target: Author,
    pub(crate) name: String,
}

/// A pin.
#[derive(Clone, Debug)]
pub(crate) struct PinRec {
    pub(crate) message_id: String,
    pub(crate) chat_id: String,
    /// A user's open_id or a bot's app_id.
    pub(crate) operator_id: String,
    /// `open_id` or `app_id`.
    pub(crate) operator_id_type: &'static str,
    pub(crate) create_ms: u64,
}

impl PinRec {
    /// The pin as the documentation's pin object.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "operator_id": self.operator_id,
            "operator_id_type": self.operator_id_type,
            "create_time": self.create_ms.to_string(),
        })
    }
}

/// A reaction.
#[derive(Clone, Debug)]
pub(crate) struct Reaction {
    pub(crate) reaction_id: String,
    pub(crate) emoji_type: String,
    /// `app` or `user`.
    pub(crate) operator_type: &'static str,
    pub(crate) operator_id: String,
    pub(crate) action_ms: u64,
}

impl Reaction {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "reaction_id": self.reaction_id,
            "operator": { "operator_id": self.operator_id, "operator_type": self.operator_type },
            "action_time": self.action_ms.to_string(),
            "reaction_type": { "emoji_type": self.emoji_type },
        })
    }
}

/// An uploaded image or file.
#[derive(Clone, Debug)]
pub(crate) struct Blob {
    pub(crate) bytes: Bytes,
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    /// The upload's `file_type` (files) or `image_type` (images).
    pub(crate) kind: String,
    /// The app that uploaded it; `None` for resources users sent.
    pub(crate) owner: Option<String>,
}

/// One request the emulator answered, for tests.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The HTTP status answered (0 when the connection was dropped).
    pub status: u16,
    /// The platform code answered (0 for success and binary answers).
    pub code: i64,
    /// The log id answered.
    pub log_id: String,
}

/// One event delivery attempt, for tests.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// The event id (v2) or uuid (v1).
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// 1 for the first attempt, then 2, 3, …
    pub attempt: u32,
    /// The HTTP status the app answered, if it answered.
    pub status: Option<u16>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    /// What the app answered: the webhook's response body, or the data of the long
    /// connection's ack, as text (its first 4 KiB).
    pub answer: Option<String>,
    /// Whether this delivery was a deliberate duplicate.
    pub duplicate: bool,
    /// Whether it was pushed over the long connection (else posted to the webhook).
    pub long_connection: bool,
}

/// The most of an app's answer a delivery record keeps.
pub(crate) const ANSWER_KEPT: usize = 4096;

/// `bytes` as text, cut to [`ANSWER_KEPT`] bytes at a character boundary.
pub(crate) fn kept_answer(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut end = text.len().min(ANSWER_KEPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The whole state.
pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    pub(crate) apps: BTreeMap<String, App>,
    pub(crate) tokens: HashMap<String, Token>,
    /// The current token per app, kind and tenant.
    pub(crate) current: HashMap<(String, TokenKind, String), String>,
    pub(crate) token_fetches: BTreeMap<String, u64>,
    pub(crate) users: Vec<User>,
    pub(crate) chats: BTreeMap<String, Chat>,
    pub(crate) messages: HashMap<String, Message>,
    /// Quota mode's windows and refusals.
    pub(crate) quotas: crate::quota::QuotaState,
    /// Message ids in creation order.
    pub(crate) order: Vec<String>,
    /// (app_id, uuid) → (message id, when).
    pub(crate) send_uuids: HashMap<(String, String), (String, Instant)>,
    /// (app_id, uuid, owner) → (chat id, when).
    pub(crate) chat_uuids: HashMap<(String, String, String), (String, Instant)>,
    /// How many send/reply/forward requests carried each uuid.
    pub(crate) uuid_attempts: HashMap<String, u64>,
    pub(crate) images: HashMap<String, Blob>,
    pub(crate) files: HashMap<String, Blob>,
    pub(crate) batches: HashMap<String, Vec<String>>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) deliveries: Vec<DeliveryRecord>,
    pub(crate) emitted: Vec<crate::events::EmittedEvent>,
    pub(crate) faults: Faults,
    /// Toasts returned to card clicks, newest last.
    pub(crate) toasts: Vec<Value>,
    /// Pinned messages, oldest pin first.
    pub(crate) pins: Vec<PinRec>,
    /// Who read each message, and when (ms), first read first.
    pub(crate) reads: HashMap<String, Vec<(String, u64)>>,
    /// Urgent notifications sent, oldest first.
    pub(crate) urgent: Vec<Value>,
    /// Every reaction added or removed, by the bot or a user, oldest first.
    pub(crate) reaction_log: Vec<Value>,
    /// Extra copies of every event to deliver, on purpose.
    pub(crate) extra_copies: u32,
    /// The long connection.
    pub(crate) ws: crate::ws::WsState,
    /// How far the emulator's clock is ahead of the real one ([`crate::Emulator::advance_time`]).
    pub(crate) clock_offset: Duration,
    /// How far it was set back ([`crate::Emulator::rewind_time`]).
    pub(crate) clock_behind: Duration,
    /// The instant and wall-clock milliseconds the clock stopped at, while it is stopped
    /// ([`crate::Emulator::stop_time`]).
    pub(crate) stopped_at: Option<(Instant, u64)>,
    /// Users' sign-ins: codes, token pairs, device authorizations.
    pub(crate) oauth: crate::routes::oauth::OAuthState,
    /// CardKit card entities, by card id.
    pub(crate) cards: HashMap<String, crate::routes::cardkit::CardEntity>,
    /// Card operations refused for the 10-a-second limit on one card.
    pub(crate) card_rate_refusals: u64,
}

/// How long a send uuid deduplicates (the platform: 1 hour).
pub(crate) const SEND_UUID_WINDOW: Duration = Duration::from_secs(3600);
/// How long a chat-creation uuid deduplicates (the platform: 10 hours).
pub(crate) const CHAT_UUID_WINDOW: Duration = Duration::from_secs(36_000);

impl State {
    pub(crate) fn new(config: EmulatorConfig) -> Self {
        let faults = Faults::new(config.fault_seed);
        let mut state = Self {
            apps: BTreeMap::new(),
            users: Vec::new(),
            chats: BTreeMap::new(),
            config,
            tokens: HashMap::new(),
            current: HashMap::new(),
            token_fetches: BTreeMap::new(),
            messages: HashMap::new(),
            quotas: crate::quota::QuotaState::default(),
            order: Vec::new(),
            send_uuids: HashMap::new(),
            chat_uuids: HashMap::new(),
            uuid_attempts: HashMap::new(),
            images: HashMap::new(),
            files: HashMap::new(),
            batches: HashMap::new(),
            requests: Vec::new(),
            deliveries: Vec::new(),
            emitted: Vec::new(),
            faults,
            toasts: Vec::new(),
            pins: Vec::new(),
            reads: HashMap::new(),
            urgent: Vec::new(),
            reaction_log: Vec::new(),
            extra_copies: 0,
            ws: crate::ws::WsState::default(),
            clock_offset: Duration::ZERO,
            clock_behind: Duration::ZERO,
            stopped_at: None,
            oauth: crate::routes::oauth::OAuthState::default(),
            cards: HashMap::new(),
            card_rate_refusals: 0,
        };
        for app in state.config.apps.clone() {
            state.add_app(app);
        }
        for user in state.config.users.clone() {
            state.add_user(&user);
        }
        for chat in state.config.chats.clone() {
            state.add_chat(&chat);
        }
        state
    }

    /// Makes `message` a reply to `parent`: under its root, and in its thread when the parent
    /// is in one or `in_thread` starts one (a thread's replies all name its root as parent).
    pub(crate) fn place_reply(&mut self, parent: &Message, message: &mut Message, in_thread: bool) {
        let root = parent
            .root_id
            .clone()
            .unwrap_or_else(|| parent.message_id.clone());
        message.root_id = Some(root.clone());
        message.parent_id = Some(parent.message_id.clone());
        if in_thread || parent.thread_id.is_some() {
            let thread = parent
                .thread_id
                .clone()
                .unwrap_or_else(|| format!("omt_{}", random_hex::<6>()));
            if let Some(stored_parent) = self.messages.get_mut(&parent.message_id) {
                stored_parent.thread_id = Some(thread.clone());
            }
            message.thread_id = Some(thread);
            message.parent_id = Some(root);
        }
    }

    /// Registers an app, replacing one with the same app_id.
    pub(crate) fn add_app(&mut self, config: AppConfig) {
        self.apps.insert(
            config.app_id.clone(),
            App {
                config,
                ticket: None,
            },
        );
    }

    /// Adds a user of the tenant; the ids left empty are derived. Returns the user as added.
    pub(crate) fn add_user(&mut self, config: &UserConfig) -> &User {
        self.users.push(User::from_config(config));
        &self.users[self.users.len() - 1]
    }

    /// Adds a group chat with its members and bots, owned by its first bot (else its first
    /// member). Returns its chat_id, made up when left empty.
    pub(crate) fn add_chat(&mut self, chat: &ChatConfig) -> String {
        let chat_id = if chat.chat_id.is_empty() {
            new_id("oc_")
        } else {
            chat.chat_id.clone()
        };
        let owner = chat
            .bots
            .first()
            .cloned()
            .or_else(|| chat.members.first().cloned())
            .unwrap_or_default();
        let now = now_millis();
        let mut settings = default_chat_settings();
        if chat.topic {
            settings.insert("group_message_type".to_owned(), json!("thread"));
        }
        let stored = Chat {
            chat_id: chat_id.clone(),
            mode: ChatMode::Group,
            name: chat.name.clone(),
            description: String::new(),
            owner,
            users: chat.members.clone(),
            bots: chat.bots.clone(),
            dissolved: false,
            created_ms: now,
            last_active_ms: now,
            settings,
        };
        self.chats.insert(chat_id.clone(), stored);
        chat_id
    }

    /// The emulator's time: the real monotonic clock plus what tests advanced it by. Token
    /// lifetimes and idempotency windows are measured on it.
    /// The emulator's wall clock in milliseconds, moved on by [`crate::Emulator::advance_time`].
    pub(crate) fn now_millis(&self) -> u64 {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.stopped_at
            .map_or_else(crate::util::now_millis, |(_, millis)| millis)
            .saturating_add(millis(self.clock_offset))
            .saturating_sub(millis(self.clock_behind))
    }

    pub(crate) fn now(&self) -> Instant {
        let ahead = self.stopped_at.map_or_else(Instant::now, |(at, _)| at) + self.clock_offset;
        ahead.checked_sub(self.clock_behind).unwrap_or(ahead)
    }

    /// Notes a reaction added or removed, for [`crate::Emulator::reaction_timeline`].
    pub(crate) fn log_reaction(&mut self, message_id: &str, reaction: &Reaction, added: bool) {
        let at = self.now_millis();
        self.reaction_log.push(json!({
            "message_id": message_id,
            "action": if added { "added" } else { "removed" },
            "reaction_id": reaction.reaction_id,
            "emoji_type": reaction.emoji_type,
            "operator_type": reaction.operator_type,
            "operator_id": reaction.operator_id,
            "at": at,
        }));
    }

    pub(crate) fn user_by(&self, id_type: &str, id: &str) -> Option<&User> {
        self.users.iter().find(|user| match id_type {
            "open_id" => user.open_id == id,
            "union_id" => user.union_id == id,
            "user_id" => user.user_id == id,
            "email" => user.email == id,
            _ => false,
        })
    }

    pub(crate) fn user_by_any(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|user| {
            user.open_id == id || user.union_id == id || user.user_id == id || user.email == id
        })
    }

    pub(crate) fn user_name(&self, open_id: &str) -> String {
        self.user_by("open_id", open_id)
            .map_or_else(|| open_id.to_owned(), |u| u.name.clone())
    }

    pub(crate) fn app_by_bot_open_id(&self, open_id: &str) -> Option<&App> {
        self.apps
            .values()
            .find(|app| app.config.bot_open_id == open_id)
    }

    /// The p2p chat between `app_id`'s bot and `open_id`, created on first use.
    pub(crate) fn p2p_chat(&mut self, app_id: &str, open_id: &str) -> String {
        if let Some(chat) = self.chats.values().find(|chat| {
            chat.mode == ChatMode::P2p && chat.has_bot(app_id) && chat.has_user(open_id)
        }) {
            return chat.chat_id.clone();
        }
        let chat_id = new_id("oc_");
        let now = now_millis();
        self.chats.insert(
            chat_id.clone(),
            Chat {
                chat_id: chat_id.clone(),
                mode: ChatMode::P2p,
                name: String::new(),
                description: String::new(),
                owner: app_id.to_owned(),
                users: vec![open_id.to_owned()],
                bots: vec![app_id.to_owned()],
                dissolved: false,
                created_ms: now,
                last_active_ms: now,
                settings: serde_json::Map::new(),
            },
        );
        chat_id
    }

    /// Stores a new message and returns its id.
    pub(crate) fn insert_message(&mut self, mut message: Message) -> String {
        if message.message_id.is_empty() {
            message.message_id = new_id("om_");
        }
        let id = message.message_id.clone();
        if let Some(chat) = self.chats.get_mut(&message.chat_id) {
            chat.last_active_ms = message.create_ms;
            // In a topic group a message that answers nothing starts a topic: its thread.
            let topics = chat
                .settings
                .get("group_message_type")
                .and_then(Value::as_str)
                == Some("thread");
            if topics && message.parent_id.is_none() && message.thread_id.is_none() {
                message.thread_id = Some(format!("omt_{}", random_hex::<6>()));
            }
        }
        self.order.push(id.clone());
        self.messages.insert(id.clone(), message);
        id
    }

    /// The message as the REST endpoints return it.
    pub(crate) fn message_json(&self, message: &Message) -> Value {
        let (sender_id, id_type, sender_type, tenant_key) = match &message.author {
            Author::Bot(app_id) => {
                let tenant = self
                    .apps
                    .get(app_id)
                    .map(|a| a.config.tenant_key.clone())
                    .unwrap_or_default();
                (app_id.clone(), "app_id", "app", tenant)
            }
            Author::User(open_id) => (open_id.clone(), "open_id", "user", self.tenant_key()),
        };
        let mut out = json!({
            "message_id": message.message_id,
            "msg_type": message.msg_type,
            "create_time": message.create_ms.to_string(),
            "update_time": message.update_ms.to_string(),
            "deleted": message.deleted,
            "updated": message.updated,
            "chat_id": message.chat_id,
            "sender": { "id": sender_id, "id_type": id_type, "sender_type": sender_type, "tenant_key": tenant_key },
            // A recalled message comes back without content.
            "body": if message.deleted { json!({}) } else { json!({ "content": message.content }) },
        });
        let Value::Object(object) = &mut out else {
            return out;
        };
        for (key, value) in [
            ("root_id", &message.root_id),
            ("parent_id", &message.parent_id),
            ("thread_id", &message.thread_id),
            ("upper_message_id", &message.upper_message_id),
        ] {
            if let Some(value) = value {
                object.insert(key.to_owned(), Value::String(value.clone()));
            }
        }
        if !message.mentions.is_empty() {
            let mentions = message
                .mentions
                .iter()
                .map(|m| self.mention_rest(m))
                .collect();
            object.insert("mentions".to_owned(), Value::Array(mentions));
        }
        out
    }

    /// A mention as the REST endpoints write it: `{"key","id","id_type","name","tenant_key"}`.
    pub(crate) fn mention_rest(&self, mention: &MentionRec) -> Value {
        let (id, id_type) = match &mention.target {
            Author::User(open_id) => (open_id.clone(), "open_id"),
            Author::Bot(app_id) => (app_id.clone(), "app_id"),
        };
        json!({ "key": mention.key, "id": id, "id_type": id_type, "name": mention.name, "tenant_key": self.tenant_key() })
    }

    /// A mention as events write it: `{"key","id":{…},"name","tenant_key","mentioned_type"}`.
    pub(crate) fn mention_event(&self, mention: &MentionRec) -> Value {
        let (ids, kind) = match &mention.target {
            Author::User(open_id) => (
                self.user_by("open_id", open_id)
                    .map_or_else(|| json!({ "open_id": open_id }), User::ids),
                "user",
            ),
            Author::Bot(app_id) => (
                json!({ "open_id": self.apps.get(app_id).map(|a| a.config.bot_open_id.clone()).unwrap_or_default() }),
                "bot",
            ),
        };
        json!({ "key": mention.key, "id": ids, "name": mention.name, "tenant_key": self.tenant_key(), "mentioned_type": kind })
    }

    /// The tenant every user and chat of this emulator belongs to.
    pub(crate) fn tenant_key(&self) -> String {
        self.apps
            .values()
            .next()
            .map(|a| a.config.tenant_key.clone())
            .unwrap_or_default()
    }

    /// Issues (or re-issues) a token for an app, following the platform's rule: the same token
    /// while it has at least the refresh window left, a new one after.
    pub(crate) fn issue_token(
        &mut self,
        app_id: &str,
        kind: TokenKind,
        tenant_key: &str,
    ) -> (String, u64) {
        *self.token_fetches.entry(app_id.to_owned()).or_default() += 1;
        let ttl = Duration::from_secs(self.config.token_ttl_secs);
        let window = Duration::from_secs(self.config.token_refresh_window_secs);
        let now = self.now();
        let key = (app_id.to_owned(), kind, tenant_key.to_owned());
        if let Some(token) = self.current.get(&key)
            && let Some(info) = self.tokens.get(token)
            && !info.revoked
        {
            let left = info.expires_at.saturating_duration_since(now);
            if left >= window && !left.is_zero() {
                return (token.clone(), left.as_secs());
            }
        }
        let prefix = match (
            kind,
            self.apps.get(app_id).is_some_and(|a| a.config.marketplace),
        ) {
            (TokenKind::App, true) => "a-",
            _ => "t-",
        };
        let token = format!("{prefix}{}", random_hex::<20>());
        self.tokens.insert(
            token.clone(),
            Token {
                app_id: app_id.to_owned(),
                kind,
                expires_at: now + ttl,
                revoked: false,
            },
        );
        self.current.insert(key, token.clone());
        (token, ttl.as_secs())
    }

    /// Revokes every token of `app_id`.
    pub(crate) fn revoke_tokens(&mut self, app_id: &str) {
        for token in self.tokens.values_mut().filter(|t| t.app_id == app_id) {
            token.revoked = true;
        }
    }
}

pub(crate) fn default_chat_settings() -> serde_json::Map<String, Value> {
    let settings = json!({
        "chat_type": "private",
        "group_message_type": "chat",
        "add_member_permission": "all_members",
        "share_card_permission": "allowed",
        "at_all_permission": "all_members",
        "edit_permission": "all_members",
        "join_message_visibility": "all_members",
        "leave_message_visibility": "all_members",
        "membership_approval": "no_approval_required",
        "moderation_permission": "all_members",
        "external": false,
    });
    match settings {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kept_answer_is_cut_at_a_character_boundary() {
        let long = "é".repeat(super::ANSWER_KEPT);
        let kept = super::kept_answer(long.as_bytes());
        assert!(kept.len() <= super::ANSWER_KEPT);
        assert!(kept.len() >= super::ANSWER_KEPT - 1);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(super::kept_answer(b"{}"), "{}");
    }
}
