//! Streaming into CardKit cards: how soon the first text is visible, and how many operations
//! an answer costs against the platform's 10 a second on one card, against the emulator.

use crate::Figure;
use lark::{BaseUrl, ChatId, Client};
use lark_emulator::Emulator;
use std::time::{Duration, Instant};

/// The token spacing for the first-update figure: a fast model's, 70 ms.
const FIRST_TOKEN_SPACING: Duration = Duration::from_millis(70);
/// The pace for the operations figure: 100 tokens a second.
const TOKEN_SPACING: Duration = Duration::from_millis(10);
/// Characters per token in the operations figure.
const TOKEN_CHARS: usize = 4;
/// The platform's limit on one card.
const OPS_PER_SECOND: f64 = 10.0;

/// Runs the streaming benchmarks and reports their figures.
///
/// # Errors
/// When the emulator or the client fails.
pub async fn run(quick: bool, report: &mut impl FnMut(Figure)) -> Result<(), String> {
    let emulator = Emulator::start_default().await.map_err(|e| e.to_string())?;
    let client = Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).map_err(|e| e.to_string())?)
        .build()
        .map_err(|e| e.to_string())?;
    let chat = ChatId::new(emulator.default_chat());
    // Warm: the token, and the connection.
    client
        .messages()
        .send(chat.clone(), "warm")
        .await
        .map_err(|e| e.to_string())?;
    first_update(quick, &emulator, &client, &chat, report).await?;
    operations(quick, &emulator, &client, &chat, report).await
}

/// The time from the first token to the card being in the chat, against one plain send.
async fn first_update(
    quick: bool,
    emulator: &Emulator,
    client: &Client,
    chat: &ChatId,
    report: &mut impl FnMut(Figure),
) -> Result<(), String> {
    let rounds = if quick { 3 } else { 7 };
    let mut ours = Vec::new();
    let mut sends = Vec::new();
    for round in 0..rounds {
        let started = Instant::now();
        client
            .messages()
            .send(chat.clone(), format!("baseline {round}"))
            .await
            .map_err(|e| e.to_string())?;
        sends.push(started.elapsed().as_secs_f64() * 1000.0);

        let before = emulator.card_ids().len();
        let mut answer = client.cards().stream(chat.clone());
        let started = Instant::now();
        // The tokens arrive every 70 ms while the card is awaited.
        let typing = tokio::spawn(async move {
            for token in ["The", " first", " answer", " types", " itself", " out."] {
                answer.push(token).map_err(|e| e.to_string())?;
                tokio::time::sleep(FIRST_TOKEN_SPACING).await;
            }
            Ok::<_, String>(answer)
        });
        let seen = emulator
            .wait_until(Duration::from_secs(60), |e| shown(e, before))
            .await;
        let visible = started.elapsed();
        if !seen {
            return Err("the card never reached the chat".to_owned());
        }
        let answer = typing.await.map_err(|e| e.to_string())??;
        answer.finish(None).await.map_err(|e| e.to_string())?;
        ours.push(visible.as_secs_f64() * 1000.0);
    }
    let ours = crate::median(ours);
    let baseline = crate::median(sends);
    report(Figure {
        name: "streaming/first_visible_update".to_owned(),
        ours,
        baseline,
        unit: "ms",
        baseline_is: "one plain text send by the same client".to_owned(),
        ..Figure::default()
    });
    println!(
        "bench streaming/first_visible_update_ms ours={ours:.1} target<=300 {}",
        if ours <= 300.0 { "met" } else { "MISSED" }
    );
    Ok(())
}

/// Whether a card created after the first `before` is in the chat.
fn shown(emulator: &Emulator, before: usize) -> bool {
    emulator.card_ids().len() > before
        && emulator
            .card_ids()
            .iter()
            .filter_map(|id| emulator.card(id))
            .any(|card| card["message_id"].is_string() && card["sequence"] == 0)
}

/// A 10,000-character answer at 100 tokens a second: its operations against the cap, the most
/// in any second, and its final text.
async fn operations(
    quick: bool,
    emulator: &Emulator,
    client: &Client,
    chat: &ChatId,
    report: &mut impl FnMut(Figure),
) -> Result<(), String> {
    let chars = if quick { 2_000 } else { 10_000 };
    let input: String = (0..chars)
        .map(|i| ["a", "b", " ", "字", "😀", "\n"][(i * 5 + i / 7) % 6])
        .collect();
    let tokens: Vec<String> = input
        .chars()
        .collect::<Vec<_>>()
        .chunks(TOKEN_CHARS)
        .map(|chunk| chunk.iter().collect())
        .collect();
    let mut answer = client.cards().stream(chat.clone());
    let started = Instant::now();
    let mut next = tokio::time::Instant::now();
    for token in &tokens {
        next += TOKEN_SPACING;
        tokio::time::sleep_until(next).await;
        answer.push(token).map_err(|e| e.to_string())?;
    }
    let streamed = answer.finish(None).await.map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let mut busiest = 0_usize;
    let mut text = String::new();
    for id in &streamed.card_ids {
        let card = emulator
            .card(id.as_str())
            .ok_or_else(|| format!("card {id} is missing"))?;
        text.push_str(card["text"].as_str().unwrap_or_default());
        let times: Vec<u64> = card["timeline"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|step| step["at_ms"].as_u64())
            .collect();
        for (i, start) in times.iter().enumerate() {
            let within = times[i..]
                .iter()
                .take_while(|at| **at < start + 1000)
                .count();
            busiest = busiest.max(within);
        }
    }
    #[allow(clippy::cast_precision_loss)] // a few hundred operations
    let operations = streamed.operations as f64;
    report(Figure {
        name: format!("streaming/operations_{chars}_chars_at_100_tokens_per_s"),
        ours: operations,
        baseline: seconds * OPS_PER_SECOND,
        unit: "operations",
        baseline_is: "the most the 10-a-second cap allows over the answer's time".to_owned(),
        max_ratio: Some(1.0),
        ..Figure::default()
    });
    #[allow(clippy::cast_precision_loss)] // at most a few dozen
    let busiest = busiest as f64;
    report(Figure {
        name: "streaming/busiest_second_on_one_card".to_owned(),
        ours: busiest,
        baseline: OPS_PER_SECOND,
        unit: "operations",
        baseline_is: "the platform's limit of 10 operations a second on one card".to_owned(),
        max_ratio: Some(1.0),
        ..Figure::default()
    });
    println!(
        "bench streaming/final_text_equal={} cards={} chars={}",
        text == input,
        streamed.card_ids.len(),
        streamed.chars
    );
    if text != input {
        return Err("the cards' text differs from the input".to_owned());
    }
    Ok(())
}
