//! A [`Transport`] that answers from a script, for testing what a client does with each answer
//! without a server: give it to [`ClientBuilder::transport`](crate::ClientBuilder::transport).
//!
//! ```
//! use lark_http::scripted::{ScriptedTransport, Step};
//! use std::sync::Arc;
//!
//! # async fn run() -> Result<(), lark_http::Error> {
//! let script = Arc::new(
//!     ScriptedTransport::with_tokens()
//!         .then(Step::rate_limited(1))
//!         .then(Step::ok(&serde_json::json!({"items": [], "has_more": false}))),
//! );
//! let client = lark_http::Client::builder()
//!     .app("cli_9f5343c580712544", "app secret")
//!     .transport(script.clone())
//!     .build()?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```

use crate::transport::{BoxError, RequestBody, ResponseBody, Transport, TransportError};
use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// One scripted answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Step {
    /// An answer with this status, these headers and this body.
    Answer {
        /// The status.
        status: StatusCode,
        /// The headers.
        headers: HeaderMap,
        /// The body.
        body: Bytes,
    },
    /// The connection could not be made: nothing was sent.
    Refuse,
    /// The request went out and the connection dropped before an answer.
    Drop,
    /// The request went out and no answer ever comes.
    Hang,
}

impl Step {
    /// An answer with `status` and a JSON body.
    #[must_use]
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(
            "x-tt-logid",
            HeaderValue::from_static("20261203000000SCRIPTED"),
        );
        Self::Answer {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    /// A success, `data` in the platform's envelope.
    #[must_use]
    pub fn ok(data: &serde_json::Value) -> Self {
        Self::json(
            200,
            &serde_json::json!({"code": 0, "msg": "success", "data": data}),
        )
    }

    /// A refusal in the platform's error format.
    #[must_use]
    pub fn refused(status: u16, code: i64, msg: &str) -> Self {
        Self::json(status, &serde_json::json!({"code": code, "msg": msg}))
    }

    /// The gateway's rate-limit refusal: 429, code 99991400, resetting in `reset_secs`.
    #[must_use]
    pub fn rate_limited(reset_secs: u64) -> Self {
        let mut step = Self::refused(429, 99_991_400, "request trigger frequency limit");
        if let Self::Answer { headers, .. } = &mut step {
            headers.insert("x-ogw-ratelimit-limit", HeaderValue::from(50u64));
            headers.insert("x-ogw-ratelimit-reset", HeaderValue::from(reset_secs));
        }
        step
    }

    /// The platform's answer to a tenant token it does not accept (99991663).
    #[must_use]
    pub fn token_invalid() -> Self {
        Self::refused(400, 99_991_663, "Invalid access token for authorization")
    }

    /// A file download's answer.
    #[must_use]
    pub fn file(bytes: &'static [u8]) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        Self::Answer {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(bytes),
        }
    }
}

/// A request the script was asked to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Seen {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// The bearer token it carried.
    pub token: Option<String>,
    /// Its body, read whole.
    pub body: Bytes,
    /// When it arrived, on tokio's clock (which a test can pause and move).
    pub at: tokio::time::Instant,
}

/// A transport that answers each request with the next [`Step`] of its script, and records
/// what it was asked. With [`with_tokens`](Self::with_tokens), token requests are answered
/// with a new token each (`t-1`, `t-2`, …) outside the script.
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    steps: Mutex<VecDeque<Step>>,
    seen: Mutex<Vec<Seen>>,
    tokens: bool,
}

impl ScriptedTransport {
    /// An empty script: every request fails as if the connection could not be made.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty script that answers token requests by itself.
    #[must_use]
    pub fn with_tokens() -> Self {
        Self {
            tokens: true,
            ..Self::default()
        }
    }

    /// Adds `step` to the script.
    #[must_use]
    pub fn then(self, step: Step) -> Self {
        self.push(step);
        self
    }

    /// Adds `step` to the script of a shared transport.
    pub fn push(&self, step: Step) {
        self.steps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(step);
    }

    /// The requests seen, token requests included, in order.
    #[must_use]
    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The requests seen that were not token requests.
    #[must_use]
    pub fn calls(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| !is_token_path(&seen.path))
            .collect()
    }

    /// Steps not used yet.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.steps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn is_token_path(path: &str) -> bool {
    path.starts_with("/open-apis/auth/v3/")
}

