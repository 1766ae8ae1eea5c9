//! Faults on demand, over plain HTTP.

mod common;

use common::setup;
use lark_emulator::{Fault, FaultRule};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_rate_limit_answers_429_with_the_reset_headers_and_processes_nothing() {
    let (emulator, http, token) = setup().await;
    emulator.inject(
        FaultRule::next(
            1,
            Fault::RateLimit {
                reset_secs: 2,
                limit: 50,
            },
        )
        .on_path("/open-apis/im/v1/messages"),
    );
    let limited = http.send_text(&token, &emulator.default_chat(), "x").await;
    assert_eq!((limited.status, limited.code()), (429, 99_991_400));
    assert_eq!(limited.headers["x-ogw-ratelimit-reset"], "2");
    assert_eq!(limited.headers["x-ogw-ratelimit-limit"], "50");
    assert_eq!(emulator.message_count(), 0);
    assert_eq!(
        http.send_text(&token, &emulator.default_chat(), "x")
            .await
            .code(),
        0
    );
}

#[tokio::test]
async fn server_errors_answer_5xx_with_a_json_body() {
    let (emulator, http, token) = setup().await;
    emulator.inject(FaultRule::script([true, false], Fault::server_error(503)));
    let failed = http.send_text(&token, &emulator.default_chat(), "x").await;
    assert_eq!(failed.status, 503);
    assert_ne!(failed.code(), 0);
    assert_eq!(emulator.message_count(), 0);
    assert_eq!(
        http.send_text(&token, &emulator.default_chat(), "x")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_drop_before_processing_closes_the_connection_and_stores_nothing() {
    let (emulator, http, token) = setup().await;
    emulator.inject(FaultRule::next(1, Fault::DropBeforeProcessing));
    let body = serde_json::json!({"receive_id": emulator.default_chat(), "msg_type": "text", "content": "{\"text\":\"x\"}"});
    let result = http
        .send(
            "POST",
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
            Some(&token),
            &[("content-type", "application/json")],
            bytes::Bytes::from(body.to_string()),
        )
        .await;
    assert!(
        result.is_err(),
        "the connection was closed without an answer"
    );
    assert_eq!(emulator.message_count(), 0);
}

#[tokio::test]
async fn a_drop_after_processing_stores_the_message_but_answers_nothing() {
    let (emulator, http, token) = setup().await;
    emulator.inject(FaultRule::next(1, Fault::DropAfterProcessing).on_method("POST"));
    let body = serde_json::json!({"receive_id": emulator.default_chat(), "msg_type": "text", "content": "{\"text\":\"x\"}", "uuid": "drop-after-1"});
    let path = "/open-apis/im/v1/messages?receive_id_type=chat_id";
    let first = http
        .send(
            "POST",
            path,
            Some(&token),
            &[("content-type", "application/json")],
            bytes::Bytes::from(body.to_string()),
        )
        .await;
    assert!(first.is_err());
    assert_eq!(emulator.message_count(), 1, "the send took effect");
    let retry = http.post(&token, path, body).await;
    assert_eq!(retry.code(), 0);
    assert_eq!(
        emulator.messages_with_uuid("drop-after-1"),
        1,
        "the retry with the same uuid created nothing new"
    );
}

#[tokio::test]
async fn a_delay_slows_the_answer() {
    let (emulator, http, token) = setup().await;
    emulator.inject(FaultRule::next(1, Fault::Delay { millis: 300 }));
    let started = Instant::now();
    assert_eq!(http.get(&token, "/open-apis/im/v1/chats").await.code(), 0);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_revoked_token_is_refused_until_a_new_one_is_fetched() {
    let (emulator, http, token) = setup().await;
    emulator.inject(FaultRule::next(1, Fault::RevokeToken));
    assert_eq!(
        http.get(&token, "/open-apis/im/v1/chats").await.code(),
        99_991_663
    );
    let fresh = http.token(&emulator).await;
    assert_ne!(fresh, token);
    assert_eq!(http.get(&fresh, "/open-apis/im/v1/chats").await.code(), 0);
    emulator.revoke_tokens(&emulator.app_id());
    assert_eq!(
        http.get(&fresh, "/open-apis/im/v1/chats").await.code(),
        99_991_663
    );
}

#[tokio::test]
async fn rules_report_how_often_they_matched_and_fired() {
    let (emulator, http, token) = setup().await;
    emulator.inject(
        FaultRule::probability(0.5, Fault::server_error(500)).on_path("/open-apis/im/v1/chats"),
    );
    for _ in 0..40 {
        http.get(&token, "/open-apis/im/v1/chats").await;
    }
    let rule = &emulator.fault_rules()[0];
    assert_eq!(rule.seen, 40);
    assert!((5..35).contains(&rule.fired), "{}", rule.fired);
    emulator.clear_faults();
    assert!(emulator.fault_rules().is_empty());
}
