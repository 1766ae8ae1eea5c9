//! Secrets. Each one prints as `<redacted>` in `Debug`, has no `Display` and no `Serialize`, and
//! is only readable through an explicit `expose()`, so it cannot slip into a log line, a URL or
//! an error message by accident.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// A secret's text, and the `Authorization` header made from it once it is needed.
struct SecretText {
    text: Box<str>,
    header: OnceLock<Option<http::HeaderValue>>,
}

impl SecretText {
    fn new(text: Box<str>) -> Arc<Self> {
        Arc::new(Self {
            text,
            header: OnceLock::new(),
        })
    }
}

impl PartialEq for SecretText {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SecretText {}

impl Hash for SecretText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

macro_rules! secret {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        /// Shared, not copied, when cloned: a token goes out with every call.
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(Arc<SecretText>);

        impl $name {
            /// Wraps the secret.
            #[must_use]
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretText::new(value.into().into_boxed_str()))
            }

            /// The secret itself. Call this only where the secret must go on the wire.
            #[must_use]
            pub fn expose(&self) -> &str {
                &self.0.text
            }

            /// Whether the secret is empty.
            #[must_use]
            pub fn is_empty(&self) -> bool {
                self.0.text.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }
    };
}

secret! {
    /// An app's secret (`app_secret`), from the developer console.
    AppSecret
}

secret! {
    /// An access token: tenant (`t-…`), app (`a-…` / `t-…`) or user (`u-…`).
    AccessToken
}

secret! {
    /// The app ticket the platform pushes to marketplace apps every hour.
    AppTicket
}

secret! {
    /// The token a card callback carries (`c-…`) for updating that card later: valid for 30
    /// minutes and for at most two updates.
    CardUpdateToken
}

secret! {
    /// A user's refresh token: it obtains a new token pair once, and is then spent.
    RefreshToken
}

secret! {
    /// The PKCE `code_verifier`: the secret half of `oauth::Pkce`.
    CodeVerifier
}

secret! {
    /// An authorization code from the sign-in redirect: usable once, within 5 minutes.
    AuthorizationCode
}

secret! {
    /// The device flow's `device_code`, which the app polls the token endpoint with.
    DeviceCode
}

impl AccessToken {
    /// `Authorization: Bearer <token>`, marked sensitive; made once per token and shared by
    /// every call that carries it. `None` when the token holds characters a header cannot.
    pub(crate) fn bearer(&self) -> Option<http::HeaderValue> {
        self.0
            .header
            .get_or_init(|| {
                let mut value =
                    http::HeaderValue::try_from(format!("Bearer {}", self.expose())).ok()?;
                value.set_sensitive(true);
                Some(value)
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let secret = AppSecret::new("dskLLdkasdjlasdKK");
        let token = AccessToken::new("t-caecc734c2e3328a62489fe0648c4b98779515d3");
        let ticket = AppTicket::new("ticket-value");
        let printed = format!("{secret:?} {token:?} {ticket:?} {:?}", Some(&token));
        assert!(!printed.contains("dskLL"), "{printed}");
        assert!(!printed.contains("caecc"), "{printed}");
        assert!(!printed.contains("ticket-value"), "{printed}");
        assert_eq!(format!("{secret:?}"), "AppSecret(<redacted>)");
    }
}
