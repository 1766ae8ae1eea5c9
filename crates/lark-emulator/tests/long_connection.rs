//! The long connection over a raw WebSocket and a frame codec written in these tests from the
//! protocol's schema: discovery, the handshake, pushes and acks, pings and pongs, and what
//! happens to events while no connection is open. Facts: docs/protocol.md §5.3 and §7.

mod common;

use common::{Frame, Http, PATIENCE, Webhook, discover};
use futures_util::{SinkExt, StreamExt};
use lark_emulator::{
    AppConfig, Emulator, EmulatorConfig, Fault, FaultRule, Subscription, WebhookConfig, WsConfig,
    WsRefusal,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The platform's header keys for a pushed frame.
const PUSH_HEADERS: [&str; 7] = [
    "type",
    "message_id",
    "sum",
    "seq",
    "trace_id",
    "timestamp",
    "instance_id",
];

/// Discovery and the handshake, as a client does them; the socket and its `service_id`.
async fn dial(emulator: &Emulator) -> (Socket, i32) {
    let http = Http::new(emulator);
    let answer = discover(&http, &emulator.app_id(), &emulator.app_secret()).await;
    assert_eq!(answer.code(), 0, "{:?}", answer.json());
    let url = answer.json()["data"]["URL"].as_str().unwrap().to_owned();
    let service = url
        .split("service_id=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    let (socket, response) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    (socket, service)
}

/// The next binary frame, skipping nothing: a test that expects a frame gets the next one.
async fn next_frame(socket: &mut Socket) -> Frame {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a frame")
            .expect("the connection is open")
            .unwrap();
        if let Message::Binary(bytes) = message {
            return Frame::decode(&bytes);
        }
    }
}

fn long_connection_config() -> EmulatorConfig {
    let mut config = EmulatorConfig::default().long_connection();
    config.ws.retry_delays_ms = vec![0; 4];
    config
}

#[tokio::test]
async fn a_connection_is_registered_before_its_handshake_is_answered() {
    let emulator = Emulator::start(long_connection_config()).await.unwrap();
    let (_socket, _) = dial(&emulator).await;
    // No waiting: by the time the client has read the 101, the connection is known, so an
    // event emitted now goes to it.
    assert_eq!(emulator.ws_connections().len(), 1);
}

#[tokio::test]
async fn an_event_emitted_with_no_connection_open_waits_for_one_and_never_goes_to_a_webhook() {
    let webhook = Webhook::start().await;
    let config = long_connection_config().webhook(WebhookConfig::new(&webhook.url));
    let emulator = Emulator::start(config).await.unwrap();
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator
        .user_says_text(&emulator.default_chat(), &tom, "anyone there?")
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.emitted_events().len() == 1)
            .await
    );
    assert_eq!(emulator.deliveries_in_flight(), 1, "the event waits");
    assert!(emulator.deliveries().is_empty(), "no push was attempted");
    let (mut socket, _) = dial(&emulator).await;
    let frame = next_frame(&mut socket).await;
    assert_eq!(frame.header("type"), Some("event"));
    let payload: Value = serde_json::from_slice(frame.payload.as_deref().unwrap()).unwrap();
    assert_eq!(payload["header"]["event_type"], "im.message.receive_v1");
    socket
        .send(Message::Binary(frame.ack(200).encode().into()))
        .await
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries_in_flight() == 0)
            .await
    );
    let deliveries = emulator.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].long_connection && deliveries[0].error.is_none());
    assert!(
        webhook.received().is_empty(),
        "the webhook is never a fallback"
    );
}

#[tokio::test]
async fn pushes_carry_only_the_platforms_header_keys() {
    let mut config = long_connection_config();
    config.ws.fragment_bytes = Some(256);
    let emulator = Emulator::start(config).await.unwrap();
    let (mut socket, service) = dial(&emulator).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator
        .user_says_text(&emulator.default_chat(), &tom, &"long ".repeat(200))
        .unwrap();
    let first = next_frame(&mut socket).await;
    let sum: usize = first.header("sum").unwrap().parse().unwrap();
    assert!(sum > 1, "fragmented");
    let mut frames = vec![first];
    while frames.len() < sum {
        frames.push(next_frame(&mut socket).await);
    }
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!((frame.method, frame.service), (1, service));
        assert_eq!(frame.header("seq"), Some(index.to_string().as_str()));
        for (key, _) in &frame.headers {
            assert!(
                PUSH_HEADERS.contains(&key.as_str()),
                "header {key:?} is not the platform's"
            );
        }
    }
    let whole: Vec<u8> = frames
        .iter()
        .flat_map(|f| f.payload.clone().unwrap())
        .collect();
    let event: Value = serde_json::from_slice(&whole).unwrap();
    assert_eq!(event["schema"], "2.0");
}

#[tokio::test]
async fn an_unacknowledged_push_is_pushed_again_after_the_three_second_budget() {
    let emulator = Emulator::start(long_connection_config()).await.unwrap();
    assert_eq!(
        WsConfig::default().ack_timeout_ms,
        3_000,
        "the platform's handler budget"
    );
    let (mut socket, _) = dial(&emulator).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    // The emulator's budget starts after this instant, so the second push comes at least
    // three seconds after it, however late this test reads either frame.
    let sent = Instant::now();
    emulator
        .user_says_text(&emulator.default_chat(), &tom, "ack me")
        .unwrap();
    let first = next_frame(&mut socket).await;
    let again = next_frame(&mut socket).await;
    assert!(
        sent.elapsed() >= Duration::from_secs(3),
        "not before the budget is over: {:?}",
        sent.elapsed()
    );
    assert_ne!(first.header("message_id"), again.header("message_id"));
    assert_eq!(first.payload, again.payload, "the same event");
    socket
        .send(Message::Binary(again.ack(200).encode().into()))
        .await
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries_in_flight() == 0)
            .await
    );
    let deliveries = emulator.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("3000 ms"))
    );
    assert!(deliveries[1].error.is_none());
    assert_eq!(emulator.ws_acks()[0].event_id, deliveries[1].event_id);
}

