//! Quotas kept on the client, before the platform enforces them: a call that would pass one
//! waits its turn, first in first out per key, and is never failed for it.

use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// At most `limit` calls in any window of `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Calls allowed in a window.
    pub limit: u32,
    /// The window.
    pub per: Duration,
}

impl Quota {
    /// `limit` calls per `per`.
    #[must_use]
    pub const fn new(limit: u32, per: Duration) -> Self {
        Self { limit, per }
    }

    /// The window with `margin_percent` added: the client's window is a little longer than the
    /// platform's, so that calls bunched up by the network on their way still arrive within
    /// the limit.
    #[must_use]
    pub fn window(&self, margin_percent: u32) -> Duration {
        self.per + self.per * margin_percent / 100
    }
}

/// The quotas a client keeps, by default the platform's published limits (docs/protocol.md
/// §4.3):
///
/// - every API, per app: 50 calls a second and 1,000 a minute;
/// - sends to one user or into one chat: 5 a second, shared by every bot there (230020);
/// - operations on one card entity: 10 a second.
///
/// ```
/// use lark_http::{Quota, Quotas};
/// use std::time::Duration;
///
/// let quotas = Quotas::default().with_per_receiver(vec![Quota::new(3, Duration::from_secs(1))]);
/// assert!(quotas.enabled);
/// assert!(!Quotas::off().enabled);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quotas {
    /// Whether calls wait for their quotas at all.
    pub enabled: bool,
    /// The quotas of each API, per app.
    pub per_api: Vec<Quota>,
    /// The quotas of sends to one receiver.
    pub per_receiver: Vec<Quota>,
    /// The quotas of operations on one card entity.
    pub per_card: Vec<Quota>,
    /// Percent added to each window (default 5): the network can bunch calls up on the way,
    /// and the platform counts them when they arrive.
    pub margin_percent: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            enabled: true,
            per_api: vec![
                Quota::new(50, Duration::from_secs(1)),
                Quota::new(1000, Duration::from_secs(60)),
            ],
            per_receiver: vec![Quota::new(5, Duration::from_secs(1))],
            per_card: vec![Quota::new(10, Duration::from_secs(1))],
            margin_percent: 5,
        }
    }
}

impl Quotas {
    /// No quotas kept: every call goes out at once, and the platform's refusals are retried.
    #[must_use]
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// With these per-API quotas.
    #[must_use]
    pub fn with_per_api(mut self, quotas: Vec<Quota>) -> Self {
        self.per_api = quotas;
        self
    }

    /// With these per-receiver quotas.
    #[must_use]
    pub fn with_per_receiver(mut self, quotas: Vec<Quota>) -> Self {
        self.per_receiver = quotas;
        self
    }

    /// With these per-card quotas.
    #[must_use]
    pub fn with_per_card(mut self, quotas: Vec<Quota>) -> Self {
        self.per_card = quotas;
        self
    }

    /// With this margin.
    #[must_use]
    pub fn with_margin_percent(mut self, percent: u32) -> Self {
        self.margin_percent = percent;
        self
    }
}

/// Counts calls against quotas, and makes a call wait until it fits. The default keeps the
/// counts in this process; `lark-redis` shares them between replicas.
#[async_trait]
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Waits until one more call under `key` stays within `limit` calls per `window`, then
    /// counts it. Calls under one key go in the order they asked; a call that is cancelled
    /// while it waits gives up its place.
    async fn acquire(&self, key: &str, limit: u32, window: Duration);
}

/// One key's calls inside its window, oldest first.
type Calls = Arc<tokio::sync::Mutex<VecDeque<Instant>>>;

/// Keys kept before idle ones are forgotten.
const PRUNE_ABOVE: usize = 4096;

/// A [`RateLimiter`] in this process's memory: a sliding window per key, behind a fair lock,
/// so that waiting calls go first in first out.
#[derive(Debug, Default)]
pub struct MemoryRateLimiter {
    /// Each key's calls, and the window they are counted in.
    windows: Mutex<HashMap<String, (Calls, Duration)>>,
}

impl MemoryRateLimiter {
    fn calls(&self, key: &str, window: Duration) -> Calls {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((calls, _)) = windows.get(key) {
            return calls.clone();
        }
        if windows.len() >= PRUNE_ABOVE {
            // Forget keys nobody waits on whose calls have all left their own windows.
            let now = Instant::now();
            windows.retain(|_, (calls, window)| {
                Arc::strong_count(calls) > 1
                    || calls.try_lock().map_or(true, |calls| {
                        calls.back().is_some_and(|last| now < *last + *window)
                    })
            });
        }
        windows
            .entry(key.to_owned())
            .or_insert_with(|| (Calls::default(), window))
            .0
            .clone()
    }

