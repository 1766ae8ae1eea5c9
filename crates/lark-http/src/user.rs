//! Acting as a user: a user's token pair, the stores that keep it where several processes can
//! share it, and the session that refreshes it.
//!
//! A refresh token is spent by the refresh that uses it and replaced by a new one
//! (docs/protocol.md §4.4): two holders refreshing with the same refresh token log the user
//! out, because the second one is refused as a reused token. A refresh therefore happens only
//! under the store's lock, after reading the pair again: a holder that finds a pair someone
//! else already refreshed uses it and sends nothing.

use crate::error::Error;
use crate::token::TokenStoreError;
use async_trait::async_trait;
use lark_api::oauth::{RefreshToken, UserTokens};
use lark_api::{AccessToken, BaseUrl};
use lark_content::{AppId, OpenId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest lifetime believed for a user access token: the platform documents two hours,
/// and an answer claiming more than a day is read as a day.
const ACCESS_LIFETIME_MAX: Duration = Duration::from_secs(24 * 3600);
/// The longest lifetime believed for a refresh token (the platform documents 7 days when
/// `offline_access` is granted, and at most 365 days).
const REFRESH_LIFETIME_MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// Whose tokens: one user of one app on one platform. `user` is the caller's name for the
/// user, its open_id or a profile name such as `default`; it is only a key, never sent.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct UserKey {
    /// The platform.
    pub base_url: String,
    /// The app.
    pub app_id: AppId,
    /// The caller's name for the user.
    pub user: String,
}

impl UserKey {
    /// The key for `user` of `app_id` at `base`.
    #[must_use]
    pub fn new(base: &BaseUrl, app_id: &AppId, user: impl Into<String>) -> Self {
        Self {
            base_url: base.as_str().to_owned(),
            app_id: app_id.clone(),
            user: user.into(),
        }
    }

    /// The key as one string, for stores keyed by strings.
    #[must_use]
    pub fn to_key_string(&self) -> String {
        format!("user:{}:{}:{}", self.base_url, self.app_id, self.user)
    }
}

/// A user's token pair, as a session keeps and a store holds it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserTokenPair {
    /// The user access token.
    pub access_token: AccessToken,
    /// When the access token expires.
    pub expires_at: SystemTime,
    /// The refresh token, when `offline_access` was granted.
    pub refresh_token: Option<RefreshToken>,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<SystemTime>,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The user, when known (from `user_info`).
    pub open_id: Option<OpenId>,
}

impl fmt::Debug for UserTokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserTokenPair")
            .field("access_token", &self.access_token)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scope", &self.scope)
            .field("open_id", &self.open_id)
            .finish()
    }
}

