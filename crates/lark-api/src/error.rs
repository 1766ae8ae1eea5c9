//! Errors: what the platform said, why a response could not be read, why a request could not be
//! built.

use http::StatusCode;
use lark_content::ContentError;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// Codes the SDK acts on, with where they are documented.
pub mod codes {
    /// Success.
    pub const OK: i64 = 0;
    /// The request carries no token, or the `Authorization` header is malformed.
    pub const TOKEN_MISSING: i64 = 99_991_661;
    /// The tenant access token is invalid or expired (or the API refuses tenant tokens).
    pub const TENANT_TOKEN_INVALID: i64 = 99_991_663;
    /// The app access token is invalid.
    pub const APP_TOKEN_INVALID: i64 = 99_991_664;
    /// The user access token is invalid.
    pub const USER_TOKEN_INVALID: i64 = 99_991_668;
    /// The token is malformed: it must start with `t-` or `u-`.
    pub const TOKEN_MALFORMED: i64 = 99_991_671;
    /// The user access token has expired.
    pub const USER_TOKEN_EXPIRED: i64 = 99_991_677;
    /// The app lacks a scope the API needs; see `permission_violations`.
    pub const SCOPE_MISSING: i64 = 99_991_672;
    /// The app is calling too often.
    pub const RATE_LIMITED: i64 = 99_991_400;
    /// An IM operation hit its frequency limit.
    pub const IM_RATE_LIMITED: i64 = 230_020;
    /// A custom-bot webhook hit its frequency limit.
    pub const WEBHOOK_RATE_LIMITED: i64 = 11_232;
    /// The app ticket is invalid (marketplace apps): ask the platform to resend it.
    pub const APP_TICKET_INVALID: i64 = 10_012;
    /// The app is not usable: disabled, says the error-code list; captured answers also give it
    /// for a wrong secret (docs/protocol.md §9).
    pub const APP_UNAVAILABLE: i64 = 10_014;
    /// The app secret is wrong.
    pub const WRONG_APP_SECRET: i64 = 10_015;
    /// An IM request parameter is invalid, malformed message content included.
    pub const INVALID_PARAM: i64 = 230_001;
    /// The bot is not in the chat.
    pub const BOT_NOT_IN_CHAT: i64 = 230_002;
    /// The message was recalled.
    pub const MESSAGE_RECALLED: i64 = 230_011;
    /// The message content is over the size limit.
    pub const CONTENT_TOO_LONG: i64 = 230_025;
    /// The message is older than 14 days and can no longer be updated.
    pub const MESSAGE_TOO_OLD_TO_UPDATE: i64 = 230_031;
    /// The `receive_id` is invalid: no such chat or user.
    pub const INVALID_RECEIVE_ID: i64 = 230_034;
    /// On send: this message type cannot be sent into this chat (a connected, cross-tenant
    /// chat). Elsewhere: the operation does not apply to this message type.
    pub const UNSUPPORTED_MESSAGE_TYPE: i64 = 230_054;
    /// The upload type does not match the message type.
    pub const UPLOAD_TYPE_MISMATCH: i64 = 230_055;
    /// On edit: the operator did not send the message. On reply: the chat does not allow
    /// replies in threads.
    pub const NOT_MESSAGE_SENDER: i64 = 230_071;
    /// On edit: the message has been edited the maximum number of times. On reply: an
    /// aggregated (merge-forwarded) message cannot be replied to in a thread.
    pub const EDIT_LIMIT_REACHED: i64 = 230_072;
    /// A card failed to render; the sub-code is in `msg`.
    pub const CARD_CONTENT_FAILED: i64 = 230_099;
    /// The message has been deleted.
    pub const MESSAGE_DELETED: i64 = 230_110;
    /// The message does not exist (or was deleted).
    pub const MESSAGE_NOT_FOUND: i64 = 231_003;
    /// The chat id is invalid.
    pub const INVALID_CHAT_ID: i64 = 232_006;
    /// The chat has been dissolved.
    pub const CHAT_DISSOLVED: i64 = 232_009;
    /// The resource type is not supported by the message resource endpoint.
    pub const UNSUPPORTED_RESOURCE: i64 = 234_043;

