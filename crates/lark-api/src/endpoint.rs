//! The [`Endpoint`] trait and the two pure functions that go with it: [`build_request`] turns a
//! request value into an `http::Request`, and [`parse_response`] turns an `http::Response` into
//! the typed answer. Neither does any I/O.

use crate::answer::Answer;
use crate::base_url::BaseUrl;
use crate::error::{ApiError, BuildError, DecodeError, Error, ErrorDetail, RateLimit};
use crate::multipart::Multipart;
use crate::secret::AccessToken;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::time::Duration;

/// Which token an endpoint is called with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Auth {
    /// A tenant access token (the bot acting in a tenant). A user token also works where the
    /// platform allows it.
    Tenant,
    /// An app access token.
    App,
    /// A user access token.
    User,
    /// No token: the token endpoints themselves.
    None,
}

/// A request body.
#[derive(Debug)]
#[non_exhaustive]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON body (`application/json; charset=utf-8`).
    Json(Bytes),
    /// A `multipart/form-data` upload, whose file part may come from a stream.
    Multipart(Multipart),
}

impl Body {
    /// The whole body in memory, when it is. A multipart upload whose file part streams has no
    /// such form: its bytes come from the caller.
    #[must_use]
    pub fn to_bytes(&self) -> Option<Bytes> {
        match self {
            Self::Empty => Some(Bytes::new()),
            Self::Json(bytes) => Some(bytes.clone()),
            Self::Multipart(multipart) => multipart.to_bytes(),
        }
    }

    /// A JSON body from a serializable value.
    pub(crate) fn json<T: serde::Serialize>(value: &T) -> Self {
        // Request bodies are plain structs of strings, numbers, booleans and lists; serializing
        // them cannot fail.
        Self::Json(Bytes::from(
            serde_json::to_vec(value).expect("request bodies always serialize to JSON"),
        ))
    }
}

/// Query parameters, in the order they were added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(&'static str, String)>,
}

impl Query {
    /// Adds a parameter.
    pub fn push(&mut self, key: &'static str, value: impl Into<String>) {
        self.pairs.push((key, value.into()));
    }

    /// Adds a parameter as its value's text, when there is a value: an id type, say.
    pub fn push_display(&mut self, key: &'static str, value: Option<impl std::fmt::Display>) {
        if let Some(value) = value {
            self.push(key, value.to_string());
        }
    }

    /// Adds a list's `page_size` and `page_token`, those that are set.
    pub fn page(&mut self, page_size: Option<u32>, page_token: Option<&str>) {
        self.push_display("page_size", page_size);
        self.push_display("page_token", page_token);
    }

    /// The parameters.
    #[must_use]
    pub fn pairs(&self) -> &[(&'static str, String)] {
        &self.pairs
    }

    /// The encoded query string, without the leading `?`.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.encode_into(&mut out);
        out
    }

    /// [`encode`](Self::encode), appended to `out`.
    fn encode_into(&self, out: &mut String) {
        for (index, (key, value)) in self.pairs.iter().enumerate() {
            if index > 0 {
                out.push('&');
            }
            percent_encode_into(out, key);
            out.push('=');
            percent_encode_into(out, value);
        }
    }
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
pub(crate) fn percent_encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unreserved =
        |byte: &u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
    // Runs of unreserved characters are copied whole; every other byte, including each byte
    // of a character beyond ASCII, is escaped. A run that is not empty is ASCII, so its ends
    // are character boundaries and it is a slice of the text.
    let bytes = value.as_bytes();
    let mut start = 0;
    loop {
        let end = bytes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .position(|byte| !unreserved(byte))
            .map_or(bytes.len(), |run| start + run);
        out.push_str(value.get(start..end).unwrap_or_default());
        let Some(&byte) = bytes.get(end) else {
            break;
        };
        out.push('%');
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xF)]));
        start = end + 1;
    }
}

/// A path segment with everything but unreserved characters percent-encoded, so that an id can
/// never change the path it is put in.
#[must_use]
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    percent_encode_into(&mut out, value);
    out
}

