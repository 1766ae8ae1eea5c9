//! `/open-apis/auth/v3/…`: token endpoints, and checking the token every other endpoint carries.

use crate::events::{Outgoing, envelope_v1};
use crate::server::{Fail, Reply, Request, Shared};
use crate::state::{State, TokenKind};
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// What a valid token says about its caller.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) app_id: String,
    /// The user a user access token acts for.
    pub(crate) user: Option<String>,
}

pub(crate) fn route(shared: &Shared, request: &Request, rest: &[&str]) -> Result<Reply, Fail> {
    if request.method != Method::POST {
        return Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found"));
    }
    let body = request.json().map_err(|_| credentials_invalid())?;
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    match rest {
        ["tenant_access_token", "internal"] => {
            let mut state = shared.state();
            let app_id = check_self_built(&state, &field("app_id"), &field("app_secret"))?;
            let tenant = state.apps[&app_id].config.tenant_key.clone();
            let (token, expire) = state.issue_token(&app_id, TokenKind::Tenant, &tenant);
            Ok(Reply::top_level(
                json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire}),
            ))
        }
        ["app_access_token", "internal"] => {
            let mut state = shared.state();
            let app_id = check_self_built(&state, &field("app_id"), &field("app_secret"))?;
            let tenant = state.apps[&app_id].config.tenant_key.clone();
            let (app_token, expire) = state.issue_token(&app_id, TokenKind::App, &tenant);
            let (tenant_token, _) = state.issue_token(&app_id, TokenKind::Tenant, &tenant);
            Ok(Reply::top_level(json!({
                "app_access_token": app_token,
                "code": 0,
                "expire": expire,
                "msg": "ok",
                "tenant_access_token": tenant_token,
            })))
        }
        ["app_access_token"] => {
            let mut state = shared.state();
            let app_id = check_secret(&state, &field("app_id"), &field("app_secret"))?;
            let app = &state.apps[&app_id];
            if !app.config.marketplace {
                return Err(Fail::bad_request(
                    10_016,
                    "app is not a marketplace app: use app_access_token/internal",
                ));
            }
            let ticket = field("app_ticket");
            if ticket.is_empty() || app.ticket.as_deref() != Some(ticket.as_str()) {
                return Err(Fail::bad_request(
                    10_012,
                    "app_ticket is invalid: ask for it again with app_ticket/resend",
                ));
            }
            let tenant = app.config.tenant_key.clone();
            let (token, expire) = state.issue_token(&app_id, TokenKind::App, &tenant);
            Ok(Reply::top_level(
                json!({"code": 0, "msg": "success", "app_access_token": token, "expire": expire}),
            ))
        }
        ["tenant_access_token"] => {
            let mut state = shared.state();
            let app_token = field("app_access_token");
            let tenant_key = field("tenant_key");
            let Some(info) = state
                .tokens
                .get(&app_token)
                .filter(|t| t.kind == TokenKind::App && !t.revoked && t.expires_at > state.now())
            else {
                return Err(Fail::bad_request(99_991_664, "invalid app token"));
            };
            let app_id = info.app_id.clone();
            if state
                .apps
                .get(&app_id)
                .is_none_or(|app| app.config.tenant_key != tenant_key)
            {
                return Err(Fail::bad_request(99_991_665, "invalid tenant code"));
            }
            let (token, expire) = state.issue_token(&app_id, TokenKind::Tenant, &tenant_key);
            Ok(Reply::top_level(
                json!({"code": 0, "msg": "success", "tenant_access_token": token, "expire": expire}),
            ))
        }
        ["app_ticket", "resend"] => resend_ticket(shared, &field("app_id"), &field("app_secret")),
        _ => Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
    }
}

