//! The control API's setup, reset, delivery, clock, quota and long-connection calls over raw
//! HTTP, each checked by what the platform side then does.

mod common;

use common::{Http, Webhook, control, ok, plaintext, say};
use lark_emulator::{CONTROL_PREFIX, Emulator, EmulatorConfig, WebhookConfig};
use serde_json::json;

/// A tenant token for `app_id`, fetched over the platform API.
async fn token_of(http: &Http, app_id: &str, secret: &str) -> String {
    let answer = http
        .call(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            None,
            Some(json!({"app_id": app_id, "app_secret": secret})),
        )
        .await
        .json();
    assert_eq!(answer["code"], 0, "{answer}");
    answer["tenant_access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn apps_users_and_chats_set_up_over_http_work_on_the_platform_side() {
    let webhook = Webhook::start().await;
    let (emulator, http) = common::started().await;
    ok(&http, "PUT", "/webhook", Some(json!({"url": webhook.url}))).await;
    ok(
        &http,
        "POST",
        "/apps",
        Some(
            json!({"app_id": "cli_a1b2c3d4e5f6a7b8", "app_secret": "second secret",
            "bot_open_id": "ou_2b0c3f7a1e9d4c5b6a7f8e9d0c1b2a3f"}),
        ),
    )
    .await;
    let bob = ok(&http, "POST", "/users", Some(json!({"name": "Bob"}))).await;
    let bob_id = bob["open_id"].as_str().unwrap().to_owned();
    assert!(bob_id.starts_with("ou_"), "{bob}");
    assert_eq!(bob["name"], "Bob");
    let chat = ok(
        &http,
        "POST",
        "/chats",
        Some(
            json!({"name": "Launch", "members": ["Bob", "Tom"], "bots": ["cli_a1b2c3d4e5f6a7b8"]}),
        ),
    )
    .await["chat_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The new app's bot is in the new chat: it gets a token and sends there.
    let token = token_of(&http, "cli_a1b2c3d4e5f6a7b8", "second secret").await;
    assert_eq!(http.send_text(&token, &chat, "hi Bob").await.code(), 0);
    // The default app's bot is not a member of it.
    let other = http.token(&emulator).await;
    assert_ne!(http.send_text(&other, &chat, "hi").await.code(), 0);

    // Bob speaks there, and the new app hears it.
    say(&http, &chat, "Bob", "hello").await;
    let event = plaintext(None, &webhook.wait_for(1).await[0].body);
    assert_eq!(event["header"]["app_id"], "cli_a1b2c3d4e5f6a7b8");
    assert_eq!(
        event["event"]["sender"]["sender_id"]["open_id"],
        bob_id.as_str()
    );

    // What cannot be set up is refused with the reason.
    for (path, body, says) in [
        ("/apps", json!({"app_id": "cli_x"}), "app_secret"),
        ("/users", json!({"name": ""}), "needs a name"),
        (
            "/users",
            json!({"name": "Twin", "open_id": bob_id}),
            "exists already",
        ),
        (
            "/chats",
            json!({"name": "x", "members": ["Nobody"]}),
            "Nobody",
        ),
        (
            "/chats",
            json!({"name": "x", "bots": ["cli_nowhere"]}),
            "cli_nowhere",
        ),
        (
            "/chats",
            json!({"chat_id": chat, "name": "again"}),
            "exists already",
        ),
    ] {
        let answer = control(&http, "POST", path, Some(body)).await;
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(matches!(answer.status, 400 | 404), "{path}: {error}");
        assert!(error.contains(says), "{path}: {error}");
    }
}

#[tokio::test]
async fn reset_returns_to_the_configuration_it_started_with() {
    let (emulator, http) = common::started().await;
    let users = ok(&http, "GET", "/users", None).await;
    let chat = emulator.default_chat();
    ok(&http, "POST", "/users", Some(json!({"name": "Bob"}))).await;
    say(&http, &chat, "Tom", "before").await;
    let token = http.token(&emulator).await;
    ok(&http, "POST", "/reset", None).await;

    assert_eq!(ok(&http, "GET", "/users", None).await, users);
    assert_eq!(
        ok(&http, "GET", &format!("/chats/{chat}/messages"), None).await,
        json!({"items": []})
    );
    assert_eq!(
        ok(&http, "GET", "/requests", None).await,
        json!({"items": []})
    );
    // Tokens handed out before the reset are unknown after it.
    assert_eq!(
        http.send_text(&token, &chat, "after").await.code(),
        99_991_663
    );
}

#[tokio::test]
async fn duplicates_and_redeliveries_reach_the_webhook_again() {
    let webhook = Webhook::start().await;
    let config = EmulatorConfig::default().webhook(WebhookConfig::new(&webhook.url));
    let emulator = Emulator::start(config).await.unwrap();
    let http = Http::new(&emulator);
    let chat = emulator.default_chat();
    ok(&http, "PUT", "/duplicates", Some(json!({"copies": 1}))).await;
    say(&http, &chat, "Tom", "twice").await;
    let twice = webhook.wait_for(2).await;
    let first = plaintext(None, &twice[0].body);
    assert_eq!(first, plaintext(None, &twice[1].body));
    let event_id = first["header"]["event_id"].as_str().unwrap();

    ok(&http, "PUT", "/duplicates", Some(json!({"copies": 0}))).await;
    let endless = control(
        &http,
        "PUT",
        "/duplicates",
        Some(json!({"copies": 1_000_000})),
    )
    .await;
    assert_eq!(endless.status, 400);
    assert!(
        endless.json()["error"]
            .as_str()
            .unwrap()
            .contains("at most 100"),
        "{:?}",
        endless.json()
    );
    ok(
        &http,
        "POST",
        &format!("/events/{event_id}/redeliver"),
        None,
    )
    .await;
    let thrice = webhook.wait_for(3).await;
    assert_eq!(
        plaintext(None, &thrice[2].body)["header"]["event_id"],
        event_id
    );
    let missing = control(&http, "POST", "/events/nothing/redeliver", None).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn the_clock_tokens_and_revocation_are_driven_over_http() {
    let (emulator, http, token) = common::setup().await;
    let chat = emulator.default_chat();
    let fetches = ok(&http, "GET", "/tokens/fetches", None).await;
    assert_eq!(fetches[emulator.app_id().as_str()], 1, "{fetches}");

    // Past the token's 7200 s, the platform calls it expired.
    ok(
        &http,
        "PUT",
        "/time/stopped",
        Some(json!({"stopped": true})),
    )
    .await;
    ok(
        &http,
        "POST",
        "/time/advance",
        Some(json!({"ms": 7_201_000})),
    )
    .await;
    assert_eq!(
        http.send_text(&token, &chat, "late").await.code(),
        99_991_663
    );

    let fresh = http.token(&emulator).await;
    assert_eq!(http.send_text(&fresh, &chat, "fresh").await.code(), 0);
    ok(
        &http,
        "POST",
        &format!("/apps/{}/revoke_tokens", emulator.app_id()),
        None,
    )
    .await;
    assert_eq!(
        http.send_text(&fresh, &chat, "revoked").await.code(),
        99_991_663
    );
    let bad = control(
        &http,
        "PUT",
        "/time/stopped",
        Some(json!({"stopped": "yes"})),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn quota_mode_set_over_http_refuses_the_sixth_message_in_a_second() {
    let (emulator, http, token) = common::setup().await;
    let chat = emulator.default_chat();
    // A stopped clock puts every send in the same second.
    ok(
        &http,
        "PUT",
        "/time/stopped",
        Some(json!({"stopped": true})),
    )
    .await;
    ok(&http, "PUT", "/quota", Some(json!({}))).await;
    let mut codes = Vec::new();
    for n in 0..6 {
        codes.push(http.send_text(&token, &chat, &format!("n{n}")).await.code());
    }
    assert_eq!(codes, [0, 0, 0, 0, 0, 230_020]);
    assert_eq!(
        ok(&http, "GET", "/quota/refusals", None).await,
        json!({"230020": 1})
    );
    ok(&http, "DELETE", "/quota", None).await;
    assert_eq!(http.send_text(&token, &chat, "free").await.code(), 0);
}

#[tokio::test]
async fn people_rename_and_disband_chats_add_and_remove_bots_and_open_p2p() {
    let webhook = Webhook::start().await;
    let config = EmulatorConfig::default().webhook(WebhookConfig::new(&webhook.url));
    let emulator = Emulator::start(config).await.unwrap();
    let http = Http::new(&emulator);
    let chat = emulator.default_chat();
    let app = emulator.app_id();
    ok(
        &http,
        "PUT",
        &format!("/chats/{chat}"),
        Some(json!({"as": "Tom", "name": "Renamed"})),
    )
    .await;
    ok(
        &http,
        "DELETE",
        &format!("/chats/{chat}/bots/{app}"),
        Some(json!({"as": "Tom"})),
    )
    .await;
    ok(
        &http,
        "POST",
        &format!("/chats/{chat}/bots"),
        Some(json!({"as": "Tom", "app_id": app})),
    )
    .await;
    let p2p = ok(&http, "POST", "/users/Alice/p2p", None).await;
    assert!(p2p["chat_id"].as_str().unwrap().starts_with("oc_"), "{p2p}");
    ok(
        &http,
        "DELETE",
        &format!("/chats/{chat}"),
        Some(json!({"as": "Tom"})),
    )
    .await;

    let mut kinds: Vec<String> = webhook
        .wait_for(5)
        .await
        .iter()
        .map(|r| {
            plaintext(None, &r.body)["header"]["event_type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "im.chat.access_event.bot_p2p_chat_entered_v1",
            "im.chat.disbanded_v1",
            "im.chat.member.bot.added_v1",
            "im.chat.member.bot.deleted_v1",
            "im.chat.updated_v1",
        ]
    );
}

#[tokio::test]
async fn long_connection_knobs_refuse_handshakes_and_list_connections() {
    let emulator = Emulator::start(EmulatorConfig::default().long_connection())
        .await
        .unwrap();
    let http = Http::new(&emulator);
    ok(
        &http,
        "POST",
        "/ws/refuse",
        Some(json!({"status": 514, "auth_error_code": 1_000_040_350, "message": "exceed conn limit"})),
    )
    .await;
    let discovered = common::discover(&http, &emulator.app_id(), &emulator.app_secret())
        .await
        .json();
    let url = discovered["data"]["URL"].as_str().unwrap().to_owned();
    let response = common::refused_handshake(&url).await;
    assert_eq!(response.status(), 514);
    assert_eq!(response.headers()["handshake-autherrcode"], "1000040350");

    let (_socket, accepted) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    assert_eq!(accepted.status(), 101);
    let listed = ok(&http, "GET", "/ws/connections", None).await;
    assert_eq!(
        listed["items"][0]["app_id"],
        emulator.app_id().as_str(),
        "{listed}"
    );
    ok(&http, "POST", "/ws/kill", None).await;
    assert_eq!(
        ok(&http, "GET", "/ws/connections", None).await,
        json!({"items": []})
    );
    assert_eq!(
        ok(&http, "GET", "/ws/acks", None).await,
        json!({"items": []})
    );
}

#[tokio::test]
async fn idle_connections_are_closed_and_bodies_are_capped_before_they_are_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = EmulatorConfig::default();
    config.idle_timeout_secs = 1;
    let emulator = Emulator::start(config).await.unwrap();

    // A connection that sends nothing is closed: the read ends, it does not hang.
    let mut idle = tokio::net::TcpStream::connect(emulator.addr())
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(common::PATIENCE, idle.read(&mut byte))
        .await
        .expect("the idle connection stayed open");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // So is a kept-alive connection once its answer is read and nothing more comes.
    let mut kept = tokio::net::TcpStream::connect(emulator.addr())
        .await
        .unwrap();
    kept.write_all(
        format!("GET {CONTROL_PREFIX}/info HTTP/1.1\r\nhost: emulator\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let ended = tokio::time::timeout(common::PATIENCE, kept.read_to_end(&mut answer))
        .await
        .expect("the kept-alive connection stayed open");
    assert!(ended.is_ok(), "{ended:?}");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // A JSON call's body larger than the emulator reads is refused from its length alone,
    // before any of it is read, and recorded.
    let refused = common::head_only(
        emulator.addr(),
        "POST",
        "/open-apis/im/v1/messages?receive_id_type=chat_id",
        5 * 1024 * 1024,
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert!(refused.contains("larger than"), "{refused}");
    assert!(
        emulator.requests().iter().any(|r| r.status == 413),
        "{:?}",
        emulator.requests()
    );
}

/// RFC 7636, appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test]
async fn a_person_signs_in_approves_a_device_and_has_their_tokens_revoked_over_http() {
    let (emulator, http) = common::started().await;
    let app = emulator.app_id();
    let authorize = format!(
        "{}/open-apis/authen/v1/authorize?client_id={app}&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback&scope=offline_access&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        emulator.base_url()
    );
    let consented = ok(
        &http,
        "POST",
        "/oauth/consent",
        Some(json!({"as": "Tom", "authorize_url": authorize})),
    )
    .await;
    assert!(
        consented["redirect"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:8400/callback?code="),
        "{consented}"
    );
    let pair = http
        .call(
            "POST",
            "/open-apis/authen/v2/oauth/token",
            None,
            Some(json!({"grant_type": "authorization_code", "client_id": app,
                "client_secret": emulator.app_secret(), "code": consented["code"],
                "redirect_uri": "http://127.0.0.1:8400/callback", "code_verifier": VERIFIER})),
        )
        .await
        .json();
    assert_eq!(pair["code"], 0, "{pair}");
    let user_token = pair["access_token"].as_str().unwrap().to_owned();
    let me = http
        .get(&user_token, "/open-apis/authen/v1/user_info")
        .await;
    assert_eq!(me.code(), 0);
    let counts = ok(&http, "GET", "/oauth/grants", None).await;
    assert_eq!(counts["grants"]["authorization_code"], 1, "{counts}");

    ok(&http, "POST", "/oauth/revoke", Some(json!({"as": "Tom"}))).await;
    let revoked = http
        .get(&user_token, "/open-apis/authen/v1/user_info")
        .await;
    assert_eq!(revoked.code(), 99_991_668);

    // The device flow: the person approves the code the app shows them.
    ok(
        &http,
        "PUT",
        "/oauth/device_interval",
        Some(json!({"seconds": 1})),
    )
    .await;
    let started = common::start_device_flow(&http, &emulator, "offline_access").await;
    assert_eq!(started["interval"], 1, "{started}");
    ok(
        &http,
        "POST",
        "/oauth/device",
        Some(json!({"as": "Tom", "user_code": started["user_code"], "approve": true})),
    )
    .await;
    let wrong = control(
        &http,
        "POST",
        "/oauth/device",
        Some(json!({"as": "Tom", "user_code": "NOPE-NOPE", "approve": true})),
    )
    .await;
    assert_eq!(wrong.status, 400);
    let polled = http
        .call(
            "POST",
            "/open-apis/authen/v2/oauth/token",
            None,
            Some(
                json!({"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": app, "client_secret": emulator.app_secret(),
                "device_code": started["device_code"]}),
            ),
        )
        .await
        .json();
    assert!(polled["access_token"].is_string(), "{polled}");
}

#[tokio::test]
async fn the_subscription_webhook_and_long_connection_settings_change_over_http() {
    let webhook = Webhook::start().await;
    let (emulator, http) = common::started().await;
    let app = emulator.app_id();
    let chat = emulator.default_chat();
    // In long-connection mode an event waits for a connection, and a push finds none.
    ok(
        &http,
        "PUT",
        &format!("/apps/{app}/subscription"),
        Some(json!({"subscription": "long_connection"})),
    )
    .await;
    let pushed = ok(&http, "POST", "/ws/push", Some(json!({"payload": "{}"}))).await;
    assert_eq!(pushed, json!({"ack": null}));
    ok(
        &http,
        "PUT",
        "/ws/config",
        Some(json!({"ping_interval_secs": 7})),
    )
    .await;
    let discovered = common::discover(&http, &app, &emulator.app_secret())
        .await
        .json();
    assert_eq!(
        discovered["data"]["ClientConfig"]["PingInterval"], 7,
        "{discovered}"
    );
    assert_eq!(
        ok(&http, "GET", "/ws/pings", None).await,
        json!({"pings": 0})
    );
    ok(&http, "POST", "/ws/silence", None).await;

    // Back to the webhook: the next event goes there; with the webhook removed, none does.
    ok(
        &http,
        "PUT",
        &format!("/apps/{app}/subscription"),
        Some(json!({"subscription": "webhook"})),
    )
    .await;
    ok(&http, "PUT", "/webhook", Some(json!({"url": webhook.url}))).await;
    say(&http, &chat, "Tom", "by webhook").await;
    let delivered = plaintext(None, &webhook.wait_for(1).await[0].body);
    assert_eq!(delivered["header"]["event_type"], "im.message.receive_v1");
    ok(&http, "DELETE", "/webhook", None).await;
    assert_eq!(emulator.config().webhook, None);
    let bad = control(
        &http,
        "PUT",
        &format!("/apps/{app}/subscription"),
        Some(json!({"subscription": "pigeon"})),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn cards_pins_toasts_urgent_and_a_wait_for_requests_are_read_over_http() {
    let (emulator, http, token) = common::setup().await;
    let chat = emulator.default_chat();
    let created = http
        .post(
            &token,
            "/open-apis/cardkit/v1/cards",
            json!({"type": "card_json", "data": json!({"schema": "2.0",
                "body": {"elements": [{"tag": "markdown", "element_id": "md", "content": "hi"}]}}).to_string()}),
        )
        .await
        .json();
    let card_id = created["data"]["card_id"].as_str().unwrap().to_owned();
    assert_eq!(
        ok(&http, "GET", "/cards", None).await,
        json!({"items": [card_id]})
    );
    let card = ok(&http, "GET", &format!("/cards/{card_id}"), None).await;
    assert_eq!(card["card_id"], card_id.as_str(), "{card}");
    assert_eq!(
        control(&http, "GET", "/cards/nothing", None).await.status,
        404
    );

    let id = http.sent_id(&token, &chat, "pin me").await;
    let pinned = http
        .post(&token, "/open-apis/im/v1/pins", json!({"message_id": id}))
        .await;
    assert_eq!(pinned.code(), 0, "{:?}", pinned.json());
    let pins = ok(&http, "GET", &format!("/chats/{chat}/pins"), None).await;
    assert_eq!(pins["items"][0]["message_id"], id.as_str(), "{pins}");
    assert_eq!(
        ok(&http, "GET", "/toasts", None).await,
        json!({"items": []})
    );
    assert_eq!(
        ok(&http, "GET", "/urgent", None).await,
        json!({"items": []})
    );

    let waited = ok(
        &http,
        "POST",
        "/wait",
        Some(json!({"for": "requests", "path": "/open-apis/im/v1/pins", "at_least": 1})),
    )
    .await;
    assert_eq!(waited, json!({"held": true, "seen": 1}));
}

#[tokio::test]
async fn a_person_named_in_a_path_is_found_by_their_percent_encoded_name() {
    let (emulator, http) = common::started().await;
    // A name with a space, in a path: percent-encoded there, as any client sends it.
    let ann = ok(&http, "POST", "/users", Some(json!({"name": "Ann Lee"}))).await;
    let chat = emulator.default_chat();
    ok(
        &http,
        "POST",
        &format!("/chats/{chat}/members"),
        Some(json!({"as": "Ann Lee"})),
    )
    .await;
    ok(
        &http,
        "DELETE",
        &format!("/chats/{chat}/members/Ann%20Lee"),
        None,
    )
    .await;
    let after = control(
        &http,
        "POST",
        &format!("/chats/{chat}/messages"),
        Some(json!({"as": ann["open_id"], "text": "gone?"})),
    )
    .await;
    assert_eq!(after.status, 409, "{:?}", after.json());
}
