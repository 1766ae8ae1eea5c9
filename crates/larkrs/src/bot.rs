//! A bot: events and card callbacks in, answers out through the same [`Client`].

use crate::conversation::{
    self, BotIdentity, Conversation, ConversationStats, Engine, IdentityCell,
};
use crate::{Call, Client};
use async_trait::async_trait;
use lark_api::im::messages::{ReplyMessage, SendMessage};
use lark_api::im::model::{Reaction, SentMessage};
use lark_content::{ChatId, MessageContent, MessageId, OpenId};
use lark_events::{
    AckPolicy, CardAction, CardResponse, DedupStore, Dispatcher, Event, EventConfig, EventEnvelope,
    EventHandler, EventHeader, EventSender, HandlerError, ReceivedMessage, ServeOptions,
    WebhookService,
};
use lark_http::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
use conversation::MessageFn;
type EventFn = Arc<dyn Fn(BotEvent) -> BoxFuture<Result<(), HandlerError>> + Send + Sync>;
type CardFn = Arc<dyn Fn(CardEvent) -> BoxFuture<Result<CardResponse, HandlerError>> + Send + Sync>;

/// A received message, with the client to answer it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MessageEvent {
    pub(crate) client: Client,
    identity: Option<Arc<BotIdentity>>,
    /// The event's header.
    pub header: EventHeader,
    /// Who sent it.
    pub sender: EventSender,
    /// The message, its content decoded.
    pub message: ReceivedMessage,
}

impl MessageEvent {
    /// The text with mentions written as names (`@Tom`), for text and post messages.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if let Some(text) = event.text() {
    ///     println!("{text}"); // "@Bot deploy v2.1"
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn text(&self) -> Option<String> {
        self.message.text()
    }

