//! The conversation layer of a [`Bot`](crate::Bot): which messages it answers, in what order,
//! and the sign that it is working on one.

use crate::{Client, MessageEvent};
use lark_api::im::messages::GetMessage;
use lark_api::im::model::SenderType as RestSender;
use lark_content::{ChatId, MessageId, OpenId, ReactionId};
use lark_events::{ChatType, EventHeader, HandlerError, Overloaded, ReceivedMessage, SenderType};
use lark_http::Error;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, OnceCell, Semaphore, mpsc};

pub(crate) type MessageFn = Arc<
    dyn Fn(MessageEvent) -> Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>
        + Send
        + Sync,
>;

/// Who the bot is, from `GET /open-apis/bot/v3/info`. A [`Bot`](crate::Bot) asks once and
/// keeps the answer for as long as it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BotIdentity {
    /// The bot's open_id: how mentions and senders name it.
    pub open_id: OpenId,
    /// The app's name, as people see it.
    pub app_name: String,
}

impl From<lark_api::bot::BotInfo> for BotIdentity {
    fn from(info: lark_api::bot::BotInfo) -> Self {
        Self {
            open_id: info.open_id,
            app_name: info.app_name,
        }
    }
}

/// Where the bot's identity is kept once learned, shared by the bot's clones.
pub(crate) type IdentityCell = Arc<OnceCell<Arc<BotIdentity>>>;

/// Learns the bot's identity on first use; later calls answer from memory.
pub(crate) async fn identity(
    cell: &IdentityCell,
    client: &Client,
) -> Result<Arc<BotIdentity>, Error> {
    cell.get_or_try_init(|| async { client.bot_info().await.map(|info| Arc::new(info.into())) })
        .await
        .cloned()
}

/// Why a message was not handed to the handler. Each is counted in [`ConversationStats`] and
/// logged at debug level (`Stale` at info).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ignored {
    /// Created longer ago than [`Conversation::max_event_age`]: a redelivery after an outage.
    Stale,
    /// Sent by this bot.
    OwnMessage,
    /// Sent by another bot ([`Conversation::answer_bots`] is off).
    FromBot,
    /// The chat is on the deny list.
    DeniedChat,
    /// The sender is on the deny list.
    DeniedUser,
    /// There is an allow list, and neither the chat nor the sender is on it.
    NotAllowed,
    /// A group message that does not address the bot: no mention, and none of the other
    /// triggers the rules turn on.
    NotAddressed,
}

impl Ignored {
    const ALL: [Self; 7] = [
        Self::Stale,
        Self::OwnMessage,
        Self::FromBot,
        Self::DeniedChat,
        Self::DeniedUser,
        Self::NotAllowed,
        Self::NotAddressed,
    ];

    /// The reason as a short name, as logs and metrics write it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::OwnMessage => "own_message",
            Self::FromBot => "from_bot",
            Self::DeniedChat => "denied_chat",
            Self::DeniedUser => "denied_user",
            Self::NotAllowed => "not_allowed",
            Self::NotAddressed => "not_addressed",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one queue holds: the messages of one chat, or of one thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderBy {
    /// One queue per chat: a chat's messages are handled one at a time, threads included.
    #[default]
    Chat,
    /// One queue per thread (and one for the chat's messages outside threads): threads of one
    /// chat are handled at the same time.
    Thread,
}

/// The rules of a bot in conversation: which messages it answers, in what order, how many at
/// once, and when it shows that it is working. Turned on with
/// [`BotBuilder::conversation`](crate::BotBuilder::conversation).
///
/// The defaults, and why:
/// - one-to-one chats: every message is answered (the person is talking to the bot);
/// - groups: only messages that @-mention the bot (a busy group is not a conversation with it);
///   `@all` does not count as a mention of the bot;
/// - messages from bots, this one included, are not answered (two bots answering each other
///   never stop);
/// - messages created more than 10 minutes ago are dropped: the platform redelivers an event
///   for hours after an outage, and an answer that late reads as a bug;
/// - one chat's messages are handled one at a time, in the order they arrived; at most 32
///   chats at once; at most 16 messages waiting per chat and 1,024 over all chats. A delivery
///   that finds its queue full is refused with 503, and the platform delivers it again later:
///   nothing is dropped;
/// - a "Typing" reaction appears on the message when its handler runs longer than 1 s, and is
///   removed when the handler ends, even when it fails or panics.
///
/// ```
/// use lark::{ChatId, Conversation};
/// use std::time::Duration;
///
/// let rules = Conversation::default()
///     .answer_at_all(true)
///     .prefix("/ask")
///     .deny_chat(ChatId::new("oc_5ad11d72b830411d72b836c20"))
///     .max_event_age(Some(Duration::from_secs(300)));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Conversation {
    group: GroupTriggers,
    answer_bots: bool,
    allow_chats: HashSet<ChatId>,
    deny_chats: HashSet<ChatId>,
    allow_users: HashSet<OpenId>,
    deny_users: HashSet<OpenId>,
    max_event_age: Option<Duration>,
    order_by: OrderBy,
    max_concurrent_chats: usize,
    queue_per_chat: usize,
    max_waiting: usize,
    typing_after: Option<Duration>,
    typing_emoji: String,
}

