//! Signing a user in through the facade, against the emulator: the code flow with PKCE and
//! the state checked, the device flow, and messages sent as the user.

use lark::http::{MemoryUserTokenStore, UserTokenStore};
use lark::{ChatId, Client, ErrorKind, Redirect};
use lark_emulator::Emulator;
use std::sync::Arc;

const REDIRECT: &str = "http://127.0.0.1:8400/callback";

mod common;

async fn setup() -> (Emulator, Client) {
    let (emulator, client, _) = common::emulated().await;
    (emulator, client)
}

#[tokio::test]
async fn a_user_signs_in_with_pkce_and_sends_as_themselves() {
    let (emulator, client) = setup().await;
    let oauth = client.oauth();
    let sign_in = oauth
        .sign_in(REDIRECT, ["im:message", "offline_access"])
        .unwrap();
    assert!(sign_in.url().contains("code_challenge_method=S256"));
    assert!(!format!("{sign_in:?}").contains(sign_in.state()));
    let redirected = emulator.consent("Tom", sign_in.url()).unwrap();
    let pair = oauth
        .finish(&sign_in, &Redirect::from_url(&redirected))
        .await
        .unwrap();
    let tom = emulator.user("Tom").unwrap().open_id;
    assert_eq!(
        pair.open_id.as_ref().map(lark::OpenId::as_str),
        Some(tom.as_str())
    );

    let store: Arc<dyn UserTokenStore> = Arc::new(MemoryUserTokenStore::new());
    let session = oauth.session("tom", store.clone(), pair).await.unwrap();
    let chat = ChatId::new(emulator.default_chat());
    client
        .as_user(&session)
        .messages()
        .send(chat.clone(), "sent as Tom")
        .await
        .unwrap();
    let sent = emulator.messages_in(chat.as_str());
    let last = sent.last().unwrap();
    assert_eq!(last["sender"]["id"], tom.as_str(), "{last}");
    assert_eq!(last["sender"]["sender_type"], "user", "{last}");

    // Another part of the app finds the same session in the store.
    let again = oauth.stored_session("tom", store.clone());
    client
        .as_user(&again)
        .messages()
        .send(chat.clone(), "again")
        .await
        .unwrap();

    // Signing out revokes the refresh token at the platform, not only here.
    let revoked_token = store
        .load(session.key())
        .await
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap();
    assert!(oauth.sign_out(&session).await.unwrap());
    assert_eq!(emulator.oauth_revocations(), 1);
    assert_eq!(store.load(session.key()).await.unwrap(), None);
    let reuse = client
        .http()
        .user_tokens(lark::api::oauth::Grant::RefreshToken(revoked_token))
        .await
        .unwrap_err();
    assert_eq!(reuse.code(), Some(20_064), "{reuse}");
    let err = client
        .as_user(&again)
        .messages()
        .send(chat, "after signing out")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignInAgain, "{err}");
    assert!(
        !oauth.sign_out(&session).await.unwrap(),
        "nobody is left to sign out"
    );
}

#[tokio::test]
async fn a_redirect_with_another_state_is_refused_before_any_token_is_asked_for() {
    let (emulator, client) = setup().await;
    let oauth = client.oauth();
    let sign_in = oauth.sign_in(REDIRECT, ["offline_access"]).unwrap();
    let redirected = emulator.consent("Tom", sign_in.url()).unwrap();
    let mut forged = Redirect::from_url(&redirected);
    forged.state = Some("0".repeat(32));
    let err = oauth.finish(&sign_in, &forged).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignInAgain, "{err}");
    assert!(err.to_string().contains("state"), "{err}");
    let mut missing = Redirect::from_url(&redirected);
    missing.state = None;
    assert!(oauth.finish(&sign_in, &missing).await.is_err());
    assert_eq!(emulator.oauth_grants("authorization_code"), 0);
    // The real redirect still works: the code was never spent.
    oauth
        .finish(&sign_in, &Redirect::from_url(&redirected))
        .await
        .unwrap();
    assert_eq!(emulator.oauth_grants("authorization_code"), 1);
}

#[tokio::test]
async fn the_device_flow_signs_a_user_in_once_approved() {
    let (emulator, client) = setup().await;
    emulator.set_device_interval(1);
    let oauth = client.oauth();
    let grant = oauth.device(["im:message"]).await.unwrap();
    assert!(!grant.user_code.is_empty());
    emulator
        .decide_device("Tom", &grant.user_code, true)
        .unwrap();
    let pair = oauth.wait_for_device(&grant).await.unwrap();
    let tom = emulator.user("Tom").unwrap().open_id;
    assert_eq!(
        pair.open_id.as_ref().map(lark::OpenId::as_str),
        Some(tom.as_str())
    );
    assert!(
        pair.refresh_token.is_some(),
        "offline_access is always asked for"
    );
}
