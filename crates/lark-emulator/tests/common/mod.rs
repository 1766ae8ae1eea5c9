//! Plain HTTP against the emulator: a raw hyper client and a webhook receiver. Nothing here uses
//! the SDK's request layer.

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lark_emulator::Emulator;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// A fresh emulator with its default app, a client for it and a tenant token.
pub async fn setup() -> (Emulator, Http, String) {
    setup_with(lark_emulator::EmulatorConfig::default()).await
}

/// A fresh emulator with its default configuration and a client for it, with no token yet.
pub async fn started() -> (Emulator, Http) {
    let emulator = Emulator::start_default().await.unwrap();
    let http = Http::new(&emulator);
    (emulator, http)
}

/// The long connection's discovery call for `app_id`, answered as the platform answers it.
pub async fn discover(http: &Http, app_id: &str, secret: &str) -> Answer {
    http.call(
        "POST",
        "/callback/ws/endpoint",
        None,
        Some(json!({"AppID": app_id, "AppSecret": secret})),
    )
    .await
}

/// The answer to a long-connection handshake at `url` that the server refuses.
pub async fn refused_handshake(url: &str) -> http::Response<Option<Vec<u8>>> {
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
        panic!("the handshake was not refused with an HTTP answer: {refused:?}")
    };
    *response
}

/// Starts the device flow for the emulator's app with `scope` (form-encoded), as a client
/// does: `{device_code, user_code, verification_uri, interval, …}`.
pub async fn start_device_flow(http: &Http, emulator: &Emulator, scope: &str) -> Value {
    use base64::Engine as _;
    let app = emulator.app_id();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{app}:{}", emulator.app_secret()));
    http.send(
        "POST",
        "/oauth/v1/device_authorization",
        None,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &format!("Basic {basic}")),
        ],
        Bytes::from(format!("client_id={app}&scope={scope}")),
    )
    .await
    .unwrap()
    .json()
}

/// A call to the control API, under [`lark_emulator::CONTROL_PREFIX`].
pub async fn control(http: &Http, method: &str, path: &str, body: Option<Value>) -> Answer {
    let path = format!("{}{path}", lark_emulator::CONTROL_PREFIX);
    http.call(method, &path, None, body).await
}

/// A control call that must succeed; its answer.
pub async fn ok(http: &Http, method: &str, path: &str, body: Option<Value>) -> Value {
    let answer = control(http, method, path, body).await;
    let value = answer.json();
    assert_eq!(answer.status, 200, "{method} {path}: {value}");
    value
}

/// `who` says `text` in `chat`, through the control API; the message id.
pub async fn say(http: &Http, chat: &str, who: &str, text: &str) -> String {
    let said = ok(
        http,
        "POST",
        &format!("/chats/{chat}/messages"),
        Some(json!({"as": who, "text": text})),
    )
    .await;
    said["message_id"].as_str().unwrap().to_owned()
}

/// [`setup`] with a configuration of its own.
pub async fn setup_with(config: lark_emulator::EmulatorConfig) -> (Emulator, Http, String) {
    let emulator = Emulator::start(config).await.unwrap();
    let http = Http::new(&emulator);
    let token = http.token(&emulator).await;
    (emulator, http, token)
}

pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "not JSON ({err}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn code(&self) -> i64 {
        self.json()["code"].as_i64().unwrap()
    }

    pub fn log_id(&self) -> &str {
        self.headers["x-tt-logid"].to_str().unwrap()
    }
}

pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    pub base: String,
}

