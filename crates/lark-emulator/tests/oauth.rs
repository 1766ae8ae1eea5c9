//! Signing users in over plain HTTP, as the token pages document it (docs/protocol.md §4.4):
//! codes with PKCE that work once, refresh tokens that rotate, the device flow, and user
//! tokens acting as their user.

mod common;

use common::{Answer, Http};
use lark_emulator::Emulator;
use serde_json::{Value, json};
use std::time::Duration;

/// RFC 7636, appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:8400/callback";

async fn token(http: &Http, body: Value) -> Answer {
    http.call("POST", "/open-apis/authen/v2/oauth/token", None, Some(body))
        .await
}

/// Tom consents; answers the code from the redirect.
fn signed_in(emulator: &Emulator, scope: &str) -> String {
    let url = format!(
        "{}/open-apis/authen/v1/authorize?client_id={}&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback&scope={scope}&state=s%201&code_challenge={CHALLENGE}&code_challenge_method=S256",
        emulator.base_url(),
        emulator.app_id()
    );
    let redirect = emulator.consent("Tom", &url).unwrap();
    assert!(
        redirect.starts_with(&format!("{REDIRECT}?code=")),
        "{redirect}"
    );
    assert!(redirect.ends_with("&state=s%201"), "{redirect}");
    redirect
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

fn code_grant(emulator: &Emulator, code: &str, verifier: &str) -> Value {
    json!({"grant_type": "authorization_code", "client_id": emulator.app_id(), "client_secret": emulator.app_secret(),
        "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
}

#[tokio::test]
async fn a_code_with_pkce_works_once_and_its_refresh_token_rotates() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let code = signed_in(&emulator, "im%3Amessage%20offline_access");
    let wrong = token(&http, code_grant(&emulator, &code, &"x".repeat(43))).await;
    assert_eq!((wrong.status, wrong.code()), (400, 20_049));
    assert_eq!(wrong.json()["error"], "invalid_grant");
    let pair = token(&http, code_grant(&emulator, &code, VERIFIER))
        .await
        .json();
    assert_eq!(pair["code"], 0);
    assert_eq!(pair["scope"], "im:message offline_access");
    assert!(pair["access_token"].as_str().unwrap().starts_with("u-"));
    assert_eq!(
        token(&http, code_grant(&emulator, &code, VERIFIER))
            .await
            .code(),
        20_065
    );

    // The user token acts as Tom.
    let user_token = pair["access_token"].as_str().unwrap();
    let me = http
        .get(user_token, "/open-apis/authen/v1/user_info")
        .await
        .json();
    assert_eq!(
        me["data"]["open_id"],
        emulator.user("Tom").unwrap().open_id.as_str()
    );
    let sent = http
        .send_text(user_token, &emulator.default_chat(), "from Tom")
        .await
        .json();
    assert_eq!(sent["data"]["sender"]["sender_type"], "user", "{sent}");

    let refresh = |token: &str| {
        json!({"grant_type": "refresh_token", "client_id": emulator.app_id(),
        "client_secret": emulator.app_secret(), "refresh_token": token})
    };
    let first = pair["refresh_token"].as_str().unwrap().to_owned();
    let next = token(&http, refresh(&first)).await.json();
    assert_eq!(next["code"], 0);
    assert_ne!(next["refresh_token"], first.as_str());
    // The spent token is refused for good.
    let reused = token(&http, refresh(&first)).await;
    assert_eq!((reused.status, reused.code()), (400, 20_073));
    assert_eq!(emulator.oauth_grants("refresh_token"), 1);

    emulator.revoke_user_tokens(&emulator.app_id(), &emulator.user("Tom").unwrap().open_id);
    let revoked = token(&http, refresh(next["refresh_token"].as_str().unwrap())).await;
    assert_eq!(revoked.code(), 20_064);
}

#[tokio::test]
async fn codes_expire_after_five_minutes_and_no_refresh_token_without_offline_access() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let code = signed_in(&emulator, "im%3Amessage");
    let pair = token(&http, code_grant(&emulator, &code, VERIFIER))
        .await
        .json();
    assert!(pair.get("refresh_token").is_none(), "{pair}");
    let late = signed_in(&emulator, "im%3Amessage");
    emulator.advance_time(Duration::from_secs(300));
    assert_eq!(
        token(&http, code_grant(&emulator, &late, VERIFIER))
            .await
            .code(),
        20_004
    );
    let mut bad_secret = code_grant(&emulator, &late, VERIFIER);
    bad_secret["client_secret"] = json!("wrong");
    assert_eq!(token(&http, bad_secret).await.code(), 20_002);
}

#[tokio::test]
async fn the_device_flow_waits_slows_down_and_then_answers_the_pair() {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    let started =
        common::start_device_flow(&http, &emulator, "im%3Amessage%20offline_access").await;
    assert_eq!(started["interval"], 5);
    let device_code = started["device_code"].as_str().unwrap();
    let poll = json!({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": emulator.app_id(),
        "client_secret": emulator.app_secret(), "device_code": device_code});
    emulator.stop_time(true);
    assert_eq!(
        token(&http, poll.clone()).await.json()["error"],
        "authorization_pending"
    );
    // Again at once: too soon.
    assert_eq!(
        token(&http, poll.clone()).await.json()["error"],
        "slow_down"
    );
    emulator
        .decide_device("Tom", started["user_code"].as_str().unwrap(), true)
        .unwrap();
    emulator.advance_time(Duration::from_secs(10));
    let pair = token(&http, poll.clone()).await.json();
    assert!(pair["refresh_token"].is_string(), "{pair}");
    emulator.stop_time(false);
}
