//! Deduplication: the platform delivers at least once, so the same event can arrive twice.

use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default time a key is remembered: 8 hours, longer than the platform's whole retry
/// schedule (7 h 5 min) and as long as the default freshness window.
pub const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(8 * 3600);

/// The default number of keys the in-memory store holds.
pub const DEFAULT_DEDUP_CAPACITY: usize = 100_000;

/// A dedup store failed (a shared store that is unreachable, say): what it was doing, and
/// the store's own error as the `source()`.
#[derive(Debug, thiserror::Error)]
#[error("the dedup store could not {action}")]
pub struct DedupError {
    action: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DedupError {
    /// The store could not do `action` ("mark the event as seen", say), for a reason its text
    /// gives.
    ///
    /// ```
    /// let err = lark_events::DedupError::new("mark the event as seen: the table is full");
    /// assert_eq!(err.to_string(), "the dedup store could not mark the event as seen: the table is full");
    /// ```
    pub fn new(action: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            source: None,
        }
    }

    /// The store could not do `action` because of `source`, its own error.
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// let err = lark_events::DedupError::because("mark the event as seen", refused);
    /// assert_eq!(err.to_string(), "the dedup store could not mark the event as seen");
    /// assert!(err.source().is_some_and(|cause| cause.is::<std::io::Error>()));
    /// ```
    pub fn because(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(action)
        }
    }
}

/// Where seen keys are remembered. Implementations must make `mark_if_new` atomic: of any
/// number of concurrent calls with one key, exactly one returns `true`.
#[async_trait]
pub trait DedupStore: Send + Sync + 'static {
    /// Marks `key` as seen for `ttl`; `true` if it was not seen before.
    async fn mark_if_new(&self, key: &str, ttl: Duration) -> Result<bool, DedupError>;

    /// Forgets `key`, so that a redelivery is handled (after a handler failed).
    async fn release(&self, key: &str) -> Result<(), DedupError>;

    /// Marks `key` without waiting, when the store can answer at once (an in-memory store);
    /// `None` when it cannot, and [`mark_if_new`](Self::mark_if_new) must be awaited. The
    /// default is `None`.
    fn try_mark_now(&self, key: &str, ttl: Duration) -> Option<Result<bool, DedupError>> {
        let _ = (key, ttl);
        None
    }

    /// Whether `key` is marked, without marking it, when the store can tell at once; `None`
    /// when it cannot. A redelivery the store knows is then answered before it is read in
    /// full. The default is `None`.
    fn try_seen_now(&self, key: &str) -> Option<bool> {
        let _ = key;
        None
    }
}

/// A dedup key, `prefix:id`, built on the stack when it is short (every key the platform's ids
/// make), on the heap otherwise.
#[derive(Clone)]
pub(crate) struct DedupKey {
    inline: [u8; 96],
    len: usize,
    heap: Option<String>,
}

impl DedupKey {
    pub(crate) fn new(prefix: &str, id: &str) -> Self {
        let len = prefix.len() + 1 + id.len();
        let mut key = Self {
            inline: [0; 96],
            len,
            heap: None,
        };
        if let Some(inline) = key.inline.get_mut(..len) {
            let (head, tail) = inline.split_at_mut(prefix.len());
            head.copy_from_slice(prefix.as_bytes());
            tail[0] = b':';
            tail[1..].copy_from_slice(id.as_bytes());
        } else {
            key.heap = Some(format!("{prefix}:{id}"));
        }
        key
    }

    pub(crate) fn as_str(&self) -> &str {
        match &self.heap {
            Some(heap) => heap,
            // Two whole strings joined by an ASCII byte: always UTF-8.
            None => std::str::from_utf8(&self.inline[..self.len]).unwrap_or_default(),
        }
    }
}

/// The default store: in memory, bounded, each key forgotten after its time-to-live (or, when
/// full, oldest first).
///
/// It keeps a 128-bit keyed hash of each key, not the key: a check allocates nothing once the
/// store has grown to its working size. The hash keys are random per store, so nobody can
/// choose two keys that collide; by chance, two of a million keys collide with odds below
/// one in 10^26.
#[derive(Debug)]
pub struct MemoryDedup {
    capacity: usize,
    hashers: (RandomState, RandomState),
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    expiry: HashMap<u128, Instant>,
    order: VecDeque<(Instant, u128)>,
}

impl MemoryDedup {
    /// A store holding at most `capacity` keys.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            hashers: (RandomState::new(), RandomState::new()),
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

    fn digest(&self, key: &str) -> u128 {
        (u128::from(self.hashers.0.hash_one(key)) << 64) | u128::from(self.hashers.1.hash_one(key))
    }

    /// Marks synchronously; `mark_if_new` is this behind the async trait.
    pub fn mark_now(&self, key: &str, ttl: Duration, now: Instant) -> bool {
        let key = self.digest(key);
        let mut inner = self.lock();
        if inner.expiry.get(&key).is_some_and(|expires| *expires > now) {
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
        inner.expiry.insert(key, expires);
        inner.order.push_back((expires, key));
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
        let key = self.digest(key);
        self.lock().expiry.remove(&key);
        Ok(())
    }

    fn try_mark_now(&self, key: &str, ttl: Duration) -> Option<Result<bool, DedupError>> {
        Some(Ok(self.mark_now(key, ttl, Instant::now())))
    }

    fn try_seen_now(&self, key: &str) -> Option<bool> {
        let key = self.digest(key);
        let now = Instant::now();
        Some(
            self.lock()
                .expiry
                .get(&key)
                .is_some_and(|expires| *expires > now),
        )
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

    #[test]
    fn a_key_is_built_on_the_stack_when_short_and_on_the_heap_when_long() {
        let short = DedupKey::new("event", "5e3702a84e847582be8db7fb73283c02");
        assert_eq!(short.as_str(), "event:5e3702a84e847582be8db7fb73283c02");
        assert!(short.heap.is_none());
        let id = "é".repeat(80);
        let long = DedupKey::new("message", &id);
        assert_eq!(long.as_str(), format!("message:{id}"));
        assert!(long.heap.is_some());
    }

    #[test]
    fn the_synchronous_mark_and_the_async_one_share_one_memory() {
        let store = MemoryDedup::default();
        let ttl = DEFAULT_DEDUP_TTL;
        assert!(matches!(store.try_mark_now("k", ttl), Some(Ok(true))));
        assert!(matches!(store.try_mark_now("k", ttl), Some(Ok(false))));
        assert!(!store.mark_now("k", ttl, Instant::now()));
    }

    #[test]
    fn seeing_a_key_does_not_mark_it() {
        let store = MemoryDedup::default();
        assert_eq!(store.try_seen_now("k"), Some(false));
        assert_eq!(
            store.try_seen_now("k"),
            Some(false),
            "looking did not mark it"
        );
        assert!(store.mark_now("k", DEFAULT_DEDUP_TTL, Instant::now()));
        assert_eq!(store.try_seen_now("k"), Some(true));
    }

    #[tokio::test]
    async fn a_released_key_is_new_again() {
        let store = MemoryDedup::default();
        assert!(store.mark_if_new("k", DEFAULT_DEDUP_TTL).await.unwrap());
        store.release("k").await.unwrap();
        assert!(store.mark_if_new("k", DEFAULT_DEDUP_TTL).await.unwrap());
    }
}
