//! Acting as a user against the emulator: the code flow with PKCE, refresh before expiry and
//! on 99991677, rotation, a revoked sign-in, and four processes sharing one token file that
//! refresh once between them.

mod common;

use common::{Setup, base_url, quick_retries};
use lark_api::BaseUrl;
use lark_api::oauth::{AccountsUrl, AuthorizationCode, Authorize, Grant, Pkce, UserInfo};
use lark_content::AppId;
use lark_emulator::Emulator;
use lark_http::{
    Client, ErrorKind, FileUserTokenStore, ManualTime, MemoryUserTokenStore, Quotas, UserKey,
    UserSession, UserTokenPair, UserTokenStore,
};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const REDIRECT: &str = "http://127.0.0.1:8400/callback";

fn client_with_time(emulator: &Emulator, time: Arc<ManualTime>) -> Client {
    Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(base_url(emulator))
        .retry(quick_retries())
        .quotas(Quotas::off())
        .time_source(time)
        .build()
        .unwrap()
}

/// Tom signs in through the code flow: the authorize url with PKCE and state, his consent,
/// and the code traded with the verifier.
async fn sign_in(emulator: &Emulator, client: &Client) -> UserTokenPair {
    let pkce = Pkce::from_random(rand_bytes());
    let url = Authorize::new(AppId::new(emulator.app_id()), REDIRECT)
        .scopes(["im:message", "offline_access"])
        .state("state-1")
        .pkce(&pkce)
        .url(&AccountsUrl::for_base(&base_url(emulator)))
        .unwrap();
    let code = emulator.consent_code("Tom", &url).unwrap();
    client
        .user_tokens(Grant::AuthorizationCode {
            code: AuthorizationCode::new(code),
            redirect_uri: Some(REDIRECT.to_owned()),
            code_verifier: Some(pkce.verifier().clone()),
        })
        .await
        .unwrap()
}

fn rand_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap().wrapping_mul(37).wrapping_add(11);
    }
    bytes
}

fn key(emulator: &Emulator) -> UserKey {
    UserKey::new(
        &base_url(emulator),
        &AppId::new(emulator.app_id()),
        "default",
    )
}

#[tokio::test]
async fn a_signed_in_user_acts_and_is_refreshed_before_expiry_with_a_rotated_token() {
    let setup = Setup::new().await;
    let time = Arc::new(ManualTime::starting_now());
    let client = client_with_time(&setup.emulator, time.clone());
    let pair = sign_in(&setup.emulator, &client).await;
    assert!(pair.can_refresh(SystemTime::now()));
    let store = Arc::new(MemoryUserTokenStore::new());
    let session = UserSession::start(key(&setup.emulator), store.clone(), pair.clone())
        .await
        .unwrap();
    let tom = setup.emulator.user("Tom").unwrap().open_id;
    let as_tom = client.as_user(&session);
    assert_eq!(
        as_tom.execute(UserInfo).await.unwrap().open_id.as_str(),
        tom
    );
    assert_eq!(setup.emulator.oauth_grants("refresh_token"), 0);

    // Two hours later, on both clocks: the next call refreshes first, once for many callers.
    setup.emulator.advance_time(Duration::from_secs(7200));
    time.advance(Duration::from_secs(7200));
    let calls = (0..8).map(|_| as_tom.execute(UserInfo));
    for answer in futures_util::future::join_all(calls).await {
        assert_eq!(answer.unwrap().open_id.as_str(), tom);
    }
    assert_eq!(setup.emulator.oauth_grants("refresh_token"), 1);
    let stored = store.load(&key(&setup.emulator)).await.unwrap().unwrap();
    assert_ne!(stored.access_token, pair.access_token);
    assert_ne!(
        stored.refresh_token, pair.refresh_token,
        "the refresh token rotated"
    );

    // And again: the second refresh spends the new refresh token (the emulator refuses a
    // reused one with 20073, which would end the session).
    setup.emulator.advance_time(Duration::from_secs(7200));
    time.advance(Duration::from_secs(7200));
    as_tom.execute(UserInfo).await.unwrap();
    assert_eq!(setup.emulator.oauth_grants("refresh_token"), 2);
}

#[tokio::test]
async fn a_token_the_platform_reports_expired_is_refreshed_and_the_call_replayed() {
    let setup = Setup::new().await;
    let client = setup.client.clone();
    let pair = sign_in(&setup.emulator, &client).await;
    let session = UserSession::start(
        key(&setup.emulator),
        Arc::new(MemoryUserTokenStore::new()),
        pair,
    )
    .await
    .unwrap();
    let as_tom = client.as_user(&session);
    as_tom.execute(UserInfo).await.unwrap();
    // Only the platform's clock moves: the client believes its token fresh and learns
    // otherwise from the answer, 99991677.
    setup.emulator.advance_time(Duration::from_secs(7200));
    as_tom.execute(UserInfo).await.unwrap();
    assert_eq!(setup.emulator.oauth_grants("refresh_token"), 1);
}

