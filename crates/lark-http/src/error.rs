//! The executor's one error type.

use std::time::Duration;

/// What kind of failure an [`Error`] is: the one list every layer shares.
pub use lark_api::ErrorKind;

/// How a connection to the platform failed, read from the network error underneath.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkCause {
    /// The host name did not resolve.
    Dns,
    /// The host refused the connection: nothing listens there.
    Refused,
    /// The TLS handshake failed: a certificate, or a proxy that intercepts TLS.
    Tls,
    /// Connecting took too long.
    ConnectTimeout,
    /// The connection was reset or closed before the answer was complete.
    Reset,
    /// Something else; the `source()` says what.
    Other,
}

impl NetworkCause {
    /// Reads the cause from an error and the chain of errors under it.
    #[must_use]
    pub fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut level: Option<&(dyn std::error::Error + 'static)> = Some(error);
        let mut text = String::new();
        while let Some(err) = level {
            if err.downcast_ref::<rustls::Error>().is_some() {
                return Self::Tls;
            }
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                // An io::Error can wrap another error (a TLS error inside two io::Errors, say)
                // that its `source()` skips: look inside.
                let mut inner = io.get_ref();
                while let Some(wrapped) = inner {
                    if wrapped.downcast_ref::<rustls::Error>().is_some() {
                        return Self::Tls;
                    }
                    inner = wrapped
                        .downcast_ref::<std::io::Error>()
                        .and_then(std::io::Error::get_ref);
                }
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Self::Refused,
                    std::io::ErrorKind::TimedOut => return Self::ConnectTimeout,
                    std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof => return Self::Reset,
                    _ => {}
                }
            }
            text.push_str(&err.to_string().to_ascii_lowercase());
            text.push('\n');
            level = err.source();
        }
        // hyper-util names a failed lookup only in its message.
        if text.contains("dns error") || text.contains("failed to lookup address") {
            Self::Dns
        } else if text.contains("connection closed") || text.contains("incomplete message") {
            Self::Reset
        } else {
            Self::Other
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Dns => "the host name did not resolve (check the base url and DNS)",
            Self::Refused => "the connection was refused (nothing listens at that address)",
            Self::Tls => {
                "the TLS handshake failed (a certificate problem, or a proxy that intercepts TLS)"
            }
            Self::ConnectTimeout => "connecting timed out (check the network or the proxy)",
            Self::Reset => "the connection was closed before the answer was complete",
            Self::Other => "the connection failed",
        }
    }
}

/// Why a call failed.
///
/// Each error's text says what went wrong and what to do; an error whose text already holds
/// its cause's text does not return that cause from `source()`, so chains printed by anyhow or
/// eyre show every cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform answered with an error, the response could not be read, or the request
    /// could not be built.
    #[error("{error}{}", attempts_note(*.attempts))]
    Api {
        /// The request layer's error.
        error: lark_api::Error,
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
    #[error("could not reach {host}: {}{}", .cause.describe(), attempts_note(*.attempts))]
    Transport {
        /// The host the call went to.
        host: String,
        /// How it failed.
        cause: NetworkCause,
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
    /// A transfer stalled, or outlived its deadline.
    #[error("{}", transfer_timeout_text(*.limit, *.after, *.moved))]
    TransferTimeout {
        /// Which limit was passed.
        limit: TransferLimit,
        /// The limit's length.
        after: Duration,
        /// The bytes moved before it was passed.
        moved: u64,
    },
    /// A local file could not be read or written.
    #[error("{context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error (its text is part of this error's).
        error: std::io::Error,
    },
    /// The client or bot is configured wrongly; the text says what to set.
    #[error("{0}")]
    Config(String),
    /// The call cannot be made this way; the text says which way it can.
    #[error("{0}")]
    Usage(String),
    /// A marketplace app has no app ticket yet. The platform was asked to push it again; pass
    /// the ticket event to `Client::set_app_ticket` (a `Bot` does so by itself) and retry.
    #[error(
        "no app_ticket yet: the platform was asked to resend it; pass the app_ticket event to Client::set_app_ticket (a Bot stores it by itself) and retry"
    )]
    AppTicketPending,
    /// A shared store failed.
    #[error("could not {action}: {source}")]
    Store {
        /// What was being done, e.g. "store the app ticket".
        action: &'static str,
        /// The store's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A user's session cannot give a token until the user signs in again: nothing is
    /// stored, the refresh token expired or is missing, or the platform refused it.
    #[error("{} must sign in again: {why}", who_note(user))]
    SignInAgain {
        /// The caller's name for the user (the session key's `user`); empty when there is
        /// none yet (a device sign-in).
        user: String,
        /// Why.
        why: String,
    },
    /// The platform answered success without what the call asks for.
    #[error("the platform answered without {what}{}", log_id_note(.log_id.as_deref()))]
    MissingInAnswer {
        /// What was missing, e.g. "the message om_…".
        what: String,
        /// The answer's log id.
        log_id: Option<String>,
    },
}

