//! CardKit from the facade: card entities, and a writer that streams text into cards as it
//! arrives, the way a language model's answer types itself out.
//!
//! The writer ([`CardStream`]) owns one background task. [`push`](CardStream::push) only
//! appends to what the task will send, so it never waits and cannot be cancelled half way. The
//! task sends everything that arrived since its last operation, at most once an interval
//! (100 ms by default, so at most 10 operations a second, the platform's limit on one card), and
//! the client's per-card quota keeps that limit across every operation. A card that would grow
//! past its 30 KB limit is closed and the text continues in a new card, with nothing lost or
//! repeated. Whatever ends the writer (`finish`, an error, or a drop) closes the card, so no chat
//! preview is left saying the answer is still being generated; after the close nothing more is
//! sent to that card.

use crate::Client;
use crate::call::Call;
use lark_api::cardkit::{CardOp, CreateCard, Settings, StreamText, UpdateSettings};
use lark_api::im::messages::{PatchCard, ReplyMessage, SendMessage};
use lark_api::{ErrorKind, Receiver};
use lark_content::card::{CardHeader, CardV2, Markdown, StreamingConfig, Summary};
use lark_content::{Card, CardId, MessageContent, MessageId};
use lark_http::Error;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The id of the text component a streaming card holds.
pub const STREAM_ELEMENT_ID: &str = "answer";

/// The largest card the writer fills, in bytes of card JSON: the platform's 30 KB, less room for
/// the summary written at close.
pub const STREAM_CARD_MAX_BYTES: usize = 30 * 1024 - 1024;

/// The note a card closed by an error or a drop ends with.
pub const INTERRUPTED_NOTE: &str = "(interrupted)";

/// The longest summary the writer derives from the text, in characters.
const SUMMARY_MAX_CHARS: usize = 60;

/// Card entities: `client.cards()`.
#[derive(Clone, Copy, Debug)]
pub struct Cards<'a> {
    client: &'a Client,
}

impl<'a> Cards<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a card entity from card JSON 2.0; send it with `Card::entity(id)` and change it
    /// with the operations of [`lark_api::cardkit`].
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use lark::content::card::{CardV2, Markdown};
    /// let card = CardV2::builder().element(Markdown::new("Building…").element_id("status")).build();
    /// let id = client.cards().create(card).await?;
    /// client.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), lark::Card::entity(id)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(&self, card: CardV2) -> Call<'a, CreateCard> {
        Call::new(self.client, CreateCard::new(card))
    }

    /// A writer that streams text into a card sent to `to`. Nothing is sent before the first
    /// text.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let mut answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).title("Answer");
    /// for token in ["Hello", ", ", "world"] {
    ///     answer.push(token)?;
    /// }
    /// let streamed = answer.finish(None).await?;
    /// println!("sent as {:?}", streamed.message_ids);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream(&self, to: impl Into<Receiver>) -> CardStream {
        CardStream::new(self.client.clone(), Target::Send(to.into()))
    }

    /// A writer that streams text into a card sent as a reply to `message`.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let question = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let mut answer = client.cards().stream_reply(&question).title("Answer");
    /// answer.push("Looking that up…")?;
    /// answer.finish(None).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream_reply(&self, message: &MessageId) -> CardStream {
        CardStream::new(
            self.client.clone(),
            Target::Reply {
                message: message.clone(),
                in_thread: false,
            },
        )
    }
}

/// Where the cards go.
#[derive(Clone, Debug)]
enum Target {
    Send(Receiver),
    Reply { message: MessageId, in_thread: bool },
}

/// How the text reached the chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamMode {
    /// CardKit streaming cards that type the text out.
    Streaming,
    /// Ordinary card messages, patched as the text grew: the app lacks `cardkit:card:write`.
    Patched,
    /// Text messages sent at the end: the app can send neither.
    Plain,
}

/// What a finished stream sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Streamed {
    /// The messages, one per card, in order.
    pub message_ids: Vec<MessageId>,
    /// The card entities, in streaming mode.
    pub card_ids: Vec<CardId>,
    /// How the text was sent.
    pub mode: StreamMode,
    /// Every call the writer made: creations, sends, updates and closes.
    pub operations: u64,
    /// How many characters were sent, the interrupted note excluded.
    pub chars: usize,
    /// Whether the stream was cut short ([`CardStream::abort`]), its last card closed with
    /// the interrupted note.
    pub interrupted: bool,
}

