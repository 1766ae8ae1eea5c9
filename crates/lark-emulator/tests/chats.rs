//! Chats and members, over plain HTTP.

mod common;

use common::setup;
use serde_json::json;

#[tokio::test]
async fn a_created_chat_can_be_read_updated_listed_and_disbanded() {
    let (emulator, http, token) = setup().await;
    let tom = emulator.user("Tom").unwrap();
    let created = http
        .post(&token, "/open-apis/im/v1/chats?user_id_type=open_id", json!({"name": "Project Team Chat", "description": "Discussion for the new project", "user_id_list": [tom.open_id], "chat_mode": "group", "chat_type": "private"}))
        .await;
    assert_eq!(created.code(), 0);
    let data = created.json()["data"].clone();
    let chat_id = data["chat_id"].as_str().unwrap().to_owned();
    assert!(chat_id.starts_with("oc_"));
    assert_eq!(data["name"], "Project Team Chat");
    assert_eq!(data["owner_id_type"], "app_id");

    let got = http
        .get(&token, &format!("/open-apis/im/v1/chats/{chat_id}"))
        .await
        .json();
    assert_eq!(got["data"]["description"], "Discussion for the new project");
    assert_eq!(got["data"]["chat_type"], "private");
    assert_eq!(got["data"]["user_count"], "1");
    assert_eq!(got["data"]["bot_count"], "1");
    assert_eq!(got["data"]["chat_status"], "normal");

    let renamed = http
        .put(
            &token,
            &format!("/open-apis/im/v1/chats/{chat_id}"),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(
        renamed.json(),
        json!({"code": 0, "msg": "success", "data": {}})
    );
    let list = http
        .get(&token, "/open-apis/im/v1/chats?page_size=100")
        .await
        .json();
    let names: Vec<&str> = list["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Renamed") && names.contains(&"Emulator team"),
        "{names:?}"
    );

    assert_eq!(
        http.delete(&token, &format!("/open-apis/im/v1/chats/{chat_id}"))
            .await
            .code(),
        0
    );
    let after = http.send_text(&token, &chat_id, "anyone?").await;
    assert_eq!(after.code(), 232_009);
}

#[tokio::test]
async fn the_same_uuid_creates_one_chat() {
    let (emulator, http, token) = setup().await;
    let path = "/open-apis/im/v1/chats?uuid=b13g2t38-1jd2-458b-8djf-dtbca5104204";
    let first = http
        .post(&token, path, json!({"name": "once"}))
        .await
        .json();
    let second = http
        .post(&token, path, json!({"name": "once"}))
        .await
        .json();
    assert_eq!(first["data"]["chat_id"], second["data"]["chat_id"]);
    drop(emulator);
}

#[tokio::test]
async fn only_the_owner_disbands_and_unknown_chats_get_232006() {
    let (emulator, http, token) = setup().await;
    let tom = emulator.user("Tom").unwrap();
    let chat = http
        .post(
            &token,
            "/open-apis/im/v1/chats",
            json!({"name": "Tom's", "owner_id": tom.open_id}),
        )
        .await
        .json()["data"]["chat_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        http.delete(&token, &format!("/open-apis/im/v1/chats/{chat}"))
            .await
            .code(),
        232_017
    );
    assert_eq!(
        http.get(&token, "/open-apis/im/v1/chats/oc_missing")
            .await
            .code(),
        232_006
    );
}

#[tokio::test]
async fn members_are_added_listed_checked_and_removed() {
    let (emulator, http, token) = setup().await;
    let alice = emulator.user("Alice").unwrap();
    let chat = http
        .post(&token, "/open-apis/im/v1/chats", json!({"name": "m"}))
        .await
        .json()["data"]["chat_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members = format!("/open-apis/im/v1/chats/{chat}/members");
    let added = http
        .post(
            &token,
            &format!("{members}?member_id_type=open_id"),
            json!({"id_list": [alice.open_id]}),
        )
        .await;
    assert_eq!(
        added.json()["data"],
        json!({"invalid_id_list": [], "not_existed_id_list": [], "pending_approval_id_list": []})
    );
    let unknown = http
        .post(&token, &members, json!({"id_list": ["ou_nobody"]}))
        .await;
    assert_eq!(unknown.code(), 232_043);
    let tolerant = http
        .post(
            &token,
            &format!("{members}?succeed_type=1"),
            json!({"id_list": ["ou_nobody"]}),
        )
        .await;
    assert_eq!(
        tolerant.json()["data"],
        json!({"invalid_id_list": [], "not_existed_id_list": ["ou_nobody"], "pending_approval_id_list": []}),
        "an id that names nobody is listed as not existing"
    );

    let list = http.get(&token, &members).await.json();
    assert_eq!(list["data"]["member_total"], 1);
    assert_eq!(
        list["data"]["items"][0],
        json!({"member_id_type": "open_id", "member_id": alice.open_id, "name": "Alice", "tenant_key": "736588c9260f175e"})
    );
    let by_user_id = http
        .get(&token, &format!("{members}?member_id_type=user_id"))
        .await
        .json();
    assert_eq!(
        by_user_id["data"]["items"][0]["member_id"],
        alice.user_id.as_str()
    );

    assert_eq!(
        http.get(&token, &format!("{members}/is_in_chat"))
            .await
            .json()["data"]["is_in_chat"],
        true
    );
    let removed = http
        .call(
            "DELETE",
            &members,
            Some(&token),
            Some(json!({"id_list": [alice.open_id]})),
        )
        .await;
    assert_eq!(removed.json()["data"]["invalid_id_list"], json!([]));
    assert_eq!(
        http.get(&token, &members).await.json()["data"]["member_total"],
        0
    );

    let too_many: Vec<String> = (0..51).map(|i| format!("ou_{i}")).collect();
    assert_eq!(
        http.post(&token, &members, json!({"id_list": too_many}))
            .await
            .code(),
        232_001
    );
}

#[tokio::test]
async fn a_bot_outside_the_chat_cannot_manage_it() {
    let (emulator, http, token) = setup().await;
    let tom = emulator.user("Tom").unwrap();
    emulator
        .remove_bot_from_chat(&emulator.default_chat(), &tom.open_id, &emulator.app_id())
        .unwrap();
    let members = format!("/open-apis/im/v1/chats/{}/members", emulator.default_chat());
    assert_eq!(http.get(&token, &members).await.code(), 232_011);
    assert_eq!(
        http.get(&token, &format!("{members}/is_in_chat"))
            .await
            .json()["data"]["is_in_chat"],
        false
    );
}
