//! Deduplication: the platform delivers at least once, so the same event can arrive twice.

use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default time a key is remembered: 8 hours, longer than the platform's whole retry
/// schedule (7 h 5 min) and as long as the default freshness window.
pub const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(8 * 3600);

/// The default number of keys the in-memory store holds.
pub const DEFAULT_DEDUP_CAPACITY: usize = 100_000;

/// A dedup store failed (a shared store that is unreachable, say).
#[derive(Debug, thiserror::Error)]
#[error("dedup store: {0}")]
pub struct DedupError(pub String);

/// Where seen keys are remembered. Implementations must make `mark_if_new` atomic: of any
/// number of concurrent calls with one key, exactly one returns `true`.
#[async_trait]
pub trait DedupStore: Send + Sync + 'static {
    /// Marks `key` as seen for `ttl`; `true` if it was not seen before.
    async fn mark_if_new(&self, key: &str, ttl: Duration) -> Result<bool, DedupError>;

    /// Forgets `key`, so that a redelivery is handled (after a handler failed).
    async fn release(&self, key: &str) -> Result<(), DedupError>;
}

/// The default store: in memory, bounded, each key forgotten after its time-to-live (or, when
/// full, oldest first).
#[derive(Debug)]
pub struct MemoryDedup {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    expiry: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
}

impl MemoryDedup {
    /// A store holding at most `capacity` keys.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// How many keys it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().expiry.len()
    }

    /// Whether it holds none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks synchronously; `mark_if_new` is this behind the async trait.
    pub fn mark_now(&self, key: &str, ttl: Duration, now: Instant) -> bool {
        let mut inner = self.lock();
        if inner.expiry.get(key).is_some_and(|expires| *expires > now) {
            return false;
        }
        while let Some((expires, _)) = inner.order.front() {
            if *expires > now && inner.expiry.len() < self.capacity {
                break;
            }
            let Some((expires, old)) = inner.order.pop_front() else {
                break;
            };
            if inner.expiry.get(&old) == Some(&expires) {
                inner.expiry.remove(&old);
            }
        }
        let expires = now + ttl;
        inner.expiry.insert(key.to_owned(), expires);
        inner.order.push_back((expires, key.to_owned()));
        true
    }
}

impl Default for MemoryDedup {
    fn default() -> Self {
        Self::new(DEFAULT_DEDUP_CAPACITY)
    }
}

#[async_trait]
impl DedupStore for MemoryDedup {
    async fn mark_if_new(&self, key: &str, ttl: Duration) -> Result<bool, DedupError> {
        Ok(self.mark_now(key, ttl, Instant::now()))
    }

    async fn release(&self, key: &str) -> Result<(), DedupError> {
        self.lock().expiry.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_new_once_until_it_expires() {
        let store = MemoryDedup::new(10);
        let now = Instant::now();
        let ttl = Duration::from_secs(60);
        assert!(store.mark_now("event:1", ttl, now));
        assert!(!store.mark_now("event:1", ttl, now + Duration::from_secs(59)));
        assert!(store.mark_now("event:1", ttl, now + Duration::from_secs(61)));
    }

    #[test]
    fn a_full_store_forgets_the_oldest_key() {
        let store = MemoryDedup::new(2);
        let now = Instant::now();
        let ttl = Duration::from_secs(60);
        assert!(store.mark_now("a", ttl, now));
        assert!(store.mark_now("b", ttl, now));
        assert!(store.mark_now("c", ttl, now));
        assert_eq!(store.len(), 2);
        assert!(store.mark_now("a", ttl, now), "a was evicted");
        assert!(!store.mark_now("c", ttl, now));
    }

    #[tokio::test]
    async fn a_released_key_is_new_again() {
        let store = MemoryDedup::default();
        assert!(store.mark_if_new("k", DEFAULT_DEDUP_TTL).await.unwrap());
        store.release("k").await.unwrap();
        assert!(store.mark_if_new("k", DEFAULT_DEDUP_TTL).await.unwrap());
    }
}
