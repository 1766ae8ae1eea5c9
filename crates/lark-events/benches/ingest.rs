//! Webhook ingest of an encrypted `im.message.receive_v1` (verify, decrypt, parse, dedup) against
//! a raw baseline measured in the same run: sha256 of the signature input, AES-256-CBC
//! decryption and serde_json into a minimal struct.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use base64::Engine as _;
use lark_events::{EncryptKey, EventConfig, MemoryDedup, receive, sign_event};
use sha2::Digest as _;
use std::time::{Duration, Instant, SystemTime};

fn main() {
    divan::main();
}

const KEY: &str = "bench encrypt key";

fn payload() -> Vec<u8> {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/documented.json")).unwrap();
    all["receive_v1"]["payload"].to_string().into_bytes()
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Minimal {
    header: MinimalHeader,
    event: MinimalEvent,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct MinimalHeader {
    event_id: String,
    event_type: String,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct MinimalEvent {
    message: MinimalMessage,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct MinimalMessage {
    message_id: String,
    chat_id: String,
    content: String,
}

#[divan::bench]
fn encrypted_receive_ours(bencher: divan::Bencher) {
    let key = EncryptKey::new(KEY);
    let now = SystemTime::now();
    let ts = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signed = sign_event(Some(&key), &payload(), ts, "nonce-1");
    let config = EventConfig::new()
        .encrypt_key(KEY)
        .verification_token("rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV");
    let dedup = MemoryDedup::new(1 << 20);
    let mut n = 0u64;
    bencher.bench_local(|| {
        let incoming = receive(
            &config,
            &signed.headers,
            divan::black_box(&signed.body),
            now,
        )
        .unwrap();
        if let lark_events::Incoming::Event(event) = incoming {
            n += 1;
            for key in event.dedup_keys() {
                dedup.mark_now(
                    &format!("{key}:{n}"),
                    Duration::from_secs(60),
                    Instant::now(),
                );
            }
        }
    });
}

#[divan::bench]
fn encrypted_receive_baseline_raw(bencher: divan::Bencher) {
    let key = EncryptKey::new(KEY);
    let signed = sign_event(Some(&key), &payload(), 1_700_000_000, "nonce-1");
    let aes_key: [u8; 32] = sha2::Sha256::digest(KEY.as_bytes()).into();
    bencher.bench_local(|| {
        let body = divan::black_box(&signed.body);
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"1700000000nonce-1");
        hasher.update(KEY.as_bytes());
        hasher.update(body);
        let _digest = hasher.finalize();
        let outer: serde_json::Value = serde_json::from_slice(body).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(outer["encrypt"].as_str().unwrap())
            .unwrap();
        let (iv, ciphertext) = raw.split_at(16);
        let iv: [u8; 16] = iv.try_into().unwrap();
        let plain = cbc::Decryptor::<aes::Aes256>::new(&aes_key.into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .unwrap();
        serde_json::from_slice::<Minimal>(&plain).unwrap()
    });
}
