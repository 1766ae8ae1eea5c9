//! A bot that answers every message over a webhook: verified, decrypted, deduplicated.
//!
//! `cargo run --example echo_bot`: offline, Tom writes to the bot through the emulator, which
//! delivers the event encrypted and signed, and the bot's reply shows up in the chat. Against the
//! real platform the webhook is served until Ctrl-C.

use lark::Client;
use lark::MessageEvent;
use lark_examples::{BoxError, Session, say, step};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("echo_bot on {}", session.describe()));
    let bot = session
        .bot()
        .on_message(|event: MessageEvent| async move {
            let said = event
                .text_without_mentions()
                .unwrap_or_else(|| format!("a {} message", event.content().msg_type()));
            println!("  (bot) received {:?} in {}", said, event.chat_id());
            event.reply(format!("echo: {said}")).await.map(drop)
        })
        .build()?;
    let served = session.serve(bot).await?;

    let Some(emulator) = &session.emulator else {
        return served.until_ctrl_c().await;
    };
    let chat = session.chat().ok_or("no chat")?;
    let tom = session.user("Tom")?;
    let question = emulator.user_says_text(chat.as_str(), tom.as_str(), "ping")?;
    say(format!("Tom says \"ping\" ({question})"));
    let answered = emulator
        .wait_until(Duration::from_secs(30), |e| {
            e.messages_in(chat.as_str())
                .iter()
                .any(|m| m["parent_id"].as_str() == Some(question.as_str()))
        })
        .await;
    let reply = emulator
        .messages_in(chat.as_str())
        .into_iter()
        .find(|m| m["parent_id"].as_str() == Some(question.as_str()));
    match (answered, reply) {
        (true, Some(reply)) => say(format!("the bot replied: {}", reply["body"]["content"])),
        _ => return Err("the bot did not reply within 30 s".into()),
    }
    served.stop().await
}