/// The ids that fill a path template's `:name` segments, in their order (at most three).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathIds<'a> {
    ids: [&'a str; 3],
    len: usize,
}

impl<'a> PathIds<'a> {
    /// A path with no ids.
    pub const NONE: Self = Self {
        ids: [""; 3],
        len: 0,
    };

    /// One id.
    #[must_use]
    pub fn one(id: &'a str) -> Self {
        Self {
            ids: [id, "", ""],
            len: 1,
        }
    }

    /// Two ids, in the template's order.
    #[must_use]
    pub fn two(first: &'a str, second: &'a str) -> Self {
        Self {
            ids: [first, second, ""],
            len: 2,
        }
    }

    /// Up to three ids, in the template's order; any after the third are left out, and the
    /// template's segments they would fill stay empty, which [`build_request`] refuses.
    #[must_use]
    pub fn of(ids: &[&'a str]) -> Self {
        let mut out = Self::NONE;
        for (slot, id) in out.ids.iter_mut().zip(ids) {
            *slot = id;
        }
        out.len = ids.len().min(3);
        out
    }

    /// The ids.
    #[must_use]
    pub fn as_slice(&self) -> &[&'a str] {
        &self.ids[..self.len]
    }
}

/// Fills `template`'s `:name` segments with `ids`, each percent-encoded, in order. A segment
/// with no id left is filled empty, which [`build_request`] then refuses.
#[must_use]
pub fn fill_path(template: &'static str, ids: PathIds<'_>) -> Cow<'static, str> {
    if ids.len == 0 && !template.contains("/:") {
        return Cow::Borrowed(template);
    }
    let mut out = String::with_capacity(template.len() + 48);
    let mut next = ids.as_slice().iter();
    for (index, part) in template.split('/').enumerate() {
        if index > 0 {
            out.push('/');
        }
        if part.starts_with(':') {
            if let Some(id) = next.next() {
                percent_encode_into(&mut out, id);
            }
        } else {
            out.push_str(part);
        }
    }
    Cow::Owned(out)
}

/// Refuses an id that would change which resource the path names: an empty one (the path
/// would name the collection above it) or one of dots only (`.` and `..` are path steps, and
/// percent-encoding leaves dots as they are).
fn check_path_ids(template: &'static str, path: &str) -> Result<(), BuildError> {
    if !template.contains("/:") {
        return Ok(());
    }
    for (name, value) in template.split('/').zip(path.split('/')) {
        let Some(field) = name.strip_prefix(':') else {
            continue;
        };
        if value.is_empty() {
            return Err(BuildError::InvalidParam {
                field,
                reason: "is empty; pass the id the platform returned".to_owned(),
            });
        }
        if value.bytes().all(|b| b == b'.') {
            return Err(BuildError::InvalidParam {
                field,
                reason: format!(
                    "is `{value}`, which would name another path; pass the id the platform returned"
                ),
            });
        }
    }
    Ok(())
}

/// A resource with a quota of its own on the platform (docs/protocol.md §4.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QuotaScope {
    /// Messages to one user or into one chat, as `receive_id_type:receive_id`: 5 a second,
    /// shared by every bot sending there (code 230020 beyond it).
    Receiver(String),
    /// Operations on one card entity, by card id: 10 a second.
    Card(String),
}

/// One platform endpoint: a request value that knows its method, path, query, body and token,
/// and how to read the answer.
pub trait Endpoint {
    /// What a successful call returns.
    type Output;

    /// The shape of the answer, which reads it into [`Output`](Self::Output):
    /// [`Data`](crate::answer::Data), [`PageOf`](crate::answer::PageOf),
    /// [`Nothing`](crate::answer::Nothing), [`TopLevel`](crate::answer::TopLevel),
    /// [`File`](crate::answer::File), or one of the endpoint's own.
    type Answer: Answer<Output = Self::Output>;

    /// The HTTP method.
    const METHOD: Method;