#[async_trait]
impl Transport for ScriptedTransport {
    async fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map_err(TransportError::new)?
            .to_bytes();
        let token = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::to_owned);
        let path = parts.uri.path().to_owned();
        let step = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            seen.push(Seen {
                method: parts.method.clone(),
                path: path.clone(),
                token,
                body,
                at: tokio::time::Instant::now(),
            });
            if self.tokens && is_token_path(&path) {
                let issued = seen.iter().filter(|s| is_token_path(&s.path)).count();
                Step::json(
                    200,
                    &serde_json::json!({
                        "code": 0,
                        "msg": "ok",
                        "tenant_access_token": format!("t-{issued}"),
                        "app_access_token": format!("a-{issued}"),
                        "expire": 7200,
                    }),
                )
            } else {
                self.steps
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front()
                    .unwrap_or(Step::Refuse)
            }
        };
        match step {
            Step::Answer {
                status,
                headers,
                body,
            } => {
                let mut response = http::Response::new(crate::transport::full_body(body));
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                Ok(response)
            }
            Step::Refuse => Err(TransportError::not_sent(scripted("connection refused"))),
            Step::Drop => Err(TransportError::new(scripted(
                "connection closed before the answer",
            ))),
            Step::Hang => std::future::pending().await,
        }
    }
}

