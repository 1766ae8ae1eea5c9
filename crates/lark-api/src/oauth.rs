//! Acting as a user: the OAuth 2.0 calls that obtain and refresh a `user_access_token`.
//!
//! - The user signs in on the accounts host ([`Authorize`]), which redirects back with a `code`
//!   and the `state` it was given; or, on a device without a browser, approves a user code
//!   ([`DeviceAuthorization`]).
//! - The app exchanges the code, with the PKCE verifier ([`Pkce`]), for a token pair at the v2
//!   token endpoint ([`UserAccessToken`]), and later refreshes it there. A refresh token works
//!   once: each refresh answers a new pair.
//! - [`UserInfo`] says who the token belongs to.
//!
//! Sources, on open.feishu.cn under `/document/uAjLw4CM/ukTMukTMukTM/authentication-management/access-token/`:
//! `obtain-oauth-code`, `get-user-access-token` and `refresh-user-access-token`; the device
//! flow's path and fields from the official `larksuite/cli` (`internal/auth/device_flow.go`,
//! `internal/auth/paths.go`). docs/protocol.md §4.4 sums them up.

use crate::answer::Answer;
use crate::answer::endpoint;
use crate::base_url::BaseUrl;
use crate::endpoint::{Auth, Body};
use crate::error::{ApiError, BuildError, DecodeError, DetailEntry, Error, ErrorDetail};
use crate::secret::{AccessToken, AppSecret};
use bytes::Bytes;
use http::Method;
use lark_content::{AppId, OpenId, TenantKey, UnionId, UserId};
use serde::Deserialize;
use serde_json::{Map, Value};

pub use crate::secret::{AuthorizationCode, CodeVerifier, DeviceCode, RefreshToken};

/// Most scopes one authorization may ask for.
pub const SCOPES_MAX: usize = 50;

/// The scope that makes the token endpoint answer a refresh token too.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The accounts host, where users sign in: `https://accounts.feishu.cn`,
/// `https://accounts.larksuite.com`, or, for an emulator or a proxy, the API's own base url.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountsUrl(BaseUrl);

impl AccountsUrl {
    /// Feishu's: `https://accounts.feishu.cn`.
    #[must_use]
    pub fn feishu() -> Self {
        Self(BaseUrl::parse("https://accounts.feishu.cn").unwrap_or_else(|_| BaseUrl::feishu()))
    }

    /// Lark's: `https://accounts.larksuite.com`.
    #[must_use]
    pub fn lark() -> Self {
        Self(BaseUrl::parse("https://accounts.larksuite.com").unwrap_or_else(|_| BaseUrl::lark()))
    }

    /// Any base url, such as an emulator's.
    ///
    /// # Errors
    /// As [`BaseUrl::parse`].
    pub fn parse(url: &str) -> Result<Self, BuildError> {
        BaseUrl::parse(url).map(Self)
    }

    /// The accounts host that goes with an API base url: Feishu's and Lark's for theirs, and
    /// the base url itself for any other (an emulator serves both).
    #[must_use]
    pub fn for_base(base: &BaseUrl) -> Self {
        match base.as_str() {
            "https://open.feishu.cn" => Self::feishu(),
            "https://open.larksuite.com" => Self::lark(),
            _ => Self(base.clone()),
        }
    }

    /// The url, without a trailing `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// PKCE (RFC 7636) with `S256`: a random verifier the app keeps, and its challenge, which goes
/// in the authorize url. The code exchange sends the verifier, so a stolen code is useless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkce {
    verifier: CodeVerifier,
    challenge: String,
}

impl Pkce {
    /// From 32 random bytes: the verifier is their base64url form, 43 characters.
    #[must_use]
    pub fn from_random(bytes: [u8; 32]) -> Self {
        use base64::Engine as _;
        let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Self::with_checked(verifier)
    }

    /// From a verifier of 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
    ///
    /// # Errors
    /// [`BuildError::InvalidParam`] for any other verifier.
    pub fn from_verifier(verifier: impl Into<String>) -> Result<Self, BuildError> {
        let verifier = verifier.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
        if !(43..=128).contains(&verifier.len()) || !verifier.chars().all(allowed) {
            return Err(BuildError::InvalidParam {
                field: "code_verifier",
                reason: "must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'"
                    .to_owned(),
            });
        }
        Ok(Self::with_checked(verifier))
    }

