//! Signatures, encryption, freshness and tokens — and property tests that nothing an attacker
//! sends gets through or panics.

use http::{HeaderMap, HeaderValue};
use lark_events::{
    EncryptKey, EventConfig, EventError, Incoming, VerificationToken, receive, sign_event,
    sign_legacy_card,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEY: &str = "test key";
const TOKEN: &str = "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV";
const NOW: u64 = 1_700_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn config() -> EventConfig {
    EventConfig::new()
        .encrypt_key(KEY)
        .verification_token(TOKEN)
}

fn event_payload(token: &str) -> Vec<u8> {
    json!({
        "schema": "2.0",
        "header": {"event_id": "5e3702a84e847582be8db7fb73283c02", "event_type": "im.message.receive_v1", "create_time": "1608725989000",
                   "token": token, "app_id": "cli_9f5343c580712544", "tenant_key": "2ca1d211f64f6438"},
        "event": {"sender": {"sender_id": {"open_id": "ou_84aad35d084aa403a838cf73ee18467"}, "sender_type": "user"},
                  "message": {"message_id": "om_5ce6d572455d361153b7cb51da133945", "chat_id": "oc_5ce6d572455d361153b7xx51da133945",
                              "chat_type": "p2p", "message_type": "text", "content": "{\"text\":\"hi\"}"}}
    })
    .to_string()
    .into_bytes()
}

fn signed(payload: &[u8], timestamp: u64) -> lark_events::SignedRequest {
    sign_event(Some(&EncryptKey::new(KEY)), payload, timestamp, "8a32b7c4")
}

#[test]
fn a_signed_encrypted_event_is_accepted() {
    let request = signed(&event_payload(TOKEN), NOW);
    assert!(matches!(
        receive(&config(), &request.headers, &request.body, now()),
        Ok(Incoming::Event(_))
    ));
}

/// The signature over this exact body was computed independently with Python:
/// `python3 -c 'import hashlib; print(hashlib.sha256(b"1700000000" + b"nonce" + b"test key" + b"{\"encrypt\":\"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=\"}").hexdigest())'`
#[test]
fn the_signature_is_over_the_raw_body_bytes() {
    let body = br#"{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}"#;
    assert_eq!(
        lark_events::event_signature("1700000000", "nonce", &EncryptKey::new(KEY), body),
        "20f0b32d8b1a0744b1608bcfcf23584190cd720f9bd706adde9047c85ffb47ee"
    );
    // The same JSON with different spacing is a different body, so a different signature: the
    // check is never made on a re-serialized body.
    let respaced = br#"{ "encrypt": "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=" }"#;
    assert_ne!(
        lark_events::event_signature("1700000000", "nonce", &EncryptKey::new(KEY), respaced),
        "20f0b32d8b1a0744b1608bcfcf23584190cd720f9bd706adde9047c85ffb47ee"
    );
}

#[test]
fn a_tampered_body_or_signature_is_refused() {
    let request = signed(&event_payload(TOKEN), NOW);
    let mut body = request.body.to_vec();
    let last = body.len() - 3;
    body[last] ^= 1;
    assert!(matches!(
        receive(&config(), &request.headers, &body, now()),
        Err(EventError::BadSignature)
    ));
    let mut headers = request.headers.clone();
    headers.insert(
        "x-lark-signature",
        HeaderValue::from_static(
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
    );
    assert!(matches!(
        receive(&config(), &headers, &request.body, now()),
        Err(EventError::BadSignature)
    ));
}

#[test]
fn stale_and_future_timestamps_are_refused_and_the_window_can_be_turned_off() {
    let window = Duration::from_secs(8 * 3600);
    let old = signed(&event_payload(TOKEN), NOW - window.as_secs() - 1);
    assert!(matches!(
        receive(&config(), &old.headers, &old.body, now()),
        Err(EventError::Stale { future: false, .. })
    ));
    let edge = signed(&event_payload(TOKEN), NOW - window.as_secs());
    assert!(
        receive(&config(), &edge.headers, &edge.body, now()).is_ok(),
        "the platform's own retries fit the default window"
    );
    let future = signed(&event_payload(TOKEN), NOW + 600);
    assert!(matches!(
        receive(&config(), &future.headers, &future.body, now()),
        Err(EventError::Stale { future: true, .. })
    ));
    assert!(receive(&config().freshness(None), &old.headers, &old.body, now()).is_ok());
    let err = receive(&config(), &old.headers, &old.body, now()).unwrap_err();
    assert!(err.to_string().contains("behind now"), "{err}");
    assert_eq!(err.status(), 401);
}

#[test]
fn a_wrong_token_is_refused_even_inside_a_valid_signature() {
    let request = signed(&event_payload("not the token"), NOW);
    assert!(matches!(
        receive(&config(), &request.headers, &request.body, now()),
        Err(EventError::BadToken)
    ));
}

#[test]
fn encryption_must_match_the_configuration() {
    let plain = event_payload(TOKEN);
    assert!(matches!(
        receive(&config(), &HeaderMap::new(), &plain, now()),
        Err(EventError::NotEncrypted)
    ));
    let encrypted = signed(&plain, NOW);
    let no_key = EventConfig::new().verification_token(TOKEN);
    assert!(matches!(
        receive(&no_key, &encrypted.headers, &encrypted.body, now()),
        Err(EventError::NoEncryptKey)
    ));
    assert!(matches!(
        receive(&config(), &HeaderMap::new(), &encrypted.body, now()),
        Err(EventError::MissingSignature)
    ));
    let wrong_key = EventConfig::new()
        .encrypt_key("another key")
        .verification_token(TOKEN);
    assert!(matches!(
        receive(&wrong_key, &encrypted.headers, &encrypted.body, now()),
        Err(EventError::BadSignature)
    ));
    let wrong_key_unsigned = receive(
        &wrong_key.freshness(None),
        &HeaderMap::new(),
        &encrypted.body,
        now(),
    );
    assert!(
        matches!(wrong_key_unsigned, Err(EventError::Decrypt(_))),
        "{wrong_key_unsigned:?}"
    );
}

#[test]
fn a_signed_body_that_decrypts_to_bytes_that_are_not_json_is_a_decryption_error() {
    // What a wrong key gives whenever its garbage happens to end in valid padding.
    let request = signed(b"\x9c\x01 not json at all", NOW);
    let answer = receive(&config(), &request.headers, &request.body, now());
    let Err(EventError::Decrypt(why)) = &answer else {
        panic!("{answer:?}")
    };
    assert!(why.contains("another key"), "{why}");
}

#[test]
fn an_encrypted_challenge_is_answered_without_a_signature() {
    let challenge =
        json!({"challenge": "abc", "token": TOKEN, "type": "url_verification"}).to_string();
    let request = signed(challenge.as_bytes(), NOW);
    let Ok(Incoming::Challenge(answer)) =
        receive(&config(), &HeaderMap::new(), &request.body, now())
    else {
        panic!()
    };
    assert_eq!(answer.challenge, "abc");
}

/// Many apps point the event url and the card callback url at one endpoint with an encrypt
/// key set; the card url's challenge arrives plain (docs/protocol.md §5.2, §5.6).
#[test]
fn a_plain_card_url_challenge_with_the_right_token_is_answered_beside_an_encrypt_key() {
    let challenge =
        json!({"challenge": "abc", "token": TOKEN, "type": "url_verification"}).to_string();
    let Ok(Incoming::Challenge(answer)) =
        receive(&config(), &HeaderMap::new(), challenge.as_bytes(), now())
    else {
        panic!()
    };
    assert_eq!(answer.challenge, "abc");
    let wrong =
        json!({"challenge": "abc", "token": "guess", "type": "url_verification"}).to_string();
    assert!(matches!(
        receive(&config(), &HeaderMap::new(), wrong.as_bytes(), now()),
        Err(EventError::BadToken)
    ));
    let key_only = EventConfig::new().encrypt_key(KEY);
    assert!(matches!(
        receive(&key_only, &HeaderMap::new(), challenge.as_bytes(), now()),
        Err(EventError::NotEncrypted)
    ));
}

/// The official Go SDK (card/card.go) and Python SDK (card/action_handler.py) decrypt a legacy
/// callback that arrives encrypted, then check its sha1 signature over the raw request body.
#[test]
fn an_encrypted_legacy_card_callback_is_decrypted_and_its_sha1_signature_checked_on_the_raw_body() {
    use sha1::Digest as _;
    let plain = json!({"open_id": "ou_1", "open_message_id": "om_1", "open_chat_id": "oc_1", "token": "c-1", "action": {"value": {"k": "v"}, "tag": "button"}})
        .to_string();
    let encrypted = lark_events::encrypt_with_iv(&EncryptKey::new(KEY), plain.as_bytes(), [7; 16]);
    let raw = json!({ "encrypt": encrypted }).to_string();
    let sha1 = |token: &str| {
        let mut hasher = sha1::Sha1::new();
        hasher.update(format!("{NOW}n1{token}").as_bytes());
        hasher.update(raw.as_bytes());
        hasher.finalize().iter().fold(String::new(), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        })
    };
    let headers = |signature: String| {
        let mut headers = HeaderMap::new();
        headers.insert("x-lark-request-timestamp", HeaderValue::from(NOW));
        headers.insert("x-lark-request-nonce", HeaderValue::from_static("n1"));
        headers.insert(
            "x-lark-signature",
            HeaderValue::from_str(&signature).unwrap(),
        );
        headers
    };
    let Ok(Incoming::CardAction(action)) =
        receive(&config(), &headers(sha1(TOKEN)), raw.as_bytes(), now())
    else {
        panic!("the encrypted legacy callback is read")
    };
    assert_eq!(action.value_str("k"), Some("v"));
    assert!(matches!(
        receive(&config(), &headers(sha1("guess")), raw.as_bytes(), now()),
        Err(EventError::BadSignature)
    ));
    // An encrypted regular event with a wrong signature is still refused the same way.
    let forged = json!({ "encrypt": lark_events::encrypt_with_iv(&EncryptKey::new(KEY), &event_payload(TOKEN), [7; 16]) })
        .to_string();
    assert!(matches!(
        receive(&config(), &headers(sha1(TOKEN)), forged.as_bytes(), now()),
        Err(EventError::BadSignature)
    ));
}

#[test]
fn legacy_card_callbacks_need_their_sha1_signature() {
    let body = json!({"open_id": "ou_1", "open_message_id": "om_1", "open_chat_id": "oc_1", "token": "c-1", "action": {"value": {"k": "v"}, "tag": "button"}})
        .to_string();
    let token = VerificationToken::new(TOKEN);
    let request = sign_legacy_card(&token, body.as_bytes(), NOW, "n1");
    assert!(matches!(
        receive(&config(), &request.headers, &request.body, now()),
        Ok(Incoming::CardAction(_))
    ));
    let forged = sign_legacy_card(&VerificationToken::new("guess"), body.as_bytes(), NOW, "n1");
    assert!(matches!(
        receive(&config(), &forged.headers, &forged.body, now()),
        Err(EventError::BadSignature)
    ));
    assert!(matches!(
        receive(&config(), &HeaderMap::new(), body.as_bytes(), now()),
        Err(EventError::MissingSignature)
    ));
    let key_only = EventConfig::new().encrypt_key(KEY);
    assert!(matches!(
        receive(&key_only, &request.headers, &request.body, now()),
        Err(EventError::MissingSignature)
    ));
}

#[test]
fn oversized_and_malformed_bodies_get_clear_errors() {
    let big = vec![b' '; lark_events::DEFAULT_MAX_BODY + 1];
    let err = receive(&config(), &HeaderMap::new(), &big, now()).unwrap_err();
    assert_eq!(err.status(), 413);
    let err = receive(&EventConfig::new(), &HeaderMap::new(), b"not json", now()).unwrap_err();
    assert_eq!(err.status(), 400);
    let err = receive(
        &EventConfig::new(),
        &HeaderMap::new(),
        b"{\"hello\":1}",
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("neither a v2 event"), "{err}");
}

fn arbitrary_headers() -> impl Strategy<Value = HeaderMap> {
    proptest::collection::vec(
        (
            prop_oneof![
                Just("x-lark-request-timestamp"),
                Just("x-lark-request-nonce"),
                Just("x-lark-signature"),
                Just("content-type")
            ],
            "[ -~]{0,40}",
        ),
        0..4,
    )
    .prop_map(|pairs| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        headers
    })
}

