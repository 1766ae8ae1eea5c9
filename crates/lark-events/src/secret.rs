//! The two secrets of event subscription. Each prints as `<redacted>` in `Debug`, has no
//! `Display`, and is only readable through `expose()`.

use sha2::{Digest, Sha256};
use std::fmt;

/// The "Encrypt Key" from the developer console: it encrypts event bodies and keys their
/// signatures. The AES key derived from it (its SHA-256) is computed once, here.
#[derive(Clone)]
pub struct EncryptKey {
    key: String,
    aes_key: [u8; 32],
}

impl EncryptKey {
    /// Wraps the key.
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        let key = key.into();
        let aes_key = Sha256::digest(key.as_bytes()).into();
        Self { key, aes_key }
    }

    /// The key itself, for computing signatures.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.key
    }

    /// SHA-256 of the key: the AES-256 key.
    pub(crate) fn aes_key(&self) -> &[u8; 32] {
        &self.aes_key
    }
}

impl PartialEq for EncryptKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for EncryptKey {}

impl fmt::Debug for EncryptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptKey(<redacted>)")
    }
}

/// The "Verification Token" from the developer console: every event carries it, and the legacy
/// card callback is signed with it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationToken(String);

impl VerificationToken {
    /// Wraps the token.
    #[must_use]
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secrets() {
        let key = EncryptKey::new("my encrypt key");
        let token = VerificationToken::new("066zT6pS4QCbgj5Do145GfDbbagCHGgF");
        let printed = format!("{key:?} {token:?}");
        assert!(
            !printed.contains("my encrypt key") && !printed.contains("066zT6"),
            "{printed}"
        );
    }
}
