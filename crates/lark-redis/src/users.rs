//! Users' token pairs shared by every replica, refreshed by one of them at a time.

use crate::connection::Redis;
use crate::tokens::{COMPARE_AND_DELETE, owner_id};
use async_trait::async_trait;
use lark_http::{TokenStoreError, UserKey, UserTokenLock, UserTokenPair, UserTokenStore};
use std::time::{Duration, SystemTime};

/// How the user token store locks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserTokenStoreOptions {
    /// How long the refresh lock lives; a replica that dies holding it frees it after this.
    /// It must outlast a refresh call: a lock that lapses mid-refresh lets a second replica
    /// spend the same refresh token, and the platform then ends the sign-in.
    pub lock_ttl: Duration,
    /// How long a replica waits for the lock before giving up with an error. A replica never
    /// refreshes without the lock.
    pub max_wait: Duration,
    /// How often a waiting replica tries the lock again.
    pub poll_interval: Duration,
}

impl Default for UserTokenStoreOptions {
    /// A 60 s lock, longer than a refresh call with the client's default request timeout, and
    /// waits of at most 70 s, tried every 25 ms.
    fn default() -> Self {
        Self {
            lock_ttl: Duration::from_secs(60),
            max_wait: Duration::from_secs(70),
            poll_interval: Duration::from_millis(25),
        }
    }
}

/// A [`UserTokenStore`] on Redis: each user's pair under one key, and a lock (`SET NX PX`)
/// that lets one replica at a time refresh it.
///
/// Failure policy: when Redis fails, the store answers with an error and the session does not
/// refresh. Refreshing in one replica alone would spend the refresh token the others still
/// read from Redis, and the platform would end the sign-in at their next refresh.
#[derive(Clone, Debug)]
pub struct RedisUserTokenStore {
    redis: Redis,
    options: UserTokenStoreOptions,
    release: redis::Script,
}

/// The lock one holder took: its owner id, to release only its own.
struct Held {
    owner: String,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RedisUserTokenStore {
    /// The store on `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        Self::with_options(redis, UserTokenStoreOptions::default())
    }

    /// The store on `redis`, locking as `options` say.
    #[must_use]
    pub fn with_options(redis: Redis, options: UserTokenStoreOptions) -> Self {
        Self {
            redis,
            options,
            release: redis::Script::new(COMPARE_AND_DELETE),
        }
    }

    fn pair_key(&self, key: &UserKey) -> String {
        self.redis
            .key(&format!("user-token:{}", key.to_key_string()))
    }

    fn lock_key(&self, key: &UserKey) -> String {
        self.redis
            .key(&format!("user-token-lock:{}", key.to_key_string()))
    }
}

#[async_trait]
impl UserTokenStore for RedisUserTokenStore {
    async fn load(&self, key: &UserKey) -> Result<Option<UserTokenPair>, TokenStoreError> {
        let value: Option<String> = self
            .redis
            .run(redis::cmd("GET").arg(self.pair_key(key)))
            .await
            .map_err(|err| TokenStoreError::new("reading the user's token pair", err))?;
        value
            .map(|text| UserTokenPair::from_stored_json(&text))
            .transpose()
    }

    /// Stores the pair until its refresh token expires (or its access token, without one).
    async fn save(&self, key: &UserKey, pair: &UserTokenPair) -> Result<(), TokenStoreError> {
        let until = pair.refresh_expires_at.unwrap_or(pair.expires_at);
        let ttl = until
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .max(Duration::from_secs(1));
        self.redis
            .run::<()>(
                redis::cmd("SET")
                    .arg(self.pair_key(key))
                    .arg(pair.to_stored_json())
                    .arg("PX")
                    .arg(millis(ttl)),
            )
            .await
            .map_err(|err| TokenStoreError::new("storing the user's token pair", err))
    }

    async fn remove(&self, key: &UserKey) -> Result<(), TokenStoreError> {
        self.redis
            .run::<i64>(redis::cmd("DEL").arg(self.pair_key(key)))
            .await
            .map(drop)
            .map_err(|err| TokenStoreError::new("removing the user's token pair", err))
    }

    async fn lock(&self, key: &UserKey) -> Result<UserTokenLock, TokenStoreError> {
        let lock = self.lock_key(key);
        let owner = owner_id();
        let deadline = tokio::time::Instant::now() + self.options.max_wait;
        loop {
            let acquired: Option<String> = self
                .redis
                .run(
                    redis::cmd("SET")
                        .arg(&lock)
                        .arg(&owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(millis(self.options.lock_ttl)),
                )
                .await
                .map_err(|err| TokenStoreError::new("taking the user token lock", err))?;
            if acquired.is_some() {
                return Ok(UserTokenLock::new(Held { owner }));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TokenStoreError::msg(format!(
                    "another replica has held the user token lock for more than {} s; try again",
                    self.options.max_wait.as_secs()
                )));
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    async fn unlock(&self, key: &UserKey, lock: UserTokenLock) {
        let Ok(held) = lock.into_guard().downcast::<Held>() else {
            return;
        };
        if let Err(err) = self
            .redis
            .script::<i64>(&self.release, &[&self.lock_key(key)], &[&held.owner])
            .await
        {
            tracing::warn!(
                error = &err as &dyn std::error::Error,
                "could not release the user token lock; it expires by itself"
            );
        }
    }
}