    /// The path template, e.g. `/open-apis/im/v1/messages/:message_id`. Used for tracing, where
    /// the filled path would leak ids into metrics.
    const PATH: &'static str;

    /// Which token the endpoint is called with.
    const AUTH: Auth = Auth::Tenant;

    /// The ids that fill [`PATH`](Self::PATH)'s `:name` segments, in order; none by default.
    fn path_ids(&self) -> PathIds<'_> {
        PathIds::NONE
    }

    /// The filled path: by default [`PATH`](Self::PATH) with [`path_ids`](Self::path_ids) in
    /// place of its `:name` segments.
    fn path(&self) -> Cow<'static, str> {
        fill_path(Self::PATH, self.path_ids())
    }

    /// Adds the query parameters.
    fn query(&self, _query: &mut Query) {}

    /// For a list endpoint, the page it asks for, which [`build_request`] checks and adds to
    /// the query after [`query`](Self::query)'s parameters; `None` (the default) otherwise.
    fn page(&self) -> Option<crate::pagination::PageRequest<'_>> {
        None
    }

    /// Adds extra headers.
    fn headers(&self, _headers: &mut HeaderMap) {}

    /// The body. Invalid input is reported here, before anything is sent.
    fn body(&self) -> Result<Body, BuildError> {
        Ok(Body::Empty)
    }

    /// Whether sending the request twice has the effect of sending it once: true for reads, and
    /// for writes that carry an idempotency `uuid`.
    fn is_idempotent(&self) -> bool {
        Self::METHOD == Method::GET
    }

    /// The request's idempotency key, for the endpoints that take one (send, reply, forward,
    /// merge forward, chat creation). An executor fills an empty one before the first attempt,
    /// so that a retry can never act twice.
    fn idempotency_key(&mut self) -> Option<&mut Option<String>> {
        None
    }

    /// The resource the platform's per-resource quotas count this call against, beside the
    /// per-app quota every API has: the receiver of a send (5 a second per user or chat), or a
    /// card entity (10 operations a second). None for most calls.
    fn quota_scope(&self) -> Option<QuotaScope> {
        None
    }

    /// Reads the answer, by default as [`Answer`](Self::Answer) says.
    fn parse(&self, response: http::Response<Bytes>) -> Result<Self::Output, Error> {
        Self::Answer::read(response)
    }
}

