//! The long-connection client against the emulator's WebSocket side, over loopback.

use lark_api::BaseUrl;
use lark_emulator::{Emulator, EmulatorConfig, WsConfig, WsRefusal};
use lark_events::{
    CardResponse, Dispatcher, Event, EventEnvelope, HandlerError, ToastKind, handler_fn,
};
use lark_ws::{Status, StopReason, WsClient, WsHandle, WsOptions};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

mod common;

use common::{PATIENCE, connected, forwarding, http_client, next_event};

/// Short intervals, so that pings, reconnects and re-pushes happen within a test.
fn fast_config() -> EmulatorConfig {
    let mut config = EmulatorConfig::default().long_connection();
    let mut ws = WsConfig::default();
    ws.ping_interval_secs = 1;
    ws.reconnect_interval_secs = 1;
    ws.reconnect_nonce_secs = 0;
    // Re-pushes soon after the platform's 3 s ack budget, not after 15 s.
    ws.retry_delays_ms = vec![50; 8];
    config.ws = ws;
    config
}

/// Every user action the emulator turns into an IM event, each at least once.
async fn trigger_every_event_type(emulator: &Emulator) {
    let client = http_client(emulator);
    let tom = emulator.user("Tom").unwrap().open_id;
    let alice = emulator.user("Alice").unwrap().open_id;
    let chat = emulator.default_chat();
    let app = emulator.app_id();

    let bot_message = client
        .execute(lark_api::im::messages::SendMessage::new(
            lark_api::Receiver::chat(lark_content::ChatId::new(chat.as_str())),
            lark_content::MessageContent::text("hello"),
        ))
        .await
        .unwrap()
        .message_id;
    emulator.user_says_text(&chat, &tom, "hi bot").unwrap();
    emulator
        .user_reacts(bot_message.as_str(), &tom, "SMILE")
        .unwrap();
    emulator
        .user_unreacts(bot_message.as_str(), &tom, "SMILE")
        .unwrap();
    let oops = emulator.user_says_text(&chat, &tom, "oops").unwrap();
    emulator.user_recalls(&oops).unwrap();
    emulator.remove_user_from_chat(&chat, &tom, &alice).unwrap();
    emulator.add_user_to_chat(&chat, &tom, &alice).unwrap();
    emulator.user_leaves_chat(&chat, &alice).unwrap();
    emulator.rename_chat(&chat, &tom, "Renamed").unwrap();
    let p2p = emulator.user_opens_p2p(&tom).unwrap();
    let p2p_message = client
        .execute(lark_api::im::messages::SendMessage::new(
            lark_api::Receiver::chat(lark_content::ChatId::new(p2p.as_str())),
            lark_content::MessageContent::text("read me"),
        ))
        .await
        .unwrap()
        .message_id;
    emulator
        .user_reads(&tom, &[p2p_message.to_string()])
        .unwrap();
    emulator.remove_bot_from_chat(&chat, &tom, &app).unwrap();
    emulator.add_bot_to_chat(&chat, &tom, &app).unwrap();
    emulator.disband_chat(&chat, &tom).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_im_event_type_arrives_typed_and_is_acked() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let (dispatcher, mut rx) = forwarding();
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    trigger_every_event_type(&emulator).await;

    let mut seen: HashMap<String, Event> = HashMap::new();
    while seen.len() < 13 {
        let event = next_event(&mut rx).await;
        assert!(
            event.event.is_typed(),
            "{} arrived untyped",
            event.header.event_type
        );
        seen.insert(event.header.event_type.clone(), event.event);
    }
    assert!(matches!(
        seen["im.message.receive_v1"],
        Event::MessageReceived(_)
    ));
    assert!(matches!(
        seen["im.message.reaction.created_v1"],
        Event::ReactionCreated(_)
    ));
    assert!(matches!(
        seen["im.message.reaction.deleted_v1"],
        Event::ReactionDeleted(_)
    ));
    assert!(matches!(
        seen["im.message.recalled_v1"],
        Event::MessageRecalled(_)
    ));
    assert!(matches!(
        seen["im.message.message_read_v1"],
        Event::MessageRead(_)
    ));
    assert!(matches!(
        seen["im.chat.member.user.added_v1"],
        Event::ChatMemberUserAdded(_)
    ));
    assert!(matches!(
        seen["im.chat.member.user.deleted_v1"],
        Event::ChatMemberUserDeleted(_)
    ));
    assert!(matches!(
        seen["im.chat.member.user.withdrawn_v1"],
        Event::ChatMemberUserWithdrawn(_)
    ));
    assert!(matches!(
        seen["im.chat.member.bot.added_v1"],
        Event::BotAdded(_)
    ));
    assert!(matches!(
        seen["im.chat.member.bot.deleted_v1"],
        Event::BotDeleted(_)
    ));
    assert!(matches!(seen["im.chat.updated_v1"], Event::ChatUpdated(_)));
    assert!(matches!(
        seen["im.chat.disbanded_v1"],
        Event::ChatDisbanded(_)
    ));
    assert!(matches!(
        seen["im.chat.access_event.bot_p2p_chat_entered_v1"],
        Event::BotP2pChatEntered(_)
    ));

    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.ws_acks().len() >= 14)
            .await
    );
    let acks = emulator.ws_acks();
    assert!(
        acks.iter()
            .all(|ack| ack.code == 200 && ack.frame_type == "event"),
        "{acks:?}"
    );
    assert!(
        acks.iter()
            .all(|ack| ack.biz_rt_ms.is_some_and(|ms| ms >= 0)),
        "biz_rt is end minus start: {acks:?}"
    );
    let deliveries = emulator.deliveries();
    assert!(
        !deliveries.is_empty() && deliveries.iter().all(|d| d.long_connection),
        "everything went over the long connection, nothing to a webhook: {deliveries:?}"
    );
    assert_eq!(
        handle.shutdown().await,
        Status::Stopped(StopReason::Shutdown)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_click_is_answered_and_the_emulator_applies_the_new_card() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let clicks = Arc::new(AtomicUsize::new(0));
    let counter = clicks.clone();
    let dispatcher = Dispatcher::new(
        handler_fn(|_event: EventEnvelope| async { Ok(()) }).on_card(
            move |action: lark_events::CardAction| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let choice = action.value_str("choice").unwrap_or_default().to_owned();
                    let card = lark_content::card::CardV2::builder()
                        .element(lark_content::card::Markdown::new(format!(
                            "picked **{choice}**"
                        )))
                        .build();
                    Ok::<_, HandlerError>(
                        CardResponse::toast(ToastKind::Success, format!("picked {choice}"))
                            .with_card(card),
                    )
                }
            },
        ),
    );
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    let client = http_client(&emulator);
    let card = lark_content::card::CardV2::builder()
        .element(lark_content::card::Button::new("A").callback(serde_json::json!({"choice": "a"})))
        .build();
    let sent = client
        .execute(lark_api::im::messages::SendMessage::new(
            lark_api::Receiver::chat(lark_content::ChatId::new(emulator.default_chat())),
            lark_content::MessageContent::card(card),
        ))
        .await
        .unwrap();
    let tom = emulator.user("Tom").unwrap().open_id;
    let outcome = emulator
        .click(
            sent.message_id.as_str(),
            &tom,
            serde_json::json!({"choice": "a"}),
        )
        .await
        .unwrap();
    assert_eq!(outcome.toast.unwrap()["content"], "picked a");
    assert!(outcome.card_updated);
    let stored = emulator.message(sent.message_id.as_str()).unwrap();
    assert!(
        stored["body"]["content"]
            .as_str()
            .unwrap()
            .contains("picked **a**"),
        "{stored}"
    );
    let ack = emulator
        .ws_acks()
        .into_iter()
        .find(|a| a.frame_type == "card")
        .unwrap();
    assert_eq!(ack.code, 200);
    assert_eq!(
        ack.data.unwrap()["toast"]["content"],
        "picked a",
        "the response travels base64-encoded in data"
    );
    assert_eq!(clicks.load(Ordering::SeqCst), 1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragmented_hundred_kilobyte_payload_is_reassembled() {
    let mut config = fast_config();
    config.ws.fragment_bytes = Some(16 * 1024);
    let emulator = Emulator::start(config).await.unwrap();
    let (dispatcher, mut rx) = forwarding();
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    let long: String = "lorem ipsum dolor sit amet ".repeat(4_000);
    assert!(long.len() >= 100 * 1024);
    emulator
        .user_says_text(&emulator.default_chat(), &tom, &long)
        .unwrap();
    let event = next_event(&mut rx).await;
    let Event::MessageReceived(received) = event.event else {
        panic!("{:?}", event.event)
    };
    assert_eq!(received.message.text().unwrap(), long);
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.ws_acks().len() == 1)
            .await
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_reconnects_and_nothing_is_lost_or_handled_twice() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let handled: Arc<std::sync::Mutex<HashMap<String, usize>>> = Arc::default();
    let seen = handled.clone();
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let dispatcher = Dispatcher::new(handler_fn(move |event: EventEnvelope| {
        let seen = seen.clone();
        let started_tx = started_tx.clone();
        async move {
            if let Event::MessageReceived(received) = &event.event {
                *seen
                    .lock()
                    .unwrap()
                    .entry(received.message.text().unwrap_or_default())
                    .or_default() += 1;
            }
            let _ = started_tx.send(());
            // Some work, so that kills land while handlers run.
            tokio::task::yield_now().await;
            Ok(())
        }
    }));
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    let chat = emulator.default_chat();
    let mut reconnects = Vec::new();
    for round in 0..3 {
        let Status::Connected { device_id: before } = handle.status() else {
            panic!("{:?}", handle.status())
        };
        for i in 0..10 {
            emulator
                .user_says_text(&chat, &tom, &format!("round {round} message {i}"))
                .unwrap();
        }
        // Kill once the round's first handler runs: the rest are in flight or not yet pushed.
        tokio::time::timeout(PATIENCE, started.recv())
            .await
            .expect("a handler started")
            .unwrap();
        let in_flight = handle.in_flight();
        let killed = Instant::now();
        emulator.ws_kill_connections();
        // A new connection has a new device id: waiting for one cannot miss a short
        // Reconnecting state the way waiting for that state could.
        let reconnected = tokio::time::timeout(
            PATIENCE,
            handle
                .wait_for(|s| matches!(s, Status::Connected { device_id } if *device_id != before)),
        )
        .await
        .expect("reconnected");
        assert!(matches!(reconnected, Status::Connected { .. }));
        reconnects.push((killed.elapsed(), in_flight));
        while started.try_recv().is_ok() {}
    }
    let done = emulator
        .wait_until(PATIENCE, |_| {
            let seen = handled.lock().unwrap();
            seen.len() == 30
        })
        .await;
    let seen = handled.lock().unwrap().clone();
    assert!(done, "only {} of 30 messages handled: {seen:?}", seen.len());
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.deliveries_in_flight() == 0)
            .await,
        "every delivery ended"
    );
    let seen = handled.lock().unwrap().clone();
    assert!(
        seen.values().all(|count| *count == 1),
        "handled twice: {seen:?}"
    );
    eprintln!(
        "killed connection to reconnected (and handlers in flight at the kill): {reconnects:?}"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_trips_the_watchdog() {
    // With no reconnect allowed, the watchdog's verdict is the final status, so the test reads
    // it there instead of racing a short-lived Reconnecting state.
    let mut config = fast_config();
    config.ws.reconnect_count = 0;
    let emulator = Emulator::start(config).await.unwrap();
    let (dispatcher, _rx) = forwarding();
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    emulator.ws_silence_connections();
    let status = tokio::time::timeout(
        PATIENCE,
        handle.wait_for(|s| matches!(s, Status::Stopped(_))),
    )
    .await
    .expect("the watchdog fires");
    let Status::Stopped(StopReason::GaveUp { last_error, .. }) = status else {
        panic!("{status:?}")
    };
    assert!(last_error.contains("watchdog"), "{last_error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_connections_stops_the_client_with_a_clear_error() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    emulator.ws_refuse_handshakes(1, &WsRefusal::too_many_connections());
    let (dispatcher, _rx) = forwarding();
    let handle = WsClient::new(http_client(&emulator), dispatcher).start();
    let status = tokio::time::timeout(
        PATIENCE,
        handle.wait_for(|s| matches!(s, Status::Stopped(_))),
    )
    .await
    .unwrap();
    let Status::Stopped(reason) = status else {
        panic!()
    };
    assert!(
        matches!(
            reason,
            StopReason::Refused {
                code: 1_000_040_350,
                ..
            }
        ),
        "{reason:?}"
    );
    assert!(
        reason.to_string().contains("stop other clients"),
        "{reason}"
    );

    // A transient refusal is retried.
    emulator.ws_refuse_handshakes(1, &WsRefusal::auth_failed_transient());
    let (dispatcher, _rx) = forwarding();
    let retried = connected(&emulator, dispatcher, WsOptions::default()).await;
    retried.shutdown().await;

    // An app the platform does not know is refused for good at discovery.
    let wrong = lark_http::Client::builder()
        .app("cli_0000000000000000", "not-the-secret")
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .build()
        .unwrap();
    let (dispatcher, _rx) = forwarding();
    let handle = WsClient::new(wrong, dispatcher).start();
    let status = tokio::time::timeout(
        PATIENCE,
        handle.wait_for(|s| matches!(s, Status::Stopped(_))),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            status,
            Status::Stopped(StopReason::Refused {
                code: 1_000_040_346,
                ..
            })
        ),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_handlers_and_acks_them() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    let counter = finished.clone();
    // Handlers hold until the gate opens, so all three are running when shutdown is asked for.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let handler_gate = gate.clone();
    let dispatcher = Dispatcher::new(handler_fn(move |_event: EventEnvelope| {
        let counter = counter.clone();
        let gate = handler_gate.clone();
        let started_tx = started_tx.clone();
        async move {
            let _ = started_tx.send(());
            let _permit = gate.acquire().await;
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }));
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    for i in 0..3 {
        emulator
            .user_says_text(&emulator.default_chat(), &tom, &format!("slow {i}"))
            .unwrap();
    }
    for _ in 0..3 {
        tokio::time::timeout(PATIENCE, started.recv())
            .await
            .expect("the handlers started")
            .unwrap();
    }
    assert_eq!(handle.in_flight(), 3);
    // Shutdown is asked for while all three hold; then they are let go.
    let mut shutdown = Box::pin(handle.shutdown());
    assert!(
        futures_util::FutureExt::now_or_never(&mut shutdown).is_none(),
        "shutdown waits for running handlers"
    );
    gate.add_permits(3);
    assert_eq!(shutdown.await, Status::Stopped(StopReason::Shutdown));
    assert_eq!(
        finished.load(Ordering::SeqCst),
        3,
        "every running handler finished"
    );
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.ws_acks().len() == 3)
            .await,
        "and was acked: {:?}",
        emulator.ws_acks()
    );
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.ws_connections().is_empty())
            .await,
        "the connection is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_never_finishes_does_not_delay_other_events() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    // The slow handler holds until the end of the test.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let handler_gate = gate.clone();
    let dispatcher = Dispatcher::new(handler_fn(move |event: EventEnvelope| {
        let tx = tx.clone();
        let gate = handler_gate.clone();
        async move {
            let Event::MessageReceived(received) = &event.event else {
                return Ok(());
            };
            let text = received.message.text().unwrap_or_default();
            let _ = tx.send(text.clone());
            if text == "slow" {
                let _permit = gate.acquire().await;
            }
            Ok(())
        }
    }));
    let handle = connected(
        &emulator,
        dispatcher,
        WsOptions::default().with_shutdown_grace(Duration::ZERO),
    )
    .await;
    let tom = emulator.user("Tom").unwrap().open_id;
    let chat = emulator.default_chat();
    emulator.user_says_text(&chat, &tom, "slow").unwrap();
    emulator.user_says_text(&chat, &tom, "fast").unwrap();
    let mut arrived = Vec::new();
    while arrived.len() < 2 {
        let text = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("both events reach their handlers while the slow one holds")
            .unwrap();
        arrived.push(text);
    }
    arrived.sort();
    assert_eq!(arrived, ["fast", "slow"]);
    // The slow one is acked within the platform's budget all the same: its ack comes while
    // its handler still holds (the gate opens only below).
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.ws_acks().len() == 2)
            .await
    );
    assert!(
        emulator.ws_acks().iter().all(|ack| ack.code == 200),
        "{:?}",
        emulator.ws_acks()
    );
    gate.add_permits(1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pong_carrying_config_is_applied() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let (dispatcher, _rx) = forwarding();
    let handle = connected(
        &emulator,
        dispatcher,
        WsOptions::default().with_watchdog(false),
    )
    .await;
    // Discovery said: reconnect for ever. A pong now says: never reconnect.
    let mut once = fast_config().ws;
    once.reconnect_count = 0;
    emulator.ws_set_config(once);
    let before = emulator.ws_pings();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.ws_pings() > before)
            .await,
        "a ping was answered with the new config"
    );
    // The emulator wrote that pong before it handles the kill, so the client reads the new
    // config before it sees the connection end.
    emulator.ws_kill_connections();
    let status = tokio::time::timeout(
        PATIENCE,
        handle.wait_for(|s| matches!(s, Status::Stopped(_))),
    )
    .await
    .expect("the client stopped");
    assert!(
        matches!(
            status,
            Status::Stopped(StopReason::GaveUp { attempts: 0, .. })
        ),
        "the pong's ReconnectCount 0 was applied: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_run_side_by_side() {
    let mut config = fast_config();
    config.apps.push(
        lark_emulator::AppConfig::new("cli_a1b2c3d4e5f60002", "second-secret")
            .subscription(lark_emulator::Subscription::LongConnection),
    );
    let emulator = Emulator::start(config).await.unwrap();
    let (first, mut first_rx) = forwarding();
    let (second, mut second_rx) = forwarding();
    let one = connected(&emulator, first, WsOptions::default()).await;
    let other_client = lark_http::Client::builder()
        .app("cli_a1b2c3d4e5f60002", "second-secret")
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .build()
        .unwrap();
    let two = WsClient::new(other_client, second).start();
    two.wait_for(|s| matches!(s, Status::Connected { .. }))
        .await;
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator
        .user_says_text(&emulator.default_chat(), &tom, "for the default app")
        .unwrap();
    let event = next_event(&mut first_rx).await;
    assert_eq!(event.header.app_id.unwrap().as_str(), emulator.app_id());
    assert!(
        second_rx.try_recv().is_err(),
        "the other app's client got nothing"
    );
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_the_client_cannot_read_is_acked_with_500() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let (dispatcher, _rx) = forwarding();
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    let ack = emulator
        .ws_push_raw(&emulator.app_id(), b"this is not an event")
        .await
        .expect("acknowledged");
    assert_eq!(ack.code, 500, "so the platform pushes it again");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_or_failing_discovery_is_retried_until_it_answers() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    emulator.inject(
        lark_emulator::FaultRule::next(
            1,
            lark_emulator::Fault::Answer {
                status: 200,
                code: 1_000_040_345,
                msg: "system busy".to_owned(),
            },
        )
        .on_path("/callback/ws/endpoint"),
    );
    emulator.inject(
        lark_emulator::FaultRule::script([false, true], lark_emulator::Fault::server_error(503))
            .on_path("/callback/ws/endpoint"),
    );
    let (dispatcher, _rx) = forwarding();
    // No discovery has answered yet, so the client cannot know the emulator's short waits.
    let options = WsOptions::default().with_initial_reconnect(Duration::ZERO, Duration::ZERO);
    let handle = connected(&emulator, dispatcher, options).await;
    let discoveries: Vec<u16> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == "/callback/ws/endpoint")
        .map(|r| r.status)
        .collect();
    assert_eq!(
        discoveries,
        [200, 503, 200],
        "busy, then a 5xx, then the url: each failure retried"
    );
    handle.shutdown().await;
}

