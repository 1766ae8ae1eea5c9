#![doc = include_str!("../README.md")]

mod client;
mod device;
mod error;
mod paginate;
mod pipeline;
mod policy;
mod proxy;
mod quota;
mod save;
#[cfg(any(test, feature = "test-util"))]
pub mod scripted;
mod token;
mod transfer;
mod transport;
mod user;
mod user_file;

pub use client::{AppKind, AsUser, Client, ClientBuilder, Usage};
pub use device::DevicePolling;
pub use error::{Error, ErrorKind, NetworkCause, TransferLimit};
pub use paginate::{Items, Pages};
pub use pipeline::{AnswerMeta, Decision, Outcome, Replay, decide};
pub use policy::{REISSUE_THRESHOLD, RetryPolicy, TokenPolicy, TransferTimeouts};
pub use proxy::{ProxyRoute, ProxySettings};
pub use quota::{MemoryRateLimiter, Quota, Quotas, RateLimiter};
pub use save::{Existing, Saved, sanitize_file_name};
pub use token::{
    CachedToken, ManualTime, MemoryTicketStore, SharedStores, SystemTimeSource, TicketStore,
    TimeSource, TokenFetch, TokenKey, TokenKind, TokenStore, TokenStoreError,
};
pub use transfer::{DownloadMeta, DownloadStream, Progress};
pub use transport::{
    BoxError, DEFAULT_MAX_CONNECTIONS_PER_HOST, HyperTransport, RequestBody, ResponseBody,
    Transport, TransportConfig, TransportError, full_body,
};
pub use user::{
    MemoryUserTokenStore, UserKey, UserSession, UserTokenLock, UserTokenPair, UserTokenStore,
};
pub use user_file::FileUserTokenStore;

/// A random (version 4) uuid, as the idempotency key of a write: from the thread's
/// cryptographic generator, seeded from the OS once per thread, so no call pays a system call.
#[must_use]
pub fn new_uuid() -> String {
    use rand::RngCore as _;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    // Written into a fixed buffer, then copied once: no growth checks per character.
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = HEX[usize::from(b >> 4)];
        out[at + 1] = HEX[usize::from(b & 0xF)];
        at += 2;
    }
    // Every byte is an ASCII hex digit or a dash, so this always reads as text.
    std::str::from_utf8(&out).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_are_v4_and_unique() {
        let a = super::new_uuid();
        let b = super::new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        let dashes: Vec<usize> = a.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, [8, 13, 18, 23]);
        assert!(
            matches!(&a[19..20], "8" | "9" | "a" | "b"),
            "the RFC 4122 variant: {a}"
        );
        let many: std::collections::HashSet<String> =
            (0..10_000).map(|_| crate::new_uuid()).collect();
        assert_eq!(many.len(), 10_000);
    }
}
