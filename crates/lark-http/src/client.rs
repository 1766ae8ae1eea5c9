//! The client: configuration, tokens, and the one execute loop every call goes through.

use crate::error::Error;
use crate::pipeline::{AnswerMeta, Attempt, Attempted, Replay};
use crate::policy::{REISSUE_THRESHOLD, RetryPolicy, TokenPolicy, TransferTimeouts};
use crate::proxy::{ProxyRoute, ProxySettings};
use crate::quota::{MemoryRateLimiter, Quotas, RateLimiter};
use crate::token::{
    CachedToken, MemoryTicketStore, SystemTimeSource, TicketStore, TimeSource, TokenFetch,
    TokenKey, TokenKind, TokenManager, TokenStore,
};
use crate::transport::{
    HyperTransport, RequestBody, ResponseBody, Transport, TransportConfig, TransportError, Wire,
    full_body,
};
use bytes::Bytes;
use lark_api::auth::{
    AppAccessToken, AppTicketResend, TenantAccessToken, TenantAccessTokenInternal,
};
use lark_api::{
    AccessToken, ApiError, AppSecret, AppTicket, Auth, BaseUrl, Body, Endpoint, build_request,
    codes,
};
use lark_content::{AppId, TenantKey};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorKind;
use crate::token::TokenStoreError;
use crate::user::{Ended, UserSession, UserTokenPair};
use lark_api::oauth::{Grant, UserAccessToken};

fn signed_out(session: &UserSession) -> Error {
    Error::SignInAgain {
        user: session.key().user.clone(),
        why: "no sign-in is stored for this user".to_owned(),
    }
}

fn ended_error(session: &UserSession, ended: &Ended) -> Error {
    match ended {
        Ended::Refused(code) => Error::SignInAgain {
            user: session.key().user.clone(),
            why: format!("the platform refused the refresh token (code {code})"),
        },
    }
}

/// The largest response body read into memory for an ordinary call (downloads stream).
const MAX_RESPONSE: usize = 110 * 1024 * 1024;

/// Which kind of app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppKind {
    /// A self-built (internal) app: tokens from app_id and app_secret.
    SelfBuilt,
    /// A marketplace (ISV) app: tokens from the app ticket, per tenant.
    Marketplace,
}

/// Builds a [`Client`], or any client made from one (`C`): the facade's `lark::Client`
/// is built by this same builder, so every setting is reached in one place.
#[must_use]
pub struct ClientBuilder<C = Client> {
    base_url: BaseUrl,
    app_id: Option<AppId>,
    app_secret: Option<AppSecret>,
    kind: AppKind,
    tenant_key: Option<TenantKey>,
    transport_config: TransportConfig,
    transport: Option<Arc<dyn Transport>>,
    request_timeout: Duration,
    transfer: TransferTimeouts,
    retry: RetryPolicy,
    quotas: Quotas,
    limiter: Option<Arc<dyn RateLimiter>>,
    token_policy: TokenPolicy,
    token_store: Option<Arc<dyn TokenStore>>,
    ticket_store: Option<Arc<dyn TicketStore>>,
    user_agent: String,
    time: Arc<dyn TimeSource>,
    proxy: ProxySettings,
    target: std::marker::PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret)
            .field("kind", &self.kind)
            .field("request_timeout", &self.request_timeout)
            .field("transfer", &self.transfer)
            .field("retry", &self.retry)
            .field("quotas", &self.quotas)
            .field("token_policy", &self.token_policy)
            .finish_non_exhaustive()
    }
}

impl<C> Default for ClientBuilder<C> {
    fn default() -> Self {
        Self {
            base_url: BaseUrl::feishu(),
            app_id: None,
            app_secret: None,
            kind: AppKind::SelfBuilt,
            tenant_key: None,
            transport_config: TransportConfig::default(),
            transport: None,
            request_timeout: Duration::from_secs(30),
            transfer: TransferTimeouts::default(),
            retry: RetryPolicy::default(),
            quotas: Quotas::default(),
            limiter: None,
            token_policy: TokenPolicy::default(),
            token_store: None,
            ticket_store: None,
            user_agent: format!("lark-rs/{}", env!("CARGO_PKG_VERSION")),
            time: Arc::new(SystemTimeSource),
            proxy: ProxySettings::direct(),
            target: std::marker::PhantomData,
        }
    }
}

impl<C> ClientBuilder<C> {
    /// The app's credentials.
    ///
    /// ```
    /// use lark_http::Client;
    /// let builder = Client::builder().app("cli_a5fb0ae6a4000001", "the app secret");
    /// ```
    pub fn app(mut self, app_id: impl Into<AppId>, app_secret: impl Into<AppSecret>) -> Self {
        self.app_id = Some(app_id.into());
        self.app_secret = Some(app_secret.into());
        self
    }

    /// A marketplace app, acting in `tenant_key`. Its tokens come from the app ticket the
    /// platform pushes (hand each `app_ticket` event to [`Client::set_app_ticket`]).
    ///
    /// ```
    /// use lark_http::Client;
    /// use lark_content::TenantKey;
    ///
    /// let builder = Client::builder()
    ///     .app("cli_a5fb0ae6a4000001", "the app secret")
    ///     .marketplace(TenantKey::new("736588c9260f175d"));
    /// ```
    pub fn marketplace(mut self, tenant_key: TenantKey) -> Self {
        self.kind = AppKind::Marketplace;
        self.tenant_key = Some(tenant_key);
        self
    }

