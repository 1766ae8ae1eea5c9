//! Calls as values: each shortcut that takes options returns one, its methods set the options,
//! and `.await` sends it. Lists are streams that fetch their first page when first read.

use crate::Client;
use futures_core::Stream;
use lark_api::im::chats::CreateChat;
use lark_api::im::messages::{ForwardMessage, ListMessages, ReplyMessage, SendMessage};
use lark_api::{Endpoint, ItemOf, Paginated};
use lark_content::OpenId;
use lark_http::{Error, Items, Progress};
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A call ready to send. Its methods set options; `.await` sends it, with the client's
/// retries and quotas. Any option without a method is set on the endpoint itself with
/// [`map`](Self::map).
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct Call<'a, E> {
    client: &'a Client,
    endpoint: E,
}

impl<'a, E> Call<'a, E> {
    pub(crate) fn new(client: &'a Client, endpoint: E) -> Self {
        Self { client, endpoint }
    }

    /// Changes the endpoint value, for an option this call has no method for:
    /// `.map(|send| send.uuid("…"))`.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use lark::api::im::messages::SendMessage;
    ///
    /// let sent = client
    ///     .messages()
    ///     .send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "hello")
    ///     .map(|send: SendMessage| send.uuid("deploy-4711"))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn map(mut self, change: impl FnOnce(E) -> E) -> Self {
        self.endpoint = change(self.endpoint);
        self
    }

    /// The endpoint value as it stands.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let call = client.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "hello");
    /// println!("about to send {:?}", call.endpoint());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }
}

impl<'a, E> IntoFuture for Call<'a, E>
where
    E: Endpoint + Send + Sync + 'a,
    E::Output: Send,
{
    type Output = Result<E::Output, Error>;
    type IntoFuture = BoxFuture<'a, Result<E::Output, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.client.execute(self.endpoint).await })
    }
}

impl Call<'_, SendMessage> {
    /// The idempotency key (at most 50 characters). One is made for every send that has none,
    /// so a retry never posts twice; give your own to deduplicate across processes.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // Sent once, however many replicas handle the same job.
    /// client.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), "Nightly build passed").uuid("nightly-2026-12-04").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn uuid(self, uuid: impl Into<String>) -> Self {
        self.map(|send| send.uuid(uuid))
    }
}

impl Call<'_, ReplyMessage> {
    /// Replies in the message's thread, starting one if needed.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let question = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// client.messages().reply(&question, "Looking into it").in_thread().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn in_thread(self) -> Self {
        self.map(ReplyMessage::in_thread)
    }

    /// The idempotency key (at most 50 characters).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let question = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// client.messages().reply(&question, "Done").uuid("answer-om_dc1326").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn uuid(self, uuid: impl Into<String>) -> Self {
        self.map(|reply| reply.uuid(uuid))
    }
}

impl Call<'_, ForwardMessage> {
    /// The idempotency key (at most 50 characters).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// client.messages().forward(&message, lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).uuid("forward-om_dc1326").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn uuid(self, uuid: impl Into<String>) -> Self {
        self.map(|forward| forward.uuid(uuid))
    }
}

impl Call<'_, CreateChat> {
    /// Invites these users, by open_id.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use lark::OpenId;
    ///
    /// let chat = client
    ///     .chats()
    ///     .create("Incident 4711")
    ///     .members([OpenId::new("ou_7d8a6e6df7621556ce0d21922b676706")])
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn members(self, users: impl IntoIterator<Item = OpenId>) -> Self {
        self.map(|create| create.users(users))
    }

    /// The chat's description.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = client.chats().create("Incident 4711").description("Checkout is down").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn description(self, description: impl Into<String>) -> Self {
        self.map(|create| create.description(description))
    }

    /// The idempotency key: creating twice with the same key creates one chat.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// // Retried after a timeout, this still makes one chat.
    /// let chat = client.chats().create("Incident 4711").uuid("incident-4711").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn uuid(self, uuid: impl Into<String>) -> Self {
        self.map(|create| create.uuid(uuid))
    }
}

