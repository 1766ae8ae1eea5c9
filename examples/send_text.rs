//! Sends a text message, with a mention, and shows how errors read: kind, code, message, log id.
//!
//! `cargo run --example send_text` (offline), or with `LARK_APP_ID`, `LARK_APP_SECRET` and
//! `LARK_RECEIVER=chat:oc_…` set, against the real platform.

use lark::Client;
use lark::content::text::Text;
use lark::{ChatId, ErrorKind};
use lark_examples::{BoxError, Session, say, step};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("send_text on {}", session.describe()));

    let sent = session
        .client
        .messages()
        .send(session.to.clone(), "Hello from lark-rs 👋")
        .await?;
    say(format!("sent text {} to {}", sent.message_id, session.to));

    // Mentions are built, not typed: a stray `<at` in user input can never become one.
    let tom = session.user("Tom")?;
    let text = Text::builder()
        .at(&tom, "Tom")
        .text(" the nightly build is green")
        .build();
    let sent = session
        .client
        .messages()
        .send(session.to.clone(), text)
        .await?;
    say(format!("sent a mention {}", sent.message_id));

    // A failure says what went wrong, with the log id to quote to support.
    let nowhere = ChatId::new("oc_00000000000000000000000000000000");
    match session.client.messages().send(nowhere, "anyone?").await {
        Ok(message) => say(format!("unexpectedly sent {}", message.message_id)),
        Err(err) => {
            let what = match err.kind() {
                ErrorKind::NotFound => "no such chat",
                ErrorKind::Permission => "a scope is missing",
                ErrorKind::RateLimited => "rate limited",
                ErrorKind::InvalidContent => "the platform refused the content",
                _ => "the platform refused the call",
            };
            say(format!(
                "{what}: code {:?}, log id {:?}",
                err.code(),
                err.log_id()
            ));
            say(format!("error: {err}"));
        }
    }
    Ok(())
}
