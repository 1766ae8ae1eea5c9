//! The emulator refuses what the platform refuses and accepts what the platform accepts, over
//! raw HTTP. Each test names the documented behaviour it holds the emulator to; the facts and
//! their sources are in `docs/protocol.md`.

mod common;

use bytes::Bytes;
use common::{Http, PATIENCE, Webhook, multipart, setup, setup_with};
use lark_emulator::{
    Emulator, EmulatorConfig, Fault, FaultRule, QuotaConfig, UserConfig, WebhookConfig,
};
use serde_json::{Value, json};

const SEND: &str = "/open-apis/im/v1/messages?receive_id_type=chat_id";

fn png() -> Vec<u8> {
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec()
}

// ---------------------------------------------------------------------------------- content

#[tokio::test]
async fn a_post_without_a_locale_key_is_refused_and_nothing_is_stored() {
    let (emulator, http, token) = setup().await;
    for post in [
        json!({"title": "t", "content": [[{"tag": "text", "text": "the received form"}]]}),
        json!({"post": {"zh_cn": {"content": [[{"tag": "text", "text": "the v4 wrapper"}]]}}}),
        json!({"zh_cn": {"title": "a title and nothing else"}}),
        json!({}),
    ] {
        let answer = http
            .send_content(&token, &emulator.default_chat(), "post", &post)
            .await;
        assert_eq!((answer.status, answer.code()), (400, 230_001), "{post}");
    }
    assert_eq!(emulator.message_count(), 0);
    let good = json!({"zh_cn": {"content": [[{"tag": "text", "text": "ok"}]]}, "en_us": {}});
    assert_eq!(
        http.send_content(&token, &emulator.default_chat(), "post", &good)
            .await
            .code(),
        0
    );
}

#[tokio::test]
async fn a_card_sent_as_a_post_and_a_post_sent_as_a_card_are_refused() {
    let (emulator, http, token) = setup().await;
    let card = json!({"config": {}, "header": {"title": {"tag": "plain_text", "content": "Card"}}, "elements": []});
    let post = json!({"zh_cn": {"content": [[{"tag": "text", "text": "post"}]]}});
    let as_post = http
        .send_content(&token, &emulator.default_chat(), "post", &card)
        .await;
    assert_eq!(as_post.code(), 230_001, "{:?}", as_post.json());
    let as_card = http
        .send_content(&token, &emulator.default_chat(), "interactive", &post)
        .await;
    assert_eq!(as_card.code(), 230_099);
    assert!(
        as_card.json()["msg"]
            .as_str()
            .unwrap()
            .contains("ErrCode: 200621"),
        "the card sub-code: {:?}",
        as_card.json()
    );
    assert_eq!(emulator.message_count(), 0);
    assert_eq!(
        http.send_content(&token, &emulator.default_chat(), "interactive", &card)
            .await
            .code(),
        0
    );
}

#[tokio::test]
async fn content_that_does_not_match_its_msg_type_is_refused() {
    let (emulator, http, token) = setup().await;
    for (msg_type, content) in [
        ("image", json!({"text": "not an image"})),
        ("text", json!({"image_key": "img_v3_x"})),
        ("file", json!({"file_key": 7})),
        ("share_chat", json!({"user_id": "ou_x"})),
        ("system", json!({"type": "banner"})),
        ("location", json!({"name": "receive-only"})),
    ] {
        let answer = http
            .send_content(&token, &emulator.default_chat(), msg_type, &content)
            .await;
        assert_eq!(
            answer.code(),
            230_001,
            "{msg_type} {content}: {:?}",
            answer.json()
        );
    }
    assert_eq!(emulator.message_count(), 0);
}

#[tokio::test]
async fn the_size_limit_measures_the_request_body_not_the_content() {
    let (emulator, http, token) = setup().await;
    // 60 K quotes: escaped once in the content string (120 KB, under the 150 KB limit), and
    // once more in the request body (240 KB, over it).
    let text = "\"".repeat(60 * 1024);
    let content = json!({ "text": text });
    assert!(content.to_string().len() < 150 * 1024);
    let answer = http
        .send_content(&token, &emulator.default_chat(), "text", &content)
        .await;
    assert_eq!(answer.code(), 230_025);
    let fits = "a".repeat(120 * 1024);
    assert_eq!(
        http.send_content(
            &token,
            &emulator.default_chat(),
            "text",
            &json!({ "text": fits })
        )
        .await
        .code(),
        0
    );
}

