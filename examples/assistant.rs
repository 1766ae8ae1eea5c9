//! An assistant in a group chat: it answers only when mentioned, one question of a chat at a
//! time and in order, shows a typing reaction while it works, streams a markdown answer with a
//! table into a card, and keeps its answer in the thread the question came from.
//!
//! `cargo run --example assistant`: offline, Tom talks in the emulator's group; a stand-in model
//! writes the answers. Against the real platform (`LARK_APP_ID`, `LARK_APP_SECRET`,
//! `LARK_ENCRYPT_KEY`), the webhook is served until Ctrl-C.

use lark::{Bot, ChatId, Client, Conversation, Ignored, MessageEvent, OpenId};
use lark_emulator::Emulator;
use lark_examples::{BoxError, Session, say, step};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("assistant on {}", session.describe()));
    let mut rules = Conversation::default();
    if session.emulator.is_some() {
        // Offline the stand-in model is quick, so the indicator shows at once; on the platform
        // it shows once an answer takes longer than the default second.
        rules = rules.typing_after(Some(Duration::ZERO));
    }
    let bot = session
        .bot()
        .conversation(rules)
        .on_message(|event: MessageEvent| async move {
            let question = event.text_for_bot().unwrap_or_default();
            println!("  (bot) working on {question:?}");
            answer(&event, &question).await?;
            println!("  (bot) answered {question:?}");
            Ok::<(), BoxError>(())
        })
        .build()?;
    let served = session.serve(bot.clone()).await?;

    let Some(emulator) = &session.emulator else {
        return served.until_ctrl_c().await;
    };
    let chat = session.chat().ok_or("no chat")?;
    let asked = converse(emulator, &chat, &session.user("Tom")?, &bot).await?;
    report(emulator, &chat, &asked, &bot);
    served.stop().await
}

/// Tom talks in the group: chatter, two quick questions to the bot, and one in a thread.
/// Returns the three questions.
async fn converse(
    emulator: &Emulator,
    chat: &ChatId,
    tom: &OpenId,
    bot: &Bot,
) -> Result<[String; 3], BoxError> {
    let me = bot.identity().await?;
    say(format!("the bot is {} ({})", me.app_name, me.open_id));
    let mention =
        |text: &str| format!("<at user_id=\"{}\">{}</at> {text}", me.open_id, me.app_name);

    // Each message is said once the one before reached the bot, so that they arrive in the
    // order they were said (the platform does not promise an order between deliveries).
    let says = |text: &str| emulator.user_says_text(chat.as_str(), tom.as_str(), text);
    let chatter = says("lunch anyone?")?;
    delivered(emulator, &chatter).await?;
    say("Tom, to the group: \"lunch anyone?\"");
    let first = says(&mention("compare the plans"))?;
    delivered(emulator, &first).await?;
    let second = says(&mention("and which is cheapest?"))?;
    delivered(emulator, &second).await?;
    say("Tom, to the bot, twice in a row: \"compare the plans\", \"and which is cheapest?\"");
    let topic = says("release notes")?;
    delivered(emulator, &topic).await?;
    let content = serde_json::json!({ "text": mention("summarise this thread") }).to_string();
    let in_thread = emulator.user_replies(&topic, tom.as_str(), "text", &content, true)?;
    delivered(emulator, &in_thread).await?;
    say("Tom, in a thread under \"release notes\": \"summarise this thread\"");

    // Each question's typing reaction is removed last, once its answer is out.
    let asked = [first, second, in_thread];
    let removed = |e: &Emulator, id: &str| {
        e.reaction_timeline()
            .iter()
            .any(|r| r["message_id"] == id && r["action"] == "removed")
    };
    let done = emulator
        .wait_until(Duration::from_secs(60), |e| {
            asked.iter().all(|id| removed(e, id))
        })
        .await;
    if !done {
        return Err("the bot did not answer within 60 s".into());
    }
    bot.idle().await;

    // A question the platform delivers eleven minutes late, as after an outage. (The
    // emulator's clock is set back only once the answers above are out.)
    let late = Duration::from_secs(11 * 60);
    emulator.rewind_time(late);
    let stale = says(&mention("are you there?"))?;
    delivered(emulator, &stale).await?;
    emulator.advance_time(late);
    say("Tom, eleven minutes ago, delivered only now: \"are you there?\"");
    Ok(asked)
}