    /// Feishu (the default).
    ///
    /// ```
    /// use lark_http::Client;
    /// let builder = Client::builder().feishu(); // open.feishu.cn
    /// ```
    pub fn feishu(mut self) -> Self {
        self.base_url = BaseUrl::feishu();
        self
    }

    /// Lark.
    ///
    /// ```
    /// use lark_http::Client;
    /// let builder = Client::builder().lark(); // open.larksuite.com
    /// ```
    pub fn lark(mut self) -> Self {
        self.base_url = BaseUrl::lark();
        self
    }

    /// Any base url: an emulator, a proxy in front of the platform.
    ///
    /// ```
    /// use lark_api::BaseUrl;
    /// use lark_http::Client;
    ///
    /// let emulator = BaseUrl::parse("http://127.0.0.1:8080")?;
    /// let builder = Client::builder().base_url(emulator);
    /// # Ok::<(), lark_api::BuildError>(())
    /// ```
    pub fn base_url(mut self, base: BaseUrl) -> Self {
        self.base_url = base;
        self
    }

    /// How long a TCP connect may take (default 10 s).
    ///
    /// ```
    /// use lark_http::Client;
    /// use std::time::Duration;
    ///
    /// let builder = Client::builder().connect_timeout(Duration::from_secs(3));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport_config.connect_timeout = timeout;
        self
    }

    /// The most requests in flight to the platform at once (default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_HOST`](crate::DEFAULT_MAX_CONNECTIONS_PER_HOST)); further
    /// calls wait their turn within their request timeout.
    ///
    /// ```
    /// use lark_http::Client;
    ///
    /// let builder = Client::builder().max_connections_per_host(16);
    /// ```
    pub fn max_connections_per_host(mut self, max: usize) -> Self {
        self.transport_config.max_connections_per_host = max;
        self
    }

    /// How long an idle pooled connection is kept (default 90 s).
    ///
    /// ```
    /// use lark_http::Client;
    /// use std::time::Duration;
    ///
    /// let builder = Client::builder().pool_idle_timeout(Duration::from_secs(30));
    /// ```
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.transport_config.pool_idle_timeout = timeout;
        self
    }

    /// How long one attempt may take to answer (default 30 s).
    ///
    /// ```
    /// use lark_http::Client;
    /// use std::time::Duration;
    ///
    /// let builder = Client::builder().request_timeout(Duration::from_secs(10));
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The longest a transfer waits for its next chunk, either way, before it fails
    /// (default 30 s); see [`TransferTimeouts::read`].
    ///
    /// ```
    /// use lark_http::Client;
    /// use std::time::Duration;
    ///
    /// let builder = Client::builder().transfer_read_timeout(Duration::from_secs(60));
    /// ```
    pub fn transfer_read_timeout(mut self, timeout: Duration) -> Self {
        self.transfer.read = timeout;
        self
    }

    /// The longest a whole transfer may take, retries and their waits included (default
    /// 10 min); see [`TransferTimeouts::deadline`].
    ///
    /// ```
    /// use lark_http::Client;
    /// use std::time::Duration;
    ///
    /// // Large files over a slow link.
    /// let builder = Client::builder().transfer_deadline(Duration::from_secs(30 * 60));
    /// ```
    pub fn transfer_deadline(mut self, deadline: Duration) -> Self {
        self.transfer.deadline = deadline;
        self
    }

    /// Sends everything through an HTTP CONNECT proxy, loopback included: REST calls and the
    /// long connection's dial alike.
    ///
    /// ```
    /// use lark_http::Client;
    ///
    /// let proxy: http::Uri = "http://proxy.internal:3128".parse()?;
    /// let builder = Client::builder().proxy(proxy);
    /// # Ok::<(), http::uri::InvalidUri>(())
    /// ```
    pub fn proxy(mut self, proxy: http::Uri) -> Self {
        self.proxy = ProxySettings::always(proxy);
        self
    }

    /// Chooses a proxy per destination, e.g. [`ProxySettings::from_env`] (curl's rules).
    ///
    /// ```
    /// use lark_http::{Client, ProxySettings};
    ///
    /// let settings = ProxySettings::from_values("http://proxy.internal:3128", "", "localhost,.corp");
    /// let builder = Client::builder().proxy_settings(settings);
    /// ```
    pub fn proxy_settings(mut self, settings: ProxySettings) -> Self {
        self.proxy = settings;
        self
    }

    /// The quotas kept before the platform enforces them (default: its published limits;
    /// [`Quotas::off`] to send at once).
    ///
    /// ```
    /// use lark_http::{Client, Quotas};
    ///
    /// // Count each limit over a window 20 % longer than the platform's, which keeps the rate
    /// // about a sixth under it.
    /// let builder = Client::builder().quotas(Quotas::default().with_margin_percent(20));
    /// ```
    pub fn quotas(mut self, quotas: Quotas) -> Self {
        self.quotas = quotas;
        self
    }

    /// Where quota counts are kept (default: this process's memory). `lark-redis` shares them
    /// between replicas.
    ///
    /// ```
    /// use lark_http::{Client, MemoryRateLimiter};
    /// use std::sync::Arc;
    ///
    /// let builder = Client::builder().rate_limiter(Arc::new(MemoryRateLimiter::default()));
    /// ```
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The retry policy.
    ///
    /// ```
    /// use lark_http::{Client, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let retry = RetryPolicy::default()
    ///     .with_max_attempts(5)
    ///     .with_max_delay(Duration::from_secs(4));
    /// let builder = Client::builder().retry(retry);
    /// ```
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The token policy.
    ///
    /// ```
    /// use lark_http::{Client, TokenPolicy};
    /// use std::time::Duration;
    ///
    /// // Fetch a new tenant token ten minutes before the old one expires.
    /// let policy = TokenPolicy::default().with_refresh_margin(Duration::from_secs(600));
    /// let builder = Client::builder().token_policy(policy);
    /// ```
    pub fn token_policy(mut self, policy: TokenPolicy) -> Self {
        self.token_policy = policy;
        self
    }

    /// Where the token cache reads the time (the system clock by default). Tests put a
    /// [`ManualTime`](crate::ManualTime) here to move past a token's refresh time without
    /// waiting for it.
    ///
    /// ```
    /// use lark_http::{Client, ManualTime};
    /// use std::sync::Arc;
    /// use std::time::SystemTime;
    ///
    /// let clock = Arc::new(ManualTime::new(SystemTime::now()));
    /// let builder = Client::builder().time_source(clock.clone());
    /// ```
    pub fn time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time = time;
        self
    }

    /// Shares tokens and app tickets with the other replicas through `stores` (a
    /// `lark_redis::Redis`, say).
    ///
    /// ```
    /// use lark_http::{Client, ClientBuilder, SharedStores};
    ///
    /// // `stores` is a `lark_redis::Redis` in a deployment of several replicas.
    /// fn shared(stores: &impl SharedStores) -> ClientBuilder {
    ///     Client::builder().app("cli_a5fb0ae6a4000001", "the app secret").stores(stores)
    /// }
    /// ```
    pub fn stores(self, stores: &impl crate::token::SharedStores) -> Self {
        self.token_store(stores.token_store())
            .ticket_store(stores.ticket_store())
    }

    /// Shares tokens through `store` (several replicas fetch one token).
    ///
    /// ```
    /// use lark_http::{Client, ClientBuilder, TokenStore};
    /// use std::sync::Arc;
    ///
    /// fn with_tokens_in(store: Arc<dyn TokenStore>) -> ClientBuilder {
    ///     Client::builder().token_store(store)
    /// }
    /// ```
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_store = Some(store);
        self
    }

    /// Keeps marketplace app tickets in `store`.
    ///
    /// ```
    /// use lark_http::{Client, MemoryTicketStore};
    /// use std::sync::Arc;
    ///
    /// let builder = Client::builder().ticket_store(Arc::new(MemoryTicketStore::default()));
    /// ```
    pub fn ticket_store(mut self, store: Arc<dyn TicketStore>) -> Self {
        self.ticket_store = Some(store);
        self
    }

    /// Sends requests through `transport` instead of the default hyper client.
    ///
    /// ```
    /// use lark_http::{Client, ClientBuilder, Transport};
    /// use std::sync::Arc;
    ///
    /// // A transport that records requests, or one over another HTTP stack.
    /// fn through(transport: Arc<dyn Transport>) -> ClientBuilder {
    ///     Client::builder().transport(transport)
    /// }
    /// ```
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The `User-Agent` sent.
    ///
    /// ```
    /// use lark_http::Client;
    ///
    /// let builder = Client::builder().user_agent("release-bot/2.1");
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Reads `LARK_APP_ID`, `LARK_APP_SECRET`, and `LARK_BASE_URL` or `LARK_DOMAIN`
    /// (`feishu` or `lark`); proxies follow curl's rules (`HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY`, `NO_PROXY`), and loopback is never proxied.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the `LARK_*` variables read through `lookup`: a
    /// command line passes its flags first and the environment after, so every setting is
    /// read in one place. Proxies still come from the environment.
    ///
    /// ```
    /// use lark_http::ClientBuilder;
    ///
    /// let builder: ClientBuilder = ClientBuilder::from_vars(|name| match name {
    ///     "LARK_APP_ID" => Some("cli_a5fb0ae6a4000001".to_owned()),
    ///     "LARK_APP_SECRET" => Some("the app secret".to_owned()),
    ///     "LARK_DOMAIN" => Some("lark".to_owned()),
    ///     _ => None,
    /// })?;
    /// let client = builder.build()?;
    /// # Ok::<(), lark_http::Error>(())
    /// ```
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut builder = Self::default();
        match (var("LARK_APP_ID"), var("LARK_APP_SECRET")) {
            (Some(id), Some(secret)) => builder = builder.app(id.trim(), secret.trim()),
            _ => {
                return Err(Error::Config(
                    "set LARK_APP_ID and LARK_APP_SECRET to the app's credentials from the developer console".to_owned(),
                ));
            }
        }
        if let Some(base) = var("LARK_BASE_URL") {
            builder.base_url = BaseUrl::parse(&base)
                .map_err(|err| Error::Config(format!("LARK_BASE_URL: {err}")))?;
        } else if let Some(domain) = var("LARK_DOMAIN") {
            builder.base_url = match domain.to_ascii_lowercase().as_str() {
                "feishu" => BaseUrl::feishu(),
                "lark" | "larksuite" => BaseUrl::lark(),
                other => {
                    return Err(Error::Config(format!(
                        "LARK_DOMAIN is `{other}`; use feishu or lark"
                    )));
                }
            };
        }
        builder.proxy = ProxySettings::from_env();
        Ok(builder)
    }

    /// The client.
    pub fn build(self) -> Result<C, Error>
    where
        C: From<Client>,
    {
        self.build_client().map(C::from)
    }

    /// The executor's client, whatever `C` is.
    fn build_client(self) -> Result<Client, Error> {
        let (Some(app_id), Some(app_secret)) = (self.app_id, self.app_secret) else {
            return Err(Error::Config(
                "the client needs the app's credentials: ClientBuilder::app(app_id, app_secret)"
                    .to_owned(),
            ));
        };
        if app_id.is_empty() || app_secret.is_empty() {
            return Err(Error::Config(
                "app_id and app_secret must not be empty".to_owned(),
            ));
        }
        if self.token_policy.refresh_margin >= REISSUE_THRESHOLD {
            return Err(Error::Config(format!(
                "the token refresh margin must be under {} minutes: with more left, the platform returns the same token again",
                REISSUE_THRESHOLD.as_secs() / 60
            )));
        }
        if self.transport.is_none()
            && !crate::transport::HAS_ROOTS
            && self.base_url.as_str().starts_with("https:")
        {
            return Err(Error::Config(
                "no TLS roots are compiled in: enable lark-http's `webpki-roots` or `native-roots` feature to reach an https base url".to_owned(),
            ));
        }
        let transport = if let Some(transport) = self.transport {
            Wire::Custom(transport)
        } else {
            let mut config = self.transport_config;
            // The base url is fixed, so the route is chosen once.
            let base: http::Uri = self.base_url.as_str().parse().map_err(|_| {
                Error::Config(format!("the base url {} is not a uri", self.base_url))
            })?;
            if let Some(route) = self.proxy.route(&base) {
                config.proxy = Some(route.uri);
                config.proxy_authorization = route.authorization;
            }
            Wire::Hyper(
                HyperTransport::new(&config)
                    .map_err(|err| Error::Config(format!("TLS setup failed: {err}")))?,
            )
        };
        let tokens = TokenManager::new(
            self.token_store,
            self.token_policy.refresh_margin,
            self.time,
        );
        let inner = Arc::new(Inner {
            base: self.base_url,
            app_id,
            app_secret,
            kind: self.kind,
            transport,
            request_timeout: self.request_timeout,
            transfer: self.transfer,
            retry: self.retry,
            quotas: self.quotas,
            limiter: self
                .limiter
                .unwrap_or_else(|| Arc::new(MemoryRateLimiter::default())),
            tokens,
            tickets: self
                .ticket_store
                .unwrap_or_else(|| Arc::new(MemoryTicketStore::default())),
            user_agent: http::HeaderValue::try_from(self.user_agent).map_err(|_| {
                Error::Config("the user agent is not a valid header value".to_owned())
            })?,
            random: AtomicU64::new(seed()),
            proxy: self.proxy,
            usage: Mutex::new(BTreeMap::new()),
        });
        Ok(Client {
            keys: Arc::new(TokenKeys::new(&inner, self.tenant_key.as_ref())),
            inner,
            tenant_key: self.tenant_key,
            user: None,
        })
    }
}

