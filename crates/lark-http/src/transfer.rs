//! Streaming transfers: uploads from a file or any `AsyncRead`, downloads to a stream of bytes
//! or to a file — in constant memory, with an optional progress callback.

use crate::client::{Client, Failure};
use crate::error::{Error, TransferLimit};
use crate::pipeline::{AnswerMeta, Attempt, Attempted, Replay};
use crate::policy::TransferTimeouts;
use crate::save::{
    Existing, MAX_NUMBERED, Partial, Saved, check_target, numbered, parent_dir, sanitize_file_name,
};
use crate::transport::TransportError;
use crate::transport::{BoxError, RequestBody, ResponseBody};
use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use lark_api::AccessToken;
use lark_api::im::resources::{UploadFile, UploadImage};
use lark_api::{
    Body, Download, DownloadHead, Endpoint, UploadData, build_request, download_head, parse_error,
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
        let head = async {
            self.call(DownloadCall { endpoint })
                .await
                .map(|(head, _)| head)
        };
        let (meta, body) = within_deadline(limits, start, None, head).await?;
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
    /// `UploadData::Stream`), reading the file part from `path`, opened anew for each attempt.
    /// A refusal before processing (429, a connection never made) is retried; a 5xx, a
    /// timeout or a dropped connection too when [`RetryPolicy::retry_uploads`] allows, since a
    /// second stored copy is harmless (its key is never used).
    ///
    /// [`RetryPolicy::retry_uploads`]: crate::RetryPolicy::retry_uploads
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
        let source = Source::<tokio::fs::File>::Path(path.to_path_buf());
        self.upload(endpoint, source, limit, progress).await
    }

    /// Uploads with `endpoint`, reading the file part from `reader` once. It cannot be sent
    /// again, so nothing is retried.
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
        let limit = FILE_MAX_BYTES.max(IMAGE_MAX_BYTES);
        self.upload(endpoint, Source::Reader(Some(reader)), limit, progress)
            .await
    }

    async fn upload<E, R>(
        &self,
        endpoint: E,
        source: Source<R>,
        limit: u64,
        progress: Option<Progress>,
    ) -> Result<E::Output, Error>
    where
        E: Endpoint + Send + Sync,
        R: AsyncRead + Send + Unpin + 'static,
    {
        let activity = Activity::new();
        let call = UploadCall {
            endpoint,
            source,
            limit,
            progress,
            activity: activity.clone(),
        };
        let upload = async { self.call(call).await.map(|(output, _)| output) };
        within_deadline(self.inner.transfer, Instant::now(), Some(&activity), upload).await
    }
}

/// A download: a GET whose answer streams.
struct DownloadCall<E> {
    endpoint: E,
}

impl<E> Attempt for DownloadCall<E>
where
    E: Endpoint<Output = Download> + Send + Sync,
{
    type Endpoint = E;
    type Output = (DownloadMeta, ResponseBody);

    fn endpoint(&self) -> &E {
        &self.endpoint
    }

    fn replay(&self) -> Replay {
        Replay::Safe
    }

    async fn once(
        &mut self,
        client: &Client,
        token: Option<&AccessToken>,
        attempt: u32,
        meta: &mut AnswerMeta,
    ) -> Attempted<Self::Output> {
        let request = match client.request_for(&self.endpoint, token) {
            Ok(request) => request,
            Err(err) => return Attempted::Fatal(err),
        };
        let response = match client.send_streaming(request).await {
            Ok(response) => response,
            Err(failure) => return Attempted::Failed(failure),
        };
        *meta = AnswerMeta::of(response.status(), response.headers());
        match download_head(response.status(), response.headers()) {
            DownloadHead::File {
                content_type,
                file_name,
                content_length,
            } => {
                let head = DownloadMeta {
                    content_type,
                    file_name,
                    content_length,
                };
                Attempted::Done((head, response.into_body()))
            }
            DownloadHead::Error => {
                let (parts, body) = response.into_parts();
                let bytes = crate::transport::read_body(body, MAX_ERROR_BODY)
                    .await
                    .unwrap_or_default();
                refusal(
                    parse_error(&http::Response::from_parts(parts, bytes)),
                    attempt,
                )
            }
        }
    }
}

/// A refusal the pipeline can act on, or an error it cannot.
fn refusal<T>(error: lark_api::Error, attempt: u32) -> Attempted<T> {
    match error {
        lark_api::Error::Api(api) => Attempted::Refused(api),
        other => Attempted::Fatal(Error::api(other, attempt)),
    }
}

/// Where an upload's file part comes from.
enum Source<R> {
    /// A file, opened anew for each attempt.
    Path(std::path::PathBuf),
    /// A reader, read once; `None` once it is spent.
    Reader(Option<R>),
}

/// An upload: a multipart body streamed from its source, within the transfer read timeout.
struct UploadCall<E, R> {
    endpoint: E,
    source: Source<R>,
    limit: u64,
    progress: Option<Progress>,
    activity: Activity,
}