/// What makes a group message one the bot answers, beside a mention of it.
#[derive(Clone, Debug, Default)]
struct GroupTriggers {
    every_message: bool,
    at_all: bool,
    replies_to_bot: bool,
    prefixes: Vec<String>,
}

impl Default for Conversation {
    fn default() -> Self {
        Self {
            group: GroupTriggers::default(),
            answer_bots: false,
            allow_chats: HashSet::new(),
            deny_chats: HashSet::new(),
            allow_users: HashSet::new(),
            deny_users: HashSet::new(),
            max_event_age: Some(Duration::from_secs(600)),
            order_by: OrderBy::Chat,
            max_concurrent_chats: 32,
            queue_per_chat: 16,
            max_waiting: 1024,
            typing_after: Some(Duration::from_secs(1)),
            typing_emoji: "Typing".to_owned(),
        }
    }
}

impl Conversation {
    /// Answers every group message the bot receives, mentioned or not (default: off). The
    /// platform delivers unmentioned group messages only to apps with the scope to read all
    /// group messages.
    pub fn answer_every_group_message(mut self, on: bool) -> Self {
        self.group.every_message = on;
        self
    }

    /// Answers group messages that mention `@all` (default: off).
    pub fn answer_at_all(mut self, on: bool) -> Self {
        self.group.at_all = on;
        self
    }

    /// Answers group messages that reply to one of the bot's messages (default: off). Each
    /// such reply costs one call to read the message it answers.
    pub fn answer_replies_to_bot(mut self, on: bool) -> Self {
        self.group.replies_to_bot = on;
        self
    }

