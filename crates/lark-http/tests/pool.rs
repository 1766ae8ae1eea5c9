//! The outgoing pool against a plain HTTP/1.1 server on loopback: a per-host cap on requests in
//! flight, and idle connections closed by a timer.

use bytes::Bytes;
use http_body_util::BodyExt;
use lark_http::{HyperTransport, Transport, TransportConfig, full_body};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

const CAP: usize = 4;
const TOTAL: usize = 48;

#[derive(Default)]
struct Seen {
    arrived: usize,
    in_flight: usize,
    most_in_flight: usize,
    connections: usize,
}

/// Reads one request head; false at the end of the connection.
async fn read_head(socket: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    true
}

async fn answer(socket: &mut TcpStream) -> bool {
    let body = br#"{"code":0,"msg":"ok"}"#;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.is_ok() && socket.write_all(body).await.is_ok()
}

/// Holds each request until `CAP` are in flight (or every request has arrived), then
/// answers them together: a client that sends more than `CAP` at once is seen doing so.
async fn holding_server(listener: TcpListener, seen: Arc<Mutex<Seen>>) {
    let (release, _) = watch::channel(0u64);
    let release = Arc::new(release);
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        seen.lock().unwrap().connections += 1;
        let (seen, release) = (seen.clone(), release.clone());
        tokio::spawn(async move {
            while read_head(&mut socket).await {
                let mut released = release.subscribe();
                let generation = *released.borrow_and_update();
                {
                    let mut seen = seen.lock().unwrap();
                    seen.arrived += 1;
                    seen.in_flight += 1;
                    seen.most_in_flight = seen.most_in_flight.max(seen.in_flight);
                    if seen.in_flight >= CAP || seen.arrived == TOTAL {
                        release.send_replace(generation + 1);
                    }
                }
                let _ = released.wait_for(|now| *now > generation).await;
                seen.lock().unwrap().in_flight -= 1;
                if !answer(&mut socket).await {
                    return;
                }
            }
        });
    }
}

fn request(port: u16) -> http::Request<lark_http::RequestBody> {
    http::Request::get(format!("http://127.0.0.1:{port}/open-apis/im/v1/chats"))
        .body(full_body(Bytes::new()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_one_host_never_exceed_the_cap() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    tokio::spawn(holding_server(listener, seen.clone()));
    let mut config = TransportConfig::default();
    config.max_connections_per_host = CAP;
    let transport = Arc::new(HyperTransport::new(&config).unwrap());

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..TOTAL {
        let transport = transport.clone();
        calls.spawn(async move {
            let response = transport.send(request(port)).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        });
    }
    let answered = tokio::time::timeout(Duration::from_secs(120), calls.join_all())
        .await
        .expect("every call is answered");
    assert_eq!(answered.len(), TOTAL);
    assert!(answered.iter().all(|body| body.starts_with(b"{\"code\":0")));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.arrived, TOTAL);
    assert_eq!(
        seen.most_in_flight, CAP,
        "at most {CAP} at once, and the cap is used"
    );
    assert!(
        seen.connections <= 2 * CAP,
        "{} connections: at most {CAP} in use and {CAP} idle",
        seen.connections
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_pooled_connection_is_closed_by_its_timer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (on_close, mut closes) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let on_close = on_close.clone();
            tokio::spawn(async move {
                while read_head(&mut socket).await && answer(&mut socket).await {}
                let _ = on_close.send(());
            });
        }
    });
    let mut config = TransportConfig::default();
    config.pool_idle_timeout = Duration::from_millis(100);
    let transport = HyperTransport::new(&config).unwrap();
    let response = transport.send(request(port)).await.unwrap();
    response.into_body().collect().await.unwrap();
    // Nothing else is sent: only the pool's timer can close the connection.
    tokio::time::timeout(Duration::from_secs(60), closes.recv())
        .await
        .expect("the idle connection is closed")
        .unwrap();
    drop(transport);
}

/// A read that needs no token, so that every request the server sees is one the test sent.
struct ListChats;

impl lark_api::Endpoint for ListChats {
    type Output = ();
    type Answer = lark_api::answer::Nothing;
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/open-apis/im/v1/chats";
    const AUTH: lark_api::Auth = lark_api::Auth::None;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_calls_keep_to_the_cap_too() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    tokio::spawn(holding_server(listener, seen.clone()));
    let client = lark_http::Client::builder()
        .app("cli_pool_test", "pool test secret")
        .base_url(lark_api::BaseUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap())
        .max_connections_per_host(CAP)
        .build()
        .unwrap();

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..TOTAL {
        let client = client.clone();
        calls.spawn(async move { client.execute(ListChats).await });
    }
    let answered = tokio::time::timeout(Duration::from_secs(120), calls.join_all())
        .await
        .expect("every call is answered");
    assert!(answered.iter().all(Result::is_ok), "{answered:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.arrived, TOTAL);
    assert_eq!(
        seen.most_in_flight, CAP,
        "at most {CAP} at once, and the cap is used"
    );
}