/// Builds the `http::Request` for `endpoint`, against `base`, with `token` when the endpoint
/// needs one.
///
/// ```
/// use lark_api::{BaseUrl, build_request, im::messages::SendMessage, Receiver};
/// use lark_content::{ChatId, MessageContent};
///
/// let send = SendMessage::new(Receiver::chat(ChatId::new("oc_1")), MessageContent::text("hi"));
/// let token = lark_api::AccessToken::new("t-example");
/// let request = build_request(&send, &BaseUrl::feishu(), Some(&token))?;
/// assert_eq!(request.uri(), "https://open.feishu.cn/open-apis/im/v1/messages?receive_id_type=chat_id");
/// # Ok::<(), lark_api::BuildError>(())
/// ```
pub fn build_request<E: Endpoint>(
    endpoint: &E,
    base: &BaseUrl,
    token: Option<&AccessToken>,
) -> Result<http::Request<Body>, BuildError> {
    let path = endpoint.path();
    check_path_ids(E::PATH, &path)?;
    let body = endpoint.body()?;
    let mut query = Query::default();
    endpoint.query(&mut query);
    if let Some(page) = endpoint.page() {
        page.check()?;
        query.page(page.size, page.token);
    }
    let prefix = base.path_prefix();
    let mut path_and_query = String::with_capacity(prefix.len() + path.len() + 64);
    path_and_query.push_str(prefix);
    path_and_query.push_str(&path);
    if !query.pairs.is_empty() {
        path_and_query.push('?');
        query.encode_into(&mut path_and_query);
    }
    let invalid_url = |err: http::Error| {
        BuildError::http_because(format!("the url for {} is not valid", E::PATH), err)
    };
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(base.scheme().clone());
    uri.authority = Some(base.authority().clone());
    uri.path_and_query = Some(
        http::uri::PathAndQuery::try_from(path_and_query).map_err(|err| invalid_url(err.into()))?,
    );
    let uri = http::Uri::from_parts(uri).map_err(|err| invalid_url(err.into()))?;

    let mut headers = HeaderMap::with_capacity(4);
    if E::AUTH != Auth::None {
        let token = token.ok_or(BuildError::MissingToken { endpoint: E::PATH })?;
        let value = token.bearer().ok_or_else(|| {
            BuildError::http("the access token holds characters a header cannot carry")
        })?;
        headers.insert(AUTHORIZATION, value);
    }
    match &body {
        Body::Empty => {}
        Body::Json(bytes) => {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            headers.insert(CONTENT_LENGTH, length_value(bytes.len() as u64));
        }
        Body::Multipart(multipart) => {
            let content_type = HeaderValue::try_from(multipart.content_type()).map_err(|err| {
                BuildError::http_because("the multipart boundary is not a valid header value", err)
            })?;
            headers.insert(CONTENT_TYPE, content_type);
            if let Some(len) = multipart.content_length() {
                headers.insert(CONTENT_LENGTH, length_value(len));
            }
        }
    }
    endpoint.headers(&mut headers);
    let mut request = http::Request::new(body);
    *request.method_mut() = E::METHOD;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// A `Content-Length` value: the decimal digits copied once into an exact buffer, where
/// `HeaderValue::from` grows one.
fn length_value(len: u64) -> HeaderValue {
    let mut digits = itoa::Buffer::new();
    HeaderValue::from_maybe_shared(Bytes::copy_from_slice(digits.format(len).as_bytes()))
        .unwrap_or_else(|_| HeaderValue::from(len))
}

/// Reads `response` as `endpoint`'s answer.
pub fn parse_response<E: Endpoint>(
    endpoint: &E,
    response: http::Response<Bytes>,
) -> Result<E::Output, Error> {
    endpoint.parse(response).map_err(|err| match err {
        Error::Api(api) => Error::Api(api.with_operation(E::METHOD, E::PATH)),
        other => other,
    })
}

/// The log id of a response: the `X-Tt-Logid` header, else `X-Request-Id`.
#[must_use]
pub fn log_id(headers: &HeaderMap) -> Option<String> {
    answer_headers(headers).0
}

/// The rate-limit headers of a response, if any: `x-ogw-ratelimit-limit`,
/// `x-ogw-ratelimit-reset` (seconds), or a `Retry-After` in seconds.
#[must_use]
pub fn rate_limit(headers: &HeaderMap) -> Option<RateLimit> {
    answer_headers(headers).1
}

/// What [`log_id`] and [`rate_limit`] return, read in one pass over the headers: an answer
/// pays for no lookup of a header it does not carry.
#[must_use]
pub fn answer_headers(headers: &HeaderMap) -> (Option<String>, Option<RateLimit>) {
    let number = |value: &HeaderValue| value.to_str().ok()?.trim().parse::<u64>().ok();
    let (mut log_id, mut request_id) = (None, None);
    let (mut limit, mut reset, mut retry_after) = (None, None, None);
    // The first value of a repeated header counts, as `HeaderMap::get` would give it.
    for (name, value) in headers {
        match name.as_str() {
            "x-tt-logid" if log_id.is_none() => log_id = value.to_str().ok(),
            "x-request-id" if request_id.is_none() => request_id = value.to_str().ok(),
            "x-ogw-ratelimit-limit" if limit.is_none() => limit = number(value),
            "x-ogw-ratelimit-reset" if reset.is_none() => reset = number(value),
            "retry-after" if retry_after.is_none() => retry_after = number(value),
            _ => {}
        }
    }
    let reset = reset.or(retry_after).map(Duration::from_secs);
    let rate_limit = (limit.is_some() || reset.is_some()).then_some(RateLimit { limit, reset });
    (log_id.or(request_id).map(str::to_owned), rate_limit)
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Envelope<'a, T> {
    #[serde(default)]
    code: i64,
    /// Read only when `code` is not 0; borrowed, so a success costs no copy of it.
    #[serde(default, borrow)]
    msg: Cow<'a, str>,
    #[serde(default)]
    data: Option<T>,
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    error: Option<ErrorDetail>,
}

fn decode_error(
    status: StatusCode,
    log_id: Option<String>,
    body: &[u8],
    error: serde_json::Error,
) -> Error {
    Error::Decode(DecodeError {
        status,
        log_id,
        body: String::from_utf8_lossy(body).into_owned(),
        error,
    })
}

fn api_error(
    status: StatusCode,
    headers: &HeaderMap,
    code: i64,
    msg: String,
    detail: Option<ErrorDetail>,
) -> Error {
    let log_id = log_id(headers).or_else(|| detail.as_ref().and_then(|d| d.log_id.clone()));
    Error::Api(ApiError {
        code,
        msg,
        status,
        log_id,
        detail: detail.map(Box::new),
        rate_limit: rate_limit(headers),
        operation: None,
    })
}

/// Reads a failed response (any body) as an error. Used for JSON error bodies, and for bodies
/// that are not JSON at all (a proxy's 502 page, say), which become an [`ApiError`] with code 0
/// and the HTTP status.
#[must_use]
pub fn parse_error(response: &http::Response<Bytes>) -> Error {
    let (status, headers, body) = (response.status(), response.headers(), response.body());
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) if envelope.code.is_some_and(|code| code != 0) => api_error(
            status,
            headers,
            envelope.code.unwrap_or_default(),
            envelope.msg.unwrap_or_default(),
            envelope.error,
        ),
        _ => {
            let text = String::from_utf8_lossy(body);
            let msg = if text.trim().is_empty() {
                status.canonical_reason().unwrap_or("no body").to_owned()
            } else {
                text.chars().take(256).collect()
            };
            api_error(status, headers, 0, msg, None)
        }
    }
}