impl Http {
    pub fn new(emulator: &Emulator) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: emulator.base_url(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body)).unwrap();
        let response = self
            .client
            .request(request)
            .await
            .map_err(|err| err.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| err.to_string())?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let (headers, bytes): (&[(&str, &str)], Bytes) = match &body {
            Some(value) => (
                &[("content-type", "application/json; charset=utf-8")],
                Bytes::from(value.to_string()),
            ),
            None => (&[], Bytes::new()),
        };
        self.send(method, path, token, headers, bytes)
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Answer {
        self.call("DELETE", path, Some(token), None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call("POST", path, Some(token), Some(body)).await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call("PUT", path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call("PATCH", path, Some(token), Some(body)).await
    }

    /// Sends a message of `msg_type` with `content` into `chat`.
    pub async fn send_content(
        &self,
        token: &str,
        chat: &str,
        msg_type: &str,
        content: &Value,
    ) -> Answer {
        let body =
            json!({"receive_id": chat, "msg_type": msg_type, "content": content.to_string()});
        self.post(
            token,
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
            body,
        )
        .await
    }

    /// Posts a `multipart/form-data` body made by [`multipart`].
    pub async fn post_form(
        &self,
        token: &str,
        path: &str,
        (content_type, body): (String, Bytes),
    ) -> Answer {
        self.send(
            "POST",
            path,
            Some(token),
            &[("content-type", &content_type)],
            body,
        )
        .await
        .unwrap()
    }

    /// Uploads `bytes` as a file of `file_type` named `name` and returns its `file_key`.
    pub async fn file_key(
        &self,
        token: &str,
        file_type: &str,
        (name, mime, bytes): (&str, &str, &[u8]),
    ) -> String {
        let form = multipart(
            &[("file_type", file_type), ("file_name", name)],
            ("file", name, mime, bytes),
        );
        let answer = self.post_form(token, "/open-apis/im/v1/files", form).await;
        answer.json()["data"]["file_key"]
            .as_str()
            .unwrap_or_else(|| panic!("no file_key in {:?}", answer.json()))
            .to_owned()
    }

    /// Sends `text` into `chat` and returns the new message's id.
    pub async fn sent_id(&self, token: &str, chat: &str, text: &str) -> String {
        self.sent_content_id(token, chat, "text", &json!({ "text": text }))
            .await
    }

    /// Sends `content` of `msg_type` into `chat` and returns the new message's id.
    pub async fn sent_content_id(
        &self,
        token: &str,
        chat: &str,
        msg_type: &str,
        content: &Value,
    ) -> String {
        let answer = self.send_content(token, chat, msg_type, content).await;
        answer.json()["data"]["message_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no message id in {:?}", answer.json()))
            .to_owned()
    }

    pub async fn token(&self, emulator: &Emulator) -> String {
        let answer = self
            .call(
                "POST",
                "/open-apis/auth/v3/tenant_access_token/internal",
                None,
                Some(json!({"app_id": emulator.app_id(), "app_secret": emulator.app_secret()})),
            )
            .await;
        assert_eq!(answer.code(), 0, "{:?}", answer.json());
        answer.json()["tenant_access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn send_text(&self, token: &str, chat: &str, text: &str) -> Answer {
        self.send_content(token, chat, "text", &json!({ "text": text }))
            .await
    }
}

/// A `multipart/form-data` body built by hand.
pub fn multipart(fields: &[(&str, &str)], file: (&str, &str, &str, &[u8])) -> (String, Bytes) {
    let boundary = "----test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let (name, file_name, content_type, bytes) = file;
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        Bytes::from(body),
    )
}

/// Sends only the head of a request that announces a body of `length` bytes, and reads the
/// answer's head and body: how a server that refuses a body by its length alone is seen, with
/// no body in flight to be cut off.
pub async fn head_only(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    length: usize,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: emulator\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let read = async {
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&answer).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if answer.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed mid-answer: {text}");
            answer.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("no answer to a head alone")
}

/// One request the webhook receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// How long a test waits for something that should happen at once before it calls it a hang.
/// A ceiling, not a pace: every wait ends on the event it waits for.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// A webhook that records what it receives and answers as told.
pub struct Webhook {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Woken on every request received.
    pub arrived: Arc<tokio::sync::Notify>,
    /// Statuses to answer with, in order; 200 once they run out.
    pub script: Arc<Mutex<Vec<u16>>>,
    /// The body to answer 200s with.
    pub answer: Arc<Mutex<String>>,
}

impl Webhook {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A webhook that also answers `url_verification` challenges, decrypting with `encrypt_key`.
    pub async fn start_with(encrypt_key: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new("{\"msg\":\"success\"}".to_owned()));
        let arrived = Arc::new(tokio::sync::Notify::new());
        let (r, s, a, n) = (
            received.clone(),
            script.clone(),
            answer.clone(),
            arrived.clone(),
        );
        tokio::spawn(async move {
            let encrypt_key = encrypt_key;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (r, s, a, n) = (r.clone(), s.clone(), a.clone(), n.clone());
                let encrypt_key = encrypt_key.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: http::Request<hyper::body::Incoming>| {
                            let (r, s, a, n) = (r.clone(), s.clone(), a.clone(), n.clone());
                            let encrypt_key = encrypt_key.clone();
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(http_body_util::Collected::to_bytes)
                                    .unwrap_or_default();
                                let plain = plaintext(encrypt_key.as_deref(), &body);
                                r.lock().unwrap().push(Received {
                                    headers: parts.headers,
                                    body,
                                });
                                n.notify_waiters();
                                if plain["type"] == "url_verification" {
                                    let echo =
                                        json!({ "challenge": plain["challenge"] }).to_string();
                                    return Ok(http::Response::builder()
                                        .status(200)
                                        .body(Full::new(Bytes::from(echo)))
                                        .unwrap());
                                }
                                let status = {
                                    let mut script = s.lock().unwrap();
                                    if script.is_empty() {
                                        200
                                    } else {
                                        script.remove(0)
                                    }
                                };
                                let answer = a.lock().unwrap().clone();
                                Ok::<_, std::convert::Infallible>(
                                    http::Response::builder()
                                        .status(status)
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(answer)))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            received,
            arrived,
            script,
            answer,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                tokio::time::timeout_at(deadline, arrived).await.is_ok(),
                "expected {count} deliveries, got {}",
                received.len()
            );
        }
    }
}

/// The JSON a delivery carries, decrypted when it is encrypted.
pub fn plaintext(encrypt_key: Option<&str>, body: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (encrypt_key, value.get("encrypt").and_then(Value::as_str)) {
        (Some(key), Some(encrypted)) => {
            serde_json::from_slice(&decrypt(key, encrypted)).unwrap_or(Value::Null)
        }
        _ => value,
    }
}

