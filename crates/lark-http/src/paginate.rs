//! Lists as lazy streams: a page is fetched only when the previous one is used up, and an
//! error ends the stream after it is yielded — none is swallowed.

use crate::client::Client;
use crate::error::Error;
use futures_core::Stream;
use lark_api::{IntoItems as _, ItemOf, Paginated};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

type PageFuture<T> = Pin<Box<dyn Future<Output = Result<(Vec<T>, Option<String>), Error>> + Send>>;

/// A stream of pages, from [`Client::pages`].
pub struct Pages<E: Paginated> {
    client: Client,
    request: E,
    fetching: Option<PageFuture<ItemOf<E>>>,
    done: bool,
}

impl<E: Paginated> std::fmt::Debug for Pages<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("fetching", &self.fetching.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<E> Pages<E>
where
    E: Paginated + Send + Sync + Unpin + 'static,
    ItemOf<E>: Send + 'static,
{
    pub(crate) fn new(client: Client, request: E) -> Self {
        Self {
            client,
            request,
            fetching: None,
            done: false,
        }
    }
}

impl<E> Stream for Pages<E>
where
    E: Paginated + Send + Sync + Unpin + 'static,
    ItemOf<E>: Send + 'static,
{
    type Item = Result<Vec<ItemOf<E>>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let future = this.fetching.get_or_insert_with(|| {
            let client = this.client.clone();
            let request = this.request.clone();
            Box::pin(async move { Ok(client.execute(request).await?.into_items()) })
        });
        let result = match future.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        this.fetching = None;
        match result {
            Ok((items, token)) => {
                match token {
                    Some(token) => this.request.set_page_token(Some(token)),
                    None => this.done = true,
                }
                Poll::Ready(Some(Ok(items)))
            }
            Err(err) => {
                this.done = true;
                Poll::Ready(Some(Err(err)))
            }
        }
    }
}

/// A stream of items, page after page, from [`Client::items`].
pub struct Items<E: Paginated> {
    pages: Pages<E>,
    buffer: VecDeque<ItemOf<E>>,
}

impl<E: Paginated> std::fmt::Debug for Items<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<E> Items<E>
where
    E: Paginated + Send + Sync + Unpin + 'static,
    ItemOf<E>: Send + 'static,
{
    pub(crate) fn new(client: Client, request: E) -> Self {
        Self {
            pages: Pages::new(client, request),
            buffer: VecDeque::new(),
        }
    }
}

impl<E> Stream for Items<E>
where
    E: Paginated + Send + Sync + Unpin + 'static,
    ItemOf<E>: Send + Unpin + 'static,
{
    type Item = Result<ItemOf<E>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            match Pin::new(&mut this.pages).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err))),
                Poll::Ready(Some(Ok(items))) => this.buffer.extend(items),
            }
        }
    }
}

impl Client {
    /// Every page of a list, fetched lazily.
    pub fn pages<E>(&self, request: E) -> Pages<E>
    where
        E: Paginated + Send + Sync + Unpin + 'static,
        ItemOf<E>: Send + 'static,
    {
        Pages::new(self.clone(), request)
    }

    /// Every item of a list, fetched a page at a time as the stream is read.
    pub fn items<E>(&self, request: E) -> Items<E>
    where
        E: Paginated + Send + Sync + Unpin + 'static,
        ItemOf<E>: Send + Unpin + 'static,
    {
        Items::new(self.clone(), request)
    }
}