/// Streams text into cards as it arrives. Made by [`Cards::stream`], [`Cards::stream_reply`]
/// or a bot's `MessageEvent::reply_streaming`.
///
/// The settings (`title`, `interval`, …) apply until the first text is pushed.
#[must_use = "a stream sends nothing until text is pushed, and closes its card when finished"]
pub struct CardStream {
    client: Client,
    target: Target,
    options: Options,
    running: Option<Running>,
}

impl std::fmt::Debug for CardStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardStream")
            .field("target", &self.target)
            .field("options", &self.options)
            .field("started", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
struct Options {
    title: Option<String>,
    interval: Duration,
    patch_interval: Duration,
    config: StreamingConfig,
    max_card_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            title: None,
            interval: Duration::from_millis(100),
            patch_interval: Duration::from_millis(500),
            config: StreamingConfig::default(),
            max_card_bytes: STREAM_CARD_MAX_BYTES,
        }
    }
}

struct Running {
    shared: Arc<Shared>,
    task: JoinHandle<Result<Streamed, Error>>,
}

/// What the writer hands the task.
#[derive(Default)]
struct Inbox {
    text: String,
    end: Option<End>,
    /// Set by the task when it stopped early; pushes are refused after.
    failed: bool,
}

#[derive(Clone, Debug)]
enum End {
    Finish(Option<String>),
    Interrupted,
}

struct Shared {
    inbox: Mutex<Inbox>,
    wake: Notify,
}

impl Shared {
    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CardStream {
    fn new(client: Client, target: Target) -> Self {
        Self {
            client,
            target,
            options: Options::default(),
            running: None,
        }
    }

    /// The card's title (a plain-text header). None by default.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).title("Release notes");
    /// # Ok(())
    /// # }
    /// ```
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.options.title = Some(title.into());
        self
    }

    /// Replies in the message's thread, starting one if needed (for a reply).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let question = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let answer = client.cards().stream_reply(&question).in_thread();
    /// # Ok(())
    /// # }
    /// ```
    pub fn in_thread(mut self) -> Self {
        if let Target::Reply { in_thread, .. } = &mut self.target {
            *in_thread = true;
        }
        self
    }

