//! The token endpoints and token checks, over plain HTTP.

mod common;

use common::Http;
use lark_emulator::{AppConfig, Emulator, EmulatorConfig};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn tenant_tokens_have_the_documented_shape_and_are_reused_while_fresh() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let body = json!({"app_id": emulator.app_id(), "app_secret": emulator.app_secret()});
    let first = http
        .call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(first.status, 200);
    let json = first.json();
    assert_eq!(
        (json["code"].as_i64(), json["msg"].as_str()),
        (Some(0), Some("ok"))
    );
    assert!(
        json["tenant_access_token"]
            .as_str()
            .unwrap()
            .starts_with("t-")
    );
    assert_eq!(json["expire"], 7200);
    assert!(json.get("data").is_none(), "token answers are top-level");
    let second = http
        .call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            None,
            Some(body),
        )
        .await;
    assert_eq!(
        second.json()["tenant_access_token"],
        json["tenant_access_token"],
        "more than 30 minutes left: same token"
    );
    assert_eq!(emulator.token_fetches(&emulator.app_id()), 2);
}

#[tokio::test]
async fn a_token_with_less_than_the_window_left_is_replaced_and_both_stay_valid() {
    let emulator = Emulator::start(EmulatorConfig::default().token_ttl_secs(1200))
        .await
        .unwrap();
    let http = Http::new(&emulator);
    let first = http.token(&emulator).await;
    let second = http.token(&emulator).await;
    assert_ne!(first, second, "under 30 minutes left: a new token");
    for token in [&first, &second] {
        let answer = http.get(token, "/open-apis/im/v1/chats").await;
        assert_eq!(answer.code(), 0);
    }
}

#[tokio::test]
async fn app_tokens_come_with_a_tenant_token() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let answer = http
        .call(
            "POST",
            "/open-apis/auth/v3/app_access_token/internal",
            None,
            Some(json!({"app_id": emulator.app_id(), "app_secret": emulator.app_secret()})),
        )
        .await;
    let json = answer.json();
    assert_eq!(json["code"], 0);
    assert!(json["app_access_token"].as_str().unwrap().starts_with("t-"));
    assert!(
        json["tenant_access_token"]
            .as_str()
            .unwrap()
            .starts_with("t-")
    );
}

#[tokio::test]
async fn wrong_credentials_get_the_documented_codes() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let path = "/open-apis/auth/v3/tenant_access_token/internal";
    let wrong_secret = http
        .call(
            "POST",
            path,
            None,
            Some(json!({"app_id": emulator.app_id(), "app_secret": "nope"})),
        )
        .await;
    assert_eq!((wrong_secret.status, wrong_secret.code()), (400, 10_015));
    let unknown_app = http
        .call(
            "POST",
            path,
            None,
            Some(json!({"app_id": "cli_0000000000000000", "app_secret": "x"})),
        )
        .await;
    assert_eq!((unknown_app.status, unknown_app.code()), (400, 10_003));
    assert_eq!(emulator.token_fetches(&emulator.app_id()), 0);
}

#[tokio::test]
async fn missing_malformed_unknown_and_expired_tokens_are_refused() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let path = "/open-apis/im/v1/chats";
    let missing = http.call("GET", path, None, None).await;
    assert_eq!((missing.status, missing.code()), (400, 99_991_661));
    let malformed = http.get("abc", path).await;
    assert_eq!((malformed.status, malformed.code()), (400, 99_991_671));
    let unknown = http.get("t-0000", path).await;
    assert_eq!((unknown.status, unknown.code()), (400, 99_991_663));
    let token = http.token(&emulator).await;
    assert_eq!(http.get(&token, path).await.code(), 0);
    // Two hours pass on the emulator's clock: the token's lifetime is over.
    emulator.advance_time(Duration::from_secs(7_200));
    let expired = http.get(&token, path).await;
    assert_eq!(expired.code(), 99_991_663);
}

#[tokio::test]
async fn every_answer_carries_a_log_id_and_errors_repeat_it_in_the_detail() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let ok = http
        .call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            None,
            Some(json!({"app_id": emulator.app_id(), "app_secret": emulator.app_secret()})),
        )
        .await;
    assert!(!ok.log_id().is_empty());
    let err = http.call("GET", "/open-apis/im/v1/chats", None, None).await;
    let json = err.json();
    assert_eq!(json["error"]["log_id"], err.log_id());
    assert!(
        json["error"]["troubleshooter"]
            .as_str()
            .unwrap()
            .contains(err.log_id())
    );
    let requests = emulator.requests();
    assert_eq!(requests.last().unwrap().log_id, err.log_id());
    assert_eq!(requests.last().unwrap().code, 99_991_661);
}