    // OAuth (`/open-apis/authen/v2/oauth/token`), from the token pages' error tables and the
    // generic error-code list.

    /// The app's secret was refused by the token endpoint.
    pub const OAUTH_CLIENT_INVALID: i64 = 20_002;
    /// The authorization code does not exist (or was used: a code works once).
    pub const AUTH_CODE_NOT_FOUND: i64 = 20_003;
    /// The authorization code is older than 5 minutes.
    pub const AUTH_CODE_EXPIRED: i64 = 20_004;
    /// The refresh token is not valid (or came from the v1 endpoints).
    pub const REFRESH_TOKEN_INVALID: i64 = 20_026;
    /// The refresh token has expired.
    pub const REFRESH_TOKEN_EXPIRED: i64 = 20_037;
    /// PKCE failed: the `code_verifier` does not match the challenge.
    pub const PKCE_FAILED: i64 = 20_049;
    /// The token endpoint failed; retry.
    pub const OAUTH_SERVER_ERROR: i64 = 20_050;
    /// The refresh token was revoked.
    pub const REFRESH_TOKEN_REVOKED: i64 = 20_064;
    /// The authorization code was used already.
    pub const AUTH_CODE_USED: i64 = 20_065;
    /// The redirect url differs from the authorization's.
    pub const REDIRECT_URI_MISMATCH: i64 = 20_071;
    /// The token endpoint is unavailable for a moment; retry.
    pub const OAUTH_UNAVAILABLE: i64 = 20_072;
    /// The refresh token was used already: refresh tokens rotate, each works once.
    pub const REFRESH_TOKEN_USED: i64 = 20_073;
    /// The user token lacks a scope the API needs.
    pub const TOKEN_SCOPE_MISSING: i64 = 99_991_676;
    /// The user has not granted a scope the API needs.
    pub const USER_SCOPE_MISSING: i64 = 99_991_679;
    /// The tenant's access-control policy refuses the call until the user completes a
    /// challenge (as the official CLI names it).
    pub const ACCESS_POLICY_CHALLENGE: i64 = 21_000;
    /// The tenant's access-control policy refuses the call.
    pub const ACCESS_POLICY_DENIED: i64 = 21_001;

    // CardKit (`/open-apis/cardkit/v1`), from the error tables of its pages.

    /// The card content could not be generated: the card JSON is malformed.
    pub const CARD_GENERATION_FAILED: i64 = 200_220;
    /// Streaming was closed because it ran too long, as the element-create page numbers it.
    pub const CARD_STREAMING_TIMEOUT_ON_ADD: i64 = 200_510;
    /// The card entity does not exist.
    pub const CARD_NOT_FOUND: i64 = 200_740;
    /// The card entity is older than 14 days.
    pub const CARD_EXPIRED: i64 = 200_750;
    /// The uuid was used before, for another operation.
    pub const CARD_UUID_CONFLICT: i64 = 200_770;
    /// A user's callback on the card is in progress; the card cannot change until it ends.
    pub const CARD_IN_INTERACTION: i64 = 200_810;
    /// Streaming was closed because it ran too long.
    pub const CARD_STREAMING_TIMEOUT: i64 = 200_850;
    /// The card is over 30 KB.
    pub const CARD_TOO_LARGE: i64 = 200_860;
    /// CardKit failed inside, answered with HTTP 400; retry later with a higher sequence.
    pub const CARD_INTERNAL: i64 = 300_120;
    /// A component could not be replaced.
    pub const CARD_REPLACE_FAILED: i64 = 300_121;
    /// The card's settings could not be changed.
    pub const CARD_SETTINGS_FAILED: i64 = 300_122;
    /// Two components share an `element_id`.
    pub const CARD_DUPLICATE_ELEMENT_ID: i64 = 300_301;
    /// `update_multi` is false; card entities are shared.
    pub const CARD_NOT_SHARED: i64 = 300_302;
    /// Card entities take card JSON 2.0 only.
    pub const CARD_SCHEMA_NOT_2: i64 = 300_303;
    /// More than 200 components.
    pub const CARD_TOO_MANY_COMPONENTS: i64 = 300_305;
    /// The card JSON is empty.
    pub const CARD_EMPTY: i64 = 300_307;
    /// Streaming is off for this card.
    pub const CARD_STREAMING_CLOSED: i64 = 300_309;
    /// Only text components (`markdown`, `plain_text`) take streamed text.
    pub const CARD_NOT_TEXT: i64 = 300_310;
    /// The card belongs to another app.
    pub const CARD_NOT_OWNED: i64 = 300_311;
    /// A component's `tag` cannot change.
    pub const CARD_TAG_CHANGED: i64 = 300_312;
    /// A component's properties could not be changed.
    pub const CARD_PATCH_FAILED: i64 = 300_313;
    /// A component could not be deleted.
    pub const CARD_DELETE_FAILED: i64 = 300_314;
    /// A component could not be added.
    pub const CARD_ADD_FAILED: i64 = 300_315;
    /// The `sequence` is not higher than the card's previous operation's.
    pub const CARD_SEQUENCE_OUT_OF_ORDER: i64 = 300_317;
}