    /// The text without any mention, trimmed: what the user said to the bot.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// // "@Bot ping" arrives as "ping".
    /// if event.text_without_mentions().as_deref() == Some("ping") {
    ///     event.reply("pong").await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn text_without_mentions(&self) -> Option<String> {
        self.message.text_without_mentions()
    }

    /// The text as this bot should read it: its own mention removed, every other mention
    /// written as `@name`, `@_all` as `@all`, trimmed. For a post, its plain text. The bot's
    /// identity is known once a bot in [`conversation`](BotBuilder::conversation) has
    /// screened a message, or after [`Bot::identity`]; before, every mention is kept.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// // "@Bot ask @Tom about it" arrives as "ask @Tom about it".
    /// let prompt = event.text_for_bot().unwrap_or_default();
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn text_for_bot(&self) -> Option<String> {
        let MessageContent::Text(text) = self.message.content() else {
            return self.message.text();
        };
        let me = self.identity.as_deref().map(|me| &me.open_id);
        let mut out = String::with_capacity(text.text.len());
        for segment in text.segments(self.message.mentions()) {
            match segment {
                lark_content::Segment::Text(piece) => out.push_str(piece),
                lark_content::Segment::Mention(m)
                    if m.id.open_id.as_ref() == me && me.is_some() => {}
                lark_content::Segment::Mention(m) => {
                    out.push('@');
                    out.push_str(&m.name);
                }
                lark_content::Segment::AtAll => out.push_str("@all"),
            }
        }
        Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The message as Markdown, the form a language model reads best: a text as
    /// [`text_for_bot`](Self::text_for_bot) gives it, and any other content as
    /// [`MessageContent::to_markdown`] renders it (posts with their styles, links and code,
    /// cards as their texts, images and files as placeholders that keep their keys, each
    /// mention as a name).
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// let prompt = event.to_markdown();
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn to_markdown(&self) -> String {
        match self.message.content() {
            MessageContent::Text(_) => self.text_for_bot().unwrap_or_default(),
            content => content.to_markdown(self.message.mentions()),
        }
    }

    /// [`to_markdown`](Self::to_markdown), with the message it replies to quoted above it
    /// (`> ` lines), as a model needs it to follow "what about this?", and a merged forward
    /// (its own or the quoted one) expanded into the messages it holds, each as
    /// `**sender**: text`. Each of these costs one call to read the message; a plain message
    /// that replies to nothing costs none.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// let prompt = event.to_markdown_with_quote().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// What reading the parent or the forwarded messages fails with.
    pub async fn to_markdown_with_quote(&self) -> Result<String, Error> {
        let own = match self.message.content() {
            MessageContent::MergeForward(_) => self
                .read_markdown(&self.message.message_id)
                .await?
                .unwrap_or_else(|| self.to_markdown()),
            _ => self.to_markdown(),
        };
        let Some(parent) = &self.message.parent_id else {
            return Ok(own);
        };
        Ok(match self.read_markdown(parent).await? {
            Some(quoted) if !quoted.trim().is_empty() => {
                let mut out = String::with_capacity(quoted.len() + own.len() + 8);
                for line in quoted.lines() {
                    out.push_str("> ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.push('\n');
                out.push_str(&own);
                out
            }
            _ => own,
        })
    }

    /// A message read through the message endpoint, as Markdown; a merged forward as the
    /// messages it holds. `None` when it was recalled or its content does not decode.
    async fn read_markdown(&self, id: &MessageId) -> Result<Option<String>, Error> {
        let found = self
            .client
            .execute(lark_api::im::messages::GetMessage::new(id.clone()))
            .await?;
        let markdown = |m: &lark_api::im::model::Message| {
            m.content()
                .and_then(Result::ok)
                .map(|content| content.to_markdown(&m.mentions))
        };
        let Some(message) = found.iter().find(|m| &m.message_id == id) else {
            return Ok(None);
        };
        if message.msg_type != lark_content::msg_type::MERGE_FORWARD {
            return Ok(markdown(message));
        }
        let held: Vec<String> = found
            .iter()
            .filter(|m| m.upper_message_id.as_ref() == Some(id))
            .filter_map(|m| {
                let sender = m.sender.as_ref().map_or("someone", |s| s.id.as_str());
                markdown(m).map(|text| format!("**{sender}**: {text}"))
            })
            .collect();
        Ok(Some(held.join("\n\n")))
    }

    /// Whether the message @-mentions this bot. False while the bot's identity is not known
    /// (see [`text_for_bot`](Self::text_for_bot)).
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if event.mentions_bot() {
    ///     event.reply("You called?").await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn mentions_bot(&self) -> bool {
        self.identity
            .as_deref()
            .is_some_and(|me| self.message.mentions_open_id(&me.open_id))
    }

    /// Whether the text mentions `@all`.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if event.mentions_all() {
    ///     println!("an announcement");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn mentions_all(&self) -> bool {
        match self.message.content() {
            MessageContent::Text(text) => text
                .segments(self.message.mentions())
                .any(|s| s == lark_content::Segment::AtAll),
            _ => false,
        }
    }

    /// Whether the message is in a thread (every message of a topic group is). Its
    /// [`reply`](Self::reply) goes to the same thread.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if event.in_thread() {
    ///     println!("in thread {:?}", event.message.thread_id);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn in_thread(&self) -> bool {
        self.message.thread_id.is_some()
    }

    /// Who the bot is, when it is known (see [`text_for_bot`](Self::text_for_bot)).
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if let Some(me) = event.bot_identity() {
    ///     println!("I am {}", me.app_name);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn bot_identity(&self) -> Option<&BotIdentity> {
        self.identity.as_deref()
    }

    /// The decoded content.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if let lark::MessageContent::Image(image) = event.content() {
    ///     println!("an image: {:?}", image);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn content(&self) -> &MessageContent {
        self.message.content()
    }

    /// The message id.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// println!("message {}", event.message_id());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn message_id(&self) -> &MessageId {
        &self.message.message_id
    }

    /// The chat it was sent in.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// println!("in chat {}", event.chat_id());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn chat_id(&self) -> &ChatId {
        &self.message.chat_id
    }

    /// The sender's open_id.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if let Some(user) = event.sender_open_id() {
    ///     println!("from {user}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn sender_open_id(&self) -> Option<&OpenId> {
        self.sender.sender_id.open_id.as_ref()
    }

    /// Whether it was sent in a one-to-one chat with the bot.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// if event.is_p2p() {
    ///     event.reply("Hi! Mention me in a group to use me there.").await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn is_p2p(&self) -> bool {
        self.message.chat_type == Some(lark_events::ChatType::P2p)
    }

    /// Replies to the message: in its thread when it is in one (as every message of a topic
    /// group is), so the answer stays where the question was; `.in_thread()` starts a thread
    /// for a message outside one.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// event.reply("On it").await?;
    /// event.reply("Details in the thread").in_thread().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reply(&self, content: impl Into<MessageContent>) -> Call<'_, ReplyMessage> {
        let call = self
            .client
            .messages()
            .reply(&self.message.message_id, content);
        if self.in_thread() {
            call.in_thread()
        } else {
            call
        }
    }

    /// Replies with a Markdown answer (a language model's, say) in the form that shows it
    /// best, as [`MarkdownReply`](lark_content::markdown::MarkdownReply) chooses: a post, or a
    /// card when the answer has a table, which posts cannot show; several messages, in order,
    /// when one would pass the platform's 30 KB, cut between blocks, lines or words and never
    /// inside a code block or a table without closing and reopening it. Each part is
    /// validated before anything is sent, and each is a reply (in the thread, when the message
    /// is in one).
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// let sent = event
    ///     .reply_markdown("| plan | price |\n|---|---|\n| Team | $8 |")
    ///     .await?;
    /// assert_eq!(sent.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Build`](crate::ErrorKind::Build) when `markdown` is blank, before anything
    /// is sent; otherwise what the first failing send fails with (the parts before it were
    /// sent).
    pub async fn reply_markdown(&self, markdown: &str) -> Result<Vec<SentMessage>, Error> {
        let reply = lark_content::markdown::MarkdownReply::new(markdown)
            .map_err(lark_api::BuildError::from)?;
        let mut sent = Vec::with_capacity(reply.parts().len());
        for part in reply.into_parts() {
            sent.push(self.reply(part).await?);
        }
        Ok(sent)
    }

    /// Answers the message with a card that types the answer out as it is pushed: a
    /// [`CardStream`](crate::CardStream) replying to this message.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// let mut answer = event.reply_streaming();
    /// answer.push("Thinking about it… ")?;
    /// answer.push("done.")?;
    /// answer.finish(None).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reply_streaming(&self) -> crate::CardStream {
        let stream = self.client.cards().stream_reply(&self.message.message_id);
        if self.in_thread() {
            stream.in_thread()
        } else {
            stream
        }
    }

    /// Sends to the chat the message came from, without quoting it.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// event.send_to_chat("Someone asked; the answer is below.").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_to_chat(&self, content: impl Into<MessageContent>) -> Call<'_, SendMessage> {
        self.client
            .messages()
            .send(self.message.chat_id.clone(), content)
    }

    /// Reacts to the message.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// event.react("THUMBSUP").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn react(&self, emoji_type: impl Into<String>) -> Result<Reaction, Error> {
        self.client
            .messages()
            .react(&self.message.message_id, emoji_type)
            .await
    }

    /// The client.
    ///
    /// ```no_run
    /// # async fn run(event: lark::MessageEvent) -> Result<(), lark::Error> {
    /// let info = event.client().bot_info().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Any event, with the client.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BotEvent {
    client: Client,
    /// The event's header.
    pub header: EventHeader,
    /// The event.
    pub event: Event,
}

