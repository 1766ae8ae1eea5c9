//! The control API over raw HTTP: a test in any language drives the emulator with these calls,
//! so each is exercised here the way such a test would, with no Rust API in between.

mod common;

use base64::Engine as _;
use common::{Http, Webhook, control, plaintext, say};
use lark_emulator::{CONTROL_PREFIX, Emulator, EmulatorConfig, WebhookConfig};
use serde_json::{Value, json};

/// Waits, through the control API, until the app answered `count` deliveries.
async fn wait_for_deliveries(http: &Http, count: usize) {
    let waited = control(
        http,
        "POST",
        "/wait",
        Some(json!({"for": "deliveries", "at_least": count, "timeout_ms": 60_000})),
    )
    .await;
    assert_eq!(waited.status, 200, "{:?}", waited.json());
}

async fn with_webhook() -> (Emulator, Webhook, Http) {
    let webhook = Webhook::start().await;
    let config = EmulatorConfig::default().webhook(WebhookConfig::new(&webhook.url));
    let emulator = Emulator::start(config).await.unwrap();
    let http = Http::new(&emulator);
    (emulator, webhook, http)
}

#[tokio::test]
async fn info_names_the_base_url_the_credentials_the_chat_and_the_users() {
    let (emulator, http) = common::started().await;
    let info = control(&http, "GET", "/info", None).await;
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["base_url"], emulator.base_url().as_str());
    assert_eq!(
        info["control_url"],
        format!("{}{CONTROL_PREFIX}", emulator.base_url()).as_str()
    );
    assert_eq!(info["app_id"], emulator.app_id().as_str());
    assert_eq!(info["app_secret"], emulator.app_secret().as_str());
    assert_eq!(info["bot_open_id"], emulator.bot_open_id().as_str());
    assert_eq!(info["default_chat"], emulator.default_chat().as_str());
    let tom = emulator.user("Tom").unwrap();
    let users = control(&http, "GET", "/users", None).await.json();
    assert!(
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "Tom" && u["open_id"] == tom.open_id.as_str()),
        "{users}"
    );
    assert_eq!(info["users"], users["items"]);
}

