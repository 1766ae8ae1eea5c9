//! Image and file uploads and downloads, and message resources, over plain HTTP.

mod common;

use bytes::Bytes;
use common::{multipart, setup};
use serde_json::json;

#[tokio::test]
async fn an_uploaded_image_can_be_sent_and_downloaded() {
    let (emulator, http, token) = setup().await;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..2000u32).map(|i| u8::try_from(i % 251).unwrap()))
        .collect();
    let (content_type, body) = multipart(
        &[("image_type", "message")],
        ("image", "logo.png", "image/png", &png),
    );
    let answer = http
        .post_form(&token, "/open-apis/im/v1/images", (content_type, body))
        .await;
    let key = answer.json()["data"]["image_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("img_v3_"));
    let sent = http
        .send_content(
            &token,
            &emulator.default_chat(),
            "image",
            &json!({"image_key": key}),
        )
        .await;
    assert_eq!(sent.code(), 0);
    let download = http
        .get(&token, &format!("/open-apis/im/v1/images/{key}"))
        .await;
    assert_eq!(download.status, 200);
    assert_eq!(download.headers["content-type"], "image/png");
    assert_eq!(download.body.as_ref(), png.as_slice());
}

#[tokio::test]
async fn uploads_are_checked_for_size_and_type() {
    let (_emulator, http, token) = setup().await;
    let (ct, empty) = multipart(
        &[("image_type", "message")],
        ("image", "a.png", "image/png", b""),
    );
    let answer = http
        .post_form(&token, "/open-apis/im/v1/images", (ct, empty))
        .await;
    assert_eq!(answer.code(), 234_010);
    let big = vec![0u8; 10 * 1024 * 1024 + 1];
    let (ct, body) = multipart(
        &[("image_type", "message")],
        ("image", "a.png", "image/png", &big),
    );
    let answer = http
        .post_form(&token, "/open-apis/im/v1/images", (ct, body))
        .await;
    assert_eq!(answer.code(), 234_006);
    let (ct, body) = multipart(
        &[("file_type", "exe"), ("file_name", "a.exe")],
        ("file", "a.exe", "application/octet-stream", b"MZ"),
    );
    let answer = http
        .post_form(&token, "/open-apis/im/v1/files", (ct, body))
        .await;
    assert_eq!(answer.code(), 234_001);
    let answer = http
        .send(
            "POST",
            "/open-apis/im/v1/files",
            Some(&token),
            &[("content-type", "application/json")],
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    assert_eq!(answer.code(), 234_001);
}

#[tokio::test]
async fn file_downloads_name_the_file_only_when_asked_with_a_json_content_type() {
    let (_emulator, http, token) = setup().await;
    let key = http
        .file_key(
            &token,
            "pdf",
            ("季度报告.pdf", "application/pdf", b"%PDF-1.7 body"),
        )
        .await;
    assert!(key.starts_with("file_v3_"));
    let plain = http
        .get(&token, &format!("/open-apis/im/v1/files/{key}"))
        .await;
    assert!(plain.headers.get("content-disposition").is_none());
    let named = http
        .send(
            "GET",
            &format!("/open-apis/im/v1/files/{key}"),
            Some(&token),
            &[("content-type", "application/json")],
            Bytes::new(),
        )
        .await
        .unwrap();
    // The platform writes the name as raw UTF-8 bytes in `filename="…"` (reports
    // larksuite/openclaw-lark#364, larksuite/cli#2648), so the header is not ASCII text.
    let disposition = named.headers["content-disposition"].as_bytes();
    assert!(named.headers["content-disposition"].to_str().is_err());
    assert_eq!(
        std::str::from_utf8(disposition).unwrap(),
        "attachment; filename=\"季度报告.pdf\""
    );
    assert_eq!(named.body.as_ref(), b"%PDF-1.7 body");
}

#[tokio::test]
async fn audio_and_video_must_be_uploaded_as_opus_and_mp4() {
    let (emulator, http, token) = setup().await;
    let key = http
        .file_key(
            &token,
            "stream",
            ("a.bin", "application/octet-stream", b"x"),
        )
        .await;
    let as_audio = http
        .send_content(
            &token,
            &emulator.default_chat(),
            "audio",
            &json!({"file_key": key}),
        )
        .await;
    assert_eq!(as_audio.code(), 230_055);
    let as_file = http
        .send_content(
            &token,
            &emulator.default_chat(),
            "file",
            &json!({"file_key": key}),
        )
        .await;
    assert_eq!(as_file.code(), 0);
    let foreign = http
        .post(&token, "/open-apis/im/v1/messages?receive_id_type=chat_id", json!({"receive_id": emulator.default_chat(), "msg_type": "file", "content": "{\"file_key\":\"file_v2_not_ours\"}"}))
        .await;
    assert_eq!(foreign.code(), 230_017);
}

#[tokio::test]
async fn a_users_image_downloads_through_the_message_resource_endpoint() {
    let (emulator, http, token) = setup().await;
    let tom = emulator.user("Tom").unwrap();
    let id = emulator
        .user_sends_image(
            &emulator.default_chat(),
            &tom.open_id,
            "photo.jpg",
            Bytes::from_static(b"\xff\xd8\xff jpeg"),
        )
        .unwrap();
    let message = emulator.message(&id).unwrap();
    let key =
        serde_json::from_str::<serde_json::Value>(message["body"]["content"].as_str().unwrap())
            .unwrap()["image_key"]
            .as_str()
            .unwrap()
            .to_owned();
    let resource = http
        .get(
            &token,
            &format!("/open-apis/im/v1/messages/{id}/resources/{key}?type=image"),
        )
        .await;
    assert_eq!(resource.status, 200);
    assert_eq!(resource.headers["content-type"], "image/jpeg");
    assert_eq!(resource.body.as_ref(), b"\xff\xd8\xff jpeg");
    let wrong_type = http
        .get(
            &token,
            &format!("/open-apis/im/v1/messages/{id}/resources/{key}?type=file"),
        )
        .await;
    assert_eq!(wrong_type.code(), 230_001);
    let not_ours = http
        .get(&token, &format!("/open-apis/im/v1/images/{key}"))
        .await;
    assert_eq!(
        not_ours.code(),
        234_001,
        "GET /images only serves the bot's own uploads"
    );
}