/// What the chat, the cards, the reactions and the bot's counters show.
fn report(emulator: &Emulator, chat: &ChatId, asked: &[String; 3], bot: &Bot) {
    let [first, second, in_thread] = asked;

    let messages = emulator.messages_in(chat.as_str());
    let answers: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["sender"]["sender_type"] == "app")
        .collect();
    for answer in &answers {
        let parent = answer["parent_id"].as_str().unwrap_or("");
        let to = if parent == first {
            "\"compare the plans\""
        } else if parent == second {
            "\"and which is cheapest?\""
        } else {
            "the thread"
        };
        let place = answer["thread_id"]
            .as_str()
            .map_or_else(|| "in the chat".to_owned(), |t| format!("in thread {t}"));
        let kind = match answer["msg_type"].as_str() {
            Some("interactive") => "a card",
            _ => "a message",
        };
        say(format!("answer to {to}: {kind} {place}"));
    }
    let thread = emulator
        .message(in_thread)
        .map(|m| m["thread_id"].clone())
        .unwrap_or_default();
    say(format!(
        "the thread's answer stayed in it: {}",
        answers.iter().any(|a| a["thread_id"] == thread)
    ));
    for card in emulator.card_ids() {
        let text = emulator
            .card(&card)
            .map(|c| c["text"].clone())
            .unwrap_or_default();
        if text.as_str().is_some_and(|t| t.contains("| plan |")) {
            say("a streamed card holds the markdown table:");
            for line in text
                .as_str()
                .unwrap_or("")
                .lines()
                .filter(|l| l.starts_with('|'))
            {
                say(format!("  {line}"));
            }
            break;
        }
    }
    for step in emulator.reaction_timeline() {
        say(format!(
            "reaction {} {} on {}",
            step["emoji_type"].as_str().unwrap_or("?"),
            step["action"].as_str().unwrap_or("?"),
            step["message_id"].as_str().unwrap_or("?")
        ));
    }
    let stats = bot.stats();
    say(format!(
        "handled {}, one at a time; not answered: {} ({}: \"lunch anyone?\", \"release notes\"); typing shown {} times",
        stats.handled,
        stats.ignored(Ignored::NotAddressed),
        Ignored::NotAddressed,
        stats.typing_shown
    ));
    say(format!(
        "dropped as {}: {} (\"are you there?\", created 11 minutes before it arrived)",
        Ignored::Stale,
        stats.ignored(Ignored::Stale)
    ));
}

/// Waits until the emulator delivered the event of `message` and the bot answered it.
async fn delivered(emulator: &Emulator, message: &str) -> Result<(), BoxError> {
    let answered = |e: &Emulator| {
        let events: Vec<String> = e
            .emitted_events()
            .into_iter()
            .filter(|ev| ev.payload["event"]["message"]["message_id"] == message)
            .map(|ev| ev.event_id)
            .collect();
        e.deliveries()
            .iter()
            .any(|d| events.contains(&d.event_id) && d.status.is_some())
    };
    if emulator.wait_until(Duration::from_secs(60), answered).await {
        Ok(())
    } else {
        Err(format!("{message} was not delivered within 60 s").into())
    }
}

/// Streams the stand-in model's markdown answer into a card that replies to the question.
async fn answer(event: &MessageEvent, question: &str) -> Result<(), BoxError> {
    let mut card = event.reply_streaming().title("Assistant");
    for piece in model(question) {
        card.push(&piece)?;
        tokio::task::yield_now().await;
    }
    card.finish(None).await?;
    Ok(())
}

/// A stand-in for a language model: the answer in pieces, the way a model streams tokens.
fn model(question: &str) -> Vec<String> {
    let answer = if question.contains("plans") {
        "Here are the plans side by side:\n\n| plan | seats | price |\n|---|---|---|\n| Starter | 10 | $0 |\n| Team | 50 | $8 |\n| Business | 500 | $15 |\n"
    } else if question.contains("cheapest") {
        "**Starter** is the cheapest: it is free for up to 10 seats."
    } else {
        "The thread agrees on shipping **v2.1** on Friday."
    };
    answer.split_inclusive(' ').map(str::to_owned).collect()
}