    fn with_checked(verifier: String) -> Self {
        use base64::Engine as _;
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(verifier.as_bytes());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        Self {
            verifier: CodeVerifier::new(verifier),
            challenge,
        }
    }

    /// The challenge, for the authorize url.
    #[must_use]
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The verifier, for the code exchange.
    #[must_use]
    pub fn verifier(&self) -> &CodeVerifier {
        &self.verifier
    }
}

/// The url that asks a user to sign in and grant scopes:
/// `GET {accounts}/open-apis/authen/v1/authorize`.
///
/// ```
/// use lark_api::oauth::{AccountsUrl, Authorize, Pkce};
/// use lark_content::AppId;
///
/// let pkce = Pkce::from_random([7; 32]);
/// let url = Authorize::new(AppId::new("cli_a5d611352af9d00b"), "http://127.0.0.1:8400/callback")
///     .scopes(["im:message", "offline_access"])
///     .state("c2f1e0")
///     .pkce(&pkce)
///     .url(&AccountsUrl::feishu())?;
/// assert!(url.starts_with("https://accounts.feishu.cn/open-apis/authen/v1/authorize?client_id=cli_a5d611352af9d00b&response_type=code"));
/// # Ok::<(), lark_api::BuildError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Authorize {
    /// The app.
    pub client_id: AppId,
    /// Where the browser returns with `code` and `state`; it must be one of the app's
    /// redirect urls.
    pub redirect_uri: String,
    /// The scopes asked for; `offline_access` for a refresh token.
    pub scopes: Vec<String>,
    /// Returned unchanged with the code: check it, to refuse a forged redirect.
    pub state: Option<String>,
    /// The PKCE challenge (`S256`).
    pub code_challenge: Option<String>,
    /// Show the consent page even when the user already granted the scopes.
    pub consent: bool,
}

impl Authorize {
    /// Sign-in for `client_id`, returning to `redirect_uri`.
    pub fn new(client_id: AppId, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id,
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            state: None,
            code_challenge: None,
            consent: false,
        }
    }

    /// Adds scopes.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Sets the state.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets the PKCE challenge.
    pub fn pkce(mut self, pkce: &Pkce) -> Self {
        self.code_challenge = Some(pkce.challenge().to_owned());
        self
    }

    /// Shows the consent page every time.
    pub fn consent(mut self) -> Self {
        self.consent = true;
        self
    }

    /// The url on `accounts`.
    ///
    /// # Errors
    /// [`BuildError::InvalidParam`] for an empty redirect url, more than 50 scopes, or a
    /// scope given twice.
    pub fn url(&self, accounts: &AccountsUrl) -> Result<String, BuildError> {
        check_scopes(&self.scopes)?;
        if self.redirect_uri.trim().is_empty() {
            return Err(BuildError::InvalidParam {
                field: "redirect_uri",
                reason: "is empty; give one of the app's redirect urls".to_owned(),
            });
        }
        let mut query = crate::Query::default();
        query.push("client_id", self.client_id.as_str());
        query.push("response_type", "code");
        query.push("redirect_uri", self.redirect_uri.clone());
        if !self.scopes.is_empty() {
            query.push("scope", self.scopes.join(" "));
        }
        query.push_display("state", self.state.as_ref());
        if let Some(challenge) = &self.code_challenge {
            query.push("code_challenge", challenge.clone());
            query.push("code_challenge_method", "S256");
        }
        if self.consent {
            query.push("prompt", "consent");
        }
        Ok(format!(
            "{}/open-apis/authen/v1/authorize?{}",
            accounts.as_str(),
            query.encode()
        ))
    }
}

fn check_scopes(scopes: &[String]) -> Result<(), BuildError> {
    if scopes.len() > SCOPES_MAX {
        return Err(BuildError::InvalidParam {
            field: "scope",
            reason: format!(
                "asks for {} scopes; at most {SCOPES_MAX} at once",
                scopes.len()
            ),
        });
    }
    for (index, scope) in scopes.iter().enumerate() {
        if scope.is_empty() || scope.contains(char::is_whitespace) {
            return Err(BuildError::InvalidParam {
                field: "scope",
                reason: format!("{scope:?} is not a scope name"),
            });
        }
        if scopes[..index].contains(scope) {
            return Err(BuildError::InvalidParam {
                field: "scope",
                reason: format!("{scope} is given twice (the platform answers 20067)"),
            });
        }
    }
    Ok(())
}