/// The name of a method the platform's APIs use, as a static string; any other is counted as
/// `OTHER`.
fn method_name(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes) | 1
}

pub(crate) struct Inner {
    pub(crate) base: BaseUrl,
    pub(crate) app_id: AppId,
    pub(crate) app_secret: AppSecret,
    kind: AppKind,
    pub(crate) transport: Wire,
    pub(crate) request_timeout: Duration,
    pub(crate) transfer: TransferTimeouts,
    pub(crate) retry: RetryPolicy,
    quotas: Quotas,
    limiter: Arc<dyn RateLimiter>,
    pub(crate) tokens: TokenManager,
    tickets: Arc<dyn TicketStore>,
    user_agent: http::HeaderValue,
    random: AtomicU64,
    proxy: ProxySettings,
    usage: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

/// The calls a client made since it was built, per API: for keeping within the platform's
/// monthly call budget on the free plan. Every attempt counts, retries and token fetches
/// included, as the platform counts them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Calls per API, as (method, path template) → count, in path order.
    pub per_api: BTreeMap<(String, &'static str), u64>,
}

impl Usage {
    /// All calls.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.per_api.values().sum()
    }

    /// Calls to one API.
    #[must_use]
    pub fn of(&self, method: &http::Method, path: &str) -> u64 {
        self.per_api
            .iter()
            .filter(|((m, p), _)| m == method.as_str() && *p == path)
            .map(|(_, n)| *n)
            .sum()
    }
}

