//! Streaming transfers: uploads from a file or any `AsyncRead`, downloads to a stream of bytes
//! or to a file — in constant memory, with an optional progress callback.

use crate::client::Client;
use crate::error::{Error, TransferLimit};
use crate::policy::TransferTimeouts;
use crate::save::{
    Existing, MAX_NUMBERED, Partial, Saved, check_target, numbered, parent_dir, sanitize_file_name,
};
use crate::transport::{BoxError, RequestBody, ResponseBody};
use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use lark_api::im::resources::{UploadFile, UploadImage};
use lark_api::{
    Body, Download, DownloadHead, Endpoint, ErrorKind, UploadData, build_request, download_head,
    parse_error,
};
use lark_content::limits::{FILE_MAX_BYTES, IMAGE_MAX_BYTES};
use lark_content::{FileKey, ImageKey};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, Sleep, sleep_until};

/// Called with the bytes moved so far and the total when known.
pub type Progress = Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

const CHUNK: usize = 64 * 1024;

/// The largest error body read from a failed download.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// A multipart body whose file part is read from `reader` as the request is sent.
struct UploadBody<R> {
    head: Option<Bytes>,
    reader: Option<R>,
    tail: Option<Bytes>,
    buffer: Box<[u8]>,
    sent: u64,
    expected: Option<u64>,
    limit: u64,
    progress: Option<Progress>,
    activity: Activity,
}

/// When bytes last moved, and how many have: a transfer's read timeout watches it.
#[derive(Clone)]
struct Activity(Arc<ActivityInner>);

struct ActivityInner {
    start: Instant,
    /// Milliseconds from `start` to the last move.
    last: AtomicU64,
    moved: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self(Arc::new(ActivityInner {
            start: Instant::now(),
            last: AtomicU64::new(0),
            moved: AtomicU64::new(0),
        }))
    }

    fn millis_since_start(&self) -> u64 {
        u64::try_from(self.0.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Notes that `bytes` moved now.
    fn moved(&self, bytes: u64) {
        self.0.moved.fetch_add(bytes, Ordering::Relaxed);
        self.0
            .last
            .store(self.millis_since_start(), Ordering::Release);
    }

    /// Notes progress without bytes: a new phase, such as waiting for the answer, starts now.
    fn touch(&self) {
        self.moved(0);
    }

    fn total(&self) -> u64 {
        self.0.moved.load(Ordering::Relaxed)
    }

    /// Ends once nothing has moved for `limit`.
    async fn stalled(&self, limit: Duration) {
        loop {
            let last = self.0.last.load(Ordering::Acquire);
            let at = self.0.start + Duration::from_millis(last);
            sleep_until(later(at, limit)).await;
            if self.0.last.load(Ordering::Acquire) == last {
                return;
            }
        }
    }
}

/// `at + after`, or a time far enough away to mean never.
fn later(at: Instant, after: Duration) -> Instant {
    at.checked_add(after)
        .or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(at)
}

/// Runs `work` within the transfer deadline that started at `start`.
async fn within_deadline<T>(
    limits: TransferTimeouts,
    start: Instant,
    activity: Option<&Activity>,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout_at(later(start, limits.deadline), work)
        .await
        .unwrap_or_else(|_| {
            Err(Error::TransferTimeout {
                limit: TransferLimit::Deadline,
                after: limits.deadline,
                moved: activity.map_or(0, Activity::total),
            })
        })
}

#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error(
        "the file ended after {read} bytes, but {expected} were announced; it changed while being sent"
    )]
    Shorter { read: u64, expected: u64 },
    #[error("the file is longer than the {expected} bytes announced; it changed while being sent")]
    Longer { expected: u64 },
    #[error("the upload passed the platform's limit of {limit} bytes")]
    OverLimit { limit: u64 },
}