/// What a token request trades for a token pair.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// `authorization_code`: the code from the redirect.
    AuthorizationCode {
        /// The code.
        code: AuthorizationCode,
        /// The redirect url the authorization used, when it gave one.
        redirect_uri: Option<String>,
        /// The PKCE verifier, when the authorization sent a challenge.
        code_verifier: Option<CodeVerifier>,
    },
    /// `refresh_token`: a refresh token, spent by the call.
    RefreshToken(RefreshToken),
    /// `urn:ietf:params:oauth:grant-type:device_code`: a device code the user approved.
    DeviceCode(DeviceCode),
}

/// `POST /open-apis/authen/v2/oauth/token`: a user's token pair, for a code, a refresh token
/// or an approved device code. Its answers are at the top level, and its errors carry
/// `error` and `error_description` beside `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct UserAccessToken {
    /// The app.
    pub client_id: AppId,
    /// The app's secret.
    pub client_secret: AppSecret,
    /// What is traded.
    pub grant: Grant,
    /// Narrows the token to these of the granted scopes.
    pub scope: Option<Vec<String>>,
}

impl UserAccessToken {
    /// Trades `grant`.
    pub fn new(client_id: AppId, client_secret: AppSecret, grant: Grant) -> Self {
        Self {
            client_id,
            client_secret,
            grant,
            scope: None,
        }
    }

    /// Narrows the token to `scopes`, a subset of those granted.
    pub fn narrow<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scope = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

endpoint!(UserAccessToken: POST "/open-apis/authen/v2/oauth/token" => OAuthAnswer<UserTokens> {
    const AUTH: Auth = Auth::None;

    fn body(&self) -> Result<Body, BuildError> {
        let mut body = Map::new();
        let mut put = |key: &str, value: &str| {
            body.insert(key.to_owned(), Value::String(value.to_owned()));
        };
        match &self.grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                put("grant_type", "authorization_code");
                put("code", code.expose());
                if let Some(uri) = redirect_uri {
                    put("redirect_uri", uri);
                }
                if let Some(verifier) = code_verifier {
                    put("code_verifier", verifier.expose());
                }
            }
            Grant::RefreshToken(token) => {
                put("grant_type", "refresh_token");
                put("refresh_token", token.expose());
            }
            Grant::DeviceCode(code) => {
                put("grant_type", "urn:ietf:params:oauth:grant-type:device_code");
                put("device_code", code.expose());
            }
        }
        put("client_id", self.client_id.as_str());
        put("client_secret", self.client_secret.expose());
        if let Some(scopes) = &self.scope {
            check_scopes(scopes)?;
            put("scope", &scopes.join(" "));
        }
        Ok(Body::json(&Value::Object(body)))
    }
});

/// A user's token pair, as the token endpoint answers it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UserTokens {
    /// The `user_access_token`.
    pub access_token: AccessToken,
    /// Seconds it is valid for.
    pub expires_in: u64,
    /// The refresh token, when `offline_access` was granted.
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// Seconds the refresh token is valid for.
    #[serde(default)]
    pub refresh_token_expires_in: Option<u64>,
    /// The scopes granted, space-separated; the platform may grant fewer than asked.
    #[serde(default)]
    pub scope: String,
    /// Always `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
}

/// The OAuth endpoints' answer: the object at the top level, or
/// `{"code", "error", "error_description"}` (or an RFC 6749 error without `code`).
#[derive(Debug)]
pub struct OAuthAnswer<T>(std::marker::PhantomData<fn() -> T>);

impl<T: serde::de::DeserializeOwned> Answer for OAuthAnswer<T> {
    type Output = T;

