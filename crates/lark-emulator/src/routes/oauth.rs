//! Signing users in: the v2 token endpoint (doc `…/authentication-management/access-token/
//! get-user-access-token` and `refresh-user-access-token`), the device flow on the accounts
//! host, and `authen/v1/user_info`. A user consents through
//! [`Emulator::consent`](crate::Emulator::consent) or
//! [`Emulator::approve_device`](crate::Emulator::approve_device), in place of a browser.
//!
//! The rules, from those pages:
//! - a code works once (20003 unknown, 20065 used) and for 5 minutes (20004);
//! - with a PKCE challenge, the verifier must match it (20049); the redirect url, when the
//!   authorization had one, must be the same (20071);
//! - a wrong secret is 20002, an unknown app 20048, a missing field 20001, another grant 20036;
//! - a refresh token works once: using it again is 20073; an expired one 20037, a revoked one
//!   20064, an unknown one 20026;
//! - a refresh token is issued only with `offline_access`.

use super::auth::{Caller, authenticate};
use crate::server::{Fail, Reply, Request, Shared};
use crate::state::State;
use crate::util::random_hex;
use http::StatusCode;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// How long a code works.
const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How long a user access token is valid.
pub(crate) const USER_TOKEN_TTL: Duration = Duration::from_secs(7200);
/// How long a refresh token is valid (the pages' example: 604,800 s).
const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(604_800);
/// How long a device code is valid.
const DEVICE_CODE_TTL: Duration = Duration::from_secs(240);
/// How often a device may poll, in seconds, before `slow_down`.
const DEVICE_INTERVAL: u64 = 5;

/// Sign-in state.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    codes: HashMap<String, CodeRec>,
    refresh_tokens: HashMap<String, RefreshRec>,
    pub(crate) user_tokens: HashMap<String, UserTokenRec>,
    devices: HashMap<String, DeviceRec>,
    /// Token requests answered with a new pair, by grant type.
    pub(crate) grants: HashMap<&'static str, u64>,
    /// How often a device may poll, when a test changed it.
    pub(crate) device_interval: Option<u64>,
    /// Revocation requests answered.
    pub(crate) revocations: u64,
}

#[derive(Clone, Debug)]
struct CodeRec {
    app_id: String,
    user: String,
    scopes: Vec<String>,
    redirect_uri: Option<String>,
    challenge: Option<(String, String)>,
    issued: Instant,
    used: bool,
}

#[derive(Clone, Debug)]
struct RefreshRec {
    app_id: String,
    user: String,
    scopes: Vec<String>,
    expires_at: Instant,
    used: bool,
    revoked: bool,
}

/// A user access token.
#[derive(Clone, Debug)]
pub(crate) struct UserTokenRec {
    pub(crate) app_id: String,
    pub(crate) user: String,
    pub(crate) expires_at: Instant,
    pub(crate) revoked: bool,
}

#[derive(Clone, Debug)]
struct DeviceRec {
    app_id: String,
    user_code: String,
    scopes: Vec<String>,
    expires_at: Instant,
    interval: u64,
    last_poll: Option<Instant>,
    decision: Option<Result<String, ()>>,
}

/// An OAuth refusal: `{"code", "error", "error_description"}`.
fn refusal(status: StatusCode, code: i64, error: &str, description: &str) -> Fail {
    let mut fail = Fail::new(status, code, description);
    fail.oauth_error = Some(error.into());
    fail
}

fn invalid_grant(code: i64, description: &str) -> Fail {
    refusal(StatusCode::BAD_REQUEST, code, "invalid_grant", description)
}

/// An RFC 8628 answer to a poll: `{"error": …}` without a code.
fn device_refusal(error: &str, description: &str) -> Fail {
    refusal(StatusCode::BAD_REQUEST, 0, error, description)
}

/// The body's fields, from JSON or a form.
fn fields(request: &Request) -> Result<Map<String, Value>, Fail> {
    let form = request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let text = String::from_utf8_lossy(&request.body);
        return Ok(crate::server::parse_query(&text)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect());
    }
    serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .ok_or_else(|| {
            refusal(
                StatusCode::BAD_REQUEST,
                20_063,
                "invalid_request",
                "The request is malformed. Please check your request.",
            )
        })
}

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

