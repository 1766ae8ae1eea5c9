//! One Redis connection shared by the stores: opened lazily, reconnecting by itself, skipped
//! for a while after a failure, and shown everywhere without its password.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A Redis operation failed, or was not tried because Redis failed a moment ago.
///
/// The text says what failed and what to do; the Redis client's own error, when there is one,
/// is the `source()`.
#[derive(Debug, thiserror::Error)]
#[error("redis at {url}: {message}")]
pub struct RedisStoreError {
    /// The server, without its password.
    pub url: String,
    /// What failed.
    pub message: String,
    skipped: bool,
    #[source]
    source: Option<redis::RedisError>,
}

impl RedisStoreError {
    /// True when Redis was not asked at all, because it failed within the last
    /// [`RedisOptions::breaker_cooldown`].
    #[must_use]
    pub fn is_skipped(&self) -> bool {
        self.skipped
    }
}

/// How long Redis may take, and where the stores' keys live.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Every key starts with this (default `lark:`), so that several deployments can share a
    /// server.
    pub prefix: String,
    /// How long a connection attempt may take (default 1 s).
    pub connect_timeout: Duration,
    /// How long one command may take (default 500 ms). A store call that fails this way
    /// follows the store's failure policy, so the bot keeps running while Redis is away.
    pub response_timeout: Duration,
    /// After a failure, Redis is not asked again for this long (default 5 s): every store
    /// call in that time follows its failure policy at once, instead of waiting for a
    /// server that just failed. Then one call tries again; the others keep skipping until it
    /// succeeds.
    pub breaker_cooldown: Duration,
}

impl Default for RedisOptions {
    /// Keys under `lark:`. 500 ms to connect and 500 ms per command: a Redis on the same
    /// network answers in about a millisecond, and two failed waits still leave most of the
    /// platform's 3 s ack budget for the handler. A 5 s cooldown: a dead Redis costs at most
    /// one slow call per 5 s, and a Redis that comes back is used again well before the
    /// platform's first redelivery (15 s).
    fn default() -> Self {
        Self {
            prefix: "lark:".to_owned(),
            connect_timeout: Duration::from_millis(500),
            response_timeout: Duration::from_millis(500),
            breaker_cooldown: Duration::from_secs(5),
        }
    }
}

impl RedisOptions {
    /// With keys under `prefix`.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// With these timeouts.
    #[must_use]
    pub fn with_timeouts(mut self, connect: Duration, response: Duration) -> Self {
        self.connect_timeout = connect;
        self.response_timeout = response;
        self
    }

    /// With this [`breaker_cooldown`](Self::breaker_cooldown).
    #[must_use]
    pub fn with_breaker_cooldown(mut self, cooldown: Duration) -> Self {
        self.breaker_cooldown = cooldown;
        self
    }
}

/// Whether Redis is being asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisHealth {
    /// Calls go to Redis.
    Available,
    /// Redis failed; calls skip it until `retry_in` has passed (zero: the next call tries).
    Skipping {
        /// How long until a call tries Redis again.
        retry_in: Duration,
    },
}

/// The circuit breaker: closed while Redis answers; open for the cooldown after a failure;
/// then one call at a time probes it.
#[derive(Default)]
struct Breaker {
    /// Set while open: when a call may probe again.
    open_until: Option<Instant>,
    /// A probe is in flight; other calls skip.
    probing: bool,
}

/// What the breaker lets a call do.
enum Admit {
    /// Ask Redis; `probe` when this call decides whether the breaker closes.
    Go { probe: bool },
    /// Do not; Redis is tried again after this.
    Skip(Duration),
}

/// Clears a probe that ended without an answer (its call was cancelled), so that the next
/// call may probe.
struct ProbeGuard<'a> {
    breaker: Option<&'a Mutex<Breaker>>,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(breaker) = self.breaker {
            breaker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .probing = false;
        }
    }
}