/// A Lark / Feishu API client: pooled connections, cached tokens, safe retries. Cheap to clone;
/// clones share everything.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    tenant_key: Option<TenantKey>,
    /// The cache keys of this client's tokens, worked out once: each holds a hash of the
    /// secret, which is not recomputed per call.
    keys: Arc<TokenKeys>,
    user: Option<AsUser>,
}

/// Whose token a client acting as a user sends: see [`Client::as_user`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AsUser {
    /// A user access token obtained elsewhere, sent as given: never refreshed.
    Token(AccessToken),
    /// A session, whose token is refreshed before it expires and when the platform reports
    /// it expired.
    Session(UserSession),
}

impl From<AccessToken> for AsUser {
    fn from(token: AccessToken) -> Self {
        Self::Token(token)
    }
}

impl From<UserSession> for AsUser {
    fn from(session: UserSession) -> Self {
        Self::Session(session)
    }
}

impl From<&UserSession> for AsUser {
    fn from(session: &UserSession) -> Self {
        Self::Session(session.clone())
    }
}

/// The cache keys of one client's tenant and app tokens.
struct TokenKeys {
    tenant: TokenKey,
    app: TokenKey,
}

impl TokenKeys {
    fn new(inner: &Inner, tenant_key: Option<&TenantKey>) -> Self {
        let key = |kind: TokenKind| {
            let tenant = match inner.kind {
                AppKind::Marketplace if kind == TokenKind::Tenant => tenant_key,
                AppKind::SelfBuilt | AppKind::Marketplace => None,
            };
            TokenKey::new(
                &inner.base,
                &inner.app_id,
                inner.app_secret.expose(),
                tenant,
                kind,
            )
        };
        Self {
            tenant: key(TokenKind::Tenant),
            app: key(TokenKind::App),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("app_id", &self.inner.app_id)
            .field("app_secret", &self.inner.app_secret)
            .field("kind", &self.inner.kind)
            .field("tenant_key", &self.tenant_key)
            .field("user", &self.user)
            .field("retry", &self.inner.retry)
            .field("token_margin", &self.inner.tokens.margin())
            .finish_non_exhaustive()
    }
}

type TokenFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Option<(AccessToken, Option<TokenKind>)>, Error>>
            + Send
            + 'a,
    >,
>;

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment; see [`ClientBuilder::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The base url.
    #[must_use]
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.base
    }

    /// The app id.
    #[must_use]
    pub fn app_id(&self) -> &AppId {
        &self.inner.app_id
    }

    /// The proxy a connection to `destination` goes through, by this client's settings: the
    /// long connection's dial asks here, so REST and the long connection agree.
    #[must_use]
    pub fn proxy_route(&self, destination: &http::Uri) -> Option<ProxyRoute> {
        self.inner.proxy.route(destination)
    }

    /// The retry policy.
    #[must_use]
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// A client acting as a user: calls that take a tenant token send the user's token
    /// instead. Give it a [`UserSession`] (`client.as_user(&session)`) for a token refreshed
    /// before it expires and when the platform reports it expired, or an [`AccessToken`] to
    /// send one as given.
    #[must_use]
    pub fn as_user(&self, user: impl Into<AsUser>) -> Self {
        Self {
            user: Some(user.into()),
            ..self.clone()
        }
    }

    /// A client for another tenant (marketplace apps).
    #[must_use]
    pub fn for_tenant(&self, tenant_key: TenantKey) -> Self {
        Self {
            keys: Arc::new(TokenKeys::new(&self.inner, Some(&tenant_key))),
            tenant_key: Some(tenant_key),
            ..self.clone()
        }
    }

    /// Asks where this app's long connection is (`POST /callback/ws/endpoint`), with the
    /// client's own credentials.
    pub async fn ws_endpoint(&self) -> Result<lark_api::ws::WsConnection, Error> {
        self.execute(lark_api::ws::WsEndpoint::new(
            self.inner.app_id.clone(),
            self.inner.app_secret.clone(),
        ))
        .await
    }

    /// Stores an app ticket the platform pushed (the `app_ticket` event), for marketplace apps.
    pub async fn set_app_ticket(&self, ticket: AppTicket) -> Result<(), Error> {
        self.inner
            .tickets
            .put(&self.inner.app_id, &ticket)
            .await
            .map_err(|err| Error::Store {
                action: "store the app ticket",
                source: Box::new(err),
            })
    }

    /// The calls this client and its clones made since it was built, per API.
    #[must_use]
    pub fn usage(&self) -> Usage {
        Usage {
            per_api: self
                .inner
                .usage
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .map(|(&(method, path), &count)| ((method.to_owned(), path), count))
                .collect(),
        }
    }

    /// Waits until a call fits its quotas.
    pub(crate) async fn keep_quotas(
        &self,
        method: &http::Method,
        path: &'static str,
        scope: Option<&lark_api::QuotaScope>,
    ) {
        let keys = crate::quota::keys_for(
            &self.inner.quotas,
            self.inner.app_id.as_str(),
            method,
            path,
            scope,
        );
        for (key, quota) in keys {
            let window = quota.window(self.inner.quotas.margin_percent);
            self.inner.limiter.acquire(&key, quota.limit, window).await;
        }
    }

    /// Whether any quota is kept.
    pub(crate) fn keeps_quotas(&self) -> bool {
        self.inner.quotas.enabled
    }

    /// Counts a call about to be sent; returns the API's count with it.
    pub(crate) fn count_call(&self, method: &http::Method, path: &'static str) -> u64 {
        let mut usage = self
            .inner
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = usage.entry((method_name(method), path)).or_insert(0);
        *count += 1;
        *count
    }

    pub(crate) fn next_random(&self) -> u64 {
        // A shared xorshift step: a different value for every caller, no lock.
        let mut value = self
            .inner
            .random
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        value ^= value >> 30;
        value = value.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value ^= value >> 27;
        value = value.wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    fn key(&self, kind: TokenKind) -> &TokenKey {
        match kind {
            TokenKind::App => &self.keys.app,
            TokenKind::Tenant | TokenKind::User => &self.keys.tenant,
        }
    }

    /// A token just fetched, to be cached for `expires_in` less the refresh margin.
    fn cached(&self, token: AccessToken, expires_in: Duration) -> CachedToken {
        CachedToken::new(
            token,
            self.inner.tokens.now(),
            expires_in,
            self.inner.tokens.margin(),
        )
    }

    /// The tenant access token, from the cache when fresh.
    pub async fn tenant_token(&self) -> Result<AccessToken, Error> {
        let key = self.key(TokenKind::Tenant);
        match self.inner.kind {
            AppKind::SelfBuilt => {
                let fetch = || -> TokenFetch<'_> {
                    Box::pin(async {
                        let endpoint = TenantAccessTokenInternal::new(
                            self.inner.app_id.clone(),
                            self.inner.app_secret.clone(),
                        );
                        let answer = self.run(endpoint).await?;
                        let expires_in = answer.expires_in();
                        Ok(self.cached(answer.tenant_access_token, expires_in))
                    })
                };
                self.inner.tokens.get(key, fetch).await
            }
            AppKind::Marketplace => {
                let tenant_key = self.tenant_key.clone().ok_or_else(|| {
                    Error::Config("a marketplace app needs a tenant: ClientBuilder::marketplace or Client::for_tenant".to_owned())
                })?;
                let app_token = self.app_token().await?;
                let fetch = || -> TokenFetch<'_> {
                    Box::pin(async {
                        let answer = self
                            .run(TenantAccessToken::new(app_token, tenant_key))
                            .await?;
                        let expires_in = answer.expires_in();
                        Ok(self.cached(answer.tenant_access_token, expires_in))
                    })
                };
                self.inner.tokens.get(key, fetch).await
            }
        }
    }

    /// The app access token, from the cache when fresh.
    pub async fn app_token(&self) -> Result<AccessToken, Error> {
        let key = self.key(TokenKind::App);
        let fetch = || -> TokenFetch<'_> {
            Box::pin(async {
                let answer = match self.inner.kind {
                    AppKind::SelfBuilt => {
                        self.run(lark_api::auth::AppAccessTokenInternal::new(
                            self.inner.app_id.clone(),
                            self.inner.app_secret.clone(),
                        ))
                        .await?
                    }
                    AppKind::Marketplace => {
                        let ticket = self
                            .inner
                            .tickets
                            .get(&self.inner.app_id)
                            .await
                            .ok()
                            .flatten();
                        let Some(ticket) = ticket else {
                            self.resend_ticket().await;
                            return Err(Error::AppTicketPending);
                        };
                        let endpoint = AppAccessToken::new(
                            self.inner.app_id.clone(),
                            self.inner.app_secret.clone(),
                            ticket,
                        );
                        match self.run(endpoint).await {
                            Err(err) if err.code() == Some(codes::APP_TICKET_INVALID) => {
                                self.resend_ticket().await;
                                return Err(err);
                            }
                            other => other?,
                        }
                    }
                };
                let expires_in = answer.expires_in();
                Ok(self.cached(answer.app_access_token, expires_in))
            })
        };
        self.inner.tokens.get(key, fetch).await
    }

    /// Trades `grant` (a code from the redirect, or an approved device code) for the user's
    /// token pair. Store it with [`UserSession::start`].
    pub async fn user_tokens(&self, grant: Grant) -> Result<UserTokenPair, Error> {
        let endpoint = UserAccessToken::new(
            self.inner.app_id.clone(),
            self.inner.app_secret.clone(),
            grant,
        );
        let tokens = self.run(endpoint).await?;
        Ok(UserTokenPair::from_answer(tokens, self.inner.tokens.now()))
    }

    /// The access token of `session`'s user: the pair at hand when fresh, else the stored one
    /// when fresh, else a new pair for the stored refresh token, fetched under the store's lock
    /// by one holder while every other holder, here or in another process, waits and reads it.
    pub async fn user_token(&self, session: &UserSession) -> Result<AccessToken, Error> {
        let margin = self.inner.tokens.margin();
        if let Some(token) = session.at_hand(self.inner.tokens.now(), margin) {
            return Ok(token);
        }
        let _flight = session.inner.flight.lock().await;
        if let Some(token) = session.at_hand(self.inner.tokens.now(), margin) {
            return Ok(token);
        }
        if let Some(ended) = session.ended() {
            return Err(ended_error(session, &ended));
        }
        let store = &session.inner.store;
        let key = session.key();
        let stored = store.load(key).await.map_err(|err| Error::Store {
            action: "read the user's token pair",
            source: Box::new(err),
        })?;
        match stored {
            Some(pair) if session.usable(&pair, self.inner.tokens.now(), margin) => {
                let token = pair.access_token.clone();
                session.set_current(pair);
                return Ok(token);
            }
            Some(_) => {}
            None => return Err(signed_out(session)),
        }
        let lock = store.lock(key).await.map_err(|err| Error::Store {
            action: "lock the user's token pair",
            source: Box::new(err),
        })?;
        let refreshed = self.refresh_locked(session, margin).await;
        store.unlock(key, lock).await;
        let pair = refreshed?;
        let token = pair.access_token.clone();
        session.set_current(pair);
        Ok(token)
    }

    /// Under the store's lock: the stored pair when another holder refreshed it meanwhile,
    /// else a refreshed one, stored before the lock is given back.
    async fn refresh_locked(
        &self,
        session: &UserSession,
        margin: Duration,
    ) -> Result<UserTokenPair, Error> {
        let store = &session.inner.store;
        let key = session.key();
        let store_error = |action: &'static str| {
            move |err: TokenStoreError| Error::Store {
                action,
                source: Box::new(err),
            }
        };
        let Some(pair) = store
            .load(key)
            .await
            .map_err(store_error("read the user's token pair"))?
        else {
            return Err(signed_out(session));
        };
        let now = self.inner.tokens.now();
        if session.usable(&pair, now, margin) {
            return Ok(pair);
        }
        let refresh_token = match &pair.refresh_token {
            Some(token) if pair.can_refresh(now) => token.clone(),
            Some(_) => {
                return Err(Error::SignInAgain {
                    user: key.user.clone(),
                    why: "the refresh token has expired".to_owned(),
                });
            }
            None => {
                return Err(Error::SignInAgain {
                    user: key.user.clone(),
                    why: "the sign-in has no refresh token (ask for the offline_access scope to get one)".to_owned(),
                });
            }
        };
        tracing::info!(user = %key.user, "refreshing the user's access token");
        let mut tries = 0;
        let answer = loop {
            tries += 1;
            match self
                .user_tokens(Grant::RefreshToken(refresh_token.clone()))
                .await
            {
                // The platform asks for one retry on this code (docs/protocol.md §4.4).
                Err(err) if err.code() == Some(codes::OAUTH_SERVER_ERROR) && tries == 1 => {}
                other => break other,
            }
        };
        match answer {
            Ok(mut fresh) => {
                fresh.open_id = pair.open_id.clone();
                if fresh.refresh_token.is_none() {
                    // An answer without a new refresh token leaves the sign-in without one.
                    tracing::warn!(user = %key.user, "the refresh answer carried no refresh token");
                }
                store
                    .save(key, &fresh)
                    .await
                    .map_err(store_error("store the refreshed user token pair"))?;
                Ok(fresh)
            }
            Err(err) if err.kind() == ErrorKind::SignInAgain => {
                let code = err.code().unwrap_or_default();
                session.end(Ended::Refused(code));
                // The pair is spent: forget it, so no holder sends its refresh token again.
                if let Err(remove) = store.remove(key).await {
                    tracing::warn!(
                        error = &remove as &dyn std::error::Error,
                        "could not remove the spent user token pair"
                    );
                }
                Err(err)
            }
            Err(err) => Err(err),
        }
    }

    async fn resend_ticket(&self) {
        let resend = AppTicketResend::new(self.inner.app_id.clone(), self.inner.app_secret.clone());
        if let Err(err) = self.run(resend).await {
            tracing::warn!(
                error = &err as &dyn std::error::Error,
                "asking the platform to resend the app ticket failed"
            );
        }
    }

    /// The token a call of kind `auth` is sent with, when it is at hand: a user token, or a
    /// fresh one in the cache. `None` when [`token_for`](Self::token_for) must be awaited.
    pub(crate) fn token_at_hand(&self, auth: Auth) -> Option<(AccessToken, Option<TokenKind>)> {
        let kind = match (auth, &self.user) {
            (Auth::Tenant | Auth::User, Some(AsUser::Token(token))) => {
                return Some((token.clone(), None));
            }
            (Auth::Tenant | Auth::User, Some(AsUser::Session(session))) => {
                return session
                    .at_hand(self.inner.tokens.now(), self.inner.tokens.margin())
                    .map(|token| (token, Some(TokenKind::User)));
            }
            _ => auth,
        };
        let kind = match kind {
            Auth::Tenant => TokenKind::Tenant,
            Auth::App => TokenKind::App,
            _ => return None,
        };
        self.inner
            .tokens
            .cached_fresh(self.key(kind))
            .map(|token| (token, Some(kind)))
    }

    /// The token a call of kind `auth` is sent with. Boxed as a plain trait object: fetching a
    /// token runs a call of its own, and the call's future would otherwise contain itself.
    pub(crate) fn token_for(&self, auth: Auth) -> TokenFuture<'_> {
        Box::pin(async move {
            Ok(match (auth, &self.user) {
                (Auth::None, _) => None,
                (Auth::Tenant | Auth::User, Some(AsUser::Session(session))) => {
                    Some((self.user_token(session).await?, Some(TokenKind::User)))
                }
                (Auth::Tenant | Auth::User, Some(AsUser::Token(token))) => {
                    Some((token.clone(), None))
                }
                (Auth::Tenant, None) => Some((self.tenant_token().await?, Some(TokenKind::Tenant))),
                (Auth::App, _) => Some((self.app_token().await?, Some(TokenKind::App))),
                _ => {
                    return Err(Error::Usage(
                        "this call needs a user access token: use Client::as_user".to_owned(),
                    ));
                }
            })
        })
    }

    /// Sends `endpoint` and reads its answer, with tokens, retries and tracing.
    ///
    /// A write that takes an idempotency uuid gets one when it has none, so a retry can never
    /// act twice.
    pub async fn execute<E>(&self, endpoint: E) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
    {
        self.call(JsonCall::new(endpoint))
            .await
            .map(|(output, _)| output)
    }

    /// [`execute`](Self::execute), returning beside the output what the answer said about
    /// itself: its log id and the rate-limit headers.
    pub async fn execute_with_meta<E>(&self, endpoint: E) -> Result<(E::Output, AnswerMeta), Error>
    where
        E: Endpoint + Send + Sync,
    {
        self.call(JsonCall::new(endpoint)).await
    }

    async fn run<E>(&self, endpoint: E) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
    {
        self.execute(endpoint).await
    }

    pub(crate) async fn evict(&self, kind: TokenKind, token: &AccessToken, api: &ApiError) {
        if kind == TokenKind::User {
            tracing::info!(
                code = api.code,
                "the platform refused the user's access token; refreshing it"
            );
            if let Some(AsUser::Session(session)) = &self.user {
                session.refused(token);
            }
            return;
        }
        tracing::info!(
            code = api.code,
            "the platform refused the cached token; fetching a new one"
        );
        self.inner.tokens.evict(self.key(kind), token).await;
        if api.code == codes::APP_TOKEN_INVALID && kind == TokenKind::Tenant {
            // A marketplace tenant token is derived from the app token; refresh both.
            let app_key = self.key(TokenKind::App);
            if let Some(app) = self.inner.tokens.cached(app_key) {
                self.inner.tokens.evict(app_key, &app).await;
            }
        }
    }

    /// The request for `endpoint` with `token`, ready for the transport.
    pub(crate) fn request_for<E: Endpoint>(
        &self,
        endpoint: &E,
        token: Option<&AccessToken>,
    ) -> Result<http::Request<RequestBody>, Error> {
        let request =
            build_request(endpoint, &self.inner.base, token).map_err(|err| Error::api(err, 0))?;
        self.prepare(request)
    }

    /// Turns a built request into one the transport sends.
    pub(crate) fn prepare(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Request<RequestBody>, Error> {
        let (mut parts, body) = request.into_parts();
        parts
            .headers
            .insert(http::header::USER_AGENT, self.inner.user_agent.clone());
        let body = match body.to_bytes() {
            Some(bytes) => full_body(bytes),
            None => {
                return Err(Error::Usage(
                    "this upload streams its file: send it with Client::upload_file, upload_image or upload_reader".to_owned(),
                ));
            }
        };
        Ok(http::Request::from_parts(parts, body))
    }

    /// Sends a request and reads the whole answer, within the request timeout.
    ///
    /// Built without an `async` layer of its own: the future is the timeout around the
    /// transport's exchange, so a call's future holds no second copy of the request.
    pub(crate) fn exchange(
        &self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, Failure>> + Send + '_ {
        use futures_util::FutureExt as _;
        use futures_util::future::Either;
        let exchange =
            match &self.inner.transport {
                Wire::Hyper(hyper) => Either::Left(hyper.exchange(request, MAX_RESPONSE)),
                Wire::Custom(custom) => Either::Right(Box::pin(
                    crate::transport::exchange_through(&**custom, request, MAX_RESPONSE),
                )),
            };
        tokio::time::timeout(self.inner.request_timeout, exchange).map(|answer| {
            answer
                .map_err(|_| Failure::Timeout)?
                .map_err(Failure::Transport)
        })
    }

    /// Sends a request and returns the answer with its body still streaming, within the request
    /// timeout for the head.
    pub(crate) async fn send_streaming(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<ResponseBody>, Failure> {
        tokio::time::timeout(
            self.inner.request_timeout,
            self.inner.transport.send(request),
        )
        .await
        .map_err(|_| Failure::Timeout)?
        .map_err(Failure::Transport)
    }

    /// The `User-Agent` header value.
    pub(crate) fn user_agent(&self) -> http::HeaderValue {
        self.inner.user_agent.clone()
    }
}

/// A JSON call: its body in memory, its answer read whole within the request timeout.
struct JsonCall<E> {
    endpoint: E,
}

impl<E: Endpoint> JsonCall<E> {
    fn new(mut endpoint: E) -> Self {
        if let Some(slot) = endpoint.idempotency_key()
            && slot.is_none()
        {
            *slot = Some(crate::new_uuid());
        }
        Self { endpoint }
    }
}

impl<E: Endpoint + Send + Sync> Attempt for JsonCall<E> {
    type Endpoint = E;
    type Output = E::Output;

    fn endpoint(&self) -> &E {
        &self.endpoint
    }

    fn replay(&self) -> Replay {
        if self.endpoint.is_idempotent() {
            Replay::Safe
        } else {
            Replay::Unsafe
        }
    }

    async fn once(
        &mut self,
        client: &Client,
        token: Option<&AccessToken>,
        attempt: u32,
        meta: &mut AnswerMeta,
    ) -> Attempted<E::Output> {
        let request = match client.request_for(&self.endpoint, token) {
            Ok(request) => request,
            Err(err) => return Attempted::Fatal(err),
        };
        match client.exchange(request).await {
            Err(failure) => Attempted::Failed(failure),
            Ok(response) => {
                *meta = AnswerMeta::of(response.status(), response.headers());
                match lark_api::parse_response(&self.endpoint, response) {
                    Ok(output) => Attempted::Done(output),
                    Err(lark_api::Error::Api(api)) => Attempted::Refused(api),
                    Err(other) => Attempted::Fatal(Error::api(other, attempt)),
                }
            }
        }
    }
}

/// A failed attempt below the platform's answer.
pub(crate) enum Failure {
    Timeout,
    Transport(TransportError),
}

impl Failure {
    pub(crate) fn into_error(self, host: &str, timeout: Duration, attempts: u32) -> Error {
        match self {
            Self::Timeout => Error::Timeout {
                after: timeout,
                attempts,
            },
            Self::Transport(err) => Error::transport(host, err.source, attempts),
        }
    }
}