#[tokio::test]
async fn a_text_file_is_not_accepted_as_an_image() {
    let (_emulator, http, token) = setup().await;
    let (content_type, body) = multipart(
        &[("image_type", "message")],
        (
            "image",
            "notes.png",
            "image/png",
            b"just some text, named like a picture\n",
        ),
    );
    let answer = http
        .post_form(&token, "/open-apis/im/v1/images", (content_type, body))
        .await;
    assert_eq!((answer.status, answer.code()), (400, 234_011));
    let (content_type, body) = multipart(
        &[("image_type", "message")],
        ("image", "no-extension", "application/octet-stream", &png()),
    );
    let answer = http
        .post_form(&token, "/open-apis/im/v1/images", (content_type, body))
        .await;
    assert_eq!(
        answer.code(),
        0,
        "a PNG is an image whatever its name: {:?}",
        answer.json()
    );
    let key = answer.json()["data"]["image_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = http
        .get(&token, &format!("/open-apis/im/v1/images/{key}"))
        .await;
    assert_eq!(
        download.headers["content-type"], "image/png",
        "typed from its bytes"
    );
}

#[tokio::test]
async fn an_emoji_type_outside_the_documented_table_is_231001() {
    let (emulator, http, token) = setup().await;
    let sent = http
        .send_text(&token, &emulator.default_chat(), "react to me")
        .await;
    let id = sent.json()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/open-apis/im/v1/messages/{id}/reactions");
    for emoji in ["NOT_AN_EMOJI", "thumbsup", ""] {
        let answer = http
            .post(
                &token,
                &path,
                json!({"reaction_type": {"emoji_type": emoji}}),
            )
            .await;
        assert_eq!(answer.code(), 231_001, "{emoji:?}");
    }
    for emoji in ["THUMBSUP", "Typing", "DONE"] {
        let answer = http
            .post(
                &token,
                &path,
                json!({"reaction_type": {"emoji_type": emoji}}),
            )
            .await;
        assert_eq!(answer.code(), 0, "{emoji}");
    }
}

// ---------------------------------------------------------------------------------- chats

#[tokio::test]
async fn a_disbanded_chat_can_no_longer_be_read() {
    let (_emulator, http, token) = setup().await;
    let created = http
        .post(
            &token,
            "/open-apis/im/v1/chats",
            json!({"name": "short-lived"}),
        )
        .await;
    let chat = created.json()["data"]["chat_id"]
        .as_str()
        .unwrap()
        .to_owned();
    http.send_text(&token, &chat, "before").await;
    assert_eq!(
        http.delete(&token, &format!("/open-apis/im/v1/chats/{chat}"))
            .await
            .code(),
        0
    );
    for path in [
        format!("/open-apis/im/v1/chats/{chat}"),
        format!("/open-apis/im/v1/chats/{chat}/members"),
        format!("/open-apis/im/v1/messages?container_id_type=chat&container_id={chat}"),
    ] {
        let answer = http.get(&token, &path).await;
        assert_eq!((answer.status, answer.code()), (400, 232_009), "{path}");
    }
    assert_eq!(http.send_text(&token, &chat, "after").await.code(), 232_009);
}

#[tokio::test]
async fn the_history_of_a_thread_that_does_not_exist_is_refused() {
    let (_emulator, http, token) = setup().await;
    let answer = http
        .get(
            &token,
            "/open-apis/im/v1/messages?container_id_type=thread&container_id=omt_doesnotexist",
        )
        .await;
    assert_eq!((answer.status, answer.code()), (400, 230_001));
}

#[tokio::test]
async fn succeed_type_decides_what_unusable_member_ids_do() {
    let mut config = EmulatorConfig::default();
    let mut gone = UserConfig::new("Gone", "ou_9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a");
    gone.resigned = true;
    config.users.push(gone);
    let (emulator, http, token) = setup_with(config).await;
    let alice = emulator.user("Alice").unwrap().open_id;
    let members = format!("/open-apis/im/v1/chats/{}/members", emulator.default_chat());
    let add = |succeed_type: &'static str, ids: Vec<&str>| {
        let path = format!("{members}?succeed_type={succeed_type}");
        let body = json!({ "id_list": ids });
        let http = &http;
        let token = token.clone();
        async move { http.post(&token, &path, body).await }
    };
    let gone = "ou_9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a";
    // 0: a nonexistent id fails the call; a resigned user is skipped and listed.
    assert_eq!(add("0", vec![&alice, "ou_nobody"]).await.code(), 232_043);
    let skipped = add("0", vec![&alice, gone]).await;
    assert_eq!(
        skipped.json()["data"],
        json!({"invalid_id_list": [gone], "not_existed_id_list": [], "pending_approval_id_list": []})
    );
    // 1: whoever can be added is, the rest listed by reason.
    let tolerant = add("1", vec![&alice, gone, "ou_nobody"]).await;
    assert_eq!(
        tolerant.json()["data"],
        json!({"invalid_id_list": [gone], "not_existed_id_list": ["ou_nobody"], "pending_approval_id_list": []})
    );
    // 2: any unusable id fails the call and is named.
    let strict = add("2", vec![&alice, gone]).await;
    assert_eq!(strict.code(), 232_043);
    assert!(strict.json()["msg"].as_str().unwrap().contains(gone));
}

