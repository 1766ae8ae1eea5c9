//! Sends an interactive card with two buttons, and answers the click with a toast and an
//! updated card.
//!
//! `cargo run --example card`: offline, Tom clicks "Approve" in the emulator. Against the real
//! platform the bot serves its webhook until Ctrl-C; point the app's card request URL at it.

use lark::Client;
use lark::content::card::{
    Button, CardHeader, CardV2, Column, ColumnSet, HeaderTemplate, Markdown,
};
use lark::{CardResponse, MessageContent, ToastKind};
use lark_examples::{BoxError, Session, say, step};
use serde_json::json;

fn approval_card(request: &str) -> CardV2 {
    CardV2::builder()
        .header(CardHeader::new("Deploy approval").template(HeaderTemplate::Orange))
        .element(Markdown::new(format!(
            "**{request}** is waiting for approval."
        )))
        .element(ColumnSet::new([
            Column::weighted(
                1,
                [Button::new("Approve")
                    .primary()
                    .callback(json!({"decision": "approve", "request": request}))],
            ),
            Column::weighted(
                1,
                [Button::new("Reject")
                    .danger()
                    .callback(json!({"decision": "reject", "request": request}))],
            ),
        ]))
        .build()
}

fn decided_card(request: &str, decision: &str, by: &str) -> CardV2 {
    let template = if decision == "approve" {
        HeaderTemplate::Green
    } else {
        HeaderTemplate::Red
    };
    CardV2::builder()
        .header(CardHeader::new("Deploy approval").template(template))
        .element(Markdown::new(format!(
            "**{request}**: {decision}d by <at id={by}></at>."
        )))
        .build()
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("card on {}", session.describe()));

    let bot = session
        .bot()
        .on_card(|click: lark::CardEvent| async move {
            let decision = click.value_str("decision").unwrap_or("unknown").to_owned();
            let request = click
                .value_str("request")
                .unwrap_or("the request")
                .to_owned();
            let by = click
                .operator_open_id()
                .map(ToString::to_string)
                .unwrap_or_default();
            println!("  (bot) {by} clicked {decision} on {request}");
            Ok::<_, lark::Error>(
                CardResponse::toast(ToastKind::Success, format!("{request}: {decision}d"))
                    .with_card(decided_card(&request, &decision, &by)),
            )
        })
        .build()?;
    let served = session.serve(bot).await?;

    let sent = session
        .client
        .messages()
        .send(
            session.to.clone(),
            MessageContent::card(approval_card("release-1.4")),
        )
        .await?;
    say(format!("sent card {}", sent.message_id));

    let Some(emulator) = &session.emulator else {
        return served.until_ctrl_c().await;
    };
    let tom = session.user("Tom")?;
    let outcome = emulator
        .click(
            sent.message_id.as_str(),
            tom.as_str(),
            json!({"decision": "approve", "request": "release-1.4"}),
        )
        .await?;
    say(format!(
        "Tom clicked Approve: HTTP {}, toast {}, card updated: {}",
        outcome.status,
        outcome
            .toast
            .map_or_else(|| "none".to_owned(), |toast| toast["content"].to_string()),
        outcome.card_updated
    ));
    served.stop().await
}