    /// The shortest time between two updates of one card: 100 ms by default, which keeps a
    /// card at the platform's 10 operations a second. Shorter values are raised to it.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use std::time::Duration;
    ///
    /// // Fewer, larger updates: five a second.
    /// let answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).interval(Duration::from_millis(200));
    /// # Ok(())
    /// # }
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.options.interval = interval.max(Duration::from_millis(100));
        self
    }

    /// How clients type the text out (`streaming_config`): one character every 70 ms by
    /// default.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use lark::content::card::{PrintStrategy, StreamingConfig};
    ///
    /// // Two characters every 30 ms; a new update shows at once what the last one left untyped.
    /// let typing = StreamingConfig::new(30, 2, PrintStrategy::Fast);
    /// let answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).typing(typing);
    /// # Ok(())
    /// # }
    /// ```
    pub fn typing(mut self, config: StreamingConfig) -> Self {
        self.options.config = config;
        self
    }

    /// The largest card the writer fills before it continues in a new one, in bytes of card
    /// JSON; at most (and by default) [`STREAM_CARD_MAX_BYTES`]. At least 2 KB.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // Continue in a new card every 8 KB of card JSON.
    /// let answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).max_card_bytes(8 * 1024);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_card_bytes(mut self, bytes: usize) -> Self {
        self.options.max_card_bytes = bytes.clamp(2048, STREAM_CARD_MAX_BYTES);
        self
    }

    /// Adds `delta` to the answer. It never waits: the text is sent by the writer's task,
    /// together with whatever else arrived meanwhile. The first push sends the card.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let mut answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"));
    /// for token in ["The build ", "passed", "."] {
    ///     answer.push(token)?;
    /// }
    /// answer.finish(None).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Usage`] once the stream has stopped on an error, which
    /// [`finish`](Self::finish) returns.
    pub fn push(&mut self, delta: &str) -> Result<(), Error> {
        if delta.is_empty() {
            return Ok(());
        }
        let shared = self.start();
        let mut inbox = shared.inbox();
        if inbox.failed {
            return Err(Error::Usage(
                "the card stream stopped on an error; finish() returns it".to_owned(),
            ));
        }
        inbox.text.push_str(delta);
        drop(inbox);
        shared.wake.notify_one();
        Ok(())
    }

    /// Pushes every string `stream` yields, as it yields it.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // Any stream of text: a language model's tokens, lines of a log.
    /// let tokens = futures_util::stream::iter(["Deploying ", "v2.1", "… done."]);
    /// let mut answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"));
    /// answer.pipe(tokens).await?;
    /// answer.finish(Some("Deployed v2.1".to_owned())).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub async fn pipe<S, T>(&mut self, stream: S) -> Result<(), Error>
    where
        S: futures_core::Stream<Item = T>,
        T: AsRef<str>,
    {
        let mut stream = std::pin::pin!(stream);
        while let Some(delta) = poll_fn(|cx| Pin::as_mut(&mut stream).poll_next(cx)).await {
            self.push(delta.as_ref())?;
        }
        Ok(())
    }

    /// Sends what is left, turns streaming off and sets the summary the chat list shows: the
    /// `summary` given, else the start of the text. Returns what was sent.
    ///
    /// Dropping the future does not stop the close: the writer's task finishes it.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let mut answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"));
    /// answer.push("All 312 tests passed.")?;
    /// let streamed = answer.finish(Some("Tests passed".to_owned())).await?;
    /// println!("{} card(s), sent as {:?}", streamed.card_ids.len(), streamed.mode);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The error that stopped the stream, if one did; its card was closed with a note saying
    /// the answer was interrupted.
    pub async fn finish(mut self, summary: Option<String>) -> Result<Streamed, Error> {
        let Some(running) = self.running.take() else {
            return Ok(Streamed {
                message_ids: Vec::new(),
                card_ids: Vec::new(),
                mode: StreamMode::Streaming,
                operations: 0,
                chars: 0,
                interrupted: false,
            });
        };
        running.shared.inbox().end = Some(End::Finish(summary));
        running.shared.wake.notify_one();
        Self::wait(running).await
    }

    /// Cuts the answer short: sends what was pushed, adds the interrupted note and closes the
    /// card, as a drop does, but waits for it and returns what was sent.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let mut answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"));
    /// answer.push("Summarising the thread")?;
    /// // The user cancelled: close the card with what it holds.
    /// let streamed = answer.abort().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    pub async fn abort(mut self) -> Result<Streamed, Error> {
        let Some(running) = self.running.take() else {
            return self.finish(None).await;
        };
        running.shared.inbox().end = Some(End::Interrupted);
        running.shared.wake.notify_one();
        Self::wait(running).await
    }

    async fn wait(running: Running) -> Result<Streamed, Error> {
        match running.task.await {
            Ok(result) => result,
            Err(join) => Err(Error::Usage(format!(
                "the card stream's task ended before closing its card: {join}"
            ))),
        }
    }

    fn start(&mut self) -> Arc<Shared> {
        if let Some(running) = &self.running {
            return running.shared.clone();
        }
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            wake: Notify::new(),
        });
        let writer = Writer {
            client: self.client.clone(),
            target: self.target.clone(),
            options: self.options.clone(),
            mode: StreamMode::Streaming,
            current: None,
            message_ids: Vec::new(),
            card_ids: Vec::new(),
            operations: 0,
            chars: 0,
            last_op: None,
            reopen: None,
        };
        let task = tokio::spawn(writer.run(shared.clone()));
        self.running = Some(Running {
            shared: shared.clone(),
            task,
        });
        shared
    }
}

impl Drop for CardStream {
    /// A writer dropped before [`finish`](Self::finish) closes its card with a note saying the
    /// answer was interrupted.
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.shared.inbox().end.get_or_insert(End::Interrupted);
            running.shared.wake.notify_one();
        }
    }
}

/// What the writer's task does next.
enum Step {
    Wait,
    Pace(Instant),
    Take(String, Option<End>),
}

/// The card being written.
struct Current {
    /// The entity, in streaming mode.
    card_id: Option<CardId>,
    message_id: Option<MessageId>,
    sequence: u32,
    /// The text it shows.
    text: String,
    /// Bytes of card JSON besides the text.
    overhead: usize,
}

struct Writer {
    client: Client,
    target: Target,
    options: Options,
    mode: StreamMode,
    current: Option<Current>,
    message_ids: Vec<MessageId>,
    card_ids: Vec<CardId>,
    operations: u64,
    chars: usize,
    last_op: Option<Instant>,
    /// The opening line of a code block a full card closed, to open the next card with.
    reopen: Option<String>,
}

