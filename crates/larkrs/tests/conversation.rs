//! The conversation layer against the emulator: which messages a bot answers, in what order,
//! the typing reaction, threads, and late redeliveries. Each test waits for what the emulator
//! records, never for time.

use lark::{Bot, ChatId, Conversation, Ignored, MessageEvent, OpenId, OrderBy};
use lark_emulator::{Emulator, WebhookConfig};
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

mod common;

const ENCRYPT_KEY: &str = "conversation-test-key";
const WAIT: Duration = Duration::from_secs(60);

struct Scene {
    emulator: Emulator,
    chat: ChatId,
    tom: OpenId,
    bot_open_id: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Scene {
    /// Tom's text in the group, addressed to the bot.
    fn to_bot(&self, text: &str) -> String {
        let mention = format!("<at user_id=\"{}\">Bot</at> {text}", self.bot_open_id);
        self.says(&mention)
    }

    fn says(&self, text: &str) -> String {
        self.emulator
            .user_says_text(self.chat.as_str(), self.tom.as_str(), text)
            .unwrap()
    }

    /// Waits until the bot replied to `message`, and returns the replies.
    async fn replied(&self, message: &str) -> Vec<Value> {
        let answered = |_: &Emulator| !self.replies_to(message).is_empty();
        assert!(
            self.emulator.wait_until(WAIT, answered).await,
            "no reply to {message}"
        );
        self.replies_to(message)
    }

    fn replies_to(&self, message: &str) -> Vec<Value> {
        self.emulator
            .messages_in(self.chat.as_str())
            .into_iter()
            .filter(|m| m["parent_id"] == message)
            .collect()
    }

    /// Waits until every delivery of the message's event has been answered, and returns the
    /// HTTP statuses, oldest first.
    async fn answered(&self, message: &str) -> Vec<u16> {
        let event_id = self.event_of(message).await;
        let statuses = |e: &Emulator| -> Vec<Option<u16>> {
            e.deliveries()
                .iter()
                .filter(|d| d.event_id == event_id)
                .map(|d| d.status)
                .collect()
        };
        assert!(
            self.emulator
                .wait_until(WAIT, |e| {
                    let all = statuses(e);
                    !all.is_empty() && all.iter().all(Option::is_some)
                })
                .await,
            "the delivery of {message} was never answered"
        );
        statuses(&self.emulator).into_iter().flatten().collect()
    }

    async fn event_of(&self, message: &str) -> String {
        let find = |e: &Emulator| {
            e.emitted_events()
                .into_iter()
                .find(|ev| ev.payload["event"]["message"]["message_id"] == message)
                .map(|ev| ev.event_id)
        };
        assert!(self.emulator.wait_until(WAIT, |e| find(e).is_some()).await);
        find(&self.emulator).unwrap()
    }
}

/// A bot in conversation with `rules`, serving the emulator's webhook; the emulator does not
/// retry refused deliveries on its own, so each test says when one comes again.
async fn scene<F, Fut>(rules: impl FnOnce(&Emulator) -> Conversation, handle: F) -> (Scene, Bot)
where
    F: Fn(MessageEvent) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), lark::Error>> + Send + 'static,
{
    let emulator = Emulator::start_default().await.unwrap();
    let (client, chat) = common::client_of(&emulator);
    let tom = OpenId::new(emulator.user("Tom").unwrap().open_id);
    let bot = Bot::builder(client.clone())
        .encrypt_key(ENCRYPT_KEY)
        .conversation(rules(&emulator))
        .on_message(handle)
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    emulator.set_webhook(Some(
        WebhookConfig::new(format!("http://{addr}/events"))
            .encrypt_key(ENCRYPT_KEY)
            .retry_delays_ms([]),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bot.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    let bot_open_id = emulator.bot_open_id();
    let scene = Scene {
        emulator,
        chat,
        tom,
        bot_open_id,
        _stop: stop,
    };
    (scene, bot)
}

/// A handler that answers with the text it was given, as the bot reads it.
async fn echo(event: MessageEvent) -> Result<(), lark::Error> {
    let text = event.text_for_bot().unwrap_or_default();
    event.reply(format!("echo: {text}")).await.map(drop)
}

fn text_of(message: &Value) -> String {
    let content: Value =
        serde_json::from_str(message["body"]["content"].as_str().unwrap()).unwrap();
    content["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn in_a_group_only_messages_that_mention_the_bot_are_answered() {
    let (scene, bot) = scene(|_| Conversation::default(), echo).await;
    let unaddressed = scene.says("anyone around?");
    assert_eq!(scene.answered(&unaddressed).await, [200]);
    let alice = scene.emulator.user("Alice").unwrap().open_id;
    let addressed = scene.to_bot(&format!(
        "ask <at user_id=\"{alice}\">Alice</at>, then deploy <at user_id=\"all\">everyone</at> now"
    ));
    scene.replied(&addressed).await;
    // The bot's own mention is gone from what it read; Alice is named and @all stays.
    assert_eq!(
        text_of(&scene.replies_to(&addressed)[0]),
        "echo: ask @Alice, then deploy @all now"
    );
    assert!(scene.replies_to(&unaddressed).is_empty());
    bot.idle().await;
    let stats = bot.stats();
    assert_eq!(stats.ignored(Ignored::NotAddressed), 1, "{stats:?}");
    assert_eq!(stats.ignored_total(), 1, "{stats:?}");
    assert_eq!(stats.handled, 1, "{stats:?}");
    // The identity was learned once, before the first message.
    let infos = scene
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/open-apis/bot/v3/info"))
        .count();
    assert_eq!(infos, 1);
}

#[tokio::test]
async fn at_all_a_prefix_and_the_lists_decide_in_groups() {
    let rules = Conversation::default()
        .answer_at_all(true)
        .prefix("/ask")
        .deny_user(OpenId::new("ou_nobody"));
    let (scene, bot) = scene(|_| rules, echo).await;
    let at_all = scene.says("<at user_id=\"all\">everyone</at> standup in 5");
    let prefixed = scene.says("/ask what is the build status");
    let plain = scene.says("just chatting");
    for message in [&at_all, &prefixed] {
        scene.replied(message).await;
    }
    assert_eq!(scene.answered(&plain).await, [200]);
    assert!(scene.replies_to(&plain).is_empty());
    assert_eq!(bot.stats().ignored(Ignored::NotAddressed), 1);

    // Tom is on no deny list, but a chat allow list that leaves this chat out silences him.
    let (scene, bot) = scene_with_allow_list().await;
    let message = scene.to_bot("hello?");
    assert_eq!(scene.answered(&message).await, [200]);
    assert!(scene.replies_to(&message).is_empty());
    assert_eq!(bot.stats().ignored(Ignored::NotAllowed), 1);
}

async fn scene_with_allow_list() -> (Scene, Bot) {
    let rules = Conversation::default().allow_chat(ChatId::new("oc_elsewhere"));
    scene(|_| rules, echo).await
}

#[tokio::test]
async fn a_denied_user_is_not_answered() {
    let deny_tom = |e: &Emulator| {
        Conversation::default().deny_user(OpenId::new(e.user("Tom").unwrap().open_id))
    };
    let (scene, bot) = scene(deny_tom, echo).await;
    let message = scene.to_bot("hello?");
    assert_eq!(scene.answered(&message).await, [200]);
    assert!(scene.replies_to(&message).is_empty());
    assert_eq!(bot.stats().ignored(Ignored::DeniedUser), 1);
}

#[tokio::test]
async fn two_quick_messages_in_one_chat_are_handled_one_after_the_other() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let release = Arc::new(Notify::new());
    let (started_tx, mut started) = mpsc::unbounded_channel::<String>();
    let handler = {
        let (log, release) = (log.clone(), release.clone());
        move |event: MessageEvent| {
            let (log, release, started_tx) = (log.clone(), release.clone(), started_tx.clone());
            async move {
                let text = event.text_for_bot().unwrap_or_default();
                log.lock().unwrap().push(format!("start {text}"));
                let _ = started_tx.send(text.clone());
                if text == "first" {
                    release.notified().await;
                }
                log.lock().unwrap().push(format!("end {text}"));
                event.reply(format!("done: {text}")).await.map(drop)
            }
        }
    };
    let (scene, bot) = scene(|_| Conversation::default().typing_after(None), handler).await;
    let first = scene.to_bot("first");
    assert_eq!(started.recv().await.as_deref(), Some("first"));
    // The first handler is still running, and its delivery was answered all the same.
    assert_eq!(scene.answered(&first).await, [200]);
    let second = scene.to_bot("second");
    assert_eq!(scene.answered(&second).await, [200]);
    // Both deliveries are answered; the second waits for the first.
    assert_eq!(*log.lock().unwrap(), ["start first"]);
    release.notify_one();
    scene.replied(&second).await;
    bot.idle().await;
    assert_eq!(
        *log.lock().unwrap(),
        ["start first", "end first", "start second", "end second"]
    );
    assert_eq!(bot.stats().handled, 2);
}

#[tokio::test]
async fn a_full_chat_queue_refuses_the_delivery_and_the_redelivery_is_handled() {
    let release = Arc::new(Notify::new());
    let (started_tx, mut started) = mpsc::unbounded_channel::<String>();
    let handler = {
        let release = release.clone();
        move |event: MessageEvent| {
            let (release, started_tx) = (release.clone(), started_tx.clone());
            async move {
                let text = event.text_for_bot().unwrap_or_default();
                let _ = started_tx.send(text.clone());
                if text == "one" {
                    release.notified().await;
                }
                event.reply(format!("done: {text}")).await.map(drop)
            }
        }
    };
    let rules = Conversation::default().queue_per_chat(1).typing_after(None);
    let (scene, bot) = scene(|_| rules, handler).await;
    let one = scene.to_bot("one");
    assert_eq!(started.recv().await.as_deref(), Some("one"));
    let two = scene.to_bot("two");
    assert_eq!(scene.answered(&two).await, [200], "two waits in the queue");
    let three = scene.to_bot("three");
    assert_eq!(scene.answered(&three).await, [503], "the queue holds one");
    assert_eq!(bot.stats().refused_queue_full, 1);

    release.notify_one();
    scene.replied(&two).await;
    // The platform delivers the refused event again; nothing was lost.
    let event = scene.event_of(&three).await;
    assert!(scene.emulator.redeliver(&event));
    scene.replied(&three).await;
    bot.idle().await;
    assert!(!scene.replies_to(&one).is_empty());
    assert_eq!(bot.stats().handled, 3);
}

#[tokio::test]
async fn a_message_created_too_long_ago_is_dropped() {
    let (scene, bot) = scene(|_| Conversation::default(), echo).await;
    // Stamped eleven minutes ago, as a redelivery after an outage arrives.
    scene.emulator.rewind_time(Duration::from_secs(11 * 60));
    let late = scene.to_bot("are you there?");
    assert_eq!(scene.answered(&late).await, [200]);
    assert!(scene.replies_to(&late).is_empty());
    assert_eq!(bot.stats().ignored(Ignored::Stale), 1);

    // Nine minutes late is within the default ten.
    let (scene, bot) = scene_late_by(Duration::from_secs(9 * 60)).await;
    let message = scene.to_bot("still there?");
    scene.replied(&message).await;
    assert_eq!(bot.stats().ignored_total(), 0);
}

async fn scene_late_by(by: Duration) -> (Scene, Bot) {
    let (scene, bot) = scene(|_| Conversation::default(), echo).await;
    scene.emulator.rewind_time(by);
    (scene, bot)
}

fn typing_timeline(emulator: &Emulator, message: &str) -> Vec<(String, String, String)> {
    emulator
        .reaction_timeline()
        .into_iter()
        .filter(|r| r["message_id"] == message)
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (field("action"), field("emoji_type"), field("operator_type"))
        })
        .collect()
}

