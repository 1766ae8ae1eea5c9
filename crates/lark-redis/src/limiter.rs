//! Quota counts shared by every replica, so that N replicas together stay inside the
//! platform's limits.

use crate::connection::{Redis, log_fallback};
use async_trait::async_trait;
use lark_http::{MemoryRateLimiter, RateLimiter};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A sliding window in a sorted set, timed by the Redis server's own clock so that replicas
/// with different clocks agree. Counts the call and returns 0 when it fits; otherwise returns
/// how many milliseconds until the oldest call leaves the window.
const ACQUIRE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)";

/// A [`RateLimiter`] on Redis: every replica counts its calls in one window per key.
///
/// Calls of one process under one key still go first in first out; between replicas, the
/// order is whoever asks Redis first once the window has room.
///
/// Failure policy: when Redis fails, each process keeps the quotas in its own memory until
/// Redis answers again. Calls keep going out, each replica within the limits on its own; the
/// platform's refusals of what several replicas send together are retried.
#[derive(Debug)]
pub struct RedisRateLimiter {
    redis: Redis,
    script: redis::Script,
    /// One lock per key, so that this process's calls wait in order.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    local: MemoryRateLimiter,
    sequence: AtomicU64,
    process: u64,
}

impl RedisRateLimiter {
    /// The limiter on `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        Self {
            redis,
            script: redis::Script::new(ACQUIRE),
            turns: Mutex::new(HashMap::new()),
            local: MemoryRateLimiter::default(),
            sequence: AtomicU64::new(0),
            process: u64::from_le_bytes(bytes),
        }
    }

    fn turn(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        if turns.len() >= 4096 {
            turns.retain(|_, turn| Arc::strong_count(turn) > 1);
        }
        turns.entry(key.to_owned()).or_default().clone()
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn acquire(&self, key: &str, limit: u32, window: Duration) {
        let turn = self.turn(key);
        let _turn = turn.lock().await;
        let redis_key = self.redis.key(&format!("quota:{key}"));
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        loop {
            // A member unique to this call, so that two calls in one millisecond both count.
            let member = format!(
                "{:x}-{}",
                self.process,
                self.sequence.fetch_add(1, Ordering::Relaxed)
            );
            let answer = self
                .redis
                .script::<u64>(
                    &self.script,
                    &[&redis_key],
                    &[&window_ms.to_string(), &limit.to_string(), &member],
                )
                .await;
            match answer {
                Ok(0) => return,
                Ok(wait_ms) => {
                    tokio::time::sleep(Duration::from_millis(wait_ms.min(window_ms))).await;
                }
                Err(err) => {
                    log_fallback(&err, "keeping quotas in this process only");
                    self.local.acquire(key, limit, window).await;
                    return;
                }
            }
        }
    }
}