/// A CONNECT proxy on loopback that records where each tunnel went.
async fn connect_proxy() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut line = String::new();
                if client.read_line(&mut line).await.is_err() {
                    return;
                }
                let target = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                loop {
                    let mut header = String::new();
                    if client.read_line(&mut header).await.unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                record.lock().unwrap().push(target.clone());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target.as_str()).await else {
                    return;
                };
                let mut client = client.into_inner();
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_long_connection_dials_through_the_configured_proxy() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let (proxy, tunnels) = connect_proxy().await;
    let client = lark_http::Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .proxy(proxy.parse().unwrap())
        .build()
        .unwrap();
    let (dispatcher, mut rx) = forwarding();
    let handle = WsClient::new(client, dispatcher).start();
    let status = tokio::time::timeout(
        PATIENCE,
        handle.wait_for(|s| matches!(s, Status::Connected { .. } | Status::Stopped(_))),
    )
    .await
    .unwrap();
    assert!(matches!(status, Status::Connected { .. }), "{status:?}");
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator
        .user_says_text(&emulator.default_chat(), &tom, "through the proxy")
        .unwrap();
    let event = next_event(&mut rx).await;
    assert!(matches!(event.event, Event::MessageReceived(_)));
    let emulator_host = emulator.addr().to_string();
    let tunnels = tunnels.lock().unwrap().clone();
    assert!(
        tunnels.len() >= 2 && tunnels.iter().all(|t| *t == emulator_host),
        "discovery and the WebSocket dial both went through the proxy: {tunnels:?}"
    );
    handle.shutdown().await;
}