fn required<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, Fail> {
    field(body, name).ok_or_else(|| {
        refusal(
            StatusCode::BAD_REQUEST,
            20_001,
            "invalid_request",
            &format!("The request is missing a required parameter: {name}."),
        )
    })
}

/// The app, when the client credentials are right.
fn client(state: &State, id: &str, secret: &str) -> Result<String, Fail> {
    let app = state.apps.get(id).ok_or_else(|| {
        refusal(
            StatusCode::BAD_REQUEST,
            20_048,
            "invalid_client",
            "The specified app does not exist.",
        )
    })?;
    if app.config.app_secret != secret {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            20_002,
            "invalid_client",
            "The client secret is invalid.",
        ));
    }
    Ok(id.to_owned())
}

/// `POST /open-apis/authen/v2/oauth/token`.
pub(crate) fn token(shared: &Shared, request: &Request) -> Result<Reply, Fail> {
    let body = fields(request)?;
    let grant = required(&body, "grant_type")?.to_owned();
    let mut state = shared.state();
    let app_id = client(
        &state,
        required(&body, "client_id")?,
        required(&body, "client_secret")?,
    )?;
    let now = state.now();
    let (user, scopes, kind) = match grant.as_str() {
        "authorization_code" => {
            let (user, scopes) = redeem_code(&mut state, &app_id, &body, now)?;
            (user, scopes, "authorization_code")
        }
        "refresh_token" => {
            let (user, scopes) = spend_refresh(&mut state, &app_id, &body, now)?;
            (user, scopes, "refresh_token")
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let (user, scopes) = poll_device(&mut state, &app_id, &body, now)?;
            (user, scopes, "device_code")
        }
        _ => {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                20_036,
                "unsupported_grant_type",
                "The specified grant_type is not supported.",
            ));
        }
    };
    let answer = issue(&mut state, &app_id, &user, &scopes, now);
    *state.oauth.grants.entry(kind).or_default() += 1;
    drop(state);
    shared.changed.notify_waiters();
    Ok(Reply::top_level(answer))
}

fn redeem_code(
    state: &mut State,
    app_id: &str,
    body: &Map<String, Value>,
    now: Instant,
) -> Result<(String, Vec<String>), Fail> {
    let code = required(body, "code")?;
    let record = state.oauth.codes.get_mut(code).ok_or_else(|| {
        invalid_grant(
            20_003,
            "The authorization code is not found. Please note that an authorization code can only be used once.",
        )
    })?;
    if record.used {
        return Err(invalid_grant(
            20_065,
            "The authorization code has been used. Please note that an authorization code can only be used once.",
        ));
    }
    if record.app_id != app_id {
        return Err(invalid_grant(
            20_024,
            "The provided authorization code or refresh token does not match the provided client ID.",
        ));
    }
    if now.duration_since(record.issued) >= CODE_LIFETIME {
        return Err(invalid_grant(20_004, "The authorization code has expired."));
    }
    if let Some(expected) = &record.redirect_uri
        && field(body, "redirect_uri").is_some_and(|given| given != expected)
    {
        return Err(invalid_grant(
            20_071,
            "The provided redirect URI does not match the one used during authorization.",
        ));
    }
    if let Some((challenge, method)) = &record.challenge {
        let verifier = field(body, "code_verifier").unwrap_or("");
        let computed = match method.as_str() {
            "S256" => s256(verifier),
            _ => verifier.to_owned(),
        };
        if verifier.is_empty() || computed != *challenge {
            return Err(invalid_grant(20_049, "PKCE code challenge failed."));
        }
    }
    record.used = true;
    Ok((record.user.clone(), record.scopes.clone()))
}

fn spend_refresh(
    state: &mut State,
    app_id: &str,
    body: &Map<String, Value>,
    now: Instant,
) -> Result<(String, Vec<String>), Fail> {
    let token = required(body, "refresh_token")?;
    let record = state.oauth.refresh_tokens.get_mut(token).ok_or_else(|| {
        invalid_grant(
            20_026,
            "The refresh token passed is invalid. Please check the value.",
        )
    })?;
    if record.app_id != app_id {
        return Err(invalid_grant(
            20_024,
            "The provided authorization code or refresh token does not match the provided client ID.",
        ));
    }
    if record.revoked {
        return Err(invalid_grant(
            20_064,
            "The refresh token has been revoked. Please note that a refresh token can only be used once.",
        ));
    }
    if record.used {
        return Err(invalid_grant(
            20_073,
            "The refresh token has been used. Please note that a refresh token can only be used once.",
        ));
    }
    if now >= record.expires_at {
        return Err(invalid_grant(
            20_037,
            "The refresh token passed has expired. Please generate a new one.",
        ));
    }
    record.used = true;
    Ok((record.user.clone(), record.scopes.clone()))
}