/// Reads the standard `{"code","msg","data"}` envelope and returns `data`.
pub fn parse_data<T: DeserializeOwned>(response: &http::Response<Bytes>) -> Result<T, Error> {
    parse_envelope::<T>(response)?.ok_or_else(|| {
        let source = <serde_json::Error as serde::de::Error>::missing_field("data");
        decode_error(
            response.status(),
            log_id(response.headers()),
            response.body(),
            source,
        )
    })
}

/// The `data` of an answer already known to be a success, read again as `T`; `None` when it
/// does not read as `T`.
pub(crate) fn data_of<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_slice::<Envelope<T>>(body)
        .ok()
        .and_then(|envelope| envelope.data)
}

/// Reads the envelope of an action that answers with no (or an empty) `data`.
pub fn parse_empty(response: &http::Response<Bytes>) -> Result<(), Error> {
    parse_envelope::<serde::de::IgnoredAny>(response).map(drop)
}

fn parse_envelope<T: DeserializeOwned>(
    response: &http::Response<Bytes>,
) -> Result<Option<T>, Error> {
    let (status, headers, body) = (response.status(), response.headers(), response.body());
    match serde_json::from_slice::<Envelope<T>>(body) {
        Ok(envelope) if envelope.code == 0 && status.is_success() => Ok(envelope.data),
        Ok(envelope) if envelope.code != 0 => Err(api_error(
            status,
            headers,
            envelope.code,
            envelope.msg.into_owned(),
            envelope.error,
        )),
        Ok(_) => Err(parse_error(response)),
        Err(source) => {
            if status.is_success() {
                Err(decode_error(status, log_id(headers), body, source))
            } else {
                Err(parse_error(response))
            }
        }
    }
}

/// Reads a top-level response, one without a `data` wrapper (the token endpoints).
pub fn parse_top_level<T: DeserializeOwned>(response: &http::Response<Bytes>) -> Result<T, Error> {
    let (status, headers, body) = (response.status(), response.headers(), response.body());
    let head: ErrorEnvelope = serde_json::from_slice(body).map_err(|source| {
        if status.is_success() {
            decode_error(status, log_id(headers), body, source)
        } else {
            parse_error(response)
        }
    })?;
    if head.code.unwrap_or(0) != 0 || !status.is_success() {
        return Err(parse_error(response));
    }
    serde_json::from_slice(body)
        .map_err(|source| decode_error(status, log_id(headers), body, source))
}

