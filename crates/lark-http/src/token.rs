//! The token manager: a process cache in front of an optional shared [`TokenStore`], one fetch
//! per key however many callers ask at once, refresh ahead of expiry, and eviction of a token
//! the platform refused.

use crate::error::Error;
use async_trait::async_trait;
use lark_api::{AccessToken, AppTicket, BaseUrl};
use lark_content::{AppId, TenantKey};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Where the token cache reads the time, to decide when a token is due for refresh. The
/// system clock by default; a test can put a [`ManualTime`] in its place and move time forward
/// instead of waiting for it.
pub trait TimeSource: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until it is told to move: [`ManualTime::advance`].
#[derive(Debug)]
pub struct ManualTime(Mutex<SystemTime>);

impl ManualTime {
    /// A clock showing `start`.
    #[must_use]
    pub fn new(start: SystemTime) -> Self {
        Self(Mutex::new(start))
    }

    /// A clock showing the system time now.
    #[must_use]
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.0);
        *now += by;
    }
}

impl TimeSource for ManualTime {
    fn now(&self) -> SystemTime {
        *lock(&self.0)
    }
}

/// Which kind of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A tenant access token.
    Tenant,
    /// An app access token.
    App,
    /// A user access token, from a [`UserSession`](crate::UserSession).
    User,
}

/// What a cached token is for. Two apps, or one app with two different secrets, never share a
/// key: the secret's hash is part of it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    /// The platform.
    pub base_url: String,
    /// The app.
    pub app_id: AppId,
    /// SHA-256 of the app secret, hex, first 16 bytes.
    pub secret_hash: String,
    /// The tenant (marketplace apps); `None` for self-built apps.
    pub tenant_key: Option<TenantKey>,
    /// Which kind of token.
    pub kind: TokenKind,
}

impl TokenKey {
    /// The key for `app_id`'s token of `kind` at `base`.
    #[must_use]
    pub fn new(
        base: &BaseUrl,
        app_id: &AppId,
        secret: &str,
        tenant_key: Option<&TenantKey>,
        kind: TokenKind,
    ) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        let secret_hash = digest[..16]
            .iter()
            .fold(String::with_capacity(32), |mut out, byte| {
                out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
                out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xF)]));
                out
            });
        Self {
            base_url: base.as_str().to_owned(),
            app_id: app_id.clone(),
            secret_hash,
            tenant_key: tenant_key.cloned(),
            kind,
        }
    }

    /// The key as one string, for stores keyed by strings.
    #[must_use]
    pub fn to_key_string(&self) -> String {
        let kind = match self.kind {
            TokenKind::Tenant => "tenant",
            TokenKind::App => "app",
            TokenKind::User => "user",
        };
        format!(
            "{kind}:{}:{}:{}:{}",
            self.base_url,
            self.app_id,
            self.tenant_key.as_ref().map_or("-", |t| t.as_str()),
            self.secret_hash
        )
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("tenant_key", &self.tenant_key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A token and when to stop using it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedToken {
    /// The token.
    pub token: AccessToken,
    /// When it expires.
    pub expires_at: SystemTime,
    /// When to replace it (ahead of expiry).
    pub refresh_at: SystemTime,
}

impl CachedToken {
    /// A token valid for `expires_in` from `now`, replaced `margin` early (but never later than
    /// halfway through a short lifetime).
    #[must_use]
    pub fn new(
        token: AccessToken,
        now: SystemTime,
        expires_in: Duration,
        margin: Duration,
    ) -> Self {
        let early = margin.min(expires_in / 2);
        Self {
            token,
            expires_at: now + expires_in,
            refresh_at: now + expires_in - early,
        }
    }

    /// Whether it can still be used at `now`.
    #[must_use]
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        now < self.refresh_at
    }
}

/// A shared token store failed: what was being done, and the store's own error as the
/// `source()`.
#[derive(Debug, thiserror::Error)]
#[error("token store: {action}")]
pub struct TokenStoreError {
    action: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TokenStoreError {
    /// The store failed at `action` ("reading the token", say) because of `source`.
    pub fn new(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            action: action.into(),
            source: Some(source.into()),
        }
    }

    /// The store failed at `action`, with nothing underneath to tell.
    pub fn msg(action: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            source: None,
        }
    }

    /// What the store was doing.
    #[must_use]
    pub fn action(&self) -> &str {
        &self.action
    }
}

