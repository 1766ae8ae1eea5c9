//! A bot that answers each message with a card that types the answer out as it is generated,
//! the way a chat assistant shows a language model's answer.
//!
//! `cargo run --example streaming_reply`: offline, Tom asks the bot a question through the
//! emulator; a stand-in generator produces the answer a few words at a time, and the card's
//! timeline shows what a reader saw as it grew. Against the real platform (`LARK_APP_ID`,
//! `LARK_APP_SECRET`), the webhook is served until Ctrl-C; set `LARK_ANSWER_COMMAND` to a shell
//! command that reads the question on standard input and writes the answer to standard output
//! (a language model's command-line client, say), and its output is streamed as it comes.

use lark::MessageEvent;
use lark::{Client, StreamMode};
use lark_examples::{BoxError, Session, say, step};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("streaming_reply on {}", session.describe()));
    // Each finished answer is reported here.
    let (answered, mut answers) = mpsc::channel::<String>(16);
    let bot = session
        .bot()
        .on_message(move |event: MessageEvent| {
            let answered = answered.clone();
            async move {
                let question = event.text_without_mentions().unwrap_or_default();
                // The handler answers the platform at once; the answer streams on its own task.
                tokio::spawn(async move {
                    let report = match answer(&event, question).await {
                        Ok(report) => report,
                        Err(err) => format!("the answer failed: {err}"),
                    };
                    println!("  (bot) {report}");
                    let _ = answered.send(report).await;
                });
                Ok::<(), lark::Error>(())
            }
        })
        .build()?;
    let served = session.serve(bot).await?;

    let Some(emulator) = &session.emulator else {
        return served.until_ctrl_c().await;
    };
    let chat = session.chat().ok_or("no chat")?;
    let tom = session.user("Tom")?;
    let question = "how do streaming cards work?";
    let asked = emulator.user_says_text(chat.as_str(), tom.as_str(), question)?;
    say(format!("Tom asks \"{question}\" ({asked})"));
    let report = tokio::time::timeout(Duration::from_secs(60), answers.recv())
        .await
        .map_err(|_| "the bot did not answer within 60 s")?
        .ok_or("the bot stopped")?;
    if report.starts_with("the answer failed") {
        return Err(report.into());
    }
    for id in emulator.card_ids() {
        let Some(card) = emulator.card(&id) else {
            continue;
        };
        let timeline = card["timeline"].as_array().cloned().unwrap_or_default();
        say(format!(
            "card {id}: {} operations; what a reader saw:",
            timeline.len()
        ));
        let shown = |step: &serde_json::Value| {
            say(format!(
                "  #{} {}: {:?}",
                step["sequence"],
                step["operation"],
                step["text"].as_str().unwrap_or("")
            ));
        };
        timeline.iter().take(3).for_each(shown);
        say("  …");
        timeline
            .iter()
            .skip(timeline.len().saturating_sub(2))
            .for_each(shown);
        say(format!(
            "summary in the chat list: {}",
            card["card"]["config"]["summary"]["content"]
        ));
    }
    served.stop().await
}

/// Streams the answer to `question` into a card replying to the event's message; says how.
async fn answer(event: &MessageEvent, question: String) -> Result<String, BoxError> {
    let mut card = event.reply_streaming().title("Answer");
    let (tokens, mut generated) = mpsc::channel::<String>(64);
    let generator = tokio::spawn(generate(question, tokens));
    while let Some(token) = generated.recv().await {
        card.push(&token)?;
    }
    generator.await??;
    let streamed = card.finish(None).await?;
    let how = match streamed.mode {
        StreamMode::Streaming => "a streaming card",
        StreamMode::Patched => "a patched card message",
        _ => "text messages",
    };
    Ok(format!(
        "answered in {} ({how}, {} characters, {} calls)",
        streamed.message_ids.len(),
        streamed.chars,
        streamed.operations
    ))
}

/// The answer, a piece at a time: from `LARK_ANSWER_COMMAND` when it is set, else from a
/// stand-in that writes a few words every 70 ms.
async fn generate(question: String, tokens: mpsc::Sender<String>) -> Result<(), BoxError> {
    if let Ok(command) = std::env::var("LARK_ANSWER_COMMAND") {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(question.as_bytes()).await?;
        }
        let mut stdout = child.stdout.take().ok_or("the command has no output")?;
        let mut buffer = [0_u8; 4096];
        let mut carry = Vec::new();
        loop {
            let read = stdout.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            carry.extend_from_slice(&buffer[..read]);
            let valid = match std::str::from_utf8(&carry) {
                Ok(text) => text.len(),
                Err(err) => err.valid_up_to(),
            };
            let text = String::from_utf8_lossy(&carry[..valid]).into_owned();
            carry.drain(..valid);
            if tokens.send(text).await.is_err() {
                break;
            }
        }
        child.wait().await?;
        return Ok(());
    }
    let answer = format!(
        "You asked: *{question}*\n\nA streaming card is created once, sent once, and then \
         receives the whole text again and again; each time the new part types itself out. \
         Every operation carries a sequence one higher than the last, at most ten a second, \
         and when the answer is complete the card stops streaming and shows a summary."
    );
    for word in answer.split_inclusive(' ') {
        tokio::time::sleep(Duration::from_millis(70)).await;
        if tokens.send(word.to_owned()).await.is_err() {
            break;
        }
    }
    Ok(())
}