#[tokio::test]
async fn a_revoked_sign_in_ends_in_sign_in_again_without_looping() {
    let setup = Setup::new().await;
    let time = Arc::new(ManualTime::starting_now());
    let client = client_with_time(&setup.emulator, time.clone());
    let pair = sign_in(&setup.emulator, &client).await;
    let store = Arc::new(MemoryUserTokenStore::new());
    let session = UserSession::start(key(&setup.emulator), store.clone(), pair.clone())
        .await
        .unwrap();
    let tom = setup.emulator.user("Tom").unwrap().open_id;
    setup
        .emulator
        .revoke_user_tokens(&setup.emulator.app_id(), &tom);
    time.advance(Duration::from_secs(7200));
    let as_tom = client.as_user(&session);
    let err = as_tom.execute(UserInfo).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignInAgain, "{err}");
    assert_eq!(err.code(), Some(20_064), "{err}");
    let text = format!("{err} {err:?}");
    for secret in [
        pair.access_token.expose(),
        pair.refresh_token.as_ref().unwrap().expose(),
    ] {
        assert!(!text.contains(secret), "{text}");
    }
    // The spent pair is gone, and the session answers at once, sending nothing.
    assert_eq!(store.load(&key(&setup.emulator)).await.unwrap(), None);
    let requests = setup.emulator.oauth_grants("refresh_token");
    let again = as_tom.execute(UserInfo).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::SignInAgain, "{again}");
    assert!(again.to_string().contains("sign in again"), "{again}");
    assert_eq!(setup.emulator.oauth_grants("refresh_token"), requests);
}

#[tokio::test]
async fn a_session_without_a_stored_pair_asks_for_a_sign_in() {
    let setup = Setup::new().await;
    let session = UserSession::new(key(&setup.emulator), Arc::new(MemoryUserTokenStore::new()));
    let err = setup
        .client
        .as_user(&session)
        .execute(UserInfo)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignInAgain, "{err}");
    assert!(err.to_string().contains("no sign-in is stored"), "{err}");
}

const CHILD_DIR: &str = "LARK_TEST_USER_TOKEN_DIR";
const CHILD_BASE: &str = "LARK_TEST_BASE_URL";
const CHILD_APP: &str = "LARK_TEST_APP_ID";
const CHILD_SECRET: &str = "LARK_TEST_APP_SECRET";

/// One of the processes of the test below: waits for the word on stdin, then acts as the user
/// whose pair is in the shared directory and prints who it acted as and its token's
/// fingerprint.
#[tokio::test]
#[ignore = "run by four_processes_with_an_expired_token_refresh_once"]
async fn user_token_child() {
    let var = |name: &str| std::env::var(name).expect("set by the parent test");
    let base = BaseUrl::parse(&var(CHILD_BASE)).unwrap();
    let client = Client::builder()
        .app(var(CHILD_APP), var(CHILD_SECRET))
        .base_url(base.clone())
        .retry(quick_retries())
        .quotas(Quotas::off())
        .build()
        .unwrap();
    let key = UserKey::new(&base, &AppId::new(var(CHILD_APP)), "default");
    let session = UserSession::new(key, Arc::new(FileUserTokenStore::new(var(CHILD_DIR))));
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let me = client.as_user(&session).execute(UserInfo).await.unwrap();
    let token = client.user_token(&session).await.unwrap();
    let fingerprint: u64 = token.expose().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    println!("acted-as={} token={fingerprint:016x}", me.open_id);
}

#[tokio::test]
async fn four_processes_with_an_expired_token_refresh_once() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let pair = sign_in(&setup.emulator, &setup.client).await;
    let mut expired = pair.clone();
    expired.expires_at = SystemTime::now() - Duration::from_secs(1);
    let store = FileUserTokenStore::new(dir.path());
    store.save(&key(&setup.emulator), &expired).await.unwrap();
    setup.emulator.advance_time(Duration::from_secs(7200));

    let mut children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "user_token_child", "--ignored", "--nocapture"])
                .env(CHILD_DIR, dir.path())
                .env(CHILD_BASE, setup.emulator.base_url())
                .env(CHILD_APP, setup.emulator.app_id())
                .env(CHILD_SECRET, setup.emulator.app_secret())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    // All four are started before any is told to go.
    for child in &mut children {
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| {
                let mut child = child;
                let reader = BufReader::new(child.stdout.take().unwrap());
                // Everything is read, so the child never writes into a closed pipe.
                let lines: Vec<String> = reader.lines().map(Result::unwrap).collect();
                let line = lines
                    .iter()
                    .find_map(|line| line.find("acted-as=").map(|at| line[at..].to_owned()))
                    .unwrap_or_else(|| format!("no answer in {lines:?}"));
                assert!(child.wait().unwrap().success(), "a child failed");
                line
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let tom = setup.emulator.user("Tom").unwrap().open_id;
    assert!(
        outputs
            .iter()
            .all(|line| line.starts_with(&format!("acted-as={tom} "))),
        "{outputs:?}"
    );
    assert!(
        outputs.windows(2).all(|pair| pair[0] == pair[1]),
        "every process ended with the same token: {outputs:?}"
    );
    assert_eq!(
        setup.emulator.oauth_grants("refresh_token"),
        1,
        "four processes, one refresh"
    );
    let stored = store.load(&key(&setup.emulator)).await.unwrap().unwrap();
    assert_ne!(stored.refresh_token, pair.refresh_token);
}