fn poll_device(
    state: &mut State,
    app_id: &str,
    body: &Map<String, Value>,
    now: Instant,
) -> Result<(String, Vec<String>), Fail> {
    let code = required(body, "device_code")?.to_owned();
    let record = state
        .oauth
        .devices
        .get_mut(&code)
        .filter(|record| record.app_id == app_id)
        .ok_or_else(|| device_refusal("invalid_grant", "The device code is not known."))?;
    if now >= record.expires_at {
        return Err(device_refusal(
            "expired_token",
            "The device code has expired.",
        ));
    }
    let too_soon = record
        .last_poll
        .is_some_and(|last| now.duration_since(last) < Duration::from_secs(record.interval));
    record.last_poll = Some(now);
    match record.decision.clone() {
        Some(Ok(user)) => {
            let scopes = record.scopes.clone();
            state.oauth.devices.remove(&code);
            Ok((user, scopes))
        }
        Some(Err(())) => {
            state.oauth.devices.remove(&code);
            Err(device_refusal(
                "access_denied",
                "The user denied the request.",
            ))
        }
        None if too_soon => {
            record.interval += 5;
            Err(device_refusal(
                "slow_down",
                "Polling too often: add 5 seconds to the interval.",
            ))
        }
        None => Err(device_refusal(
            "authorization_pending",
            "The user has not yet approved the request.",
        )),
    }
}

/// A new token pair for `user`; a refresh token only with `offline_access`.
fn issue(state: &mut State, app_id: &str, user: &str, scopes: &[String], now: Instant) -> Value {
    let access = format!("u-{}", random_hex::<20>());
    state.oauth.user_tokens.insert(
        access.clone(),
        UserTokenRec {
            app_id: app_id.to_owned(),
            user: user.to_owned(),
            expires_at: now + USER_TOKEN_TTL,
            revoked: false,
        },
    );
    let mut answer = json!({
        "code": 0,
        "access_token": access,
        "expires_in": USER_TOKEN_TTL.as_secs(),
        "scope": scopes.join(" "),
        "token_type": "Bearer",
    });
    if scopes.iter().any(|s| s == "offline_access") {
        let refresh = format!("ur-{}", random_hex::<20>());
        state.oauth.refresh_tokens.insert(
            refresh.clone(),
            RefreshRec {
                app_id: app_id.to_owned(),
                user: user.to_owned(),
                scopes: scopes.to_vec(),
                expires_at: now + REFRESH_TOKEN_TTL,
                used: false,
                revoked: false,
            },
        );
        answer["refresh_token"] = Value::String(refresh);
        answer["refresh_token_expires_in"] = Value::from(REFRESH_TOKEN_TTL.as_secs());
    }
    answer
}

fn s256(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// `POST /oauth/v1/device_authorization`, on the accounts host: HTTP Basic credentials, a form
/// with `client_id` and `scope`.
pub(crate) fn device_authorization(
    shared: &Shared,
    request: &Request,
    base_url: &str,
) -> Result<Reply, Fail> {
    let body = fields(request)?;
    let (id, secret) = basic_credentials(request).ok_or_else(|| {
        refusal(
            StatusCode::UNAUTHORIZED,
            20_002,
            "invalid_client",
            "The client secret is invalid.",
        )
    })?;
    let mut state = shared.state();
    let app_id = client(&state, &id, &secret)?;
    if field(&body, "client_id").is_some_and(|given| given != app_id) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            20_024,
            "invalid_client",
            "client_id does not match the credentials.",
        ));
    }
    let scopes: Vec<String> = field(&body, "scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let device_code = random_hex::<20>();
    let user_code = {
        let hex = random_hex::<4>().to_uppercase();
        format!("{}-{}", &hex[..4], &hex[4..])
    };
    let interval = state.oauth.device_interval.unwrap_or(DEVICE_INTERVAL);
    let now = state.now();
    state.oauth.devices.insert(
        device_code.clone(),
        DeviceRec {
            app_id,
            user_code: user_code.clone(),
            scopes,
            expires_at: now + DEVICE_CODE_TTL,
            interval,
            last_poll: None,
            decision: None,
        },
    );
    drop(state);
    shared.changed.notify_waiters();
    let verify = format!("{base_url}/oauth/v1/device/verify");
    Ok(Reply::top_level(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verify,
        "verification_uri_complete": format!("{verify}?user_code={user_code}"),
        "expires_in": DEVICE_CODE_TTL.as_secs(),
        "interval": interval,
    })))
}

