//! Secrets. Each one prints as `<redacted>` in `Debug`, has no `Display` and no `Serialize`, and
//! is only readable through an explicit `expose()`, so it cannot slip into a log line, a URL or
//! an error message by accident.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::sync::Arc;

macro_rules! secret {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        /// Shared, not copied, when cloned: a token goes out with every call.
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps the secret.
            #[must_use]
            pub fn new(value: impl Into<String>) -> Self {
                Self(Arc::from(value.into()))
            }

            /// The secret itself. Call this only where the secret must go on the wire.
            #[must_use]
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Whether the secret is empty.
            #[must_use]
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(Arc::from(value))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(Arc::from(value))
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