/// Pushes a new app ticket to a marketplace app, as a v1 `app_ticket` event.
fn resend_ticket(shared: &Shared, app_id: &str, secret: &str) -> Result<Reply, Fail> {
    let outgoing = {
        let mut state = shared.state();
        let app_id = check_secret(&state, app_id, secret)?;
        let token = state
            .config
            .webhook
            .as_ref()
            .map(|w| w.verification_token.clone())
            .unwrap_or_default();
        let app = state
            .apps
            .get_mut(&app_id)
            .ok_or_else(credentials_invalid)?;
        if !app.config.marketplace {
            return Err(Fail::bad_request(
                10_016,
                "app_ticket/resend is for marketplace apps only",
            ));
        }
        let ticket = crate::util::random_hex::<16>();
        app.ticket = Some(ticket.clone());
        let (uuid, payload) = envelope_v1(
            &token,
            json!({"app_id": app_id, "app_ticket": ticket, "type": "app_ticket"}),
        );
        Outgoing {
            app_id,
            event_id: uuid,
            event_type: "app_ticket".to_owned(),
            payload,
            duplicates: 0,
            redelivery: false,
        }
    };
    shared.events.emit(outgoing);
    Ok(Reply::top_level(json!({"code": 0, "msg": "success"})))
}

fn credentials_invalid() -> Fail {
    Fail::bad_request(10_003, "invalid param")
}

fn check_secret(state: &State, app_id: &str, secret: &str) -> Result<String, Fail> {
    let app = state.apps.get(app_id).ok_or_else(credentials_invalid)?;
    if app.config.app_secret != secret {
        return Err(Fail::bad_request(10_015, "app secret invalid"));
    }
    Ok(app_id.to_owned())
}

fn check_self_built(state: &State, app_id: &str, secret: &str) -> Result<String, Fail> {
    let app_id = check_secret(state, app_id, secret)?;
    if state.apps[&app_id].config.marketplace {
        return Err(Fail::bad_request(
            10_014,
            "app unauthorized: a marketplace app gets tokens through the app_ticket",
        ));
    }
    Ok(app_id)
}

/// Checks the `Authorization` header: 99991661 when missing, 99991671 when malformed, 99991663
/// when unknown, expired, revoked, or not a tenant token; for a user token, 99991677 when it
/// expired and 99991668 when it is unknown or revoked.
pub(crate) fn authenticate(shared: &Shared, request: &Request) -> Result<Caller, Fail> {
    let Some(header) = request.headers.get(http::header::AUTHORIZATION) else {
        return Err(Fail::bad_request(99_991_661, "Need a token"));
    };
    let token = header.to_str().ok().and_then(bearer).unwrap_or_default();
    if token.is_empty() {
        return Err(Fail::bad_request(99_991_661, "Need a token"));
    }
    if !(token.starts_with("t-") || token.starts_with("u-")) {
        return Err(Fail::bad_request(
            99_991_671,
            "Invalid token: must start with t- or u-",
        ));
    }
    let state = shared.state();
    if token.starts_with("u-") {
        return super::oauth::user_caller(&state, token).map_err(|expired| {
            if expired {
                Fail::bad_request(99_991_677, "Authentication token expired")
            } else {
                Fail::bad_request(
                    99_991_668,
                    "Invalid access token for authorization: the user access token is invalid or revoked.",
                )
            }
        });
    }
    match state.tokens.get(token) {
        Some(info)
            if !info.revoked && info.expires_at > state.now() && info.kind == TokenKind::Tenant =>
        {
            Ok(Caller {
                app_id: info.app_id.clone(),
                user: None,
            })
        }
        _ => Err(Fail::bad_request(
            99_991_663,
            "Invalid access token for authorization. Please make a request with token attached.",
        )),
    }
}

/// The token of an `Authorization: Bearer …` value; the scheme's case does not matter (RFC 6750).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The app whose token a request carries, if it carries one the emulator issued.
pub(crate) fn token_owner(shared: &Shared, request: &Request) -> Option<String> {
    let token = request
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(bearer)?;
    shared
        .state()
        .tokens
        .get(token.trim())
        .map(|t| t.app_id.clone())
}

/// `GET /open-apis/bot/v3/info`: the calling app's bot, at the top level beside `code` and
/// `msg` (doc `client-docs/bot-v3/obtain-bot-info`).
pub(crate) fn bot_info(shared: &Shared, request: &Request) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    let state = shared.state();
    let app = state
        .apps
        .get(&caller.app_id)
        .ok_or_else(|| Fail::bad_request(99_991_663, "Invalid access token for authorization."))?;
    Ok(Reply::top_level(serde_json::json!({
        "code": 0,
        "msg": "ok",
        "bot": {
            // 2: activated, the state of an app whose bot answers.
            "activate_status": 2,
            "app_name": app.config.bot_name,
            "avatar_url": "",
            "ip_white_list": [],
            "open_id": app.config.bot_open_id,
        },
    })))
}