impl<E, R> UploadCall<E, R>
where
    E: Endpoint + Send + Sync,
    R: AsyncRead + Send + Unpin + 'static,
{
    /// The request for one attempt, its file part read from `reader`.
    fn request<S: AsyncRead + Send + Unpin + 'static>(
        &self,
        client: &Client,
        token: Option<&AccessToken>,
        reader: S,
    ) -> Result<http::Request<RequestBody>, Error> {
        let request = build_request(&self.endpoint, client.base_url(), token)
            .map_err(|err| Error::api(err, 0))?;
        let (mut parts, body) = request.into_parts();
        let Body::Multipart(multipart) = body else {
            return Err(Error::Usage(
                "upload_from_path and upload_reader take an upload endpoint".to_owned(),
            ));
        };
        let UploadData::Stream { len } = multipart.file().clone() else {
            return Err(Error::Usage(
                "an upload read from a file or reader takes UploadData::Stream".to_owned(),
            ));
        };
        parts
            .headers
            .insert(http::header::USER_AGENT, client.user_agent());
        let body = UploadBody {
            head: Some(multipart.head().clone()),
            reader: Some(reader),
            tail: Some(multipart.tail().clone()),
            buffer: vec![0; CHUNK].into_boxed_slice(),
            sent: 0,
            expected: len,
            limit: self.limit,
            progress: self.progress.clone(),
            activity: self.activity.clone(),
        };
        Ok(http::Request::from_parts(parts, boxed(body)))
    }
}

/// Sends `request` and reads the answer, failing when nothing moves for the read timeout.
async fn send_upload<E: Endpoint + Sync>(
    endpoint: &E,
    activity: &Activity,
    client: &Client,
    request: http::Request<RequestBody>,
    attempt: u32,
    meta: &mut AnswerMeta,
) -> Attempted<E::Output> {
    let exchange = async {
        let response = client
            .inner
            .transport
            .send(request)
            .await
            .map_err(Failure::Transport)?;
        // The answer's head is here: its body gets a read timeout of its own.
        activity.touch();
        let (parts, body) = response.into_parts();
        let bytes = crate::transport::read_body(body, MAX_ERROR_BODY)
            .await
            .map_err(|source| Failure::Transport(TransportError::new(source)))?;
        Ok::<_, Failure>(http::Response::from_parts(parts, bytes))
    };
    activity.touch();
    let read = client.inner.transfer.read;
    let response = tokio::select! {
        exchanged = exchange => match exchanged {
            Ok(response) => response,
            Err(failure) => return Attempted::Failed(failure),
        },
        () = activity.stalled(read) => {
            return Attempted::Fatal(Error::TransferTimeout {
                limit: TransferLimit::Read,
                after: read,
                moved: activity.total(),
            });
        }
    };
    *meta = AnswerMeta::of(response.status(), response.headers());
    match lark_api::parse_response(endpoint, response) {
        Ok(output) => Attempted::Done(output),
        Err(error) => refusal(error, attempt),
    }
}

impl<E, R> Attempt for UploadCall<E, R>
where
    E: Endpoint + Send + Sync,
    R: AsyncRead + Send + Unpin + 'static,
{
    type Endpoint = E;
    type Output = E::Output;

    fn endpoint(&self) -> &E {
        &self.endpoint
    }

    fn replay(&self) -> Replay {
        match self.source {
            Source::Path(_) => Replay::Harmless,
            Source::Reader(_) => Replay::Impossible,
        }
    }

    async fn once(
        &mut self,
        client: &Client,
        token: Option<&AccessToken>,
        attempt: u32,
        meta: &mut AnswerMeta,
    ) -> Attempted<Self::Output> {
        let request = match &mut self.source {
            Source::Path(path) => match tokio::fs::File::open(&path).await {
                Ok(file) => self.request(client, token, file),
                Err(err) => Err(Error::io(format!("opening {}", path.display()), err)),
            },
            Source::Reader(reader) => match reader.take() {
                Some(reader) => self.request(client, token, reader),
                None => Err(Error::Usage(
                    "an upload from a reader cannot be sent twice".to_owned(),
                )),
            },
        };
        match request {
            Ok(request) => {
                send_upload(
                    &self.endpoint,
                    &self.activity,
                    client,
                    request,
                    attempt,
                    meta,
                )
                .await
            }
            Err(err) => Attempted::Fatal(err),
        }
    }
}

async fn file_len(path: &Path) -> Result<u64, Error> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| Error::io(format!("reading {}", path.display()), err))?;
    if !meta.is_file() {
        return Err(Error::io(
            format!("{} is not a file", path.display()),
            std::io::Error::from(std::io::ErrorKind::InvalidInput),
        ));
    }
    Ok(meta.len())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "file".to_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}
