//! Images and files: upload (multipart, streamed) and download.

use crate::answer::endpoint;
use crate::answer::{Answer, File};
use crate::endpoint::PathIds;
use crate::endpoint::{Body, parse_data};
use crate::error::{BuildError, Error};
use crate::multipart::{MultipartBuilder, UploadData, mime_for};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use lark_content::limits::{FILE_MAX_BYTES, IMAGE_MAX_BYTES};
use lark_content::{FileKey, ImageKey};
use serde::Deserialize;

fn check_size(what: &'static str, data: &UploadData, limit: u64) -> Result<(), BuildError> {
    match data.len() {
        Some(0) => Err(BuildError::Upload {
            what,
            actual: 0,
            reason: "the platform refuses empty uploads".to_owned(),
        }),
        Some(len) if len > limit => Err(BuildError::Upload {
            what,
            actual: len,
            reason: format!(
                "the platform's limit is {limit} bytes ({} MB)",
                limit / (1024 * 1024)
            ),
        }),
        _ => Ok(()),
    }
}

/// The file name's last path component, so that a path never leaks into the upload.
fn base_name(file_name: &str) -> &str {
    file_name.rsplit(['/', '\\']).next().unwrap_or(file_name)
}

lark_content::open_enum! {
    /// What an uploaded image is for.
    pub enum ImageType {
        /// To send in messages.
        Message = "message",
        /// As an avatar.
        Avatar = "avatar",
    }
}

#[derive(Deserialize)]
struct ImageKeyData {
    image_key: ImageKey,
}

/// The answer of an image upload: `data.image_key`.
#[derive(Debug)]
pub struct UploadedImage;

impl Answer for UploadedImage {
    type Output = ImageKey;

    fn read(response: http::Response<Bytes>) -> Result<ImageKey, Error> {
        parse_data::<ImageKeyData>(&response).map(|data| data.image_key)
    }
}

/// `POST /open-apis/im/v1/images` (multipart): uploads an image (at most 10 MB, not empty).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct UploadImage {
    /// What the image is for.
    pub image_type: ImageType,
    /// The file name sent with the image part.
    pub file_name: String,
    /// The bytes, or how many the executor streams.
    pub data: UploadData,
}

impl UploadImage {
    /// An image to send in messages.
    pub fn new(file_name: impl Into<String>, data: impl Into<UploadData>) -> Self {
        Self {
            image_type: ImageType::Message,
            file_name: file_name.into(),
            data: data.into(),
        }
    }
}

endpoint!(UploadImage: POST "/open-apis/im/v1/images" => UploadedImage {
    fn body(&self) -> Result<Body, BuildError> {
        check_size("the image", &self.data, IMAGE_MAX_BYTES)?;
        let name = base_name(&self.file_name);
        let name = if name.is_empty() { "image" } else { name };
        let multipart = MultipartBuilder::new()
            .field("image_type", self.image_type.as_str())
            .file("image", name, mime_for(name), self.data.clone());
        Ok(Body::Multipart(multipart))
    }
});

/// `GET /open-apis/im/v1/images/:image_key`: downloads an image the bot uploaded for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct DownloadImage {
    /// The image.
    pub image_key: ImageKey,
}

impl DownloadImage {
    /// Downloads `image_key`.
    pub fn new(image_key: ImageKey) -> Self {
        Self { image_key }
    }
}

endpoint!(DownloadImage: GET "/open-apis/im/v1/images/:image_key" => File {
    fn path_ids(&self) -> PathIds<'_> {
        PathIds::one(self.image_key.as_str())
    }
});

lark_content::open_enum! {
    /// The kind of an uploaded file. Audio must be `opus` and video `mp4`; anything that is not
    /// one of the documented kinds is sent as `stream`.
    pub enum FileType {
        /// Opus audio, sent as `audio`.
        Opus = "opus",
        /// MP4 video, sent as `media`.
        Mp4 = "mp4",
        /// PDF.
        Pdf = "pdf",
        /// Word.
        Doc = "doc",
        /// Excel.
        Xls = "xls",
        /// PowerPoint.
        Ppt = "ppt",
        /// Anything else.
        Stream = "stream",
    }
}