struct Inner {
    client: redis::Client,
    /// The connection; dropped when the breaker opens, so that the next try connects afresh.
    manager: Mutex<Option<ConnectionManager>>,
    /// Held while a connection is being made, so that callers share one.
    connecting: tokio::sync::Mutex<()>,
    url: String,
    options: RedisOptions,
    breaker: Mutex<Breaker>,
}

/// A Redis server the stores share. Cheap to clone. The connection is made on first use and
/// remade after a failure, so a server that comes back is used again without a restart.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.inner.url)
            .field("options", &self.inner.options)
            .finish()
    }
}

/// `url` with any password removed.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable url>".to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let host = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            if user.is_empty() {
                host.to_owned()
            } else {
                format!("{user}@{host}")
            }
        }
        None => authority.to_owned(),
    };
    match path {
        Some(path) => format!(
            "{scheme}://{host}/{}",
            path.split('?').next().unwrap_or_default()
        ),
        None => format!("{scheme}://{host}"),
    }
}

impl Redis {
    /// A server at `url` (`redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS),
    /// with the default options. Nothing is connected yet.
    pub fn open(url: &str) -> Result<Self, RedisStoreError> {
        Self::with_options(url, RedisOptions::default())
    }

    /// A server at `url` with `options`.
    pub fn with_options(url: &str, options: RedisOptions) -> Result<Self, RedisStoreError> {
        let shown = redacted(url);
        let client = redis::Client::open(url).map_err(|err| RedisStoreError {
            url: shown.clone(),
            message: "not a redis url; write redis://[user:password@]host[:port][/db]".to_owned(),
            skipped: false,
            source: Some(err),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                manager: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                url: shown,
                options,
                breaker: Mutex::new(Breaker::default()),
            }),
        })
    }

    /// The url, without its password.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &RedisOptions {
        &self.inner.options
    }

    /// `name` under the key prefix.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{name}", self.inner.options.prefix)
    }

    pub(crate) fn error(&self, message: impl fmt::Display) -> RedisStoreError {
        RedisStoreError {
            url: self.inner.url.clone(),
            message: message.to_string(),
            skipped: false,
            source: None,
        }
    }

    /// The Redis client failed with `err`: what it means as the text, `err` as the source.
    fn failed(&self, err: redis::RedisError) -> RedisStoreError {
        let message = describe(&err);
        RedisStoreError {
            source: Some(err),
            ..self.error(message)
        }
    }

    /// Whether calls go to Redis now.
    #[must_use]
    pub fn health(&self) -> RedisHealth {
        let breaker = self.breaker();
        match breaker.open_until {
            None => RedisHealth::Available,
            Some(until) => RedisHealth::Skipping {
                retry_in: until.saturating_duration_since(Instant::now()),
            },
        }
    }

    /// Asks Redis now, cooldown or not (`PING`), and closes the breaker when it answers: for
    /// a readiness check, or to use a Redis known to be back at once.
    pub async fn probe(&self) -> Result<(), RedisStoreError> {
        let _guard = self.start_probe();
        let answer = self.ask::<String>(&redis::cmd("PING")).await;
        self.settle(answer.as_ref().err());
        answer.map(drop)
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn admit(&self) -> Admit {
        let mut breaker = self.breaker();
        let Some(until) = breaker.open_until else {
            return Admit::Go { probe: false };
        };
        let now = Instant::now();
        if now < until {
            return Admit::Skip(until - now);
        }
        if breaker.probing {
            return Admit::Skip(Duration::ZERO);
        }
        breaker.probing = true;
        Admit::Go { probe: true }
    }

    fn start_probe(&self) -> ProbeGuard<'_> {
        self.breaker().probing = true;
        ProbeGuard {
            breaker: Some(&self.inner.breaker),
        }
    }

    /// Records how a call that went to Redis ended: a failure opens the breaker for the
    /// cooldown, a success closes it.
    fn settle(&self, failure: Option<&RedisStoreError>) {
        let cooldown = self.inner.options.breaker_cooldown;
        let mut breaker = self.breaker();
        breaker.probing = false;
        match failure {
            Some(err) => {
                // The next try connects afresh rather than through a connection that failed.
                self.inner
                    .manager
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if breaker.open_until.is_none() {
                    tracing::warn!(
                        error = err as &dyn std::error::Error,
                        cooldown_ms = u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX),
                        "redis failed; the stores skip it and follow their failure policies until it answers again"
                    );
                }
                breaker.open_until = Some(
                    Instant::now()
                        .checked_add(cooldown)
                        .unwrap_or_else(Instant::now),
                );
            }
            None => {
                if breaker.open_until.take().is_some() {
                    tracing::info!(url = %self.inner.url, "redis answers again; the stores use it");
                }
            }
        }
    }

    /// Runs `call` unless the breaker is open, and records how it ended.
    async fn guarded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisStoreError>>,
    ) -> Result<T, RedisStoreError> {
        let guard = match self.admit() {
            Admit::Skip(retry_in) => {
                return Err(RedisStoreError {
                    url: self.inner.url.clone(),
                    message: format!(
                        "skipped: it failed a moment ago, and is tried again in {} ms",
                        retry_in.as_millis()
                    ),
                    skipped: true,
                    source: None,
                });
            }
            Admit::Go { probe } => ProbeGuard {
                breaker: probe.then_some(&self.inner.breaker),
            },
        };
        let answer = call.await;
        self.settle(answer.as_ref().err());
        drop(guard);
        answer
    }

    fn current(&self) -> Option<ConnectionManager> {
        self.inner
            .manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The connection, made on first use and again after the breaker opened.
    pub(crate) async fn connection(&self) -> Result<ConnectionManager, RedisStoreError> {
        if let Some(manager) = self.current() {
            return Ok(manager);
        }
        let options = &self.inner.options;
        let connect = async {
            let _turn = self.inner.connecting.lock().await;
            if let Some(manager) = self.current() {
                return Ok(manager);
            }
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(options.connect_timeout)
                .set_response_timeout(options.response_timeout)
                .set_number_of_retries(0);
            let manager =
                ConnectionManager::new_with_config(self.inner.client.clone(), config).await?;
            *self
                .inner
                .manager
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(manager.clone());
            Ok(manager)
        };
        tokio::time::timeout(options.connect_timeout, connect)
            .await
            .map_err(|_| {
                self.error(format!(
                    "no connection within {} ms",
                    options.connect_timeout.as_millis()
                ))
            })?
            .map_err(|err: redis::RedisError| self.failed(err))
    }

    /// Runs one command, within the response timeout, unless Redis failed within the cooldown.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<T, RedisStoreError> {
        self.guarded(self.ask(command)).await
    }

    async fn ask<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<T, RedisStoreError> {
        let mut connection = self.connection().await?;
        let timeout = self.inner.options.response_timeout;
        tokio::time::timeout(timeout, command.query_async(&mut connection))
            .await
            .map_err(|_| self.error(format!("no answer within {} ms", timeout.as_millis())))?
            .map_err(|err| self.failed(err))
    }

    /// Runs a script, within the response timeout, unless Redis failed within the cooldown.
    pub(crate) async fn script<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[&str],
        args: &[&str],
    ) -> Result<T, RedisStoreError> {
        self.guarded(self.invoke(script, keys, args)).await
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[&str],
        args: &[&str],
    ) -> Result<T, RedisStoreError> {
        let mut connection = self.connection().await?;
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let timeout = self.inner.options.response_timeout;
        tokio::time::timeout(timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| self.error(format!("no answer within {} ms", timeout.as_millis())))?
            .map_err(|err| self.failed(err))
    }
}

