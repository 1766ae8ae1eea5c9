//! The one error type of this crate.

/// Why content could not be decoded or would be refused by the platform.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// The `content` string is not JSON at all. (JSON that does not fit the model still
    /// decodes, as [`MessageContent::Unmodelled`](crate::MessageContent::Unmodelled).)
    #[error(
        "`{msg_type}` content is not JSON ({error}); `content` must be this msg_type's JSON, \
         serialized to a string"
    )]
    Decode {
        /// The `msg_type` the content was read as.
        msg_type: String,
        /// What serde_json reported. Its text is part of this error's, so it is not also this
        /// error's `source()`.
        error: serde_json::Error,
    },
    /// The content is larger than the platform accepts.
    #[error("{what} is {actual} {unit}, over the platform's limit of {limit} {unit}; {hint}")]
    TooLarge {
        /// What was measured, e.g. "text content".
        what: &'static str,
        /// The measured size.
        actual: usize,
        /// The documented limit.
        limit: usize,
        /// `bytes`, `characters` or `elements`.
        unit: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// The content breaks one of the platform's documented rules.
    #[error("{reason}")]
    Invalid {
        /// Which rule, and how to fix it.
        reason: String,
    },
}

impl ContentError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid {
            reason: reason.into(),
        }
    }
}