/// The error detail the platform attaches to failed calls. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// The request's log id (written `log_id` in responses, `logid` in the generic docs).
    #[serde(default, alias = "logid")]
    pub log_id: Option<String>,
    /// Extra explanation.
    #[serde(default)]
    pub message: Option<String>,
    /// Where to look for help.
    #[serde(default)]
    pub troubleshooter: Option<String>,
    /// Parameters that were wrong.
    #[serde(default)]
    pub field_violations: Vec<FieldViolation>,
    /// Scopes the app lacks.
    #[serde(default)]
    pub permission_violations: Vec<PermissionViolation>,
    /// Links to documentation.
    #[serde(default)]
    pub helps: Vec<Help>,
    /// Key/value details.
    #[serde(default)]
    pub details: Vec<DetailEntry>,
}

/// A parameter that was wrong.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FieldViolation {
    /// The parameter.
    #[serde(default)]
    pub field: Option<String>,
    /// The value given.
    #[serde(default)]
    pub value: Option<String>,
    /// What is wrong with it.
    #[serde(default)]
    pub description: Option<String>,
}

/// A scope the app lacks. Seen as `{"scope","url"}` and as `{"type","subject","description"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PermissionViolation {
    /// The scope, e.g. `im:message`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Where to grant it.
    #[serde(default)]
    pub url: Option<String>,
    /// The violation's type, e.g. `action_privilege_required`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The scope, in the `{"type","subject"}` form.
    #[serde(default)]
    pub subject: Option<String>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
}

impl PermissionViolation {
    /// The missing scope, whichever form it was written in.
    #[must_use]
    pub fn scope_name(&self) -> Option<&str> {
        self.scope.as_deref().or(self.subject.as_deref())
    }
}

/// A documentation link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Help {
    /// The link.
    #[serde(default)]
    pub url: Option<String>,
    /// What it explains.
    #[serde(default)]
    pub description: Option<String>,
}

/// One key/value detail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DetailEntry {
    /// The key.
    #[serde(default)]
    pub key: Option<String>,
    /// The value.
    #[serde(default)]
    pub value: Option<String>,
}

/// A rate limit the platform reported, from `x-ogw-ratelimit-limit` / `x-ogw-ratelimit-reset`
/// or `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed in the window, when given.
    pub limit: Option<u64>,
    /// How long until the window resets, when given.
    pub reset: Option<Duration>,
}

/// Which call an error came from: its method and path template. Some codes mean different
/// things on different calls, so hints read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The HTTP method.
    pub method: http::Method,
    /// The path template, e.g. `/open-apis/im/v1/messages/:message_id/reply`.
    pub path: &'static str,
}

impl Operation {
    fn is(&self, method: &http::Method, path: &str) -> bool {
        self.method == method && self.path == path
    }

    fn is_edit(&self) -> bool {
        self.is(&http::Method::PUT, "/open-apis/im/v1/messages/:message_id")
    }

