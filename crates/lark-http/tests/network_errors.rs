//! A call that cannot reach the platform says which host and why: refused, DNS, TLS, a closed
//! connection. Everything here stays on loopback; the DNS failure comes from a resolver that
//! refuses every name, through hyper-util's own connector.

use lark_api::BaseUrl;
use lark_api::im::chats::ListChats;
use lark_http::{Client, ErrorKind, NetworkCause, RetryPolicy};
use std::error::Error as _;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn client(base: &str) -> Client {
    Client::builder()
        .app("cli_9f5343c580712544", "secret")
        .base_url(BaseUrl::parse(base).unwrap())
        .retry(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_delay(Duration::from_millis(1)),
        )
        .request_timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Every level of an error chain prints a text its source does not repeat.
fn assert_each_cause_printed_once(err: &(dyn std::error::Error + 'static)) {
    let mut level = err;
    while let Some(next) = level.source() {
        let (outer, inner) = (level.to_string(), next.to_string());
        assert!(
            !outer.contains(&inner),
            "{outer:?} repeats its source {inner:?}"
        );
        level = next;
    }
}

/// A server on loopback that reads each request's first bytes, writes `answer` and closes.
async fn answering_each_request_with(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(answer).await;
        }
    });
    addr
}

#[tokio::test]
async fn a_refused_connection_names_the_host_and_the_cause() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = client(&format!("http://127.0.0.1:{port}"))
        .execute(ListChats::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.network_cause(), Some(NetworkCause::Refused));
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert!(err.source().is_some(), "the network error stays reachable");
    assert_each_cause_printed_once(&err);
}

#[tokio::test]
async fn a_tls_handshake_with_something_that_is_not_tls_is_a_tls_failure() {
    let addr =
        answering_each_request_with(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
    let err = client(&format!("https://{addr}"))
        .execute(ListChats::new())
        .await
        .unwrap_err();
    assert_eq!(err.network_cause(), Some(NetworkCause::Tls), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
    assert_each_cause_printed_once(&err);
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_is_a_reset() {
    // Nothing written: the connection closes after the request is read.
    let addr = answering_each_request_with(b"").await;
    let err = client(&format!("http://{addr}"))
        .execute(ListChats::new())
        .await
        .unwrap_err();
    assert_eq!(err.network_cause(), Some(NetworkCause::Reset), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

/// A resolver that knows no name, as a failed DNS lookup.
#[derive(Clone)]
struct NoNames;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for NoNames {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        Box::pin(async move {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("failed to lookup address information: {name}"),
            ))
        })
    }
}

#[tokio::test]
async fn a_failed_lookup_reads_as_dns() {
    // The error hyper-util's connector gives for a name that does not resolve, read by the same
    // classifier the client uses.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(NoNames);
    let http: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let err = http
        .get("http://open.feishu.invalid/".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(NetworkCause::of(&err), NetworkCause::Dns, "{err:?}");
}
