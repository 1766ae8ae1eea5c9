//! The webhook server against hostile and careless clients on loopback, over raw TCP: slow
//! headers, idle keep-alives, stalled bodies, answers that take too long, too many connections,
//! floods of bad requests, and shutdown with answers in flight.
//!
//! Each test waits for what the server does (a closed socket, an answer, a counter), never for
//! a length of time; the deadlines are set short so that the server's reaction comes quickly.

use async_trait::async_trait;
use lark_events::{
    AckPolicy, DedupError, DedupStore, Dispatcher, EventConfig, EventEnvelope, ServeOptions,
    WebhookService, handler_fn,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

mod common;

use common::{
    NEVER, PATIENCE, SHORT, Server, challenge, closed_by_server, fixture, post, read_answer,
    request, service, short,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_by_the_header_deadline_and_good_requests_served() {
    let server = Server::start(service(short().with_max_connections(32))).await;
    let mut silent = Vec::new();
    for _ in 0..100 {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Drippers send a byte of header at a time, forever: the deadline counts from the start
    // of the headers, so dripping does not extend it. Each task ends when the server closes.
    let mut drippers = Vec::new();
    for _ in 0..50 {
        let stream = TcpStream::connect(server.addr).await.unwrap();
        drippers.push(tokio::spawn(drip_until_closed(stream)));
    }
    // A good request queued behind the attackers is answered.
    let (status, body) = post(server.addr, &challenge()).await;
    assert_eq!(status, 200);
    assert!(body.contains("ajls384kdjxxxx"), "{body}");
    for stream in &mut silent {
        closed_by_server(stream).await;
    }
    for dripper in drippers {
        tokio::time::timeout(PATIENCE, dripper)
            .await
            .expect("the server closed the dripping connection")
            .unwrap();
    }
    let counts = server.stats.snapshot();
    assert!(
        counts.connections_timed_out >= 150,
        "every slow connection was closed by its deadline: {counts:?}"
    );
}

/// Sends a request head one byte at a time until the server closes the connection.
async fn drip_until_closed(stream: TcpStream) {
    let (mut read, mut write) = stream.into_split();
    let drip = async move {
        let _ = write.write_all(b"POST /webhook HTTP/1.1\r\nX-Slow: ").await;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if write.write_all(b"a").await.is_err() {
                return;
            }
        }
    };
    let closed = async move {
        let mut sink = [0u8; 256];
        loop {
            match read.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        () = drip => {}
        () = closed => {}
    }
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let server = Server::start(service(short().with_header_timeout(NEVER))).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(request(&challenge(), true).as_bytes())
        .await
        .unwrap();
    assert_eq!(read_answer(&mut stream).await.0, 200);
    closed_by_server(&mut stream).await;
    server.wait_until(|c| c.connections_timed_out == 1).await;
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408() {
    let server = Server::start(service(short())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /webhook HTTP/1.1\r\nHost: bot.example\r\nContent-Length: 100\r\n\r\n{\"schema\"")
        .await
        .unwrap();
    let (status, body) = read_answer(&mut stream).await;
    assert_eq!(status, 408, "{body}");
    server
        .wait_until(|c| c.requests == 1 && c.requests_refused == 1)
        .await;
}

/// A dedup store that never answers, as a dead Redis behind no timeout would.
struct Hanging;

#[async_trait]
impl DedupStore for Hanging {
    async fn mark_if_new(&self, _key: &str, _ttl: Duration) -> Result<bool, DedupError> {
        std::future::pending().await
    }

    async fn release(&self, _key: &str) -> Result<(), DedupError> {
        Ok(())
    }
}

#[tokio::test]
async fn an_answer_not_ready_in_time_is_503_so_the_platform_delivers_again() {
    let service = WebhookService::new(
        EventConfig::new(),
        Dispatcher::new(handler_fn(|_: EventEnvelope| async { Ok(()) }))
            .with_dedup(Arc::new(Hanging)),
    )
    .with_options(ServeOptions::default().with_answer_timeout(SHORT));
    let server = Server::start(service).await;
    let (status, body) = post(server.addr, &fixture("receive_v1")).await;
    assert_eq!(status, 503, "{body}");
    server.wait_until(|c| c.answers_late == 1).await;
}

#[tokio::test]
async fn above_the_connection_cap_new_connections_wait_until_one_closes() {
    let server = Server::start(service(
        ServeOptions::default()
            .with_header_timeout(NEVER)
            .with_max_connections(4),
    ))
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    server.wait_until(|c| c.connections_accepted == 4).await;
    let waiting = tokio::spawn({
        let addr = server.addr;
        async move { post(addr, &challenge()).await }
    });
    // The fifth connection is in the backlog; closing one held connection lets it in.
    drop(held.pop());
    let (status, _) = waiting.await.unwrap();
    assert_eq!(status, 200);
    let counts = server.stats.snapshot();
    assert_eq!(counts.connections_accepted, 5);
    assert!(counts.connections_open <= 4, "{counts:?}");
}

#[tokio::test]
async fn a_flood_of_bad_requests_is_counted_and_logged_once_per_interval() {
    let (lines, subscriber) = common::warnings();
    let _guard = tracing::subscriber::set_default(subscriber);
    let service = WebhookService::new(
        EventConfig::new().verification_token("the-real-token"),
        Dispatcher::new(handler_fn(|_: EventEnvelope| async { Ok(()) })),
    )
    .with_options(ServeOptions::default().with_log_interval(NEVER));
    // Answer in this task, so the log lines land in this test's subscriber.
    for _ in 0..50 {
        let request = http::Request::post("/webhook")
            .body(http_body_util::Full::new(bytes::Bytes::from(challenge())))
            .unwrap();
        let response = service.handle(request).await;
        assert_eq!(response.status(), 401);
    }
    let counts = service.stats().snapshot();
    assert_eq!((counts.requests, counts.requests_refused), (50, 50));
    let lines = lines.lines();
    let refused: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("webhook request refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_answers_in_flight_finish_then_closes() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let handler = {
        let entered = entered.clone();
        let release = release.clone();
        handler_fn(move |_: EventEnvelope| {
            let entered = entered.clone();
            let release = release.clone();
            async move {
                entered.notify_one();
                release.notified().await;
                Ok(())
            }
        })
    };
    let dispatcher = Dispatcher::new(handler).with_ack(AckPolicy::WaitUpTo(NEVER));
    let service = WebhookService::new(EventConfig::new(), dispatcher)
        .with_options(ServeOptions::default().with_answer_timeout(NEVER));
    let mut server = Server::start(service).await;
    let in_flight = tokio::spawn({
        let addr = server.addr;
        async move { post(addr, &fixture("receive_v1")).await }
    });
    entered.notified().await;
    let idle = TcpStream::connect(server.addr).await.unwrap();
    server.wait_until(|c| c.connections_accepted == 2).await;
    drop(server.stop.take());
    // The idle connection is closed at once; the answer in flight is still on its way.
    let mut idle = idle;
    closed_by_server(&mut idle).await;
    release.notify_one();
    let (status, _) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    tokio::time::timeout(PATIENCE, &mut server.task)
        .await
        .expect("the server ended after its connections")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn an_endpoint_that_accepts_unsigned_events_says_so_once_at_the_start() {
    let (lines, subscriber) = common::warnings();
    let _guard = tracing::subscriber::set_default(subscriber);
    // A single-threaded runtime: the server's task logs through this test's subscriber.
    let unsigned = Server::start(service(ServeOptions::default())).await;
    for _ in 0..3 {
        assert_eq!(common::post(unsigned.addr, &challenge()).await.0, 200);
    }
    let signed = Server::start(WebhookService::new(
        EventConfig::new().verification_token("xxxxxx"),
        Dispatcher::new(handler_fn(|_: EventEnvelope| async { Ok(()) })),
    ))
    .await;
    assert_eq!(common::post(signed.addr, &challenge()).await.0, 200);
    let lines = lines.lines();
    let warnings = lines
        .iter()
        .filter(|l| l.contains("can forge events"))
        .count();
    assert_eq!(warnings, 1, "{lines:?}");
}
