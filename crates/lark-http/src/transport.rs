//! The one seam between the executor and the network: [`Transport`]. The default is hyper-util's
//! pooled client over hyper-rustls (webpki roots unless the `native-roots` feature is on), with
//! HTTP/2 when the server offers it through ALPN and an optional HTTP CONNECT proxy.

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

/// Any error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body: in memory or streamed.
pub type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

/// A response body, streamed.
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// A transport failure, and whether the request certainly never left (so that even a request
/// that is not idempotent can be sent again).
#[derive(Debug, thiserror::Error)]
#[error("{}", if *.not_sent { "the connection could not be made" } else { "the exchange failed in transit" })]
pub struct TransportError {
    /// What failed.
    #[source]
    pub source: BoxError,
    /// True when the connection was never established, so nothing was sent.
    pub not_sent: bool,
}

impl TransportError {
    /// A failure after which the request may or may not have been processed.
    #[must_use]
    pub fn new(source: BoxError) -> Self {
        Self {
            source,
            not_sent: false,
        }
    }

    /// A failure before anything was sent.
    #[must_use]
    pub fn not_sent(source: BoxError) -> Self {
        Self {
            source,
            not_sent: true,
        }
    }
}

/// Sends one HTTP request and returns the response with its body still streaming.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends `request`.
    async fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<ResponseBody>, TransportError>;
}

/// A body holding `bytes`.
pub fn full_body(bytes: Bytes) -> RequestBody {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// How the default transport connects.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TransportConfig {
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// An HTTP CONNECT proxy, e.g. `http://proxy.internal:3128`.
    pub proxy: Option<http::Uri>,
    /// The `Proxy-Authorization` the proxy takes.
    pub proxy_authorization: Option<http::HeaderValue>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            proxy: None,
            proxy_authorization: None,
        }
    }
}

enum Pooled {
    Direct(Client<HttpsConnector<HttpConnector>, RequestBody>),
    Proxied(Client<HttpsConnector<Tunnel<HttpConnector>>, RequestBody>),
}

/// The default transport: pooled, keep-alive, TLS through rustls with its own crypto provider
/// (nothing needs installing globally), HTTP/2 by ALPN.
pub struct HyperTransport {
    client: Pooled,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.client {
            Pooled::Direct(_) => "direct",
            Pooled::Proxied(_) => "proxied",
        };
        f.debug_struct("HyperTransport")
            .field("kind", &kind)
            .finish()
    }
}

/// Whether trusted roots are compiled in (the `webpki-roots` or `native-roots` feature).
pub(crate) const HAS_ROOTS: bool = cfg!(any(feature = "webpki-roots", feature = "native-roots"));

impl HyperTransport {
    /// A transport configured as `config` says.
    pub fn new(config: &TransportConfig) -> Result<Self, BoxError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(60)));
        let provider = rustls::crypto::ring::default_provider();
        let builder = HttpsConnectorBuilder::new();
        #[cfg(feature = "native-roots")]
        let builder = builder.with_provider_and_native_roots(provider)?;
        #[cfg(all(feature = "webpki-roots", not(feature = "native-roots")))]
        let builder = builder.with_provider_and_webpki_roots(provider)?;
        // Without either feature no certificate is trusted: plain http (an emulator, a local
        // proxy) works, and ClientBuilder::build refuses an https base url with a clear error.
        #[cfg(not(any(feature = "webpki-roots", feature = "native-roots")))]
        let builder = builder.with_tls_config(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(provider))
                .with_safe_default_protocol_versions()?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        );
        let builder = builder.https_or_http().enable_http1().enable_http2();
        let mut client = Client::builder(TokioExecutor::new());
        client
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(TokioTimer::new());
        let pooled = match &config.proxy {
            None => Pooled::Direct(client.build(builder.wrap_connector(http))),
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.clone(), http);
                if let Some(auth) = &config.proxy_authorization {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Pooled::Proxied(client.build(builder.wrap_connector(tunnel)))
            }
        };
        Ok(Self { client: pooled })
    }
}

fn classify(err: hyper_util::client::legacy::Error) -> TransportError {
    let connect = err.is_connect();
    let source: BoxError = Box::new(err);
    if connect {
        TransportError::not_sent(source)
    } else {
        TransportError::new(source)
    }
}

#[async_trait]
impl Transport for HyperTransport {
    async fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let response = match &self.client {
            Pooled::Direct(client) => client.request(request).await.map_err(classify)?,
            Pooled::Proxied(client) => client.request(request).await.map_err(classify)?,
        };
        Ok(response.map(|body| body.map_err(|err| Box::new(err) as BoxError).boxed_unsync()))
    }
}

/// The body's bytes, at most `limit` of them. Read frame by frame rather than through
/// `http_body_util::Limited`, whose generic error conversion trips the compiler's `Send`
/// checks for futures that hold it.
pub(crate) async fn read_body(mut body: ResponseBody, limit: usize) -> Result<Bytes, BoxError> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if out.len() + data.len() > limit {
                return Err(format!("the response is larger than {limit} bytes").into());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}
