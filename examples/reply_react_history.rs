//! Replies to a message, in the chat and in a thread, reacts to it, and pages through the
//! chat's history as a stream.
//!
//! `cargo run --example reply_react_history`

use futures_util::TryStreamExt;
use lark::ChatId;
use lark::Client;
use lark_examples::{BoxError, Session, preview, say, step};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("reply_react_history on {}", session.describe()));
    let chat: ChatId = session
        .chat()
        .ok_or("LARK_RECEIVER must be a chat (chat:oc_…) for this example")?;

    // Offline, a user asks something first; on the real platform the bot starts the thread.
    let question = match &session.emulator {
        Some(emulator) => {
            let tom = session.user("Tom")?;
            lark::MessageId::new(emulator.user_says_text(
                chat.as_str(),
                tom.as_str(),
                "Is the deploy done?",
            )?)
        }
        None => {
            session
                .client
                .messages()
                .send(chat.clone(), "Is the deploy done?")
                .await?
                .message_id
        }
    };
    say(format!("question {question}"));

    let reply = session
        .client
        .messages()
        .reply(&question, "Yes, 1.4 is live.")
        .await?;
    say(format!("replied {}", reply.message_id));
    let threaded = session
        .client
        .messages()
        .reply(&question, "Details in the thread.")
        .in_thread()
        .await?;
    say(format!(
        "replied in thread {}",
        threaded.thread_id.as_ref().map_or("-", |t| t.as_str())
    ));
    let reaction = session
        .client
        .messages()
        .react(&question, "THUMBSUP")
        .await?;
    say(format!("reacted {}", reaction.reaction_type.emoji_type));
    let edited = session
        .client
        .messages()
        .edit(&reply.message_id, "Yes, 1.4 is live (all regions).")
        .await?;
    say(format!("edited {}", edited.message_id));

    // History is a stream: pages are fetched only as it is read.
    let history: Vec<_> = session
        .client
        .messages()
        .history(chat)
        .page_size(2)
        .try_collect()
        .await?;
    say(format!("history, {} messages:", history.len()));
    for message in history.iter().rev().take(5).rev() {
        say(format!("  {} {}", message.message_id, preview(message)));
    }
    Ok(())
}
