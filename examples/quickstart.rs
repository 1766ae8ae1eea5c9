//! The whole SDK in one run, offline: an emulated Lark Open Platform starts in this process and
//! the bot walks through every main flow, printing what happens.
//!
//! `cargo run --example quickstart`
//!
//! With `LARK_APP_ID`, `LARK_APP_SECRET` and `LARK_RECEIVER=chat:oc_…` set, the sending flows
//! run against the real platform instead (the simulated user steps need the emulator and are
//! skipped).

use futures_util::TryStreamExt;
use lark::Client;
use lark::content::card::{Button, CardHeader, CardV2, HeaderTemplate, Markdown};
use lark::content::post::{PostBody, PostElement, TextStyle};
use lark::content::text::Text;
use lark::{
    CardResponse, ChatId, MessageContent, MessageEvent, MessageId, OpenId, Post, ToastKind,
};
use lark_emulator::Emulator;
use lark_examples::{BoxError, Served, Session, preview, say, step};
use serde_json::json;
use std::time::Duration;

const PNG: &[u8] = include_bytes!("../crates/lark-http/tests/fixtures/gradient.png");

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    println!("lark-rs quickstart on {}", session.describe());
    let tom = session.user("Tom")?;

    token(&session).await?;
    every_kind_of_message(&session, &tom).await?;
    upload_an_image(&session).await?;
    let chat = create_a_chat(&session, &tom).await?;
    reply_react_history(&session, &chat).await?;

    let Some(emulator) = &session.emulator else {
        println!("\nThe webhook steps need the emulator; run without LARK_APP_ID to see them.");
        return Ok(());
    };
    let served = serve_the_bot(&session).await?;
    a_user_writes(&session, emulator, &chat, &tom).await?;
    a_card_click(&session, emulator, &chat, &tom).await?;
    served.stop().await?;

    println!(
        "\nDone: {} messages in the emulator, {} token fetch(es).",
        emulator.message_count(),
        emulator.token_fetches(&emulator.app_id())
    );
    Ok(())
}

async fn token(session: &Session) -> Result<(), BoxError> {
    step("1. Token");
    let token = session.client.http().tenant_token().await?;
    say(format!("tenant access token fetched and cached: {token:?}"));
    session.client.http().tenant_token().await?;
    if let Some(emulator) = &session.emulator {
        say(format!(
            "asked twice, fetched {} time(s)",
            emulator.token_fetches(&emulator.app_id())
        ));
    }
    Ok(())
}

async fn every_kind_of_message(session: &Session, tom: &OpenId) -> Result<(), BoxError> {
    step("2. Every kind of message");
    let messages = session.client.messages();
    let to = &session.to;
    let text = Text::builder()
        .text("Hello ")
        .at(tom, "Tom")
        .text(", lark-rs here.")
        .build();
    say(format!(
        "text         {}",
        messages.send(to.clone(), text).await?.message_id
    ));
    let post = Post::en_us(
        PostBody::new("Weekly report")
            .paragraph([
                PostElement::styled("Shipped", [TextStyle::Bold]),
                ": streaming uploads".into(),
            ])
            .paragraph([PostElement::link("dashboard", "https://example.com/dash")]),
    );
    say(format!(
        "post         {}",
        messages.send(to.clone(), post).await?.message_id
    ));
    let card = CardV2::builder()
        .header(CardHeader::new("Build #42").template(HeaderTemplate::Green))
        .element(Markdown::new("All **128** tests passed."))
        .build();
    say(format!(
        "interactive  {}",
        messages
            .send(to.clone(), MessageContent::card(card))
            .await?
            .message_id
    ));
    let file = session
        .client
        .files()
        .upload_bytes("notes.txt", &b"Release checklist:\n- tag\n- publish\n"[..])
        .await?;
    say(format!(
        "file         {}",
        messages
            .send(to.clone(), MessageContent::file(file))
            .await?
            .message_id
    ));
    if let Some(chat) = session.chat() {
        say(format!(
            "share_chat   {}",
            messages
                .send(to.clone(), MessageContent::share_chat(chat))
                .await?
                .message_id
        ));
    }
    say(format!(
        "share_user   {}",
        messages
            .send(to.clone(), MessageContent::share_user(tom.clone()))
            .await?
            .message_id
    ));
    Ok(())
}