#[tokio::test]
async fn a_user_says_hello_the_app_hears_it_and_its_reply_is_read_back() {
    let (emulator, webhook, http) = with_webhook().await;
    let chat = emulator.default_chat();
    let message_id = say(&http, &chat, "Tom", "hello bot").await;

    // The app under test hears it as the platform delivers it.
    let delivered = webhook.wait_for(1).await;
    let event = plaintext(None, &delivered[0].body);
    assert_eq!(event["header"]["event_type"], "im.message.receive_v1");
    assert_eq!(event["event"]["message"]["message_id"], message_id.as_str());
    assert_eq!(
        event["event"]["message"]["content"],
        json!({"text": "hello bot"}).to_string()
    );

    // It answers through the platform API, and a test reads the answer back by waiting for it.
    let token = http.token(&emulator).await;
    let reply = http.send_text(&token, &chat, "hello Tom").await;
    assert_eq!(reply.code(), 0);
    let waited = control(
        &http,
        "POST",
        "/wait",
        Some(json!({"for": "messages", "chat_id": chat, "from": "bot", "timeout_ms": 60_000})),
    )
    .await;
    assert_eq!(waited.status, 200, "{:?}", waited.json());
    assert_eq!(waited.json(), json!({"held": true, "seen": 1}));
    let messages = control(&http, "GET", &format!("/chats/{chat}/messages"), None)
        .await
        .json();
    let items = messages["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["message_id"], message_id.as_str());
    assert_eq!(items[1]["sender"]["sender_type"], "app");
    assert_eq!(
        items[1]["body"]["content"],
        json!({"text": "hello Tom"}).to_string()
    );
    let one = control(&http, "GET", &format!("/messages/{message_id}"), None).await;
    assert_eq!(one.json(), items[0]);
}

#[tokio::test]
async fn any_message_type_can_be_said_with_its_content_object() {
    let (emulator, http) = common::started().await;
    let chat = emulator.default_chat();
    let post =
        json!({"zh_cn": {"title": "Plan", "content": [[{"tag": "text", "text": "step one"}]]}});
    let said = control(
        &http,
        "POST",
        &format!("/chats/{chat}/messages"),
        Some(json!({"as": "Tom", "msg_type": "post", "content": post})),
    )
    .await;
    assert_eq!(said.status, 200, "{:?}", said.json());
    let id = said.json()["message_id"].as_str().unwrap().to_owned();
    let stored = emulator.message(&id).unwrap();
    assert_eq!(stored["msg_type"], "post");

    // A file carries its bytes, which the app downloads as the platform serves them.
    let bytes = b"quarterly numbers\n";
    let sent = control(
        &http,
        "POST",
        &format!("/chats/{chat}/messages"),
        Some(
            json!({"as": "Tom", "msg_type": "file", "file_name": "q3.txt",
            "data_base64": base64::engine::general_purpose::STANDARD.encode(bytes)}),
        ),
    )
    .await;
    assert_eq!(sent.status, 200, "{:?}", sent.json());
    let id = sent.json()["message_id"].as_str().unwrap().to_owned();
    let content: Value = serde_json::from_str(
        emulator.message(&id).unwrap()["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(content["file_name"], "q3.txt");
    let key = content["file_key"].as_str().unwrap();
    let token = http.token(&emulator).await;
    let downloaded = http
        .get(
            &token,
            &format!("/open-apis/im/v1/messages/{id}/resources/{key}?type=file"),
        )
        .await;
    assert_eq!(downloaded.status, 200);
    assert_eq!(downloaded.body.as_ref(), bytes);
    let not_bytes = control(
        &http,
        "POST",
        &format!("/chats/{chat}/messages"),
        Some(json!({"as": "Tom", "msg_type": "text", "file_name": "x", "data_base64": ""})),
    )
    .await;
    assert_eq!(not_bytes.status, 400);
}

#[tokio::test]
async fn a_user_replies_in_a_thread_and_the_event_says_where() {
    let (emulator, webhook, http) = with_webhook().await;
    let chat = emulator.default_chat();
    let token = http.token(&emulator).await;
    let question = http.sent_id(&token, &chat, "Anyone free?").await;
    let replied = control(
        &http,
        "POST",
        &format!("/messages/{question}/replies"),
        Some(json!({"as": "Tom", "text": "me", "in_thread": true})),
    )
    .await;
    assert_eq!(replied.status, 200, "{:?}", replied.json());
    let reply = replied.json()["message_id"].as_str().unwrap().to_owned();
    let again = control(
        &http,
        "POST",
        &format!("/messages/{question}/replies"),
        Some(json!({"as": "Alice", "text": "me too"})),
    )
    .await
    .json()["message_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = control(&http, "GET", &format!("/messages/{reply}"), None)
        .await
        .json();
    let thread = first["thread_id"].as_str().unwrap().to_owned();
    assert!(thread.starts_with("omt_"), "{first}");
    assert_eq!(first["root_id"], question.as_str());
    assert_eq!(first["parent_id"], question.as_str());
    // The parent is in a thread now, so a plain reply to it joins the same thread.
    let second = control(&http, "GET", &format!("/messages/{again}"), None)
        .await
        .json();
    assert_eq!(second["thread_id"], thread.as_str());

    let delivered = webhook.wait_for(2).await;
    let events: Vec<Value> = delivered
        .iter()
        .map(|r| plaintext(None, &r.body)["event"]["message"].clone())
        .collect();
    assert!(
        events
            .iter()
            .all(|m| m["thread_id"] == thread.as_str() && m["root_id"] == question.as_str()),
        "{events:?}"
    );
    let gone = control(
        &http,
        "POST",
        "/messages/om_missing/replies",
        Some(json!({"as": "Tom", "text": "hello?"})),
    )
    .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn a_click_through_the_control_api_reaches_the_app_and_updates_the_card() {
    let (emulator, webhook, http) = with_webhook().await;
    let token = http.token(&emulator).await;
    let card = json!({"schema": "2.0", "config": {"update_multi": true},
        "header": {"title": {"tag": "plain_text", "content": "Approve?"}},
        "body": {"elements": [{"tag": "button", "text": {"tag": "plain_text", "content": "Approve"},
            "behaviors": [{"type": "callback", "value": {"action": "approve"}}]}]}});
    let id = http
        .sent_content_id(&token, &emulator.default_chat(), "interactive", &card)
        .await;
    let mut approved = card.clone();
    approved["header"]["title"]["content"] = json!("Approved");
    *webhook.answer.lock().unwrap() = json!({
        "toast": {"type": "success", "content": "done"},
        "card": {"type": "raw", "data": approved},
    })
    .to_string();

    let clicked = control(
        &http,
        "POST",
        &format!("/messages/{id}/click"),
        Some(json!({"as": "Tom", "value": {"action": "approve"}})),
    )
    .await;
    assert_eq!(clicked.status, 200, "{:?}", clicked.json());
    let clicked = clicked.json();
    assert_eq!(clicked["status"], 200);
    assert_eq!(clicked["card_updated"], true);
    assert_eq!(clicked["toast"]["type"], "success");

    let callback = plaintext(None, &webhook.received().pop().unwrap().body);
    assert_eq!(callback["header"]["event_type"], "card.action.trigger");
    assert_eq!(
        callback["event"]["action"]["value"],
        json!({"action": "approve"})
    );
    let tom = emulator.user("Tom").unwrap();
    assert_eq!(
        callback["event"]["operator"]["open_id"],
        tom.open_id.as_str()
    );
    let stored = control(&http, "GET", &format!("/messages/{id}"), None)
        .await
        .json();
    let content: Value = serde_json::from_str(stored["body"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["header"]["title"]["content"], "Approved");
}

#[tokio::test]
async fn people_react_read_and_recall() {
    let (emulator, webhook, http) = with_webhook().await;
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap();
    let id = say(&http, &chat, &tom.open_id, "react to me").await;
    let reacted = control(
        &http,
        "POST",
        &format!("/messages/{id}/reactions"),
        Some(json!({"as": "Tom", "emoji_type": "THUMBSUP"})),
    )
    .await;
    assert_eq!(reacted.status, 200, "{:?}", reacted.json());
    assert!(
        reacted.json()["reaction_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    let unreacted = control(
        &http,
        "DELETE",
        &format!("/messages/{id}/reactions"),
        Some(json!({"as": "Tom", "emoji_type": "THUMBSUP"})),
    )
    .await;
    assert_eq!(unreacted.status, 200, "{:?}", unreacted.json());

    let token = http.token(&emulator).await;
    let bots = http.sent_id(&token, &chat, "read me").await;
    let read = control(
        &http,
        "POST",
        &format!("/messages/{bots}/read"),
        Some(json!({"as": "Tom"})),
    )
    .await;
    assert_eq!(read.status, 200, "{:?}", read.json());
    let readers = http
        .get(
            &token,
            &format!("/open-apis/im/v1/messages/{bots}/read_users?user_id_type=open_id"),
        )
        .await
        .json();
    assert_eq!(
        readers["data"]["items"][0]["user_id"],
        tom.open_id.as_str(),
        "{readers}"
    );

    let recalled = control(&http, "POST", &format!("/messages/{id}/recall"), None).await;
    assert_eq!(recalled.status, 200, "{:?}", recalled.json());
    assert_eq!(emulator.message(&id).unwrap()["deleted"], true);

    // Each of these reached the app as the platform's event.
    let kinds = [
        "im.message.receive_v1",
        "im.message.reaction.created_v1",
        "im.message.reaction.deleted_v1",
        "im.message.recalled_v1",
    ];
    wait_for_deliveries(&http, kinds.len()).await;
    let events: Vec<Value> = webhook
        .wait_for(kinds.len())
        .await
        .iter()
        .map(|r| plaintext(None, &r.body)["header"]["event_type"].clone())
        .collect();
    for kind in kinds {
        assert!(events.contains(&json!(kind)), "{kind} not in {events:?}");
    }
    let listed = control(&http, "GET", "/events", None).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), events.len());
    let deliveries = control(&http, "GET", "/deliveries", None).await.json();
    assert!(
        deliveries["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == 200 && d["answer"] == r#"{"msg":"success"}"#),
        "{deliveries}"
    );
}

#[tokio::test]
async fn a_person_leaves_cannot_speak_and_joins_again() {
    let (emulator, webhook, http) = with_webhook().await;
    let chat = emulator.default_chat();
    let left = control(&http, "DELETE", &format!("/chats/{chat}/members/Tom"), None).await;
    assert_eq!(left.status, 200, "{:?}", left.json());
    let not_a_member = control(
        &http,
        "POST",
        &format!("/chats/{chat}/messages"),
        Some(json!({"as": "Tom", "text": "still here?"})),
    )
    .await;
    assert_eq!(not_a_member.status, 409, "{:?}", not_a_member.json());
    let joined = control(
        &http,
        "POST",
        &format!("/chats/{chat}/members"),
        Some(json!({"as": "Tom"})),
    )
    .await;
    assert_eq!(joined.status, 200, "{:?}", joined.json());
    say(&http, &chat, "Tom", "back again").await;

    wait_for_deliveries(&http, 3).await;
    // Deliveries may overlap, so their order of arrival is not asserted.
    let mut events: Vec<String> = webhook
        .wait_for(3)
        .await
        .iter()
        .map(|r| plaintext(None, &r.body)["header"]["event_type"].to_string())
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "\"im.chat.member.user.added_v1\"",
            "\"im.chat.member.user.withdrawn_v1\"",
            "\"im.message.receive_v1\""
        ]
    );
}

#[tokio::test]
async fn a_fault_added_over_http_fires_on_the_platform_api_and_is_cleared() {
    let (emulator, http) = common::started().await;
    let token = http.token(&emulator).await;
    let added = control(
        &http,
        "POST",
        "/faults",
        Some(json!({
            "fault": {"kind": "server_error", "status": 503, "code": 1663},
            "matcher": {"path_prefix": "/open-apis/im/v1/messages"},
            "trigger": {"kind": "next", "n": 1},
        })),
    )
    .await;
    assert_eq!(added.status, 200, "{:?}", added.json());
    let refused = http
        .send_text(&token, &emulator.default_chat(), "first")
        .await;
    assert_eq!(refused.status, 503);
    let rules = control(&http, "GET", "/faults", None).await.json();
    assert_eq!(rules["items"][0]["fired"], 1, "{rules}");
    let sent = http
        .send_text(&token, &emulator.default_chat(), "second")
        .await;
    assert_eq!(sent.code(), 0);
    let cleared = control(&http, "DELETE", "/faults", None).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(emulator.fault_rules(), Vec::new());
}

#[tokio::test]
async fn control_calls_stay_out_of_the_request_log_and_past_the_faults() {
    let (emulator, http) = common::started().await;
    emulator.inject(lark_emulator::FaultRule::next(
        u64::MAX,
        lark_emulator::Fault::server_error(500),
    ));
    let info = control(&http, "GET", "/info", None).await;
    assert_eq!(info.status, 200);
    assert_eq!(emulator.requests(), Vec::new());
    let requests = control(&http, "GET", "/requests", None).await.json();
    assert_eq!(requests["items"], json!([]));
}

#[tokio::test]
async fn a_wait_whose_condition_never_holds_ends_with_408_and_what_it_saw() {
    let (_emulator, http) = common::started().await;
    let waited = control(
        &http,
        "POST",
        "/wait",
        Some(json!({"for": "messages", "chat_id": "oc_nowhere", "at_least": 1, "timeout_ms": 1})),
    )
    .await;
    assert_eq!(waited.status, 408);
    let error = waited.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("saw 0"), "{error}");
}

#[tokio::test]
async fn bad_control_calls_are_refused_with_what_to_fix() {
    let (emulator, http) = common::started().await;
    let chat = emulator.default_chat();
    let cases = [
        ("GET", "/nothing".to_owned(), None, 404, "docs/emulator.md"),
        (
            "POST",
            format!("/chats/{chat}/messages"),
            Some(json!({"text": "who am I"})),
            400,
            "`as` is missing",
        ),
        (
            "POST",
            format!("/chats/{chat}/messages"),
            Some(json!({"as": "Nobody", "text": "hi"})),
            404,
            "no user Nobody",
        ),
        (
            "POST",
            "/chats/oc_nowhere/messages".to_owned(),
            Some(json!({"as": "Tom", "text": "hi"})),
            404,
            "oc_nowhere",
        ),
        (
            "POST",
            format!("/chats/{chat}/messages"),
            Some(json!({"as": "Tom"})),
            400,
            "give `text`",
        ),
        (
            "POST",
            "/wait".to_owned(),
            Some(json!({"for": "weather"})),
            400,
            "cannot wait for `weather`",
        ),
        (
            "POST",
            "/wait".to_owned(),
            Some(json!({"for": "deliveries", "timeout_ms": 400_000})),
            400,
            "up to 300000",
        ),
        (
            "POST",
            "/faults".to_owned(),
            Some(json!({"fault": "broken"})),
            400,
            "not a fault rule",
        ),
        (
            "GET",
            "/messages/om_missing".to_owned(),
            None,
            404,
            "om_missing",
        ),
    ];
    for (method, path, body, status, says) in cases {
        let answer = control(&http, method, &path, body).await;
        let error = answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(answer.status, status, "{method} {path}: {error}");
        assert!(error.contains(says), "{method} {path}: {error}");
    }
    let not_json = http
        .send(
            "POST",
            &format!("{CONTROL_PREFIX}/chats/{chat}/messages"),
            None,
            &[("content-type", "application/json")],
            bytes::Bytes::from_static(b"{not json"),
        )
        .await
        .unwrap();
    assert_eq!(not_json.status, 400);
    // A body larger than a control call takes is refused from its length, before it is read.
    let huge = common::head_only(
        emulator.addr(),
        "POST",
        &format!("{CONTROL_PREFIX}/chats/{chat}/messages"),
        2 * 1024 * 1024,
    )
    .await;
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
}

#[tokio::test]
async fn a_rewound_clock_stamps_what_follows_in_the_past() {
    let (emulator, webhook, http) = with_webhook().await;
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap();
    let rewound = control(
        &http,
        "POST",
        "/time/rewind",
        Some(json!({"ms": 3_600_000})),
    )
    .await;
    assert_eq!(rewound.status, 200, "{:?}", rewound.json());
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let id = say(&http, &chat, &tom.open_id, "sent an hour ago").await;
    let created: u64 = emulator.message(&id).unwrap()["create_time"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let age = now_ms.saturating_sub(created);
    assert!((3_540_000..=3_660_000).contains(&age), "{created} {now_ms}");
    // The event says so in its header and in the message.
    let event = plaintext(None, &webhook.wait_for(1).await[0].body);
    let header_ms: u64 = event["header"]["create_time"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let message_ms: u64 = event["event"]["message"]["create_time"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(message_ms, created);
    assert!(
        header_ms >= created && header_ms < now_ms,
        "{header_ms} {now_ms}"
    );
    let refused = control(
        &http,
        "POST",
        "/time/rewind",
        Some(json!({"ms": "an hour"})),
    )
    .await;
    assert_eq!(refused.status, 400, "{:?}", refused.json());
}

#[tokio::test]
async fn in_a_topic_group_every_new_message_starts_a_thread() {
    let (emulator, http) = common::started().await;
    let tom = emulator.user("Tom").unwrap();
    let created = control(
        &http,
        "POST",
        "/chats",
        Some(json!({"name": "Topics", "members": ["Tom"], "bots": [emulator.app_id()], "topic": true})),
    )
    .await;
    assert_eq!(created.status, 200, "{:?}", created.json());
    let chat = created.json()["chat_id"].as_str().unwrap().to_owned();
    let first = say(&http, &chat, &tom.open_id, "first topic").await;
    let second = say(&http, &chat, &tom.open_id, "second topic").await;
    let thread = |id: &str| emulator.message(id).unwrap()["thread_id"].clone();
    assert!(thread(&first).is_string() && thread(&second).is_string());
    assert_ne!(thread(&first), thread(&second));
    let token = http.token(&emulator).await;
    let settings = http
        .get(&token, &format!("/open-apis/im/v1/chats/{chat}"))
        .await
        .json();
    assert_eq!(
        settings["data"]["group_message_type"], "thread",
        "{settings}"
    );
    let chat_types: Vec<Value> = emulator
        .emitted_events()
        .iter()
        .filter(|e| e.event_type == "im.message.receive_v1")
        .map(|e| e.payload["event"]["message"]["chat_type"].clone())
        .collect();
    assert_eq!(chat_types, [json!("topic_group"), json!("topic_group")]);
    // In an ordinary group a message starts no thread.
    let plain = say(&http, &emulator.default_chat(), &tom.open_id, "no topic").await;
    assert!(thread(&plain).is_null());
}

#[tokio::test]
async fn the_reaction_timeline_keeps_what_came_and_went() {
    let (emulator, http) = common::started().await;
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap();
    let id = say(&http, &chat, &tom.open_id, "react to me").await;
    for method in ["POST", "DELETE"] {
        let done = control(
            &http,
            method,
            &format!("/messages/{id}/reactions"),
            Some(json!({"as": "Tom", "emoji_type": "THUMBSUP"})),
        )
        .await;
        assert_eq!(done.status, 200, "{:?}", done.json());
    }
    let token = http.token(&emulator).await;
    let bots = http.sent_id(&token, &chat, "read me").await;
    // The timeline keeps the reaction that came and went, and the bot's own.
    let bots_reaction = http
        .post(
            &token,
            &format!("/open-apis/im/v1/messages/{bots}/reactions"),
            json!({"reaction_type": {"emoji_type": "Typing"}}),
        )
        .await
        .json();
    let reaction_id = bots_reaction["data"]["reaction_id"].as_str().unwrap();
    let removed = http
        .delete(
            &token,
            &format!("/open-apis/im/v1/messages/{bots}/reactions/{reaction_id}"),
        )
        .await;
    assert_eq!(removed.code(), 0, "{:?}", removed.json());
    let timeline = control(&http, "GET", "/reactions", None).await.json();
    let steps: Vec<(&str, &str, &str, &str)> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default();
            (
                field("message_id"),
                field("action"),
                field("emoji_type"),
                field("operator_type"),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (id.as_str(), "added", "THUMBSUP", "user"),
            (id.as_str(), "removed", "THUMBSUP", "user"),
            (bots.as_str(), "added", "Typing", "app"),
            (bots.as_str(), "removed", "Typing", "app"),
        ],
        "{timeline}"
    );
    assert_eq!(
        emulator.reaction_timeline(),
        timeline["items"].as_array().unwrap().clone()
    );
}