impl BotEvent {
    /// The client.
    ///
    /// ```no_run
    /// # async fn run(event: lark::BotEvent) -> Result<(), lark::Error> {
    /// let info = event.client().bot_info().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// A card callback (a button click, a form submitted), with the client.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CardEvent {
    client: Client,
    /// The callback.
    pub action: CardAction,
}

impl CardEvent {
    /// A string from the clicked component's `value` object.
    ///
    /// ```no_run
    /// # async fn run(event: lark::CardEvent) -> Result<(), lark::Error> {
    /// // The button's callback value was {"action": "approve"}.
    /// if event.value_str("action") == Some("approve") {
    ///     println!("approved");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn value_str(&self, key: &str) -> Option<&str> {
        self.action.value_str(key)
    }

    /// The message holding the card.
    ///
    /// ```no_run
    /// # async fn run(event: lark::CardEvent) -> Result<(), lark::Error> {
    /// if let Some(message) = event.message_id() {
    ///     println!("clicked on {message}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn message_id(&self) -> Option<&MessageId> {
        self.action.context.open_message_id.as_ref()
    }

    /// The chat the card is in.
    ///
    /// ```no_run
    /// # async fn run(event: lark::CardEvent) -> Result<(), lark::Error> {
    /// if let Some(chat) = event.chat_id() {
    ///     event.client().messages().send(chat.clone(), "Approved").await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn chat_id(&self) -> Option<&ChatId> {
        self.action.context.open_chat_id.as_ref()
    }

    /// Who clicked.
    ///
    /// ```no_run
    /// # async fn run(event: lark::CardEvent) -> Result<(), lark::Error> {
    /// if let Some(user) = event.operator_open_id() {
    ///     println!("clicked by {user}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn operator_open_id(&self) -> Option<&OpenId> {
        self.action.operator.open_id.as_ref()
    }

    /// The client.
    ///
    /// ```no_run
    /// # async fn run(event: lark::CardEvent) -> Result<(), lark::Error> {
    /// if let Some(chat) = event.chat_id() {
    ///     event.client().messages().send(chat.clone(), "Thanks").await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }
}