async fn upload_an_image(session: &Session) -> Result<(), BoxError> {
    step("3. Upload an image and send it");
    let dir = std::env::temp_dir().join(format!("lark-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("gradient.png");
    std::fs::write(&path, PNG)?;
    let image = session.client.images().upload(&path).await;
    std::fs::remove_dir_all(&dir)?;
    let image = image?;
    say(format!(
        "uploaded gradient.png ({} bytes, streamed from disk) as {image}",
        PNG.len()
    ));
    let sent = session
        .client
        .messages()
        .send(session.to.clone(), MessageContent::image(image))
        .await?;
    say(format!("image        {}", sent.message_id));
    Ok(())
}

async fn create_a_chat(session: &Session, tom: &OpenId) -> Result<ChatId, BoxError> {
    step("4. Create a chat and welcome its members");
    let chat = session
        .client
        .chats()
        .create("Quickstart crew")
        .members([tom.clone()])
        .await?;
    let chat_id = chat.chat_id.clone().ok_or("no chat_id in the answer")?;
    say(format!(
        "created \"{}\" {chat_id}",
        chat.name.as_deref().unwrap_or_default()
    ));
    let welcome = Text::builder()
        .text("Welcome ")
        .at(tom, "Tom")
        .text("!")
        .build();
    let sent = session
        .client
        .messages()
        .send(chat_id.clone(), welcome)
        .await?;
    say(format!("welcome      {}", sent.message_id));
    Ok(chat_id)
}

async fn reply_react_history(session: &Session, chat: &ChatId) -> Result<(), BoxError> {
    step("5. Reply, react, read history");
    let messages = session.client.messages();
    let root = messages
        .send(chat.clone(), "Who is on call this week?")
        .await?;
    let reply = messages.reply(&root.message_id, "Alice is.").await?;
    say(format!(
        "replied      {} -> {}",
        reply.message_id, root.message_id
    ));
    let reaction = messages.react(&root.message_id, "THUMBSUP").await?;
    say(format!(
        "reacted      {}",
        reaction.reaction_type.emoji_type
    ));
    let history: Vec<_> = messages.history(chat.clone()).try_collect().await?;
    say(format!("history of {chat}: {} messages", history.len()));
    for message in &history {
        say(format!("  {}", preview(message)));
    }
    Ok(())
}

async fn serve_the_bot(session: &Session) -> Result<Served, BoxError> {
    let bot = session
        .bot()
        .on_message(|event: MessageEvent| async move {
            let said = event.text_without_mentions().unwrap_or_default();
            println!(
                "  (bot) verified and decrypted {} from {}: {said:?}",
                event.header.event_type,
                event.sender_open_id().map_or("?", |id| id.as_str())
            );
            event
                .reply(format!("You said \"{said}\". Noted!"))
                .await
                .map(drop)
        })
        .on_card(|click: lark::CardEvent| async move {
            let choice = click.value_str("choice").unwrap_or("?").to_owned();
            println!("  (bot) card click: {choice}");
            let done = CardV2::builder()
                .header(CardHeader::new("Lunch vote").template(HeaderTemplate::Green))
                .element(Markdown::new(format!("Lunch is **{choice}**.")))
                .build();
            Ok::<_, lark::Error>(
                CardResponse::toast(ToastKind::Success, format!("Voted {choice}")).with_card(done),
            )
        })
        .build()?;
    session.serve(bot).await
}

async fn a_user_writes(
    session: &Session,
    emulator: &Emulator,
    chat: &ChatId,
    tom: &OpenId,
) -> Result<(), BoxError> {
    step("6. A user writes; the event arrives signed and encrypted; the bot answers");
    let question = MessageId::new(emulator.user_says_text(
        chat.as_str(),
        tom.as_str(),
        "ship it on Friday?",
    )?);
    say(format!("Tom: \"ship it on Friday?\" {question}"));
    let replied = emulator
        .wait_until(Duration::from_secs(30), |e| {
            e.messages_in(chat.as_str())
                .iter()
                .any(|m| m["parent_id"] == question.as_str())
        })
        .await;
    if !replied {
        return Err("the bot did not answer within 30 s".into());
    }
    let history: Vec<_> = session
        .client
        .messages()
        .history(chat.clone())
        .try_collect()
        .await?;
    let answer = history.last().ok_or("empty chat")?;
    say(format!("bot: {}", preview(answer)));
    // The delivery is recorded once the bot's HTTP answer is back, just after its reply.
    emulator
        .wait_until(Duration::from_secs(30), |e| !e.deliveries().is_empty())
        .await;
    let deliveries = emulator.deliveries();
    say(format!(
        "webhook deliveries: {}, answered {:?}",
        deliveries.len(),
        deliveries.iter().map(|d| d.status).collect::<Vec<_>>()
    ));
    Ok(())
}

async fn a_card_click(
    session: &Session,
    emulator: &Emulator,
    chat: &ChatId,
    tom: &OpenId,
) -> Result<(), BoxError> {
    step("7. A card click");
    let vote = CardV2::builder()
        .header(CardHeader::new("Lunch vote"))
        .element(
            Button::new("Noodles")
                .primary()
                .callback(json!({"choice": "noodles"})),
        )
        .element(Button::new("Pizza").callback(json!({"choice": "pizza"})))
        .build();
    let card_message = session
        .client
        .messages()
        .send(chat.clone(), MessageContent::card(vote))
        .await?;
    let outcome = emulator
        .click(
            card_message.message_id.as_str(),
            tom.as_str(),
            json!({"choice": "noodles"}),
        )
        .await?;
    say(format!(
        "Tom clicked Noodles: toast {}, card updated: {}",
        outcome
            .toast
            .map_or_else(|| "none".to_owned(), |t| t["content"].to_string()),
        outcome.card_updated
    ));
    Ok(())
}
