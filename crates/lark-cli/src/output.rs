//! What the command prints: results as text or JSON, failures with code, log id and a hint, and
//! the exit code each failure maps to.

use lark::ErrorKind;
use serde_json::{Value, json};

pub(crate) const EXIT_API: u8 = 1;
pub(crate) const EXIT_AUTH: u8 = 3;
pub(crate) const EXIT_PERMISSION: u8 = 4;
pub(crate) const EXIT_NOT_FOUND: u8 = 5;
pub(crate) const EXIT_RATE_LIMITED: u8 = 6;
pub(crate) const EXIT_NETWORK: u8 = 7;
pub(crate) const EXIT_INPUT: u8 = 8;
pub(crate) const EXIT_LOCAL: u8 = 9;
pub(crate) const EXIT_UNVERIFIED: u8 = 10;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A call failed.
    Lark(lark::Error),
    /// A webhook delivery did not verify or parse.
    Event(lark::events::EventError),
    /// The command line or an input file is wrong.
    Input(String),
    /// Something local failed.
    Local(String),
    /// The platform refused the app for good (the long connection).
    Refused(String),
}

impl From<lark::Error> for Failure {
    fn from(err: lark::Error) -> Self {
        Self::Lark(err)
    }
}

impl Failure {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Lark(err) => match err.kind() {
                ErrorKind::TokenInvalid | ErrorKind::Credentials => EXIT_AUTH,
                ErrorKind::Permission => EXIT_PERMISSION,
                ErrorKind::NotFound => EXIT_NOT_FOUND,
                ErrorKind::RateLimited => EXIT_RATE_LIMITED,
                ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::WrongBaseUrl => EXIT_NETWORK,
                ErrorKind::Build | ErrorKind::InvalidContent | ErrorKind::Config => EXIT_INPUT,
                ErrorKind::Io => EXIT_LOCAL,
                _ if is_credentials(err) => EXIT_AUTH,
                _ => EXIT_API,
            },
            Self::Event(_) => EXIT_UNVERIFIED,
            Self::Input(_) => EXIT_INPUT,
            Self::Local(_) => EXIT_LOCAL,
            Self::Refused(_) => EXIT_AUTH,
        }
    }
}

/// The token endpoints' codes for a wrong app id or secret.
fn is_credentials(err: &lark::Error) -> bool {
    matches!(err.code(), Some(10_003 | 10_014 | 10_015))
}

/// Prints a failure on standard error.
pub(crate) fn report(failure: &Failure, json: bool) {
    let value = match failure {
        Failure::Lark(err) => {
            let api = err.as_api();
            json!({
                "error": err.to_string(),
                "kind": format!("{:?}", err.kind()),
                "code": err.code(),
                "msg": api.map(|api| api.msg.clone()),
                "log_id": err.log_id(),
                "hint": api.and_then(lark::api::ApiError::hint),
                "missing_scopes": api.map(lark::api::ApiError::missing_scopes),
            })
        }
        Failure::Event(err) => {
            json!({"error": err.to_string(), "kind": format!("{:?}", err.kind())})
        }
        Failure::Input(message) | Failure::Local(message) | Failure::Refused(message) => {
            json!({"error": message})
        }
    };
    if json {
        eprintln!("{value}");
        return;
    }
    eprintln!("error: {}", value["error"].as_str().unwrap_or_default());
    for field in ["code", "msg", "log_id", "hint"] {
        if let Some(text) = value.get(field).filter(|v| !v.is_null()) {
            let text = text
                .as_str()
                .map_or_else(|| text.to_string(), str::to_owned);
            eprintln!("  {field}: {text}");
        }
    }
    if let Some(scopes) = value
        .get("missing_scopes")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
    {
        let scopes: Vec<_> = scopes.iter().filter_map(Value::as_str).collect();
        eprintln!(
            "  missing scopes: {} (add them in the developer console, then publish a version)",
            scopes.join(", ")
        );
    }
}

/// Prints a result: `text` normally, `value` with --json.
pub(crate) fn print(json: bool, text: impl std::fmt::Display, value: &Value) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

/// Any serializable result as JSON.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
