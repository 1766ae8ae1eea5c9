//! The device flow (RFC 8628) on the accounts host: ask for a user code, then poll the token
//! endpoint until the user approves, waiting as the platform says.

use crate::client::Client;
use crate::error::Error;
use crate::user::UserTokenPair;
use lark_api::oauth::{AccountsUrl, DeviceAuthorization, DeviceGrant, DeviceWait, Grant};
use std::time::Duration;

/// The longest wait between polls believed from the platform.
const INTERVAL_MAX: Duration = Duration::from_secs(60);
/// The shortest: an interval of 0 would poll without pause.
const INTERVAL_MIN: Duration = Duration::from_secs(1);
/// The longest a device code is polled for, whatever the platform says it lives.
const LIFETIME_MAX: Duration = Duration::from_secs(30 * 60);
/// What each `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The waits of one device-flow sign-in: the interval the platform gave, clamped, and five
/// seconds more after each `slow_down`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevicePolling {
    interval: Duration,
    left: Duration,
}

impl DevicePolling {
    /// The polling `grant` asks for.
    #[must_use]
    pub fn new(grant: &DeviceGrant) -> Self {
        Self {
            interval: Duration::from_secs(grant.interval).clamp(INTERVAL_MIN, INTERVAL_MAX),
            left: Duration::from_secs(grant.expires_in).min(LIFETIME_MAX),
        }
    }

    /// The wait before the next poll.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Notes a poll's answer after a wait of [`interval`](Self::interval); `false` when the
    /// device code's lifetime has no room left for another wait.
    pub fn after(&mut self, wait: DeviceWait) -> bool {
        self.left = self.left.saturating_sub(self.interval);
        if wait == DeviceWait::SlowDown {
            self.interval = (self.interval + SLOW_DOWN_STEP).min(INTERVAL_MAX);
        }
        self.left >= self.interval
    }
}

impl Client {
    /// Starts a device-flow sign-in on `accounts` for `scopes` (`offline_access` is added):
    /// show the user [`DeviceGrant::verification_uri`] and [`DeviceGrant::user_code`], then
    /// [`wait_for_device`](Self::wait_for_device).
    pub async fn device_authorization<S: Into<String>>(
        &self,
        accounts: &AccountsUrl,
        scopes: impl IntoIterator<Item = S>,
    ) -> Result<DeviceGrant, Error> {
        let authorization = DeviceAuthorization::new(
            self.inner.app_id.clone(),
            self.inner.app_secret.clone(),
            scopes,
        );
        let response = self.accounts_call(authorization.request(accounts)?).await?;
        DeviceAuthorization::parse(response).map_err(|err| Error::api(err, 1))
    }

    /// Sends a request built for the accounts host once, within the request timeout.
    async fn accounts_call(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, Error> {
        let (mut parts, body) = request.into_parts();
        parts
            .headers
            .insert(http::header::USER_AGENT, self.user_agent());
        let request = http::Request::from_parts(parts, crate::transport::full_body(body));
        let host = request.uri().host().unwrap_or_default().to_owned();
        self.exchange(request)
            .await
            .map_err(|failure| failure.into_error(&host, self.inner.request_timeout, 1))
    }

    /// Revokes a user's refresh token on `accounts`, so no copy of it works any more.
    pub async fn revoke_user_token(
        &self,
        accounts: &AccountsUrl,
        token: &lark_api::oauth::RefreshToken,
    ) -> Result<(), Error> {
        let revoke = lark_api::oauth::Revoke::new(
            self.inner.app_id.clone(),
            self.inner.app_secret.clone(),
            token.clone(),
        );
        let response = self.accounts_call(revoke.request(accounts)?).await?;
        lark_api::oauth::Revoke::parse(response).map_err(|err| Error::api(err, 1))
    }

    /// Signs `session`'s user out: under the store's lock, revokes the stored refresh token
    /// on `accounts` and forgets the pair. The pair is forgotten even when the revocation
    /// fails; the revocation's error is returned then, as the token may still work elsewhere
    /// until it expires.
    pub async fn sign_out(
        &self,
        session: &crate::UserSession,
        accounts: &AccountsUrl,
    ) -> Result<bool, Error> {
        let store = &session.inner.store;
        let key = session.key();
        let store_error = |action: &'static str| {
            move |err: crate::TokenStoreError| Error::Store {
                action,
                source: Box::new(err),
            }
        };
        let lock = store
            .lock(key)
            .await
            .map_err(store_error("lock the user's token pair"))?;
        let outcome = async {
            let stored = store
                .load(key)
                .await
                .map_err(store_error("read the user's token pair"))?;
            let revoked = match stored.as_ref().and_then(|pair| pair.refresh_token.as_ref()) {
                Some(token) => self.revoke_user_token(accounts, token).await,
                None => Ok(()),
            };
            store
                .remove(key)
                .await
                .map_err(store_error("remove the user's token pair"))?;
            revoked.map(|()| stored.is_some())
        }
        .await;
        store.unlock(key, lock).await;
        session.forget();
        outcome
    }

