//! A web app's sign-in routes on axum, over loopback HTTP against the emulator: the login
//! route sends the browser to the sign-in page, the redirect route checks the state, trades
//! the code and stores the user's pair under their open_id.
//!
//! `cargo test -p larkrs --features axum --test sign_ins`

use lark::SignIns;
use lark::http::MemoryUserTokenStore;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

/// A GET over a fresh connection: the status, the `location` header, the body.
async fn get(url: &str) -> (u16, Option<String>, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    (status, location, body.to_owned())
}

#[tokio::test]
async fn a_browser_signs_in_through_the_routes_and_the_app_acts_as_the_user() {
    let (emulator, client, chat) = common::emulated().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    let store = Arc::new(MemoryUserTokenStore::new());
    let sign_ins = SignIns::new(
        client.oauth(),
        format!("{app}/oauth/callback"),
        ["im:message", "offline_access"],
        store.clone(),
    );
    let router = sign_ins.axum_router("/login", "/oauth/callback");
    tokio::spawn(async move { axum::serve(listener, router).await });

    let (status, sign_in_page, _) = get(&format!("{app}/login")).await;
    assert_eq!(status, 302);
    let sign_in_page = sign_in_page.unwrap();
    // Tom picks himself on the accounts page, which sends the browser back to the app.
    let (status, back, _) = get(&format!("{sign_in_page}&emulator_user=Tom")).await;
    assert_eq!(status, 302);
    let back = back.unwrap();
    assert!(
        back.starts_with(&format!("{app}/oauth/callback?code=")),
        "{back}"
    );

    // A redirect with a state of no sign-in under way is refused before any token request.
    let forged = format!(
        "{}&state=ffffffffffffffffffffffffffffffff",
        back.split("&state=").next().unwrap()
    );
    let (status, _, _) = get(&forged).await;
    assert_eq!(status, 400);
    assert_eq!(emulator.oauth_grants("authorization_code"), 0);

    let (status, _, page) = get(&back).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in as Tom"), "{page}");
    // The same redirect twice: the sign-in is spent.
    let (status, _, _) = get(&back).await;
    assert_eq!(status, 400);
    assert_eq!(emulator.oauth_grants("authorization_code"), 1);

    let tom = emulator.user("Tom").unwrap().open_id;
    let session = client.oauth().stored_session(tom.as_str(), store);
    let id = client
        .as_user(&session)
        .messages()
        .send(chat, "signed in on the web")
        .await
        .unwrap();
    assert_eq!(
        emulator.message(id.message_id.as_str()).unwrap()["sender"]["id"],
        tom.as_str()
    );
}
