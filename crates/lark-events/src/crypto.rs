//! The platform's event cryptography, from its documentation:
//!
//! - decryption: `raw = base64(encrypt)`, `iv = raw[..16]`, AES-256-CBC with key
//!   SHA-256(encrypt key), strict PKCS#7;
//! - the event signature: `hex(sha256(timestamp + nonce + encrypt_key + raw body))`;
//! - the legacy card signature: `hex(sha1(timestamp + nonce + verification_token + raw body))`.
//!
//! Comparisons are constant-time.

use crate::error::EventError;
use crate::secret::{EncryptKey, VerificationToken};
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type Decryptor = cbc::Decryptor<aes::Aes256>;
type Encryptor = cbc::Encryptor<aes::Aes256>;

/// Decrypts an `encrypt` value, in the buffer it was decoded into.
pub fn decrypt(key: &EncryptKey, encrypted: &str) -> Result<Vec<u8>, EventError> {
    let mut raw = STANDARD
        .decode(encrypted.trim())
        .map_err(|_| EventError::decrypt("the `encrypt` value is not base64"))?;
    if raw.len() < 32 || raw.len() % 16 != 0 {
        return Err(EventError::decrypt(
            "the `encrypt` value is not an IV followed by whole AES blocks",
        ));
    }
    let (iv, ciphertext) = raw.split_at_mut(16);
    let iv: [u8; 16] = (&*iv)
        .try_into()
        .map_err(|_| EventError::decrypt("the IV is not 16 bytes"))?;
    let plain = Decryptor::new(key.aes_key().into(), &iv.into())
        .decrypt_padded_mut::<Pkcs7>(ciphertext)
        .map_err(|_| {
            EventError::decrypt(
                "the padding is wrong: the body was encrypted with another key, or is corrupt",
            )
        })?
        .len();
    raw.copy_within(16..16 + plain, 0);
    raw.truncate(plain);
    Ok(raw)
}

/// Encrypts as the platform does, with the given IV.
#[must_use]
pub fn encrypt_with_iv(key: &EncryptKey, plaintext: &[u8], iv: [u8; 16]) -> String {
    let ciphertext =
        Encryptor::new(key.aes_key().into(), &iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext);
    let mut raw = Vec::with_capacity(16 + ciphertext.len());
    raw.extend_from_slice(&iv);
    raw.extend_from_slice(&ciphertext);
    STANDARD.encode(raw)
}

fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(byte >> 4)];
        out[2 * i + 1] = HEX[usize::from(byte & 0xF)];
    }
}

/// The event signature, lower-case hex.
#[must_use]
pub fn event_signature(timestamp: &str, nonce: &str, key: &EncryptKey, body: &[u8]) -> String {
    String::from_utf8_lossy(&event_signature_hex(timestamp, nonce, key, body)).into_owned()
}

/// [`event_signature`], as bytes on the stack.
pub(crate) fn event_signature_hex(
    timestamp: &str,
    nonce: &str,
    key: &EncryptKey,
    body: &[u8],
) -> [u8; 64] {
    let mut hasher = Sha256::new();
    hasher.update(timestamp.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(key.expose().as_bytes());
    hasher.update(body);
    let mut out = [0u8; 64];
    hex_into(&hasher.finalize(), &mut out);
    out
}

/// The legacy card-callback signature, lower-case hex.
#[must_use]
pub fn legacy_card_signature(
    timestamp: &str,
    nonce: &str,
    token: &VerificationToken,
    body: &[u8],
) -> String {
    let mut hasher = Sha1::new();
    hasher.update(timestamp.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(token.expose().as_bytes());
    hasher.update(body);
    let mut out = [0u8; 40];
    hex_into(&hasher.finalize(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Constant-time equality of a signature header with the expected value (case-insensitive hex).
pub(crate) fn signature_matches(expected: &str, given: &str) -> bool {
    let given = given.trim().as_bytes();
    let expected = expected.as_bytes();
    if expected.len() != given.len() || expected.len() > 64 {
        return false;
    }
    let mut lower = [0u8; 64];
    for (out, byte) in lower.iter_mut().zip(given) {
        *out = byte.to_ascii_lowercase();
    }
    bool::from(expected.ct_eq(&lower[..given.len()]))
}

/// Constant-time equality of two tokens.
pub(crate) fn token_matches(expected: &VerificationToken, given: &str) -> bool {
    let expected = expected.expose().as_bytes();
    let given = given.as_bytes();
    expected.len() == given.len() && bool::from(expected.ct_eq(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/protocol.md §6, V1: documented by the platform.
    #[test]
    fn decrypts_the_documented_vector_v1() {
        let key = EncryptKey::new("test key");
        assert_eq!(
            decrypt(&key, "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=").unwrap(),
            b"hello world"
        );
    }

    /// docs/protocol.md §6, V5: a round trip with a fixed IV.
    #[test]
    fn encrypts_and_decrypts_the_documented_vector_v5() {
        let key = EncryptKey::new("test key");
        let iv: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let plaintext = br#"{"challenge":"abc","token":"v","type":"url_verification"}"#;
        let encrypted = encrypt_with_iv(&key, plaintext, iv);
        assert_eq!(
            encrypted,
            "AAECAwQFBgcICQoLDA0OD6alpwIsMFbSsWTHppjb1mE7o8oW7T8vJ7C6kV8w75gu/s+0c6FUAdSg8/t/lI4Ez2ocgdCAS0cvWqC+SZL1LmQ="
        );
        assert_eq!(decrypt(&key, &encrypted).unwrap(), plaintext);
    }

    #[test]
    fn a_wrong_key_or_corrupt_input_is_an_error_not_a_panic() {
        let wrong = EncryptKey::new("another key");
        assert!(decrypt(&wrong, "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=").is_err());
        let key = EncryptKey::new("test key");
        for bad in [
            "",
            "not base64!",
            "AAAA",
            "P37w+VZImNgPEO1RBhJ6Rg==",
            "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzgh",
        ] {
            assert!(decrypt(&key, bad).is_err(), "{bad}");
        }
    }

    /// Known answers computed independently with Python's hashlib:
    /// `python3 -c 'import hashlib; print(hashlib.sha256(b"1700000000" + b"nonce-1" + b"test key" + b"{}").hexdigest())'`
    /// `python3 -c 'import hashlib; print(hashlib.sha1(b"1700000000" + b"nonce-1" + b"vtoken" + b"{}").hexdigest())'`
    #[test]
    fn signatures_match_independent_computations() {
        assert_eq!(
            event_signature("1700000000", "nonce-1", &EncryptKey::new("test key"), b"{}"),
            "f8817a3cfa9ed5499ad610e7a3aa4bc0c0553939e9a1ed3b40ce9d5f680536b1"
        );
        assert_eq!(
            legacy_card_signature(
                "1700000000",
                "nonce-1",
                &VerificationToken::new("vtoken"),
                b"{}"
            ),
            "7abfed18150b60aea62556c2a4837c7896b80377"
        );
    }

    #[test]
    fn signature_comparison_ignores_case_and_rejects_near_misses() {
        let expected = "f8817a3cfa9ed5499ad610e7a3aa4bc0c0553939e9a1ed3b40ce9d5f680536b1";
        assert!(signature_matches(expected, &expected.to_uppercase()));
        assert!(!signature_matches(expected, &expected[..63]));
        assert!(!signature_matches(
            expected,
            "f8817a3cfa9ed5499ad610e7a3aa4bc0c0553939e9a1ed3b40ce9d5f680536b2"
        ));
    }
}