/// Which of a transfer's limits was passed (see `TransferTimeouts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferLimit {
    /// No bytes moved for the read timeout.
    Read,
    /// The whole transfer took longer than its deadline.
    Deadline,
}

fn transfer_timeout_text(limit: TransferLimit, after: Duration, moved: u64) -> String {
    match limit {
        TransferLimit::Read => format!(
            "the transfer stalled: nothing moved for {}ms, after {moved} bytes; try again, or raise ClientBuilder::transfer_read_timeout for a slow network",
            after.as_millis()
        ),
        TransferLimit::Deadline => format!(
            "the transfer did not finish within its {}ms deadline ({moved} bytes moved); raise ClientBuilder::transfer_deadline for a large file on a slow network",
            after.as_millis()
        ),
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

fn who_note(user: &str) -> String {
    if user.is_empty() {
        "the user".to_owned()
    } else {
        format!("the user {user:?}")
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
            Self::Api { error, .. } => error.kind(),
            Self::TokenRejected { .. } => ErrorKind::TokenInvalid,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Timeout { .. } | Self::TransferTimeout { .. } => ErrorKind::Timeout,
            Self::Io { .. } => ErrorKind::Io,
            Self::Config(_) => ErrorKind::Config,
            Self::Usage(_) => ErrorKind::Usage,
            Self::AppTicketPending => ErrorKind::NotReady,
            Self::Store { .. } => ErrorKind::Store,
            Self::MissingInAnswer { .. } => ErrorKind::Decode,
            Self::SignInAgain { .. } => ErrorKind::SignInAgain,
        }
    }

    /// The platform's error, when it answered with one.
    #[must_use]
    pub fn as_api(&self) -> Option<&lark_api::ApiError> {
        match self {
            Self::Api { error, .. } => error.as_api(),
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
            Self::Api { error, .. } => error.log_id(),
            Self::TokenRejected { log_id, .. } => log_id.as_deref(),
            _ => None,
        }
    }

    /// How the connection failed, for a transport error.
    #[must_use]
    pub fn network_cause(&self) -> Option<NetworkCause> {
        match self {
            Self::Transport { cause, .. } => Some(*cause),
            _ => None,
        }
    }

    pub(crate) fn api(error: impl Into<lark_api::Error>, attempts: u32) -> Self {
        Self::Api {
            error: error.into(),
            attempts,
        }
    }

    pub(crate) fn io(context: impl Into<String>, error: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            error,
        }
    }

    /// A transport failure reaching `host`, its cause read from `source`.
    pub(crate) fn transport(
        host: &str,
        source: Box<dyn std::error::Error + Send + Sync>,
        attempts: u32,
    ) -> Self {
        Self::Transport {
            host: host.to_owned(),
            cause: NetworkCause::of(source.as_ref()),
            source,
            attempts,
        }
    }
}

impl From<lark_api::BuildError> for Error {
    fn from(err: lark_api::BuildError) -> Self {
        Self::api(err, 0)
    }
}