struct Handlers {
    client: Client,
    identity: IdentityCell,
    engine: Option<Arc<Engine>>,
    on_message: Option<MessageFn>,
    on_event: Option<EventFn>,
    on_card: Option<CardFn>,
}

#[async_trait]
impl EventHandler for Handlers {
    async fn handle_event(&self, envelope: EventEnvelope) -> Result<(), HandlerError> {
        let (header, event) = (envelope.header, envelope.event);
        // A marketplace app's hourly ticket is stored before any handler sees it, so that
        // tokens can be fetched with no wiring. A store that fails refuses the delivery, and
        // the platform delivers the ticket again.
        if let Event::AppTicket(ticket) = &event
            && ticket.app_id.as_str() == self.client.http().app_id().as_str()
        {
            self.client
                .http()
                .set_app_ticket(lark_api::AppTicket::new(ticket.app_ticket.as_str()))
                .await?;
        }
        match (event, &self.on_message, &self.on_event) {
            (Event::MessageReceived(received), Some(on_message), _) => {
                let received = *received;
                let event = MessageEvent {
                    client: self.client.clone(),
                    identity: self.identity.get().cloned(),
                    header,
                    sender: received.sender,
                    message: received.message,
                };
                match &self.engine {
                    Some(engine) => engine.admit(event, Arc::clone(on_message)).await,
                    None => on_message(event).await,
                }
            }
            (event, _, Some(on_event)) => {
                on_event(BotEvent {
                    client: self.client.clone(),
                    header,
                    event,
                })
                .await
            }
            (event, _, None) => {
                tracing::debug!(event_type = %header.event_type, kind = ?std::mem::discriminant(&event), "no handler for this event");
                Ok(())
            }
        }
    }

    async fn handle_card(&self, action: CardAction) -> Result<CardResponse, HandlerError> {
        match &self.on_card {
            Some(on_card) => {
                on_card(CardEvent {
                    client: self.client.clone(),
                    action,
                })
                .await
            }
            None => Ok(CardResponse::empty()),
        }
    }
}

/// Builds a [`Bot`].
#[must_use]
pub struct BotBuilder {
    client: Client,
    config: EventConfig,
    on_message: Option<MessageFn>,
    on_event: Option<EventFn>,
    on_card: Option<CardFn>,
    dedup: Option<Arc<dyn DedupStore>>,
    ack: AckPolicy,
    allow_unsigned: bool,
    serve_options: ServeOptions,
    #[cfg(feature = "ws")]
    connect_options: lark_ws::WsOptions,
    conversation: Option<Conversation>,
}

impl std::fmt::Debug for BotBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotBuilder")
            .field("client", &self.client)
            .field("config", &self.config)
            .field("on_message", &self.on_message.is_some())
            .field("on_event", &self.on_event.is_some())
            .field("on_card", &self.on_card.is_some())
            .field("ack", &self.ack)
            .field("allow_unsigned", &self.allow_unsigned)
            .field("conversation", &self.conversation)
            .finish_non_exhaustive()
    }
}