#[tokio::test]
async fn the_typing_reaction_is_removed_after_a_handler_that_panics() {
    let release = Arc::new(Notify::new());
    let handler = {
        let release = release.clone();
        move |_event: MessageEvent| {
            let release = release.clone();
            async move {
                release.notified().await;
                panic!("the model crashed");
            }
        }
    };
    let rules = Conversation::default().typing_after(Some(Duration::ZERO));
    let (scene, bot) = scene(|_| rules, handler).await;
    let message = scene.to_bot("a long question");
    assert!(
        scene
            .emulator
            .wait_until(WAIT, |e| !typing_timeline(e, &message).is_empty())
            .await,
        "the typing reaction was never shown"
    );
    release.notify_one();
    assert!(
        scene
            .emulator
            .wait_until(WAIT, |e| typing_timeline(e, &message).len() == 2)
            .await,
        "the typing reaction was never removed"
    );
    let added = ("added".to_owned(), "Typing".to_owned(), "app".to_owned());
    let removed = ("removed".to_owned(), "Typing".to_owned(), "app".to_owned());
    assert_eq!(typing_timeline(&scene.emulator, &message), [added, removed]);
    // The reaction is gone from the message itself too.
    let stored = scene.emulator.message(&message).unwrap();
    assert!(
        stored["reactions"].as_array().is_none_or(Vec::is_empty),
        "{stored}"
    );
    bot.idle().await;
    assert_eq!(bot.stats().panicked, 1);
}