fn scripted(what: &str) -> BoxError {
    Box::new(std::io::Error::other(format!("scripted: {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Client, Error, ErrorKind, RetryPolicy};
    use lark_api::Receiver;
    use lark_api::im::chats::ListChats;
    use lark_api::im::messages::SendMessage;
    use lark_api::im::reactions::AddReaction;
    use lark_content::{ChatId, MessageContent, MessageId};
    use std::sync::Arc;
    use std::time::Duration;

    fn client(script: &Arc<ScriptedTransport>) -> Client {
        Client::builder()
            .app("cli_a5fb0ae6a4000001", "scripted secret")
            .transport(script.clone())
            .retry(
                RetryPolicy::default()
                    .with_base_delay(Duration::from_millis(1))
                    .with_max_delay(Duration::from_millis(2))
                    .with_max_rate_limit_wait(Duration::from_millis(5)),
            )
            .request_timeout(Duration::from_millis(200))
            .build()
            .unwrap()
    }

    fn chats() -> Step {
        Step::ok(&serde_json::json!({"items": [], "has_more": false}))
    }

    fn sent() -> Step {
        Step::ok(&serde_json::json!({
            "message_id": "om_dc13264520392913993dd051dba21dcf",
            "msg_type": "text",
            "create_time": "1700000000000",
            "chat_id": "oc_5ad11d72b830411d72b836c20",
            "body": {"content": "{\"text\":\"hi\"}"}
        }))
    }

    fn send() -> SendMessage {
        SendMessage::new(
            Receiver::chat(ChatId::new("oc_5ad11d72b830411d72b836c20")),
            MessageContent::text("hi"),
        )
    }

    fn react() -> AddReaction {
        AddReaction::new(
            MessageId::new("om_dc13264520392913993dd051dba21dcf"),
            "SMILE",
        )
    }

    #[tokio::test]
    async fn a_read_is_retried_after_a_rate_limit_a_5xx_and_a_dropped_connection() {
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::rate_limited(1))
                .then(Step::refused(500, 1663, "internal error"))
                .then(Step::Drop)
                .then(chats()),
        );
        client(&script).execute(ListChats::new()).await.unwrap();
        assert_eq!(script.calls().len(), 4);
    }

    #[tokio::test]
    async fn a_read_stops_after_its_attempts() {
        let script = Arc::new(ScriptedTransport::with_tokens());
        for _ in 0..5 {
            script.push(Step::refused(503, 1663, "internal error"));
        }
        let err = client(&script).execute(ListChats::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Server);
        assert_eq!(script.calls().len(), 4);
        assert_eq!(script.remaining(), 1);
    }

    #[tokio::test]
    async fn a_send_keeps_its_uuid_across_retries() {
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::Hang)
                .then(Step::refused(500, 1663, "internal error"))
                .then(sent()),
        );
        client(&script).execute(send()).await.unwrap();
        let calls = script.calls();
        assert_eq!(calls.len(), 3);
        let uuid = |seen: &Seen| {
            let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
            body["uuid"].as_str().unwrap().to_owned()
        };
        assert!(!uuid(&calls[0]).is_empty());
        assert!(calls.iter().all(|seen| uuid(seen) == uuid(&calls[0])));
    }

    #[tokio::test]
    async fn a_write_without_a_uuid_is_repeated_only_when_nothing_was_done() {
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::Refuse)
                .then(Step::rate_limited(1))
                .then(Step::refused(500, 1663, "internal error")),
        );
        let err = client(&script).execute(react()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Server);
        assert_eq!(script.calls().len(), 3);

        let script = Arc::new(ScriptedTransport::with_tokens().then(Step::Drop));
        let err = client(&script).execute(react()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transport);
        assert_eq!(script.calls().len(), 1);

        let script = Arc::new(ScriptedTransport::with_tokens().then(Step::Hang));
        let err = client(&script).execute(react()).await.unwrap_err();
        assert!(matches!(err, Error::Timeout { attempts: 1, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_once_then_reported() {
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::token_invalid())
                .then(chats()),
        );
        let client = client(&script);
        client.execute(ListChats::new()).await.unwrap();
        let tokens: Vec<_> = script.calls().into_iter().map(|s| s.token).collect();
        assert_eq!(tokens, [Some("t-1".to_owned()), Some("t-2".to_owned())]);

        script.push(Step::token_invalid());
        script.push(Step::token_invalid());
        let err = client.execute(ListChats::new()).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::TokenRejected {
                    code: 99_991_663,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_terminal_refusal_is_never_repeated() {
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::refused(400, 230_031, "message too old to update"))
                .then(chats()),
        );
        let err = client(&script).execute(ListChats::new()).await.unwrap_err();
        assert_eq!(err.code(), Some(230_031));
        assert_eq!(script.calls().len(), 1);
    }

    #[tokio::test]
    async fn uploads_and_downloads_decide_as_json_calls_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"meeting notes").unwrap();
        let stored = || Step::ok(&serde_json::json!({"file_key": "file_v3_00aa_scripted"}));

        // A file is sent again after a 5xx; a second stored copy is harmless.
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::rate_limited(1))
                .then(Step::refused(500, 1663, "internal error"))
                .then(stored()),
        );
        client(&script).upload_file(&path, None).await.unwrap();
        let calls = script.calls();
        assert_eq!(calls.len(), 3);
        assert!(calls.iter().all(|seen| {
            seen.body
                .windows(b"meeting notes".len())
                .any(|w| w == b"meeting notes")
        }));

        // Unless the policy says not to.
        let script = Arc::new(ScriptedTransport::with_tokens().then(Step::refused(
            500,
            1663,
            "internal error",
        )));
        let careful = Client::builder()
            .app("cli_a5fb0ae6a4000001", "scripted secret")
            .transport(script.clone())
            .retry(RetryPolicy::default().with_retry_uploads(false))
            .build()
            .unwrap();
        assert!(careful.upload_file(&path, None).await.is_err());
        assert_eq!(script.calls().len(), 1);

        // A reader is spent after one attempt: even a rate limit is reported.
        let script = Arc::new(ScriptedTransport::with_tokens().then(Step::rate_limited(1)));
        let endpoint = lark_api::im::resources::UploadFile::new(
            "notes.txt",
            lark_api::UploadData::Stream { len: None },
        );
        let err = client(&script)
            .upload_reader(endpoint, &b"meeting notes"[..], None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(script.calls().len(), 1);

        // A refused token cannot be replayed with a spent reader, but it is forgotten.
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::token_invalid())
                .then(chats()),
        );
        let replica = client(&script);
        let endpoint = lark_api::im::resources::UploadFile::new(
            "notes.txt",
            lark_api::UploadData::Stream { len: None },
        );
        let err = replica
            .upload_reader(endpoint, &b"meeting notes"[..], None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TokenInvalid);
        replica.execute(ListChats::new()).await.unwrap();
        let tokens: Vec<_> = script.calls().into_iter().map(|s| s.token).collect();
        assert_eq!(tokens, [Some("t-1".to_owned()), Some("t-2".to_owned())]);

        // A download is a read.
        let script = Arc::new(
            ScriptedTransport::with_tokens()
                .then(Step::rate_limited(1))
                .then(Step::Drop)
                .then(Step::file(b"the file")),
        );
        let key = lark_content::FileKey::new("file_v3_00aa_scripted");
        let saved = client(&script)
            .download_to_file(
                lark_api::im::resources::DownloadFile::new(key),
                dir.path().join("copy.txt"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(saved.bytes, 8);
        assert_eq!(script.calls().len(), 3);
    }
}
