//! Streaming text into CardKit cards, against the emulator: the text each card ends with, how
//! cards roll over, what closes them, and the fallbacks for an app without CardKit.

use lark::{ChatId, Client, ErrorKind, INTERRUPTED_NOTE, StreamMode};
use lark_emulator::{Emulator, Fault, FaultRule};
use serde_json::Value;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

mod common;

async fn setup() -> (Emulator, Client, ChatId) {
    common::emulated().await
}

/// The markdown text of each card, in the order the writer sent them.
fn card_texts(emulator: &Emulator, card_ids: &[lark::CardId]) -> Vec<String> {
    card_ids
        .iter()
        .map(|id| {
            let card = emulator.card(id.as_str()).unwrap();
            assert_eq!(card["streaming"], false, "card {id} was closed");
            card["text"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// A small deterministic generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).unwrap()
    }

    /// Text of `chars` characters mixing ASCII, CJK, emoji, quotes and line breaks.
    fn text(&mut self, chars: usize) -> String {
        const PIECES: [&str; 8] = ["a", "Z", " ", "字", "語", "😀", "\"", "\n"];
        (0..chars).map(|_| PIECES[self.below(8)]).collect()
    }
}

#[tokio::test]
async fn streamed_text_types_into_one_card_which_is_closed_with_a_summary() {
    let (emulator, client, chat) = setup().await;
    let mut answer = client.cards().stream(chat.clone()).title("Answer");
    for piece in ["The answer", " is", " forty", "-two."] {
        answer.push(piece).unwrap();
    }
    let streamed = answer.finish(None).await.unwrap();
    assert_eq!(streamed.mode, StreamMode::Streaming);
    assert_eq!(streamed.message_ids.len(), 1);
    assert_eq!(
        card_texts(&emulator, &streamed.card_ids),
        ["The answer is forty-two."]
    );
    let card = emulator.card(streamed.card_ids[0].as_str()).unwrap();
    assert_eq!(card["message_id"], streamed.message_ids[0].as_str());
    assert_eq!(
        card["card"]["config"]["summary"]["content"],
        "The answer is forty-two."
    );
    assert_eq!(card["card"]["header"]["title"]["content"], "Answer");
    // The message refers to the entity.
    let message = emulator.message(streamed.message_ids[0].as_str()).unwrap();
    assert_eq!(message["chat_id"], chat.as_str());
    // Sequences rose by one per operation, and nothing followed the close.
    let timeline = card["timeline"].as_array().unwrap();
    let sequences: Vec<u64> = timeline
        .iter()
        .map(|s| s["sequence"].as_u64().unwrap())
        .collect();
    assert!(
        sequences.windows(2).all(|w| w[1] == w[0] + 1),
        "{sequences:?}"
    );
    assert_eq!(timeline.last().unwrap()["operation"], "settings");
}

#[tokio::test]
async fn a_given_summary_replaces_the_start_of_the_text() {
    let (emulator, client, chat) = setup().await;
    let mut answer = client.cards().stream(chat);
    answer.push("A long answer about many things").unwrap();
    let streamed = answer.finish(Some("Short".to_owned())).await.unwrap();
    let card = emulator.card(streamed.card_ids[0].as_str()).unwrap();
    assert_eq!(card["card"]["config"]["summary"]["content"], "Short");
}

#[tokio::test]
async fn fifty_answers_under_faults_end_with_each_card_holding_its_text() {
    let (emulator, client, chat) = setup().await;
    // Every write may be applied and then answered 500, or refused with 429 before anything
    // is done; the writer must neither lose nor repeat text.
    for rule in FaultRule::unreliable_writes() {
        emulator.inject(rule);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let inputs: Vec<String> = (0..50)
        .map(|i| {
            let chars = if i % 10 == 0 {
                80_000
            } else {
                1 + rng.below(20_000)
            };
            rng.text(chars)
        })
        .collect();
    // Ten chats, as a bot answers in many: sends into one chat are limited to 5 a second.
    let mut chats = vec![chat];
    for n in 1..10 {
        chats.push(
            client
                .chats()
                .create(format!("answers {n}"))
                .await
                .unwrap()
                .chat_id
                .unwrap(),
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (index, input) in inputs.iter().cloned().enumerate() {
        let client = client.clone();
        let chat = chats[index % chats.len()].clone();
        let seed = 1 + index as u64;
        tasks.spawn(async move {
            let mut rng = Rng(seed);
            let mut answer = client.cards().stream(chat);
            let mut rest = input.as_str();
            while !rest.is_empty() {
                let mut cut = (1 + rng.below(400)).min(rest.len());
                while !rest.is_char_boundary(cut) {
                    cut += 1;
                }
                let (piece, tail) = rest.split_at(cut);
                answer.push(piece).unwrap();
                rest = tail;
                if rng.below(8) == 0 {
                    tokio::task::yield_now().await;
                }
            }
            (index, answer.finish(None).await.unwrap())
        });
    }
    let mut cards = 0;
    while let Some(joined) = tasks.join_next().await {
        let (index, streamed) = joined.unwrap();
        let texts = card_texts(&emulator, &streamed.card_ids);
        assert_eq!(texts.concat(), inputs[index], "answer {index}");
        assert_eq!(streamed.chars, inputs[index].chars().count());
        assert_eq!(streamed.message_ids.len(), streamed.card_ids.len());
        cards += texts.len();
    }
    assert!(
        cards > 50,
        "the 80,000-character answers rolled over ({cards} cards)"
    );
    let refusals: Vec<i64> = emulator
        .requests()
        .iter()
        .map(|r| r.code)
        .filter(|code| matches!(code, 300_317 | 200_860 | 300_305 | 200_770 | 300_309))
        .collect();
    assert!(refusals.is_empty(), "{refusals:?}");
    assert_eq!(emulator.card_rate_refusals(), 0);
    let fired: u64 = emulator.fault_rules().iter().map(|rule| rule.fired).sum();
    assert!(fired > 0, "faults were injected");
}

#[tokio::test]
async fn a_dropped_writer_closes_its_card_as_interrupted() {
    let (emulator, client, chat) = setup().await;
    let mut answer = client.cards().stream(chat);
    answer.push("half an answer").unwrap();
    drop(answer);
    let closed = emulator
        .wait_until(PATIENCE, |emulator| {
            emulator.card_ids().iter().any(|id| {
                let card = emulator.card(id).unwrap();
                card["streaming"] == false && card["sequence"].as_u64() > Some(0)
            })
        })
        .await;
    assert!(closed);
    let id = emulator.card_ids().pop().unwrap();
    let card = emulator.card(&id).unwrap();
    assert_eq!(
        card["text"],
        format!("half an answer\n\n{INTERRUPTED_NOTE}")
    );
    assert_eq!(
        card["card"]["config"]["summary"]["content"],
        INTERRUPTED_NOTE
    );
}

#[tokio::test]
async fn an_error_stops_the_stream_and_still_closes_its_card() {
    let (emulator, client, chat) = setup().await;
    let mut answer = client.cards().stream(chat);
    answer.push("first").unwrap();
    // The card goes out with the first text; wait for it.
    let sent = emulator
        .wait_until(PATIENCE, |emulator| {
            emulator
                .card_ids()
                .iter()
                .any(|id| emulator.card(id).unwrap()["message_id"].is_string())
        })
        .await;
    assert!(sent);
    // Its next text update is refused: streaming was closed on the platform's side.
    emulator.inject(
        FaultRule::next(
            1,
            Fault::Answer {
                status: 400,
                code: 300_309,
                msg: "Card streaming closed".to_owned(),
            },
        )
        .on_path("/open-apis/cardkit/v1/cards/")
        .on_method("PUT"),
    );
    answer.push(" second").unwrap();
    let err = answer.finish(None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let id = emulator.card_ids().pop().unwrap();
    let card = emulator.card(&id).unwrap();
    assert_eq!(card["streaming"], false);
    assert!(
        card["text"].as_str().unwrap().ends_with(INTERRUPTED_NOTE),
        "{card}"
    );
}

#[tokio::test]
async fn without_cardkit_the_text_goes_into_a_card_message_patched_as_it_grows() {
    let (emulator, client, chat) = setup().await;
    emulator.inject(
        FaultRule::probability(
            1.0,
            Fault::Answer {
                status: 400,
                code: 99_991_672,
                msg: "Access denied. One of the following scopes is required: [cardkit:card:write]"
                    .to_owned(),
            },
        )
        .on_path("/open-apis/cardkit/v1/cards"),
    );
    let mut answer = client.cards().stream(chat.clone());
    answer.push("patched ").unwrap();
    answer.push("text").unwrap();
    let streamed = answer.finish(None).await.unwrap();
    assert_eq!(streamed.mode, StreamMode::Patched);
    assert!(streamed.card_ids.is_empty());
    let message = emulator.message(streamed.message_ids[0].as_str()).unwrap();
    let content: Value =
        serde_json::from_str(message["body"]["content"].as_str().unwrap()).unwrap();
    assert!(content.to_string().contains("patched text"), "{content}");
}

#[tokio::test]
async fn a_streamed_reply_answers_its_message_in_its_thread() {
    let (emulator, client, chat) = setup().await;
    let tom = emulator.user("Tom").unwrap().open_id;
    let question = emulator
        .user_says_text(chat.as_str(), &tom, "what is new?")
        .unwrap();
    let mut answer = client
        .cards()
        .stream_reply(&lark::MessageId::new(question.as_str()))
        .in_thread();
    answer.push("Streaming cards.").unwrap();
    let streamed = answer.finish(None).await.unwrap();
    let reply = emulator.message(streamed.message_ids[0].as_str()).unwrap();
    assert_eq!(reply["parent_id"], question.as_str());
    assert!(reply["thread_id"].is_string(), "{reply}");
    assert_eq!(
        card_texts(&emulator, &streamed.card_ids),
        ["Streaming cards."]
    );
}

#[tokio::test]
async fn an_aborted_stream_is_closed_as_interrupted_and_says_so() {
    let (emulator, client, chat) = setup().await;
    let mut answer = client.cards().stream(chat);
    answer.push("cut short").unwrap();
    let streamed = answer.abort().await.unwrap();
    assert!(streamed.interrupted);
    assert_eq!(
        card_texts(&emulator, &streamed.card_ids),
        [format!("cut short\n\n{INTERRUPTED_NOTE}")]
    );
}

#[tokio::test]
async fn a_code_block_cut_between_cards_is_closed_and_opened_again() {
    let (emulator, client, chat) = setup().await;
    let mut answer = client.cards().stream(chat).max_card_bytes(2048);
    answer.push("Here is the program:\n\n```rust\n").unwrap();
    for i in 0..300 {
        answer
            .push(&format!("let value_{i} = compute({i});\n"))
            .unwrap();
    }
    answer.push("```\n\nThat is all.").unwrap();
    let streamed = answer.finish(None).await.unwrap();
    let texts = card_texts(&emulator, &streamed.card_ids);
    assert!(texts.len() > 3, "{}", texts.len());
    for text in &texts {
        assert_eq!(
            lark::content::markdown::unclosed_fence(text),
            None,
            "a card ends inside a code block:\n{text}"
        );
    }
    // Every card after the first starts inside the block again, and no line is lost.
    for text in &texts[1..texts.len() - 1] {
        assert!(text.starts_with("```rust\n"), "{text:.80}");
    }
    let lines: Vec<&str> = texts
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| l.starts_with("let value_"))
        .collect();
    let expected: Vec<String> = (0..300)
        .map(|i| format!("let value_{i} = compute({i});"))
        .collect();
    assert_eq!(lines, expected);
    assert!(texts.last().unwrap().ends_with("That is all."));
}