fn into_handler_error<E: Into<HandlerError>>(result: Result<(), E>) -> Result<(), HandlerError> {
    result.map_err(Into::into)
}

impl BotBuilder {
    /// The Encrypt Key from the console's event subscription page: bodies are decrypted and
    /// signatures checked.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    ///
    /// let bot = Bot::builder(client).encrypt_key("the encrypt key").build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn encrypt_key(mut self, key: impl Into<String>) -> Self {
        self.config = self.config.encrypt_key(key);
        self
    }

    /// The Verification Token from the same page: checked on every delivery.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    ///
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .verification_token("the verification token")
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn verification_token(mut self, token: impl Into<String>) -> Self {
        self.config = self.config.verification_token(token);
        self
    }

    /// All verification settings at once.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    /// use lark::events::EventConfig;
    /// use std::time::Duration;
    ///
    /// // Refuse deliveries signed more than a minute ago.
    /// let config = EventConfig::new()
    ///     .encrypt_key("the encrypt key")
    ///     .freshness(Some(Duration::from_secs(60)));
    /// let bot = Bot::builder(client).event_config(config).build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn event_config(mut self, config: EventConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the bot without an encrypt key or verification token. Its webhook then accepts
    /// events that anyone who can reach it could forge, and [`Bot::serve`] says so once, at
    /// the start. Meant for the long connection, which the platform authenticates itself, and
    /// for a webhook on a network where only the platform can reach it.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    ///
    /// // Events arrive over the long connection only.
    /// let bot = Bot::builder(client).allow_unsigned_events().build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn allow_unsigned_events(mut self) -> Self {
        self.allow_unsigned = true;
        self
    }

    /// Deadlines and limits of the webhook server (defaults: [`ServeOptions::default`]).
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::{Bot, ServeOptions};
    /// use std::time::Duration;
    ///
    /// let options = ServeOptions::default().with_idle_timeout(Duration::from_secs(30));
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .serve_options(options)
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn serve_options(mut self, options: ServeOptions) -> Self {
        self.serve_options = options;
        self
    }

    /// Watchdog, shutdown grace and reconnecting of the long connection that
    /// [`Bot::connect`] opens (defaults: [`WsOptions::default`](lark_ws::WsOptions::default)).
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    /// use lark::ws::WsOptions;
    /// use std::time::Duration;
    ///
    /// let bot = Bot::builder(client)
    ///     .allow_unsigned_events()
    ///     .connect_options(WsOptions::default().with_shutdown_grace(Duration::from_secs(10)))
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "ws")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
    pub fn connect_options(mut self, options: lark_ws::WsOptions) -> Self {
        self.connect_options = options;
        self
    }

    /// Screens and orders received messages by `rules` before the `on_message` handler sees
    /// them: which messages it answers (mentions in groups, allow and deny lists, no bots, no
    /// late redeliveries), one at a time per chat, and a typing reaction while a handler takes
    /// long. See [`Conversation`] for the defaults and their reasons, and [`Bot::stats`] for
    /// what was answered and what was not, and why.
    ///
    /// With it, a received message is acknowledged as soon as it is queued, however long its
    /// handler runs; a handler that fails is logged and counted, not delivered again.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::{Bot, Conversation, MessageEvent};
    ///
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .conversation(Conversation::default().answer_at_all(true))
    ///     .on_message(|event: MessageEvent| async move {
    ///         let question = event.text_for_bot().unwrap_or_default();
    ///         event.reply(format!("you asked: {question}")).await.map(drop)
    ///     })
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn conversation(mut self, rules: Conversation) -> Self {
        self.conversation = Some(rules);
        self
    }

    /// Handles received messages (`im.message.receive_v1`).
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::{Bot, MessageEvent};
    ///
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .on_message(|event: MessageEvent| async move {
    ///         let said = event.text_without_mentions().unwrap_or_default();
    ///         event.reply(format!("you said: {said}")).await.map(drop)
    ///     })
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_message<F, Fut, E>(mut self, handler: F) -> Self
    where
        F: Fn(MessageEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError> + 'static,
    {
        let handler = Arc::new(handler);
        self.on_message = Some(Arc::new(move |event| {
            let future = handler(event);
            Box::pin(async move { into_handler_error(future.await) })
        }));
        self
    }

    /// Handles every other event (and received messages too, when no `on_message` is set).
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::{Bot, BotEvent};
    ///
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .on_event(|event: BotEvent| async move {
    ///         println!("{} {}", event.header.event_type, event.header.event_id);
    ///         Ok::<(), lark::Error>(())
    ///     })
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_event<F, Fut, E>(mut self, handler: F) -> Self
    where
        F: Fn(BotEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError> + 'static,
    {
        let handler = Arc::new(handler);
        self.on_event = Some(Arc::new(move |event| {
            let future = handler(event);
            Box::pin(async move { into_handler_error(future.await) })
        }));
        self
    }

    /// Answers card callbacks: a toast, a new card, or nothing.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::{Bot, CardEvent, CardResponse, ToastKind};
    ///
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .on_card(|event: CardEvent| async move {
    ///         let answer = match event.value_str("action") {
    ///             Some("approve") => CardResponse::toast(ToastKind::Success, "Approved"),
    ///             _ => CardResponse::empty(),
    ///         };
    ///         Ok::<_, lark::Error>(answer)
    ///     })
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_card<F, Fut, E>(mut self, handler: F) -> Self
    where
        F: Fn(CardEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CardResponse, E>> + Send + 'static,
        E: Into<HandlerError> + 'static,
    {
        let handler = Arc::new(handler);
        self.on_card = Some(Arc::new(move |event| {
            let future = handler(event);
            Box::pin(async move { future.await.map_err(Into::into) })
        }));
        self
    }

    /// Deduplicates through `store` (shared, for several replicas) instead of in memory.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    /// use lark::events::MemoryDedup;
    /// use std::sync::Arc;
    ///
    /// // Remember the last 100,000 event ids instead of the default number.
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .dedup(Arc::new(MemoryDedup::new(100_000)))
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn dedup(mut self, store: Arc<dyn DedupStore>) -> Self {
        self.dedup = Some(store);
        self
    }

    /// Deduplicates through `redis`, shared with the other replicas.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let redis = lark::redis::Redis::open("redis://127.0.0.1:6379/")?;
    /// let bot = lark::Bot::builder(client).encrypt_key("the encrypt key").redis(&redis).build()?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(self, redis: &lark_redis::Redis) -> Self {
        self.dedup(Arc::new(lark_redis::RedisDedupStore::new(redis.clone())))
    }

    /// When events are acknowledged (default: after the handler, waiting at most 2.5 s).
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    /// use lark::events::AckPolicy;
    ///
    /// // Acknowledge at once; handlers that take long run after the answer.
    /// let bot = Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .ack(AckPolicy::Immediately)
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn ack(mut self, ack: AckPolicy) -> Self {
        self.ack = ack;
        self
    }

    /// The bot.
    ///
    /// ```
    /// # fn main() -> Result<(), lark::Error> {
    /// # let client = lark::Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").build()?;
    /// use lark::Bot;
    ///
    /// let refused = Bot::builder(client.clone()).build();
    /// assert!(refused.is_err(), "a webhook with no checks accepts forged events");
    /// let bot = Bot::builder(client).verification_token("the verification token").build()?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when neither an encrypt key nor a verification token is set and
    /// [`allow_unsigned_events`](Self::allow_unsigned_events) was not called: such a webhook
    /// accepts forged events.
    pub fn build(self) -> Result<Bot, Error> {
        if self.config.encrypt_key.is_none()
            && self.config.verification_token.is_none()
            && !self.allow_unsigned
        {
            return Err(Error::Config(
                "a bot without an encrypt key or a verification token accepts forged events; set \
                 encrypt_key(…) (and verification_token(…)) from the console's Events & Callbacks \
                 > Encryption Strategy page, or call allow_unsigned_events() for the long \
                 connection or a network only the platform can reach"
                    .to_owned(),
            ));
        }
        let identity = IdentityCell::default();
        let engine = self
            .conversation
            .map(|rules| Arc::new(Engine::new(rules, Arc::clone(&identity))));
        let handlers = Handlers {
            client: self.client.clone(),
            identity: Arc::clone(&identity),
            engine: engine.clone(),
            on_message: self.on_message,
            on_event: self.on_event,
            on_card: self.on_card,
        };
        let mut dispatcher = Dispatcher::new(handlers).with_ack(self.ack);
        if let Some(store) = self.dedup {
            dispatcher = dispatcher.with_dedup(store);
        }
        Ok(Bot {
            client: self.client,
            identity,
            engine,
            config: self.config,
            dispatcher,
            serve_options: self.serve_options,
            #[cfg(feature = "ws")]
            connect_options: self.connect_options,
        })
    }
}

/// A bot: handlers for messages, other events and card callbacks, served as a webhook.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = lark::Client::from_env()?;
/// let bot = lark::Bot::builder(client)
///     .encrypt_key(std::env::var("LARK_ENCRYPT_KEY")?)
///     .on_message(|event: lark::MessageEvent| async move {
///         let text = event.text_without_mentions().unwrap_or_default();
///         event.reply(format!("you said: {text}")).await.map(drop)
///     })
///     .build()?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// bot.serve(listener, std::future::pending()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Bot {
    client: Client,
    identity: IdentityCell,
    engine: Option<Arc<Engine>>,
    config: EventConfig,
    dispatcher: Dispatcher,
    serve_options: ServeOptions,
    #[cfg(feature = "ws")]
    connect_options: lark_ws::WsOptions,
}

impl Bot {
    /// A builder from the environment: the client from `LARK_APP_ID`, `LARK_APP_SECRET` and
    /// the rest of [`Client::from_env`]'s variables, and the webhook's checks from
    /// `LARK_ENCRYPT_KEY` and `LARK_VERIFICATION_TOKEN` when they are set and not empty.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), lark::Error> {
    /// use lark::{Bot, MessageEvent};
    /// // LARK_APP_ID, LARK_APP_SECRET, LARK_ENCRYPT_KEY, LARK_VERIFICATION_TOKEN
    /// let bot = Bot::from_env()?
    ///     .on_message(|event: MessageEvent| async move { event.reply("got it").await.map(drop) })
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_env() -> Result<BotBuilder, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env), reading each variable through `lookup`.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let bot = lark::Bot::from_vars(|name| match name {
    ///     "LARK_APP_ID" => Some("cli_a5fb0ae6a4000001".to_owned()),
    ///     "LARK_APP_SECRET" => Some("the app secret".to_owned()),
    ///     "LARK_ENCRYPT_KEY" => Some("the encrypt key".to_owned()),
    ///     _ => None,
    /// })?
    /// .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<BotBuilder, Error> {
        let client = crate::ClientBuilder::from_vars(&lookup)?.build()?;
        let mut builder = Self::builder(client);
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        if let Some(key) = set("LARK_ENCRYPT_KEY") {
            builder = builder.encrypt_key(key);
        }
        if let Some(token) = set("LARK_VERIFICATION_TOKEN") {
            builder = builder.verification_token(token);
        }
        Ok(builder)
    }

    /// A builder around `client`, which the handlers answer through.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let bot = lark::Bot::builder(client)
    ///     .encrypt_key("the encrypt key")
    ///     .on_message(|event: lark::MessageEvent| async move { event.reply("hi").await.map(drop) })
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(client: Client) -> BotBuilder {
        BotBuilder {
            client,
            config: EventConfig::new(),
            on_message: None,
            on_event: None,
            on_card: None,
            dedup: None,
            ack: AckPolicy::default(),
            allow_unsigned: false,
            serve_options: ServeOptions::default(),
            #[cfg(feature = "ws")]
            connect_options: lark_ws::WsOptions::default(),
            conversation: None,
        }
    }

    /// Who the bot is, from `GET /open-apis/bot/v3/info`: asked once, then kept for as long as
    /// the bot runs (no polling, which would spend the app's call quota). A bot in
    /// [`conversation`](BotBuilder::conversation) asks before it serves.
    ///
    /// ```no_run
    /// # async fn run(bot: lark::Bot) -> Result<(), lark::Error> {
    /// let me = bot.identity().await?;
    /// println!("{} is {}", me.app_name, me.open_id);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// What the call to the platform fails with; the next call asks again.
    pub async fn identity(&self) -> Result<BotIdentity, Error> {
        conversation::identity(&self.identity, &self.client)
            .await
            .map(|me| (*me).clone())
    }

    /// What the [`conversation`](BotBuilder::conversation) layer did so far: messages
    /// handled, failed and panicked, and those not answered, by reason. All zero without it.
    ///
    /// ```no_run
    /// # fn run(bot: lark::Bot) {
    /// use lark::Ignored;
    /// let stats = bot.stats();
    /// println!("{} handled, {} not addressed", stats.handled, stats.ignored(Ignored::NotAddressed));
    /// # }
    /// ```
    #[must_use]
    pub fn stats(&self) -> ConversationStats {
        self.engine
            .as_ref()
            .map_or_else(ConversationStats::default, |engine| engine.stats())
    }

    /// Waits until no received message is queued or being handled by the
    /// [`conversation`](BotBuilder::conversation) layer: after a server stops, so that the
    /// answers under way are sent before the process exits. At once without the layer.
    ///
    /// ```no_run
    /// # async fn run(bot: lark::Bot, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    /// # let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// // `stopped` completes when the process is asked to stop.
    /// bot.clone().serve(listener, async { let _ = stopped.await; }).await?;
    /// bot.idle().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn idle(&self) {
        if let Some(engine) = &self.engine {
            engine.idle().await;
        }
    }

    /// Learns the bot's identity before events arrive, when the conversation layer needs it;
    /// a failure is logged, and the first message asks again.
    async fn learn_identity(&self) {
        if self.engine.is_some()
            && let Err(err) = self.identity().await
        {
            tracing::warn!(error = %err, "the bot's identity could not be read; the first message will ask again");
        }
    }

    /// The client.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// # let bot = lark::Bot::builder(client).allow_unsigned_events().build()?;
    /// let info = bot.client().bot_info().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The dispatcher (dedup + handlers), for any transport that delivers events.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// # let bot = lark::Bot::builder(client).allow_unsigned_events().build()?;
    /// // Hand events from another transport (a queue, say) to the same handlers.
    /// let dispatcher = bot.dispatcher();
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    /// The webhook endpoint as a hyper service, to mount in any server.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// # let bot = lark::Bot::builder(client).allow_unsigned_events().build()?;
    /// // A hyper service, for a server of your own.
    /// let service = bot.webhook();
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn webhook(&self) -> WebhookService {
        WebhookService::new(self.config.clone(), self.dispatcher.clone())
            .with_options(self.serve_options.clone())
    }

    /// The webhook endpoint as an axum router at `path`.
    ///
    /// ```no_run
    /// # async fn run(bot: lark::Bot) -> std::io::Result<()> {
    /// let app = bot.axum_router("/lark/events");
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// axum::serve(listener, app).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn axum_router(&self, path: &str) -> axum::Router {
        lark_events::axum_router(self.webhook(), path)
    }

    /// Receives events and card callbacks over the long connection instead of a webhook: no
    /// public URL needed. The same handlers run; the handle watches and stops the connection.
    /// Its watchdog, shutdown grace and reconnecting are [`BotBuilder::connect_options`].
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// # let bot = lark::Bot::builder(client).allow_unsigned_events().build()?;
    /// let events = bot.connect();
    /// // … until the process stops:
    /// let last = events.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "ws")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
    #[must_use]
    pub fn connect(&self) -> lark_ws::WsHandle {
        let bot = self.clone();
        tokio::spawn(async move { bot.learn_identity().await });
        lark_ws::WsClient::new(self.client.http().clone(), self.dispatcher.clone())
            .with_options(self.connect_options.clone())
            .start()
    }

    /// Serves the webhook endpoint (on every path) until `shutdown` completes, with the
    /// deadlines and limits of [`BotBuilder::serve_options`]: see [`WebhookService::serve`].
    ///
    /// ```no_run
    /// # async fn run(bot: lark::Bot) -> Result<(), Box<dyn std::error::Error>> {
    /// // Loopback, behind the reverse proxy that terminates TLS; `shutdown` ends it.
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// let shutdown = std::future::pending::<()>();
    /// bot.serve(listener, shutdown).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.learn_identity().await;
        self.webhook().serve(listener, shutdown).await
    }
}