    fn is_reply(&self) -> bool {
        self.is(
            &http::Method::POST,
            "/open-apis/im/v1/messages/:message_id/reply",
        )
    }

    fn is_send(&self) -> bool {
        self.is(&http::Method::POST, "/open-apis/im/v1/messages")
    }
}

/// A call the platform answered with a non-zero `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The platform's code.
    pub code: i64,
    /// The platform's message. Informative only: it changes, so never branch on it.
    pub msg: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The log id to quote to support: the `X-Tt-Logid` header, else the body's `log_id`.
    pub log_id: Option<String>,
    /// The error detail, when the platform gave one.
    pub detail: Option<Box<ErrorDetail>>,
    /// The rate-limit headers, when present.
    pub rate_limit: Option<RateLimit>,
    /// The call that failed, when known ([`parse_response`](crate::parse_response) records it).
    pub operation: Option<Box<Operation>>,
}

impl ApiError {
    /// Which kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        use codes::{
            APP_TOKEN_INVALID, CHAT_DISSOLVED, CONTENT_TOO_LONG, IM_RATE_LIMITED, INVALID_CHAT_ID,
            INVALID_PARAM, MESSAGE_DELETED, MESSAGE_NOT_FOUND, MESSAGE_RECALLED, RATE_LIMITED,
            SCOPE_MISSING, TENANT_TOKEN_INVALID, TOKEN_MALFORMED, TOKEN_MISSING,
            USER_TOKEN_EXPIRED, USER_TOKEN_INVALID, WEBHOOK_RATE_LIMITED,
        };
        match self.code {
            TOKEN_MISSING | TENANT_TOKEN_INVALID | APP_TOKEN_INVALID | USER_TOKEN_INVALID
            | TOKEN_MALFORMED | USER_TOKEN_EXPIRED => ErrorKind::TokenInvalid,
            codes::APP_UNAVAILABLE | codes::WRONG_APP_SECRET | codes::OAUTH_CLIENT_INVALID => {
                ErrorKind::Credentials
            }
            codes::AUTH_CODE_NOT_FOUND
            | codes::AUTH_CODE_EXPIRED
            | codes::AUTH_CODE_USED
            | codes::PKCE_FAILED
            | codes::REFRESH_TOKEN_INVALID
            | codes::REFRESH_TOKEN_EXPIRED
            | codes::REFRESH_TOKEN_REVOKED
            | codes::REFRESH_TOKEN_USED => ErrorKind::SignInAgain,
            RATE_LIMITED | IM_RATE_LIMITED | WEBHOOK_RATE_LIMITED => ErrorKind::RateLimited,
            SCOPE_MISSING
            | codes::CARD_NOT_OWNED
            | codes::TOKEN_SCOPE_MISSING
            | codes::USER_SCOPE_MISSING
            | codes::ACCESS_POLICY_CHALLENGE
            | codes::ACCESS_POLICY_DENIED => ErrorKind::Permission,
            INVALID_PARAM
            | CONTENT_TOO_LONG
            | codes::CARD_CONTENT_FAILED
            | codes::UPLOAD_TYPE_MISMATCH
            | codes::UNSUPPORTED_MESSAGE_TYPE
            | codes::CARD_GENERATION_FAILED
            | codes::CARD_TOO_LARGE
            | codes::CARD_REPLACE_FAILED
            | codes::CARD_SETTINGS_FAILED
            | codes::CARD_DUPLICATE_ELEMENT_ID
            | codes::CARD_NOT_SHARED
            | codes::CARD_SCHEMA_NOT_2
            | codes::CARD_TOO_MANY_COMPONENTS
            | codes::CARD_EMPTY
            | codes::CARD_NOT_TEXT
            | codes::CARD_TAG_CHANGED
            | codes::CARD_PATCH_FAILED
            | codes::CARD_DELETE_FAILED
            | codes::CARD_ADD_FAILED => ErrorKind::InvalidContent,
            MESSAGE_NOT_FOUND
            | MESSAGE_DELETED
            | MESSAGE_RECALLED
            | INVALID_CHAT_ID
            | CHAT_DISSOLVED
            | codes::INVALID_RECEIVE_ID
            | codes::CARD_NOT_FOUND
            | codes::CARD_EXPIRED => ErrorKind::NotFound,
            codes::CARD_SEQUENCE_OUT_OF_ORDER
            | codes::CARD_UUID_CONFLICT
            | codes::CARD_STREAMING_CLOSED
            | codes::CARD_STREAMING_TIMEOUT
            | codes::CARD_STREAMING_TIMEOUT_ON_ADD => ErrorKind::Conflict,
            codes::CARD_INTERNAL | codes::OAUTH_SERVER_ERROR | codes::OAUTH_UNAVAILABLE => {
                ErrorKind::Server
            }
            _ if self.status == StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited,
            // The platform's gateway answers an unknown path with a JSON 404; a 404 without the
            // platform's JSON came from something else: a wrong base url or a proxy.
            0 if self.status == StatusCode::NOT_FOUND => ErrorKind::WrongBaseUrl,
            _ if self.status == StatusCode::NOT_FOUND => ErrorKind::NotFound,
            _ if self.status.is_server_error() => ErrorKind::Server,
            _ => ErrorKind::Api,
        }
    }

    /// Whether retrying the same call can never succeed, whatever the policy says: the state
    /// the code reports does not change with time (a message too old to update, say).
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Credentials
                | ErrorKind::Permission
                | ErrorKind::InvalidContent
                | ErrorKind::NotFound
                | ErrorKind::WrongBaseUrl
                | ErrorKind::Conflict
                | ErrorKind::SignInAgain
        ) || self.code == codes::MESSAGE_TOO_OLD_TO_UPDATE
    }

    /// The same error, recording the call it came from.
    #[must_use]
    pub fn with_operation(mut self, method: http::Method, path: &'static str) -> Self {
        self.operation = Some(Box::new(Operation { method, path }));
        self
    }

    /// How long the platform asked the caller to wait, for a rate limit.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.rate_limit.and_then(|limit| limit.reset)
    }

    /// The scopes the platform says the app lacks.
    #[must_use]
    pub fn missing_scopes(&self) -> Vec<&str> {
        self.detail
            .iter()
            .flat_map(|detail| &detail.permission_violations)
            .filter_map(PermissionViolation::scope_name)
            .collect()
    }

    /// What to do about it, where the SDK knows. Codes that mean different things on different
    /// calls get the hint of the call that failed.
    #[must_use]
    pub fn hint(&self) -> Option<&'static str> {
        let on = |check: fn(&Operation) -> bool| self.operation.as_deref().is_some_and(check);
        Some(match self.code {
            0 if self.status == StatusCode::NOT_FOUND => {
                "this 404 did not come from the platform (no Lark JSON in it): check the base url \
                 (https://open.feishu.cn or https://open.larksuite.com) and any proxy between"
            }
            codes::APP_UNAVAILABLE | codes::WRONG_APP_SECRET => {
                "the app's credentials were refused: check that LARK_APP_SECRET is the app's \
                 current secret (copy it again from the developer console) and that the app is \
                 enabled and installed in the tenant"
            }
            codes::NOT_MESSAGE_SENDER if on(Operation::is_reply) => {
                "this chat does not allow replies in threads: reply without reply_in_thread"
            }
            codes::EDIT_LIMIT_REACHED if on(Operation::is_reply) => {
                "a merge-forwarded message cannot be replied to in a thread: reply without \
                 reply_in_thread"
            }
            codes::NOT_MESSAGE_SENDER if on(Operation::is_edit) => {
                "only the bot's own messages can be edited"
            }
            codes::EDIT_LIMIT_REACHED if on(Operation::is_edit) => {
                "a message can be edited at most 20 times; send a new one"
            }
            codes::NOT_MESSAGE_SENDER => "the operator is not the message's sender",
            codes::EDIT_LIMIT_REACHED => "the message cannot take this operation any more",
            codes::UNSUPPORTED_MESSAGE_TYPE if on(Operation::is_send) => {
                "this chat (a connected, cross-tenant chat) does not take this message type, \
                 cards for one: send text or a post instead"
            }
            codes::UNSUPPORTED_MESSAGE_TYPE => "this operation does not apply to this message type",
            codes::MESSAGE_TOO_OLD_TO_UPDATE => {
                "messages can only be updated within 14 days of sending: send a new one"
            }
            codes::TOKEN_MISSING | codes::TOKEN_MALFORMED => {
                "send `Authorization: Bearer <token>` with a tenant (t-) or user (u-) token"
            }
            codes::TENANT_TOKEN_INVALID | codes::APP_TOKEN_INVALID => {
                "fetch a new token; if a fresh token is refused too, check the app_id and app_secret"
            }
            codes::USER_TOKEN_INVALID | codes::USER_TOKEN_EXPIRED => {
                "the user token is no longer valid: refresh it or ask the user to sign in again"
            }
            codes::SCOPE_MISSING => {
                "grant the missing scopes in the developer console, then publish a new app version"
            }
            codes::RATE_LIMITED | codes::IM_RATE_LIMITED | codes::WEBHOOK_RATE_LIMITED => {
                "slow down: wait for the rate-limit window to reset, then retry"
            }
            codes::APP_TICKET_INVALID => {
                "ask the platform to resend the app_ticket (marketplace apps)"
            }
            codes::INVALID_PARAM => {
                "check the parameters and the message content against the documented format"
            }
            codes::BOT_NOT_IN_CHAT => "add the bot to the chat first",
            codes::CONTENT_TOO_LONG => "text must stay under 150 KB, posts and cards under 30 KB",
            codes::INVALID_RECEIVE_ID => {
                "no such chat or user: check that the receiver id exists and matches its \
                 receive_id_type"
            }
            codes::UPLOAD_TYPE_MISMATCH => {
                "send the upload as the msg_type its file_type implies (mp4 as media, opus as audio)"
            }
            codes::MESSAGE_RECALLED | codes::MESSAGE_DELETED | codes::MESSAGE_NOT_FOUND => {
                "the message no longer exists"
            }
            codes::INVALID_CHAT_ID | codes::CHAT_DISSOLVED => {
                "the chat does not exist or was dissolved"
            }
            code => return card_hint(code),
        })
    }
}