/// Decrypts `{"encrypt": …}` the way the platform documents it, independently of the emulator:
/// key = SHA-256(encrypt key), first 16 bytes of the base64-decoded value are the IV,
/// AES-256-CBC, PKCS#7.
pub fn decrypt(encrypt_key: &str, encrypted: &str) -> Vec<u8> {
    use aes::cipher::block_padding::Pkcs7;
    use aes::cipher::{BlockDecryptMut, KeyIvInit};
    use base64::Engine as _;
    use sha2::Digest as _;
    let key: [u8; 32] = sha2::Sha256::digest(encrypt_key.as_bytes()).into();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encrypted)
        .unwrap();
    let (iv, ciphertext) = raw.split_at(16);
    let iv: [u8; 16] = iv.try_into().unwrap();
    cbc::Decryptor::<aes::Aes256>::new(&key.into(), &iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
        .unwrap()
}

/// `hex(sha256(timestamp + nonce + key + body))`, computed here from the documented formula.
pub fn signature(timestamp: &str, nonce: &str, key: &str, body: &[u8]) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(format!("{timestamp}{nonce}{key}").as_bytes());
    hasher.update(body);
    hex(&hasher.finalize())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// One `pbbp2.Frame`, encoded and decoded here from the proto2 schema in docs/protocol.md §7.3,
/// independently of the emulator's own codec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    pub seq_id: u64,
    pub log_id: u64,
    pub service: i32,
    pub method: i32,
    pub headers: Vec<(String, String)>,
    pub payload: Option<Vec<u8>>,
}

impl Frame {
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn ping(service: i32) -> Self {
        Self {
            service,
            headers: vec![("type".to_owned(), "ping".to_owned())],
            ..Self::default()
        }
    }

    /// The same frame back, as an ack with `code`.
    pub fn ack(&self, code: u16) -> Self {
        let mut ack = self.clone();
        ack.headers.push(("biz_rt".to_owned(), "1".to_owned()));
        ack.payload = Some(
            json!({"code": code, "headers": null, "data": null})
                .to_string()
                .into_bytes(),
        );
        ack
    }

    pub fn encode(&self) -> Vec<u8> {
        fn varint(out: &mut Vec<u8>, mut v: u64) {
            while v >= 0x80 {
                out.push(u8::try_from(v & 0x7f).unwrap() | 0x80);
                v >>= 7;
            }
            out.push(u8::try_from(v).unwrap());
        }
        fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
            varint(out, (field << 3) | 2);
            varint(out, b.len() as u64);
            out.extend_from_slice(b);
        }
        let mut out = Vec::new();
        for (field, value) in [
            (1u64, self.seq_id),
            (2, self.log_id),
            (3, i64::from(self.service).cast_unsigned()),
            (4, i64::from(self.method).cast_unsigned()),
        ] {
            varint(&mut out, field << 3);
            varint(&mut out, value);
        }
        for (k, v) in &self.headers {
            let mut header = Vec::new();
            bytes(&mut header, 1, k.as_bytes());
            bytes(&mut header, 2, v.as_bytes());
            bytes(&mut out, 5, &header);
        }
        if let Some(payload) = &self.payload {
            bytes(&mut out, 8, payload);
        }
        out
    }

    pub fn decode(mut data: &[u8]) -> Self {
        fn varint(data: &mut &[u8]) -> u64 {
            let mut value = 0u64;
            let mut shift = 0;
            loop {
                let byte = data[0];
                *data = &data[1..];
                value |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return value;
                }
                shift += 7;
            }
        }
        fn take<'a>(data: &mut &'a [u8]) -> &'a [u8] {
            let len = usize::try_from(varint(data)).unwrap();
            let (taken, rest) = data.split_at(len);
            *data = rest;
            taken
        }
        let mut frame = Self::default();
        while !data.is_empty() {
            let key = varint(&mut data);
            match (key >> 3, key & 7) {
                (1, 0) => frame.seq_id = varint(&mut data),
                (2, 0) => frame.log_id = varint(&mut data),
                (3, 0) => frame.service = i32::try_from(varint(&mut data).cast_signed()).unwrap(),
                (4, 0) => frame.method = i32::try_from(varint(&mut data).cast_signed()).unwrap(),
                (5, 2) => {
                    let mut header = take(&mut data);
                    let (mut k, mut v) = (String::new(), String::new());
                    while !header.is_empty() {
                        let tag = varint(&mut header);
                        let value = String::from_utf8(take(&mut header).to_vec()).unwrap();
                        if tag >> 3 == 1 {
                            k = value;
                        } else {
                            v = value;
                        }
                    }
                    frame.headers.push((k, v));
                }
                (8, 2) => frame.payload = Some(take(&mut data).to_vec()),
                (_, 2) => {
                    take(&mut data);
                }
                (_, _) => {
                    varint(&mut data);
                }
            }
        }
        frame
    }
}