#[tokio::test]
async fn an_ack_with_code_500_counts_as_a_failed_push() {
    let emulator = Emulator::start(long_connection_config()).await.unwrap();
    let (mut socket, _) = dial(&emulator).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator
        .user_says_text(&emulator.default_chat(), &tom, "fail once")
        .unwrap();
    let first = next_frame(&mut socket).await;
    socket
        .send(Message::Binary(first.ack(500).encode().into()))
        .await
        .unwrap();
    let again = next_frame(&mut socket).await;
    assert_eq!(first.payload, again.payload);
    socket
        .send(Message::Binary(again.ack(200).encode().into()))
        .await
        .unwrap();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries_in_flight() == 0)
            .await
    );
    assert_eq!(emulator.deliveries().len(), 2);
}

#[tokio::test]
async fn every_pong_carries_the_client_config() {
    let mut config = long_connection_config();
    config.ws.ping_interval_secs = 90;
    let emulator = Emulator::start(config).await.unwrap();
    let (mut socket, service) = dial(&emulator).await;
    for _ in 0..2 {
        socket
            .send(Message::Binary(Frame::ping(service).encode().into()))
            .await
            .unwrap();
        let pong = next_frame(&mut socket).await;
        assert_eq!((pong.method, pong.header("type")), (0, Some("pong")));
        let config: Value = serde_json::from_slice(pong.payload.as_deref().unwrap()).unwrap();
        assert_eq!(
            config,
            json!({"PingInterval": 90, "ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30})
        );
    }
}

#[tokio::test]
async fn discovery_can_be_busy_and_refuses_with_its_own_codes() {
    let emulator = Emulator::start(long_connection_config()).await.unwrap();
    let http = Http::new(&emulator);
    emulator.inject(
        FaultRule::next(
            1,
            Fault::Answer {
                status: 200,
                code: 1_000_040_345,
                msg: "system busy".to_owned(),
            },
        )
        .on_path("/callback/ws/endpoint"),
    );
    let busy = discover(&http, &emulator.app_id(), &emulator.app_secret()).await;
    assert_eq!((busy.status, busy.code()), (200, 1_000_040_345));
    emulator.inject(FaultRule::next(1, Fault::server_error(503)).on_path("/callback/ws/endpoint"));
    let unavailable = discover(&http, &emulator.app_id(), &emulator.app_secret()).await;
    assert_eq!(unavailable.status, 503);
    let ok = discover(&http, &emulator.app_id(), &emulator.app_secret()).await;
    assert_eq!(ok.code(), 0, "the next attempt goes through");
    let unknown = discover(&http, "cli_0000000000000000", "secret").await;
    assert_eq!((unknown.status, unknown.code()), (200, 1_000_040_346));
    let wrong = discover(&http, &emulator.app_id(), "wrong").await;
    assert_eq!((wrong.status, wrong.code()), (200, 1_000_040_345));
}

#[tokio::test]
async fn handshake_refusals_carry_the_handshake_headers() {
    let mut config = long_connection_config();
    config.apps.push(
        AppConfig::new("cli_a1b2c3d4e5f6a7b8", "market-secret")
            .subscription(Subscription::LongConnection),
    );
    config.apps[1].marketplace = true;
    let emulator = Emulator::start(config).await.unwrap();
    let http = Http::new(&emulator);
    emulator.ws_refuse_handshakes(1, &WsRefusal::too_many_connections());
    let url = discover(&http, &emulator.app_id(), &emulator.app_secret())
        .await
        .json()["data"]["URL"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = common::refused_handshake(&url).await;
    assert_eq!(response.status(), 514);
    assert_eq!(response.headers()["handshake-status"], "514");
    assert_eq!(response.headers()["handshake-autherrcode"], "1000040350");
    assert!(response.headers().contains_key("handshake-msg"));

    let market = discover(&http, "cli_a1b2c3d4e5f6a7b8", "market-secret").await;
    let url = market.json()["data"]["URL"].as_str().unwrap().to_owned();
    let response = common::refused_handshake(&url).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["handshake-status"],
        "403",
        "a marketplace app is refused at the handshake"
    );
}

#[tokio::test]
async fn a_card_click_with_no_connection_open_fails_at_once() {
    let emulator = Emulator::start(long_connection_config()).await.unwrap();
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    let card = json!({"elements": [{"tag": "markdown", "content": "hi"}]});
    let id = http
        .sent_content_id(&token, &emulator.default_chat(), "interactive", &card)
        .await;
    let tom = emulator.user("Tom").unwrap().open_id;
    let err = emulator.click(&id, &tom, json!({})).await.unwrap_err();
    assert!(err.to_string().contains("200671"), "{err}");
    assert_eq!(
        emulator.deliveries_in_flight(),
        0,
        "a callback is never queued"
    );
}
