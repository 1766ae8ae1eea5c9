//! Producing requests exactly as the platform would: for tests, users' and ours.

use crate::crypto::{encrypt_with_iv, event_signature, legacy_card_signature};
use crate::secret::{EncryptKey, VerificationToken};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

/// A body and the headers that go with it.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    /// The headers: content type, timestamp, nonce and (when signed) signature.
    pub headers: HeaderMap,
    /// The body: `{"encrypt": …}` when encrypted, else the payload itself.
    pub body: Bytes,
}

impl SignedRequest {
    /// As an `http::Request` to `uri`.
    pub fn into_request(self, uri: &str) -> Result<http::Request<Bytes>, http::Error> {
        let mut builder = http::Request::post(uri);
        if let Some(headers) = builder.headers_mut() {
            headers.extend(self.headers);
        }
        builder.body(self.body)
    }
}

fn random_iv() -> [u8; 16] {
    let mut iv = [0u8; 16];
    if getrandom::fill(&mut iv).is_err() {
        // The OS always has randomness where this runs; should it not, a fixed IV still gives a
        // body that decrypts, only without IV uniqueness (irrelevant for the test payloads this
        // helper exists for).
        iv = *b"lark-events-iv-0";
    }
    iv
}

fn base_headers(timestamp: u64, nonce: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert("x-lark-request-timestamp", HeaderValue::from(timestamp));
    if let Ok(nonce) = HeaderValue::from_str(nonce) {
        headers.insert("x-lark-request-nonce", nonce);
    }
    headers
}

/// An event (or new-style card callback) as the platform sends it: encrypted and signed when
/// `key` is given, plain otherwise.
#[must_use]
pub fn sign_event(
    key: Option<&EncryptKey>,
    payload: &[u8],
    timestamp: u64,
    nonce: &str,
) -> SignedRequest {
    let mut headers = base_headers(timestamp, nonce);
    let Some(key) = key else {
        return SignedRequest {
            headers,
            body: Bytes::copy_from_slice(payload),
        };
    };
    let encrypted = encrypt_with_iv(key, payload, random_iv());
    let body = Bytes::from(serde_json::json!({ "encrypt": encrypted }).to_string());
    let signature = event_signature(&timestamp.to_string(), nonce, key, &body);
    if let Ok(value) = HeaderValue::from_str(&signature) {
        headers.insert("x-lark-signature", value);
    }
    SignedRequest { headers, body }
}

/// A legacy card callback (`card.action.trigger_v1`) as the platform sends it: plain, signed
/// with sha1 and the verification token.
#[must_use]
pub fn sign_legacy_card(
    token: &VerificationToken,
    payload: &[u8],
    timestamp: u64,
    nonce: &str,
) -> SignedRequest {
    let mut headers = base_headers(timestamp, nonce);
    let signature = legacy_card_signature(&timestamp.to_string(), nonce, token, payload);
    if let Ok(value) = HeaderValue::from_str(&signature) {
        headers.insert("x-lark-signature", value);
    }
    SignedRequest {
        headers,
        body: Bytes::copy_from_slice(payload),
    }
}
