//! The message endpoints, over plain HTTP: documented shapes and the main errors.

mod common;

use common::setup;
use serde_json::{Value, json};

fn content(answer: &common::Answer) -> Value {
    serde_json::from_str(answer.json()["data"]["body"]["content"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn send_answers_with_the_message_and_stores_it() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let answer = http.send_text(&token, &chat, "hello").await;
    assert_eq!((answer.status, answer.code()), (200, 0));
    let data = &answer.json()["data"];
    assert!(data["message_id"].as_str().unwrap().starts_with("om_"));
    assert_eq!(data["msg_type"], "text");
    assert_eq!(data["chat_id"], chat.as_str());
    assert_eq!(data["sender"]["sender_type"], "app");
    assert_eq!(data["sender"]["id_type"], "app_id");
    assert_eq!(data["sender"]["id"], emulator.app_id().as_str());
    assert_eq!(data["deleted"], false);
    assert_eq!(content(&answer), json!({"text": "hello"}));
    assert_eq!(emulator.messages_in(&chat).len(), 1);
}

#[tokio::test]
async fn receive_id_type_is_a_required_query_parameter() {
    let (emulator, http, token) = setup().await;
    let body = json!({"receive_id": emulator.default_chat(), "receive_id_type": "chat_id", "msg_type": "text", "content": "{\"text\":\"x\"}"});
    let answer = http.post(&token, "/open-apis/im/v1/messages", body).await;
    assert_eq!((answer.status, answer.code()), (400, 230_001));
    assert_eq!(
        answer.json()["error"]["field_violations"][0]["field"],
        "receive_id_type"
    );
    assert_eq!(emulator.message_count(), 0);
}

#[tokio::test]
async fn content_must_be_a_json_string_matching_msg_type() {
    let (emulator, http, token) = setup().await;
    let path = "/open-apis/im/v1/messages?receive_id_type=chat_id";
    let chat = emulator.default_chat();
    for (msg_type, content) in [
        ("text", json!({"text": "an object, not a string"})),
        ("text", json!("not json")),
        ("image", json!("{\"file_key\":\"x\"}")),
        (
            "post",
            json!("{\"post\":{\"zh_cn\":{\"title\":\"t\",\"content\":[]}}}"),
        ),
        ("hologram", json!("{}")),
    ] {
        let answer = http
            .post(
                &token,
                path,
                json!({"receive_id": chat, "msg_type": msg_type, "content": content}),
            )
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, 230_001),
            "{msg_type} {content}"
        );
    }
    assert_eq!(emulator.message_count(), 0);
}

#[tokio::test]
async fn oversized_content_gets_230025_and_oversized_cards_230099() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let answer = http.send_text(&token, &chat, &"x".repeat(151 * 1024)).await;
    assert_eq!(answer.code(), 230_025);
    let elements: Vec<Value> = (0..201)
        .map(|i| json!({"tag": "markdown", "content": format!("{i}")}))
        .collect();
    let card = json!({"schema": "2.0", "body": {"elements": elements}}).to_string();
    let answer = http
        .post(
            &token,
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
            json!({"receive_id": chat, "msg_type": "interactive", "content": card}),
        )
        .await;
    assert_eq!(answer.code(), 230_099);
    assert!(answer.json()["msg"].as_str().unwrap().contains("11310"));
}

#[tokio::test]
async fn a_repeated_uuid_returns_the_first_message_and_creates_none() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let body = json!({"receive_id": chat, "msg_type": "text", "content": "{\"text\":\"once\"}", "uuid": "a0d69e230-1dd1-458b-k525-dfeca4015204"});
    let path = "/open-apis/im/v1/messages?receive_id_type=chat_id";
    let first = http.post(&token, path, body.clone()).await;
    let second = http.post(&token, path, body).await;
    assert_eq!(
        first.json()["data"]["message_id"],
        second.json()["data"]["message_id"]
    );
    assert_eq!(
        emulator.messages_with_uuid("a0d69e230-1dd1-458b-k525-dfeca4015204"),
        1
    );
    assert_eq!(
        emulator.uuid_attempts("a0d69e230-1dd1-458b-k525-dfeca4015204"),
        2
    );
    assert_eq!(emulator.messages_in(&chat).len(), 1);
}

