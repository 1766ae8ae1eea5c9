//! Pins, read receipts, urgent messages and the bot's identity, over plain HTTP, as the
//! documentation describes them (docs/protocol.md §3.1).

mod common;

use common::setup;
use serde_json::{Value, json};

#[tokio::test]
async fn a_pin_is_made_once_listed_newest_first_and_removed() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let first = http.sent_id(&token, &chat, "first").await;
    let second = http.sent_id(&token, &chat, "second").await;

    let pin = |id: &str| http.post(&token, "/open-apis/im/v1/pins", json!({"message_id": id}));
    let answer = pin(&first).await;
    assert_eq!((answer.status, answer.code()), (200, 0));
    let made = answer.json()["data"]["pin"].clone();
    assert_eq!(made["message_id"], first.as_str());
    assert_eq!(made["chat_id"], chat.as_str());
    assert_eq!(made["operator_id_type"], "app_id");
    assert_eq!(made["operator_id"], emulator.app_id().as_str());
    assert!(made["create_time"].as_str().unwrap().parse::<u64>().is_ok());
    // Pinning it again answers with the same pin.
    assert_eq!(pin(&first).await.json()["data"]["pin"], made);
    pin(&second).await;

    let list = http
        .get(
            &token,
            &format!("/open-apis/im/v1/pins?chat_id={chat}&page_size=1"),
        )
        .await;
    let data = &list.json()["data"];
    assert_eq!(data["items"][0]["message_id"], second.as_str());
    assert_eq!(data["has_more"], true);

    let removed = http
        .delete(&token, &format!("/open-apis/im/v1/pins/{first}"))
        .await;
    assert_eq!((removed.status, removed.code()), (200, 0));
    // Removing a pin that is not there succeeds too.
    let again = http
        .delete(&token, &format!("/open-apis/im/v1/pins/{first}"))
        .await;
    assert_eq!((again.status, again.code()), (200, 0));
    let pins: Vec<Value> = emulator.pins(&chat);
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0]["message_id"], second.as_str());
}

#[tokio::test]
async fn pins_refuse_what_the_documentation_refuses() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let missing = http.post(&token, "/open-apis/im/v1/pins", json!({})).await;
    assert_eq!((missing.status, missing.code()), (400, 230_001));
    let no_chat = http.get(&token, "/open-apis/im/v1/pins").await;
    assert_eq!((no_chat.status, no_chat.code()), (400, 230_001));
    let backwards = http
        .get(
            &token,
            &format!("/open-apis/im/v1/pins?chat_id={chat}&start_time=2000&end_time=1000"),
        )
        .await;
    assert_eq!((backwards.status, backwards.code()), (400, 230_001));
    let too_big = http
        .get(
            &token,
            &format!("/open-apis/im/v1/pins?chat_id={chat}&page_size=51"),
        )
        .await;
    assert_eq!((too_big.status, too_big.code()), (400, 230_001));
}

#[tokio::test]
async fn read_receipts_list_who_read_a_message_the_bot_sent() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let message = http.sent_id(&token, &chat, "please read").await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .user_reads(&tom.open_id, std::slice::from_ref(&message))
        .unwrap();

    let path = format!("/open-apis/im/v1/messages/{message}/read_users");
    let unnamed = http.get(&token, &path).await;
    assert_eq!(
        (unnamed.status, unnamed.code()),
        (400, 230_001),
        "user_id_type is required"
    );
    let answer = http
        .get(&token, &format!("{path}?user_id_type=open_id"))
        .await;
    assert_eq!((answer.status, answer.code()), (200, 0));
    let items = answer.json()["data"]["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["user_id_type"], "open_id");
    assert_eq!(items[0]["user_id"], tom.open_id.as_str());
    assert!(
        items[0]["timestamp"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );

    // Only for the bot's own messages.
    let theirs = emulator
        .user_says_text(&chat, &tom.open_id, "mine")
        .unwrap();
    let refused = http
        .get(
            &token,
            &format!("/open-apis/im/v1/messages/{theirs}/read_users?user_id_type=open_id"),
        )
        .await;
    // docs/protocol.md §10: a message the bot did not send is refused as a missing right.
    assert_eq!((refused.status, refused.code()), (400, 230_027));
}

#[tokio::test]
async fn an_urgent_message_reaches_members_and_names_the_rest_invalid() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let message = http.sent_id(&token, &chat, "urgent").await;
    let tom = emulator.user("Tom").unwrap().open_id;
    for channel in ["urgent_app", "urgent_sms", "urgent_phone"] {
        let answer = http
            .patch(
                &token,
                &format!("/open-apis/im/v1/messages/{message}/{channel}?user_id_type=open_id"),
                json!({"user_id_list": [tom, "ou_nobody"]}),
            )
            .await;
        assert_eq!((answer.status, answer.code()), (200, 0), "{channel}");
        assert_eq!(
            answer.json()["data"]["invalid_user_id_list"],
            json!(["ou_nobody"])
        );
    }
    let sent = emulator.urgent_notifications();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0]["open_ids"], json!([tom]));
    let empty = http
        .patch(
            &token,
            &format!("/open-apis/im/v1/messages/{message}/urgent_app?user_id_type=open_id"),
            json!({"user_id_list": []}),
        )
        .await;
    assert_eq!((empty.status, empty.code()), (400, 230_001));
}

#[tokio::test]
async fn the_bot_info_is_at_the_top_level() {
    let (emulator, http, token) = setup().await;
    let answer = http.get(&token, "/open-apis/bot/v3/info").await;
    assert_eq!((answer.status, answer.code()), (200, 0));
    let json = answer.json();
    assert!(json.get("data").is_none());
    assert_eq!(json["bot"]["open_id"], emulator.bot_open_id().as_str());
    assert_eq!(json["bot"]["activate_status"], 2);
    let anonymous = http.call("GET", "/open-apis/bot/v3/info", None, None).await;
    assert_eq!(anonymous.code(), 99_991_661);
}