/// Every item of a list, as a stream: the request's options are set by its methods, and the
/// first page is fetched when the stream is first read.
#[must_use = "a list fetches nothing until it is read"]
pub struct List<'a, E: Paginated> {
    client: &'a Client,
    request: Option<E>,
    items: Option<Items<E>>,
}

impl<E: Paginated + std::fmt::Debug> std::fmt::Debug for List<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("List")
            .field("request", &self.request)
            .field("started", &self.items.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, E: Paginated> List<'a, E> {
    pub(crate) fn new(client: &'a Client, request: E) -> Self {
        Self {
            client,
            request: Some(request),
            items: None,
        }
    }

    /// Changes the request, for an option this list has no method for. Only before the list
    /// is first read.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// use lark::api::im::messages::ListMessages;
    ///
    /// let history: Vec<_> = client
    ///     .messages()
    ///     .history(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"))
    ///     .map(|list: ListMessages| list.between(Some(1_764_000_000), None))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn map(mut self, change: impl FnOnce(E) -> E) -> Self {
        self.request = self.request.map(change);
        self
    }
}

impl List<'_, ListMessages> {
    /// Newest first (the platform's default is oldest first).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    ///
    /// let latest = client.messages().history(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).newest_first().try_next().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn newest_first(self) -> Self {
        self.map(ListMessages::newest_first)
    }

    /// Only messages created at or after `seconds` since the epoch (chats only).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    ///
    /// let today: Vec<_> = client.messages().history(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).since(1_764_806_400).try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn since(self, seconds: i64) -> Self {
        self.map(|list| {
            let end = list.end_time;
            list.between(Some(seconds), end)
        })
    }

    /// Only messages created at or before `seconds` since the epoch (chats only).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    ///
    /// let before: Vec<_> = client.messages().history(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).until(1_764_806_400).try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn until(self, seconds: i64) -> Self {
        self.map(|list| {
            let start = list.start_time;
            list.between(start, Some(seconds))
        })
    }

    /// Items fetched per page, 1 to 50.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    ///
    /// let all: Vec<_> = client.messages().history(lark::ChatId::new("oc_5ad11d72b830411d72b836c20")).page_size(50).try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn page_size(self, size: u32) -> Self {
        self.map(|list| list.page_size(size))
    }
}

impl<E> Stream for List<'_, E>
where
    E: Paginated + Send + Sync + Unpin + 'static,
    ItemOf<E>: Send + Unpin + 'static,
{
    type Item = Result<ItemOf<E>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.items.is_none()
            && let Some(request) = this.request.take()
        {
            this.items = Some(this.client.items(request));
        }
        match this.items.as_mut() {
            Some(items) => Pin::new(items).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

/// An upload from a file, streamed from disk. `.progress(…)` reports the bytes sent;
/// `.await` sends it.
#[must_use = "an upload does nothing until it is awaited"]
pub struct Upload<'a, K> {
    client: &'a Client,
    path: PathBuf,
    progress: Option<Progress>,
    kind: std::marker::PhantomData<K>,
}

impl<K> std::fmt::Debug for Upload<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("path", &self.path)
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, K> Upload<'a, K> {
    pub(crate) fn new(client: &'a Client, path: PathBuf) -> Self {
        Self {
            client,
            path,
            progress: None,
            kind: std::marker::PhantomData,
        }
    }

    /// Reports the bytes sent, as they go.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use std::sync::Arc;
    ///
    /// let key = client
    ///     .files()
    ///     .upload("report.pdf")
    ///     .progress(Arc::new(|sent, total| eprintln!("{sent} of {total:?} bytes")))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }
}

impl<'a> IntoFuture for Upload<'a, lark_content::ImageKey> {
    type Output = Result<lark_content::ImageKey, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.client
                .http()
                .upload_image(&self.path, self.progress)
                .await
        })
    }
}

impl<'a> IntoFuture for Upload<'a, lark_content::FileKey> {
    type Output = Result<lark_content::FileKey, Error>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.client
                .http()
                .upload_file(&self.path, self.progress)
                .await
        })
    }
}