impl<R: AsyncRead + Unpin> HttpBody for UploadBody<R> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if let Some(reader) = this.reader.as_mut() {
            let mut read_buf = ReadBuf::new(&mut this.buffer);
            match Pin::new(reader).poll_read(cx, &mut read_buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(err)) => return Poll::Ready(Some(Err(Box::new(err)))),
                Poll::Ready(Ok(())) => {
                    let filled = read_buf.filled().len();
                    if filled > 0 {
                        let chunk = Bytes::copy_from_slice(read_buf.filled());
                        this.sent += chunk.len() as u64;
                        if let Some(expected) = this.expected
                            && this.sent > expected
                        {
                            return Poll::Ready(Some(Err(Box::new(UploadError::Longer {
                                expected,
                            }))));
                        }
                        if this.sent > this.limit {
                            return Poll::Ready(Some(Err(Box::new(UploadError::OverLimit {
                                limit: this.limit,
                            }))));
                        }
                        this.activity.moved(chunk.len() as u64);
                        if let Some(progress) = &this.progress {
                            progress(this.sent, this.expected);
                        }
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                    this.reader = None;
                    if let Some(expected) = this.expected
                        && this.sent < expected
                    {
                        return Poll::Ready(Some(Err(Box::new(UploadError::Shorter {
                            read: this.sent,
                            expected,
                        }))));
                    }
                }
            }
        }
        match this.tail.take() {
            Some(tail) => Poll::Ready(Some(Ok(Frame::data(tail)))),
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let fixed = self.head.as_ref().map_or(0, |b| b.len() as u64)
            + self.tail.as_ref().map_or(0, |b| b.len() as u64);
        match (&self.reader, self.expected) {
            (None, _) => http_body::SizeHint::with_exact(fixed),
            (Some(_), Some(expected)) => {
                http_body::SizeHint::with_exact(fixed + expected.saturating_sub(self.sent))
            }
            (Some(_), None) => http_body::SizeHint::default(),
        }
    }
}

/// What a download is, read from its head.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadMeta {
    /// The `Content-Type`.
    pub content_type: Option<String>,
    /// The file name from `Content-Disposition`.
    pub file_name: Option<String>,
    /// The `Content-Length`.
    pub content_length: Option<u64>,
}

/// A download's bytes as they arrive, within the client's [`TransferTimeouts`]: the wait for
/// each chunk is bounded by the read timeout, and the whole stream by the deadline that
/// started when the download was asked for. Time the caller spends between polls counts
/// toward the deadline only.
pub struct DownloadStream {
    /// What is being downloaded.
    pub meta: DownloadMeta,
    body: ResponseBody,
    received: u64,
    progress: Option<Progress>,
    /// The host it comes from, for errors.
    host: String,
    limits: TransferTimeouts,
    deadline: Pin<Box<Sleep>>,
    read: Pin<Box<Sleep>>,
    /// Whether `read` is running for the chunk being waited for.
    waiting: bool,
    /// A limit was passed or the body failed: nothing more comes.
    ended: bool,
}

impl std::fmt::Debug for DownloadStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadStream")
            .field("meta", &self.meta)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl Stream for DownloadStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        if !this.waiting {
            let at = later(Instant::now(), this.limits.read);
            this.read.as_mut().reset(at);
            this.waiting = true;
        }
        loop {
            if this.deadline.is_elapsed() {
                return Poll::Ready(Some(Err(this.passed(TransferLimit::Deadline))));
            }
            return match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => {
                    if this.deadline.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Some(Err(this.passed(TransferLimit::Deadline))))
                    } else if this.read.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Some(Err(this.passed(TransferLimit::Read))))
                    } else {
                        Poll::Pending
                    }
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    Poll::Ready(None)
                }
                Poll::Ready(Some(Err(err))) => {
                    this.ended = true;
                    Poll::Ready(Some(Err(Error::transport(&this.host, err, 1))))
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.waiting = false;
                        this.received += data.len() as u64;
                        if let Some(progress) = &this.progress {
                            progress(this.received, this.meta.content_length);
                        }
                        Poll::Ready(Some(Ok(data)))
                    }
                    Err(_) => continue,
                },
            };
        }
    }
}

impl DownloadStream {
    fn passed(&mut self, limit: TransferLimit) -> Error {
        self.ended = true;
        Error::TransferTimeout {
            limit,
            after: match limit {
                TransferLimit::Deadline => self.limits.deadline,
                _ => self.limits.read,
            },
            moved: self.received,
        }
    }
}

/// Writes the whole stream into a new temporary file in `dir`; returns it and its size. On
/// failure the temporary file is removed.
async fn write_partial(stream: &mut DownloadStream, dir: &Path) -> Result<(Partial, u64), Error> {
    let (partial, mut file) = Partial::create(dir).await?;
    let mut bytes = 0u64;
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|err| Error::io(format!("writing {}", partial.path().display()), err))?;
    }
    file.flush()
        .await
        .map_err(|err| Error::io(format!("writing {}", partial.path().display()), err))?;
    file.sync_all()
        .await
        .map_err(|err| Error::io(format!("writing {}", partial.path().display()), err))?;
    Ok((partial, bytes))
}

