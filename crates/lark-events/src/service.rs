//! The ready HTTP endpoint: a hyper service that checks, answers within the platform's budget,
//! and hands work to the application.

use crate::dispatch::{Dispatched, Dispatcher};
use crate::error::EventError;
use crate::receive::{EventConfig, receive};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::net::TcpListener;

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The webhook endpoint. Cheap to clone; every clone shares one configuration and dispatcher.
#[derive(Clone)]
pub struct WebhookService {
    config: Arc<EventConfig>,
    dispatcher: Dispatcher,
    clock: Clock,
}

impl std::fmt::Debug for WebhookService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookService")
            .field("config", &self.config)
            .field("dispatcher", &self.dispatcher)
            .finish_non_exhaustive()
    }
}

fn json_response(status: StatusCode, body: String) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn message(status: StatusCode, text: &str) -> http::Response<Full<Bytes>> {
    json_response(status, serde_json::json!({ "msg": text }).to_string())
}

impl WebhookService {
    /// An endpoint checking requests as `config` says and dispatching to `dispatcher`.
    #[must_use]
    pub fn new(config: EventConfig, dispatcher: Dispatcher) -> Self {
        Self {
            config: Arc::new(config),
            dispatcher,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// Uses `clock` for the freshness check (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Answers one request.
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: http_body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if request.method() != Method::POST {
            return message(
                StatusCode::METHOD_NOT_ALLOWED,
                "the platform delivers events with POST",
            );
        }
        let limit = self.config.max_body;
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if let Some(size) = declared.filter(|size| *size > limit) {
            return message(
                StatusCode::PAYLOAD_TOO_LARGE,
                &EventError::TooLarge { size, limit }.to_string(),
            );
        }
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => {
                if err.is::<http_body_util::LengthLimitError>() {
                    return message(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("the body is over the {limit}-byte limit"),
                    );
                }
                return message(
                    StatusCode::BAD_REQUEST,
                    &format!("could not read the body: {err}"),
                );
            }
        };
        let incoming = match receive(&self.config, &parts.headers, &body, (self.clock)()) {
            Ok(incoming) => incoming,
            Err(err) => {
                tracing::warn!(status = err.status(), error = %err, "webhook request refused");
                let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
                return message(status, &err.to_string());
            }
        };
        match self.dispatcher.dispatch(incoming).await {
            Dispatched::Challenge(body) => json_response(StatusCode::OK, body),
            Dispatched::Acknowledged | Dispatched::Duplicate => message(StatusCode::OK, "success"),
            Dispatched::Failed(error) => message(StatusCode::INTERNAL_SERVER_ERROR, &error),
            Dispatched::Overloaded => message(
                StatusCode::SERVICE_UNAVAILABLE,
                "the application is not keeping up; deliver again later",
            ),
            Dispatched::Card(body) => json_response(StatusCode::OK, body.to_string()),
        }
    }

    /// Serves the endpoint on `listener` (every path) until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        tokio::pin!(shutdown);
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (stream, _) = match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            tracing::warn!(error = %err, "accepting a webhook connection failed");
                            continue;
                        }
                    };
                    let service = self.clone();
                    connections.spawn(async move {
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        connections.abort_all();
        Ok(())
    }
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for WebhookService {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

/// The endpoint as an axum router, mounted at `path`.
#[cfg(feature = "axum")]
pub fn axum_router(service: WebhookService, path: &str) -> axum::Router {
    axum::Router::new().route(
        path,
        axum::routing::post(move |request: axum::extract::Request| {
            let service = service.clone();
            async move { service.handle(request).await }
        }),
    )
}