fn basic_credentials(request: &Request) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = request
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `GET /open-apis/authen/v1/user_info`, with a user token.
pub(crate) fn user_info(shared: &Shared, request: &Request) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    let Some(open_id) = caller.user else {
        return Err(Fail::bad_request(
            99_991_668,
            "Invalid access token for authorization: this API takes a user access token.",
        ));
    };
    let state = shared.state();
    let user = state
        .users
        .iter()
        .find(|user| user.open_id == open_id)
        .ok_or_else(|| Fail::bad_request(20_008, "The user does not exist."))?;
    let tenant = state
        .apps
        .get(&caller.app_id)
        .map(|app| app.config.tenant_key.clone())
        .unwrap_or_default();
    Ok(Reply::data(json!({
        "name": user.name,
        "en_name": user.name,
        "open_id": user.open_id,
        "union_id": user.union_id,
        "user_id": user.user_id,
        "email": user.email,
        "tenant_key": tenant,
    })))
}

/// The caller a user token stands for, if it is a live one; else whether it is a known one
/// that expired (`true`) or unknown or revoked (`false`).
pub(crate) fn user_caller(state: &State, token: &str) -> Result<Caller, bool> {
    let record = state.oauth.user_tokens.get(token).ok_or(false)?;
    if record.revoked {
        return Err(false);
    }
    if record.expires_at <= state.now() {
        return Err(true);
    }
    Ok(Caller {
        app_id: record.app_id.clone(),
        user: Some(record.user.clone()),
    })
}