impl FileType {
    /// The type a file name's extension implies.
    #[must_use]
    pub fn from_file_name(file_name: &str) -> Self {
        let extension = file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        match extension.as_str() {
            "opus" => Self::Opus,
            "mp4" => Self::Mp4,
            "pdf" => Self::Pdf,
            "doc" | "docx" => Self::Doc,
            "xls" | "xlsx" => Self::Xls,
            "ppt" | "pptx" => Self::Ppt,
            _ => Self::Stream,
        }
    }
}

#[derive(Deserialize)]
struct FileKeyData {
    file_key: FileKey,
}

/// The answer of a file upload: `data.file_key`.
#[derive(Debug)]
pub struct UploadedFile;

impl Answer for UploadedFile {
    type Output = FileKey;

    fn read(response: http::Response<Bytes>) -> Result<FileKey, Error> {
        parse_data::<FileKeyData>(&response).map(|data| data.file_key)
    }
}

/// `POST /open-apis/im/v1/files` (multipart): uploads a file (at most 30 MB, not empty).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct UploadFile {
    /// The kind of file; by default taken from the file name's extension.
    pub file_type: FileType,
    /// The file name, extension included.
    pub file_name: String,
    /// Length in milliseconds, for audio and video.
    pub duration: Option<u64>,
    /// The bytes, or how many the executor streams.
    pub data: UploadData,
}

impl UploadFile {
    /// A file whose type follows from its name.
    pub fn new(file_name: impl Into<String>, data: impl Into<UploadData>) -> Self {
        let file_name = file_name.into();
        Self {
            file_type: FileType::from_file_name(&file_name),
            file_name,
            duration: None,
            data: data.into(),
        }
    }

    /// Sets the length in milliseconds (audio and video).
    pub fn duration_ms(mut self, duration: u64) -> Self {
        self.duration = Some(duration);
        self
    }
}

endpoint!(UploadFile: POST "/open-apis/im/v1/files" => UploadedFile {
    fn body(&self) -> Result<Body, BuildError> {
        check_size("the file", &self.data, FILE_MAX_BYTES)?;
        let name = base_name(&self.file_name);
        if name.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "file_name",
                reason: "is empty; give the file's name with its extension".to_owned(),
            });
        }
        let mut builder = MultipartBuilder::new()
            .field("file_type", self.file_type.as_str())
            .field("file_name", name);
        if let Some(duration) = self.duration {
            builder = builder.field("duration", &duration.to_string());
        }
        Ok(Body::Multipart(builder.file(
            "file",
            name,
            mime_for(name),
            self.data.clone(),
        )))
    }
});

/// `GET /open-apis/im/v1/files/:file_key`: downloads a file the bot uploaded (at most 100 MB).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct DownloadFile {
    /// The file.
    pub file_key: FileKey,
}

impl DownloadFile {
    /// Downloads `file_key`.
    pub fn new(file_key: FileKey) -> Self {
        Self { file_key }
    }
}

endpoint!(DownloadFile: GET "/open-apis/im/v1/files/:file_key" => File, ids(file_key) {
    /// The platform only sends `Content-Disposition` (the file name) when the request says
    /// `Content-Type: application/json`.
    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_follow_the_extension() {
        assert_eq!(FileType::from_file_name("voice.OPUS"), FileType::Opus);
        assert_eq!(FileType::from_file_name("clip.mp4"), FileType::Mp4);
        assert_eq!(FileType::from_file_name("spec.pdf"), FileType::Pdf);
        assert_eq!(FileType::from_file_name("notes.docx"), FileType::Doc);
        assert_eq!(FileType::from_file_name("sheet.xlsx"), FileType::Xls);
        assert_eq!(FileType::from_file_name("deck.ppt"), FileType::Ppt);
        assert_eq!(FileType::from_file_name("archive.tar.gz"), FileType::Stream);
        assert_eq!(FileType::from_file_name("README"), FileType::Stream);
    }

    #[test]
    fn only_the_base_name_is_sent() {
        assert_eq!(base_name("/home/me/secret/report.pdf"), "report.pdf");
        assert_eq!(base_name("C:\\Users\\me\\a.png"), "a.png");
    }
}
