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
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    /// How long an idle pooled connection is kept; a timer closes it then.
    pub pool_idle_timeout: Duration,
    /// The most requests in flight to one host at once, and so the most HTTP/1 connections
    /// in use to it; further requests wait their turn, within their own timeouts. Also the
    /// most idle connections kept per host.
    pub max_connections_per_host: usize,
    /// An HTTP CONNECT proxy, e.g. `http://proxy.internal:3128`.
    pub proxy: Option<http::Uri>,
    /// The `Proxy-Authorization` the proxy takes.
    pub proxy_authorization: Option<http::HeaderValue>,
}

/// 64 requests in flight per host. The platform allows an app 50 calls a second on one API
/// (1,000 a minute); at a 100 ms round trip that keeps 5 connections busy, so 64 leaves room
/// for slow calls and long transfers, while a burst of events can no longer open a connection
/// each and run the process out of file descriptors (1,024 by default on Linux).
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 64;

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
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
/// (nothing needs installing globally), HTTP/2 by ALPN, and at most
/// [`TransportConfig::max_connections_per_host`] requests in flight per host.
pub struct HyperTransport {
    client: Pooled,
    per_host: usize,
    /// Each host's slots, by scheme and authority (as ASCII, compared without case), made on
    /// first use. Hosts come from the client's own base url and the long connection's, so a
    /// short list is searched without building a key per request.
    slots: Mutex<Vec<HostSlots>>,
}

/// One host's slots.
struct HostSlots {
    scheme: Box<str>,
    authority: Box<str>,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.client {
            Pooled::Direct(_) => "direct",
            Pooled::Proxied(_) => "proxied",
        };
        f.debug_struct("HyperTransport")
            .field("kind", &kind)
            .field("per_host", &self.per_host)
            .finish_non_exhaustive()
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
        let per_host = config.max_connections_per_host.max(1);
        client
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new());
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
        Ok(Self {
            client: pooled,
            per_host,
            slots: Mutex::new(Vec::new()),
        })
    }

    /// The slots of the host `uri` names. Compared as text: nothing is built per request once
    /// the host is known.
    fn slots_for(&self, uri: &http::Uri) -> Arc<Semaphore> {
        let scheme = uri.scheme_str().unwrap_or("http");
        let authority = uri
            .authority()
            .map_or("localhost", http::uri::Authority::as_str);
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        // The same spelling as before is the common case, and the cheap comparison.
        let same = |known: &str, asked: &str| known == asked || known.eq_ignore_ascii_case(asked);
        if let Some(host) = slots
            .iter()
            .find(|host| same(&host.scheme, scheme) && same(&host.authority, authority))
        {
            return host.slots.clone();
        }
        let slot = Arc::new(Semaphore::new(self.per_host));
        slots.push(HostSlots {
            scheme: scheme.into(),
            authority: authority.into(),
            slots: slot.clone(),
        });
        slot
    }

    /// Sends `request` on the pool, without taking a slot. Both pools answer with the same
    /// future, so awaiting it adds no state of its own.
    fn request(
        &self,
        request: http::Request<RequestBody>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        match &self.client {
            Pooled::Direct(client) => client.request(request),
            Pooled::Proxied(client) => client.request(request),
        }
    }

    /// Sends `request` and reads its whole answer, at most `limit` bytes, holding the host's
    /// slot until the answer is read. Unlike [`Transport::send`], it boxes neither the future
    /// nor the body: the executor's JSON calls come this way.
    ///
    /// The pool's response future is made at once and does nothing until it is polled, after
    /// a slot is taken; the future returned holds it instead of the request.
    pub(crate) fn exchange(
        &self,
        request: http::Request<RequestBody>,
        limit: usize,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'static {
        let slots = self.slots_for(request.uri());
        let response = self.request(request);
        async move {
            // A free slot is taken without building a waiter; only a full host waits.
            let _slot = match slots.try_acquire() {
                Ok(slot) => slot,
                Err(_) => slots
                    .acquire()
                    .await
                    .map_err(|err| TransportError::not_sent(Box::new(err)))?,
            };
            let (parts, body) = response.await.map_err(classify)?.into_parts();
            let bytes = read_body(body, limit).await.map_err(TransportError::new)?;
            Ok(http::Response::from_parts(parts, bytes))
        }
    }
}

/// The transport a client was built with: the default one, called directly, or one the
/// caller supplied.
#[allow(clippy::large_enum_variant)] // one per client, behind its Arc: boxing would only add a pointer to chase
pub(crate) enum Wire {
    /// The default hyper transport.
    Hyper(HyperTransport),
    /// A transport given to [`ClientBuilder::transport`](crate::ClientBuilder::transport).
    Custom(Arc<dyn Transport>),
}

impl Wire {
    /// Sends `request`; the answer's body still streams.
    pub(crate) async fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        match self {
            Self::Hyper(hyper) => hyper.send(request).await,
            Self::Custom(custom) => custom.send(request).await,
        }
    }
}

/// Sends `request` through a transport the caller supplied and reads its whole answer, at
/// most `limit` bytes.
pub(crate) async fn exchange_through(
    transport: &dyn Transport,
    request: http::Request<RequestBody>,
    limit: usize,
) -> Result<http::Response<Bytes>, TransportError> {
    let (parts, body) = transport.send(request).await?.into_parts();
    let bytes = read_body(body, limit).await.map_err(TransportError::new)?;
    Ok(http::Response::from_parts(parts, bytes))
}

/// A response body that holds its request's slot until it is read to the end or dropped.
struct Slotted {
    body: hyper::body::Incoming,
    slot: Option<OwnedSemaphorePermit>,
}

impl http_body::Body for Slotted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.body)
            .poll_frame(cx)
            .map_err(|err| Box::new(err) as BoxError);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.slot = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
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
        let slot = self
            .slots_for(request.uri())
            .acquire_owned()
            .await
            .map_err(|err| TransportError::not_sent(Box::new(err)))?;
        let response = self.request(request).await.map_err(classify)?;
        Ok(response.map(|body| {
            Slotted {
                body,
                slot: Some(slot),
            }
            .boxed_unsync()
        }))
    }
}

/// The body's bytes, at most `limit` of them. Read frame by frame rather than through
/// `http_body_util::Limited`, whose generic error conversion trips the compiler's `Send`
/// checks for futures that hold it.
pub(crate) async fn read_body<B>(mut body: B, limit: usize) -> Result<Bytes, BoxError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    // A body that comes in one frame, as most answers do, is kept as it came, not copied.
    let mut first: Option<Bytes> = None;
    let mut out = bytes::BytesMut::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(Into::into)?.into_data() {
            len += data.len();
            if len > limit {
                return Err(format!("the response is larger than {limit} bytes").into());
            }
            match first.take() {
                None if out.is_empty() => first = Some(data),
                held => {
                    if let Some(held) = held {
                        out.extend_from_slice(&held);
                    }
                    out.extend_from_slice(&data);
                }
            }
        }
    }
    Ok(first.unwrap_or_else(|| out.freeze()))
}