impl Writer {
    async fn run(mut self, shared: Arc<Shared>) -> Result<Streamed, Error> {
        let outcome = self.write(&shared).await;
        let end = if let Ok(end) = &outcome {
            end.clone()
        } else {
            shared.inbox().failed = true;
            End::Interrupted
        };
        let closed = self.close(&end).await;
        match (outcome, closed) {
            (Err(error), _) | (Ok(_), Err(error)) => Err(error),
            (Ok(end), Ok(())) => Ok(Streamed {
                message_ids: self.message_ids,
                card_ids: self.card_ids,
                mode: self.mode,
                operations: self.operations,
                chars: self.chars,
                interrupted: matches!(end, End::Interrupted),
            }),
        }
    }

    /// Sends text as it arrives, until the writer ends; answers how it ended.
    async fn write(&mut self, shared: &Shared) -> Result<End, Error> {
        loop {
            let (text, end) = loop {
                let notified = shared.wake.notified();
                let step = {
                    let mut inbox = shared.inbox();
                    if inbox.text.is_empty() && inbox.end.is_none() {
                        Step::Wait
                    } else if let (None, Some(until)) = (&inbox.end, self.pacing()) {
                        // Wait out the interval first, so that what arrives meanwhile goes in
                        // the same update.
                        Step::Pace(until)
                    } else {
                        Step::Take(std::mem::take(&mut inbox.text), inbox.end.clone())
                    }
                };
                match step {
                    Step::Wait => notified.await,
                    Step::Pace(until) => tokio::time::sleep_until(until).await,
                    Step::Take(text, end) => break (text, end),
                }
            };
            if !text.is_empty() {
                self.append(&text).await?;
            }
            if let Some(end) = end {
                return Ok(end);
            }
        }
    }

    /// When the next update may go, if not yet.
    fn pacing(&self) -> Option<Instant> {
        let interval = match self.mode {
            StreamMode::Streaming => self.options.interval,
            StreamMode::Patched => self.options.patch_interval,
            StreamMode::Plain => return None,
        };
        let next = self.last_op? + interval;
        (next > Instant::now()).then_some(next)
    }

    /// Adds `text` to the cards: as much as fits to the current one, the rest to new ones.
    async fn append(&mut self, mut text: &str) -> Result<(), Error> {
        self.chars += text.chars().count();
        while !text.is_empty() {
            if self.current.is_none() {
                let skeleton = self.card_json("", self.mode == StreamMode::Streaming);
                let reopen = self.reopen.take().map(|line| line + "\n");
                let opening = reopen.as_deref().unwrap_or("");
                let used = card_overhead(&skeleton, "") + json_len(opening);
                let (head, rest) = self.split(text, used);
                if opening.is_empty() {
                    self.open(head).await?;
                } else {
                    self.open(&format!("{opening}{head}")).await?;
                }
                text = rest;
                continue;
            }
            let (shown, overhead) = self
                .current
                .as_ref()
                .map_or((0, 0), |card| (json_len(&card.text), card.overhead));
            let (head, rest) = self.split(text, overhead + shown);
            if !head.is_empty() {
                self.update(head).await?;
            }
            text = rest;
            if !text.is_empty() {
                // A code block the cut leaves open is closed here and opened again in the
                // next card, so both render as code.
                let open = self
                    .current
                    .as_ref()
                    .and_then(|card| lark_content::markdown::unclosed_fence(&card.text))
                    .map(str::to_owned);
                if let Some(line) = open {
                    let fence = if line.trim_start().starts_with('~') {
                        "~~~"
                    } else {
                        "```"
                    };
                    let closing = if self
                        .current
                        .as_ref()
                        .is_some_and(|c| c.text.ends_with('\n'))
                    {
                        fence.to_owned()
                    } else {
                        format!("\n{fence}")
                    };
                    self.update(&closing).await?;
                    self.reopen = Some(line);
                }
                self.close_card(None, None).await?;
            }
        }
        Ok(())
    }