/// A discovery carrying values no `Duration` arithmetic survives is clamped (to 10 minutes at
/// most), and the client keeps serving; before, its task panicked and the handle went on saying
/// `Connected`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_values_at_discovery_are_clamped_and_the_client_keeps_serving() {
    let mut config = fast_config();
    config.ws.ping_interval_secs = u64::MAX;
    config.ws.reconnect_interval_secs = u64::MAX;
    config.ws.reconnect_nonce_secs = u64::MAX;
    let emulator = Emulator::start(config).await.unwrap();
    let (dispatcher, mut rx) = forwarding();
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    still_serving(&emulator, &mut rx, handle).await;
}

/// The same in a pong: the client applies the clamped interval and carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_ping_interval_in_a_pong_is_clamped_and_the_client_keeps_serving() {
    let emulator = Emulator::start(fast_config()).await.unwrap();
    let (dispatcher, mut rx) = forwarding();
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;
    let mut huge = fast_config().ws;
    huge.ping_interval_secs = u64::MAX;
    emulator.ws_set_config(huge);
    // The next ping (within a second) is answered with a pong carrying the huge value; the
    // pong goes out before anything pushed after it.
    let pings = emulator.ws_pings();
    assert!(
        emulator
            .wait_until(PATIENCE, |e| e.ws_pings() > pings)
            .await
    );
    still_serving(&emulator, &mut rx, handle).await;
}

/// A message sent now arrives, the handle still says `Connected`, and the client shuts down.
async fn still_serving(
    emulator: &Emulator,
    rx: &mut mpsc::UnboundedReceiver<EventEnvelope>,
    handle: WsHandle,
) {
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator
        .user_says_text(&emulator.default_chat(), &tom, "still here")
        .unwrap();
    assert_eq!(
        next_event(rx).await.header.event_type,
        "im.message.receive_v1"
    );
    assert!(matches!(handle.status(), Status::Connected { .. }));
    handle.shutdown().await;
}