/// Stores that several replicas share (Redis, say): tokens, so that one fetch serves them all,
/// and a marketplace app's tickets. [`ClientBuilder::stores`](crate::ClientBuilder::stores)
/// takes both at once.
pub trait SharedStores {
    /// The shared token store.
    fn token_store(&self) -> Arc<dyn TokenStore>;
    /// The shared app-ticket store.
    fn ticket_store(&self) -> Arc<dyn TicketStore>;
}

/// A fetch the store runs when it decides this caller is the one to fetch.
pub type TokenFetch<'a> = Pin<Box<dyn Future<Output = Result<CachedToken, Error>> + Send + 'a>>;

/// A cache of tokens shared beyond this process (Redis, say). The manager keeps a process cache
/// in front of it and falls back to that cache when the store fails.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// The cached token for `key`.
    async fn get(&self, key: &TokenKey) -> Result<Option<CachedToken>, TokenStoreError>;

    /// Stores a token.
    async fn put(&self, key: &TokenKey, token: &CachedToken) -> Result<(), TokenStoreError>;

    /// Forgets `token` under `key`, if it is still the one stored.
    async fn evict(&self, key: &TokenKey, token: &AccessToken) -> Result<(), TokenStoreError>;

    /// Runs `fetch` and stores its token — or, when another holder is already fetching, waits
    /// for that token instead. The default has no cross-process coordination.
    async fn fetch_once(
        &self,
        key: &TokenKey,
        fetch: TokenFetch<'_>,
    ) -> Result<CachedToken, Error> {
        let token = fetch.await?;
        if let Err(err) = self.put(key, &token).await {
            tracing::warn!(
                error = &err as &dyn std::error::Error,
                "could not share a fetched token"
            );
        }
        Ok(token)
    }
}

/// Where marketplace apps keep the app ticket the platform pushes every hour.
#[async_trait]
pub trait TicketStore: Send + Sync + 'static {
    /// The latest ticket for `app_id`.
    async fn get(&self, app_id: &AppId) -> Result<Option<AppTicket>, TokenStoreError>;
    /// Stores a ticket.
    async fn put(&self, app_id: &AppId, ticket: &AppTicket) -> Result<(), TokenStoreError>;
}

/// The default ticket store: in memory.
#[derive(Debug, Default)]
pub struct MemoryTicketStore {
    tickets: Mutex<HashMap<AppId, AppTicket>>,
}

#[async_trait]
impl TicketStore for MemoryTicketStore {
    async fn get(&self, app_id: &AppId) -> Result<Option<AppTicket>, TokenStoreError> {
        Ok(lock(&self.tickets).get(app_id).cloned())
    }