    fn read(response: http::Response<Bytes>) -> Result<T, Error> {
        let status = response.status();
        let log_id = crate::endpoint::log_id(response.headers());
        let value: Value = serde_json::from_slice(response.body()).map_err(|error| {
            Error::Decode(DecodeError {
                status,
                log_id: log_id.clone(),
                body: String::from_utf8_lossy(response.body()).into_owned(),
                error,
            })
        })?;
        let code = value.get("code").and_then(Value::as_i64).unwrap_or(0);
        let error = value.get("error").and_then(Value::as_str);
        if code != 0 || error.is_some() || !status.is_success() {
            return Err(Error::Api(to_api_error(status, log_id, &value)));
        }
        serde_json::from_value(value.clone()).map_err(|error| {
            Error::Decode(DecodeError {
                status,
                log_id,
                body: value.to_string(),
                error,
            })
        })
    }
}

/// An OAuth refusal as an [`ApiError`]: its `code` (0 for an RFC 6749 refusal that has none),
/// `msg` as `error: error_description`, and the `error` name kept in the detail, where
/// [`oauth_error`] reads it.
fn to_api_error(status: http::StatusCode, log_id: Option<String>, value: &Value) -> ApiError {
    let error = value.get("error").and_then(Value::as_str).unwrap_or("");
    let description = value
        .get("error_description")
        .or_else(|| value.get("msg"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let code = value.get("code").and_then(Value::as_i64).unwrap_or(0);
    let msg = match (error, description) {
        ("", description) => description.to_owned(),
        (error, "") => error.to_owned(),
        (error, description) => format!("{error}: {description}"),
    };
    let detail = (!error.is_empty()).then(|| {
        Box::new(ErrorDetail {
            details: vec![DetailEntry {
                key: Some("error".to_owned()),
                value: Some(error.to_owned()),
            }],
            ..ErrorDetail::default()
        })
    });
    ApiError {
        code,
        msg,
        status,
        log_id,
        detail,
        rate_limit: None,
        operation: None,
    }
}

/// The OAuth `error` name of a refusal from the OAuth endpoints: `invalid_grant`,
/// `authorization_pending`, `slow_down`, `access_denied`, `expired_token`, …
#[must_use]
pub fn oauth_error(error: &ApiError) -> Option<&str> {
    error
        .detail
        .as_deref()?
        .details
        .iter()
        .find(|entry| entry.key.as_deref() == Some("error"))?
        .value
        .as_deref()
}

/// What a device-flow poll that did not get tokens says to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceWait {
    /// `authorization_pending`: poll again after the interval.
    Pending,
    /// `slow_down`: add 5 seconds to the interval, then poll again.
    SlowDown,
}

impl DeviceWait {
    /// The wait a poll's refusal asks for; `None` when it is final (denied, expired, …).
    #[must_use]
    pub fn of(error: &Error) -> Option<Self> {
        let Error::Api(error) = error else {
            return None;
        };
        match oauth_error(error)? {
            "authorization_pending" => Some(Self::Pending),
            "slow_down" => Some(Self::SlowDown),
            _ => None,
        }
    }
}

/// `POST {accounts}/oauth/v1/device_authorization`: starts the device flow. The user opens
/// the verification url and enters the user code; meanwhile the app polls
/// [`UserAccessToken`] with [`Grant::DeviceCode`] every `interval` seconds, five more after
/// each `slow_down`.
///
/// It is served by the accounts host, form-encoded with HTTP Basic credentials, so it is built
/// with [`request`](Self::request) rather than as an [`Endpoint`](crate::Endpoint); its body is
/// the form.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct DeviceAuthorization {
    /// The app.
    pub client_id: AppId,
    /// The app's secret.
    pub client_secret: AppSecret,
    /// The scopes asked for; `offline_access` is added, for a refresh token.
    pub scopes: Vec<String>,
}