    /// Answers group messages whose text, mentions left out, starts with `prefix` (`/ask`,
    /// say). May be given several times.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        if !prefix.trim().is_empty() {
            self.group.prefixes.push(prefix.trim().to_owned());
        }
        self
    }

    /// Answers messages other bots send (default: off). The bot's own messages are never
    /// answered.
    pub fn answer_bots(mut self, on: bool) -> Self {
        self.answer_bots = on;
        self
    }

    /// Answers in `chat`. With any allow list set, a message is answered only when its chat or
    /// its sender is on one.
    pub fn allow_chat(mut self, chat: ChatId) -> Self {
        self.allow_chats.insert(chat);
        self
    }

    /// Answers messages from `user`, in any chat; see [`allow_chat`](Self::allow_chat).
    pub fn allow_user(mut self, user: OpenId) -> Self {
        self.allow_users.insert(user);
        self
    }

    /// Never answers in `chat`. The deny lists win over the allow lists.
    pub fn deny_chat(mut self, chat: ChatId) -> Self {
        self.deny_chats.insert(chat);
        self
    }

    /// Never answers `user`.
    pub fn deny_user(mut self, user: OpenId) -> Self {
        self.deny_users.insert(user);
        self
    }

    /// Drops messages created longer ago than this (default: 10 minutes); `None` keeps every
    /// message, however old.
    pub fn max_event_age(mut self, age: Option<Duration>) -> Self {
        self.max_event_age = age;
        self
    }

    /// What one queue holds (default: [`OrderBy::Chat`]).
    pub fn order_by(mut self, order: OrderBy) -> Self {
        self.order_by = order;
        self
    }

    /// How many chats (or threads) are handled at the same time (default: 32; at least 1).
    pub fn max_concurrent_chats(mut self, chats: usize) -> Self {
        self.max_concurrent_chats = chats.max(1);
        self
    }

    /// How many messages of one chat may wait while one of its messages is handled (default:
    /// 16; at least 1). One more is refused with 503, for the platform to deliver again.
    pub fn queue_per_chat(mut self, messages: usize) -> Self {
        self.queue_per_chat = messages.max(1);
        self
    }

    /// How many messages may be queued or handled at once, over every chat (default: 1,024;
    /// at least 1): the bound on the memory the queues take however many chats write at
    /// once. One more is refused with 503, for the platform to deliver again.
    pub fn max_waiting(mut self, messages: usize) -> Self {
        self.max_waiting = messages.max(1);
        self
    }

    /// Shows the typing reaction once a handler has run this long (default: 1 s); `None`
    /// never shows it.
    pub fn typing_after(mut self, after: Option<Duration>) -> Self {
        self.typing_after = after;
        self
    }

    /// The reaction that shows the bot is working (default: `Typing`): an `emoji_type` from
    /// the platform's emoji list.
    pub fn typing_emoji(mut self, emoji_type: impl Into<String>) -> Self {
        self.typing_emoji = emoji_type.into();
        self
    }
}

/// What a bot in conversation did, counted since it was built: [`Bot::stats`](crate::Bot::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConversationStats {
    /// Messages whose handler succeeded.
    pub handled: u64,
    /// Messages whose handler returned an error (logged at warn level).
    pub failed: u64,
    /// Messages whose handler panicked (logged at error level).
    pub panicked: u64,
    /// Deliveries refused because their chat's queue, or all the queues together, were full;
    /// the platform delivers them again.
    pub refused_queue_full: u64,
    /// Times the typing reaction was shown.
    pub typing_shown: u64,
    ignored: [u64; 7],
}

impl ConversationStats {
    /// Messages not answered for `reason`.
    #[must_use]
    pub fn ignored(&self, reason: Ignored) -> u64 {
        self.ignored[reason.index()]
    }

    /// Messages not answered, for any reason.
    #[must_use]
    pub fn ignored_total(&self) -> u64 {
        self.ignored.iter().sum()
    }
}

#[derive(Default)]
struct Counters {
    handled: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    refused_queue_full: AtomicU64,
    typing_shown: AtomicU64,
    ignored: [AtomicU64; 7],
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

struct Job {
    event: MessageEvent,
    handler: MessageFn,
}

/// The running rules: screens each message, queues it per chat, runs the handler.
pub(crate) struct Engine {
    rules: Conversation,
    identity: IdentityCell,
    queues: Mutex<HashMap<Box<str>, mpsc::Sender<Job>>>,
    permits: Arc<Semaphore>,
    counters: Counters,
    /// Messages queued or being handled, and who waits for there to be none.
    busy: AtomicU64,
    idle: Notify,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(rules: Conversation, identity: IdentityCell) -> Self {
        let permits = Arc::new(Semaphore::new(rules.max_concurrent_chats));
        Self {
            rules,
            identity,
            queues: Mutex::new(HashMap::new()),
            permits,
            counters: Counters::default(),
            busy: AtomicU64::new(0),
            idle: Notify::new(),
        }
    }

    /// Waits until no message is queued or being handled.
    pub(crate) async fn idle(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.busy.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }

    fn done(&self) {
        if self.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    pub(crate) fn stats(&self) -> ConversationStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let c = &self.counters;
        ConversationStats {
            handled: read(&c.handled),
            failed: read(&c.failed),
            panicked: read(&c.panicked),
            refused_queue_full: read(&c.refused_queue_full),
            typing_shown: read(&c.typing_shown),
            ignored: std::array::from_fn(|i| read(&c.ignored[i])),
        }
    }

