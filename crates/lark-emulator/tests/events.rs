//! Events out: envelopes, encryption and signatures checked independently here, retries,
//! duplicates, card clicks and the challenge.

mod common;

use common::{Http, PATIENCE, Webhook, decrypt, hex, plaintext, signature};
use lark_emulator::{Emulator, EmulatorConfig, WebhookConfig};
use serde_json::{Value, json};
use sha1::Digest as _;

const KEY: &str = "test key";
const TOKEN: &str = "066zT6pS4QCbgj5Do145GfDbbagCHGgF";

async fn encrypted_setup() -> (Emulator, Webhook) {
    let webhook = Webhook::start_with(Some(KEY.to_owned())).await;
    let config = EmulatorConfig::default().webhook(
        WebhookConfig::new(&webhook.url)
            .encrypt_key(KEY)
            .verification_token(TOKEN)
            .retry_delays_ms([50, 100, 200]),
    );
    (Emulator::start(config).await.unwrap(), webhook)
}

async fn plain_setup() -> (Emulator, Webhook) {
    let webhook = Webhook::start().await;
    let config = EmulatorConfig::default().webhook(
        WebhookConfig::new(&webhook.url)
            .verification_token(TOKEN)
            .retry_delays_ms([50]),
    );
    (Emulator::start(config).await.unwrap(), webhook)
}

async fn wait_for(webhook: &Webhook, count: usize) -> Vec<common::Received> {
    webhook.wait_for(count).await
}

#[tokio::test]
async fn a_user_message_arrives_encrypted_signed_and_in_the_v2_envelope() {
    let (emulator, webhook) = encrypted_setup().await;
    let tom = emulator.user("Tom").unwrap();
    let text = format!(
        "<at user_id=\"{}\">bot</at> deploy prod",
        emulator.bot_open_id()
    );
    let message_id = emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, &text)
        .unwrap();

    let delivery = wait_for(&webhook, 1).await.remove(0);
    let timestamp = delivery.headers["x-lark-request-timestamp"]
        .to_str()
        .unwrap();
    let nonce = delivery.headers["x-lark-request-nonce"].to_str().unwrap();
    let given = delivery.headers["x-lark-signature"].to_str().unwrap();
    assert_eq!(
        given,
        signature(timestamp, nonce, KEY, &delivery.body),
        "sha256(timestamp + nonce + key + raw body)"
    );
    let outer: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(
        outer.as_object().unwrap().len(),
        1,
        "only {{\"encrypt\"}} travels"
    );
    let event: Value =
        serde_json::from_slice(&decrypt(KEY, outer["encrypt"].as_str().unwrap())).unwrap();

    assert_eq!(event["schema"], "2.0");
    let header = &event["header"];
    assert_eq!(header["event_type"], "im.message.receive_v1");
    assert_eq!(header["token"], TOKEN);
    assert_eq!(header["app_id"], emulator.app_id().as_str());
    assert_eq!(header["event_id"].as_str().unwrap().len(), 32);
    assert!(
        header["create_time"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    let body = &event["event"];
    assert_eq!(body["sender"]["sender_type"], "user");
    assert_eq!(body["sender"]["sender_id"]["open_id"], tom.open_id.as_str());
    assert_eq!(
        body["sender"]["sender_id"]["union_id"],
        tom.union_id.as_str()
    );
    let message = &body["message"];
    assert_eq!(message["message_id"], message_id.as_str());
    assert_eq!(message["chat_type"], "group");
    assert_eq!(message["message_type"], "text");
    assert_eq!(message["content"], "{\"text\":\"@_user_1 deploy prod\"}");
    assert_eq!(message["mentions"][0]["key"], "@_user_1");
    assert_eq!(message["mentions"][0]["mentioned_type"], "bot");
    assert_eq!(
        message["mentions"][0]["id"]["open_id"],
        emulator.bot_open_id().as_str()
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_the_schedule() {
    let (emulator, webhook) = plain_setup().await;
    *webhook.script.lock().unwrap() = vec![500];
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "hi")
        .unwrap();
    let received = wait_for(&webhook, 2).await;
    let ids: Vec<Value> = received
        .iter()
        .map(|r| plaintext(None, &r.body)["header"]["event_id"].clone())
        .collect();
    assert_eq!(ids[0], ids[1], "a retry carries the same event_id");
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries().len() == 2)
            .await
    );
    let deliveries = emulator.deliveries();
    assert_eq!(
        (deliveries[0].attempt, deliveries[0].status),
        (1, Some(500))
    );
    assert!(deliveries[0].error.is_some());
    assert_eq!(
        (
            deliveries[1].attempt,
            deliveries[1].status,
            deliveries[1].error.clone()
        ),
        (2, Some(200), None)
    );
}

#[tokio::test]
async fn an_unreachable_webhook_is_retried_then_given_up() {
    let config = EmulatorConfig::default()
        .webhook(WebhookConfig::new("http://127.0.0.1:9/webhook").retry_delays_ms([10, 10]));
    let emulator = Emulator::start(config).await.unwrap();
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "anyone?")
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries_in_flight() == 0)
            .await,
        "the delivery gave up"
    );
    assert_eq!(
        emulator.deliveries().len(),
        3,
        "the first attempt and two retries, then no more"
    );
    assert!(emulator.deliveries().iter().all(|d| d.status.is_none()));
}

