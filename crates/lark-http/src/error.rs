//! The executor's one error type.

use std::time::Duration;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The platform refused the token, even after a fresh one was fetched.
    TokenInvalid,
    /// Rate limited, and the retry budget ran out (or the request was not safe to retry).
    RateLimited,
    /// The app lacks a scope.
    Permission,
    /// The request or its content was refused as invalid.
    InvalidContent,
    /// The message, chat or resource does not exist.
    NotFound,
    /// The platform failed (5xx) and the retry budget ran out.
    Server,
    /// Any other code from the platform.
    Api,
    /// The response could not be read.
    Decode,
    /// The request could not be built (invalid input, caught before sending).
    Build,
    /// The connection failed.
    Transport,
    /// No answer within the request timeout.
    Timeout,
    /// Reading or writing a local file failed.
    Io,
    /// The client is not configured correctly.
    Config,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform answered with an error, the response could not be read, or the request
    /// could not be built.
    #[error("{source}{}", attempts_note(*.attempts))]
    Api {
        /// The request layer's error.
        #[source]
        source: lark_api::Error,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The platform refused the tenant token, a fresh one was fetched and the request replayed,
    /// and the fresh token was refused too.
    #[error(
        "tenant token rejected (code {code}); refreshed and retried once, rejected again: check app_id and app_secret{}",
        log_id_note(.log_id.as_deref())
    )]
    TokenRejected {
        /// The platform's code.
        code: i64,
        /// The log id of the last answer.
        log_id: Option<String>,
    },
    /// The connection failed.
    #[error("could not reach the platform after {attempts} attempt(s): {source}")]
    Transport {
        /// What failed underneath (the HTTP library's error).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// No answer in time.
    #[error("no answer within {}ms after {attempts} attempt(s); raise the request timeout or check the network", .after.as_millis())]
    Timeout {
        /// The timeout.
        after: Duration,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// A local file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The client is not configured correctly.
    #[error("{0}")]
    Config(String),
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

fn log_id_note(log_id: Option<&str>) -> String {
    log_id
        .map(|id| format!(" [log_id {id}]"))
        .unwrap_or_default()
}

impl Error {
    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Api { source, .. } => match source.kind() {
                lark_api::ErrorKind::TokenInvalid => ErrorKind::TokenInvalid,
                lark_api::ErrorKind::RateLimited => ErrorKind::RateLimited,
                lark_api::ErrorKind::Permission => ErrorKind::Permission,
                lark_api::ErrorKind::InvalidContent => ErrorKind::InvalidContent,
                lark_api::ErrorKind::NotFound => ErrorKind::NotFound,
                lark_api::ErrorKind::Server => ErrorKind::Server,
                lark_api::ErrorKind::Decode => ErrorKind::Decode,
                lark_api::ErrorKind::Build => ErrorKind::Build,
                _ => ErrorKind::Api,
            },
            Self::TokenRejected { .. } => ErrorKind::TokenInvalid,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Io { .. } => ErrorKind::Io,
            Self::Config(_) => ErrorKind::Config,
        }
    }

    /// The platform's error, when it answered with one.
    #[must_use]
    pub fn as_api(&self) -> Option<&lark_api::ApiError> {
        match self {
            Self::Api { source, .. } => source.as_api(),
            _ => None,
        }
    }

    /// The platform's code, when it answered with one.
    #[must_use]
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::TokenRejected { code, .. } => Some(*code),
            _ => self.as_api().map(|api| api.code),
        }
    }

    /// The log id to quote to Lark support.
    #[must_use]
    pub fn log_id(&self) -> Option<&str> {
        match self {
            Self::Api { source, .. } => source.log_id(),
            Self::TokenRejected { log_id, .. } => log_id.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn api(source: impl Into<lark_api::Error>, attempts: u32) -> Self {
        Self::Api {
            source: source.into(),
            attempts,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<lark_api::BuildError> for Error {
    fn from(err: lark_api::BuildError) -> Self {
        Self::api(err, 0)
    }
}
