//! Which proxy a connection goes through: none, one given explicitly, or one chosen by curl's
//! rules from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (hyper-util's matcher).
//! The REST client and the long connection's dial read the same settings.

use http::HeaderValue;
use hyper_util::client::proxy::matcher::Matcher;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// How connections reach the platform.
#[derive(Clone, Default)]
pub struct ProxySettings(Rule);

#[derive(Clone, Default)]
enum Rule {
    #[default]
    Direct,
    /// Every connection, loopback included, goes through this proxy.
    Always(http::Uri),
    /// curl's rules; loopback never goes through a proxy.
    Matched(Arc<Matcher>),
}

/// A proxy to go through, and the `Proxy-Authorization` it takes.
#[derive(Clone)]
pub struct ProxyRoute {
    /// The proxy, e.g. `http://proxy.internal:3128`.
    pub uri: http::Uri,
    /// The credentials from the proxy url, as a header value (marked sensitive).
    pub authorization: Option<HeaderValue>,
}

impl fmt::Debug for ProxyRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRoute")
            .field(
                "host",
                &self.uri.authority().map(http::uri::Authority::host),
            )
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.0 {
            Rule::Direct => "ProxySettings(direct)",
            Rule::Always(_) => "ProxySettings(always)",
            Rule::Matched(_) => "ProxySettings(by curl's rules)",
        })
    }
}

impl ProxySettings {
    /// No proxy.
    #[must_use]
    pub fn direct() -> Self {
        Self(Rule::Direct)
    }

    /// Every connection through `proxy`, loopback included.
    #[must_use]
    pub fn always(proxy: http::Uri) -> Self {
        Self(Rule::Always(proxy))
    }

    /// curl's rules, from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either
    /// case). Loopback addresses and `localhost` are never proxied.
    #[must_use]
    pub fn from_env() -> Self {
        Self(Rule::Matched(Arc::new(Matcher::from_env())))
    }

    /// curl's rules from explicit values: the proxy for `https` and `wss` destinations, the one
    /// for `http` and `ws`, and a `NO_PROXY` list. Loopback is never proxied.
    #[must_use]
    pub fn from_values(https: &str, http: &str, no_proxy: &str) -> Self {
        let matcher = Matcher::builder()
            .https(https.to_owned())
            .http(http.to_owned())
            .no(no_proxy.to_owned())
            .build();
        Self(Rule::Matched(Arc::new(matcher)))
    }

    /// The proxy for a connection to `destination` (`http`, `https`, `ws` or `wss`), if any.
    #[must_use]
    pub fn route(&self, destination: &http::Uri) -> Option<ProxyRoute> {
        match &self.0 {
            Rule::Direct => None,
            Rule::Always(uri) => Some(ProxyRoute {
                uri: uri.clone(),
                authorization: None,
            }),
            Rule::Matched(matcher) => {
                let host = destination.host()?;
                if is_loopback(host) {
                    return None;
                }
                // The matcher knows http and https; a WebSocket dial is the same connection.
                let scheme = match destination.scheme_str() {
                    Some("wss" | "https") => "https",
                    _ => "http",
                };
                let as_http: http::Uri = format!(
                    "{scheme}://{}/",
                    destination.authority().map_or(host, |a| a.as_str())
                )
                .parse()
                .ok()?;
                let intercept = matcher.intercept(&as_http)?;
                let authorization = intercept.basic_auth().cloned().map(|mut value| {
                    value.set_sensitive(true);
                    value
                });
                Some(ProxyRoute {
                    uri: intercept.uri().clone(),
                    authorization,
                })
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(settings: &ProxySettings, url: &str) -> Option<String> {
        settings
            .route(&url.parse().unwrap())
            .map(|r| r.uri.to_string())
    }

    #[test]
    fn curls_rules_pick_by_scheme_and_honour_no_proxy() {
        let settings = ProxySettings::from_values(
            "http://secure-proxy:3128",
            "http://plain-proxy:3128",
            "internal.example.com,.corp.example",
        );
        assert_eq!(
            route(&settings, "https://open.feishu.cn/open-apis/x").as_deref(),
            Some("http://secure-proxy:3128/")
        );
        assert_eq!(
            route(&settings, "wss://msg-frontier.feishu.cn/ws/v2?x=1").as_deref(),
            Some("http://secure-proxy:3128/"),
            "a wss dial takes the https proxy"
        );
        assert_eq!(
            route(&settings, "ws://open.example.com/ws").as_deref(),
            Some("http://plain-proxy:3128/")
        );
        assert_eq!(route(&settings, "https://internal.example.com/"), None);
        assert_eq!(route(&settings, "https://a.corp.example/"), None);
    }

    #[test]
    fn loopback_is_never_proxied_by_the_rules_but_is_when_told_to() {
        let rules = ProxySettings::from_values("http://proxy:3128", "http://proxy:3128", "");
        for local in [
            "http://127.0.0.1:8080/",
            "ws://localhost:9/",
            "https://[::1]:443/",
        ] {
            assert_eq!(route(&rules, local), None, "{local}");
        }
        let always = ProxySettings::always("http://proxy:3128".parse().unwrap());
        assert!(route(&always, "http://127.0.0.1:8080/").is_some());
        assert!(route(&ProxySettings::direct(), "https://open.feishu.cn/").is_none());
    }

    #[test]
    fn proxy_credentials_become_a_sensitive_header_and_stay_out_of_debug() {
        let settings = ProxySettings::from_values("http://user:s3cret@proxy:3128", "", "");
        let route = settings
            .route(&"https://open.feishu.cn/".parse().unwrap())
            .unwrap();
        assert!(route.authorization.as_ref().unwrap().is_sensitive());
        assert!(!format!("{route:?}").contains("s3cret"));
        assert!(!route.uri.to_string().contains("s3cret"));
    }
}
