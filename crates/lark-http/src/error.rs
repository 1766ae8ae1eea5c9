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
/// Each error's text says what went wrong and what to do. The errors underneath are kept:
/// - [`Transport`](Self::Transport) returns the network error from `source()`;
/// - [`Api`](Self::Api), [`Io`](Self::Io) and [`Store`](Self::Store) show their inner error's
///   text as part of their own, so, like `#[error(transparent)]`, their `source()` is the inner
///   error's `source()`; the inner error itself is a field.
///
/// So a chain printed by anyhow, eyre or a `tracing` error field names every cause once.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The platform answered with an error, the response could not be read, or the request
    /// could not be built.
    Api {
        /// The request layer's error. Its text is this error's; `source()` passes on its
        /// source.
        error: lark_api::Error,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The platform refused the tenant token, a fresh one was fetched and the request replayed,
    /// and the fresh token was refused too.
    TokenRejected {
        /// The platform's code.
        code: i64,
        /// The log id of the last answer.
        log_id: Option<String>,
    },
    /// The connection failed.
    Transport {
        /// The host the call went to.
        host: String,
        /// How it failed.
        cause: NetworkCause,
        /// What failed underneath (the HTTP library's error).
        source: Box<dyn std::error::Error + Send + Sync>,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// No answer in time.
    Timeout {
        /// The timeout.
        after: Duration,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// A transfer stalled, or outlived its deadline.
    TransferTimeout {
        /// Which limit was passed.
        limit: TransferLimit,
        /// The limit's length.
        after: Duration,
        /// The bytes moved before it was passed.
        moved: u64,
    },
    /// A local file could not be read or written.
    Io {
        /// What was being done.
        context: String,
        /// The I/O error. Its text is part of this error's; `source()` passes on its source.
        error: std::io::Error,
    },
    /// The client or bot is configured wrongly; the text says what to set.
    Config(String),
    /// The call cannot be made this way; the text says which way it can.
    Usage(String),
    /// A marketplace app has no app ticket yet. The platform was asked to push it again; pass
    /// the ticket event to `Client::set_app_ticket` (a `Bot` does so by itself) and retry.
    AppTicketPending,
    /// A shared store failed.
    Store {
        /// What was being done, e.g. "store the app ticket".
        action: &'static str,
        /// The store's error. Its text is part of this error's; `source()` passes on its
        /// source.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A user's session cannot give a token until the user signs in again: nothing is
    /// stored, the refresh token expired or is missing, or the platform refused it.
    SignInAgain {
        /// The caller's name for the user (the session key's `user`); empty when there is
        /// none yet (a device sign-in).
        user: String,
        /// Why.
        why: String,
    },
    /// The platform answered success without what the call asks for.
    MissingInAnswer {
        /// What was missing, e.g. "the message om_…".
        what: String,
        /// The answer's log id.
        log_id: Option<String>,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api { error, attempts } => write!(f, "{error}{}", attempts_note(*attempts)),
            Self::TokenRejected { code, log_id } => write!(
                f,
                "tenant token rejected (code {code}); refreshed and retried once, rejected again: check app_id and app_secret{}",
                log_id_note(log_id.as_deref())
            ),
            Self::Transport {
                host,
                cause,
                attempts,
                ..
            } => write!(
                f,
                "could not reach {host}: {}{}",
                cause.describe(),
                attempts_note(*attempts)
            ),
            Self::Timeout { after, attempts } => write!(
                f,
                "no answer within {}ms after {attempts} attempt(s); raise the request timeout or check the network",
                after.as_millis()
            ),
            Self::TransferTimeout {
                limit,
                after,
                moved,
            } => f.write_str(&transfer_timeout_text(*limit, *after, *moved)),
            Self::Io { context, error } => write!(f, "{context}: {error}"),
            Self::Config(text) | Self::Usage(text) => f.write_str(text),
            Self::AppTicketPending => f.write_str(
                "no app_ticket yet: the platform was asked to resend it; pass the app_ticket event to Client::set_app_ticket (a Bot stores it by itself) and retry",
            ),
            Self::Store { action, source } => write!(f, "could not {action}: {source}"),
            Self::SignInAgain { user, why } => {
                write!(f, "{} must sign in again: {why}", who_note(user))
            }
            Self::MissingInAnswer { what, log_id } => write!(
                f,
                "the platform answered without {what}{}",
                log_id_note(log_id.as_deref())
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport { source, .. } => Some(source.as_ref()),
            // Their text already shows the inner error's: go on from what lies under it.
            Self::Api { error, .. } => error.source(),
            Self::Io { error, .. } => error.source(),
            Self::Store { source, .. } => source.source(),
            _ => None,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// The texts of `err` and of every error under it, outermost first.
    fn chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
        std::iter::successors(Some(err), |e| (*e).source())
            .map(ToString::to_string)
            .collect()
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the disk is full")]
    struct Full;

    #[derive(Debug, thiserror::Error)]
    #[error("the write failed")]
    struct Write(#[source] Full);

    #[test]
    fn wrappers_show_their_inner_error_once_and_keep_what_lies_under_it() {
        let io = Error::io("write notes.txt", std::io::Error::other(Write(Full)));
        assert_eq!(
            chain(&io),
            ["write notes.txt: the write failed", "the disk is full"]
        );

        let store = Error::Store {
            action: "store the app ticket",
            source: Box::new(Write(Full)),
        };
        assert_eq!(
            chain(&store),
            [
                "could not store the app ticket: the write failed",
                "the disk is full"
            ]
        );

        let header = http::HeaderValue::from_bytes(b"bad\n").unwrap_err();
        let api = Error::api(
            lark_api::BuildError::Http {
                reason: "a header is not valid".to_owned(),
                source: Some(Box::new(header)),
            },
            0,
        );
        let texts = chain(&api);
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert_eq!(
            texts[0],
            "could not assemble the request: a header is not valid"
        );
        assert!(
            api.source()
                .and_then(|s| s.downcast_ref::<http::header::InvalidHeaderValue>())
                .is_some()
        );
    }

    #[test]
    fn a_transport_error_returns_the_network_error_underneath() {
        let err = Error::transport(
            "open.feishu.cn",
            Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            1,
        );
        let texts = chain(&err);
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].starts_with("could not reach open.feishu.cn: the connection was refused"));
        let io = err
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .expect("the io error is the source");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
