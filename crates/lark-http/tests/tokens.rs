//! The token manager against the emulator: single flight, refresh ahead of expiry, eviction and
//! replay, shared stores, and secrets kept out of Debug output and traces.

mod common;

use async_trait::async_trait;
use common::{Setup, base_url, quick_retries};
use lark_api::im::chats::ListChats;
use lark_api::im::messages::SendMessage;
use lark_api::{AccessToken, Receiver};
use lark_content::{ChatId, MessageContent};
use lark_emulator::{AppConfig, EmulatorConfig, Fault, FaultRule};
use lark_http::{CachedToken, Client, ErrorKind, TokenKey, TokenStore, TokenStoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn send(chat: &ChatId, text: impl Into<String>) -> SendMessage {
    SendMessage::new(
        Receiver::chat(chat.clone()),
        MessageContent::text(text.into()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_first_calls_fetch_one_token() {
    let setup = Setup::new().await;
    let chat = setup.chat();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = setup.client.clone();
            let request = send(&chat, format!("first {i}"));
            tokio::spawn(async move { client.execute(request).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(setup.emulator.token_fetches(&setup.emulator.app_id()), 1);
    assert_eq!(setup.texts_in(&chat).len(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_run_is_replaced_once_and_no_caller_sees_it() {
    let setup = Setup::new().await;
    let chat = setup.chat();
    let app_id = setup.emulator.app_id();
    setup.client.execute(send(&chat, "warm up")).await.unwrap();
    assert_eq!(setup.emulator.token_fetches(&app_id), 1);

    let mut tasks = Vec::new();
    for worker in 0..16 {
        let client = setup.client.clone();
        let chat = chat.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                client
                    .execute(send(&chat, format!("w{worker} m{i}")))
                    .await?;
            }
            Ok::<_, lark_http::Error>(())
        }));
    }
    // Revoke while the workers are sending.
    assert!(
        setup
            .emulator
            .wait_until(Duration::from_secs(60), |e| e.message_count() >= 60)
            .await
    );
    setup.emulator.revoke_tokens(&app_id);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        setup.emulator.token_fetches(&app_id),
        2,
        "one re-fetch for all 16 workers"
    );
    let refused = setup
        .emulator
        .requests()
        .iter()
        .filter(|r| r.code == 99_991_663)
        .count();
    assert!(refused >= 1, "the revocation was seen");
    assert_eq!(setup.texts_in(&chat).len(), 1 + 16 * 20);
}

#[tokio::test]
async fn a_token_refused_again_after_a_refresh_is_reported_not_looped() {
    let setup = Setup::new().await;
    setup
        .emulator
        .inject(FaultRule::next(2, Fault::RevokeToken).on_path("/open-apis/im/"));
    let err = setup.client.execute(ListChats::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenInvalid);
    assert!(
        matches!(
            err,
            lark_http::Error::TokenRejected {
                code: 99_991_663,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("check app_id and app_secret"),
        "{err}"
    );
    assert_eq!(setup.emulator.token_fetches(&setup.emulator.app_id()), 2);
    // The next call recovers.
    setup.client.execute(ListChats::new()).await.unwrap();
}

#[tokio::test]
async fn tokens_are_refreshed_ahead_of_expiry() {
    // Both clocks move instead of the test waiting: the client's, which decides when to
    // refresh, and the emulator's, which decides when the platform hands out a new token.
    let setup = Setup::new().await;
    let time = Arc::new(lark_http::ManualTime::starting_now());
    let client = Client::builder()
        .app(setup.emulator.app_id(), setup.emulator.app_secret())
        .base_url(base_url(&setup.emulator))
        .time_source(time.clone())
        .build()
        .unwrap();
    let first = client.tenant_token().await.unwrap();
    time.advance(Duration::from_secs(6_000));
    setup.emulator.advance_time(Duration::from_secs(6_000));
    assert_eq!(
        client.tenant_token().await.unwrap(),
        first,
        "cached while fresh: 1 h 40 min into a 2 h token, with a 5 min margin"
    );
    assert_eq!(setup.emulator.token_fetches(&setup.emulator.app_id()), 1);
    // 1 h 56 min in: inside the margin, so the client asks again, and with less than 30 min
    // left the platform answers with a new token.
    time.advance(Duration::from_secs(960));
    setup.emulator.advance_time(Duration::from_secs(960));
    let second = client.tenant_token().await.unwrap();
    assert_ne!(second, first);
    assert_eq!(setup.emulator.token_fetches(&setup.emulator.app_id()), 2);
    client.execute(ListChats::new()).await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_fails_with_the_platforms_code_and_a_hint() {
    let setup = Setup::new().await;
    let client = Client::builder()
        .app(setup.emulator.app_id(), "wrong-secret")
        .base_url(base_url(&setup.emulator))
        .build()
        .unwrap();
    let err = client.execute(ListChats::new()).await.unwrap_err();
    assert_eq!(err.code(), Some(10_015), "{err}");
    assert!(err.log_id().is_some());
    assert!(!err.to_string().contains("wrong-secret"));
    assert!(!format!("{err:?}").contains("wrong-secret"));
}

/// A token store shared by several clients, as replicas would share Redis.
#[derive(Default)]
struct SharedMap {
    tokens: Mutex<HashMap<String, CachedToken>>,
    puts: Mutex<u32>,
}

#[async_trait]
impl TokenStore for SharedMap {
    async fn get(&self, key: &TokenKey) -> Result<Option<CachedToken>, TokenStoreError> {
        Ok(self
            .tokens
            .lock()
            .unwrap()
            .get(&key.to_key_string())
            .cloned())
    }

    async fn put(&self, key: &TokenKey, token: &CachedToken) -> Result<(), TokenStoreError> {
        *self.puts.lock().unwrap() += 1;
        self.tokens
            .lock()
            .unwrap()
            .insert(key.to_key_string(), token.clone());
        Ok(())
    }

    async fn evict(&self, key: &TokenKey, token: &AccessToken) -> Result<(), TokenStoreError> {
        let mut tokens = self.tokens.lock().unwrap();
        if tokens
            .get(&key.to_key_string())
            .is_some_and(|cached| &cached.token == token)
        {
            tokens.remove(&key.to_key_string());
        }
        Ok(())
    }
}

#[tokio::test]
async fn replicas_share_tokens_through_a_store_but_never_across_apps_or_secrets() {
    let mut config = EmulatorConfig::default();
    config
        .apps
        .push(AppConfig::new("cli_a1b2c3d4e5f60002", "second-secret"));
    let setup = Setup::with(config).await;
    let store = Arc::new(SharedMap::default());
    let replica = |app: &str, secret: &str| {
        Client::builder()
            .app(app, secret)
            .base_url(base_url(&setup.emulator))
            .retry(quick_retries())
            .token_store(store.clone())
            .build()
            .unwrap()
    };
    let app_id = setup.emulator.app_id();
    let a = replica(&app_id, &setup.emulator.app_secret());
    let b = replica(&app_id, &setup.emulator.app_secret());
    a.execute(ListChats::new()).await.unwrap();
    b.execute(ListChats::new()).await.unwrap();
    assert_eq!(
        setup.emulator.token_fetches(&app_id),
        1,
        "the second replica took the shared token"
    );

    let wrong = replica(&app_id, "a-wrong-secret");
    assert_eq!(
        wrong.execute(ListChats::new()).await.unwrap_err().code(),
        Some(10_015),
        "no token for a wrong secret"
    );
    let other = replica("cli_a1b2c3d4e5f60002", "second-secret");
    let other_token = other.tenant_token().await.unwrap();
    assert_ne!(other_token, a.tenant_token().await.unwrap());
    assert_eq!(setup.emulator.token_fetches("cli_a1b2c3d4e5f60002"), 1);

    // A token one replica finds refused is evicted from the store for all.
    setup.emulator.revoke_tokens(&app_id);
    a.execute(ListChats::new()).await.unwrap();
    b.execute(ListChats::new()).await.unwrap();
    assert_eq!(setup.emulator.token_fetches(&app_id), 2);
}

/// A shared store that cannot forget: its evictions always fail.
struct StubbornStore(SharedMap);

#[async_trait]
impl TokenStore for StubbornStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<CachedToken>, TokenStoreError> {
        self.0.get(key).await
    }

    async fn put(&self, key: &TokenKey, token: &CachedToken) -> Result<(), TokenStoreError> {
        self.0.put(key, token).await
    }

    async fn evict(&self, _key: &TokenKey, _token: &AccessToken) -> Result<(), TokenStoreError> {
        Err(TokenStoreError::msg("the store is read-only right now"))
    }
}

#[tokio::test]
async fn a_refused_token_the_store_cannot_forget_is_never_used_again() {
    let setup = Setup::new().await;
    let client = Client::builder()
        .app(setup.emulator.app_id(), setup.emulator.app_secret())
        .base_url(base_url(&setup.emulator))
        .token_store(Arc::new(StubbornStore(SharedMap::default())))
        .build()
        .unwrap();
    client.execute(ListChats::new()).await.unwrap();
    setup.emulator.revoke_tokens(&setup.emulator.app_id());
    client.execute(ListChats::new()).await.unwrap();
    client.execute(ListChats::new()).await.unwrap();
    assert_eq!(setup.emulator.token_fetches(&setup.emulator.app_id()), 2);
}

#[tokio::test]
async fn user_tokens_pass_through_untouched() {
    let setup = Setup::new().await;
    let token = setup.client.tenant_token().await.unwrap();
    let as_user = setup.client.as_user(AccessToken::new(token.expose()));
    as_user.execute(ListChats::new()).await.unwrap();
    let stranger = setup.client.as_user(AccessToken::new("u-not-a-real-token"));
    let err = stranger.execute(ListChats::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenInvalid, "{err}");
    assert_eq!(
        setup.emulator.token_fetches(&setup.emulator.app_id()),
        1,
        "a user token is never refreshed"
    );
}

#[tokio::test]
async fn debug_output_never_shows_a_secret_or_a_token() {
    let setup = Setup::new().await;
    let secret = setup.emulator.app_secret();
    let token = setup.client.tenant_token().await.unwrap();
    let builder = Client::builder().app("cli_x", secret.as_str());
    let user = setup
        .client
        .as_user(AccessToken::new("u-secret-user-token"));
    let cached = CachedToken::new(
        token.clone(),
        std::time::SystemTime::now(),
        Duration::from_secs(60),
        Duration::ZERO,
    );
    let outputs = [
        format!("{:?}", setup.client),
        format!("{:#?}", setup.client),
        format!("{builder:?}"),
        format!("{user:?}"),
        format!("{token:?}"),
        format!("{cached:?}"),
    ];
    for output in &outputs {
        assert!(!output.contains(&secret), "{output}");
        assert!(!output.contains(token.expose()), "{output}");
        assert!(!output.contains("u-secret-user-token"), "{output}");
    }
    assert!(
        outputs[0].contains("cli_9f5343c580712544"),
        "the app id is shown: {}",
        outputs[0]
    );
}

#[test]
fn the_client_and_its_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    fn send_future<F: std::future::Future + Send>(_: &F) {}
    send_sync::<Client>();
    send_sync::<lark_http::ClientBuilder>();
    send_sync::<lark_http::Error>();
    send::<lark_http::DownloadStream>();
    let client = Client::builder().app("cli_x", "secret").build().unwrap();
    send_future(&client.execute(ListChats::new()));
    send_future(&client.upload_file("/nonexistent", None));
    send_future(&client.tenant_token());
}