/// What to do about a CardKit or OAuth refusal.
fn card_hint(code: i64) -> Option<&'static str> {
    Some(match code {
        codes::REFRESH_TOKEN_INVALID
        | codes::REFRESH_TOKEN_EXPIRED
        | codes::REFRESH_TOKEN_REVOKED
        | codes::REFRESH_TOKEN_USED => {
            "the user's sign-in is no longer valid: sign in again (`lark auth login`); a \
             refresh token works once, so never share one between processes without a lock"
        }
        codes::AUTH_CODE_NOT_FOUND | codes::AUTH_CODE_EXPIRED | codes::AUTH_CODE_USED => {
            "the sign-in's code is spent or older than 5 minutes: sign in again"
        }
        codes::PKCE_FAILED => "the code_verifier does not match the challenge: sign in again",
        codes::REDIRECT_URI_MISMATCH => {
            "send the redirect url the authorization used, exactly as it was"
        }
        codes::OAUTH_SERVER_ERROR | codes::OAUTH_UNAVAILABLE => {
            "the token endpoint failed for a moment: retry once"
        }
        codes::USER_SCOPE_MISSING | codes::TOKEN_SCOPE_MISSING => {
            "the user has not granted a scope this call needs: sign in again asking for it"
        }
        codes::CARD_NOT_FOUND | codes::CARD_EXPIRED => {
            "card entities live 14 days: create a new one and send it"
        }
        codes::CARD_SEQUENCE_OUT_OF_ORDER => {
            "each operation on a card needs a sequence higher than the last one's; keep one \
                 counter per card across every operation"
        }
        codes::CARD_UUID_CONFLICT => "this uuid was used for another operation: use a new one",
        codes::CARD_IN_INTERACTION => {
            "a user's callback on this card is in progress: retry when it has been answered"
        }
        codes::CARD_STREAMING_CLOSED
        | codes::CARD_STREAMING_TIMEOUT
        | codes::CARD_STREAMING_TIMEOUT_ON_ADD => {
            "streaming is off for this card: turn `streaming_mode` on again with the \
                 settings call, or continue in a new card"
        }
        codes::CARD_TOO_LARGE => "a card is at most 30 KB: continue in a new card",
        codes::CARD_TOO_MANY_COMPONENTS => {
            "a card holds at most 200 components: continue in a new card"
        }
        codes::CARD_NOT_SHARED => "card entities need `update_multi: true`",
        codes::CARD_SCHEMA_NOT_2 => "card entities take card JSON 2.0 only",
        codes::CARD_DUPLICATE_ELEMENT_ID => "give each component its own element_id",
        codes::CARD_NOT_TEXT => "only markdown and plain_text components take streamed text",
        codes::CARD_NOT_OWNED => "only the app that created a card entity can send or change it",
        codes::CARD_TAG_CHANGED => "a component's tag cannot change: replace the component",
        _ => return None,
    })
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Lark API error {} (HTTP {}): {}",
            self.code,
            self.status.as_u16(),
            self.msg
        )?;
        if let Some(hint) = self.hint() {
            write!(f, "; {hint}")?;
        }
        let scopes = self.missing_scopes();
        if !scopes.is_empty() {
            write!(f, "; missing scopes: {}", scopes.join(", "))?;
        }
        if let Some(reset) = self.retry_after() {
            write!(f, "; the limit resets in {}s", reset.as_secs())?;
        }
        if let Some(log_id) = &self.log_id {
            write!(f, " [log_id {log_id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// What kind of failure an error is. One list for every layer: this crate's [`Error`] is one of
/// the first kinds, and the executor (`lark-http`) and the facade add the kinds that need a
/// network, a file system or a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The access token is missing, malformed, invalid or expired.
    TokenInvalid,
    /// The app's credentials were refused: a wrong secret, or a disabled app (10014, 10015).
    Credentials,
    /// Too many requests; see [`ApiError::retry_after`].
    RateLimited,
    /// The app lacks a scope; see [`ApiError::missing_scopes`].
    Permission,
    /// The request, or its message content, was refused as invalid.
    InvalidContent,
    /// The message, chat or resource does not exist.
    NotFound,
    /// The platform failed (HTTP 5xx).
    Server,
    /// Something other than the platform answered: a 404 without the platform's JSON, from a
    /// wrong base url or a proxy.
    WrongBaseUrl,
    /// Any other code from the platform.
    Api,
    /// The response could not be read.
    Decode,
    /// The request could not be built.
    Build,
    /// The connection failed.
    Transport,
    /// No answer in time, or a transfer that stalled or outlived its deadline.
    Timeout,
    /// Reading or writing a local file failed.
    Io,
    /// The client or bot is configured wrongly: credentials, base url, TLS roots, keys.
    Config,
    /// The call cannot be made this way: it needs a user token, a streamed upload, a reader
    /// that was already used, …
    Usage,
    /// Something the call needs has not arrived yet (a marketplace app's ticket); retry later.
    NotReady,
    /// A shared store (Redis, say) failed.
    Store,
    /// The user's authorization is gone: the refresh token is invalid, expired, revoked or
    /// spent, or the sign-in's code is. Only a new sign-in helps.
    SignInAgain,
    /// The resource's state refuses the operation for good: a card operation whose sequence
    /// is not the highest yet, a uuid reused for another operation, a card no longer streaming.
    Conflict,
}

/// A response that could not be read. The raw body is kept, to show what came back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("could not read the {status} response{}: {error}; body: {}", log_id_suffix(.log_id.as_deref()), truncate(.body))]
pub struct DecodeError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The log id, when there was one.
    pub log_id: Option<String>,
    /// The raw body, as text (lossy for non-UTF-8).
    pub body: String,
    /// What the JSON parser reported. Its text is part of this error's, so it is not also
    /// this error's `source()`.
    pub error: serde_json::Error,
}

