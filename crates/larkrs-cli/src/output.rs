//! What the command prints: results as text or JSON, failures with code, log id and a hint, and
//! the exit code each failure maps to.

use lark::ErrorKind;
use serde_json::{Value, json};
use std::io::Write;

pub(crate) const EXIT_API: u8 = 1;
pub(crate) const EXIT_AUTH: u8 = 3;
pub(crate) const EXIT_PERMISSION: u8 = 4;
pub(crate) const EXIT_NOT_FOUND: u8 = 5;
pub(crate) const EXIT_RATE_LIMITED: u8 = 6;
pub(crate) const EXIT_NETWORK: u8 = 7;
pub(crate) const EXIT_INPUT: u8 = 8;
pub(crate) const EXIT_LOCAL: u8 = 9;
pub(crate) const EXIT_UNVERIFIED: u8 = 10;
/// Standard output was closed by its reader (`lark history | head`): the command ends quietly,
/// as the reader asked for nothing more.
pub(crate) const EXIT_OUTPUT_CLOSED: u8 = 0;

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
    /// Standard output was closed; nothing is reported.
    OutputClosed,
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
                ErrorKind::TokenInvalid | ErrorKind::Credentials | ErrorKind::SignInAgain => {
                    EXIT_AUTH
                }
                ErrorKind::Permission => EXIT_PERMISSION,
                ErrorKind::NotFound => EXIT_NOT_FOUND,
                ErrorKind::RateLimited => EXIT_RATE_LIMITED,
                ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::WrongBaseUrl => EXIT_NETWORK,
                ErrorKind::Build
                | ErrorKind::InvalidContent
                | ErrorKind::Config
                | ErrorKind::Usage => EXIT_INPUT,
                ErrorKind::Io | ErrorKind::Store => EXIT_LOCAL,
                _ if is_credentials(err) => EXIT_AUTH,
                _ => EXIT_API,
            },
            Self::Event(_) => EXIT_UNVERIFIED,
            Self::Input(_) => EXIT_INPUT,
            Self::Local(_) => EXIT_LOCAL,
            Self::Refused(_) => EXIT_AUTH,
            Self::OutputClosed => EXIT_OUTPUT_CLOSED,
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
        Failure::OutputClosed => return,
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
                "causes": lark::events::causes(err),
            })
        }
        Failure::Event(err) => {
            json!({"error": err.to_string(), "kind": format!("{:?}", err.kind()), "causes": lark::events::causes(err)})
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
    for cause in value["causes"].as_array().into_iter().flatten() {
        eprintln!("  cause: {}", cause.as_str().unwrap_or_default());
    }
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

/// Prints a result: `text` normally, with control characters escaped (tabs kept, as the column
/// separators of [`row`]), or `value` with --json.
pub(crate) fn print(
    json: bool,
    text: impl std::fmt::Display,
    value: &Value,
) -> Result<(), Failure> {
    let line = if json {
        value.to_string()
    } else {
        escape(&text.to_string(), true)
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(write_failure)
}

/// Any serializable result as JSON.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Standard output could not be written: closed by its reader, or failing.
#[allow(clippy::needless_pass_by_value)] // the shape `map_err` hands it
pub(crate) fn write_failure(err: std::io::Error) -> Failure {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::OutputClosed
    } else {
        Failure::Local(format!("writing to standard output: {err}"))
    }
}

/// Fields as one tab-separated row, each with its own tabs, newlines and other control
/// characters escaped, so that text from the platform can neither add rows or columns nor
/// reach the terminal as an escape sequence.
pub(crate) fn row(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|field| escape(field, false))
        .collect::<Vec<_>>()
        .join("\t")
}

/// `text` safe to show in a terminal: control characters escaped.
pub(crate) fn terminal_safe(text: &str) -> String {
    escape(text, false)
}

/// Escapes C0 and C1 control characters, DEL, and the bidirectional overrides that reorder
/// what a terminal shows; `\t` is kept when `keep_tabs`.
fn escape(text: &str, keep_tabs: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' if keep_tabs => out.push(c),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                let _ =
                    std::fmt::Write::write_fmt(&mut out, format_args!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_row_breaks_from_chat_members_are_shown_not_obeyed() {
        let hostile = "hi\u{1b}]0;owned\u{7}\u{1b}[2J\nom_fake\tou_fake\ttext\tforged\u{202e}";
        let line = row(&["om_1", "ou_1", "text", hostile]);
        assert_eq!(line.matches('\t').count(), 3, "{line}");
        assert!(!line.contains('\n') && !line.contains('\u{1b}') && !line.contains('\u{202e}'));
        assert_eq!(
            line,
            "om_1\tou_1\ttext\thi\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\nom_fake\\tou_fake\\ttext\\tforged\\u{202e}"
        );
        assert_eq!(terminal_safe("C:\\dir"), "C:\\dir");
        assert_eq!(escape(&line, true), line, "escaping twice changes nothing");
        assert_eq!(escape("a\tb", true), "a\tb");
    }
}