    /// Keys held now.
    #[must_use]
    pub fn keys(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn acquire(&self, key: &str, limit: u32, window: Duration) {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let calls = self.calls(key, window);
        let mut calls = calls.lock().await;
        loop {
            let now = Instant::now();
            while calls.front().is_some_and(|first| *first + window <= now) {
                calls.pop_front();
            }
            if calls.len() < limit {
                calls.push_back(now);
                return;
            }
            if let Some(first) = calls.front() {
                sleep_until(*first + window).await;
            }
        }
    }
}

/// The keys and quotas one call is counted against.
pub(crate) fn keys_for(
    quotas: &Quotas,
    app_id: &str,
    method: &http::Method,
    path: &str,
    scope: Option<&lark_api::QuotaScope>,
) -> Vec<(String, Quota)> {
    let mut keys = Vec::new();
    if !quotas.enabled {
        return keys;
    }
    let (name, scoped) = match scope {
        Some(lark_api::QuotaScope::Receiver(receiver)) => {
            (format!("receiver:{receiver}"), &quotas.per_receiver)
        }
        Some(lark_api::QuotaScope::Card(card)) => (format!("card:{card}"), &quotas.per_card),
        _ => (String::new(), &Vec::new()),
    };
    for quota in scoped {
        keys.push((
            format!("{name}#{}/{}ms", quota.limit, quota.per.as_millis()),
            *quota,
        ));
    }
    for quota in &quotas.per_api {
        keys.push((
            format!(
                "api:{app_id}:{method} {path}#{}/{}ms",
                quota.limit,
                quota.per.as_millis()
            ),
            *quota,
        ));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_under_one_key_wait_their_turn_in_order_and_never_fail() {
        let limiter = Arc::new(MemoryRateLimiter::default());
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for n in 0..12 {
            let (limiter, order) = (limiter.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                limiter.acquire("chat", 5, Duration::from_secs(1)).await;
                order.lock().unwrap().push((n, start.elapsed()));
            }));
            // Each task asks before the next is spawned.
            tokio::task::yield_now().await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let numbers: Vec<_> = order.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, (0..12).collect::<Vec<_>>(), "first in, first out");
        let seconds: Vec<_> = order.iter().map(|(_, at)| at.as_secs()).collect();
        assert_eq!(seconds, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_gives_up_its_place() {
        let limiter = Arc::new(MemoryRateLimiter::default());
        limiter.acquire("chat", 1, Duration::from_secs(1)).await;
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire("chat", 1, Duration::from_secs(1)).await })
        };
        tokio::task::yield_now().await;
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        let start = Instant::now();
        limiter.acquire("chat", 1, Duration::from_secs(1)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1), "next in line");
        limiter
            .acquire("another chat", 1, Duration::from_secs(1))
            .await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(1),
            "keys are independent"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn forgetting_idle_keys_keeps_each_call_for_its_own_window() {
        let limiter = MemoryRateLimiter::default();
        let minute = Duration::from_secs(63);
        let start = Instant::now();
        limiter.acquire("per minute", 1, minute).await;
        for n in 0..PRUNE_ABOVE {
            limiter
                .acquire(&format!("chat {n}"), 5, Duration::from_secs(1))
                .await;
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        limiter.acquire("one more", 5, Duration::from_secs(1)).await;
        assert!(limiter.keys() < 10, "idle one-second keys are forgotten");
        limiter.acquire("per minute", 1, minute).await;
        assert_eq!(start.elapsed(), minute, "the minute's call was remembered");
    }

    #[test]
    fn a_send_counts_against_its_receiver_and_its_api() {
        let quotas = Quotas::default();
        let scope = lark_api::QuotaScope::Receiver("chat_id:oc_1".to_owned());
        let keys = keys_for(
            &quotas,
            "cli_1",
            &http::Method::POST,
            "/open-apis/im/v1/messages",
            Some(&scope),
        );
        let names: Vec<_> = keys.iter().map(|(k, q)| (k.as_str(), q.limit)).collect();
        assert_eq!(
            names,
            [
                ("receiver:chat_id:oc_1#5/1000ms", 5),
                ("api:cli_1:POST /open-apis/im/v1/messages#50/1000ms", 50),
                (
                    "api:cli_1:POST /open-apis/im/v1/messages#1000/60000ms",
                    1000
                ),
            ]
        );
        assert!(keys_for(&Quotas::off(), "cli_1", &http::Method::GET, "/x", None).is_empty());
        assert_eq!(
            Quota::new(5, Duration::from_secs(1)).window(5),
            Duration::from_millis(1050)
        );
    }
}