/// A pair as the stores write it: times in seconds since the epoch.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    version: u32,
    access_token: String,
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_at: Option<u64>,
    #[serde(default)]
    scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open_id: Option<String>,
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl UserTokenPair {
    /// The pair a token endpoint answered at `now`, its lifetimes clamped to what the platform
    /// documents.
    #[must_use]
    pub fn from_answer(tokens: UserTokens, now: SystemTime) -> Self {
        let access = Duration::from_secs(tokens.expires_in).min(ACCESS_LIFETIME_MAX);
        let refresh_expires_at = tokens.refresh_token.as_ref().map(|_| {
            // No lifetime given: the refresh token is tried until the platform refuses it.
            let lifetime = tokens
                .refresh_token_expires_in
                .map_or(REFRESH_LIFETIME_MAX, Duration::from_secs)
                .min(REFRESH_LIFETIME_MAX);
            now + lifetime
        });
        Self {
            access_token: tokens.access_token,
            expires_at: now + access,
            refresh_token: tokens.refresh_token.filter(|token| !token.is_empty()),
            refresh_expires_at,
            scope: tokens.scope,
            open_id: None,
        }
    }

    /// The same pair, for `open_id`.
    #[must_use]
    pub fn with_open_id(mut self, open_id: OpenId) -> Self {
        self.open_id = Some(open_id);
        self
    }

    /// Whether the access token can still be sent at `now`, `margin` ahead of its expiry.
    #[must_use]
    pub fn is_fresh(&self, now: SystemTime, margin: Duration) -> bool {
        now + margin < self.expires_at
    }

    /// Whether the refresh token can still be spent at `now`.
    #[must_use]
    pub fn can_refresh(&self, now: SystemTime) -> bool {
        self.refresh_token.is_some() && self.refresh_expires_at.is_none_or(|at| now < at)
    }

    /// The pair as the stores write it. The text holds both tokens: write it only where the
    /// user's own files or a store as private as they are keep it.
    #[must_use]
    pub fn to_stored_json(&self) -> String {
        let stored = Stored {
            version: 1,
            access_token: self.access_token.expose().to_owned(),
            expires_at: seconds(self.expires_at),
            refresh_token: self
                .refresh_token
                .as_ref()
                .map(|token| token.expose().to_owned()),
            refresh_expires_at: self.refresh_expires_at.map(seconds),
            scope: self.scope.clone(),
            open_id: self.open_id.as_ref().map(|id| id.as_str().to_owned()),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads what [`to_stored_json`](Self::to_stored_json) wrote.
    pub fn from_stored_json(text: &str) -> Result<Self, TokenStoreError> {
        let stored: Stored = serde_json::from_str(text).map_err(|err| {
            // serde_json's message names a position, never the text it read.
            TokenStoreError::new("reading the stored user token pair", err)
        })?;
        if stored.version != 1 {
            return Err(TokenStoreError::msg(format!(
                "reading the stored user token pair: version {} is not one this lark-rs reads; sign the user in again",
                stored.version
            )));
        }
        if stored.access_token.is_empty() {
            return Err(TokenStoreError::msg(
                "reading the stored user token pair: it has no access token; sign the user in again",
            ));
        }
        Ok(Self {
            access_token: AccessToken::new(stored.access_token),
            expires_at: UNIX_EPOCH + Duration::from_secs(stored.expires_at),
            refresh_token: stored
                .refresh_token
                .filter(|token| !token.is_empty())
                .map(RefreshToken::new),
            refresh_expires_at: stored
                .refresh_expires_at
                .map(|at| UNIX_EPOCH + Duration::from_secs(at)),
            scope: stored.scope,
            open_id: stored.open_id.map(OpenId::new),
        })
    }
}

/// A store's lock on one user's pair, held until it is given back with
/// [`UserTokenStore::unlock`] or dropped.
pub struct UserTokenLock(#[allow(dead_code)] Box<dyn std::any::Any + Send + Sync>);

impl UserTokenLock {
    /// A lock that `guard` holds: dropping `guard` releases it.
    pub fn new(guard: impl std::any::Any + Send + Sync) -> Self {
        Self(Box::new(guard))
    }

    /// The guard, for the store that made it.
    #[must_use]
    pub fn into_guard(self) -> Box<dyn std::any::Any + Send + Sync> {
        self.0
    }
}

impl fmt::Debug for UserTokenLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserTokenLock")
    }
}

/// Where users' token pairs are kept, shared by every process that acts as the same user.
///
/// [`lock`](Self::lock) must exclude every other holder of the same key in every process that
/// shares the store, for as long as the lock is held: a session refreshes only under it.
#[async_trait]
pub trait UserTokenStore: Send + Sync + 'static {
    /// The pair stored for `key`.
    async fn load(&self, key: &UserKey) -> Result<Option<UserTokenPair>, TokenStoreError>;

    /// Stores `pair` for `key`, replacing the one before.
    async fn save(&self, key: &UserKey, pair: &UserTokenPair) -> Result<(), TokenStoreError>;

    /// Forgets the pair for `key`.
    async fn remove(&self, key: &UserKey) -> Result<(), TokenStoreError>;

    /// Waits until this caller alone holds `key`'s lock.
    async fn lock(&self, key: &UserKey) -> Result<UserTokenLock, TokenStoreError>;

    /// Gives the lock back. The default drops it.
    async fn unlock(&self, key: &UserKey, lock: UserTokenLock) {
        let _ = key;
        drop(lock);
    }
}