/// Logs that a store fell back to its failure policy: a warning for a failure, which the
/// breaker has just logged too, and only a debug line for a call that skipped Redis.
pub(crate) fn log_fallback(err: &RedisStoreError, fallback: &str) {
    if err.is_skipped() {
        tracing::debug!(
            error = err as &dyn std::error::Error,
            fallback,
            "redis skipped"
        );
    } else {
        tracing::warn!(
            error = err as &dyn std::error::Error,
            fallback,
            "redis failed"
        );
    }
}

fn describe(err: &redis::RedisError) -> String {
    if err.is_connection_refusal() {
        "connection refused: is redis-server running there?".to_owned()
    } else if err.is_timeout() {
        "timed out".to_owned()
    } else if err.kind() == redis::ErrorKind::AuthenticationFailed {
        "authentication failed: check the password in the url".to_owned()
    } else if err.is_io_error() || err.is_connection_dropped() {
        "the connection failed".to_owned()
    } else {
        "redis refused the command".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redacted("redis://:hunter2@10.0.0.5:6380/2"),
            "redis://10.0.0.5:6380/2"
        );
        assert_eq!(
            redacted("rediss://bot:hunter2@cache.internal"),
            "rediss://bot@cache.internal"
        );
        assert_eq!(redacted("redis://127.0.0.1/"), "redis://127.0.0.1/");
        let redis = Redis::open("redis://bot:hunter2@127.0.0.1:1/0").unwrap();
        assert!(!format!("{redis:?}").contains("hunter2"));
        assert_eq!(redis.url(), "redis://bot@127.0.0.1:1/0");
        let err = Redis::open("http://:hunter2@nowhere").unwrap_err();
        let chain = chain_text(&err);
        assert!(!chain.contains("hunter2"), "{chain}");
        assert!(err.to_string().contains("redis://"), "{err}");
        assert!(
            std::error::Error::source(&err)
                .and_then(|cause| cause.downcast_ref::<redis::RedisError>())
                .is_some(),
            "the parser's error is kept: {chain}"
        );
    }

    /// The texts of `err` and every error under it, one a line.
    fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
        std::iter::successors(Some(err), |e| (*e).source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_clear_error_naming_it_without_the_password() {
        let redis = Redis::with_options(
            "redis://:hunter2@127.0.0.1:1/",
            RedisOptions::default()
                .with_timeouts(Duration::from_millis(200), Duration::from_millis(200)),
        )
        .unwrap();
        let err = redis.run::<String>(&redis::cmd("PING")).await.unwrap_err();
        let text = chain_text(&err);
        assert!(
            text.starts_with(
                "redis at redis://127.0.0.1:1/: connection refused: is redis-server running there?"
            ),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        let cause = std::error::Error::source(&err)
            .and_then(|cause| cause.downcast_ref::<redis::RedisError>())
            .expect("the redis client's error is the source");
        assert!(cause.is_connection_refusal(), "{cause}");
    }

    #[tokio::test]
    async fn after_a_failure_redis_is_skipped_until_the_cooldown_passes_or_a_probe() {
        // A server that accepts connections and never answers: the worst kind of dead.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, mut connections) = tokio::sync::mpsc::unbounded_channel();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                let _ = accepted.send(());
            }
        });
        let redis = Redis::with_options(
            &format!("redis://127.0.0.1:{port}/"),
            RedisOptions::default()
                .with_timeouts(Duration::from_millis(200), Duration::from_millis(200))
                .with_breaker_cooldown(Duration::from_secs(3600)),
        )
        .unwrap();
        assert_eq!(redis.health(), RedisHealth::Available);
        let failed = redis.run::<String>(&redis::cmd("PING")).await.unwrap_err();
        assert!(!failed.is_skipped(), "{failed}");
        connections.recv().await.unwrap();
        assert!(
            matches!(redis.health(), RedisHealth::Skipping { retry_in } if retry_in > Duration::from_secs(3000))
        );

        for _ in 0..100 {
            let skipped = redis.run::<String>(&redis::cmd("PING")).await.unwrap_err();
            assert!(skipped.is_skipped(), "{skipped}");
            assert!(skipped.to_string().contains("skipped"), "{skipped}");
        }
        assert!(
            connections.try_recv().is_err(),
            "no call reached the server while the breaker was open"
        );

        // A probe asks at once, and a failed one keeps the breaker open.
        assert!(!redis.probe().await.unwrap_err().is_skipped());
        assert!(matches!(redis.health(), RedisHealth::Skipping { .. }));
        silent.abort();
    }
}
