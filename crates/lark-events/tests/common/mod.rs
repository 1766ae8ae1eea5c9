//! A webhook server on loopback and a raw HTTP/1.1 client for it.

#![allow(dead_code, unreachable_pub)]

use lark_events::{
    Dispatcher, EventConfig, EventEnvelope, ServeOptions, ServerStats, WebhookService, handler_fn,
};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How long a test waits for something the server must do before calling it a hang. A ceiling,
/// not a pace.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A deadline short enough for the server's reaction to come quickly.
pub const SHORT: Duration = Duration::from_millis(300);

/// No deadline that a test should ever reach.
pub const NEVER: Duration = Duration::from_secs(3600);

pub fn fixture(name: &str) -> String {
    let all: Value = serde_json::from_str(include_str!("../fixtures/documented.json")).unwrap();
    all[name]["payload"].to_string()
}

/// The documented URL-verification challenge (docs/protocol.md §5.2): a request any server
/// must answer at once.
pub fn challenge() -> String {
    fixture("challenge_plain")
}

pub struct Server {
    pub addr: SocketAddr,
    pub stats: ServerStats,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(service: WebhookService) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = service.stats();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(service.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stats,
            stop: Some(stop),
            task,
        }
    }

    pub async fn wait_until(
        &self,
        ready: impl FnMut(&lark_events::ServerCounts) -> bool,
    ) -> lark_events::ServerCounts {
        tokio::time::timeout(PATIENCE, self.stats.wait_until(ready))
            .await
            .expect("the server's counters reached the expected state")
    }
}

pub fn service(options: ServeOptions) -> WebhookService {
    WebhookService::new(
        EventConfig::new(),
        Dispatcher::new(handler_fn(|_: EventEnvelope| async { Ok(()) })),
    )
    .with_options(options)
}

/// Short header, body and idle deadlines; everything else as the defaults.
pub fn short() -> ServeOptions {
    ServeOptions::default()
        .with_header_timeout(SHORT)
        .with_body_timeout(SHORT)
        .with_idle_timeout(SHORT)
}

pub fn request(body: &str, keep_alive: bool) -> String {
    format!(
        "POST /webhook HTTP/1.1\r\nHost: bot.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{body}",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    )
}

/// Sends `body` on a new connection and reads the whole answer: its status and body.
pub async fn post(addr: SocketAddr, body: &str) -> (u16, String) {
    exchange(TcpStream::connect(addr).await.unwrap(), body).await
}

/// Sends `body` on `stream` and reads the whole answer: its status and body.
pub async fn exchange(mut stream: TcpStream, body: &str) -> (u16, String) {
    stream
        .write_all(request(body, false).as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    parse(&answer)
}

pub fn parse(answer: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Reads one answer with a `Content-Length` from a kept-alive connection.
pub async fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before the answer was complete");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return parse(&buf);
            }
        }
    }
}

/// Waits until the server closes `stream`: end of file, or a reset.
pub async fn closed_by_server(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closed the connection");
}

/// The lines a tracing subscriber writes, one entry per write.
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Captured {
    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A subscriber that keeps every warning and error in the returned capture.
pub fn warnings() -> (Captured, impl tracing::Subscriber + Send + Sync) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .finish();
    (captured, subscriber)
}
