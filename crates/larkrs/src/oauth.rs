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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let sign_in = client.oauth().sign_in("http://127.0.0.1:8400/callback", ["im:message"])?;
    /// println!("open {}", sign_in.url());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The state the redirect must bring back.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let sign_in = client.oauth().sign_in("http://127.0.0.1:8400/callback", ["im:message"])?;
    /// // Keep it with the user's browser session to match the redirect against.
    /// let state = sign_in.state().to_owned();
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The redirect url it returns to.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let sign_in = client.oauth().sign_in("http://127.0.0.1:8400/callback", ["im:message"])?;
    /// assert_eq!(sign_in.redirect_uri(), "http://127.0.0.1:8400/callback");
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```
    /// let redirect = lark::Redirect::from_query("code=a1b2c3&state=9f0e");
    /// assert!(redirect.code.is_some());
    /// assert_eq!(redirect.state.as_deref(), Some("9f0e"));
    /// ```
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
    ///
    /// ```
    /// let redirect = lark::Redirect::from_url("http://127.0.0.1:8400/callback?error=access_denied&state=9f0e");
    /// assert_eq!(redirect.error.as_deref(), Some("access_denied"));
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let sign_in = client.oauth().sign_in("http://127.0.0.1:8400/callback", ["im:message", "offline_access"])?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use lark::api::oauth::AccountsUrl;
    ///
    /// // Sign-ins through a proxy in front of the accounts host.
    /// let accounts = AccountsUrl::parse("https://accounts-proxy.internal")?;
    /// let oauth = client.oauth().accounts(accounts);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn accounts(mut self, accounts: AccountsUrl) -> Self {
        self.accounts = accounts;
        self
    }

    /// The accounts host.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// println!("users sign in on {}", client.oauth().accounts_url().as_str());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn accounts_url(&self) -> &AccountsUrl {
        &self.accounts
    }

    /// Starts a sign-in returning to `redirect_uri` (one of the app's redirect urls) for
    /// `scopes`; `offline_access` among them gets a refresh token. The state and the PKCE
    /// verifier are new random values.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let sign_in = client.oauth().sign_in(
    ///     "http://127.0.0.1:8400/callback",
    ///     ["im:message", "offline_access"],
    /// )?;
    /// println!("open {}", sign_in.url());
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// # let sign_in = client.oauth().sign_in("http://127.0.0.1:8400/callback", ["im:message"])?;
    /// // `sign_in` was kept from `OAuth::sign_in`; the browser came back with this query.
    /// let redirect = lark::Redirect::from_query("code=a1b2c3&state=9f0e");
    /// let pair = client.oauth().finish(&sign_in, &redirect).await?;
    /// println!("signed in: {:?}", pair.open_id);
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let oauth = client.oauth();
    /// let grant = oauth.device(["im:message", "offline_access"]).await?;
    /// println!("open {} and enter {}", grant.verification_uri, grant.user_code);
    /// let pair = oauth.wait_for_device(&grant).await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let oauth = client.oauth();
    /// let grant = oauth.device(["im:message"]).await?;
    /// let pair = oauth.wait_for_device(&grant).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_device(&self, grant: &DeviceGrant) -> Result<UserTokenPair, Error> {
        let pair = self.client.http().wait_for_device(grant).await?;
        self.identify(pair).await
    }

    /// Who `pair` belongs to (`user_info`).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client, pair: lark::http::UserTokenPair) -> Result<(), lark::Error> {
    /// let user = client.oauth().user_info(&pair).await?;
    /// println!("{} ({})", user.name, user.open_id);
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use std::sync::Arc;
    ///
    /// let store = Arc::new(lark::http::FileUserTokenStore::new("/home/me/.config/lark"));
    /// let session = client.oauth().stored_session("default", store);
    /// if client.oauth().sign_out(&session).await? {
    ///     println!("signed out");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sign_out(&self, session: &UserSession) -> Result<bool, Error> {
        self.client.http().sign_out(session, &self.accounts).await
    }

    /// Stores `pair` in `store` as `user`'s and starts their session.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client, pair: lark::http::UserTokenPair) -> Result<(), lark::Error> {
    /// use std::sync::Arc;
    ///
    /// let store = Arc::new(lark::http::MemoryUserTokenStore::default());
    /// let session = client.oauth().session("alice", store, pair).await?;
    /// client.as_user(&session).messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "sent as Alice").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn session(
        &self,
        user: impl Into<String>,
        store: Arc<dyn UserTokenStore>,
        pair: UserTokenPair,
    ) -> Result<UserSession, Error> {
        UserSession::start(self.user_key(user), store, pair).await
    }

    /// The session of `user`, signed in earlier, from `store`.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use std::sync::Arc;
    ///
    /// // Signed in earlier, by `lark auth login` or another process.
    /// let store = Arc::new(lark::http::FileUserTokenStore::new("/home/me/.config/lark"));
    /// let session = client.oauth().stored_session("default", store);
    /// client.as_user(&session).messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "sent as me").await?;
    /// # Ok(())
    /// # }
    /// ```
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