#[tokio::test]
async fn duplicates_are_delivered_on_purpose_with_the_same_event_id() {
    let (emulator, webhook) = plain_setup().await;
    emulator.duplicate_deliveries(1);
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "twice")
        .unwrap();
    let received = wait_for(&webhook, 2).await;
    assert_eq!(
        plaintext(None, &received[0].body)["header"]["event_id"],
        plaintext(None, &received[1].body)["header"]["event_id"]
    );
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries().len() == 2)
            .await
    );
    assert!(emulator.deliveries()[1].duplicate);
    let event_id = emulator.emitted_events()[0].event_id.clone();
    assert!(emulator.redeliver(&event_id));
    wait_for(&webhook, 3).await;
}

#[tokio::test]
async fn user_actions_arrive_as_their_typed_events() {
    let (emulator, webhook) = plain_setup().await;
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    let tom = emulator.user("Tom").unwrap();
    let alice = emulator.user("Alice").unwrap();
    let chat = emulator.default_chat();
    let bot_message = http.sent_id(&token, &chat, "hello").await;
    emulator
        .user_reacts(&bot_message, &tom.open_id, "SMILE")
        .unwrap();
    emulator
        .user_unreacts(&bot_message, &tom.open_id, "SMILE")
        .unwrap();
    let said = emulator
        .user_says_text(&chat, &tom.open_id, "oops")
        .unwrap();
    emulator.user_recalls(&said).unwrap();
    emulator
        .remove_user_from_chat(&chat, &tom.open_id, &alice.open_id)
        .unwrap();
    emulator
        .add_user_to_chat(&chat, &tom.open_id, &alice.open_id)
        .unwrap();
    emulator.user_leaves_chat(&chat, &alice.open_id).unwrap();
    emulator
        .rename_chat(&chat, &tom.open_id, "New name")
        .unwrap();
    let p2p = emulator.user_opens_p2p(&tom.open_id).unwrap();
    let p2p_message = http.sent_id(&token, &p2p, "read me").await;
    emulator
        .user_reads(&tom.open_id, std::slice::from_ref(&p2p_message))
        .unwrap();
    emulator.disband_chat(&chat, &tom.open_id).unwrap();

    let received = wait_for(&webhook, 11).await;
    let mut events: Vec<Value> = received.iter().map(|r| plaintext(None, &r.body)).collect();
    events.sort_by_key(|e| e["header"]["create_time"].as_str().unwrap().to_owned());
    let by_type = |kind: &str| {
        events
            .iter()
            .find(|e| e["header"]["event_type"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind}"))
    };

    let created = by_type("im.message.reaction.created_v1");
    assert_eq!(created["event"]["message_id"], bot_message.as_str());
    assert_eq!(created["event"]["reaction_type"]["emoji_type"], "SMILE");
    assert_eq!(created["event"]["operator_type"], "user");
    assert_eq!(created["event"]["user_id"]["open_id"], tom.open_id.as_str());
    by_type("im.message.reaction.deleted_v1");
    let recalled = by_type("im.message.recalled_v1");
    assert_eq!(recalled["event"]["recall_type"], "message_owner");
    assert_eq!(recalled["event"]["message_id"], said.as_str());
    let added = by_type("im.chat.member.user.added_v1");
    assert_eq!(
        added["event"]["users"][0]["user_id"]["open_id"],
        alice.open_id.as_str()
    );
    assert_eq!(
        added["event"]["operator_id"]["open_id"],
        tom.open_id.as_str()
    );
    by_type("im.chat.member.user.deleted_v1");
    by_type("im.chat.member.user.withdrawn_v1");
    let updated = by_type("im.chat.updated_v1");
    assert_eq!(updated["event"]["after_change"]["name"], "New name");
    assert_eq!(updated["event"]["before_change"]["name"], "Emulator team");
    let entered = by_type("im.chat.access_event.bot_p2p_chat_entered_v1");
    assert_eq!(entered["event"]["chat_id"], p2p.as_str());
    let read = by_type("im.message.message_read_v1");
    assert_eq!(read["event"]["message_id_list"], json!([p2p_message]));
    assert_eq!(
        read["event"]["reader"]["reader_id"]["open_id"],
        tom.open_id.as_str()
    );
    by_type("im.chat.disbanded_v1");
}

#[tokio::test]
async fn the_bot_hears_about_being_added_and_removed() {
    let (emulator, webhook) = plain_setup().await;
    let tom = emulator.user("Tom").unwrap();
    let chat = emulator.default_chat();
    emulator
        .remove_bot_from_chat(&chat, &tom.open_id, &emulator.app_id())
        .unwrap();
    emulator
        .add_bot_to_chat(&chat, &tom.open_id, &emulator.app_id())
        .unwrap();
    let received = wait_for(&webhook, 2).await;
    let types: Vec<Value> = received
        .iter()
        .map(|r| plaintext(None, &r.body)["header"]["event_type"].clone())
        .collect();
    assert!(
        types.contains(&json!("im.chat.member.bot.deleted_v1"))
            && types.contains(&json!("im.chat.member.bot.added_v1")),
        "{types:?}"
    );
}

#[tokio::test]
async fn a_card_click_delivers_the_callback_and_applies_the_answer() {
    let (emulator, webhook) = encrypted_setup().await;
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    let card = json!({"schema": "2.0", "config": {"update_multi": true}, "header": {"title": {"tag": "plain_text", "content": "Approve?"}},
        "body": {"elements": [{"tag": "button", "text": {"tag": "plain_text", "content": "Approve"}, "behaviors": [{"type": "callback", "value": {"action": "approve"}}]}]}});
    let id = http
        .sent_content_id(&token, &emulator.default_chat(), "interactive", &card)
        .await;
    let mut approved = card.clone();
    approved["header"]["title"]["content"] = json!("Approved");
    *webhook.answer.lock().unwrap() = json!({
        "toast": {"type": "success", "content": "done", "i18n": {"zh_cn": "完成", "en_us": "done"}},
        "card": {"type": "raw", "data": approved},
    })
    .to_string();
    let tom = emulator.user("Tom").unwrap();
    let outcome = emulator
        .click(&id, &tom.open_id, json!({"action": "approve"}))
        .await
        .unwrap();
    assert!(outcome.card_updated);
    assert_eq!(outcome.toast.unwrap()["type"], "success");

    let delivery = webhook.received().pop().unwrap();
    let event = plaintext(Some(KEY), &delivery.body);
    assert_eq!(event["header"]["event_type"], "card.action.trigger");
    assert_eq!(
        event["event"]["action"]["value"],
        json!({"action": "approve"})
    );
    assert_eq!(event["event"]["context"]["open_message_id"], id.as_str());
    assert_eq!(event["event"]["operator"]["open_id"], tom.open_id.as_str());
    assert!(event["event"]["token"].as_str().unwrap().starts_with("c-"));
    let timestamp = delivery.headers["x-lark-request-timestamp"]
        .to_str()
        .unwrap();
    let nonce = delivery.headers["x-lark-request-nonce"].to_str().unwrap();
    assert_eq!(
        delivery.headers["x-lark-signature"].to_str().unwrap(),
        signature(timestamp, nonce, KEY, &delivery.body)
    );

    let stored: Value = serde_json::from_str(
        emulator.message(&id).unwrap()["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored["header"]["title"]["content"], "Approved");
    assert_eq!(emulator.toasts().len(), 1);
}

#[tokio::test]
async fn a_failing_card_callback_is_reported_and_not_retried() {
    let (emulator, webhook) = plain_setup().await;
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    let id = http
        .post(&token, "/open-apis/im/v1/messages?receive_id_type=chat_id", json!({"receive_id": emulator.default_chat(), "msg_type": "interactive", "content": "{\"elements\":[]}"}))
        .await
        .json()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    *webhook.script.lock().unwrap() = vec![500];
    let tom = emulator.user("Tom").unwrap();
    let err = emulator
        .click(&id, &tom.open_id, json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("200671"), "{err}");
    assert_eq!(
        emulator.deliveries_in_flight(),
        0,
        "a callback is not retried: nothing is left to deliver"
    );
    assert_eq!(webhook.received().len(), 1);
}

#[tokio::test]
async fn the_legacy_callback_is_signed_with_sha1_and_the_verification_token() {
    let (emulator, webhook) = plain_setup().await;
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    let id = http.sent_id(&token, &emulator.default_chat(), "x").await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .click_legacy(&id, &tom.open_id, json!({"key": "value"}))
        .await
        .unwrap();
    let delivery = webhook.received().pop().unwrap();
    let timestamp = delivery.headers["x-lark-request-timestamp"]
        .to_str()
        .unwrap();
    let nonce = delivery.headers["x-lark-request-nonce"].to_str().unwrap();
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("{timestamp}{nonce}{TOKEN}").as_bytes());
    hasher.update(&delivery.body);
    let expected = hex(&hasher.finalize());
    assert_eq!(
        delivery.headers["x-lark-signature"].to_str().unwrap(),
        expected
    );
    let body: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["open_message_id"], id.as_str());
    assert_eq!(body["action"]["value"], json!({"key": "value"}));
    assert!(body.get("schema").is_none());
}

#[tokio::test]
async fn the_url_challenge_is_sent_encrypted_and_its_echo_checked() {
    let (emulator, webhook) = encrypted_setup().await;
    emulator.verify_url().await.unwrap();
    let delivery = webhook.received().pop().unwrap();
    let challenge = plaintext(Some(KEY), &delivery.body);
    assert_eq!(challenge["type"], "url_verification");
    assert_eq!(challenge["token"], TOKEN);
    assert!(
        delivery.headers.get("x-lark-signature").is_none(),
        "the challenge is not signed"
    );
}