impl DeviceAuthorization {
    /// A device authorization for `scopes`.
    pub fn new<S: Into<String>>(
        client_id: AppId,
        client_secret: AppSecret,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    /// The request, on `accounts`.
    ///
    /// # Errors
    /// [`BuildError::InvalidParam`] for scopes the authorize url would refuse too.
    pub fn request(&self, accounts: &AccountsUrl) -> Result<http::Request<Bytes>, BuildError> {
        use base64::Engine as _;
        let mut scopes = self.scopes.clone();
        if !scopes.iter().any(|s| s == OFFLINE_ACCESS) {
            scopes.push(OFFLINE_ACCESS.to_owned());
        }
        check_scopes(&scopes)?;
        let mut form = crate::Query::default();
        form.push("client_id", self.client_id.as_str());
        form.push("scope", scopes.join(" "));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.client_id.as_str(),
            self.client_secret.expose()
        ));
        let mut authorization =
            http::HeaderValue::try_from(format!("Basic {basic}")).map_err(|err| {
                BuildError::http_because("the app's credentials cannot go in a header", err)
            })?;
        authorization.set_sensitive(true);
        http::Request::builder()
            .method(Method::POST)
            .uri(format!(
                "{}/oauth/v1/device_authorization",
                accounts.as_str()
            ))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::AUTHORIZATION, authorization)
            .body(Bytes::from(form.encode()))
            .map_err(|err| BuildError::http_because("the accounts url is not valid", err))
    }

    /// Reads the answer.
    ///
    /// # Errors
    /// The refusal, as an [`ApiError`].
    pub fn parse(response: http::Response<Bytes>) -> Result<DeviceGrant, Error> {
        OAuthAnswer::<DeviceGrant>::read(response)
    }
}

/// `POST {accounts}/oauth/v1/revoke`: revokes a user's refresh token (or access token), so a
/// copy left anywhere stops working. Form-encoded with the app's credentials, on the
/// accounts host, as the official CLI sends it (docs/protocol.md §4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Revoke {
    /// The app.
    pub client_id: AppId,
    /// The app's secret.
    pub client_secret: AppSecret,
    /// The token revoked.
    pub token: RefreshToken,
}

impl Revoke {
    /// Revokes `token`.
    pub fn new(client_id: AppId, client_secret: AppSecret, token: RefreshToken) -> Self {
        Self {
            client_id,
            client_secret,
            token,
        }
    }

    /// The request, on `accounts`.
    ///
    /// # Errors
    /// [`BuildError::Http`] when the request cannot be assembled.
    pub fn request(&self, accounts: &AccountsUrl) -> Result<http::Request<Bytes>, BuildError> {
        let mut form = crate::Query::default();
        form.push("client_id", self.client_id.as_str());
        form.push("client_secret", self.client_secret.expose());
        form.push("token", self.token.expose());
        form.push("token_type_hint", "refresh_token");
        http::Request::builder()
            .method(Method::POST)
            .uri(format!("{}/oauth/v1/revoke", accounts.as_str()))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Bytes::from(form.encode()))
            .map_err(|err| BuildError::http_because("the accounts url is not valid", err))
    }

    /// Reads the answer: success is an empty body, or JSON with `code` 0 and no `error`.
    ///
    /// # Errors
    /// The refusal, as an [`ApiError`].
    pub fn parse(response: http::Response<Bytes>) -> Result<(), Error> {
        if response.status().is_success() && response.body().iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        OAuthAnswer::<serde::de::IgnoredAny>::read(response).map(drop)
    }
}

/// What the device flow hands the user and the app.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DeviceGrant {
    /// What the app polls with.
    pub device_code: DeviceCode,
    /// What the user enters.
    pub user_code: String,
    /// Where the user enters it.
    pub verification_uri: String,
    /// The same url with the code in it, when given.
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    /// Seconds until the device code expires (240 when not given).
    #[serde(default = "default_device_expiry")]
    pub expires_in: u64,
    /// Seconds between polls (5 when not given).
    #[serde(default = "default_device_interval")]
    pub interval: u64,
}

fn default_device_expiry() -> u64 {
    240
}

fn default_device_interval() -> u64 {
    5
}

/// `GET /open-apis/authen/v1/user_info`: who a user token belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct UserInfo;

endpoint!(UserInfo: GET "/open-apis/authen/v1/user_info" => crate::answer::Data<SignedInUser> {
    const AUTH: Auth = Auth::User;
});

/// The user a token belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct SignedInUser {
    /// Their name.
    #[serde(default)]
    pub name: String,
    /// Their English name.
    #[serde(default)]
    pub en_name: Option<String>,
    /// Their avatar.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Their open_id in this app.
    pub open_id: OpenId,
    /// Their union_id.
    #[serde(default)]
    pub union_id: Option<UnionId>,
    /// Their user_id, with the scope for it.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// Their email, with the scope for it.
    #[serde(default)]
    pub email: Option<String>,
    /// Their tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
}