#[tokio::test]
async fn a_quick_handler_shows_no_typing_reaction() {
    let rules = Conversation::default().typing_after(Some(Duration::from_secs(3600)));
    let (scene, bot) = scene(|_| rules, echo).await;
    let message = scene.to_bot("quick one");
    assert_eq!(scene.answered(&message).await, [200]);
    bot.idle().await;
    assert_eq!(bot.stats().handled, 1);
    assert!(typing_timeline(&scene.emulator, &message).is_empty());
    assert_eq!(bot.stats().typing_shown, 0);
}

#[tokio::test]
async fn a_reply_to_a_message_in_a_thread_stays_in_the_thread() {
    // What the reply asks for: the platform keeps a reply to a thread's message in the thread
    // by itself, so the request's `reply_in_thread` is checked as well as where it landed.
    let (asks_tx, mut asks) = mpsc::unbounded_channel::<(bool, bool)>();
    let handler = move |event: MessageEvent| {
        let asks_tx = asks_tx.clone();
        async move {
            let reply = event.reply("in the thread");
            let _ = asks_tx.send((event.in_thread(), reply.endpoint().reply_in_thread));
            reply.await.map(drop)
        }
    };
    let (scene, bot) = scene(|_| Conversation::default(), handler).await;
    let outside = scene.to_bot("not in a thread");
    assert_eq!(asks.recv().await, Some((false, false)));
    assert_eq!(scene.answered(&outside).await, [200]);
    let root = scene.says("a topic");
    let mention = format!("<at user_id=\"{}\">Bot</at> in here", scene.bot_open_id);
    let content = serde_json::json!({ "text": mention }).to_string();
    let asked = scene
        .emulator
        .user_replies(&root, scene.tom.as_str(), "text", &content, true)
        .unwrap();
    let thread = scene.emulator.message(&asked).unwrap()["thread_id"].clone();
    assert!(thread.is_string(), "the question is in a thread");
    assert_eq!(asks.recv().await, Some((true, true)));
    assert_eq!(scene.answered(&asked).await, [200]);
    bot.idle().await;
    assert_eq!(bot.stats().handled, 2);
    // Replies in a thread name its root as their parent; the bot's answer is the last message.
    let messages = scene.emulator.messages_in(scene.chat.as_str());
    let answer = messages.last().unwrap();
    assert_eq!(answer["sender"]["sender_type"], "app", "{answer}");
    assert_eq!(text_of(answer), "in the thread");
    assert_eq!(answer["thread_id"], thread, "{answer}");
}

