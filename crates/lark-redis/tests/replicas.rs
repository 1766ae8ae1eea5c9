//! Several replicas against one real redis-server and one emulator. Each test starts its own
//! redis-server on a free loopback port (it must be installed: `cargo xtask ci` installs it).
//!
//! `cargo test -p lark-redis --features integration -- --nocapture`

#![cfg(feature = "integration")]

use lark_api::im::chats::ListChats;
use lark_api::{AppTicket, BaseUrl};
use lark_content::TenantKey;
use lark_emulator::{AppConfig, Emulator, EmulatorConfig};
use lark_events::{
    DedupStore, Dispatched, Dispatcher, EventConfig, HandlerError, Incoming, MemoryDedup,
    handler_fn, receive,
};
use lark_http::RateLimiter;
use lark_http::{Client, ErrorKind, Quotas, RetryPolicy};
use lark_redis::{
    DedupFailure, Redis, RedisDedupStore, RedisHealth, RedisOptions, RedisRateLimiter,
    RedisTicketStore, RedisTokenStore,
};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self { child: None, port };
        server.restart();
        server
    }

    fn restart(&mut self) {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(&binary)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("{binary} could not start ({err}); install it: apt-get install redis-server")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A new handle, as a separate replica process would open it.
    fn handle(&self) -> Redis {
        Redis::with_options(
            &self.url(),
            RedisOptions::default()
                .with_timeouts(Duration::from_millis(300), Duration::from_secs(1)),
        )
        .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn replica(emulator: &Emulator, redis: &Redis) -> Client {
    Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .retry(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
        .token_store(Arc::new(RedisTokenStore::new(redis.clone())))
        .ticket_store(Arc::new(RedisTicketStore::new(redis.clone())))
        // Latency is measured here, not the platform's quotas.
        .quotas(Quotas::off())
        .build()
        .unwrap()
}

/// The documented `im.message.receive_v1` delivery, with a fresh event id.
fn delivery(event_id: &str) -> Incoming {
    let fixtures: serde_json::Value = serde_json::from_str(include_str!(
        "../../lark-events/tests/fixtures/documented.json"
    ))
    .unwrap();
    let mut payload = fixtures["receive_v1"]["payload"].clone();
    payload["header"]["event_id"] = serde_json::Value::from(event_id);
    payload["event"]["message"]["message_id"] = serde_json::Value::from(format!("om_{event_id}"));
    receive(
        &EventConfig::new(),
        &http::HeaderMap::new(),
        payload.to_string().as_bytes(),
        SystemTime::now(),
    )
    .unwrap()
}

fn counting_dispatcher(
    store: Arc<dyn DedupStore>,
    count: Arc<AtomicUsize>,
    fail_first: bool,
) -> Dispatcher {
    Dispatcher::new(handler_fn(move |_event| {
        let count = count.clone();
        async move {
            let seen = count.fetch_add(1, Ordering::SeqCst);
            if fail_first && seen == 0 {
                return Err::<(), HandlerError>("the handler's database is down".into());
            }
            Ok(())
        }
    }))
    .with_dedup(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_by_sixteen_concurrent_first_calls_fetch_one_token() {
    let server = RedisServer::start();
    let emulator = Emulator::start_default().await.unwrap();
    let replicas: Vec<Client> = (0..4)
        .map(|_| replica(&emulator, &server.handle()))
        .collect();
    let calls = replicas
        .iter()
        .flat_map(|client| (0..16).map(move |_| client.execute(ListChats::new())));
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(
        emulator.token_fetches(&emulator.app_id()),
        1,
        "64 first calls on 4 replicas, one fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_fetched_again_once_across_replicas() {
    let server = RedisServer::start();
    let emulator = Emulator::start_default().await.unwrap();
    let replicas: Vec<Client> = (0..4)
        .map(|_| replica(&emulator, &server.handle()))
        .collect();
    for client in &replicas {
        client.execute(ListChats::new()).await.unwrap();
    }
    assert_eq!(emulator.token_fetches(&emulator.app_id()), 1);
    emulator.revoke_tokens(&emulator.app_id());
    let calls = replicas
        .iter()
        .flat_map(|client| (0..8).map(move |_| client.execute(ListChats::new())));
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(
        emulator.token_fetches(&emulator.app_id()),
        2,
        "the refused token is replaced once for everyone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_at_three_replicas_is_handled_once_and_a_failure_releases_it() {
    let server = RedisServer::start();
    let handled = Arc::new(AtomicUsize::new(0));
    let replicas: Vec<Dispatcher> = (0..3)
        .map(|_| {
            counting_dispatcher(
                Arc::new(RedisDedupStore::new(server.handle())),
                handled.clone(),
                false,
            )
        })
        .collect();
    let incoming = delivery("5e3702a84e847582be8db7fb73283c02");
    let outcomes =
        futures_util::future::join_all(replicas.iter().map(|r| r.dispatch(incoming.clone()))).await;
    assert_eq!(handled.load(Ordering::SeqCst), 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Dispatched::Duplicate)
            .count(),
        2
    );

    // A handler that fails releases the keys: the platform's redelivery, at another replica,
    // is handled.
    let attempts = Arc::new(AtomicUsize::new(0));
    let failing: Vec<Dispatcher> = (0..2)
        .map(|_| {
            counting_dispatcher(
                Arc::new(RedisDedupStore::new(server.handle())),
                attempts.clone(),
                true,
            )
        })
        .collect();
    let incoming = delivery("6f4813b95f958693cf9ec8fc84394d13");
    assert!(matches!(
        failing[0].dispatch(incoming.clone()).await,
        Dispatched::Failed(_)
    ));
    assert_eq!(
        failing[1].dispatch(incoming.clone()).await,
        Dispatched::Acknowledged
    );
    assert_eq!(failing[0].dispatch(incoming).await, Dispatched::Duplicate);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_ticket_pushed_to_one_replica_is_used_by_another() {
    let server = RedisServer::start();
    let mut config = EmulatorConfig::default();
    let mut isv = AppConfig::new("cli_a5fb0ae6a4000001", "isv-secret");
    isv.marketplace = true;
    isv.tenant_key = "2df73991750abcde".to_owned();
    config.apps.push(isv);
    let emulator = Emulator::start(config).await.unwrap();
    let marketplace_replica = || {
        let redis = server.handle();
        Client::builder()
            .app("cli_a5fb0ae6a4000001", "isv-secret")
            .marketplace(TenantKey::new("2df73991750abcde"))
            .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
            .token_store(Arc::new(RedisTokenStore::new(redis.clone())))
            .ticket_store(Arc::new(RedisTicketStore::new(redis)))
            .build()
            .unwrap()
    };
    let (a, b) = (marketplace_replica(), marketplace_replica());
    assert_eq!(
        b.tenant_token().await.unwrap_err().kind(),
        ErrorKind::NotReady,
        "no ticket yet"
    );
    assert!(
        emulator
            .wait_until(Duration::from_secs(60), |e| !e.emitted_events().is_empty())
            .await
    );
    let pushed = emulator.emitted_events().pop().unwrap();
    // The platform pushed the ticket to replica A's webhook.
    a.set_app_ticket(AppTicket::new(
        pushed.payload["event"]["app_ticket"].as_str().unwrap(),
    ))
    .await
    .unwrap();
    let token = b.tenant_token().await.unwrap();
    assert!(token.expose().starts_with("t-"));
    assert_eq!(
        a.tenant_token().await.unwrap(),
        token,
        "A takes B's token from Redis"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_each_store_follows_its_policy_and_recovers_when_it_returns() {
    let mut server = RedisServer::start();
    let emulator = Emulator::start_default().await.unwrap();
    let app = emulator.app_id();
    let warm = replica(&emulator, &server.handle());
    warm.execute(ListChats::new()).await.unwrap();
    let open_count = Arc::new(AtomicUsize::new(0));
    let closed_count = Arc::new(AtomicUsize::new(0));
    let (open_redis, closed_redis, tickets_redis) =
        (server.handle(), server.handle(), server.handle());
    let open = counting_dispatcher(
        Arc::new(RedisDedupStore::new(open_redis.clone())),
        open_count.clone(),
        false,
    );
    let closed = counting_dispatcher(
        Arc::new(RedisDedupStore::with_failure_policy(
            closed_redis.clone(),
            DedupFailure::Closed,
        )),
        closed_count.clone(),
        false,
    );
    let tickets = RedisTicketStore::new(tickets_redis.clone());

    server.stop();
    // Tokens: the process cache serves; a new replica fetches a token of its own.
    warm.execute(ListChats::new()).await.unwrap();
    let cold = replica(&emulator, &server.handle());
    cold.execute(ListChats::new()).await.unwrap();
    assert_eq!(emulator.token_fetches(&app), 2);
    // Dedup: open deduplicates in memory; closed refuses, for the platform to retry.
    let during = delivery("7a5924ca6a069704d0a0d9fd95405e24");
    assert_eq!(
        open.dispatch(during.clone()).await,
        Dispatched::Acknowledged
    );
    assert_eq!(
        open.dispatch(during.clone()).await,
        Dispatched::Duplicate,
        "still deduplicated, in memory"
    );
    assert!(
        matches!(closed.dispatch(during).await, Dispatched::Failed(reason) if reason.contains("redis at redis://127.0.0.1"))
    );
    assert_eq!(closed_count.load(Ordering::SeqCst), 0);
    // Tickets: kept in this process.
    let app_id = lark_content::AppId::new("cli_a5fb0ae6a4000001");
    lark_http::TicketStore::put(&tickets, &app_id, &AppTicket::new("ticket-during-outage"))
        .await
        .unwrap();
    let kept = lark_http::TicketStore::get(&tickets, &app_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.expose(), "ticket-during-outage");

    server.restart();
    // Everything is shared again, with no restart of the replicas: once the breakers' cooldown
    // has passed, or at once after a probe.
    for redis in [&open_redis, &closed_redis, &tickets_redis] {
        redis.probe().await.unwrap();
        assert_eq!(redis.health(), RedisHealth::Available);
    }
    let after = delivery("8b6a35db7b17a815e1b1eafea6516f35");
    assert_eq!(
        closed.dispatch(after.clone()).await,
        Dispatched::Acknowledged
    );
    assert_eq!(
        open.dispatch(after).await,
        Dispatched::Duplicate,
        "the closed replica's mark is in Redis"
    );
    let fresh = replica(&emulator, &server.handle());
    fresh.execute(ListChats::new()).await.unwrap();
    let another = replica(&emulator, &server.handle());
    another.execute(ListChats::new()).await.unwrap();
    assert_eq!(
        emulator.token_fetches(&app),
        3,
        "one fetch after the restart, shared by both new replicas"
    );
    assert_eq!(open_count.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_a_handler_starts_in_under_a_second() {
    let mut server = RedisServer::start();
    // The default options: the budget must hold as shipped.
    let redis = Redis::open(&server.url()).unwrap();
    let started = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let seen = started.clone();
    let dispatcher = Dispatcher::new(handler_fn(move |_event| {
        seen.lock().unwrap().push(Instant::now());
        async { Ok::<(), HandlerError>(()) }
    }))
    .with_dedup(Arc::new(RedisDedupStore::new(redis.clone())));
    let first = delivery("1c0d5a7e2b3f4a6c8d9e0f1a2b3c4d5e");
    assert_eq!(dispatcher.dispatch(first).await, Dispatched::Acknowledged);
    assert_eq!(redis.health(), RedisHealth::Available);

    server.stop();
    for (n, event_id) in [
        "2d1e6b8f3c4a5b7d9e0f1a2b3c4d5e6f",
        "3e2f7c9a4d5b6c8e0f1a2b3c4d5e6f70",
        "4f3a8d0b5e6c7d9f1a2b3c4d5e6f7081",
    ]
    .into_iter()
    .enumerate()
    {
        let asked = Instant::now();
        assert_eq!(
            dispatcher.dispatch(delivery(event_id)).await,
            Dispatched::Acknowledged
        );
        let began = *started.lock().unwrap().last().unwrap();
        let waited = began.duration_since(asked);
        assert!(
            waited < Duration::from_secs(1),
            "event {n} with Redis stopped: the handler started after {waited:?}"
        );
        assert!(
            matches!(redis.health(), RedisHealth::Skipping { .. }),
            "the breaker is open"
        );
    }

    server.restart();
    redis.probe().await.unwrap();
    let shared = Dispatcher::new(handler_fn(|_event| async { Ok::<(), HandlerError>(()) }))
        .with_dedup(Arc::new(RedisDedupStore::new(server.handle())));
    let after = delivery("5a4b9e1c6f7d8e0a2b3c4d5e6f708192");
    assert_eq!(
        dispatcher.dispatch(after.clone()).await,
        Dispatched::Acknowledged
    );
    assert_eq!(
        shared.dispatch(after).await,
        Dispatched::Duplicate,
        "marks go to Redis again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_quota_window() {
    let server = RedisServer::start();
    let (a, b) = (
        RedisRateLimiter::new(server.handle()),
        RedisRateLimiter::new(server.handle()),
    );
    let window = Duration::from_millis(600);
    let started = Instant::now();
    // Five calls fit the window, whichever replica makes them.
    for n in 0..5 {
        let replica = if n % 2 == 0 { &a } else { &b };
        replica.acquire("receiver:chat_id:oc_1", 5, window).await;
    }
    let fifth = started.elapsed();
    // The sixth, on either replica, waits until the first leaves the window. The bound is a
    // lower one only: a loaded machine makes the wait longer, never shorter.
    b.acquire("receiver:chat_id:oc_1", 5, window).await;
    assert!(
        started.elapsed() >= window.saturating_sub(Duration::from_millis(20)),
        "the sixth went out {:?} after the first; the first five took {fifth:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_latency_against_the_process_cache() {
    let server = RedisServer::start();
    let emulator = Emulator::start_default().await.unwrap();
    let memory = MemoryDedup::default();
    let redis_dedup = RedisDedupStore::new(server.handle());
    let per_op = |start: Instant, n: u32| start.elapsed() / n;
    let (mut memory_rounds, mut redis_rounds) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let start = Instant::now();
        for i in 0..500 {
            assert!(
                memory
                    .mark_if_new(&format!("m{round}:{i}"), Duration::from_secs(60))
                    .await
                    .unwrap()
            );
        }
        memory_rounds.push(per_op(start, 500));
        let start = Instant::now();
        for i in 0..500 {
            assert!(
                redis_dedup
                    .mark_if_new(&format!("r{round}:{i}"), Duration::from_secs(60))
                    .await
                    .unwrap()
            );
        }
        redis_rounds.push(per_op(start, 500));
    }
    memory_rounds.sort();
    redis_rounds.sort();

    let local = Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .quotas(Quotas::off())
        .build()
        .unwrap();
    let shared = replica(&emulator, &server.handle());
    let (mut local_calls, mut shared_calls) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..100 {
            local.execute(ListChats::new()).await.unwrap();
        }
        local_calls.push(per_op(start, 100));
        let start = Instant::now();
        for _ in 0..100 {
            shared.execute(ListChats::new()).await.unwrap();
        }
        shared_calls.push(per_op(start, 100));
    }
    local_calls.sort();
    shared_calls.sort();
    eprintln!(
        "redis latency: dedup mark per key memory={:?} redis={:?}; an API call (token cached) process-cache={:?} redis-backed={:?}",
        memory_rounds[2], redis_rounds[2], local_calls[2], shared_calls[2]
    );
    assert_eq!(
        emulator.token_fetches(&emulator.app_id()),
        2,
        "one token per cache: the local client's and the shared one"
    );
}

/// Tom signs in through the code flow with PKCE; answers his pair.
async fn tom_signs_in(emulator: &Emulator, client: &Client) -> lark_http::UserTokenPair {
    use lark_api::oauth::{AccountsUrl, AuthorizationCode, Authorize, Grant, Pkce};
    let redirect_uri = "http://127.0.0.1:8400/callback";
    let pkce = Pkce::from_random([42; 32]);
    let base = BaseUrl::parse(&emulator.base_url()).unwrap();
    let url = Authorize::new(lark_content::AppId::new(emulator.app_id()), redirect_uri)
        .scopes(["offline_access"])
        .state("s")
        .pkce(&pkce)
        .url(&AccountsUrl::for_base(&base))
        .unwrap();
    let code = emulator.consent_code("Tom", &url).unwrap();
    client
        .user_tokens(Grant::AuthorizationCode {
            code: AuthorizationCode::new(code),
            redirect_uri: Some(redirect_uri.to_owned()),
            code_verifier: Some(pkce.verifier().clone()),
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_with_an_expired_user_token_refresh_it_once() {
    use lark_http::{UserKey, UserSession, UserTokenStore};
    use lark_redis::RedisUserTokenStore;
    let server = RedisServer::start();
    let emulator = Emulator::start_default().await.unwrap();
    let first = replica(&emulator, &server.handle());
    let mut pair = tom_signs_in(&emulator, &first).await;
    let spent = pair.refresh_token.clone();
    pair.expires_at = SystemTime::now() - Duration::from_secs(1);
    let key = UserKey::new(
        &BaseUrl::parse(&emulator.base_url()).unwrap(),
        &lark_content::AppId::new(emulator.app_id()),
        "tom",
    );
    RedisUserTokenStore::new(server.handle())
        .save(&key, &pair)
        .await
        .unwrap();
    emulator.advance_time(Duration::from_secs(7200));

    // Four replicas, each with its own connection, session and in-process single flight.
    let replicas: Vec<(Client, UserSession)> = (0..4)
        .map(|_| {
            let redis = server.handle();
            let store = Arc::new(RedisUserTokenStore::new(redis.clone()));
            let session = UserSession::new(key.clone(), store);
            (replica(&emulator, &redis), session)
        })
        .collect();
    let calls = replicas.iter().flat_map(|(client, session)| {
        (0..4).map(move |_| async move {
            client
                .as_user(session)
                .execute(lark_api::oauth::UserInfo)
                .await
        })
    });
    let tom = emulator.user("Tom").unwrap().open_id;
    for answer in futures_util::future::join_all(calls).await {
        assert_eq!(answer.unwrap().open_id.as_str(), tom);
    }
    assert_eq!(
        emulator.oauth_grants("refresh_token"),
        1,
        "16 calls on 4 replicas, one refresh"
    );
    let stored = RedisUserTokenStore::new(server.handle())
        .load(&key)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.refresh_token, spent, "the refresh token rotated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_a_user_token_is_not_refreshed_behind_the_other_replicas_backs() {
    use lark_http::{UserKey, UserSession, UserTokenStore};
    use lark_redis::RedisUserTokenStore;
    let mut server = RedisServer::start();
    let emulator = Emulator::start_default().await.unwrap();
    let redis = server.handle();
    let client = replica(&emulator, &redis);
    let mut pair = tom_signs_in(&emulator, &client).await;
    pair.expires_at = SystemTime::now() - Duration::from_secs(1);
    let key = UserKey::new(
        &BaseUrl::parse(&emulator.base_url()).unwrap(),
        &lark_content::AppId::new(emulator.app_id()),
        "tom",
    );
    let store = Arc::new(RedisUserTokenStore::new(redis.clone()));
    store.save(&key, &pair).await.unwrap();
    let session = UserSession::new(key, store);
    server.stop();
    let err = client
        .as_user(&session)
        .execute(lark_api::oauth::UserInfo)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert_eq!(emulator.oauth_grants("refresh_token"), 0);
}
