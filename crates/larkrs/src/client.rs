//! The facade's client: `lark-http`'s executor with the calls grouped by area.

use crate::areas::{Chats, Files, Images, Members, Messages};
use lark_api::{AccessToken, BaseUrl, Endpoint, Paginated};
use lark_content::{AppId, TenantKey};
use lark_http::{Error, Items, Pages, RetryPolicy, TokenPolicy, TokenStore, Transport};
use std::sync::Arc;
use std::time::Duration;

/// Builds a [`Client`].
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    http: lark_http::ClientBuilder,
    error: Option<String>,
}

impl ClientBuilder {
    fn map(
        self,
        change: impl FnOnce(lark_http::ClientBuilder) -> lark_http::ClientBuilder,
    ) -> Self {
        Self {
            http: change(self.http),
            ..self
        }
    }

    /// The app's credentials, from the developer console.
    pub fn app(self, app_id: impl Into<AppId>, app_secret: impl Into<lark_api::AppSecret>) -> Self {
        self.map(|http| http.app(app_id, app_secret))
    }

    /// Feishu (open.feishu.cn), the default.
    pub fn feishu(self) -> Self {
        self.map(lark_http::ClientBuilder::feishu)
    }

    /// Lark (open.larksuite.com).
    pub fn lark(self) -> Self {
        self.map(lark_http::ClientBuilder::lark)
    }

    /// Any base url: the emulator, or a proxy in front of the platform.
    pub fn base_url(self, base: BaseUrl) -> Self {
        self.map(|http| http.base_url(base))
    }

    /// A marketplace app acting in `tenant_key`.
    pub fn marketplace(self, tenant_key: TenantKey) -> Self {
        self.map(|http| http.marketplace(tenant_key))
    }

    /// How long a TCP connect may take (default 10 s).
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.map(|http| http.connect_timeout(timeout))
    }

    /// How long one attempt may take (default 30 s).
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.map(|http| http.request_timeout(timeout))
    }

    /// The most requests in flight to the platform at once (default 64); further calls wait
    /// their turn within their request timeout.
    pub fn max_connections_per_host(self, max: usize) -> Self {
        self.map(|http| http.max_connections_per_host(max))
    }

    /// How long an idle pooled connection is kept (default 90 s).
    pub fn pool_idle_timeout(self, timeout: Duration) -> Self {
        self.map(|http| http.pool_idle_timeout(timeout))
    }

    /// The longest a transfer waits for its next chunk (default 30 s).
    pub fn transfer_read_timeout(self, timeout: Duration) -> Self {
        self.map(|http| http.transfer_read_timeout(timeout))
    }

    /// The longest a whole transfer may take, retries included (default 10 min).
    pub fn transfer_deadline(self, deadline: Duration) -> Self {
        self.map(|http| http.transfer_deadline(deadline))
    }

    /// Sends everything through an HTTP CONNECT proxy.
    pub fn proxy(self, proxy: http::Uri) -> Self {
        self.map(|http| http.proxy(proxy))
    }

    /// The retry policy.
    pub fn retry(self, retry: RetryPolicy) -> Self {
        self.map(|http| http.retry(retry))
    }

    /// The quotas kept before the platform enforces them (default: its published limits).
    pub fn quotas(self, quotas: crate::Quotas) -> Self {
        self.map(|http| http.quotas(quotas))
    }

    /// Where quota counts are kept (default: this process's memory).
    pub fn rate_limiter(self, limiter: std::sync::Arc<dyn crate::RateLimiter>) -> Self {
        self.map(|http| http.rate_limiter(limiter))
    }

    /// The token policy.
    pub fn token_policy(self, policy: TokenPolicy) -> Self {
        self.map(|http| http.token_policy(policy))
    }

    /// Shares tokens between replicas through `store`.
    pub fn token_store(self, store: Arc<dyn TokenStore>) -> Self {
        self.map(|http| http.token_store(store))
    }

    /// Keeps marketplace app tickets in `store`.
    pub fn ticket_store(self, store: Arc<dyn lark_http::TicketStore>) -> Self {
        self.map(|http| http.ticket_store(store))
    }

    /// Sends requests through `transport`.
    pub fn transport(self, transport: Arc<dyn Transport>) -> Self {
        self.map(|http| http.transport(transport))
    }

    /// The `User-Agent` sent.
    pub fn user_agent(self, user_agent: impl Into<String>) -> Self {
        self.map(|http| http.user_agent(user_agent))
    }

    /// Reads `LARK_APP_ID`, `LARK_APP_SECRET`, and `LARK_BASE_URL` or `LARK_DOMAIN`.
    pub fn from_env() -> Result<Self, Error> {
        Ok(Self {
            http: lark_http::ClientBuilder::from_env()?,
            error: None,
        })
    }

    /// Shares tokens and marketplace app tickets with the other replicas through `redis`.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(self, redis: &lark_redis::Redis) -> Self {
        self.map(|http| {
            http.token_store(Arc::new(lark_redis::RedisTokenStore::new(redis.clone())))
                .ticket_store(Arc::new(lark_redis::RedisTicketStore::new(redis.clone())))
        })
    }

    /// Shares tokens and tickets through the Redis server at `url`; an invalid url is reported
    /// by [`build`](Self::build).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_url(self, url: &str) -> Self {
        match lark_redis::Redis::open(url) {
            Ok(redis) => self.redis(&redis),
            Err(err) => Self {
                error: Some(err.to_string()),
                ..self
            },
        }
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(error) = self.error {
            return Err(Error::Config(error));
        }
        Ok(Client {
            http: self.http.build()?,
        })
    }
}

