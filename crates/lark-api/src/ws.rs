//! The long connection's endpoint discovery (`POST /callback/ws/endpoint`, outside
//! `/open-apis`): the url to dial and the connection parameters, in PascalCase.

use crate::answer::Data;
use crate::answer::endpoint;
use crate::auth::check_credentials;
use crate::endpoint::{Auth, Body};
use crate::error::BuildError;
use crate::secret::AppSecret;
use http::{HeaderMap, HeaderValue};
use lark_content::AppId;
use serde::Deserialize;

/// Discovery codes (in the answer's `code`).
pub mod codes {
    /// The platform is busy; retry.
    pub const SYSTEM_BUSY: i64 = 1;
    /// Forbidden: the app may not use the long connection.
    pub const FORBIDDEN: i64 = 403;
    /// Authentication failed.
    pub const AUTH_FAILED: i64 = 514;
    /// An internal error; retry.
    pub const INTERNAL_ERROR: i64 = 1_000_040_343;
    /// The app id or secret is missing.
    pub const NO_CREDENTIALS: i64 = 1_000_040_344;
    /// "System busy", as production clients see it; also reported for a secret that does not
    /// match (docs/protocol.md §9). Retried.
    pub const BUSY: i64 = 1_000_040_345;
    /// The platform does not know the app id.
    pub const APP_ID_INVALID: i64 = 1_000_040_346;
    /// The app has too many connections (at most 50).
    pub const TOO_MANY_CONNECTIONS: i64 = 1_000_040_350;

    /// Whether a discovery failure with `code` is worth retrying: busy and internal errors
    /// are; every other code means the request itself is refused.
    #[must_use]
    pub fn is_retryable(code: i64) -> bool {
        matches!(code, SYSTEM_BUSY | INTERNAL_ERROR | BUSY)
    }
}

/// The connection parameters, in seconds, as the platform sends them (at discovery and in
/// pongs). Absent fields keep their current value. Numbers are read whatever their size or
/// form (a fraction, a huge value) and saturate into range; anything else counts as absent, so
/// one odd value never costs the connection. The client clamps them before use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct WsClientConfig {
    /// Seconds between pings.
    #[serde(rename = "PingInterval", default, deserialize_with = "seconds")]
    pub ping_interval: Option<u64>,
    /// Reconnect attempts; negative for no limit.
    #[serde(rename = "ReconnectCount", default, deserialize_with = "count")]
    pub reconnect_count: Option<i64>,
    /// Seconds between reconnect attempts.
    #[serde(rename = "ReconnectInterval", default, deserialize_with = "seconds")]
    pub reconnect_interval: Option<u64>,
    /// The first reconnect waits a random time below this many seconds.
    #[serde(rename = "ReconnectNonce", default, deserialize_with = "seconds")]
    pub reconnect_nonce: Option<u64>,
}

/// A non-negative number of seconds, saturating; a negative one or a non-number is absent.
fn seconds<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0)
                // Saturating: `as` maps values above u64::MAX to u64::MAX, and NaN cannot occur
                // in JSON.
                .map(
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    |f| f as u64,
                )
        }),
        _ => None,
    })
}

/// A count that may be negative, saturating; a non-number is absent.
fn count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            .or_else(|| {
                n.as_f64().map(
                    // Saturating in both directions.
                    #[allow(clippy::cast_possible_truncation)]
                    |f| f as i64,
                )
            }),
        _ => None,
    })
}

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct WsConnection {
    /// The `wss://` url to dial; its query carries `device_id` and `service_id`.
    #[serde(rename = "URL")]
    pub url: String,
    /// The connection parameters.
    #[serde(rename = "ClientConfig", default)]
    pub client_config: WsClientConfig,
}

impl WsConnection {
    /// A query parameter of the url.
    #[must_use]
    pub fn query_param(&self, key: &str) -> Option<&str> {
        let query = self.url.split_once('?')?.1;
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
    }

    /// The `service_id` every outgoing frame carries.
    #[must_use]
    pub fn service_id(&self) -> Option<i32> {
        self.query_param("service_id")?.parse().ok()
    }

    /// The `device_id` naming the connection in logs.
    #[must_use]
    pub fn device_id(&self) -> Option<&str> {
        self.query_param("device_id")
    }
}

/// `POST /callback/ws/endpoint`: the long connection's url, for a self-built app.
#[derive(Clone, Debug)]
#[must_use]
pub struct WsEndpoint {
    /// The app.
    pub app_id: AppId,
    /// Its secret.
    pub app_secret: AppSecret,
}

impl WsEndpoint {
    /// Discovery for the app.
    pub fn new(app_id: AppId, app_secret: AppSecret) -> Self {
        Self { app_id, app_secret }
    }
}

endpoint!(WsEndpoint: POST "/callback/ws/endpoint" => Data<WsConnection> {
    const AUTH: Auth = Auth::None;

    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert("locale", HeaderValue::from_static("zh"));
    }

    fn body(&self) -> Result<Body, BuildError> {
        check_credentials(&self.app_id, &self.app_secret)?;
        Ok(Body::json(
            &serde_json::json!({"AppID": self.app_id, "AppSecret": self.app_secret.expose()}),
        ))
    }

    fn is_idempotent(&self) -> bool {
        true
    }
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BaseUrl, Endpoint, build_request};
    use bytes::Bytes;

    #[test]
    fn discovery_posts_pascal_case_credentials_outside_open_apis() {
        let endpoint =
            WsEndpoint::new(AppId::new("cli_9f5343c580712544"), AppSecret::new("s3cret"));
        let request = build_request(&endpoint, &BaseUrl::feishu(), None).unwrap();
        assert_eq!(request.uri(), "https://open.feishu.cn/callback/ws/endpoint");
        assert_eq!(request.headers()["locale"], "zh");
        let body: serde_json::Value =
            serde_json::from_slice(&request.body().to_bytes().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"AppID": "cli_9f5343c580712544", "AppSecret": "s3cret"})
        );
    }

    #[test]
    fn the_documented_answer_reads_with_its_ids() {
        let body = r#"{"code":0,"msg":"ok","data":{"URL":"wss://fake?device_id=d1&service_id=s1","ClientConfig":{"PingInterval":120,"ReconnectCount":3,"ReconnectInterval":120,"ReconnectNonce":0}}}"#;
        let response = http::Response::new(Bytes::from(body));
        let endpoint = WsEndpoint::new(AppId::new("cli_x"), AppSecret::new("s"));
        let connection = endpoint.parse(response).unwrap();
        assert_eq!(connection.device_id(), Some("d1"));
        assert_eq!(connection.query_param("service_id"), Some("s1"));
        assert_eq!(connection.service_id(), None, "s1 is not a number");
        assert_eq!(connection.client_config.reconnect_count, Some(3));
        assert_eq!(connection.client_config.ping_interval, Some(120));
        let refused = r#"{"code":1000040350,"msg":"exceed conn limit"}"#;
        let err = endpoint
            .parse(http::Response::new(Bytes::from(refused)))
            .unwrap_err();
        assert_eq!(err.as_api().unwrap().code, codes::TOO_MANY_CONNECTIONS);
        assert!(
            !codes::is_retryable(codes::TOO_MANY_CONNECTIONS)
                && codes::is_retryable(codes::SYSTEM_BUSY)
        );
    }
}
