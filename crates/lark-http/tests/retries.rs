//! Retries against injected faults: what is retried, what is not, and that no message is ever
//! lost or doubled.

mod common;

use common::{Setup, base_url, client_for, quick_retries};
use futures_util::StreamExt;
use lark_api::Receiver;
use lark_api::im::chats::ListChats;
use lark_api::im::messages::{EditMessage, SendMessage};
use lark_content::{ChatId, MessageContent};
use lark_emulator::{Fault, FaultRule};
use lark_http::{Client, Error, ErrorKind, RetryPolicy};
use std::collections::HashMap;
use std::time::Duration;

const SENDS: &str = "/open-apis/im/v1/messages";

fn send(chat: &ChatId, text: impl Into<String>) -> SendMessage {
    SendMessage::new(
        Receiver::chat(chat.clone()),
        MessageContent::text(text.into()),
    )
}

/// 2,000 sends, 32 at a time, while one request in ten to the send endpoint fails: server
/// errors, connections dropped before and after the message is stored, and rate limits with a
/// reset header. Eight attempts make the chance that any of the 2,000 runs out of budget about
/// 2,000 × 0.1⁸ = 2·10⁻⁵.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_sends_through_ten_percent_faults_arrive_exactly_once() {
    let setup = Setup::new().await;
    let emulator = &setup.emulator;
    let client = client_for(emulator, quick_retries().with_max_attempts(8));
    let chat = setup.chat();
    for fault in [
        Fault::server_error(500),
        Fault::server_error(503),
        Fault::DropBeforeProcessing,
        Fault::DropAfterProcessing,
        Fault::RateLimit {
            reset_secs: 1,
            limit: 50,
        },
    ] {
        emulator.inject(
            FaultRule::probability(0.02, fault)
                .on_path(SENDS)
                .on_method("POST"),
        );
    }

    let uuids: Vec<String> = (0..2000).map(|_| lark_http::new_uuid()).collect();
    let results: Vec<Result<(), Error>> = futures_util::stream::iter(uuids.iter().enumerate())
        .map(|(i, uuid)| {
            let client = client.clone();
            let request = send(&chat, format!("message {i}")).uuid(uuid.clone());
            async move { client.execute(request).await.map(|_| ()) }
        })
        .buffer_unordered(32)
        .collect()
        .await;

    let errors: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "{} callers saw an error: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    for uuid in &uuids {
        assert_eq!(emulator.messages_with_uuid(uuid), 1, "uuid {uuid}");
    }
    let mut texts: HashMap<String, usize> = HashMap::new();
    for text in setup.texts_in(&chat) {
        *texts.entry(text).or_default() += 1;
    }
    assert_eq!(texts.len(), 2000);
    assert!(texts.values().all(|count| *count == 1));

    let fired: HashMap<String, u64> = emulator
        .fault_rules()
        .iter()
        .map(|rule| (format!("{:?}", rule.fault), rule.fired))
        .collect();
    let total_fired: u64 = fired.values().sum();
    let attempts: u64 = uuids.iter().map(|uuid| emulator.uuid_attempts(uuid)).sum();
    eprintln!(
        "faults fired: {fired:?}; {total_fired} in all; {attempts} send attempts for 2000 messages"
    );
    assert!(
        fired.values().all(|count| *count > 0),
        "every kind of fault was exercised: {fired:?}"
    );
    assert!(
        total_fired >= 100,
        "about one request in ten failed: {total_fired}"
    );
    assert!(attempts > 2000, "retries reused the uuid");
}

#[tokio::test]
async fn a_send_without_a_uuid_gets_one_so_a_dropped_answer_cannot_double_it() {
    let setup = Setup::new().await;
    let chat = setup.chat();
    setup.emulator.inject(
        FaultRule::next(1, Fault::DropAfterProcessing)
            .on_path(SENDS)
            .on_method("POST"),
    );
    let sent = setup.client.execute(send(&chat, "once")).await.unwrap();
    assert_eq!(setup.texts_in(&chat), ["once"]);
    let posts: Vec<_> = setup
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == SENDS)
        .collect();
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [0, 200],
        "the dropped attempt and its retry"
    );
    assert!(sent.message_id.as_str().starts_with("om_"));
}

