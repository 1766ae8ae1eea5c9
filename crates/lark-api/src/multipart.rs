//! `multipart/form-data` for image and file uploads.
//!
//! The body is three pieces: a head (the text fields and the file part's headers), the file's
//! bytes, and a tail (the closing boundary). The head and tail are built here; the file's bytes
//! are either held in memory or streamed by the executor between the two, so an upload never has
//! to fit in memory.

use bytes::Bytes;
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where an upload's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadData {
    /// The bytes, in memory.
    Bytes(Bytes),
    /// The executor streams the bytes from a file or reader; `len` is their length when known,
    /// which lets the request carry a `Content-Length` and be checked against the limit before
    /// anything is sent.
    Stream {
        /// The number of bytes that will be streamed, when known.
        len: Option<u64>,
    },
}

impl UploadData {
    /// The length, when known.
    #[must_use]
    pub fn len(&self) -> Option<u64> {
        match self {
            Self::Bytes(bytes) => Some(bytes.len() as u64),
            Self::Stream { len } => *len,
        }
    }

    /// Whether the data is known to be empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl From<Bytes> for UploadData {
    fn from(bytes: Bytes) -> Self {
        Self::Bytes(bytes)
    }
}

impl From<Vec<u8>> for UploadData {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(Bytes::from(bytes))
    }
}

impl From<&'static [u8]> for UploadData {
    fn from(bytes: &'static [u8]) -> Self {
        Self::Bytes(Bytes::from_static(bytes))
    }
}

/// A built `multipart/form-data` body.
#[derive(Clone, Debug)]
pub struct Multipart {
    boundary: String,
    head: Bytes,
    file: UploadData,
    tail: Bytes,
}

impl Multipart {
    /// The `Content-Type` header value, with the boundary.
    #[must_use]
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The boundary.
    #[must_use]
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// Everything before the file's bytes.
    #[must_use]
    pub fn head(&self) -> &Bytes {
        &self.head
    }

    /// The file's bytes, or how many the executor is to stream.
    #[must_use]
    pub fn file(&self) -> &UploadData {
        &self.file
    }

    /// Everything after the file's bytes.
    #[must_use]
    pub fn tail(&self) -> &Bytes {
        &self.tail
    }

    /// The whole body's length, when the file's length is known.
    #[must_use]
    pub fn content_length(&self) -> Option<u64> {
        Some(self.head.len() as u64 + self.file.len()? + self.tail.len() as u64)
    }

    /// The whole body, when the file's bytes are in memory.
    #[must_use]
    pub fn to_bytes(&self) -> Option<Bytes> {
        let UploadData::Bytes(file) = &self.file else {
            return None;
        };
        let mut out = Vec::with_capacity(self.head.len() + file.len() + self.tail.len());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(file);
        out.extend_from_slice(&self.tail);
        Some(Bytes::from(out))
    }
}

/// Builds a [`Multipart`]: text fields first, then the one file part.
pub(crate) struct MultipartBuilder {
    boundary: String,
    head: Vec<u8>,
}

impl MultipartBuilder {
    pub(crate) fn new() -> Self {
        Self {
            boundary: new_boundary(),
            head: Vec::with_capacity(256),
        }
    }

    pub(crate) fn field(mut self, name: &str, value: &str) -> Self {
        self.head.extend_from_slice(b"--");
        self.head.extend_from_slice(self.boundary.as_bytes());
        self.head
            .extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
        push_quoted(&mut self.head, name);
        self.head.extend_from_slice(b"\"\r\n\r\n");
        self.head.extend_from_slice(value.as_bytes());
        self.head.extend_from_slice(b"\r\n");
        self
    }

    pub(crate) fn file(
        mut self,
        name: &str,
        file_name: &str,
        content_type: &str,
        data: UploadData,
    ) -> Multipart {
        self.head.extend_from_slice(b"--");
        self.head.extend_from_slice(self.boundary.as_bytes());
        self.head
            .extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
        push_quoted(&mut self.head, name);
        self.head.extend_from_slice(b"\"; filename=\"");
        push_quoted(&mut self.head, file_name);
        self.head.extend_from_slice(b"\"\r\nContent-Type: ");
        self.head.extend_from_slice(content_type.as_bytes());
        self.head.extend_from_slice(b"\r\n\r\n");
        let tail = format!("\r\n--{}--\r\n", self.boundary);
        Multipart {
            boundary: self.boundary,
            head: Bytes::from(self.head),
            file: data,
            tail: Bytes::from(tail),
        }
    }
}

/// Writes a quoted-string value as browsers do for form data: `"`, CR and LF percent-encoded.
fn push_quoted(out: &mut Vec<u8>, value: &str) {
    for byte in value.bytes() {
        match byte {
            b'"' => out.extend_from_slice(b"%22"),
            b'\r' => out.extend_from_slice(b"%0D"),
            b'\n' => out.extend_from_slice(b"%0A"),
            other => out.push(other),
        }
    }
}

/// 128 random bits (from the standard library's per-process random hash keys, mixed with a
/// counter) as hex, so that no file's bytes contain the boundary by chance.
fn new_boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = RandomState::new();
    let mut out = String::from("lark-rs-");
    for salt in [0x9E37_79B9_7F4A_7C15_u64, 0xD1B5_4A32_D192_ED03] {
        let mut hasher = state.build_hasher();
        hasher.write_u64(count ^ salt);
        let _ = write!(out, "{:016x}", hasher.finish());
    }
    out
}

/// The MIME type for a file name's extension; `application/octet-stream` when unknown.
#[must_use]
pub fn mime_for(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "ico" => "image/x-icon",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "opus" => "audio/opus",
        "mp4" => "video/mp4",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_differ_every_time() {
        let a = MultipartBuilder::new().boundary;
        let b = MultipartBuilder::new().boundary;
        assert_ne!(a, b);
        assert_eq!(a.len(), "lark-rs-".len() + 32);
    }

    #[test]
    fn file_names_cannot_break_the_header() {
        let multipart = MultipartBuilder::new().file(
            "file",
            "a\"b\r\nc.txt",
            "text/plain",
            UploadData::Bytes(Bytes::from_static(b"x")),
        );
        let head = String::from_utf8(multipart.head().to_vec()).unwrap();
        assert!(head.contains("filename=\"a%22b%0D%0Ac.txt\""), "{head}");
    }

    #[test]
    fn length_is_known_only_when_the_file_length_is() {
        let known = MultipartBuilder::new().field("a", "b").file(
            "f",
            "x",
            "text/plain",
            UploadData::Stream { len: Some(10) },
        );
        assert_eq!(
            known.content_length(),
            Some(known.head().len() as u64 + 10 + known.tail().len() as u64)
        );
        assert!(known.to_bytes().is_none());
        let unknown =
            MultipartBuilder::new().file("f", "x", "text/plain", UploadData::Stream { len: None });
        assert_eq!(unknown.content_length(), None);
    }
}
