//! Where the platform is: Feishu, Lark, or any other base url (an emulator, a proxy).

use crate::error::BuildError;
use http::uri::{Authority, Scheme};
use std::fmt;

/// The scheme, host, port and optional path prefix every request path is appended to.
///
/// The scheme and the authority are kept parsed, so that a request's url is put together
/// without reading them again.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    url: String,
    scheme: Scheme,
    authority: Authority,
    /// Where the path prefix starts in `url` (its length when there is none).
    prefix: usize,
}

impl BaseUrl {
    /// Feishu, in mainland China: `https://open.feishu.cn`.
    #[must_use]
    pub fn feishu() -> Self {
        Self::https(Authority::from_static("open.feishu.cn"))
    }

    /// Lark, outside China: `https://open.larksuite.com`.
    #[must_use]
    pub fn lark() -> Self {
        Self::https(Authority::from_static("open.larksuite.com"))
    }

    fn https(authority: Authority) -> Self {
        let url = format!("https://{authority}");
        Self {
            prefix: url.len(),
            url,
            scheme: Scheme::HTTPS,
            authority,
        }
    }

    /// Any `http` or `https` base url, such as `http://127.0.0.1:8080`. A trailing `/` is
    /// dropped; a query or fragment is refused, and so are credentials in the url.
    pub fn parse(url: &str) -> Result<Self, BuildError> {
        let invalid = |why: &str| BuildError::InvalidBaseUrl {
            reason: format!("{why}; expected e.g. https://open.feishu.cn or http://127.0.0.1:8080"),
        };
        let trimmed = url.trim().trim_end_matches('/');
        let uri: http::Uri = trimmed.parse().map_err(|_| invalid("not a url"))?;
        let scheme = match uri.scheme() {
            Some(scheme) if matches!(scheme.as_str(), "http" | "https") => scheme.clone(),
            _ => return Err(invalid("the scheme must be http or https")),
        };
        let Some(authority) = uri.authority() else {
            return Err(invalid("there is no host"));
        };
        if authority.as_str().contains('@') {
            return Err(invalid("credentials do not belong in the base url"));
        }
        if uri.query().is_some() || trimmed.contains('#') {
            return Err(invalid("a base url has no query or fragment"));
        }
        let authority = authority.clone();
        let prefix = trimmed.len() - uri.path().trim_end_matches('/').len();
        Ok(Self {
            url: trimmed.to_owned(),
            scheme,
            authority,
            prefix,
        })
    }

    /// The url as a string, without a trailing `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The scheme, `http` or `https`.
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The host and port.
    #[must_use]
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The path every request path is appended to: empty, or e.g. `/lark`.
    #[must_use]
    pub fn path_prefix(&self) -> &str {
        &self.url[self.prefix..]
    }

    /// The host and port, as errors name them: `open.feishu.cn`, `127.0.0.1:8080`.
    #[must_use]
    pub fn host(&self) -> &str {
        self.authority.as_str()
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.url).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
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
    fn the_parts_are_kept_parsed() {
        let base = BaseUrl::parse("https://proxy.example.com:8443/lark/").unwrap();
        assert_eq!(base.scheme(), &Scheme::HTTPS);
        assert_eq!(base.authority().as_str(), "proxy.example.com:8443");
        assert_eq!(base.path_prefix(), "/lark");
        let plain = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(plain.scheme(), &Scheme::HTTP);
        assert_eq!(plain.path_prefix(), "");
        assert_eq!(
            BaseUrl::feishu(),
            BaseUrl::parse("https://open.feishu.cn/").unwrap()
        );
        assert_eq!(BaseUrl::lark().as_str(), "https://open.larksuite.com");
        assert_eq!(BaseUrl::lark().path_prefix(), "");
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
