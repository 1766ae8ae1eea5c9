//! The facade's client: `lark-http`'s executor with the calls grouped by area.

use crate::areas::{Chats, Files, Images, Members, Messages};
use lark_api::{Endpoint, Paginated};
use lark_http::{Error, Items};

/// Builds a [`Client`]: the executor's builder (`lark_http::ClientBuilder`), whose `build`
/// gives this crate's client. Every setting is there, from the credentials to the retry
/// policy, quotas, proxies and shared stores (`.stores(&redis)` with the `redis` feature).
pub type ClientBuilder = lark_http::ClientBuilder<Client>;

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
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), lark::Error> {
    /// let client = lark::Client::builder()
    ///     .app("cli_a5fb0ae6a4000001", "the app secret")
    ///     .lark()
    ///     .request_timeout(std::time::Duration::from_secs(10))
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `LARK_APP_ID`, `LARK_APP_SECRET`, and `LARK_BASE_URL` or `LARK_DOMAIN`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), lark::Error> {
    /// // LARK_APP_ID, LARK_APP_SECRET; LARK_DOMAIN=lark for larksuite.com
    /// let client = lark::Client::from_env()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// Sending, replying, editing, recalling, reacting, history.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// client.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "hello").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self)
    }

    /// CardKit card entities, and streaming text into cards as it arrives.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let mut answer = client.cards().stream(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"));
    /// answer.push("Thinking…")?;
    /// answer.finish(None).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn cards(&self) -> crate::Cards<'_> {
        crate::Cards::new(self)
    }

    /// Creating, reading, updating and listing chats.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = client.chats().create("Release 2.1").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn chats(&self) -> Chats<'_> {
        Chats::new(self)
    }

    /// A chat's members.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    ///
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let members: Vec<_> = client.members().list(&chat).try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn members(&self) -> Members<'_> {
        Members::new(self)
    }

    /// Uploading and downloading images.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let key = client.images().upload("chart.png").await?;
    /// client.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), lark::MessageContent::image(key)).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn images(&self) -> Images<'_> {
        Images::new(self)
    }

    /// Uploading and downloading files, and the resources inside received messages.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let key = client.files().upload("report.pdf").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn files(&self) -> Files<'_> {
        Files::new(self)
    }

    /// Runs any endpoint, with tokens and retries.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // Any endpoint of lark::api, for calls the shortcuts do not cover.
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let link = client.execute(lark::api::im::chat_settings::ShareChat::new(chat)).await?;
    /// println!("{}", link.share_link);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute<E>(&self, endpoint: E) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
    {
        self.http.execute(endpoint).await
    }

    /// Every item of a list, fetched a page at a time as the stream is read.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let found: Vec<_> = client
    ///     .items(lark::api::im::chat_settings::SearchChats::new("incident"))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn items<E>(&self, request: E) -> Items<E>
    where
        E: Paginated + Send + Sync + Unpin + 'static,
        lark_api::ItemOf<E>: Send + Unpin + 'static,
    {
        self.http.items(request)
    }

    /// The bot's own identity: its open_id (how mentions and senders name it) and its name.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let me = client.bot_info().await?;
    /// println!("I am {} ({})", me.app_name, me.open_id);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bot_info(&self) -> Result<lark_api::bot::BotInfo, Error> {
        self.execute(lark_api::bot::GetBotInfo).await
    }

    /// A client acting as a user: the same calls, sent with the user's token. Give it a
    /// [`UserSession`](lark_http::UserSession) (see [`Client::oauth`]) for a token refreshed
    /// before it expires, or an access token obtained elsewhere, sent as given.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client, session: lark::UserSession) -> Result<(), lark::Error> {
    /// let me = client.as_user(&session);
    /// me.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "sent as me").await?;
    /// let alice = client.as_user(lark::api::AccessToken::new("u-7f1bcd13fc57d46bac21793a18e560"));
    /// alice.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "sent as Alice").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn as_user(&self, user: impl Into<lark_http::AsUser>) -> Self {
        Self {
            http: self.http.as_user(user),
        }
    }

    /// The underlying executor, for streaming transfers and everything else it offers.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // The executor itself: downloads with options, quotas, usage.
    /// let usage = client.http().usage();
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn http(&self) -> &lark_http::Client {
        &self.http
    }
}

#[cfg(all(test, feature = "redis"))]
mod tests {
    use super::*;

    #[test]
    fn replicas_share_the_stores_of_a_redis_whose_bad_url_hides_its_password() {
        let err = lark_redis::Redis::open("http://:hunter2@cache").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("not a redis url") && !text.contains("hunter2"),
            "{text}"
        );
        let redis = lark_redis::Redis::open("redis://127.0.0.1:6379/").unwrap();
        Client::builder()
            .app("cli_x", "secret")
            .stores(&redis)
            .build()
            .unwrap();
    }
}