/// A downloaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// The bytes.
    pub bytes: Bytes,
    /// The `Content-Type`, when given.
    pub content_type: Option<String>,
    /// The file name from `Content-Disposition`, when given.
    pub file_name: Option<String>,
}

/// What the head of a download response says, read before the body: the file's metadata, or
/// that the body is a JSON error to be read with [`parse_error`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadHead {
    /// The body is the file.
    File {
        /// The `Content-Type`, when given.
        content_type: Option<String>,
        /// The file name from `Content-Disposition`, when given.
        file_name: Option<String>,
        /// The `Content-Length`, when given.
        content_length: Option<u64>,
    },
    /// The body is an error; read it whole and pass it to [`parse_error`].
    Error,
}

/// Reads the head of a download response. A success is the file, whatever its type (a user's
/// `.json` attachment comes as `application/json`); anything else is an error body.
#[must_use]
pub fn download_head(status: StatusCode, headers: &HeaderMap) -> DownloadHead {
    if !status.is_success() {
        return DownloadHead::Error;
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    DownloadHead::File {
        content_type,
        // The platform writes non-ASCII names as raw UTF-8, which `to_str` refuses.
        file_name: headers
            .get(http::header::CONTENT_DISPOSITION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .and_then(|v| content_disposition_file_name(&v)),
        content_length: headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
    }
}

/// Reads a whole download response.
pub fn parse_download(response: http::Response<Bytes>) -> Result<Download, Error> {
    match download_head(response.status(), response.headers()) {
        DownloadHead::File {
            content_type,
            file_name,
            ..
        } => Ok(Download {
            bytes: response.into_body(),
            content_type,
            file_name,
        }),
        DownloadHead::Error => Err(parse_error(&response)),
    }
}

/// The file name in a `Content-Disposition` header: `filename*=UTF-8''…` (RFC 5987) when given,
/// else `filename="…"` or `filename=…`.
#[must_use]
pub fn content_disposition_file_name(header: &str) -> Option<String> {
    let mut plain = None;
    for param in split_params(header) {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim().to_ascii_lowercase(), value.trim()),
            None => continue,
        };
        if name == "filename*" {
            if let Some((charset, rest)) = value.split_once('\'') {
                let encoded = rest.split_once('\'').map_or(rest, |(_, v)| v);
                if charset.eq_ignore_ascii_case("utf-8")
                    && let Some(decoded) = percent_decode(encoded)
                {
                    return Some(decoded);
                }
            }
        } else if name == "filename" {
            plain = Some(unquote(value));
        }
    }
    plain.filter(|name| !name.is_empty())
}