/// `GET /open-apis/authen/v1/authorize`, the accounts page a browser opens: the emulated
/// users, each a link that signs in as them. With `emulator_user` (a name or an open_id) it
/// consents at once and redirects to the app's redirect url with the code and the state, so a
/// sign-in can be driven by a browser or by any HTTP client that follows redirects.
pub(crate) fn authorize_page(shared: &Shared, request: &Request) -> Reply {
    let raw: Vec<(String, String)> = request
        .query
        .iter()
        .filter(|(key, _)| key.as_str() != "emulator_user")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut sorted = raw;
    sorted.sort();
    let query = sorted
        .iter()
        .map(|(key, value)| format!("{}={}", form_encode(key), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let url = format!("{}/open-apis/authen/v1/authorize?{query}", shared.base_url);
    let page = |status: StatusCode, body: String| Reply::Page {
        status,
        html: format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in: lark emulator</title></head><body>{body}</body></html>"
        ),
        location: None,
    };
    if let Some(user) = request.query("emulator_user") {
        let mut state = shared.state();
        return match consent(&mut state, user, &url) {
            Ok(redirect) => {
                drop(state);
                shared.changed.notify_waiters();
                Reply::Page {
                    status: StatusCode::FOUND,
                    html: String::new(),
                    location: Some(redirect),
                }
            }
            Err(why) => page(
                StatusCode::BAD_REQUEST,
                format!("<p>The sign-in was refused: {}</p>", html_escape(&why)),
            ),
        };
    }
    let users = shared.state().users.clone();
    let mut links = String::new();
    for user in &users {
        let _ = write!(
            links,
            "<li><a href=\"{}&amp;emulator_user={}\">{}</a> ({})</li>",
            html_escape(&url),
            form_encode(&user.open_id),
            html_escape(&user.name),
            html_escape(&user.open_id)
        );
    }
    page(
        StatusCode::OK,
        format!("<h1>Sign in to the app</h1><p>Choose who signs in:</p><ul>{links}</ul>"),
    )
}

fn form_encode(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, byte| {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
        out
    })
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What [`crate::Emulator::consent`] does: checks an authorize url as the accounts page would,
/// and answers the redirect the browser would follow, with a new code and the state.
pub(crate) fn consent(
    state: &mut State,
    user: &str,
    authorize_url: &str,
) -> Result<String, String> {
    let query = authorize_url
        .split_once("/open-apis/authen/v1/authorize?")
        .map(|(_, query)| query)
        .ok_or("not an authorize url: it has no /open-apis/authen/v1/authorize?")?;
    let params = crate::server::parse_query(query);
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let app_id = get("client_id")
        .ok_or("the url has no client_id")?
        .to_owned();
    if !state.apps.contains_key(&app_id) {
        return Err(format!("no app {app_id}"));
    }
    if get("response_type") != Some("code") {
        return Err("response_type must be code".to_owned());
    }
    let redirect = get("redirect_uri")
        .ok_or("the url has no redirect_uri")?
        .to_owned();
    let open_id = state
        .users
        .iter()
        .find(|u| u.name == user || u.open_id == user)
        .map(|u| u.open_id.clone())
        .ok_or_else(|| format!("no user {user}"))?;
    let scopes: Vec<String> = get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let challenge = get("code_challenge").map(|challenge| {
        (
            challenge.to_owned(),
            get("code_challenge_method").unwrap_or("plain").to_owned(),
        )
    });
    let code = random_hex::<24>();
    let issued = state.now();
    state.oauth.codes.insert(
        code.clone(),
        CodeRec {
            app_id,
            user: open_id,
            scopes,
            redirect_uri: Some(redirect.clone()),
            challenge,
            issued,
            used: false,
        },
    );
    let mut query = format!("code={code}");
    if let Some(state_param) = get("state") {
        query.push_str("&state=");
        query.push_str(&percent_encode(state_param));
    }
    let joiner = if redirect.contains('?') { '&' } else { '?' };
    Ok(format!("{redirect}{joiner}{query}"))
}

/// What [`crate::Emulator::approve_device`] does: the user enters `user_code` and approves (or
/// denies) it.
pub(crate) fn decide_device(
    state: &mut State,
    user: &str,
    user_code: &str,
    approve: bool,
) -> Result<(), String> {
    let open_id = state
        .users
        .iter()
        .find(|u| u.name == user || u.open_id == user)
        .map(|u| u.open_id.clone())
        .ok_or_else(|| format!("no user {user}"))?;
    let record = state
        .oauth
        .devices
        .values_mut()
        .find(|record| record.user_code == user_code)
        .ok_or_else(|| format!("no device authorization has the user code {user_code}"))?;
    record.decision = Some(if approve { Ok(open_id) } else { Err(()) });
    Ok(())
}

/// Revokes every refresh token and user token of `user` for `app_id`, as an administrator or
/// the user would.
/// `POST {accounts}/oauth/v1/revoke`, form `client_id`, `client_secret`, `token` and an
/// optional `token_type_hint`: revokes a refresh token with the user tokens of its user and
/// app, or one user token. As RFC 7009 §2.2 has it, a token that is unknown, spent or of
/// another app is answered as a success, so a caller learns nothing about tokens it does not
/// hold; wrong credentials are refused.
pub(crate) fn revoke(shared: &Shared, request: &Request) -> Result<Reply, Fail> {
    let body = fields(request)?;
    let id = required(&body, "client_id")?;
    let secret = required(&body, "client_secret")?;
    let token = required(&body, "token")?.to_owned();
    let mut state = shared.state();
    let app_id = client(&state, id, secret)?;
    let owner = state
        .oauth
        .refresh_tokens
        .get(&token)
        .filter(|record| record.app_id == app_id)
        .map(|record| record.user.clone());
    if let Some(user) = owner {
        revoke_user(&mut state, &app_id, &user);
    } else if let Some(record) = state
        .oauth
        .user_tokens
        .get_mut(&token)
        .filter(|record| record.app_id == app_id)
    {
        record.revoked = true;
    }
    state.oauth.revocations += 1;
    Ok(Reply::top_level(json!({"code": 0, "msg": "success"})))
}

pub(crate) fn revoke_user(state: &mut State, app_id: &str, user: &str) {
    for record in state.oauth.refresh_tokens.values_mut() {
        if record.app_id == app_id && record.user == user {
            record.revoked = true;
        }
    }
    for record in state.oauth.user_tokens.values_mut() {
        if record.app_id == app_id && record.user == user {
            record.revoked = true;
        }
    }
}

/// A query value, percent-encoded (RFC 3986 unreserved characters kept).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    out
}
