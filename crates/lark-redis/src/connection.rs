//! One Redis connection shared by the stores: opened lazily, reconnecting by itself, and shown
//! everywhere without its password.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// A Redis operation failed.
#[derive(Debug, thiserror::Error)]
#[error("redis at {url}: {message}")]
pub struct RedisStoreError {
    /// The server, without its password.
    pub url: String,
    /// What failed.
    pub message: String,
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
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "lark:".to_owned(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_millis(500),
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
}

struct Inner {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    url: String,
    options: RedisOptions,
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
            message: format!(
                "not a redis url ({:?}); write redis://[user:password@]host[:port][/db]",
                err.kind()
            ),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                manager: OnceCell::new(),
                url: shown,
                options,
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
        }
    }

    /// The connection, made on first use.
    pub(crate) async fn connection(&self) -> Result<ConnectionManager, RedisStoreError> {
        let options = &self.inner.options;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(options.connect_timeout)
            .set_response_timeout(options.response_timeout)
            .set_number_of_retries(1)
            .set_max_delay(200);
        let connect = self.inner.manager.get_or_try_init(|| {
            ConnectionManager::new_with_config(self.inner.client.clone(), config)
        });
        let manager = tokio::time::timeout(options.connect_timeout * 2, connect)
            .await
            .map_err(|_| {
                self.error(format!(
                    "no connection within {} ms",
                    (options.connect_timeout * 2).as_millis()
                ))
            })?
            .map_err(|err| self.error(describe(&err)))?;
        Ok(manager.clone())
    }

    /// Runs one command, within the response timeout.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<T, RedisStoreError> {
        let mut connection = self.connection().await?;
        let timeout = self.inner.options.response_timeout;
        tokio::time::timeout(timeout, command.query_async(&mut connection))
            .await
            .map_err(|_| self.error(format!("no answer within {} ms", timeout.as_millis())))?
            .map_err(|err| self.error(describe(&err)))
    }

    /// Runs a script, within the response timeout.
    pub(crate) async fn script<T: redis::FromRedisValue>(
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
            .map_err(|err| self.error(describe(&err)))
    }
}

fn describe(err: &redis::RedisError) -> String {
    if err.is_connection_refusal() {
        "connection refused: is redis-server running there?".to_owned()
    } else if err.is_timeout() {
        "timed out".to_owned()
    } else if err.kind() == redis::ErrorKind::AuthenticationFailed {
        "authentication failed: check the password in the url".to_owned()
    } else {
        err.to_string()
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
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("redis://"), "{err}");
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
        let text = err.to_string();
        assert!(text.starts_with("redis at redis://127.0.0.1:1/"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