fn lock_std<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A [`UserTokenStore`] in this process's memory: for a server that signs users in and keeps
/// their pairs no longer than it runs, and for tests.
#[derive(Debug, Default)]
pub struct MemoryUserTokenStore {
    pairs: Mutex<HashMap<UserKey, UserTokenPair>>,
    locks: Mutex<HashMap<UserKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl MemoryUserTokenStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl UserTokenStore for MemoryUserTokenStore {
    async fn load(&self, key: &UserKey) -> Result<Option<UserTokenPair>, TokenStoreError> {
        Ok(lock_std(&self.pairs).get(key).cloned())
    }

    async fn save(&self, key: &UserKey, pair: &UserTokenPair) -> Result<(), TokenStoreError> {
        lock_std(&self.pairs).insert(key.clone(), pair.clone());
        Ok(())
    }

    async fn remove(&self, key: &UserKey) -> Result<(), TokenStoreError> {
        lock_std(&self.pairs).remove(key);
        Ok(())
    }

    async fn lock(&self, key: &UserKey) -> Result<UserTokenLock, TokenStoreError> {
        let mutex = lock_std(&self.locks)
            .entry(key.clone())
            .or_default()
            .clone();
        Ok(UserTokenLock::new(mutex.lock_owned().await))
    }
}

/// Why a session could not give a user token without the user signing in again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The platform refused the refresh token with `code`.
    Refused(i64),
}

