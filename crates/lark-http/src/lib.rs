#![doc = include_str!("../README.md")]

mod client;
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

pub use client::{AppKind, Client, ClientBuilder, Usage};
pub use error::{Error, ErrorKind, NetworkCause, TransferLimit};
pub use paginate::{Items, Pages};
pub use pipeline::{AnswerMeta, Decision, Outcome, Replay, decide};
pub use policy::{REISSUE_THRESHOLD, RetryPolicy, TokenPolicy, TransferTimeouts};
pub use proxy::{ProxyRoute, ProxySettings};
pub use quota::{MemoryRateLimiter, Quota, Quotas, RateLimiter};
pub use save::{Existing, Saved, sanitize_file_name};
pub use token::{
    CachedToken, ManualTime, MemoryTicketStore, SystemTimeSource, TicketStore, TimeSource,
    TokenFetch, TokenKey, TokenKind, TokenStore, TokenStoreError,
};
pub use transfer::{DownloadMeta, DownloadStream, Progress};
pub use transport::{
    BoxError, DEFAULT_MAX_CONNECTIONS_PER_HOST, HyperTransport, RequestBody, ResponseBody,
    Transport, TransportConfig, TransportError, full_body,
};

/// A random (version 4) uuid, as the idempotency key of a write.
#[must_use]
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS always provides randomness where this runs. Should it not, time and a counter
        // still make the key unique to this process, which is all idempotency needs.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(
            &u64::try_from(nanos % u128::from(u64::MAX))
                .unwrap_or(0)
                .to_le_bytes(),
        );
        bytes[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex: String = bytes.iter().fold(String::with_capacity(32), |mut out, b| {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xF)]));
        out
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
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
    }
}