#[tokio::test]
async fn a_write_without_a_uuid_is_not_retried_after_a_server_error() {
    let setup = Setup::new().await;
    let sent = setup
        .client
        .execute(send(&setup.chat(), "draft"))
        .await
        .unwrap();
    setup
        .emulator
        .inject(FaultRule::next(1, Fault::server_error(500)).on_method("PUT"));
    let err = setup
        .client
        .execute(EditMessage::new(
            sent.message_id.clone(),
            MessageContent::text("final"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server, "{err}");
    assert!(err.log_id().is_some());
    let puts = setup
        .emulator
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(
        puts, 1,
        "an edit may have taken effect: never repeated after a 5xx"
    );

    // A rate limit refuses before anything happens: that is repeated even for an edit.
    setup.emulator.inject(
        FaultRule::next(
            1,
            Fault::RateLimit {
                reset_secs: 0,
                limit: 5,
            },
        )
        .on_method("PUT"),
    );
    setup
        .client
        .execute(EditMessage::new(
            sent.message_id,
            MessageContent::text("final"),
        ))
        .await
        .unwrap();
    let puts: Vec<_> = setup
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [500, 429, 200]);
}

#[tokio::test]
async fn reads_are_retried_through_server_errors_and_rate_limits() {
    let setup = Setup::new().await;
    setup.client.tenant_token().await.unwrap();
    setup.emulator.inject(
        FaultRule::script([true, false, false], Fault::server_error(502))
            .on_path("/open-apis/im/v1/chats"),
    );
    setup.emulator.inject(
        FaultRule::script(
            [false, true, false],
            Fault::RateLimit {
                reset_secs: 1,
                limit: 10,
            },
        )
        .on_path("/open-apis/im/v1/chats"),
    );
    setup.client.execute(ListChats::new()).await.unwrap();
    let statuses: Vec<_> = setup
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/open-apis/im/v1/chats")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [502, 429, 200]);
}

#[tokio::test]
async fn the_retry_budget_ends_with_the_last_answer() {
    let setup = Setup::new().await;
    let client = client_for(&setup.emulator, quick_retries().with_max_attempts(3));
    client.tenant_token().await.unwrap();
    setup
        .emulator
        .inject(FaultRule::next(10, Fault::server_error(503)).on_path("/open-apis/im/v1/chats"));
    let err = client.execute(ListChats::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(matches!(err, Error::Api { attempts: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test]
async fn other_errors_return_at_once_with_code_message_and_log_id() {
    let setup = Setup::new().await;
    let err = setup
        .client
        .execute(send(
            &ChatId::new("oc_00000000000000000000000000000000"),
            "nobody home",
        ))
        .await
        .unwrap_err();
    let api = err.as_api().expect("the platform's error");
    assert_eq!(api.code, 230_034, "{err}");
    assert!(!api.msg.is_empty());
    let log_id = err.log_id().unwrap().to_owned();
    assert!(err.to_string().contains(&log_id));
    let posts = setup
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path == SENDS)
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_a_read_is_retried() {
    let setup = Setup::new().await;
    let client = Client::builder()
        .app(setup.emulator.app_id(), setup.emulator.app_secret())
        .base_url(base_url(&setup.emulator))
        .retry(quick_retries().with_max_attempts(2))
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    client.tenant_token().await.unwrap();
    // An answer that never comes in the test's lifetime: the first attempt can only time out.
    setup.emulator.inject(
        FaultRule::next(1, Fault::Delay { millis: 3_600_000 }).on_path("/open-apis/im/v1/chats"),
    );
    client.execute(ListChats::new()).await.unwrap();

    setup.emulator.inject(
        FaultRule::next(2, Fault::Delay { millis: 3_600_000 }).on_path("/open-apis/im/v1/chats"),
    );
    let err = client.execute(ListChats::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }));
}

#[tokio::test]
async fn an_unreachable_platform_is_a_transport_error_after_the_budget() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::builder()
        .app("cli_9f5343c580712544", "secret")
        .base_url(lark_api::BaseUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap())
        .retry(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = client.execute(ListChats::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.to_string().contains("after 3 attempt"), "{err}");
    assert!(!err.to_string().contains("secret"));
}
