//! Signing users in: the authorize url with PKCE and a state, the redirect checked and its code
//! traded, the device flow, and the session that keeps the user's tokens fresh.

use crate::Client;
use lark_api::oauth::{
    AccountsUrl, AuthorizationCode, Authorize, CodeVerifier, DeviceGrant, Grant, Pkce,
    SignedInUser, UserInfo,
};
use lark_http::{Error, UserKey, UserSession, UserTokenPair, UserTokenStore};
use std::fmt;
use std::sync::Arc;

/// Signing users in to this client's app: from [`Client::oauth`].
///
/// ```no_run
/// # async fn run(client: lark::Client, redirected_to: &str) -> Result<(), lark::Error> {
/// use std::sync::Arc;
/// let oauth = client.oauth();
/// let sign_in = oauth.sign_in("http://127.0.0.1:8400/callback", ["im:message", "offline_access"])?;
/// println!("open {}", sign_in.url());
/// // … the browser comes back to the redirect url …
/// let pair = oauth.finish(&sign_in, &lark::Redirect::from_url(redirected_to)).await?;
/// let store = Arc::new(lark::http::FileUserTokenStore::new("/home/me/.config/lark"));
/// let session = oauth.session("default", store, pair).await?;
/// client.as_user(&session).messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "sent as me").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct OAuth {
    client: Client,
    accounts: AccountsUrl,
}

/// A sign-in under way: the url to send the user to, and what checks the redirect that comes
/// back (the state) and trades its code (the PKCE verifier).
#[derive(Clone)]
pub struct SignIn {
    url: String,
    state: String,
    redirect_uri: String,
    verifier: CodeVerifier,
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIn")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl SignIn {
    /// Where to send the user's browser.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The state the redirect must bring back.
    #[must_use]
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The redirect url it returns to.
    #[must_use]
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
}

/// What the browser brought back to the redirect url: a code and the state, or an error.
#[derive(Clone, Default)]
pub struct Redirect {
    /// The authorization code.
    pub code: Option<AuthorizationCode>,
    /// The state, to compare with the sign-in's.
    pub state: Option<String>,
    /// The error, when the user refused (`access_denied`).
    pub error: Option<String>,
}

impl fmt::Debug for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redirect")
            .field("code", &self.code)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Redirect {
    /// Reads a redirect's query string (`code=…&state=…`), with or without its `?`.
    #[must_use]
    pub fn from_query(query: &str) -> Self {
        let mut redirect = Self::default();
        for (key, value) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            match key.as_ref() {
                "code" => redirect.code = Some(AuthorizationCode::new(value.into_owned())),
                "state" => redirect.state = Some(value.into_owned()),
                "error" => redirect.error = Some(value.into_owned()),
                _ => {}
            }
        }
        redirect
    }

    /// Reads the query of the url the browser was sent to.
    #[must_use]
    pub fn from_url(url: &str) -> Self {
        let query = url.split_once('?').map_or("", |(_, query)| query);
        let query = query.split_once('#').map_or(query, |(query, _)| query);
        Self::from_query(query)
    }
}

fn refused(why: impl Into<String>) -> Error {
    Error::SignInAgain {
        user: String::new(),
        why: why.into(),
    }
}

/// Compares in time that does not depend on where the texts differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|err| {
        Error::Config(format!(
            "the operating system's random generator failed ({err}); a sign-in needs it"
        ))
    })?;
    Ok(bytes)
}

impl Client {
    /// Signing users in to this app. The accounts host is the platform's
    /// (`accounts.feishu.cn` or `accounts.larksuite.com`), or the base url itself when the
    /// client talks to another server (an emulator, a proxy).
    #[must_use]
    pub fn oauth(&self) -> OAuth {
        OAuth {
            accounts: AccountsUrl::for_base(self.http().base_url()),
            client: self.clone(),
        }
    }
}

impl OAuth {
    /// Sign-ins on `accounts` instead.
    #[must_use]
    pub fn accounts(mut self, accounts: AccountsUrl) -> Self {
        self.accounts = accounts;
        self
    }

    /// The accounts host.
    #[must_use]
    pub fn accounts_url(&self) -> &AccountsUrl {
        &self.accounts
    }