/// A Lark / Feishu client. Cheap to clone; clones share connections and tokens.
///
/// The calls are grouped by area — [`messages`](Self::messages), [`chats`](Self::chats),
/// [`members`](Self::members), [`images`](Self::images), [`files`](Self::files) — and any
/// `lark-api` endpoint runs through [`execute`](Self::execute).
#[derive(Clone, Debug)]
pub struct Client {
    http: lark_http::Client,
}

impl From<lark_http::Client> for Client {
    fn from(http: lark_http::Client) -> Self {
        Self { http }
    }
}

impl Client {
    /// A builder.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), lark::Error> {
    /// let client = lark::Client::builder()
    ///     .app("cli_a5fb0ae6a4000001", "the app secret")
    ///     .lark()
    ///     .request_timeout(std::time::Duration::from_secs(10))
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `LARK_APP_ID`, `LARK_APP_SECRET`, and `LARK_BASE_URL` or `LARK_DOMAIN`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), lark::Error> {
    /// // LARK_APP_ID, LARK_APP_SECRET; LARK_DOMAIN=lark for larksuite.com
    /// let client = lark::Client::from_env()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// Sending, replying, editing, recalling, reacting, history.
    #[must_use]
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self)
    }

    /// Creating, reading, updating and listing chats.
    #[must_use]
    pub fn chats(&self) -> Chats<'_> {
        Chats::new(self)
    }

    /// A chat's members.
    #[must_use]
    pub fn members(&self) -> Members<'_> {
        Members::new(self)
    }

    /// Uploading and downloading images.
    #[must_use]
    pub fn images(&self) -> Images<'_> {
        Images::new(self)
    }

    /// Uploading and downloading files, and the resources inside received messages.
    #[must_use]
    pub fn files(&self) -> Files<'_> {
        Files::new(self)
    }

    /// Runs any endpoint, with tokens and retries.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // Any endpoint of lark::api, for calls the shortcuts do not cover.
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let link = client.execute(lark::api::im::chat_settings::ShareChat::new(chat)).await?;
    /// println!("{}", link.share_link);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute<E>(&self, endpoint: E) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
    {
        self.http.execute(endpoint).await
    }

    /// [`execute`](Self::execute), returning beside the output the answer's log id and
    /// rate-limit headers.
    pub async fn execute_with_meta<E>(
        &self,
        endpoint: E,
    ) -> Result<(E::Output, crate::AnswerMeta), Error>
    where
        E: Endpoint + Send + Sync,
    {
        self.http.execute_with_meta(endpoint).await
    }

    /// Every item of a list, fetched a page at a time as the stream is read.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let found: Vec<_> = client
    ///     .items(lark::api::im::chat_settings::SearchChats::new("incident"))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn items<E>(&self, request: E) -> Items<E>
    where
        E: Paginated + Send + Sync + Unpin + 'static,
        lark_api::ItemOf<E>: Send + Unpin + 'static,
    {
        self.http.items(request)
    }

    /// Every page of a list, fetched lazily.
    pub fn pages<E>(&self, request: E) -> Pages<E>
    where
        E: Paginated + Send + Sync + Unpin + 'static,
        lark_api::ItemOf<E>: Send + 'static,
    {
        self.http.pages(request)
    }

    /// The bot's own identity: its open_id (how mentions and senders name it) and its name.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let me = client.bot_info().await?;
    /// println!("I am {} ({})", me.app_name, me.open_id);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bot_info(&self) -> Result<lark_api::bot::BotInfo, Error> {
        self.execute(lark_api::bot::GetBotInfo).await
    }

    /// The tenant access token, from the cache when fresh.
    pub async fn tenant_token(&self) -> Result<AccessToken, Error> {
        self.http.tenant_token().await
    }

    /// A client acting as a user, with `token`.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let alice = client.as_user(lark::api::AccessToken::new("u-7f1bcd13fc57d46bac21793a18e560"));
    /// alice.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "sent as Alice").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn as_user(&self, token: AccessToken) -> Self {
        Self {
            http: self.http.as_user(token),
        }
    }

    /// The app id.
    #[must_use]
    pub fn app_id(&self) -> &AppId {
        self.http.app_id()
    }

    /// The calls made since the client was built, per API: for the free plan's monthly
    /// budget.
    #[must_use]
    pub fn usage(&self) -> crate::Usage {
        self.http().usage()
    }

    /// The underlying executor, for streaming transfers and everything else it offers.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // The executor itself: downloads with options, quotas, usage.
    /// let usage = client.http().usage();
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn http(&self) -> &lark_http::Client {
        &self.http
    }
}

#[cfg(all(test, feature = "redis"))]
mod tests {
    use super::*;

    #[test]
    fn a_bad_redis_url_is_reported_by_build_without_its_password() {
        let err = Client::builder()
            .app("cli_x", "secret")
            .redis_url("http://:hunter2@cache")
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("not a redis url") && !text.contains("hunter2"),
            "{text}"
        );
        Client::builder()
            .app("cli_x", "secret")
            .redis_url("redis://127.0.0.1:6379/")
            .build()
            .unwrap();
    }
}