/// The property suites; `cargo xtask fuzz` runs them with many cases.
mod fuzz {
    use super::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_and_headers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), headers in arbitrary_headers()) {
            for config in [config(), EventConfig::new(), EventConfig::new().verification_token(TOKEN)] {
                let _ = receive(&config, &headers, &body, now());
            }
        }

        #[test]
        fn arbitrary_json_shapes_never_panic(value in any_json(), encrypted in any::<bool>()) {
            let bytes = value.to_string().into_bytes();
            let request = if encrypted { signed(&bytes, NOW) } else { lark_events::SignedRequest { headers: HeaderMap::new(), body: bytes.into() } };
            for config in [config(), EventConfig::new()] {
                let _ = receive(&config, &request.headers, &request.body, now());
            }
        }

        #[test]
        fn any_tampered_body_byte_is_refused(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let request = signed(&event_payload(TOKEN), NOW);
            let mut body = request.body.to_vec();
            let at = index.index(body.len());
            body[at] ^= flip;
            prop_assert!(receive(&config(), &request.headers, &body, now()).is_err());
        }

        #[test]
        fn any_tampered_signature_is_refused(index in any::<prop::sample::Index>(), replacement in "[0-9a-f]") {
            let request = signed(&event_payload(TOKEN), NOW);
            let mut signature = request.headers["x-lark-signature"].to_str().unwrap().to_owned();
            let at = index.index(signature.len());
            prop_assume!(signature[at..=at] != replacement);
            signature.replace_range(at..=at, &replacement);
            let mut headers = request.headers.clone();
            headers.insert("x-lark-signature", HeaderValue::from_str(&signature).unwrap());
            prop_assert!(matches!(receive(&config(), &headers, &request.body, now()), Err(EventError::BadSignature)));
        }

        #[test]
        fn timestamps_outside_the_window_are_refused(offset in (8 * 3600 + 1u64)..(100 * 24 * 3600)) {
            let request = signed(&event_payload(TOKEN), NOW - offset);
            let refused = matches!(receive(&config(), &request.headers, &request.body, now()), Err(EventError::Stale { .. }));
            prop_assert!(refused);
        }

        #[test]
        fn a_wrong_token_is_always_refused(token in "[A-Za-z0-9]{0,40}") {
            prop_assume!(token != TOKEN);
            let request = signed(&event_payload(&token), NOW);
            prop_assert!(matches!(receive(&config(), &request.headers, &request.body, now()), Err(EventError::BadToken)));
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("2.0".to_owned()),
                Just("url_verification".to_owned()),
                Just("event_callback".to_owned()),
                Just("im.message.receive_v1".to_owned()),
                Just("card.action.trigger".to_owned()),
                ".{0,12}"
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 24, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("schema".to_owned()),
                        Just("header".to_owned()),
                        Just("event".to_owned()),
                        Just("event_type".to_owned()),
                        Just("type".to_owned()),
                        Just("message".to_owned()),
                        Just("action".to_owned()),
                        Just("open_message_id".to_owned()),
                        Just("encrypt".to_owned()),
                        Just("challenge".to_owned()),
                        "[a-z_]{1,8}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }
}