    async fn put(&self, app_id: &AppId, ticket: &AppTicket) -> Result<(), TokenStoreError> {
        lock(&self.tickets).insert(app_id.clone(), ticket.clone());
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The token manager.
pub(crate) struct TokenManager {
    /// Looked up on every call; its keys are the client's own (its base url, app and
    /// tenants), not input an attacker chooses, so a fast hasher is safe here.
    local: Mutex<FxHashMap<TokenKey, CachedToken>>,
    /// A refused token the shared store could not forget, per key: the next fetch bypasses
    /// the store, so the refused token is never handed out again.
    refused: Mutex<HashMap<TokenKey, AccessToken>>,
    flights: Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>,
    shared: Option<Arc<dyn TokenStore>>,
    margin: Duration,
    time: Arc<dyn TimeSource>,
}

impl TokenManager {
    pub(crate) fn new(
        shared: Option<Arc<dyn TokenStore>>,
        margin: Duration,
        time: Arc<dyn TimeSource>,
    ) -> Self {
        Self {
            local: Mutex::new(FxHashMap::default()),
            refused: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            shared,
            margin,
            time,
        }
    }

    pub(crate) fn margin(&self) -> Duration {
        self.margin
    }

    /// The time, as the cache reads it.
    pub(crate) fn now(&self) -> SystemTime {
        self.time.now()
    }

    /// The cached token for `key` when it is fresh: no waiting, no fetch.
    pub(crate) fn cached_fresh(&self, key: &TokenKey) -> Option<AccessToken> {
        self.local_fresh(key, self.now())
    }

    fn local_fresh(&self, key: &TokenKey, now: SystemTime) -> Option<AccessToken> {
        lock(&self.local)
            .get(key)
            .filter(|cached| cached.is_fresh(now))
            .map(|cached| cached.token.clone())
    }

    /// The token for `key`: cached when fresh, else fetched by exactly one caller while the
    /// others wait for it.
    pub(crate) async fn get<'a>(
        &self,
        key: &TokenKey,
        fetch: impl FnOnce() -> TokenFetch<'a>,
    ) -> Result<AccessToken, Error> {
        if let Some(token) = self.local_fresh(key, self.now()) {
            return Ok(token);
        }
        let fetch = fetch();
        let flight = lock(&self.flights).entry(key.clone()).or_default().clone();
        let _guard = flight.lock().await;
        if let Some(token) = self.local_fresh(key, self.now()) {
            return Ok(token);
        }
        let cached = match &self.shared {
            Some(store) => self.through_store(store.as_ref(), key, fetch).await?,
            None => fetch.await?,
        };
        let token = cached.token.clone();
        lock(&self.local).insert(key.clone(), cached);
        Ok(token)
    }

    async fn through_store(
        &self,
        store: &dyn TokenStore,
        key: &TokenKey,
        fetch: TokenFetch<'_>,
    ) -> Result<CachedToken, Error> {
        let refused = lock(&self.refused).remove(key);
        if refused.is_some() {
            // The store may still hold the refused token: fetch here, and share the new one.
            let fetched = fetch.await?;
            if let Err(err) = store.put(key, &fetched).await {
                tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "could not share a fetched token"
                );
            }
            return Ok(fetched);
        }
        match store.get(key).await {
            Ok(Some(cached)) if cached.is_fresh(self.now()) => return Ok(cached),
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "token store unavailable; fetching a token for this process only"
                );
                return fetch.await;
            }
        }
        store.fetch_once(key, fetch).await
    }

    /// The cached token for `key`, fresh or not.
    pub(crate) fn cached(&self, key: &TokenKey) -> Option<AccessToken> {
        lock(&self.local)
            .get(key)
            .map(|cached| cached.token.clone())
    }

    /// Forgets `token` (refused by the platform) in the shared store and then here, so the next
    /// caller fetches a new one.
    ///
    /// The order matters. While the process cache holds the token, no caller here reads the
    /// store; once it is gone from the store, no caller can read it back. Forgetting it here
    /// first would let a concurrent caller copy it from the store into the process cache while
    /// the store eviction is still on its way, and hand the refused token out again.
    pub(crate) async fn evict(&self, key: &TokenKey, token: &AccessToken) {
        if let Some(store) = &self.shared
            && let Err(err) = store.evict(key, token).await
        {
            tracing::warn!(
                error = &err as &dyn std::error::Error,
                "could not evict a refused token from the token store"
            );
            lock(&self.refused).insert(key.clone(), token.clone());
        }
        let mut local = lock(&self.local);
        if local.get(key).is_some_and(|cached| &cached.token == token) {
            local.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_secret_tenant_and_base_and_never_show_the_secret() {
        let base = BaseUrl::feishu();
        let app = AppId::new("cli_1");
        let a = TokenKey::new(&base, &app, "secret-a", None, TokenKind::Tenant);
        let b = TokenKey::new(&base, &app, "secret-b", None, TokenKind::Tenant);
        let lark = TokenKey::new(&BaseUrl::lark(), &app, "secret-a", None, TokenKind::Tenant);
        let tenant = TokenKey::new(
            &base,
            &app,
            "secret-a",
            Some(&TenantKey::new("t1")),
            TokenKind::Tenant,
        );
        assert_ne!(a, b);
        assert_ne!(a, lark);
        assert_ne!(a, tenant);
        assert!(!a.to_key_string().contains("secret-a"));
        assert!(!format!("{a:?}").contains(&a.secret_hash));
    }

    /// A store in memory whose evictions wait until the test lets them finish.
    struct GatedStore {
        tokens: Mutex<HashMap<TokenKey, CachedToken>>,
        evicting: tokio::sync::Notify,
        release: tokio::sync::Notify,
    }

    #[async_trait]
    impl TokenStore for GatedStore {
        async fn get(&self, key: &TokenKey) -> Result<Option<CachedToken>, TokenStoreError> {
            Ok(lock(&self.tokens).get(key).cloned())
        }

        async fn put(&self, key: &TokenKey, token: &CachedToken) -> Result<(), TokenStoreError> {
            lock(&self.tokens).insert(key.clone(), token.clone());
            Ok(())
        }

        async fn evict(&self, key: &TokenKey, token: &AccessToken) -> Result<(), TokenStoreError> {
            self.evicting.notify_one();
            self.release.notified().await;
            let mut tokens = lock(&self.tokens);
            if tokens.get(key).is_some_and(|cached| &cached.token == token) {
                tokens.remove(key);
            }
            Ok(())
        }
    }

    /// A caller that asks for the token while another caller's eviction is still on its way to
    /// the shared store must not put the refused token back into the process cache.
    #[tokio::test]
    async fn a_token_read_during_its_eviction_is_not_handed_out_after_it() {
        let now = SystemTime::now();
        let token = |name: &str| {
            CachedToken::new(
                AccessToken::new(name),
                now,
                Duration::from_secs(7200),
                Duration::from_secs(300),
            )
        };
        let store = Arc::new(GatedStore {
            tokens: Mutex::new(HashMap::new()),
            evicting: tokio::sync::Notify::new(),
            release: tokio::sync::Notify::new(),
        });
        let manager = Arc::new(TokenManager::new(
            Some(store.clone()),
            Duration::from_secs(300),
            Arc::new(SystemTimeSource),
        ));
        let key = TokenKey::new(
            &BaseUrl::feishu(),
            &AppId::new("cli_1"),
            "secret",
            None,
            TokenKind::Tenant,
        );
        let first = token("t-refused");
        let fetched = first.clone();
        let got = manager
            .get(&key, || Box::pin(async move { Ok(fetched) }))
            .await
            .unwrap();
        assert_eq!(got, first.token);

        let evicting = store.evicting.notified();
        let eviction = tokio::spawn({
            let manager = manager.clone();
            let key = key.clone();
            let refused = first.token.clone();
            async move { manager.evict(&key, &refused).await }
        });
        evicting.await;
        // Mid-eviction: whatever this caller gets, it must not outlive the eviction.
        let second = token("t-new");
        let during = manager
            .get(&key, || Box::pin(async move { Ok(second) }))
            .await
            .unwrap();
        store.release.notify_one();
        eviction.await.unwrap();
        let third = token("t-new");
        let after = manager
            .get(&key, || Box::pin(async move { Ok(third) }))
            .await
            .unwrap();
        assert_eq!(
            after.expose(),
            "t-new",
            "the refused token came back after its eviction (mid-eviction caller got {})",
            during.expose()
        );
    }

    #[test]
    fn tokens_refresh_ahead_of_expiry_and_short_lives_halfway() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = CachedToken::new(
            AccessToken::new("t-1"),
            now,
            Duration::from_secs(7200),
            Duration::from_secs(300),
        );
        assert!(token.is_fresh(now + Duration::from_secs(6899)));
        assert!(!token.is_fresh(now + Duration::from_secs(6900)));
        let short = CachedToken::new(
            AccessToken::new("t-2"),
            now,
            Duration::from_secs(60),
            Duration::from_secs(300),
        );
        assert!(short.is_fresh(now + Duration::from_secs(29)));
        assert!(!short.is_fresh(now + Duration::from_secs(30)));
    }
}
