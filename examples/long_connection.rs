//! The echo bot over the long connection: no public URL, no webhook. The client discovers the
//! endpoint, dials it, answers pings, and reconnects by itself; the handlers are the same as
//! over a webhook.
//!
//! `cargo run --example long_connection`: offline against the emulator. Against the real
//! platform (with `LARK_APP_ID` and `LARK_APP_SECRET` set, and events set to arrive over the
//! long connection in the console) it listens until Ctrl-C.

use lark::Client;
use lark::ws::Status;
use lark::{CardResponse, MessageContent, MessageEvent, ToastKind};
use lark_examples::{BoxError, Session, say, step};
use serde_json::json;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("long_connection on {}", session.describe()));
    if let Some(emulator) = &session.emulator {
        // As "receive events through the long connection" in the developer console.
        emulator.set_subscription(
            &emulator.app_id(),
            lark_emulator::Subscription::LongConnection,
        )?;
    }
    // The long connection is authenticated by the platform itself: no key or token to check.
    let bot = lark::Bot::builder(session.client.clone())
        .allow_unsigned_events()
        .on_message(|event: MessageEvent| async move {
            let said = event.text_without_mentions().unwrap_or_default();
            println!("  (bot) received {said:?} over the long connection");
            event.reply(format!("echo: {said}")).await.map(drop)
        })
        .on_card(|click: lark::CardEvent| async move {
            Ok::<_, lark::Error>(CardResponse::toast(
                ToastKind::Success,
                format!("clicked {}", click.value_str("button").unwrap_or("?")),
            ))
        })
        .build()?;
    let handle = bot.connect();
    let status = handle
        .wait_for(|s| matches!(s, Status::Connected { .. } | Status::Stopped(_)))
        .await;
    say(format!("status: {status:?}"));
    if let Status::Stopped(reason) = status {
        return Err(reason.to_string().into());
    }

    let Some(emulator) = &session.emulator else {
        println!("listening; Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
        say(format!("{:?}", handle.shutdown().await));
        return Ok(());
    };
    let chat = session.chat().ok_or("no chat")?;
    let tom = session.user("Tom")?;
    let question = emulator.user_says_text(chat.as_str(), tom.as_str(), "ping")?;
    say(format!("Tom says \"ping\" ({question})"));
    let answered = |e: &lark_emulator::Emulator| {
        e.messages_in(chat.as_str())
            .iter()
            .any(|m| m["parent_id"] == question.as_str())
    };
    if !emulator.wait_until(Duration::from_secs(30), answered).await {
        return Err("the bot did not reply within 30 s".into());
    }
    say("the bot replied \"echo: ping\"");

    let card = lark::content::card::CardV2::builder()
        .element(
            lark::content::card::Button::new("Deploy")
                .primary()
                .callback(json!({"button": "deploy"})),
        )
        .build();
    let sent = session
        .client
        .messages()
        .send(chat.clone(), MessageContent::card(card))
        .await?;
    let outcome = emulator
        .click(
            sent.message_id.as_str(),
            tom.as_str(),
            json!({"button": "deploy"}),
        )
        .await?;
    say(format!(
        "Tom clicked Deploy: toast {}",
        outcome
            .toast
            .map_or_else(|| "none".to_owned(), |t| t["content"].to_string())
    ));
    say(format!(
        "acks the emulator received: {}",
        emulator.ws_acks().len()
    ));
    say(format!("after shutdown: {:?}", handle.shutdown().await));
    Ok(())
}