fn split_params(header: &str) -> Vec<&str> {
    let mut params = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                params.push(&header[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    params.push(&header[start..]);
    params
}

fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = value.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_path_template_is_filled_in_order_and_each_id_encoded() {
        assert_eq!(
            fill_path("/open-apis/im/v1/messages", PathIds::NONE),
            "/open-apis/im/v1/messages"
        );
        assert_eq!(
            fill_path(
                "/open-apis/im/v1/messages/:message_id/reactions/:reaction_id",
                PathIds::two("om_1", "a/b?c")
            ),
            "/open-apis/im/v1/messages/om_1/reactions/a%2Fb%3Fc"
        );
        // An id left out leaves its segment empty, which building the request refuses.
        let filled = fill_path("/open-apis/im/v1/pins/:message_id", PathIds::NONE);
        assert_eq!(filled, "/open-apis/im/v1/pins/");
        assert!(check_path_ids("/open-apis/im/v1/pins/:message_id", &filled).is_err());
    }

    use super::*;

    #[test]
    fn answer_headers_reads_the_log_id_and_the_rate_limit_in_one_pass() {
        let mut headers = HeaderMap::new();
        assert_eq!(answer_headers(&headers), (None, None));
        headers.insert("x-request-id", HeaderValue::from_static("req-1"));
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(
            answer_headers(&headers),
            (
                Some("req-1".to_owned()),
                Some(RateLimit {
                    limit: None,
                    reset: Some(Duration::from_secs(7)),
                })
            )
        );
        headers.insert("x-tt-logid", HeaderValue::from_static("20251201120000"));
        headers.insert("x-ogw-ratelimit-limit", HeaderValue::from_static("50"));
        headers.insert("x-ogw-ratelimit-reset", HeaderValue::from_static(" 2 "));
        headers.append("x-tt-logid", HeaderValue::from_static("second"));
        assert_eq!(log_id(&headers).as_deref(), Some("20251201120000"));
        assert_eq!(
            rate_limit(&headers),
            Some(RateLimit {
                limit: Some(50),
                reset: Some(Duration::from_secs(2)),
            })
        );
        headers.insert("x-ogw-ratelimit-limit", HeaderValue::from_static("many"));
        headers.remove("x-ogw-ratelimit-reset");
        headers.remove("retry-after");
        assert_eq!(
            rate_limit(&headers),
            None,
            "a value that is not a number is no limit"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        let mut query = Query::default();
        query.push("a", "x y&z=1");
        query.push("b", "你");
        assert_eq!(query.encode(), "a=x%20y%26z%3D1&b=%E4%BD%A0");
    }

    #[test]
    fn path_segments_cannot_escape_their_segment() {
        assert_eq!(segment("../../chats"), "..%2F..%2Fchats");
        assert_eq!(segment("om_dc1326"), "om_dc1326");
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_encoded_to_unreserved_characters_and_escapes_and_back(value in "\\PC*") {
            let encoded = segment(&value);
            proptest::prop_assert!(encoded.bytes().all(|byte| byte.is_ascii_alphanumeric()
                || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'%')));
            proptest::prop_assert_eq!(percent_decode(&encoded), Some(value));
        }

        #[test]
        fn a_length_is_written_as_its_decimal_digits(len in proptest::prelude::any::<u64>()) {
            let value = length_value(len);
            let digits = len.to_string();
            proptest::prop_assert_eq!(value.as_bytes(), digits.as_bytes());
        }
    }

    #[test]
    fn lengths_at_the_edges_are_written_whole() {
        for len in [0, 9, 10, 99, 100, u64::MAX] {
            assert_eq!(length_value(len), http::HeaderValue::from(len));
        }
    }

    #[test]
    fn content_disposition_names_are_read_in_every_documented_form() {
        assert_eq!(
            content_disposition_file_name("attachment; filename=\"report.pdf\"").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            content_disposition_file_name("attachment; filename=a.txt").as_deref(),
            Some("a.txt")
        );
        assert_eq!(
            content_disposition_file_name(
                "attachment; filename=\"x.mp4\"; filename*=UTF-8''%E6%B5%8B%E8%AF%95.mp4"
            )
            .as_deref(),
            Some("测试.mp4")
        );
        assert_eq!(
            content_disposition_file_name("attachment; filename=\"a\\\"b;c.txt\"").as_deref(),
            Some("a\"b;c.txt")
        );
        assert_eq!(content_disposition_file_name("inline"), None);
    }

    #[test]
    fn rate_limit_headers_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ogw-ratelimit-limit", HeaderValue::from_static("50"));
        headers.insert("x-ogw-ratelimit-reset", HeaderValue::from_static("3"));
        assert_eq!(
            rate_limit(&headers),
            Some(RateLimit {
                limit: Some(50),
                reset: Some(Duration::from_secs(3))
            })
        );
        let mut retry_after = HeaderMap::new();
        retry_after.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(
            rate_limit(&retry_after).unwrap().reset,
            Some(Duration::from_secs(7))
        );
        assert_eq!(rate_limit(&HeaderMap::new()), None);
    }
}