#[tokio::test]
async fn a_resigned_user_cannot_be_sent_to() {
    let mut config = EmulatorConfig::default();
    let mut gone = UserConfig::new("Gone", "ou_8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b");
    gone.resigned = true;
    config.users.push(gone);
    let (_emulator, http, token) = setup_with(config).await;
    let answer = http
        .post(&token, "/open-apis/im/v1/messages?receive_id_type=open_id", json!({"receive_id": "ou_8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b", "msg_type": "text", "content": "{\"text\":\"hi\"}"}))
        .await;
    assert_eq!(answer.code(), 230_029);
}

// ---------------------------------------------------------------------------------- messages

#[tokio::test]
async fn a_recalled_message_reads_as_the_fixed_sentence_in_the_history() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    let id = http.sent_id(&token, &chat, "oops").await;
    http.delete(&token, &format!("/open-apis/im/v1/messages/{id}"))
        .await;
    let history = http
        .get(
            &token,
            &format!("/open-apis/im/v1/messages?container_id_type=chat&container_id={chat}"),
        )
        .await
        .json();
    let item = history["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["message_id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["deleted"], true);
    assert_eq!(
        item["body"]["content"], "This message was recalled",
        "literal text, not JSON"
    );
}

#[tokio::test]
async fn the_v4_batch_send_answers_its_own_codes_with_http_200() {
    let (emulator, http, token) = setup().await;
    let path = "/open-apis/message/v4/batch_send/";
    let tom = emulator.user("Tom").unwrap().open_id;
    let no_type = http
        .post(
            &token,
            path,
            json!({"open_ids": [tom], "content": {"text": "x"}}),
        )
        .await;
    assert_eq!((no_type.status, no_type.code()), (200, 10_003));
    let nobody = http
        .post(
            &token,
            path,
            json!({"msg_type": "text", "open_ids": ["ou_nobody"], "content": {"text": "x"}}),
        )
        .await;
    assert_eq!((nobody.status, nobody.code()), (200, 11_101));
    let bad_image = http
        .post(&token, path, json!({"msg_type": "image", "open_ids": [tom], "content": {"image_key": "img_v3_missing"}}))
        .await;
    assert_eq!((bad_image.status, bad_image.code()), (200, 11_227));
    let bad_post = http
        .post(&token, path, json!({"msg_type": "post", "open_ids": [tom], "content": {"post": {"title": "no locale"}}}))
        .await;
    assert_eq!((bad_post.status, bad_post.code()), (200, 11_246));
    let ok = http
        .post(&token, path, json!({"msg_type": "text", "open_ids": [tom, "ou_nobody"], "content": {"text": "hello"}}))
        .await;
    assert_eq!((ok.status, ok.code()), (200, 0));
    assert_eq!(ok.json()["data"]["invalid_open_ids"], json!(["ou_nobody"]));
    assert!(
        ok.json()["data"]["message_id"]
            .as_str()
            .unwrap()
            .starts_with("bm-")
    );
}

