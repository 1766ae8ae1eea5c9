//! Creates a group chat with a user in it, adds another, posts a welcome that mentions them, and
//! lists the members.
//!
//! `cargo run --example create_chat_and_welcome`

use futures_util::TryStreamExt;
use lark::Client;
use lark::content::text::Text;
use lark_examples::{BoxError, Session, say, step};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("create_chat_and_welcome on {}", session.describe()));
    let tom = session.user("Tom")?;

    let chat = session
        .client
        .chats()
        .create("Launch crew")
        .members([tom.clone()])
        .await?;
    let chat_id = chat
        .chat_id
        .clone()
        .ok_or("the platform returned no chat_id")?;
    say(format!(
        "created \"{}\" ({chat_id})",
        chat.name.as_deref().unwrap_or_default()
    ));

    if session.emulator.is_some() {
        let alice = session.user("Alice")?;
        session.client.members().add(&chat_id, [alice]).await?;
        say("added Alice");
    }

    let welcome = Text::builder()
        .text("Welcome ")
        .at(&tom, "Tom")
        .text("! This chat is for the launch.")
        .build();
    let sent = session
        .client
        .messages()
        .send(chat_id.clone(), welcome)
        .await?;
    say(format!("sent the welcome {}", sent.message_id));

    let members: Vec<_> = session
        .client
        .members()
        .list(&chat_id)
        .try_collect()
        .await?;
    let names: Vec<_> = members
        .iter()
        .map(|m| m.name.clone().unwrap_or_else(|| m.member_id.clone()))
        .collect();
    say(format!("members: {}", names.join(", ")));
    Ok(())
}
