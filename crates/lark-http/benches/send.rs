//! Text sends against the emulator through `lark-http`, and the same requests through a bare
//! hyper client in the same run, at concurrency 1 and 32.
//!
//! `cargo bench -p lark-http --bench send` (or `cargo xtask bench`). Set `LARK_BENCH_QUICK=1`
//! for a short run. Each line starting with `bench: ` is one JSON result.

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lark_api::im::messages::SendMessage;
use lark_api::{BaseUrl, Receiver};
use lark_content::{ChatId, MessageContent};
use lark_emulator::Emulator;
use lark_http::Client;
use std::time::{Duration, Instant};

struct Raw {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
    authorization: http::HeaderValue,
    chat: String,
}

impl Raw {
    async fn send(&self, text: &str) {
        let content = serde_json::json!({ "text": text }).to_string();
        let body = serde_json::json!({
            "receive_id": self.chat,
            "msg_type": "text",
            "content": content,
            "uuid": lark_http::new_uuid(),
        });
        let request = http::Request::post(self.uri.clone())
            .header(http::header::AUTHORIZATION, self.authorization.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(answer["code"], 0, "{answer}");
    }
}

/// Runs `ops` sends, `concurrency` at a time, and returns the mean time per send.
async fn run<F, Fut>(ops: usize, concurrency: usize, send: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    futures_util::stream::iter(0..ops)
        .map(&send)
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    start.elapsed() / u32::try_from(ops).unwrap()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let quick = std::env::var_os("LARK_BENCH_QUICK").is_some();
    let (rounds, ops) = if quick { (3, 300) } else { (7, 2000) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = Emulator::start_default().await.unwrap();
        let chat = ChatId::new(emulator.default_chat());
        let client = Client::builder()
            .app(emulator.app_id(), emulator.app_secret())
            .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
            .build()
            .unwrap();
        let token = client.tenant_token().await.unwrap();
        let raw = Raw {
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
            uri: format!(
                "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
                emulator.base_url()
            )
            .parse()
            .unwrap(),
            authorization: http::HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .unwrap(),
            chat: chat.as_str().to_owned(),
        };
        let ours = |i: usize| {
            let client = client.clone();
            let request = SendMessage::new(
                Receiver::chat(chat.clone()),
                MessageContent::text(format!("bench {i}")),
            );
            async move {
                client.execute(request).await.unwrap();
            }
        };
        let baseline = |i: usize| {
            let raw = &raw;
            async move { raw.send(&format!("bench {i}")).await }
        };
        for concurrency in [1usize, 32] {
            // Warm both pools, then alternate rounds so that drift hits both sides alike.
            run(ops / 4, concurrency, &ours).await;
            run(ops / 4, concurrency, &baseline).await;
            let mut ours_times = Vec::new();
            let mut baseline_times = Vec::new();
            for _ in 0..rounds {
                ours_times.push(run(ops, concurrency, &ours).await);
                baseline_times.push(run(ops, concurrency, &baseline).await);
            }
            let (ours_ns, baseline_ns) = (
                median(ours_times).as_nanos(),
                median(baseline_times).as_nanos(),
            );
            #[allow(clippy::cast_precision_loss)] // nanoseconds per op, far below 2^52
            let ratio = ours_ns as f64 / baseline_ns as f64;
            println!(
                "bench: {}",
                serde_json::json!({
                    "name": format!("lark-http/send_text/concurrency_{concurrency}"),
                    "unit": "ns/op",
                    "ours": ours_ns,
                    "baseline": baseline_ns,
                    "baseline_name": "hyper-util client, hand-built JSON, same emulator",
                    "ratio": (ratio * 1000.0).round() / 1000.0,
                    "ops": ops,
                    "rounds": rounds,
                })
            );
        }
    });
}