/// How long a started sign-in waits for its redirect: the code it brings lives 5 minutes.
const PENDING_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// The most sign-ins waiting at once; the oldest is dropped beyond it.
const PENDING_MAX: usize = 1024;

/// Sign-ins for a web app: a route that sends the browser to the sign-in page and a route
/// the redirect comes back to, which checks the state, trades the code, and stores the user's
/// pair under their open_id. Build it with [`SignIns::new`], mount
/// [`axum_router`](SignIns::axum_router), and find a signed-in user's session with
/// [`OAuth::stored_session`] and their open_id.
///
/// At most 1024 sign-ins wait at once, each for 10 minutes; a redirect whose state is not one
/// of them is refused before any token is asked for.
pub struct SignIns {
    oauth: OAuth,
    redirect_uri: String,
    scopes: Vec<String>,
    store: Arc<dyn UserTokenStore>,
    pending: std::sync::Mutex<std::collections::VecDeque<(SignIn, std::time::Instant)>>,
}

impl fmt::Debug for SignIns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIns")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// How a redirect came out, for the page the browser is shown.
#[derive(Debug)]
pub enum SignInOutcome {
    /// Signed in, and the pair is stored under the user's open_id.
    SignedIn(SignedInUser),
    /// Refused: why.
    Refused(Error),
}

impl SignIns {
    /// Sign-ins returning to `redirect_uri` (one of the app's redirect urls, the address of
    /// the redirect route) for `scopes`, stored in `store`.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use std::sync::Arc;
    ///
    /// let store = Arc::new(lark::http::MemoryUserTokenStore::default());
    /// let sign_ins = lark::SignIns::new(
    ///     client.oauth(),
    ///     "https://bot.example.com/oauth/callback",
    ///     ["im:message", "offline_access"],
    ///     store,
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn new<S: Into<String>>(
        oauth: OAuth,
        redirect_uri: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
        store: Arc<dyn UserTokenStore>,
    ) -> Arc<Self> {
        Arc::new(Self {
            oauth,
            redirect_uri: redirect_uri.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            store,
            pending: std::sync::Mutex::new(std::collections::VecDeque::new()),
        })
    }

    fn pending(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::VecDeque<(SignIn, std::time::Instant)>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a sign-in; answers the url to send the browser to.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client, sign_ins: std::sync::Arc<lark::SignIns>) -> Result<(), lark::Error> {
    /// // Answer the browser with a redirect to `url`.
    /// let url = sign_ins.start()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start(&self) -> Result<String, Error> {
        let sign_in = self
            .oauth
            .sign_in(self.redirect_uri.clone(), self.scopes.iter().cloned())?;
        let url = sign_in.url().to_owned();
        let now = std::time::Instant::now();
        let mut pending = self.pending();
        pending.retain(|(_, started)| now.duration_since(*started) < PENDING_LIFETIME);
        while pending.len() >= PENDING_MAX {
            pending.pop_front();
        }
        pending.push_back((sign_in, now));
        Ok(url)
    }