    /// Starts a sign-in returning to `redirect_uri` (one of the app's redirect urls) for
    /// `scopes`; `offline_access` among them gets a refresh token. The state and the PKCE
    /// verifier are new random values.
    pub fn sign_in<S: Into<String>>(
        &self,
        redirect_uri: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Result<SignIn, Error> {
        let redirect_uri = redirect_uri.into();
        let pkce = Pkce::from_random(random_bytes::<32>()?);
        let state: String =
            random_bytes::<16>()?
                .iter()
                .fold(String::with_capacity(32), |mut out, byte| {
                    out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
                    out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xF)]));
                    out
                });
        let url = Authorize::new(self.client.http().app_id().clone(), redirect_uri.clone())
            .scopes(scopes)
            .state(state.clone())
            .pkce(&pkce)
            .url(&self.accounts)?;
        Ok(SignIn {
            url,
            state,
            redirect_uri,
            verifier: pkce.verifier().clone(),
        })
    }

    /// Checks `redirect` against `sign_in` and trades its code for the user's pair. A state
    /// that differs is refused before any token is asked for.
    pub async fn finish(
        &self,
        sign_in: &SignIn,
        redirect: &Redirect,
    ) -> Result<UserTokenPair, Error> {
        if !redirect
            .state
            .as_deref()
            .is_some_and(|state| same(state, &sign_in.state))
        {
            return Err(refused(
                "the redirect's state is not this sign-in's, so it was refused and no token was asked for (a forged or stale redirect); start the sign-in again",
            ));
        }
        if let Some(error) = &redirect.error {
            return Err(refused(format!("the sign-in was not approved ({error})")));
        }
        let Some(code) = redirect.code.clone() else {
            return Err(refused("the redirect brought no code"));
        };
        let pair = self
            .client
            .http()
            .user_tokens(Grant::AuthorizationCode {
                code,
                redirect_uri: Some(sign_in.redirect_uri.clone()),
                code_verifier: Some(sign_in.verifier.clone()),
            })
            .await?;
        self.identify(pair).await
    }

    /// Starts a device-flow sign-in for `scopes`: show the user the verification url and the
    /// user code, then [`wait_for_device`](Self::wait_for_device).
    pub async fn device<S: Into<String>>(
        &self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Result<DeviceGrant, Error> {
        self.client
            .http()
            .device_authorization(&self.accounts, scopes)
            .await
    }

    /// Polls until the user approves `grant`, waiting the interval the platform gave and five
    /// seconds more after each `slow_down`.
    pub async fn wait_for_device(&self, grant: &DeviceGrant) -> Result<UserTokenPair, Error> {
        let pair = self.client.http().wait_for_device(grant).await?;
        self.identify(pair).await
    }

    /// Who `pair` belongs to (`user_info`).
    pub async fn user_info(&self, pair: &UserTokenPair) -> Result<SignedInUser, Error> {
        self.client
            .http()
            .as_user(pair.access_token.clone())
            .execute(UserInfo)
            .await
    }

    /// The pair, with its user's open_id.
    async fn identify(&self, pair: UserTokenPair) -> Result<UserTokenPair, Error> {
        let user = self.user_info(&pair).await?;
        Ok(pair.with_open_id(user.open_id))
    }

    /// Signs `session`'s user out: revokes their refresh token on the accounts host and
    /// forgets their pair. Answers whether anyone was signed in. The pair is forgotten even
    /// when the revocation fails, which is then the error.
    pub async fn sign_out(&self, session: &UserSession) -> Result<bool, Error> {
        self.client.http().sign_out(session, &self.accounts).await
    }

    /// Stores `pair` in `store` as `user`'s and starts their session.
    pub async fn session(
        &self,
        user: impl Into<String>,
        store: Arc<dyn UserTokenStore>,
        pair: UserTokenPair,
    ) -> Result<UserSession, Error> {
        UserSession::start(self.user_key(user), store, pair).await
    }

    /// The session of `user`, signed in earlier, from `store`.
    #[must_use]
    pub fn stored_session(
        &self,
        user: impl Into<String>,
        store: Arc<dyn UserTokenStore>,
    ) -> UserSession {
        UserSession::new(self.user_key(user), store)
    }

    fn user_key(&self, user: impl Into<String>) -> UserKey {
        let http = self.client.http();
        UserKey::new(http.base_url(), http.app_id(), user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_read_their_query_and_compare_states_whole() {
        let redirect =
            Redirect::from_url("http://127.0.0.1:8400/callback?code=abc%2D1&state=s%201#frag");
        assert_eq!(redirect.code.unwrap().expose(), "abc-1");
        assert_eq!(redirect.state.as_deref(), Some("s 1"));
        let denied = Redirect::from_query("?error=access_denied&state=x");
        assert_eq!(denied.error.as_deref(), Some("access_denied"));
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