    /// Polls the token endpoint for `grant` until the user approves (the pair), denies, or
    /// lets the code expire (the platform's refusal, or [`Error::SignInAgain`] once the
    /// code's lifetime is over).
    pub async fn wait_for_device(&self, grant: &DeviceGrant) -> Result<UserTokenPair, Error> {
        let mut polling = DevicePolling::new(grant);
        loop {
            tokio::time::sleep(polling.interval()).await;
            match self
                .user_tokens(Grant::DeviceCode(grant.device_code.clone()))
                .await
            {
                Ok(pair) => return Ok(pair),
                Err(err) => {
                    let wait = match &err {
                        Error::Api { error, .. } => DeviceWait::of(error),
                        _ => None,
                    };
                    let Some(wait) = wait else { return Err(err) };
                    if !polling.after(wait) {
                        return Err(Error::SignInAgain {
                            user: String::new(),
                            why: "the device code expired before it was approved".to_owned(),
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(interval: u64, expires_in: u64) -> DeviceGrant {
        serde_json::from_value(serde_json::json!({
            "device_code": "d", "user_code": "ABCD-EFGH", "verification_uri": "https://x",
            "interval": interval, "expires_in": expires_in,
        }))
        .unwrap()
    }

    #[test]
    fn intervals_are_clamped_and_slow_down_adds_five_seconds() {
        let mut polling = DevicePolling::new(&grant(5, 240));
        assert_eq!(polling.interval(), Duration::from_secs(5));
        assert!(polling.after(DeviceWait::Pending));
        assert_eq!(polling.interval(), Duration::from_secs(5));
        assert!(polling.after(DeviceWait::SlowDown));
        assert_eq!(polling.interval(), Duration::from_secs(10));
        assert_eq!(DevicePolling::new(&grant(0, 240)).interval(), INTERVAL_MIN);
        assert_eq!(
            DevicePolling::new(&grant(u64::MAX, 240)).interval(),
            INTERVAL_MAX
        );
        let mut short = DevicePolling::new(&grant(5, 12));
        assert!(short.after(DeviceWait::Pending));
        assert!(
            !short.after(DeviceWait::Pending),
            "12 s hold two waits of 5 s"
        );
    }

    /// The platform's refusal for a poll, as the token endpoint answers it.
    fn poll_refused(error: &str) -> crate::scripted::Step {
        crate::scripted::Step::json(
            400,
            &serde_json::json!({"code": 20_000, "error": error, "error_description": error}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn polls_wait_the_interval_and_five_seconds_more_after_each_slow_down() {
        use crate::scripted::{ScriptedTransport, Step};
        let script = std::sync::Arc::new(
            ScriptedTransport::new()
                .then(Step::json(
                    200,
                    &serde_json::json!({"device_code": "dc-1", "user_code": "WXYZ-1234",
                        "verification_uri": "https://accounts.feishu.cn/device", "expires_in": 240, "interval": 5}),
                ))
                .then(poll_refused("authorization_pending"))
                .then(poll_refused("slow_down"))
                .then(poll_refused("slow_down"))
                .then(Step::json(
                    200,
                    &serde_json::json!({"code": 0, "access_token": "u-device", "expires_in": 7200,
                        "refresh_token": "r-device", "refresh_token_expires_in": 604_800,
                        "scope": "offline_access", "token_type": "Bearer"}),
                )),
        );
        let client = Client::builder()
            .app("cli_9f5343c580712544", "app secret")
            .transport(script.clone())
            .build()
            .unwrap();
        let grant = client
            .device_authorization(&AccountsUrl::feishu(), ["im:message"])
            .await
            .unwrap();
        assert_eq!(grant.user_code, "WXYZ-1234");
        let pair = client.wait_for_device(&grant).await.unwrap();
        assert_eq!(pair.access_token.expose(), "u-device");
        let seen = script.seen();
        assert_eq!(seen[0].path, "/oauth/v1/device_authorization");
        let gaps: Vec<u64> = seen
            .windows(2)
            .map(|pair| (pair[1].at - pair[0].at).as_secs())
            .collect();
        assert_eq!(
            gaps,
            [5, 5, 10, 15],
            "pending keeps 5 s; each slow_down adds 5"
        );
        assert!(
            seen[1..]
                .iter()
                .all(|poll| poll.path == "/open-apis/authen/v2/oauth/token"),
            "{seen:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_denied_device_code_stops_the_polling_with_the_refusal() {
        use crate::scripted::{ScriptedTransport, Step};
        let script = std::sync::Arc::new(
            ScriptedTransport::new()
                .then(poll_refused("authorization_pending"))
                .then(poll_refused("access_denied"))
                .then(Step::Refuse),
        );
        let client = Client::builder()
            .app("cli_9f5343c580712544", "app secret")
            .transport(script.clone())
            .build()
            .unwrap();
        let err = client.wait_for_device(&grant(5, 240)).await.unwrap_err();
        assert!(err.to_string().contains("access_denied"), "{err}");
        assert_eq!(script.remaining(), 1, "no poll after the refusal");
    }
}