/// The answer the stand-in model gives to `question`.
fn model_answer(question: &str) -> String {
    if question.contains("table") {
        return "Plans:\n\n| plan | seats | price |\n|---|---|---|\n| Team | 50 | $8 |\n| Business | 500 | $15 |".to_owned();
    }
    let sentence =
        "Every word of a long answer arrives, in order, across as many messages as it takes. ";
    let mut answer = String::new();
    let mut n = 0;
    while answer.chars().count() < 40_000 {
        n += 1;
        let _ = write!(answer, "{n}. {sentence}");
        if n % 25 == 0 {
            answer.push_str("\n\n```text\nsome code that stays whole\n```\n\n");
        }
    }
    answer
}

async fn markdown_answer(event: MessageEvent) -> Result<(), lark::Error> {
    let question = event.text_for_bot().unwrap_or_default();
    event
        .reply_markdown(&model_answer(&question))
        .await
        .map(drop)
}

#[tokio::test]
async fn a_table_is_answered_as_a_card_and_a_long_answer_in_several_posts_with_nothing_lost() {
    let (scene, bot) = scene(|_| Conversation::default(), markdown_answer).await;
    let table = scene.to_bot("a table please");
    assert_eq!(scene.answered(&table).await, [200]);
    bot.idle().await;
    assert_eq!(bot.stats().handled, 1, "{:?}", bot.stats());
    let replies = scene.replies_to(&table);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["msg_type"], "interactive", "{}", replies[0]);

    let long = scene.to_bot("tell me everything");
    assert_eq!(scene.answered(&long).await, [200]);
    bot.idle().await;
    assert_eq!(bot.stats().handled, 2, "{:?}", bot.stats());
    let replies = scene.replies_to(&long);
    assert!(replies.len() >= 2, "{}", replies.len());
    assert!(replies.iter().all(|r| r["msg_type"] == "post"));
    // The platform reads a post's Markdown back as elements; their texts, in order, hold
    // every word of the answer (code fences aside, which a reading may or may not keep).
    let mut read = Vec::new();
    for reply in &replies {
        let content: Value =
            serde_json::from_str(reply["body"]["content"].as_str().unwrap()).unwrap();
        texts(&content, &mut read);
    }
    let read = read.join(" ");
    let answer = model_answer("tell me everything");
    let expected: Vec<&str> = answer
        .split_whitespace()
        .filter(|w| !w.starts_with("```"))
        .collect();
    let read: Vec<&str> = read
        .split_whitespace()
        .filter(|w| !w.starts_with("```"))
        .collect();
    let differ = read.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(
        differ.is_none() && read.len() == expected.len(),
        "read {} words, expected {}; first difference at {differ:?}: {:?} against {:?}",
        read.len(),
        expected.len(),
        differ.map(|at| &read[at.saturating_sub(3)..(at + 3).min(read.len())]),
        differ.map(|at| &expected[at.saturating_sub(3)..(at + 3).min(expected.len())]),
    );
}