#[tokio::test]
async fn message_read_fires_only_for_the_bots_p2p_messages() {
    let webhook = Webhook::start().await;
    let emulator =
        Emulator::start(EmulatorConfig::default().webhook(WebhookConfig::new(&webhook.url)))
            .await
            .unwrap();
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    let in_group = http
        .sent_id(&token, &emulator.default_chat(), "group")
        .await;
    let p2p = http
        .post(
            &token,
            "/open-apis/im/v1/messages?receive_id_type=open_id",
            json!({"receive_id": tom, "msg_type": "text", "content": "{\"text\":\"p2p\"}"}),
        )
        .await
        .json()["data"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    emulator
        .user_reads(&tom, std::slice::from_ref(&in_group))
        .unwrap();
    emulator.user_reads(&tom, &[in_group, p2p.clone()]).unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries_in_flight() == 0)
            .await
    );
    let reads: Vec<Value> = emulator
        .emitted_events()
        .into_iter()
        .filter(|e| e.event_type == "im.message.message_read_v1")
        .map(|e| e.payload["event"]["message_id_list"].clone())
        .collect();
    assert_eq!(reads, [json!([p2p])], "one event, for the p2p message only");
}

#[tokio::test]
async fn a_legacy_callback_answered_with_a_bare_card_replaces_the_card() {
    let webhook = Webhook::start().await;
    let emulator = Emulator::start(
        EmulatorConfig::default().webhook(WebhookConfig::new(&webhook.url).verification_token("t")),
    )
    .await
    .unwrap();
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    let card = json!({"elements": [{"tag": "action", "actions": [{"tag": "button", "text": {"tag": "plain_text", "content": "Go"}, "value": {"go": 1}}]}]});
    let id = http
        .sent_content_id(&token, &emulator.default_chat(), "interactive", &card)
        .await;
    let replacement =
        json!({"header": {"title": {"tag": "plain_text", "content": "Done"}}, "elements": []});
    *webhook.answer.lock().unwrap() = replacement.to_string();
    let tom = emulator.user("Tom").unwrap().open_id;
    let outcome = emulator
        .click_legacy(&id, &tom, json!({"go": 1}))
        .await
        .unwrap();
    assert!(outcome.card_updated);
    let stored: Value = serde_json::from_str(
        emulator.message(&id).unwrap()["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored, replacement);
}

// ---------------------------------------------------------------------------------- faults

#[tokio::test]
async fn injected_server_errors_look_like_the_platforms() {
    let (emulator, http, token) = setup().await;
    emulator.inject(FaultRule::next(1, Fault::server_error(500)));
    let internal = http.send_text(&token, &emulator.default_chat(), "x").await;
    assert_eq!(
        (internal.status, internal.code()),
        (500, 1663),
        "a documented internal-error code"
    );
    assert!(!internal.log_id().is_empty());
    emulator.inject(FaultRule::next(1, Fault::GatewayError { status: 502 }));
    let gateway = http.send_text(&token, &emulator.default_chat(), "x").await;
    assert_eq!(gateway.status, 502);
    assert!(
        gateway.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        serde_json::from_slice::<Value>(&gateway.body).is_err(),
        "a gateway page, not JSON"
    );
    assert_eq!(emulator.message_count(), 0);
}

/// Quota mode (docs/protocol.md §4.3): beyond an API's limit, 429 with 99991400 and the
/// rate-limit headers; beyond a receiver's, 400 with 230020. A refused call is not counted, and
/// the emulator's clock reopens the window.
#[tokio::test]
async fn quota_mode_refuses_as_the_platform_does_and_counts_only_what_it_lets_through() {
    let mut config = EmulatorConfig::default();
    let mut quota = QuotaConfig::default();
    quota.receiver_per_second = 1;
    quota.api_per_second = 2;
    config.quota = Some(quota);
    let (emulator, http, token) = setup_with(config).await;
    let chat = emulator.default_chat();
    let started = std::time::Instant::now();
    let first = http.send_text(&token, &chat, "one").await;
    assert_eq!(first.code(), 0);
    let second = http.send_text(&token, &chat, "two").await;
    // Within the second, the chat's quota refuses; past it (a very slow machine), it may not.
    if started.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!((second.status, second.code()), (400, 230_020));
        assert_eq!(emulator.quota_refusals()[&230_020], 1);
    }
    emulator.advance_time(std::time::Duration::from_secs(2));
    assert_eq!(http.send_text(&token, &chat, "three").await.code(), 0);
    let started = std::time::Instant::now();
    let other = emulator.users()[1].open_id.clone();
    let to_user = http
        .post(
            &token,
            "/open-apis/im/v1/messages?receive_id_type=open_id",
            json!({"receive_id": other, "msg_type": "text", "content": "{\"text\":\"hi\"}"}),
        )
        .await;
    assert_eq!(to_user.code(), 0, "another receiver, the API's second call");
    let over = http
        .post(&token, "/open-apis/im/v1/messages?receive_id_type=open_id", json!({"receive_id": emulator.users()[0].open_id, "msg_type": "text", "content": "{\"text\":\"hi\"}"}))
        .await;
    if started.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!((over.status, over.code()), (429, 99_991_400));
        assert_eq!(over.headers["x-ogw-ratelimit-limit"], "2");
        assert_eq!(over.headers["x-ogw-ratelimit-reset"], "1");
    }
    let stored = emulator.message_count();
    assert_eq!(
        u64::try_from(stored).unwrap() + emulator.quota_refusals().values().sum::<u64>(),
        5,
        "every call either stored or refused"
    );
}

