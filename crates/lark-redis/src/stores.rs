//! App tickets and event deduplication shared by every replica.

use crate::connection::{Redis, log_fallback};
use async_trait::async_trait;
use lark_api::AppTicket;
use lark_content::AppId;
use lark_events::{DedupError, DedupStore, MemoryDedup};
use lark_http::{MemoryTicketStore, TicketStore, TokenStoreError};
use std::time::Duration;

/// How long a stored app ticket is kept. The platform pushes a new one every hour; a day
/// covers any gap in its pushes.
pub const TICKET_TTL: Duration = Duration::from_secs(24 * 3600);

/// A [`TicketStore`] on Redis: the app ticket one replica receives is used by all.
///
/// Failure policy: when Redis fails, the ticket is kept and read in this process's memory,
/// so the replica that received it can still get tokens.
#[derive(Debug)]
pub struct RedisTicketStore {
    redis: Redis,
    local: MemoryTicketStore,
}

impl RedisTicketStore {
    /// The store on `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            local: MemoryTicketStore::default(),
        }
    }

    fn key(&self, app_id: &AppId) -> String {
        self.redis.key(&format!("app-ticket:{app_id}"))
    }
}

#[async_trait]
impl TicketStore for RedisTicketStore {
    async fn get(&self, app_id: &AppId) -> Result<Option<AppTicket>, TokenStoreError> {
        match self
            .redis
            .run::<Option<String>>(redis::cmd("GET").arg(self.key(app_id)))
            .await
        {
            Ok(Some(ticket)) => Ok(Some(AppTicket::new(ticket))),
            Ok(None) => self.local.get(app_id).await,
            Err(err) => {
                log_fallback(&err, "using this process's app ticket");
                self.local.get(app_id).await
            }
        }
    }

    async fn put(&self, app_id: &AppId, ticket: &AppTicket) -> Result<(), TokenStoreError> {
        self.local.put(app_id, ticket).await?;
        let ttl = TICKET_TTL.as_secs();
        if let Err(err) = self
            .redis
            .run::<()>(
                redis::cmd("SET")
                    .arg(self.key(app_id))
                    .arg(ticket.expose())
                    .arg("EX")
                    .arg(ttl),
            )
            .await
        {
            log_fallback(&err, "the app ticket is kept in this process only");
        }
        Ok(())
    }
}

/// What [`RedisDedupStore`] does when Redis fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DedupFailure {
    /// Deduplicate in this process's memory until Redis is back (the default). Nothing is
    /// delayed or lost; an event redelivered to another replica during the outage may be
    /// handled twice.
    Open,
    /// Refuse the delivery (the webhook answers 500, the long connection acks 500), so the
    /// platform delivers it again later. Nothing is handled twice; everything waits for Redis,
    /// and an event whose last retry (about 7 hours on) also finds Redis down is lost.
    Closed,
}

/// A [`DedupStore`] on Redis: `SET NX EX`, atomic across replicas. The TTL the dispatcher
/// passes (8 hours by default) outlasts the platform's retry schedule of 15 s, 5 min, 1 h and
/// 6 h.
#[derive(Debug)]
pub struct RedisDedupStore {
    redis: Redis,
    on_failure: DedupFailure,
    local: MemoryDedup,
}

impl RedisDedupStore {
    /// The store on `redis`, failing open.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        Self::with_failure_policy(redis, DedupFailure::Open)
    }

    /// The store on `redis` with the given failure policy.
    #[must_use]
    pub fn with_failure_policy(redis: Redis, on_failure: DedupFailure) -> Self {
        Self {
            redis,
            on_failure,
            local: MemoryDedup::default(),
        }
    }

    fn key(&self, key: &str) -> String {
        self.redis.key(&format!("dedup:{key}"))
    }
}

#[async_trait]
impl DedupStore for RedisDedupStore {
    async fn mark_if_new(&self, key: &str, ttl: Duration) -> Result<bool, DedupError> {
        let seconds = ttl.as_secs().max(1);
        let answer = self
            .redis
            .run::<Option<String>>(
                redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(1)
                    .arg("NX")
                    .arg("EX")
                    .arg(seconds),
            )
            .await;
        match (answer, self.on_failure) {
            (Ok(set), _) => Ok(set.is_some()),
            (Err(err), DedupFailure::Closed) => {
                Err(DedupError::because("mark the event as seen", err))
            }
            (Err(err), DedupFailure::Open) => {
                log_fallback(&err, "deduplicating in this process only");
                self.local.mark_if_new(key, ttl).await
            }
        }
    }

    async fn release(&self, key: &str) -> Result<(), DedupError> {
        let _ = self.local.release(key).await;
        self.redis
            .run::<i64>(redis::cmd("DEL").arg(self.key(key)))
            .await
            .map(drop)
            .map_err(|err| DedupError::because("forget the event", err))
    }
}