/// Every `text` string under `value`, in document order.
fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("text", Value::String(text)) => out.push(text.clone()),
                    _ => texts(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| texts(item, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_model_reads_any_message_as_markdown_with_the_message_it_answers_quoted() {
    let (read_tx, mut read) = mpsc::unbounded_channel::<String>();
    let handler = move |event: MessageEvent| {
        let read_tx = read_tx.clone();
        async move {
            let prompt = event.to_markdown_with_quote().await?;
            let _ = read_tx.send(prompt);
            if event.text_for_bot().as_deref() == Some("what is the answer?") {
                event.reply("The answer is **42**.").await?;
            }
            Ok(())
        }
    };
    let rules = |_: &Emulator| Conversation::default().answer_every_group_message(true);
    let (scene, bot) = scene(rules, handler).await;

    let asked = scene.to_bot("what is the answer?");
    assert_eq!(read.recv().await.as_deref(), Some("what is the answer?"));
    let answer = scene.replied(&asked).await[0]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mention = format!("<at user_id=\"{}\">Bot</at> why?", scene.bot_open_id);
    let content = serde_json::json!({ "text": mention }).to_string();
    scene
        .emulator
        .user_replies(&answer, scene.tom.as_str(), "text", &content, false)
        .unwrap();
    assert_eq!(
        read.recv().await.as_deref(),
        Some("> The answer is **42**.\n\nwhy?")
    );

    // A post, in the shape the message content reference documents, keeps its styles,
    // links and code.
    let post = serde_json::json!({
        "zh_cn": {
            "title": "Release",
            "content": [
                [{"tag": "text", "text": "ship it", "style": ["bold"]},
                 {"tag": "text", "text": " see "},
                 {"tag": "a", "text": "notes", "href": "https://example.com/notes"}],
                [{"tag": "code_block", "language": "SHELL", "text": "make release"}]
            ]
        }
    })
    .to_string();
    scene
        .emulator
        .user_says(scene.chat.as_str(), scene.tom.as_str(), "post", &post)
        .unwrap();
    let markdown = read.recv().await.unwrap();
    assert!(markdown.starts_with("**Release**\n\n"), "{markdown}");
    assert!(
        markdown.contains("**ship it** see [notes](https://example.com/notes)"),
        "{markdown}"
    );
    assert!(
        markdown.contains("```shell\nmake release\n```"),
        "{markdown}"
    );

    // A reply to a merged forward quotes the messages it holds, each with its sender.
    let first = scene.says("the build is red");
    let second = scene.says("fixed in 4f2a");
    // The two messages reach the handler too (every group message is answered here).
    for _ in 0..2 {
        read.recv().await.unwrap();
    }
    let forwarded = bot
        .client()
        .execute(lark::api::im::messages::MergeForward::new(
            scene.chat.clone(),
            [lark::MessageId::new(&first), lark::MessageId::new(&second)],
        ))
        .await
        .unwrap();
    let mention = format!("<at user_id=\"{}\">Bot</at> summarise", scene.bot_open_id);
    let content = serde_json::json!({ "text": mention }).to_string();
    scene
        .emulator
        .user_replies(
            forwarded.message.message_id.as_str(),
            scene.tom.as_str(),
            "text",
            &content,
            false,
        )
        .unwrap();
    let tom = scene.tom.as_str();
    assert_eq!(
        read.recv().await.unwrap(),
        format!("> **{tom}**: the build is red\n> \n> **{tom}**: fixed in 4f2a\n\nsummarise")
    );
    bot.idle().await;
    assert_eq!(bot.stats().failed, 0);
}

#[tokio::test]
async fn a_reply_to_the_bots_own_message_counts_as_addressed_only_when_asked_for() {
    for answer_replies in [false, true] {
        let rules = move |_: &Emulator| {
            Conversation::default()
                .answer_replies_to_bot(answer_replies)
                .typing_after(None)
        };
        let (scene, bot) = scene(rules, echo).await;
        let asked = scene.to_bot("status?");
        let answer = scene.replied(&asked).await[0]["message_id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A reply to the bot's answer, with no mention, and one to Tom's own message.
        let content = serde_json::json!({ "text": "and now?" }).to_string();
        let to_bot = scene
            .emulator
            .user_replies(&answer, scene.tom.as_str(), "text", &content, false)
            .unwrap();
        assert_eq!(scene.answered(&to_bot).await, [200]);
        let to_tom = scene
            .emulator
            .user_replies(&asked, scene.tom.as_str(), "text", &content, false)
            .unwrap();
        assert_eq!(scene.answered(&to_tom).await, [200]);
        bot.idle().await;
        let stats = bot.stats();
        if answer_replies {
            assert_eq!(stats.handled, 2, "{stats:?}");
            assert_eq!(stats.ignored(Ignored::NotAddressed), 1, "{stats:?}");
        } else {
            assert_eq!(stats.handled, 1, "{stats:?}");
            assert_eq!(stats.ignored(Ignored::NotAddressed), 2, "{stats:?}");
        }
    }
}

/// An `im.message.receive_v1` delivery in the shape the event reference documents, from
/// `open_id` with `sender_type`, mentioning the bot.
fn receive_event(emulator: &Emulator, open_id: &str, sender_type: &str, text: &str) -> Value {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    serde_json::json!({
        "schema": "2.0",
        "header": {
            "event_id": format!("5e3702a84e847582be8db7fb73283c{}", text.len()),
            "event_type": "im.message.receive_v1",
            "create_time": created,
            "token": "",
            "app_id": emulator.app_id(),
            "tenant_key": "736588c9260f175e"
        },
        "event": {
            "sender": {
                "sender_id": { "open_id": open_id },
                "sender_type": sender_type,
                "tenant_key": "736588c9260f175e"
            },
            "message": {
                "message_id": format!("om_5ce6d572455d361153b7cb51da133945{}", text.len()),
                "create_time": created,
                "chat_id": emulator.default_chat(),
                "chat_type": "group",
                "message_type": "text",
                "content": serde_json::json!({ "text": format!("@_user_1 {text}") }).to_string(),
                "mentions": [{
                    "key": "@_user_1",
                    "id": { "open_id": emulator.bot_open_id() },
                    "name": "Bot",
                    "tenant_key": "736588c9260f175e"
                }]
            }
        }
    })
}

#[tokio::test]
async fn messages_from_bots_and_from_itself_are_not_answered() {
    // The platform documents user messages only; whatever else arrives is not answered
    // unless asked for. The pushes go over the long connection as they are.
    let emulator = Emulator::start(lark_emulator::EmulatorConfig::default().long_connection())
        .await
        .unwrap();
    let (client, _) = common::client_of(&emulator);
    let bot = Bot::builder(client)
        .allow_unsigned_events()
        .conversation(Conversation::default().typing_after(None))
        .on_message(echo)
        .build()
        .unwrap();
    let handle = common::connected(&bot).await;
    let pushes = [
        (emulator.bot_open_id(), "user", "from myself"),
        (
            "ou_7d8a6e6df7621556ce0d21922b676706".to_owned(),
            "app",
            "from another bot",
        ),
    ];
    for (open_id, sender_type, text) in &pushes {
        let event = receive_event(&emulator, open_id, sender_type, text);
        let ack = emulator
            .ws_push_raw(&emulator.app_id(), event.to_string())
            .await
            .expect("acknowledged");
        assert_eq!(ack.code, 200, "{ack:?}");
    }
    // A person's message, through the emulator, is answered.
    let tom = emulator.user("Tom").unwrap().open_id;
    let chat = emulator.default_chat();
    let text = format!("<at user_id=\"{}\">Bot</at> hello", emulator.bot_open_id());
    let said = emulator.user_says_text(&chat, &tom, &text).unwrap();
    assert!(
        emulator
            .wait_until(WAIT, |e| e
                .messages_in(&chat)
                .iter()
                .any(|m| m["parent_id"] == said.as_str()))
            .await
    );
    bot.idle().await;
    let stats = bot.stats();
    assert_eq!(stats.ignored(Ignored::OwnMessage), 1, "{stats:?}");
    assert_eq!(stats.ignored(Ignored::FromBot), 1, "{stats:?}");
    assert_eq!(stats.handled, 1, "{stats:?}");
    let _ = handle.shutdown().await;
}

#[tokio::test]
async fn in_a_topic_group_the_answer_goes_to_the_topic_of_the_question() {
    let (scene, bot) = scene(|_| Conversation::default(), echo).await;
    let mut topics = lark_emulator::ChatConfig::default();
    topics.name = "Topics".to_owned();
    topics.members = vec![scene.tom.as_str().to_owned()];
    topics.bots = vec![scene.emulator.app_id()];
    topics.topic = true;
    let chat = scene.emulator.add_chat(&topics).unwrap();
    let text = format!("<at user_id=\"{}\">Bot</at> a new topic", scene.bot_open_id);
    let asked = scene
        .emulator
        .user_says_text(&chat, scene.tom.as_str(), &text)
        .unwrap();
    let topic = scene.emulator.message(&asked).unwrap()["thread_id"].clone();
    assert!(topic.is_string(), "a topic group's message starts a topic");
    assert!(
        scene
            .emulator
            .wait_until(WAIT, |e| e.messages_in(&chat).len() == 2)
            .await
    );
    bot.idle().await;
    let answer = scene.emulator.messages_in(&chat)[1].clone();
    assert_eq!(answer["sender"]["sender_type"], "app", "{answer}");
    assert_eq!(answer["thread_id"], topic, "{answer}");
    assert_eq!(answer["parent_id"], asked.as_str(), "{answer}");
}

#[tokio::test]
async fn in_a_one_to_one_chat_every_message_is_answered_and_a_denied_chat_never() {
    let (open, bot) = scene(|_| Conversation::default(), echo).await;
    let p2p = open.emulator.user_opens_p2p(open.tom.as_str()).unwrap();
    let said = open
        .emulator
        .user_says_text(&p2p, open.tom.as_str(), "no mention needed here")
        .unwrap();
    let replied = |e: &Emulator| {
        e.messages_in(&p2p)
            .iter()
            .any(|m| m["parent_id"] == said.as_str())
    };
    assert!(open.emulator.wait_until(WAIT, replied).await);
    bot.idle().await;
    assert_eq!(bot.stats().handled, 1);

    let deny_p2p = |e: &Emulator| {
        let p2p = e.user_opens_p2p(&e.user("Tom").unwrap().open_id).unwrap();
        Conversation::default().deny_chat(ChatId::new(p2p))
    };
    let (denied, bot) = scene(deny_p2p, echo).await;
    let p2p = denied.emulator.user_opens_p2p(denied.tom.as_str()).unwrap();
    let said = denied
        .emulator
        .user_says_text(&p2p, denied.tom.as_str(), "hello?")
        .unwrap();
    assert_eq!(denied.answered(&said).await, [200]);
    assert_eq!(bot.stats().ignored(Ignored::DeniedChat), 1);
}

/// A handler that reports each message's text when it starts, and holds "hold" messages until
/// released.
fn holding(
    release: Arc<Notify>,
    started: mpsc::UnboundedSender<String>,
) -> impl Fn(
    MessageEvent,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), lark::Error>> + Send>>
+ Send
+ Sync
+ 'static {
    move |event: MessageEvent| {
        let (release, started) = (release.clone(), started.clone());
        Box::pin(async move {
            let text = event.text_for_bot().unwrap_or_default();
            let _ = started.send(text.clone());
            if text.starts_with("hold") {
                release.notified().await;
            }
            event.reply(format!("done: {text}")).await.map(drop)
        })
    }
}

#[tokio::test]
async fn chats_run_at_the_same_time_up_to_the_bound() {
    for bound in [1, 2] {
        let release = Arc::new(Notify::new());
        let (started_tx, mut started) = mpsc::unbounded_channel();
        let rules = move |_: &Emulator| {
            Conversation::default()
                .max_concurrent_chats(bound)
                .typing_after(None)
        };
        let (scene, bot) = scene(rules, holding(release.clone(), started_tx)).await;
        let p2p = scene.emulator.user_opens_p2p(scene.tom.as_str()).unwrap();
        let held = scene.to_bot("hold this");
        assert_eq!(started.recv().await.as_deref(), Some("hold this"));
        let other = scene
            .emulator
            .user_says_text(&p2p, scene.tom.as_str(), "meanwhile")
            .unwrap();
        assert_eq!(scene.answered(&other).await, [200]);
        if bound == 2 {
            // A second chat starts while the first is held.
            assert_eq!(started.recv().await.as_deref(), Some("meanwhile"));
            release.notify_one();
        } else {
            // With one chat at a time, the other chat waits for the first to finish.
            assert!(started.try_recv().is_err());
            release.notify_one();
            assert_eq!(started.recv().await.as_deref(), Some("meanwhile"));
        }
        bot.idle().await;
        assert_eq!(bot.stats().handled, 2);
        assert!(!scene.replies_to(&held).is_empty());
    }
}

#[tokio::test]
async fn ordered_by_thread_a_thread_does_not_wait_for_its_chat() {
    for order in [OrderBy::Chat, OrderBy::Thread] {
        let release = Arc::new(Notify::new());
        let (started_tx, mut started) = mpsc::unbounded_channel();
        let rules = move |_: &Emulator| Conversation::default().order_by(order).typing_after(None);
        let (scene, bot) = scene(rules, holding(release.clone(), started_tx)).await;
        let held = scene.to_bot("hold the chat");
        assert_eq!(started.recv().await.as_deref(), Some("hold the chat"));
        let root = scene.says("a topic");
        assert_eq!(scene.answered(&root).await, [200]);
        let mention = format!(
            "<at user_id=\"{}\">Bot</at> in the thread",
            scene.bot_open_id
        );
        let content = serde_json::json!({ "text": mention }).to_string();
        let in_thread = scene
            .emulator
            .user_replies(&root, scene.tom.as_str(), "text", &content, true)
            .unwrap();
        assert_eq!(scene.answered(&in_thread).await, [200]);
        if order == OrderBy::Thread {
            assert_eq!(started.recv().await.as_deref(), Some("in the thread"));
            release.notify_one();
        } else {
            assert!(started.try_recv().is_err(), "the thread waits for its chat");
            release.notify_one();
            assert_eq!(started.recv().await.as_deref(), Some("in the thread"));
        }
        bot.idle().await;
        assert_eq!(bot.stats().handled, 2);
        assert!(!scene.replies_to(&held).is_empty());
    }
}

#[tokio::test]
async fn all_the_queues_together_hold_at_most_max_waiting() {
    let release = Arc::new(Notify::new());
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let rules = |_: &Emulator| Conversation::default().max_waiting(1).typing_after(None);
    let (scene, bot) = scene(rules, holding(release.clone(), started_tx)).await;
    let held = scene.to_bot("hold on");
    assert_eq!(started.recv().await.as_deref(), Some("hold on"));
    // Another chat, with a queue of its own, is refused all the same.
    let p2p = scene.emulator.user_opens_p2p(scene.tom.as_str()).unwrap();
    let other = scene
        .emulator
        .user_says_text(&p2p, scene.tom.as_str(), "me too")
        .unwrap();
    assert_eq!(scene.answered(&other).await, [503]);
    assert_eq!(bot.stats().refused_queue_full, 1);
    release.notify_one();
    scene.replied(&held).await;
    bot.idle().await;
    assert!(scene.emulator.redeliver(&scene.event_of(&other).await));
    assert_eq!(started.recv().await.as_deref(), Some("me too"));
    bot.idle().await;
    assert_eq!(bot.stats().handled, 2);
}
