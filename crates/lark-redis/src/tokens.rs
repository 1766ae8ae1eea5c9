//! Tokens shared by every replica, fetched once for all of them.

use crate::connection::{Redis, log_fallback};
use async_trait::async_trait;
use lark_api::AccessToken;
use lark_http::{CachedToken, Error, TokenFetch, TokenKey, TokenStore, TokenStoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Deletes `KEYS[1]` only while it still holds `ARGV[1]`: a lock or a token someone else has
/// already replaced is left alone.
pub(crate) const COMPARE_AND_DELETE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Deletes the token stored under `KEYS[1]` only while it is still `ARGV[1]`.
const EVICT_TOKEN: &str = r"
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored).token == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// How the token store waits for another replica's fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenStoreOptions {
    /// How long the fetch lock lives; a replica that dies holding it frees it after this.
    pub lock_ttl: Duration,
    /// How long a replica waits for the lock holder's token before fetching its own.
    pub max_wait: Duration,
    /// How often it looks.
    pub poll_interval: Duration,
}

impl Default for TokenStoreOptions {
    /// A 10 s lock, and waits of at most 5 s polled every 25 ms: a token fetch takes well under
    /// a second, so the bound is only reached when the holder died or Redis is failing.
    fn default() -> Self {
        Self {
            lock_ttl: Duration::from_secs(10),
            max_wait: Duration::from_secs(5),
            poll_interval: Duration::from_millis(25),
        }
    }
}

/// A [`TokenStore`] on Redis: one token per base url, app, secret hash and tenant, shared by
/// every replica, with one fetch for all of them.
///
/// Failure policy: when Redis fails, every call returns an error and `lark-http` falls back
/// to its process cache, fetching a token for this process alone. Calls keep working; only
/// the sharing stops until Redis answers again.
#[derive(Clone, Debug)]
pub struct RedisTokenStore {
    redis: Redis,
    options: TokenStoreOptions,
    compare_and_delete: redis::Script,
    evict: redis::Script,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    token: String,
    expires_at_ms: u64,
    refresh_at_ms: u64,
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn owner_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}:{}:{}",
        std::process::id(),
        millis(SystemTime::now()),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl RedisTokenStore {
    /// The store on `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        Self::with_options(redis, TokenStoreOptions::default())
    }

    /// The store on `redis`, waiting as `options` say.
    #[must_use]
    pub fn with_options(redis: Redis, options: TokenStoreOptions) -> Self {
        Self {
            redis,
            options,
            compare_and_delete: redis::Script::new(COMPARE_AND_DELETE),
            evict: redis::Script::new(EVICT_TOKEN),
        }
    }

    fn token_key(&self, key: &TokenKey) -> String {
        self.redis.key(&format!("token:{}", key.to_key_string()))
    }

    fn lock_key(&self, key: &TokenKey) -> String {
        self.redis
            .key(&format!("token-lock:{}", key.to_key_string()))
    }

    async fn read(&self, key: &TokenKey) -> Result<Option<CachedToken>, TokenStoreError> {
        let value: Option<String> = self
            .redis
            .run(redis::cmd("GET").arg(self.token_key(key)))
            .await
            .map_err(|err| TokenStoreError::new("reading the token", err))?;
        let Some(value) = value else { return Ok(None) };
        let stored: Stored = serde_json::from_str(&value).map_err(|err| {
            TokenStoreError::new(
                format!(
                    "redis at {}: the token entry does not read",
                    self.redis.url()
                ),
                err,
            )
        })?;
        Ok(Some(CachedToken {
            token: AccessToken::new(stored.token),
            expires_at: UNIX_EPOCH + Duration::from_millis(stored.expires_at_ms),
            refresh_at: UNIX_EPOCH + Duration::from_millis(stored.refresh_at_ms),
        }))
    }

    async fn fresh(&self, key: &TokenKey) -> Option<CachedToken> {
        self.read(key)
            .await
            .ok()
            .flatten()
            .filter(|token| token.is_fresh(SystemTime::now()))
    }
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<CachedToken>, TokenStoreError> {
        self.read(key).await
    }

    /// Stores the token until its refresh time: no replica is handed a token that is due for
    /// replacement.
    async fn put(&self, key: &TokenKey, token: &CachedToken) -> Result<(), TokenStoreError> {
        let ttl = token
            .refresh_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let value = serde_json::to_string(&Stored {
            token: token.token.expose().to_owned(),
            expires_at_ms: millis(token.expires_at),
            refresh_at_ms: millis(token.refresh_at),
        })
        .map_err(|err| TokenStoreError::new("encoding the token", err))?;
        self.redis
            .run::<()>(
                redis::cmd("SET")
                    .arg(self.token_key(key))
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_ms),
            )
            .await
            .map_err(|err| TokenStoreError::new("storing the token", err))
    }

    async fn evict(&self, key: &TokenKey, token: &AccessToken) -> Result<(), TokenStoreError> {
        self.redis
            .script::<i64>(&self.evict, &[&self.token_key(key)], &[token.expose()])
            .await
            .map(drop)
            .map_err(|err| TokenStoreError::new("evicting the token", err))
    }

    /// One replica fetches, under a lock (`SET NX PX`); the others wait for its token, at most
    /// `max_wait`, then fetch their own.
    async fn fetch_once(
        &self,
        key: &TokenKey,
        fetch: TokenFetch<'_>,
    ) -> Result<CachedToken, Error> {
        let lock = self.lock_key(key);
        let owner = owner_id();
        let lock_ttl = u64::try_from(self.options.lock_ttl.as_millis()).unwrap_or(u64::MAX);
        let deadline = tokio::time::Instant::now() + self.options.max_wait;
        loop {
            let acquired: Result<Option<String>, _> = self
                .redis
                .run(
                    redis::cmd("SET")
                        .arg(&lock)
                        .arg(&owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(lock_ttl),
                )
                .await;
            match acquired {
                Ok(Some(_)) => {
                    // Another replica may have stored a token between our read and the lock.
                    if let Some(token) = self.fresh(key).await {
                        let _ = self
                            .redis
                            .script::<i64>(&self.compare_and_delete, &[&lock], &[&owner])
                            .await;
                        return Ok(token);
                    }
                    let fetched = fetch.await;
                    if let Ok(token) = &fetched
                        && let Err(err) = self.put(key, token).await
                    {
                        tracing::warn!(
                            error = &err as &dyn std::error::Error,
                            "could not share the fetched token"
                        );
                    }
                    if let Err(err) = self
                        .redis
                        .script::<i64>(&self.compare_and_delete, &[&lock], &[&owner])
                        .await
                    {
                        tracing::warn!(
                            error = &err as &dyn std::error::Error,
                            "could not release the token fetch lock; it expires by itself"
                        );
                    }
                    return fetched;
                }
                Ok(None) => {
                    if let Some(token) = self.fresh(key).await {
                        return Ok(token);
                    }
                    if tokio::time::Instant::now() >= deadline {
                        tracing::warn!(
                            waited_ms = u64::try_from(self.options.max_wait.as_millis())
                                .unwrap_or(u64::MAX),
                            "another replica holds the token fetch lock but no token came; fetching here"
                        );
                        break;
                    }
                    tokio::time::sleep(self.options.poll_interval).await;
                }
                Err(err) => {
                    log_fallback(&err, "fetching a token for this process only");
                    break;
                }
            }
        }
        let fetched = fetch.await?;
        if let Err(err) = self.put(key, &fetched).await {
            tracing::debug!(
                error = &err as &dyn std::error::Error,
                "could not share the fetched token"
            );
        }
        Ok(fetched)
    }
}
