//! The facade's client: `lark-http`'s executor with the calls grouped by area.

use crate::areas::{Chats, Files, Images, Members, Messages};
use lark_api::{AccessToken, BaseUrl, Endpoint, Paginated};
use lark_content::{AppId, TenantKey};
use lark_http::{Error, Items, Pages, RetryPolicy, TokenPolicy, TokenStore, Transport};
use std::sync::Arc;
use std::time::Duration;

/// Builds a [`Client`].
#[derive(Debug, Default)]
#[must_use]
pub struct ClientBuilder {
    http: lark_http::ClientBuilder,
}

impl ClientBuilder {
    /// The app's credentials, from the developer console.
    pub fn app(self, app_id: impl Into<AppId>, app_secret: impl Into<lark_api::AppSecret>) -> Self {
        Self {
            http: self.http.app(app_id, app_secret),
        }
    }

    /// Feishu (open.feishu.cn), the default.
    pub fn feishu(self) -> Self {
        Self {
            http: self.http.feishu(),
        }
    }

    /// Lark (open.larksuite.com).
    pub fn lark(self) -> Self {
        Self {
            http: self.http.lark(),
        }
    }

    /// Any base url: the emulator, or a proxy in front of the platform.
    pub fn base_url(self, base: BaseUrl) -> Self {
        Self {
            http: self.http.base_url(base),
        }
    }

    /// A marketplace app acting in `tenant_key`.
    pub fn marketplace(self, tenant_key: TenantKey) -> Self {
        Self {
            http: self.http.marketplace(tenant_key),
        }
    }

    /// How long a TCP connect may take (default 10 s).
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        Self {
            http: self.http.connect_timeout(timeout),
        }
    }

    /// How long one attempt may take (default 30 s).
    pub fn request_timeout(self, timeout: Duration) -> Self {
        Self {
            http: self.http.request_timeout(timeout),
        }
    }

    /// Sends everything through an HTTP CONNECT proxy.
    pub fn proxy(self, proxy: http::Uri) -> Self {
        Self {
            http: self.http.proxy(proxy),
        }
    }

    /// The retry policy.
    pub fn retry(self, retry: RetryPolicy) -> Self {
        Self {
            http: self.http.retry(retry),
        }
    }

    /// The token policy.
    pub fn token_policy(self, policy: TokenPolicy) -> Self {
        Self {
            http: self.http.token_policy(policy),
        }
    }

    /// Shares tokens between replicas through `store`.
    pub fn token_store(self, store: Arc<dyn TokenStore>) -> Self {
        Self {
            http: self.http.token_store(store),
        }
    }

    /// Keeps marketplace app tickets in `store`.
    pub fn ticket_store(self, store: Arc<dyn lark_http::TicketStore>) -> Self {
        Self {
            http: self.http.ticket_store(store),
        }
    }

    /// Sends requests through `transport`.
    pub fn transport(self, transport: Arc<dyn Transport>) -> Self {
        Self {
            http: self.http.transport(transport),
        }
    }

    /// The `User-Agent` sent.
    pub fn user_agent(self, user_agent: impl Into<String>) -> Self {
        Self {
            http: self.http.user_agent(user_agent),
        }
    }

    /// Reads `LARK_APP_ID`, `LARK_APP_SECRET`, and `LARK_BASE_URL` or `LARK_DOMAIN`.
    pub fn from_env() -> Result<Self, Error> {
        Ok(Self {
            http: lark_http::ClientBuilder::from_env()?,
        })
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        Ok(Client {
            http: self.http.build()?,
        })
    }
}

/// A Lark / Feishu client. Cheap to clone; clones share connections and tokens.
///
/// The calls are grouped by area — [`messages`](Self::messages), [`chats`](Self::chats),
/// [`members`](Self::members), [`images`](Self::images), [`files`](Self::files) — and any
/// `lark-api` endpoint runs through [`execute`](Self::execute).
#[derive(Clone, Debug)]
pub struct Client {
    http: lark_http::Client,
}

impl From<lark_http::Client> for Client {
    fn from(http: lark_http::Client) -> Self {
        Self { http }
    }
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `LARK_APP_ID`, `LARK_APP_SECRET`, and `LARK_BASE_URL` or `LARK_DOMAIN`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// Sending, replying, editing, recalling, reacting, history.
    #[must_use]
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self)
    }

    /// Creating, reading, updating and listing chats.
    #[must_use]
    pub fn chats(&self) -> Chats<'_> {
        Chats::new(self)
    }

    /// A chat's members.
    #[must_use]
    pub fn members(&self) -> Members<'_> {
        Members::new(self)
    }

    /// Uploading and downloading images.
    #[must_use]
    pub fn images(&self) -> Images<'_> {
        Images::new(self)
    }

    /// Uploading and downloading files, and the resources inside received messages.
    #[must_use]
    pub fn files(&self) -> Files<'_> {
        Files::new(self)
    }

    /// Runs any endpoint, with tokens and retries.
    pub async fn execute<E>(&self, endpoint: E) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
    {
        self.http.execute(endpoint).await
    }

    /// Every item of a list, fetched a page at a time as the stream is read.
    pub fn items<E>(&self, request: E) -> Items<E>
    where
        E: Paginated + Send + Sync + Unpin + 'static,
        E::Item: Send + Unpin + 'static,
    {
        self.http.items(request)
    }

    /// Every page of a list, fetched lazily.
    pub fn pages<E>(&self, request: E) -> Pages<E>
    where
        E: Paginated + Send + Sync + Unpin + 'static,
        E::Item: Send + 'static,
    {
        self.http.pages(request)
    }

    /// The tenant access token, from the cache when fresh.
    pub async fn tenant_token(&self) -> Result<AccessToken, Error> {
        self.http.tenant_token().await
    }

    /// A client acting as a user, with `token`.
    #[must_use]
    pub fn as_user(&self, token: AccessToken) -> Self {
        Self {
            http: self.http.as_user(token),
        }
    }

    /// The app id.
    #[must_use]
    pub fn app_id(&self) -> &AppId {
        self.http.app_id()
    }

    /// The underlying executor, for streaming transfers and everything else it offers.
    #[must_use]
    pub fn http(&self) -> &lark_http::Client {
        &self.http
    }
}
