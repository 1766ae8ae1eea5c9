//! Where the platform is: Feishu, Lark, or any other base url (an emulator, a proxy).

use crate::error::BuildError;
use std::fmt;

/// The scheme, host, port and optional path prefix every request path is appended to.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Feishu, in mainland China: `https://open.feishu.cn`.
    #[must_use]
    pub fn feishu() -> Self {
        Self("https://open.feishu.cn".to_owned())
    }

    /// Lark, outside China: `https://open.larksuite.com`.
    #[must_use]
    pub fn lark() -> Self {
        Self("https://open.larksuite.com".to_owned())
    }

    /// Any `http` or `https` base url, such as `http://127.0.0.1:8080`. A trailing `/` is
    /// dropped; a query or fragment is refused, and so are credentials in the url.
    pub fn parse(url: &str) -> Result<Self, BuildError> {
        let invalid = |why: &str| BuildError::InvalidBaseUrl {
            reason: format!("{why}; expected e.g. https://open.feishu.cn or http://127.0.0.1:8080"),
        };
        let trimmed = url.trim().trim_end_matches('/');
        let uri: http::Uri = trimmed.parse().map_err(|_| invalid("not a url"))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(invalid("the scheme must be http or https")),
        }
        let Some(authority) = uri.authority() else {
            return Err(invalid("there is no host"));
        };
        if authority.as_str().contains('@') {
            return Err(invalid("credentials do not belong in the base url"));
        }
        if uri.query().is_some() || trimmed.contains('#') {
            return Err(invalid("a base url has no query or fragment"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The url as a string, without a trailing `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host and port, as errors name them: `open.feishu.cn`, `127.0.0.1:8080`.
    #[must_use]
    pub fn host(&self) -> &str {
        let rest = self
            .0
            .split_once("://")
            .map_or(self.0.as_str(), |(_, rest)| rest);
        rest.split('/').next().unwrap_or(rest)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.0).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_and_drops_the_trailing_slash() {
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:8080/").unwrap().as_str(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            BaseUrl::parse("https://proxy.example.com/lark")
                .unwrap()
                .as_str(),
            "https://proxy.example.com/lark"
        );
    }

    #[test]
    fn the_host_is_what_errors_name() {
        assert_eq!(BaseUrl::feishu().host(), "open.feishu.cn");
        assert_eq!(
            BaseUrl::parse("https://proxy.example.com:8443/lark")
                .unwrap()
                .host(),
            "proxy.example.com:8443"
        );
    }

    #[test]
    fn refuses_what_is_not_a_base_url() {
        for bad in [
            "",
            "open.feishu.cn",
            "ftp://x",
            "https://u:p@open.feishu.cn",
            "https://x/?a=1",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