    /// Screens a received message and queues it for the handler. `Ok` acknowledges the
    /// delivery: the message was queued or is not to be answered. An error refuses it, for the
    /// platform to deliver again: the bot's identity or the replied-to message could not be
    /// read, or the chat's queue is full.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        event: MessageEvent,
        handler: MessageFn,
    ) -> Result<(), HandlerError> {
        if let Some(reason) = self.screen(&event).await? {
            bump(&self.counters.ignored[reason.index()]);
            let message = &event.message;
            if reason == Ignored::Stale {
                tracing::info!(message_id = %message.message_id, chat_id = %message.chat_id, create_time = ?message.create_time, "message dropped: created too long ago (a late redelivery)");
            } else {
                tracing::debug!(message_id = %message.message_id, chat_id = %message.chat_id, reason = reason.as_str(), "message not answered");
            }
            return Ok(());
        }
        self.enqueue(Job { event, handler })
    }

    async fn screen(&self, event: &MessageEvent) -> Result<Option<Ignored>, HandlerError> {
        let (header, message) = (&event.header, &event.message);
        if self.is_stale(header, message) {
            return Ok(Some(Ignored::Stale));
        }
        let me = identity(&self.identity, &event.client).await?;
        let sender = event.sender.sender_id.open_id.as_ref();
        if sender == Some(&me.open_id) {
            return Ok(Some(Ignored::OwnMessage));
        }
        if !self.rules.answer_bots
            && event
                .sender
                .sender_type
                .as_ref()
                .is_some_and(|t| *t != SenderType::User)
        {
            return Ok(Some(Ignored::FromBot));
        }
        if let Some(reason) = self.listed(&message.chat_id, sender) {
            return Ok(Some(reason));
        }
        if message.chat_type == Some(ChatType::P2p) || self.addressed(event, &me).await? {
            return Ok(None);
        }
        Ok(Some(Ignored::NotAddressed))
    }

    fn is_stale(&self, header: &EventHeader, message: &ReceivedMessage) -> bool {
        let Some(max_age) = self.rules.max_event_age else {
            return false;
        };
        let created = message
            .create_time
            .as_deref()
            .or(header.create_time.as_deref())
            .and_then(|ms| ms.trim().parse::<u64>().ok());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        created.is_some_and(|created| {
            let max = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
            now.saturating_sub(created) > max
        })
    }

    fn listed(&self, chat: &ChatId, sender: Option<&OpenId>) -> Option<Ignored> {
        let rules = &self.rules;
        if rules.deny_chats.contains(chat) {
            return Some(Ignored::DeniedChat);
        }
        if sender.is_some_and(|user| rules.deny_users.contains(user)) {
            return Some(Ignored::DeniedUser);
        }
        let listed = rules.allow_chats.contains(chat)
            || sender.is_some_and(|user| rules.allow_users.contains(user));
        let any_list = !rules.allow_chats.is_empty() || !rules.allow_users.is_empty();
        (any_list && !listed).then_some(Ignored::NotAllowed)
    }

    async fn addressed(
        &self,
        event: &MessageEvent,
        me: &BotIdentity,
    ) -> Result<bool, HandlerError> {
        let rules = &self.rules.group;
        if rules.every_message || event.message.mentions_open_id(&me.open_id) {
            return Ok(true);
        }
        if rules.at_all && event.mentions_all() {
            return Ok(true);
        }
        if !rules.prefixes.is_empty()
            && let Some(text) = event.text_without_mentions()
            && rules.prefixes.iter().any(|p| text.starts_with(p.as_str()))
        {
            return Ok(true);
        }
        match (&event.message.parent_id, rules.replies_to_bot) {
            (Some(parent), true) => Ok(self.sent_by_bot(&event.client, parent).await?),
            _ => Ok(false),
        }
    }

    /// Whether this app sent `message`.
    async fn sent_by_bot(&self, client: &Client, message: &MessageId) -> Result<bool, Error> {
        let found = client.execute(GetMessage::new(message.clone())).await?;
        let app_id = client.http().app_id();
        Ok(found.iter().any(|m| {
            m.sender
                .as_ref()
                .is_some_and(|s| s.sender_type == Some(RestSender::App) && s.id == app_id.as_str())
        }))
    }