// ---------------------------------------------------------------------------------- what the SDKs send

/// One multipart part: name, file name, content type, bytes; `None` where the SDK leaves the
/// header out.
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A multipart body with parts in the given order.
fn parts(list: &[Part<'_>]) -> (String, Bytes) {
    let boundary = "sdk-shaped-boundary-0123456789";
    let mut body = Vec::new();
    for (name, file_name, content_type, bytes) in list {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(file_name) = file_name {
            body.extend_from_slice(format!("; filename=\"{file_name}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        Bytes::from(body),
    )
}

#[tokio::test]
async fn uploads_shaped_like_the_official_sdks_are_accepted() {
    let (_emulator, http, token) = setup().await;
    let image = png();
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let shapes = [
        // Go: the file part first (map order), named unknown-file, typed octet-stream.
        (
            "go image",
            "/open-apis/im/v1/images",
            parts(&[
                (
                    "image",
                    Some("unknown-file"),
                    Some("application/octet-stream"),
                    &image,
                ),
                ("image_type", None, None, b"message"),
            ]),
        ),
        (
            "go file",
            "/open-apis/im/v1/files",
            parts(&[
                (
                    "file",
                    Some("unknown-file"),
                    Some("application/octet-stream"),
                    &pdf,
                ),
                ("file_name", None, None, b"report.pdf"),
                ("file_type", None, None, b"pdf"),
            ]),
        ),
        // Node (axios form-data): a buffer part with no file name.
        (
            "node image",
            "/open-apis/im/v1/images",
            parts(&[
                ("image_type", None, None, b"message"),
                ("image", None, Some("application/octet-stream"), &image),
            ]),
        ),
        // Python (httpx): fields first, the file part named after the file object, an
        // optional field sent empty.
        (
            "python file",
            "/open-apis/im/v1/files",
            parts(&[
                ("file_type", None, None, b"pdf"),
                ("file_name", None, None, b"report.pdf"),
                ("duration", None, None, b""),
                ("file", Some("report.pdf"), Some("application/pdf"), &pdf),
            ]),
        ),
    ];
    for (who, path, (content_type, body)) in shapes {
        let answer = http.post_form(&token, path, (content_type, body)).await;
        assert_eq!(answer.code(), 0, "{who}: {:?}", answer.json());
    }
}

#[tokio::test]
async fn optional_fields_sent_empty_or_null_count_as_absent() {
    let (emulator, http, token) = setup().await;
    let chat = emulator.default_chat();
    for body in [
        json!({"receive_id": chat, "msg_type": "text", "content": "{\"text\":\"a\"}", "uuid": ""}),
        json!({"receive_id": chat, "msg_type": "text", "content": "{\"text\":\"b\"}", "uuid": ""}),
        json!({"receive_id": chat, "msg_type": "text", "content": "{\"text\":\"c\"}", "uuid": null}),
    ] {
        assert_eq!(http.post(&token, SEND, body).await.code(), 0);
    }
    assert_eq!(
        emulator.message_count(),
        3,
        "an empty uuid deduplicates nothing"
    );
    let empty_query = http
        .get(
            &token,
            &format!("/open-apis/im/v1/chats/{chat}?user_id_type="),
        )
        .await;
    assert_eq!(empty_query.code(), 0);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let (_emulator, http, token) = setup().await;
    let answer = http
        .send(
            "GET",
            "/open-apis/im/v1/chats",
            None,
            &[("AUTHORIZATION", &format!("bearer {token}"))],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(answer.code(), 0);
}