#[tokio::test]
async fn marketplace_apps_get_tokens_through_the_app_ticket() {
    let mut config = EmulatorConfig::default();
    let mut isv = AppConfig::new("cli_a5fb0ae6a4000001", "isv-secret");
    isv.marketplace = true;
    isv.tenant_key = "2df73991750abcde".to_owned();
    config.apps.push(isv);
    let emulator = Emulator::start(config).await.unwrap();
    let http = Http::new(&emulator);
    let credentials = json!({"app_id": "cli_a5fb0ae6a4000001", "app_secret": "isv-secret"});
    let no_ticket = http
        .call("POST", "/open-apis/auth/v3/app_access_token", None, Some(json!({"app_id": "cli_a5fb0ae6a4000001", "app_secret": "isv-secret", "app_ticket": "stale"})))
        .await;
    assert_eq!(no_ticket.code(), 10_012);
    let resend = http
        .call(
            "POST",
            "/open-apis/auth/v3/app_ticket/resend",
            None,
            Some(credentials),
        )
        .await;
    assert_eq!(resend.json(), json!({"code": 0, "msg": "success"}));
    assert!(
        emulator
            .wait_until(common::PATIENCE, |e| !e.emitted_events().is_empty())
            .await
    );
    let event = emulator.emitted_events().pop().unwrap();
    assert_eq!(event.event_type, "app_ticket");
    assert_eq!(
        event.payload["type"], "event_callback",
        "app_ticket is a v1 event"
    );
    let ticket = event.payload["event"]["app_ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = http
        .call("POST", "/open-apis/auth/v3/app_access_token", None, Some(json!({"app_id": "cli_a5fb0ae6a4000001", "app_secret": "isv-secret", "app_ticket": ticket})))
        .await;
    let app_token = app.json()["app_access_token"].as_str().unwrap().to_owned();
    assert!(app_token.starts_with("a-"));
    let tenant = http
        .call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token",
            None,
            Some(json!({"app_access_token": app_token, "tenant_key": "2df73991750abcde"})),
        )
        .await;
    assert!(
        tenant.json()["tenant_access_token"]
            .as_str()
            .unwrap()
            .starts_with("t-")
    );
    let self_built_path = http
        .call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            None,
            Some(json!({"app_id": "cli_a5fb0ae6a4000001", "app_secret": "isv-secret"})),
        )
        .await;
    assert_eq!(self_built_path.code(), 10_014);
}

#[tokio::test]
async fn long_connection_discovery_hands_out_a_url_and_pascal_case_config_or_its_own_codes() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let ok = http
        .call(
            "POST",
            "/callback/ws/endpoint",
            None,
            Some(json!({"AppID": emulator.app_id(), "AppSecret": emulator.app_secret()})),
        )
        .await;
    let body = ok.json();
    assert_eq!(body["code"], 0);
    let url = body["data"]["URL"].as_str().unwrap();
    assert!(
        url.starts_with("ws://127.0.0.1:")
            && url.contains("device_id=")
            && url.contains("service_id="),
        "{url}"
    );
    assert_eq!(
        body["data"]["ClientConfig"],
        json!({"PingInterval": 120, "ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30})
    );
    let wrong = http
        .call(
            "POST",
            "/callback/ws/endpoint",
            None,
            Some(json!({"AppID": emulator.app_id(), "AppSecret": "nope"})),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (200, 1_000_040_345),
        "a wrong secret is refused with the long connection's own code, not a handshake status"
    );
    let unknown = http
        .call(
            "POST",
            "/callback/ws/endpoint",
            None,
            Some(json!({"AppID": "cli_0000000000000000", "AppSecret": "whatever"})),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (200, 1_000_040_346),
        "an app id the platform does not know"
    );
    assert_eq!(unknown.json()["data"]["URL"], "");
    let missing = http
        .call(
            "POST",
            "/callback/ws/endpoint",
            None,
            Some(json!({"AppID": emulator.app_id()})),
        )
        .await;
    assert_eq!(missing.code(), 1_000_040_344);
}

#[tokio::test]
async fn a_configuration_without_apps_is_refused_at_start() {
    let mut config = EmulatorConfig::default();
    config.apps.clear();
    let err = Emulator::start(config).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("no app"), "{err}");
}