    fn enqueue(self: &Arc<Self>, job: Job) -> Result<(), HandlerError> {
        let message = &job.event.message;
        let key: Box<str> = match (self.rules.order_by, &message.thread_id) {
            (OrderBy::Thread, Some(thread)) => thread.as_str().into(),
            _ => message.chat_id.as_str().into(),
        };
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        // Counted before it is queued, so that a worker never finishes it first.
        let busy = self.busy.fetch_add(1, Ordering::AcqRel);
        if busy >= self.rules.max_waiting as u64 {
            self.done();
            bump(&self.counters.refused_queue_full);
            tracing::warn!(message_id = %job.event.message.message_id, waiting = busy, "too many messages are waiting; the delivery is refused for the platform to deliver again");
            return Err(Box::new(Overloaded::new(self.rules.max_waiting)));
        }
        let job = match queues.get(&key) {
            Some(queue) => match queue.try_send(job) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(job)) => {
                    self.done();
                    bump(&self.counters.refused_queue_full);
                    tracing::warn!(message_id = %job.event.message.message_id, queue = %key, capacity = self.rules.queue_per_chat, "the chat's queue is full; the delivery is refused for the platform to deliver again");
                    return Err(Box::new(Overloaded::new(self.rules.queue_per_chat)));
                }
                // A queue is taken out of the map before its worker lets go of it, so a
                // closed one is never found here; start a new one if it were.
                Err(mpsc::error::TrySendError::Closed(job)) => job,
            },
            None => job,
        };
        let (queue, waiting) = mpsc::channel(self.rules.queue_per_chat);
        // A new channel has room for one.
        let _ = queue.try_send(job);
        queues.insert(key.clone(), queue);
        drop(queues);
        tokio::spawn(Arc::clone(self).drain(key, waiting));
        Ok(())
    }

    /// Handles one queue's messages in order, then takes the queue out of the map.
    async fn drain(self: Arc<Self>, key: Box<str>, mut waiting: mpsc::Receiver<Job>) {
        loop {
            let job = if let Ok(job) = waiting.try_recv() {
                job
            } else {
                // Senders send only while holding the map, so an empty queue seen under it
                // stays empty once it is out of the map.
                let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
                let Ok(job) = waiting.try_recv() else {
                    queues.remove(&key);
                    return;
                };
                job
            };
            let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
                return;
            };
            self.run(job).await;
            drop(permit);
            self.done();
        }
    }

    async fn run(&self, Job { event, handler }: Job) {
        let client = event.client.clone();
        let message_id = event.message.message_id.clone();
        let mut task = tokio::spawn(handler(event));
        let mut typing = None;
        let outcome = match self.rules.typing_after {
            None => (&mut task).await,
            Some(after) => {
                let early = if after.is_zero() {
                    None
                } else {
                    tokio::time::timeout(after, &mut task).await.ok()
                };
                if let Some(outcome) = early {
                    outcome
                } else {
                    typing = self.show_typing(&client, &message_id).await;
                    (&mut task).await
                }
            }
        };
        if let Some(reaction) = typing
            && let Err(err) = client.messages().unreact(&message_id, &reaction).await
        {
            tracing::warn!(message_id = %message_id, error = %err, "the typing reaction could not be removed");
        }
        match outcome {
            Ok(Ok(())) => bump(&self.counters.handled),
            Ok(Err(err)) => {
                bump(&self.counters.failed);
                tracing::warn!(message_id = %message_id, error = %err, "the message handler failed");
            }
            Err(err) => {
                bump(&self.counters.panicked);
                tracing::error!(message_id = %message_id, error = %err, "the message handler panicked");
            }
        }
    }

    async fn show_typing(&self, client: &Client, message: &MessageId) -> Option<ReactionId> {
        match client
            .messages()
            .react(message, self.rules.typing_emoji.as_str())
            .await
        {
            Ok(reaction) => {
                bump(&self.counters.typing_shown);
                Some(reaction.reaction_id)
            }
            Err(err) => {
                tracing::debug!(message_id = %message, error = %err, "the typing reaction could not be shown");
                None
            }
        }
    }
}