fn boxed<B>(body: B) -> RequestBody
where
    B: HttpBody<Data = Bytes, Error = BoxError> + Send + 'static,
{
    body.boxed_unsync()
}

impl Client {
    /// Starts a download and returns its bytes as a stream. A GET, so a failure before the
    /// first byte is retried by the retry policy, within the transfer deadline
    /// ([`TransferTimeouts`]), which also bounds the stream.
    pub async fn download<E>(
        &self,
        endpoint: E,
        progress: Option<Progress>,
    ) -> Result<DownloadStream, Error>
    where
        E: Endpoint<Output = Download> + Send + Sync,
    {
        let limits = self.inner.transfer;
        let start = Instant::now();
        let (meta, body) =
            within_deadline(limits, start, None, self.download_head(endpoint)).await?;
        Ok(DownloadStream {
            meta,
            body,
            received: 0,
            progress,
            host: self.inner.base.host().to_owned(),
            limits,
            deadline: Box::pin(sleep_until(later(start, limits.deadline))),
            read: Box::pin(sleep_until(later(start, limits.read))),
            waiting: false,
            ended: false,
        })
    }

    /// Asks for a download until its head arrives, retrying as the policy says.
    async fn download_head<E>(&self, endpoint: E) -> Result<(DownloadMeta, ResponseBody), Error>
    where
        E: Endpoint<Output = Download> + Send + Sync,
    {
        let retry = self.retry_policy().clone();
        let mut attempt = 0u32;
        let mut replayed = false;
        loop {
            attempt += 1;
            let token = self.token_for_streaming(E::AUTH).await?;
            let request = build_request(&endpoint, self.base_url(), token.as_ref())
                .map_err(|err| Error::api(err, 0))?;
            let request = self.prepare(request)?;
            let failure = match self.send_streaming(request).await {
                Ok(response) => match download_head(response.status(), response.headers()) {
                    DownloadHead::File {
                        content_type,
                        file_name,
                        content_length,
                    } => {
                        let meta = DownloadMeta {
                            content_type,
                            file_name,
                            content_length,
                        };
                        return Ok((meta, response.into_body()));
                    }
                    DownloadHead::Error => {
                        let (parts, body) = response.into_parts();
                        let bytes = crate::transport::read_body(body, MAX_ERROR_BODY)
                            .await
                            .unwrap_or_default();
                        let error = parse_error(&http::Response::from_parts(parts, bytes));
                        let Some(api) = error.as_api() else {
                            return Err(Error::api(error, attempt));
                        };
                        let kind = api.kind();
                        if kind == ErrorKind::TokenInvalid && !replayed && token.is_some() {
                            replayed = true;
                            self.refresh_tenant_token(token.as_ref()).await;
                            attempt -= 1;
                            continue;
                        }
                        let transient = matches!(kind, ErrorKind::Server | ErrorKind::RateLimited);
                        if transient && attempt < retry.max_attempts {
                            let wait = retry.rate_limit_wait(
                                api.retry_after(),
                                attempt,
                                self.next_random(),
                            );
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        return Err(Error::api(error, attempt));
                    }
                },
                Err(failure) => failure,
            };
            if attempt >= retry.max_attempts {
                return Err(failure.into_error(
                    self.inner.base.host(),
                    self.inner.request_timeout,
                    attempt,
                ));
            }
            tokio::time::sleep(retry.backoff(attempt, self.next_random())).await;
        }
    }

    /// Downloads into `path`, which must not exist yet ([`Existing::Refuse`]); see
    /// [`download_to_file_with`](Self::download_to_file_with).
    pub async fn download_to_file<E>(
        &self,
        endpoint: E,
        path: impl AsRef<Path>,
        progress: Option<Progress>,
    ) -> Result<Saved, Error>
    where
        E: Endpoint<Output = Download> + Send + Sync,
    {
        self.download_to_file_with(endpoint, path, Existing::Refuse, progress)
            .await
    }

    /// Downloads into `path`. The bytes go to a temporary file created new beside it, which
    /// takes the name only once complete: a failed download leaves nothing behind, and a
    /// planted link is never written through. A symbolic link, a directory or a device at
    /// `path` is refused before anything is downloaded; an existing regular file is replaced
    /// only with [`Existing::Replace`].
    pub async fn download_to_file_with<E>(
        &self,
        endpoint: E,
        path: impl AsRef<Path>,
        existing: Existing,
        progress: Option<Progress>,
    ) -> Result<Saved, Error>
    where
        E: Endpoint<Output = Download> + Send + Sync,
    {
        let path = path.as_ref();
        check_target(path, existing)?;
        let mut stream = self.download(endpoint, progress).await?;
        let (mut partial, bytes) = write_partial(&mut stream, &parent_dir(path)).await?;
        partial.place(path, existing)?;
        Ok(Saved {
            path: path.to_path_buf(),
            bytes,
            meta: stream.meta.clone(),
        })
    }

    /// Downloads into the directory `dir`, under the name the platform gives the file (made
    /// safe with [`sanitize_file_name`]; `fallback` when it gives none). A name that is taken
    /// gets a number, `name (1).ext`: nothing in `dir` is ever replaced.
    pub async fn download_into_dir<E>(
        &self,
        endpoint: E,
        dir: impl AsRef<Path>,
        fallback: &str,
        progress: Option<Progress>,
    ) -> Result<Saved, Error>
    where
        E: Endpoint<Output = Download> + Send + Sync,
    {
        let dir = dir.as_ref();
        let mut stream = self.download(endpoint, progress).await?;
        let name = stream
            .meta
            .file_name
            .as_deref()
            .and_then(sanitize_file_name)
            .or_else(|| sanitize_file_name(fallback))
            .unwrap_or_else(|| "download".to_owned());
        let (mut partial, bytes) = write_partial(&mut stream, dir).await?;
        for n in 0..MAX_NUMBERED {
            let path = dir.join(numbered(&name, n));
            match partial.place(&path, Existing::Refuse) {
                Ok(()) => {
                    return Ok(Saved {
                        path,
                        bytes,
                        meta: stream.meta.clone(),
                    });
                }
                Err(Error::Io { error, .. })
                    if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
        Err(Error::io(
            format!("naming the download in {}", dir.display()),
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{name} and {MAX_NUMBERED} numbered names after it are all taken"),
            ),
        ))
    }

    /// Uploads the file at `path` for sending as a `file`, `audio` (`.opus`) or `media` (`.mp4`)
    /// message; its type follows from its extension. Streamed from disk.
    pub async fn upload_file(
        &self,
        path: impl AsRef<Path>,
        progress: Option<Progress>,
    ) -> Result<FileKey, Error> {
        let path = path.as_ref();
        let len = file_len(path).await?;
        let name = file_name(path);
        let endpoint = UploadFile::new(name, UploadData::Stream { len: Some(len) });
        self.upload_from_path(endpoint, path, FILE_MAX_BYTES, progress)
            .await
    }

    /// Uploads the image at `path` for sending in messages. Streamed from disk.
    pub async fn upload_image(
        &self,
        path: impl AsRef<Path>,
        progress: Option<Progress>,
    ) -> Result<ImageKey, Error> {
        let path = path.as_ref();
        let len = file_len(path).await?;
        let endpoint = UploadImage::new(file_name(path), UploadData::Stream { len: Some(len) });
        self.upload_from_path(endpoint, path, IMAGE_MAX_BYTES, progress)
            .await
    }

    /// Uploads with `endpoint` (an [`UploadFile`] or [`UploadImage`] whose data is
    /// `UploadData::Stream`), reading the file part from `path`. The file is opened anew for
    /// each attempt; only failures that certainly sent nothing, and refused tokens, are retried,
    /// since an upload is not idempotent.
    pub async fn upload_from_path<E>(
        &self,
        endpoint: E,
        path: &Path,
        limit: u64,
        progress: Option<Progress>,
    ) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
    {
        let limits = self.inner.transfer;
        let activity = Activity::new();
        let attempts = async {
            let mut attempt = 0u32;
            let mut replayed = false;
            loop {
                attempt += 1;
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|err| Error::io(format!("opening {}", path.display()), err))?;
                match self
                    .upload_once(&endpoint, file, limit, progress.clone(), attempt, &activity)
                    .await
                {
                    Err(Error::TokenRejected { .. }) if !replayed => {
                        replayed = true;
                        attempt -= 1;
                    }
                    Err(Error::Transport {
                        source, attempts, ..
                    }) if attempts < self.retry_policy().max_attempts
                        && source.downcast_ref::<NotSent>().is_some() =>
                    {
                        let wait = self.retry_policy().backoff(attempt, self.next_random());
                        sleep_until(later(Instant::now(), wait)).await;
                    }
                    other => return other,
                }
            }
        };
        within_deadline(limits, Instant::now(), Some(&activity), attempts).await
    }

    /// Uploads with `endpoint`, reading the file part from `reader` once. Not retried: a reader
    /// cannot be rewound.
    pub async fn upload_reader<E, R>(
        &self,
        endpoint: E,
        reader: R,
        progress: Option<Progress>,
    ) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
        R: AsyncRead + Send + Unpin + 'static,
    {
        let activity = Activity::new();
        let once = self.upload_once(
            &endpoint,
            reader,
            FILE_MAX_BYTES.max(IMAGE_MAX_BYTES),
            progress,
            1,
            &activity,
        );
        within_deadline(self.inner.transfer, Instant::now(), Some(&activity), once).await
    }

    async fn upload_once<E, R>(
        &self,
        endpoint: &E,
        reader: R,
        limit: u64,
        progress: Option<Progress>,
        attempt: u32,
        activity: &Activity,
    ) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
        R: AsyncRead + Send + Unpin + 'static,
    {
        let token = self.token_for_streaming(E::AUTH).await?;
        let request = build_request(endpoint, self.base_url(), token.as_ref())
            .map_err(|err| Error::api(err, 0))?;
        let (mut parts, body) = request.into_parts();
        let Body::Multipart(multipart) = body else {
            return Err(Error::Config(
                "upload_from_path and upload_reader take an upload endpoint".to_owned(),
            ));
        };
        let UploadData::Stream { len } = multipart.file().clone() else {
            return Err(Error::Config(
                "an upload read from a file or reader takes UploadData::Stream".to_owned(),
            ));
        };
        parts
            .headers
            .insert(http::header::USER_AGENT, self.user_agent());
        let body = UploadBody {
            head: Some(multipart.head().clone()),
            reader: Some(reader),
            tail: Some(multipart.tail().clone()),
            buffer: vec![0; CHUNK].into_boxed_slice(),
            sent: 0,
            expected: len,
            limit,
            progress,
            activity: activity.clone(),
        };
        let request = http::Request::from_parts(parts, boxed(body));
        let host = self.inner.base.host();
        let exchange = async {
            let response = match self.inner.transport.send(request).await {
                Ok(response) => response,
                Err(err) if err.not_sent => {
                    return Err(Error::transport(
                        host,
                        Box::new(NotSent(err.source.to_string())),
                        attempt,
                    ));
                }
                Err(err) => return Err(Error::transport(host, err.source, attempt)),
            };
            // The answer's head is here: its body gets a read timeout of its own.
            activity.touch();
            let (parts, body) = response.into_parts();
            let bytes = crate::transport::read_body(body, MAX_ERROR_BODY)
                .await
                .map_err(|source| Error::transport(host, source, attempt))?;
            Ok((parts, bytes))
        };
        activity.touch();
        let read = self.inner.transfer.read;
        let (parts, bytes) = tokio::select! {
            exchanged = exchange => exchanged?,
            () = activity.stalled(read) => {
                return Err(Error::TransferTimeout {
                    limit: TransferLimit::Read,
                    after: read,
                    moved: activity.total(),
                });
            }
        };
        match lark_api::parse_response(endpoint, http::Response::from_parts(parts, bytes)) {
            Err(lark_api::Error::Api(api))
                if api.kind() == ErrorKind::TokenInvalid && token.is_some() =>
            {
                self.refresh_tenant_token(token.as_ref()).await;
                Err(Error::TokenRejected {
                    code: api.code,
                    log_id: api.log_id,
                })
            }
            other => other.map_err(|err| Error::api(err, attempt)),
        }
    }

    /// Forgets a refused tenant token so the next call fetches a new one.
    async fn refresh_tenant_token(&self, token: Option<&lark_api::AccessToken>) {
        if let Some(token) = token {
            self.forget_tenant_token(token).await;
        }
    }
}

/// A transport failure that certainly sent nothing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NotSent(String);

async fn file_len(path: &Path) -> Result<u64, Error> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| Error::io(format!("reading {}", path.display()), err))?;
    if !meta.is_file() {
        return Err(Error::Config(format!("{} is not a file", path.display())));
    }
    Ok(meta.len())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "file".to_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}