#[tokio::test]
async fn receivers_resolve_users_to_their_p2p_chat() {
    let (emulator, http, token) = setup().await;
    let tom = emulator.user("Tom").unwrap();
    let mut chats = Vec::new();
    for (id_type, id) in [
        ("open_id", &tom.open_id),
        ("union_id", &tom.union_id),
        ("user_id", &tom.user_id),
        ("email", &tom.email),
    ] {
        let answer = http
            .post(
                &token,
                &format!("/open-apis/im/v1/messages?receive_id_type={id_type}"),
                json!({"receive_id": id, "msg_type": "text", "content": "{\"text\":\"hi\"}"}),
            )
            .await;
        assert_eq!(answer.code(), 0, "{id_type}");
        chats.push(
            answer.json()["data"]["chat_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(
        chats.windows(2).all(|w| w[0] == w[1]),
        "one p2p chat: {chats:?}"
    );
    let unknown = http
        .post(
            &token,
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
            json!({"receive_id": "oc_missing", "msg_type": "text", "content": "{\"text\":\"hi\"}"}),
        )
        .await;
    assert_eq!(unknown.code(), 230_034);
}

#[tokio::test]
async fn a_bot_outside_the_chat_gets_230002() {
    let (emulator, http, token) = setup().await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .remove_bot_from_chat(&emulator.default_chat(), &tom.open_id, &emulator.app_id())
        .unwrap();
    let answer = http.send_text(&token, &emulator.default_chat(), "hi").await;
    assert_eq!((answer.status, answer.code()), (400, 230_002));
}

#[tokio::test]
async fn mentions_are_stored_as_placeholders_and_listed() {
    let (emulator, http, token) = setup().await;
    let tom = emulator.user("Tom").unwrap();
    let answer = http
        .send_text(
            &token,
            &emulator.default_chat(),
            &format!(
                "<at user_id=\"{}\">Tom</at> ship it <at user_id=\"all\"></at>",
                tom.open_id
            ),
        )
        .await;
    assert_eq!(content(&answer), json!({"text": "@_user_1 ship it @_all"}));
    let mention = &answer.json()["data"]["mentions"][0];
    assert_eq!(mention["key"], "@_user_1");
    assert_eq!(mention["id"], tom.open_id.as_str());
    assert_eq!(mention["id_type"], "open_id");
    assert_eq!(mention["name"], "Tom");
}

#[tokio::test]
async fn replies_thread_and_point_at_their_parent() {
    let (emulator, http, token) = setup().await;
    let root = http.sent_id(&token, &emulator.default_chat(), "root").await;
    let plain = http
        .post(
            &token,
            &format!("/open-apis/im/v1/messages/{root}/reply"),
            json!({"msg_type": "text", "content": "{\"text\":\"r1\"}"}),
        )
        .await;
    let data = &plain.json()["data"];
    assert_eq!(
        (data["root_id"].as_str(), data["parent_id"].as_str()),
        (Some(root.as_str()), Some(root.as_str()))
    );
    assert!(data.get("thread_id").is_none());

    let threaded = http
        .post(
            &token,
            &format!("/open-apis/im/v1/messages/{root}/reply"),
            json!({"msg_type": "text", "content": "{\"text\":\"r2\"}", "reply_in_thread": true}),
        )
        .await;
    let thread = threaded.json()["data"]["thread_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(thread.starts_with("omt_"));
    let first_reply = plain.json()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let into_thread = http
        .post(
            &token,
            &format!("/open-apis/im/v1/messages/{first_reply}/reply"),
            json!({"msg_type": "text", "content": "{\"text\":\"r3\"}"}),
        )
        .await;
    assert!(
        into_thread.json()["data"].get("thread_id").is_none(),
        "r1 is not in the thread"
    );
    let root_again = http
        .post(
            &token,
            &format!("/open-apis/im/v1/messages/{root}/reply"),
            json!({"msg_type": "text", "content": "{\"text\":\"r4\"}"}),
        )
        .await;
    assert_eq!(
        root_again.json()["data"]["thread_id"],
        thread.as_str(),
        "a reply to a thread root goes into the thread"
    );
    let system = http
        .post(
            &token,
            &format!("/open-apis/im/v1/messages/{root}/reply"),
            json!({"msg_type": "system", "content": "{\"type\":\"divider\"}"}),
        )
        .await;
    assert_eq!(system.code(), 230_001);
}

#[tokio::test]
async fn edits_follow_the_platform_rules() {
    let (emulator, http, token) = setup().await;
    let id = http.sent_id(&token, &emulator.default_chat(), "v1").await;
    let path = format!("/open-apis/im/v1/messages/{id}");
    let edited = http
        .put(
            &token,
            &path,
            json!({"msg_type": "text", "content": "{\"text\":\"v2\"}"}),
        )
        .await;
    assert_eq!(edited.json()["data"]["updated"], true);
    assert_eq!(content(&edited), json!({"text": "v2"}));
    let as_image = http
        .put(
            &token,
            &path,
            json!({"msg_type": "image", "content": "{\"image_key\":\"img_1\"}"}),
        )
        .await;
    assert_eq!(as_image.code(), 230_054);
    for i in 2..=20 {
        let answer = http.put(&token, &path, json!({"msg_type": "text", "content": json!({"text": format!("v{i}")}).to_string()})).await;
        assert_eq!(answer.code(), 0, "edit {i}");
    }
    let twenty_first = http
        .put(
            &token,
            &path,
            json!({"msg_type": "text", "content": "{\"text\":\"too many\"}"}),
        )
        .await;
    assert_eq!(twenty_first.code(), 230_072);

    let tom = emulator.user("Tom").unwrap();
    let users = emulator
        .user_says_text(&emulator.default_chat(), &tom.open_id, "mine")
        .unwrap();
    let others = http
        .put(
            &token,
            &format!("/open-apis/im/v1/messages/{users}"),
            json!({"msg_type": "text", "content": "{\"text\":\"x\"}"}),
        )
        .await;
    assert_eq!(others.code(), 230_071);
}

#[tokio::test]
async fn cards_update_and_read_back_simplified_unless_asked() {
    let (emulator, http, token) = setup().await;
    let card = json!({"config": {"update_multi": true}, "header": {"title": {"tag": "plain_text", "content": "Deploy?"}},
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**prod**"}},
                     {"tag": "action", "actions": [{"tag": "button", "text": {"tag": "plain_text", "content": "Yes"}, "type": "primary", "value": {"ok": true}}]}]});
    let sent = http
        .send_content(&token, &emulator.default_chat(), "interactive", &card)
        .await;
    let id = sent.json()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let simplified = http
        .get(&token, &format!("/open-apis/im/v1/messages/{id}"))
        .await;
    let read: Value = serde_json::from_str(
        simplified.json()["data"]["items"][0]["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(read["title"], "Deploy?");
    assert_eq!(
        read["elements"][1][0],
        json!({"tag": "button", "text": "Yes", "type": "primary"})
    );
    let original = http
        .get(
            &token,
            &format!("/open-apis/im/v1/messages/{id}?card_msg_content_type=user_card_content"),
        )
        .await;
    let read: Value = serde_json::from_str(
        original.json()["data"]["items"][0]["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(read, card);

    let mut updated = card.clone();
    updated["header"]["title"]["content"] = json!("Deployed");
    let patch = http
        .patch(
            &token,
            &format!("/open-apis/im/v1/messages/{id}"),
            json!({"content": updated.to_string()}),
        )
        .await;
    assert_eq!(
        patch.json(),
        json!({"code": 0, "msg": "success", "data": {}})
    );
    let stored: Value = serde_json::from_str(
        emulator.message(&id).unwrap()["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored["header"]["title"]["content"], "Deployed");
}

#[tokio::test]
async fn a_recalled_message_has_no_content_by_id_and_a_second_recall_fails() {
    let (emulator, http, token) = setup().await;
    let id = http.sent_id(&token, &emulator.default_chat(), "oops").await;
    let path = format!("/open-apis/im/v1/messages/{id}");
    assert_eq!(http.delete(&token, &path).await.code(), 0);
    let got = http.get(&token, &path).await;
    let item = &got.json()["data"]["items"][0];
    assert_eq!(item["deleted"], true);
    assert!(
        item["body"].get("content").is_none(),
        "GET returns no content for a recalled message: {item}"
    );
    assert_eq!(http.delete(&token, &path).await.code(), 230_011);
}

#[tokio::test]
async fn history_pages_by_token_filters_by_time_and_sorts() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    for i in 0..5 {
        http.send_text(&token, &chat, &format!("m{i}")).await;
    }
    let mut texts = Vec::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!(
            "/open-apis/im/v1/messages?container_id_type=chat&container_id={chat}&page_size=2"
        );
        if let Some(token) = &page_token {
            path = format!("{path}&page_token={token}");
        }
        let page = http.get(&token, &path).await.json();
        pages += 1;
        for item in page["data"]["items"].as_array().unwrap() {
            let text: Value =
                serde_json::from_str(item["body"]["content"].as_str().unwrap()).unwrap();
            texts.push(text["text"].as_str().unwrap().to_owned());
        }
        if page["data"]["has_more"] == false {
            assert!(
                page["data"].get("page_token").is_none(),
                "no token on the last page"
            );
            break;
        }
        page_token = Some(page["data"]["page_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(pages, 3);
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);

    let desc = http.get(&token, &format!("/open-apis/im/v1/messages?container_id_type=chat&container_id={chat}&sort_type=ByCreateTimeDesc&page_size=1")).await;
    let first: Value = serde_json::from_str(
        desc.json()["data"]["items"][0]["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["text"], "m4");
    let future = http.get(&token, &format!("/open-apis/im/v1/messages?container_id_type=chat&container_id={chat}&start_time=4102444800")).await;
    assert!(
        future.json()["data"]["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let too_big = http
        .get(
            &token,
            &format!(
                "/open-apis/im/v1/messages?container_id_type=chat&container_id={chat}&page_size=51"
            ),
        )
        .await;
    assert_eq!(too_big.code(), 230_001);
}

#[tokio::test]
async fn forward_and_merge_forward_copy_messages() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap();
    let a = http.sent_id(&token, &chat, "a").await;
    let b = http.sent_id(&token, &chat, "b").await;
    let forwarded = http
        .post(
            &token,
            &format!("/open-apis/im/v1/messages/{a}/forward?receive_id_type=open_id"),
            json!({"receive_id": tom.open_id}),
        )
        .await;
    assert_eq!(content(&forwarded), json!({"text": "a"}));
    let merged = http
        .post(
            &token,
            "/open-apis/im/v1/messages/merge_forward?receive_id_type=open_id",
            json!({"receive_id": tom.open_id, "message_id_list": [a, b, "om_missing"]}),
        )
        .await;
    let data = merged.json()["data"].clone();
    assert_eq!(data["message"]["msg_type"], "merge_forward");
    assert_eq!(data["invalid_message_id_list"], json!(["om_missing"]));
    let id = data["message"]["message_id"].as_str().unwrap();
    let got = http
        .get(&token, &format!("/open-apis/im/v1/messages/{id}"))
        .await;
    let items = got.json()["data"]["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "the merged message and its two children");
    assert!(items[1..].iter().all(|item| item["upper_message_id"] == id));
}

#[tokio::test]
async fn reactions_add_list_and_delete() {
    let (emulator, http, token) = setup().await;
    let id = http
        .sent_id(&token, &emulator.default_chat(), "react")
        .await;
    let path = format!("/open-apis/im/v1/messages/{id}/reactions");
    let added = http
        .post(
            &token,
            &path,
            json!({"reaction_type": {"emoji_type": "SMILE"}}),
        )
        .await;
    let reaction = added.json()["data"].clone();
    assert_eq!(reaction["reaction_type"]["emoji_type"], "SMILE");
    assert_eq!(reaction["operator"]["operator_type"], "app");
    let tom = emulator.user("Tom").unwrap();
    emulator.user_reacts(&id, &tom.open_id, "THUMBSUP").unwrap();
    let listed = http.get(&token, &path).await.json();
    assert_eq!(listed["data"]["items"].as_array().unwrap().len(), 2);
    let only = http
        .get(&token, &format!("{path}?reaction_type=THUMBSUP"))
        .await
        .json();
    assert_eq!(only["data"]["items"].as_array().unwrap().len(), 1);
    let rid = reaction["reaction_id"].as_str().unwrap();
    let deleted = http.delete(&token, &format!("{path}/{rid}")).await;
    assert_eq!(deleted.json()["data"]["reaction_id"], rid);
    let bad = http
        .post(
            &token,
            &path,
            json!({"reaction_type": {"emoji_type": "not an emoji!"}}),
        )
        .await;
    assert_eq!(bad.code(), 231_001);
    let missing = http
        .post(
            &token,
            "/open-apis/im/v1/messages/om_missing/reactions",
            json!({"reaction_type": {"emoji_type": "SMILE"}}),
        )
        .await;
    assert_eq!(missing.code(), 231_003);
}