fn log_id_suffix(log_id: Option<&str>) -> String {
    log_id
        .map(|id| format!(" [log_id {id}]"))
        .unwrap_or_default()
}

fn truncate(body: &str) -> String {
    const MAX: usize = 512;
    if body.len() <= MAX {
        return body.to_owned();
    }
    let mut end = MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &body[..end], body.len())
}

/// Why a request could not be built. Found before anything is sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The message content breaks a documented limit or rule.
    #[error("invalid message content: {0}")]
    Content(ContentError),
    /// The endpoint does not take this message type.
    #[error("{endpoint} does not accept `{msg_type}` content; {hint}")]
    UnsupportedType {
        /// Which endpoint.
        endpoint: &'static str,
        /// The msg_type given.
        msg_type: String,
        /// What it does accept.
        hint: &'static str,
    },
    /// A parameter is out of its documented range.
    #[error("{field}: {reason}")]
    InvalidParam {
        /// Which parameter.
        field: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// An upload is empty or over its limit.
    #[error("{what} is {actual} bytes; {reason}")]
    Upload {
        /// What is being uploaded.
        what: &'static str,
        /// Its size.
        actual: u64,
        /// The limit it breaks.
        reason: String,
    },
    /// The endpoint needs a token and none was given.
    #[error(
        "{endpoint} needs an access token; pass one to build_request (lark-http fetches it for you)"
    )]
    MissingToken {
        /// Which endpoint.
        endpoint: &'static str,
    },
    /// The base url is not usable.
    #[error("invalid base url: {reason}")]
    InvalidBaseUrl {
        /// What is wrong.
        reason: String,
    },
    /// The request could not be assembled (an invalid header value, say).
    #[error("could not assemble the request: {reason}")]
    Http {
        /// What went wrong.
        reason: String,
        /// The error underneath, when there is one (an `http::Error`, a `serde_json::Error`);
        /// its text is not repeated in this one's.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl BuildError {
    /// A request that could not be assembled, for `reason`.
    pub(crate) fn http(reason: impl Into<String>) -> Self {
        Self::Http {
            reason: reason.into(),
            source: None,
        }
    }

    /// A request that could not be assembled, for `reason`, because of `source`.
    pub(crate) fn http_because(
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Http {
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Any failure of a call, as seen by the request layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform answered with a non-zero code.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The response could not be read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The request could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
}

impl Error {
    /// Which kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Api(api) => api.kind(),
            Self::Decode(_) => ErrorKind::Decode,
            Self::Build(_) => ErrorKind::Build,
        }
    }

    /// The platform's error, when there is one.
    #[must_use]
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The log id to quote to support, when the platform answered.
    #[must_use]
    pub fn log_id(&self) -> Option<&str> {
        match self {
            Self::Api(api) => api.log_id.as_deref(),
            Self::Decode(decode) => decode.log_id.as_deref(),
            Self::Build(_) => None,
        }
    }
}

/// The content's error is written into this one's text, so it is not also its `source()`.
impl From<ContentError> for BuildError {
    fn from(err: ContentError) -> Self {
        Self::Content(err)
    }
}

impl From<ContentError> for Error {
    fn from(err: ContentError) -> Self {
        Self::Build(BuildError::Content(err))
    }
}

#[cfg(test)]
mod tests {
    use super::BuildError;
    use std::error::Error as _;

    #[test]
    fn a_request_that_cannot_be_assembled_keeps_its_cause_as_source_not_as_text() {
        let cause = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let cause_text = cause.to_string();
        let err = BuildError::http_because("the content did not encode as JSON", cause);
        let text = err.to_string();
        assert_eq!(
            text,
            "could not assemble the request: the content did not encode as JSON"
        );
        let source = err.source().expect("the JSON error is the source");
        assert_eq!(source.to_string(), cause_text);
        assert!(source.downcast_ref::<serde_json::Error>().is_some());
        assert!(BuildError::http("no cause").source().is_none());
    }
}