/// One user's session: the pair it last read, and the store it reads, refreshes and writes
/// through. Cheap to clone; clones share the pair and refresh once between them.
///
/// Hand it to [`Client::as_user`](crate::Client::as_user): calls made with that client send
/// the user's access token, refreshed before it expires and when the platform reports it
/// expired (99991677).
#[derive(Clone)]
pub struct UserSession {
    pub(crate) inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    pub(crate) key: UserKey,
    pub(crate) store: Arc<dyn UserTokenStore>,
    /// The pair last read or refreshed here.
    pub(crate) current: Mutex<Option<UserTokenPair>>,
    /// An access token the platform refused: never sent again, whatever the store says.
    pub(crate) refused: Mutex<Option<AccessToken>>,
    /// One refresh at a time in this process.
    pub(crate) flight: tokio::sync::Mutex<()>,
    /// Set once a refresh was refused for good.
    pub(crate) ended: Mutex<Option<Ended>>,
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSession")
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl UserSession {
    /// The session of the user `key` names, whose pair is in `store` (put there by an earlier
    /// sign-in, here or in another process).
    #[must_use]
    pub fn new(key: UserKey, store: Arc<dyn UserTokenStore>) -> Self {
        Self {
            inner: Arc::new(SessionInner {
                key,
                store,
                current: Mutex::new(None),
                refused: Mutex::new(None),
                flight: tokio::sync::Mutex::new(()),
                ended: Mutex::new(None),
            }),
        }
    }

    /// Starts a session with a pair just obtained by signing in, and stores it.
    pub async fn start(
        key: UserKey,
        store: Arc<dyn UserTokenStore>,
        pair: UserTokenPair,
    ) -> Result<Self, Error> {
        store.save(&key, &pair).await.map_err(|err| Error::Store {
            action: "store the user's token pair",
            source: Box::new(err),
        })?;
        let session = Self::new(key, store);
        *lock_std(&session.inner.current) = Some(pair);
        Ok(session)
    }

    /// Whose session it is.
    #[must_use]
    pub fn key(&self) -> &UserKey {
        &self.inner.key
    }

    /// The pair as the store holds it now, for showing who is signed in and until when.
    pub async fn stored(&self) -> Result<Option<UserTokenPair>, Error> {
        self.inner
            .store
            .load(&self.inner.key)
            .await
            .map_err(|err| Error::Store {
                action: "read the user's token pair",
                source: Box::new(err),
            })
    }

    /// Signs the user out on this machine only: forgets the pair in the store, under its
    /// lock, so a refresh in another process cannot write it back.
    /// [`Client::sign_out`](crate::Client::sign_out) revokes the refresh token as well.
    pub async fn sign_out(&self) -> Result<(), Error> {
        let store = &self.inner.store;
        let key = &self.inner.key;
        let lock = store.lock(key).await.map_err(|err| Error::Store {
            action: "lock the user's token pair",
            source: Box::new(err),
        })?;
        let removed = store.remove(key).await;
        store.unlock(key, lock).await;
        *lock_std(&self.inner.current) = None;
        removed.map_err(|err| Error::Store {
            action: "remove the user's token pair",
            source: Box::new(err),
        })
    }

    /// The access token when the pair at hand is fresh at `now`: no waiting, no store.
    pub(crate) fn at_hand(&self, now: SystemTime, margin: Duration) -> Option<AccessToken> {
        let current = lock_std(&self.inner.current);
        let pair = current.as_ref()?;
        self.usable(pair, now, margin)
            .then(|| pair.access_token.clone())
    }

    /// Whether `pair`'s access token may be sent at `now`.
    pub(crate) fn usable(&self, pair: &UserTokenPair, now: SystemTime, margin: Duration) -> bool {
        pair.is_fresh(now, margin)
            && lock_std(&self.inner.refused).as_ref() != Some(&pair.access_token)
    }

    /// Notes that the platform refused `token`: the next call refreshes.
    pub(crate) fn refused(&self, token: &AccessToken) {
        *lock_std(&self.inner.refused) = Some(token.clone());
        let mut current = lock_std(&self.inner.current);
        if current
            .as_ref()
            .is_some_and(|pair| &pair.access_token == token)
        {
            *current = None;
        }
    }

    /// Drops the pair at hand.
    pub(crate) fn forget(&self) {
        *lock_std(&self.inner.current) = None;
    }

    pub(crate) fn set_current(&self, pair: UserTokenPair) {
        *lock_std(&self.inner.current) = Some(pair);
    }

    pub(crate) fn ended(&self) -> Option<Ended> {
        lock_std(&self.inner.ended).clone()
    }

    pub(crate) fn end(&self, why: Ended) {
        *lock_std(&self.inner.ended) = Some(why);
        *lock_std(&self.inner.current) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(refresh: Option<&str>, expires_in: u64, refresh_in: Option<u64>) -> UserTokens {
        serde_json::from_value(serde_json::json!({
            "access_token": "u-access",
            "expires_in": expires_in,
            "refresh_token": refresh,
            "refresh_token_expires_in": refresh_in,
            "scope": "im:message offline_access",
            "token_type": "Bearer",
        }))
        .unwrap()
    }

    #[test]
    fn lifetimes_from_the_platform_are_clamped() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let pair = UserTokenPair::from_answer(answer(Some("r-1"), u64::MAX, Some(u64::MAX)), now);
        assert_eq!(pair.expires_at, now + ACCESS_LIFETIME_MAX);
        assert_eq!(pair.refresh_expires_at, Some(now + REFRESH_LIFETIME_MAX));
        let plain = UserTokenPair::from_answer(answer(None, 7200, None), now);
        assert!(!plain.can_refresh(now));
        assert!(plain.is_fresh(now + Duration::from_secs(6899), Duration::from_secs(300)));
        assert!(!plain.is_fresh(now + Duration::from_secs(6900), Duration::from_secs(300)));
    }

    #[test]
    fn the_stored_form_reads_back_and_debug_shows_no_token() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let pair = UserTokenPair::from_answer(answer(Some("r-secret"), 7200, Some(604_800)), now)
            .with_open_id(OpenId::new("ou_1"));
        let text = pair.to_stored_json();
        assert_eq!(UserTokenPair::from_stored_json(&text).unwrap(), pair);
        let shown = format!("{pair:?}");
        assert!(
            !shown.contains("u-access") && !shown.contains("r-secret"),
            "{shown}"
        );
        let broken =
            UserTokenPair::from_stored_json("{\"version\":1,\"access_token\":\"u-x\"").unwrap_err();
        assert!(!format!("{broken} {broken:?}").contains("u-x"));
        let future = UserTokenPair::from_stored_json(
            "{\"version\":9,\"access_token\":\"u-x\",\"expires_at\":1}",
        )
        .unwrap_err();
        assert!(future.to_string().contains("version 9"), "{future}");
    }
}