    /// The longest start of `text` that fits beside `used` bytes, preferring to end at a line
    /// break in the last 2 KB, or to leave a line that does not fit to the next card; at
    /// least one character in a new card, so a card always moves on.
    fn split<'t>(&self, text: &'t str, used: usize) -> (&'t str, &'t str) {
        let room = self.options.max_card_bytes.saturating_sub(used);
        let mut end = 0;
        let mut size = 0;
        for (index, c) in text.char_indices() {
            let next = size + lark_content::markdown::escaped_len(c);
            if next > room {
                break;
            }
            size = next;
            end = index + c.len_utf8();
        }
        if end == text.len() {
            return (text, "");
        }
        if end == 0 {
            return if self.current.is_none() {
                let first = text.chars().next().map_or(0, char::len_utf8);
                text.split_at(first)
            } else {
                ("", text)
            };
        }
        let floor = end.saturating_sub(2048);
        let line_end = text[..end].rfind('\n').filter(|at| *at >= floor && *at > 0);
        let cut = match line_end {
            Some(at) => at + 1,
            // Less than 2 KB left and no line break in it: the next card takes the whole
            // line, so that a line of code is never cut in two.
            None if self.current.is_some() && end < 2048 => 0,
            None => end,
        };
        text.split_at(cut)
    }

    fn card_json(&self, text: &str, streaming: bool) -> CardV2 {
        let mut builder = CardV2::builder();
        if let Some(title) = &self.options.title {
            builder = builder.header(CardHeader::new(title.clone()));
        }
        if streaming {
            builder = builder.streaming(self.options.config.clone(), Summary::new(""));
        } else {
            builder = builder.config(lark_content::card::CardConfig {
                update_multi: Some(true),
                ..lark_content::card::CardConfig::default()
            });
        }
        builder
            .element(Markdown::new(text).element_id(STREAM_ELEMENT_ID))
            .build()
    }

    /// Sends a new card showing `text`.
    async fn open(&mut self, text: &str) -> Result<(), Error> {
        if self.mode == StreamMode::Streaming {
            let card = self.card_json(text, true);
            let overhead = card_overhead(&card, text);
            match self.call(CreateCard::new(card)).await {
                Ok(card_id) => {
                    let message_id = self.send(Card::entity(card_id.clone())).await?;
                    self.card_ids.push(card_id.clone());
                    self.current = Some(Current {
                        card_id: Some(card_id),
                        message_id: Some(message_id),
                        sequence: 0,
                        text: text.to_owned(),
                        overhead,
                    });
                    return Ok(());
                }
                Err(error) if error.kind() == ErrorKind::Permission => {
                    tracing::warn!(
                        error = &error as &dyn std::error::Error,
                        "the app cannot create card entities (it lacks cardkit:card:write): \
                         streaming as a card message patched as the text grows"
                    );
                    self.mode = StreamMode::Patched;
                }
                Err(error) => return Err(error),
            }
        }
        if self.mode == StreamMode::Patched {
            let card = self.card_json(text, false);
            let overhead = card_overhead(&card, text);
            match self.send(Card::V2(card)).await {
                Ok(message_id) => {
                    self.current = Some(Current {
                        card_id: None,
                        message_id: Some(message_id),
                        sequence: 0,
                        text: text.to_owned(),
                        overhead,
                    });
                    return Ok(());
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::Permission | ErrorKind::InvalidContent
                    ) =>
                {
                    tracing::warn!(
                        error = &error as &dyn std::error::Error,
                        "the chat does not take card messages from this app: sending the text \
                         as text messages when it is complete"
                    );
                    self.mode = StreamMode::Plain;
                }
                Err(error) => return Err(error),
            }
        }
        let overhead = json_len("");
        self.current = Some(Current {
            card_id: None,
            message_id: None,
            sequence: 0,
            text: text.to_owned(),
            overhead,
        });
        Ok(())
    }

    /// Adds `text` to the current card.
    async fn update(&mut self, text: &str) -> Result<(), Error> {
        let Some(current) = self.current.as_mut() else {
            return Ok(());
        };
        current.text.push_str(text);
        match self.mode {
            StreamMode::Streaming => {
                let (card_id, sequence, content) = next_op(current);
                self.call(CardOp::new(
                    card_id,
                    sequence,
                    StreamText::new(STREAM_ELEMENT_ID, content),
                ))
                .await
            }
            StreamMode::Patched => {
                let content = current.text.clone();
                let message_id = current.message_id.clone();
                let card = self.card_json(&content, false);
                match message_id {
                    Some(message_id) => self.call(PatchCard::new(message_id, card)).await,
                    None => Ok(()),
                }
            }
            StreamMode::Plain => Ok(()),
        }
    }

    /// Closes the current card: for a card, streaming off and a summary (`summary`, else the
    /// note, else the start of the text); for text, the text sent. A `note` is added to the
    /// text first, if it fits.
    async fn close_card(&mut self, note: Option<&str>, summary: Option<&str>) -> Result<(), Error> {
        let Some(mut current) = self.current.take() else {
            return Ok(());
        };
        let mut result = Ok(());
        if let Some(note) = note {
            let extra = format!("\n\n{note}");
            let fits = current.overhead + json_len(&current.text) + json_len(&extra)
                <= self.options.max_card_bytes + 1024;
            if fits {
                current.text.push_str(&extra);
                result = match (self.mode, current.message_id.clone()) {
                    (StreamMode::Streaming, _) => {
                        let (card_id, sequence, content) = next_op(&mut current);
                        self.call(CardOp::new(
                            card_id,
                            sequence,
                            StreamText::new(STREAM_ELEMENT_ID, content),
                        ))
                        .await
                    }
                    (StreamMode::Patched, Some(message_id)) => {
                        let card = self.card_json(&current.text, false);
                        self.call(PatchCard::new(message_id, card)).await
                    }
                    _ => Ok(()),
                };
            }
        }
        match self.mode {
            StreamMode::Streaming => {
                let summary = match summary {
                    Some(summary) => summary.chars().take(SUMMARY_MAX_CHARS * 4).collect(),
                    None => summary_of(note.unwrap_or(&current.text)),
                };
                let (card_id, sequence, _) = next_op(&mut current);
                let closed = self
                    .call(CardOp::new(
                        card_id,
                        sequence,
                        UpdateSettings::new(Settings::streaming_off(Some(Summary::new(summary)))),
                    ))
                    .await;
                result.and(closed)
            }
            StreamMode::Patched => result,
            StreamMode::Plain if current.text.is_empty() => result,
            StreamMode::Plain => {
                let sent = self.send(MessageContent::text(current.text)).await;
                result.and(sent.map(drop))
            }
        }
    }

    /// Ends the stream: the last card closed, with the summary or the interrupted note.
    async fn close(&mut self, end: &End) -> Result<(), Error> {
        match end {
            End::Finish(summary) => self.close_card(None, summary.as_deref()).await,
            End::Interrupted => self.close_card(Some(INTERRUPTED_NOTE), None).await,
        }
    }

    /// Sends `content` to the target; answers the message id.
    async fn send(&mut self, content: impl Into<MessageContent>) -> Result<MessageId, Error> {
        let sent = match &self.target {
            Target::Send(to) => self.call(SendMessage::new(to.clone(), content)).await?,
            Target::Reply { message, in_thread } => {
                let mut reply = ReplyMessage::new(message.clone(), content);
                if *in_thread {
                    reply = reply.in_thread();
                }
                self.call(reply).await?
            }
        };
        self.message_ids.push(sent.message_id.clone());
        Ok(sent.message_id)
    }

    async fn call<E>(&mut self, endpoint: E) -> Result<E::Output, Error>
    where
        E: lark_api::Endpoint + Send + Sync,
        E::Output: Send,
    {
        self.operations += 1;
        let result = self.client.execute(endpoint).await;
        self.last_op = Some(Instant::now());
        result
    }
}

