//! Why an incoming request was refused.

use std::time::Duration;

/// What kind of refusal, and so which HTTP status answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventErrorKind {
    /// The body is not something the platform sends (400).
    BadRequest,
    /// The request is not proven to come from the platform: signature, freshness or token (401).
    Unauthorized,
    /// The body is larger than the configured limit (413).
    TooLarge,
}

/// An incoming request that was refused, and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The body is not a JSON object of the expected shape.
    #[error("the body is not a Lark event: {reason}")]
    BadJson {
        /// What is wrong with it.
        reason: String,
        /// The JSON parser's error, when the body did not parse.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The body could not be decrypted.
    #[error(
        "could not decrypt the body ({0}); check that the Encrypt Key matches the developer console"
    )]
    Decrypt(String),
    /// An encrypt key is configured but the request carries no signature.
    #[error(
        "the request carries no X-Lark-Signature, X-Lark-Request-Timestamp or X-Lark-Request-Nonce header, and an encrypt key is configured"
    )]
    MissingSignature,
    /// The signature does not match the body.
    #[error(
        "X-Lark-Signature does not match the body; the request did not come from the platform, or the Encrypt Key is wrong"
    )]
    BadSignature,
    /// The request's timestamp is outside the freshness window.
    #[error(
        "X-Lark-Request-Timestamp is {}s {} now, outside the {}s window; a replayed or delayed request, or a clock that is off",
        .skew.as_secs(), if *.future { "ahead of" } else { "behind" }, .window.as_secs()
    )]
    Stale {
        /// How far from now.
        skew: Duration,
        /// Whether the timestamp is in the future.
        future: bool,
        /// The window.
        window: Duration,
    },
    /// The timestamp header is not a number of seconds.
    #[error("X-Lark-Request-Timestamp `{0}` is not a number of seconds")]
    BadTimestamp(String),
    /// The verification token does not match.
    #[error(
        "the event's verification token does not match the configured one; check the Verification Token in the developer console"
    )]
    BadToken,
    /// The body is encrypted, but no encrypt key is configured.
    #[error(
        "the body is encrypted but no encrypt key is configured; set the Encrypt Key from the developer console"
    )]
    NoEncryptKey,
    /// An encrypt key is configured, but the body is not encrypted.
    #[error(
        "an encrypt key is configured but the body is not encrypted; the request did not come from the platform"
    )]
    NotEncrypted,
    /// The body is too large.
    #[error("the body is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl EventError {
    pub(crate) fn not_an_event(reason: &str) -> Self {
        Self::BadJson {
            reason: reason.to_owned(),
            source: None,
        }
    }

    pub(crate) fn decrypt(why: &str) -> Self {
        Self::Decrypt(why.to_owned())
    }

    /// What kind of refusal this is.
    #[must_use]
    pub fn kind(&self) -> EventErrorKind {
        match self {
            Self::BadJson { .. }
            | Self::Decrypt(_)
            | Self::BadTimestamp(_)
            | Self::NoEncryptKey => EventErrorKind::BadRequest,
            Self::MissingSignature
            | Self::BadSignature
            | Self::Stale { .. }
            | Self::BadToken
            | Self::NotEncrypted => EventErrorKind::Unauthorized,
            Self::TooLarge { .. } => EventErrorKind::TooLarge,
        }
    }

    /// The HTTP status that answers it.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self.kind() {
            EventErrorKind::BadRequest => 400,
            EventErrorKind::Unauthorized => 401,
            EventErrorKind::TooLarge => 413,
        }
    }
}

/// The texts of the errors under `err`, outermost first, leaving out any whose text is already
/// part of the text above it: what a failed dispatch reports after the error's own text, and
/// what a command-line tool prints as its causes.
///
/// ```
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "redis refused");
/// let err = lark_events::DedupError::because("mark the event as seen", refused);
/// assert_eq!(lark_events::causes(&err), ["redis refused"]);
/// ```
#[must_use]
pub fn causes(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut shown = err.to_string();
    let mut causes = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !shown.contains(&text) {
            shown.push('\n');
            shown.push_str(&text);
            causes.push(text);
        }
        next = cause.source();
    }
    causes
}
