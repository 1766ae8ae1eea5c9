//! CardKit card entities over plain HTTP, as the `cardkit-v1` pages document them
//! (docs/protocol.md §3.4): creation, sending once, streamed text, sequences, uuids, the limit
//! of 10 operations a second, ownership, expiry and the timeline tests read.

mod common;

use common::{Answer, Http};
use lark_emulator::{AppConfig, Emulator, EmulatorConfig};
use serde_json::{Value, json};
use std::time::Duration;

struct Kit {
    emulator: Emulator,
    http: Http,
    token: String,
}

impl Kit {
    async fn start() -> Self {
        let mut config = EmulatorConfig::default();
        config
            .apps
            .push(AppConfig::new("cli_a5fb0ae6a4000002", "other-secret"));
        let emulator = Emulator::start(config).await.unwrap();
        let http = Http::new(&emulator);
        let token = http.token(&emulator).await;
        Self {
            emulator,
            http,
            token,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Answer {
        self.http
            .call(method, path, Some(&self.token), Some(body))
            .await
    }

    /// The create page's streaming card, with one markdown component `markdown_1`.
    async fn create_streaming(&self) -> String {
        let card = json!({
            "schema": "2.0",
            "header": {"title": {"content": "项目进度更新提醒", "tag": "plain_text"}},
            "config": {"streaming_mode": true, "summary": {"content": ""},
                "streaming_config": {"print_frequency_ms": {"default": 70}, "print_step": {"default": 1}, "print_strategy": "fast"}},
            "body": {"elements": [{"tag": "markdown", "content": "", "element_id": "markdown_1"}]}
        });
        let answer = self
            .call(
                "POST",
                "/open-apis/cardkit/v1/cards",
                json!({"type": "card_json", "data": card.to_string()}),
            )
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (200, 0),
            "{:?}",
            answer.json()
        );
        let id = answer.json()["data"]["card_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        id
    }

    async fn stream(&self, card: &str, sequence: u64, text: &str) -> Answer {
        self.call(
            "PUT",
            &format!("/open-apis/cardkit/v1/cards/{card}/elements/markdown_1/content"),
            json!({"content": text, "sequence": sequence}),
        )
        .await
    }

    async fn send_entity(&self, card: &str) -> Answer {
        let chat = self.emulator.default_chat();
        self.call(
            "POST",
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
            json!({"receive_id": chat, "msg_type": "interactive",
                "content": json!({"type": "card", "data": {"card_id": card}}).to_string()}),
        )
        .await
    }
}

#[tokio::test]
async fn a_streaming_card_is_created_sent_once_streamed_into_and_closed() {
    let kit = Kit::start().await;
    let card = kit.create_streaming().await;
    let sent = kit.send_entity(&card).await;
    assert_eq!(sent.code(), 0, "{:?}", sent.json());
    let message_id = sent.json()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An entity is sent once.
    let again = kit.send_entity(&card).await;
    assert_eq!((again.status, again.code()), (400, 230_099));

    for (sequence, text) in [(1, "Hello"), (2, "Hello, wor"), (3, "Hello, world")] {
        let answer = kit.stream(&card, sequence, text).await;
        assert_eq!(answer.code(), 0, "{:?}", answer.json());
    }
    let close = kit
        .call(
            "PATCH",
            &format!("/open-apis/cardkit/v1/cards/{card}/settings"),
            json!({"sequence": 4, "settings": json!({"config": {"streaming_mode": false, "summary": {"content": "Hello, world"}}}).to_string()}),
        )
        .await;
    assert_eq!(close.code(), 0, "{:?}", close.json());
    // Streamed text after close is refused.
    let late = kit.stream(&card, 5, "Hello, world!").await;
    assert_eq!((late.status, late.code()), (400, 300_309));

    let view = kit.emulator.card(&card).unwrap();
    assert_eq!(view["message_id"], message_id.as_str());
    assert_eq!(view["text"], "Hello, world");
    assert_eq!(view["streaming"], false);
    assert_eq!(view["card"]["config"]["summary"]["content"], "Hello, world");
    let steps: Vec<(String, u64, String)> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            (
                step["operation"].as_str().unwrap().to_owned(),
                step["sequence"].as_u64().unwrap(),
                step["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("create".to_owned(), 0, String::new()),
            ("stream_text".to_owned(), 1, "Hello".to_owned()),
            ("stream_text".to_owned(), 2, "Hello, wor".to_owned()),
            ("stream_text".to_owned(), 3, "Hello, world".to_owned()),
            ("settings".to_owned(), 4, "Hello, world".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_sequence_not_higher_than_the_last_is_300317_and_changes_nothing() {
    let kit = Kit::start().await;
    let card = kit.create_streaming().await;
    assert_eq!(kit.stream(&card, 5, "a").await.code(), 0);
    for stale in [5, 4] {
        let answer = kit.stream(&card, stale, "b").await;
        assert_eq!((answer.status, answer.code()), (400, 300_317));
    }
    assert_eq!(kit.emulator.card(&card).unwrap()["text"], "a");
    let zero = kit.stream(&card, 0, "c").await;
    assert_eq!((zero.status, zero.code()), (400, 10_002));
}

#[tokio::test]
async fn a_uuid_makes_a_repeat_count_once_and_conflicts_on_another_operation() {
    let kit = Kit::start().await;
    let card = kit.create_streaming().await;
    let path = format!("/open-apis/cardkit/v1/cards/{card}/elements/markdown_1/content");
    let body =
        json!({"content": "once", "sequence": 1, "uuid": "a0d69e20-1dd1-458b-k525-dfeca4015204"});
    assert_eq!(kit.call("PUT", &path, body.clone()).await.code(), 0);
    // The same operation again, as a retry sends it: answered, not applied twice.
    assert_eq!(kit.call("PUT", &path, body).await.code(), 0);
    assert_eq!(
        kit.emulator.card(&card).unwrap()["timeline"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let other =
        json!({"content": "twice", "sequence": 2, "uuid": "a0d69e20-1dd1-458b-k525-dfeca4015204"});
    let conflict = kit.call("PUT", &path, other).await;
    assert_eq!((conflict.status, conflict.code()), (400, 200_770));
}

#[tokio::test]
async fn more_than_ten_operations_in_one_second_on_one_card_are_refused() {
    let kit = Kit::start().await;
    let card = kit.create_streaming().await;
    let other = kit.create_streaming().await;
    kit.emulator.stop_time(true);
    for sequence in 1..=10 {
        assert_eq!(kit.stream(&card, sequence, "x").await.code(), 0);
    }
    let refused = kit.stream(&card, 11, "y").await;
    assert_eq!((refused.status, refused.code()), (429, 99_991_400));
    assert_eq!(
        refused
            .headers
            .get("x-ogw-ratelimit-limit")
            .map(|v| v.to_str().unwrap()),
        Some("10")
    );
    assert_eq!(kit.emulator.card_rate_refusals(), 1);
    // Another card has its own limit.
    assert_eq!(kit.stream(&other, 1, "z").await.code(), 0);
    // A second later the card takes operations again; the refused one did not count.
    kit.emulator.advance_time(Duration::from_secs(1));
    assert_eq!(kit.stream(&card, 11, "y").await.code(), 0);
    kit.emulator.stop_time(false);
}

#[tokio::test]
async fn entities_break_no_documented_rule() {
    let kit = Kit::start().await;
    let create = |card: Value| {
        kit.call(
            "POST",
            "/open-apis/cardkit/v1/cards",
            json!({"type": "card_json", "data": card.to_string()}),
        )
    };
    let v1 = create(json!({"elements": [{"tag": "markdown", "content": "x"}]})).await;
    assert_eq!(v1.code(), 300_303);
    let exclusive = create(
        json!({"schema": "2.0", "config": {"update_multi": false}, "body": {"elements": []}}),
    )
    .await;
    assert_eq!(exclusive.code(), 300_302);
    let twice = create(json!({"schema": "2.0", "body": {"elements": [
        {"tag": "markdown", "content": "a", "element_id": "md"}, {"tag": "markdown", "content": "b", "element_id": "md"}]}}))
    .await;
    assert_eq!(twice.code(), 300_301);
    let many: Vec<Value> = (0..201).map(|_| json!({"tag": "hr"})).collect();
    assert_eq!(
        create(json!({"schema": "2.0", "body": {"elements": many}}))
            .await
            .code(),
        300_305
    );
    let big = create(json!({"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": "x".repeat(31 * 1024)}]}})).await;
    assert_eq!(big.code(), 200_860);

    // Streamed text goes only to text components of a streaming card.
    let card = kit.create_streaming().await;
    let add = kit
        .call(
            "POST",
            &format!("/open-apis/cardkit/v1/cards/{card}/elements"),
            json!({"type": "append", "sequence": 1, "elements": json!([{"tag": "hr", "element_id": "rule"}]).to_string()}),
        )
        .await;
    assert_eq!(add.code(), 0, "{:?}", add.json());
    let not_text = kit
        .call(
            "PUT",
            &format!("/open-apis/cardkit/v1/cards/{card}/elements/rule/content"),
            json!({"content": "x", "sequence": 2}),
        )
        .await;
    assert_eq!(not_text.code(), 300_310);
    // Text that would take the card over 30 KB is refused.
    let over = kit.stream(&card, 3, &"x".repeat(31 * 1024)).await;
    assert_eq!(over.code(), 200_860);
}

#[tokio::test]
async fn only_the_creating_app_may_use_an_entity_which_lives_fourteen_days() {
    let kit = Kit::start().await;
    let card = kit.create_streaming().await;
    let other = kit
        .http
        .call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            None,
            Some(json!({"app_id": "cli_a5fb0ae6a4000002", "app_secret": "other-secret"})),
        )
        .await;
    let other_token = other.json()["tenant_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = kit
        .http
        .put(
            &other_token,
            &format!("/open-apis/cardkit/v1/cards/{card}/elements/markdown_1/content"),
            json!({"content": "mine", "sequence": 1}),
        )
        .await;
    assert_eq!(foreign.code(), 300_311);
    let missing = kit.stream("7355439197428236291", 1, "x").await;
    assert_eq!(missing.code(), 200_740);

    kit.emulator
        .advance_time(Duration::from_secs(14 * 24 * 3600));
    // Tokens expired meanwhile too.
    let kit = Kit {
        token: kit.http.token(&kit.emulator).await,
        ..kit
    };
    let expired = kit.stream(&card, 1, "late").await;
    assert_eq!(expired.code(), 200_750);
    let send = kit.send_entity(&card).await;
    assert_eq!(send.code(), 230_099);
}

#[tokio::test]
async fn streaming_closes_by_itself_after_ten_minutes() {
    let kit = Kit::start().await;
    let card = kit.create_streaming().await;
    assert_eq!(kit.stream(&card, 1, "typing").await.code(), 0);
    kit.emulator.advance_time(Duration::from_secs(10 * 60));
    let answer = kit.stream(&card, 2, "typing on").await;
    assert_eq!((answer.status, answer.code()), (400, 200_850));
    assert_eq!(kit.emulator.card(&card).unwrap()["streaming"], false);
}

#[tokio::test]
async fn a_card_message_converts_to_an_entity_that_can_then_be_updated() {
    let kit = Kit::start().await;
    let chat = kit.emulator.default_chat();
    let card = json!({"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": "v1", "element_id": "md"}]}});
    let sent = kit
        .call(
            "POST",
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
            json!({"receive_id": chat, "msg_type": "interactive", "content": card.to_string()}),
        )
        .await;
    let message_id = sent.json()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let converted = kit
        .call(
            "POST",
            "/open-apis/cardkit/v1/cards/id_convert",
            json!({"message_id": message_id}),
        )
        .await;
    assert_eq!(converted.code(), 0, "{:?}", converted.json());
    let card_id = converted.json()["data"]["card_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same message converts to the same entity.
    let again = kit
        .call(
            "POST",
            "/open-apis/cardkit/v1/cards/id_convert",
            json!({"message_id": message_id}),
        )
        .await;
    assert_eq!(again.json()["data"]["card_id"], card_id.as_str());
    let patch = kit
        .call(
            "PATCH",
            &format!("/open-apis/cardkit/v1/cards/{card_id}/elements/md"),
            json!({"sequence": 1, "partial_element": json!({"content": "v2"}).to_string()}),
        )
        .await;
    assert_eq!(patch.code(), 0, "{:?}", patch.json());
    assert_eq!(kit.emulator.card(&card_id).unwrap()["text"], "v2");
    let tag = kit
        .call(
            "PATCH",
            &format!("/open-apis/cardkit/v1/cards/{card_id}/elements/md"),
            json!({"sequence": 2, "partial_element": json!({"tag": "hr"}).to_string()}),
        )
        .await;
    assert_eq!(tag.code(), 300_312);
}