/// The next operation on `current`: its card, its sequence (one higher) and its text.
fn next_op(current: &mut Current) -> (CardId, u32, String) {
    current.sequence = current.sequence.saturating_add(1);
    (
        current.card_id.clone().unwrap_or_else(|| CardId::new("")),
        current.sequence,
        current.text.clone(),
    )
}

/// The start of `text`, on one line, for the chat list.
fn summary_of(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut summary: String = flat.chars().take(SUMMARY_MAX_CHARS).collect();
    if flat.chars().count() > SUMMARY_MAX_CHARS {
        summary.push('…');
    }
    summary
}

/// Bytes of card JSON besides `text`.
fn card_overhead(card: &CardV2, text: &str) -> usize {
    serde_json::to_string(card)
        .map_or(0, |json| json.len())
        .saturating_sub(json_len(text))
}

/// Bytes `text` takes inside a JSON string.
fn json_len(text: &str) -> usize {
    text.chars().map(lark_content::markdown::escaped_len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escaped_length_is_what_serde_json_writes() {
        for text in [
            "plain",
            "quote \" and \\ slash",
            "line\nbreak\ttab",
            "\u{1}\u{1f}",
            "中文😀",
        ] {
            let written = serde_json::to_string(text).unwrap();
            assert_eq!(json_len(text) + 2, written.len(), "{text:?}");
        }
    }

    #[test]
    fn summaries_are_one_line_and_short() {
        assert_eq!(summary_of("a\n\nb  c"), "a b c");
        let long = "x".repeat(100);
        assert_eq!(summary_of(&long).chars().count(), SUMMARY_MAX_CHARS + 1);
    }
}