    /// Finishes the sign-in a redirect with query `query` belongs to.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client, sign_ins: std::sync::Arc<lark::SignIns>) -> Result<(), lark::Error> {
    /// match sign_ins.finish("code=a1b2c3&state=9f0e").await {
    ///     lark::SignInOutcome::SignedIn(user) => println!("welcome, {}", user.name),
    ///     lark::SignInOutcome::Refused(why) => eprintln!("sign-in refused: {why}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn finish(&self, query: &str) -> SignInOutcome {
        let redirect = Redirect::from_query(query);
        let now = std::time::Instant::now();
        let sign_in = {
            let mut pending = self.pending();
            let position = pending.iter().position(|(sign_in, started)| {
                now.duration_since(*started) < PENDING_LIFETIME
                    && redirect
                        .state
                        .as_deref()
                        .is_some_and(|state| same(state, sign_in.state()))
            });
            position
                .and_then(|at| pending.remove(at))
                .map(|(sign_in, _)| sign_in)
        };
        let Some(sign_in) = sign_in else {
            return SignInOutcome::Refused(refused(
                "the redirect's state belongs to no sign-in under way (a forged, stale or repeated redirect), so no token was asked for; start the sign-in again",
            ));
        };
        let outcome = async {
            let pair = self.oauth.finish(&sign_in, &redirect).await?;
            let user = self.oauth.user_info(&pair).await?;
            self.oauth
                .session(user.open_id.as_str(), self.store.clone(), pair)
                .await?;
            Ok::<_, Error>(user)
        };
        match outcome.await {
            Ok(user) => SignInOutcome::SignedIn(user),
            Err(err) => SignInOutcome::Refused(err),
        }
    }

    /// The two routes as an axum router: `GET login_path` redirects the browser to a new
    /// sign-in, and `GET redirect_path` (the path of the redirect url) finishes it, answering
    /// a short page.
    ///
    /// ```no_run
    /// # async fn run(sign_ins: std::sync::Arc<lark::SignIns>) -> std::io::Result<()> {
    /// let app = sign_ins.axum_router("/login", "/oauth/callback");
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8400").await?;
    /// axum::serve(listener, app).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn axum_router(self: &Arc<Self>, login_path: &str, redirect_path: &str) -> axum::Router {
        use axum::http::{StatusCode, header};
        use axum::response::{Html, IntoResponse as _};
        let start = self.clone();
        let finish = self.clone();
        axum::Router::new()
            .route(
                login_path,
                axum::routing::get(move || {
                    let sign_ins = start.clone();
                    async move {
                        match sign_ins.start() {
                            Ok(url) => {
                                (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
                            }
                            Err(err) => {
                                tracing::warn!(
                                    error = &err as &dyn std::error::Error,
                                    "could not start a sign-in"
                                );
                                (
                                    StatusCode::INTERNAL_SERVER_ERROR,
                                    Html(page("The sign-in could not start.")),
                                )
                                    .into_response()
                            }
                        }
                    }
                }),
            )
            .route(
                redirect_path,
                axum::routing::get(move |uri: axum::http::Uri| {
                    let sign_ins = finish.clone();
                    async move {
                        match sign_ins.finish(uri.query().unwrap_or("")).await {
                            SignInOutcome::SignedIn(user) => (
                                StatusCode::OK,
                                Html(page(&format!("Signed in as {}.", escape(&user.name)))),
                            ),
                            SignInOutcome::Refused(err) => {
                                tracing::info!(
                                    error = &err as &dyn std::error::Error,
                                    "a sign-in redirect was refused"
                                );
                                (
                                    StatusCode::BAD_REQUEST,
                                    Html(page("The sign-in was refused; start it again.")),
                                )
                            }
                        }
                    }
                }),
            )
    }
}

#[cfg(feature = "axum")]
fn page(text: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in</title></head><body><p>{text}</p></body></html>"
    )
}

#[cfg(feature = "axum")]
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
