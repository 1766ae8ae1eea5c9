//! Messages that point at an uploaded resource: `image`, `file`, `folder`, `audio`, `media`
//! (video) and `sticker`.

use crate::id::{FileKey, ImageKey};
use crate::object::wire_object;
use serde_json::Map;

wire_object! {
    /// An `image` message: `{"image_key":"img_…"}`. The key comes from an image upload with
    /// `image_type=message`.
    pub struct Image {
        /// The uploaded image.
        req image_key: ImageKey => "image_key",
    }
}

wire_object! {
    /// A `file` message: `{"file_key":"file_v2_…"}`. A bot can only send files it uploaded
    /// (230017). Received files also carry `file_name`.
    pub struct File {
        /// The uploaded file.
        req file_key: FileKey => "file_key",
        /// The file's name (received messages).
        opt file_name: String => "file_name",
    }
}

wire_object! {
    /// A `folder` message (receive only): the key cannot be downloaded through the API.
    pub struct Folder {
        /// The folder's key.
        req file_key: FileKey => "file_key",
        /// The folder's name.
        opt file_name: String => "file_name",
    }
}

wire_object! {
    /// An `audio` message: `{"file_key":"file_v2_…"}`, from an upload with `file_type=opus`.
    pub struct Audio {
        /// The uploaded audio.
        req file_key: FileKey => "file_key",
        /// Length in milliseconds (received messages).
        opt duration: u64 => "duration",
    }
}

wire_object! {
    /// A `media` (video) message: `{"file_key":"file_v2_…","image_key":"img_…"}`, from an upload
    /// with `file_type=mp4`; the cover image is optional.
    pub struct Media {
        /// The uploaded video.
        req file_key: FileKey => "file_key",
        /// The cover image.
        opt image_key: ImageKey => "image_key",
        /// The file's name (received messages).
        opt file_name: String => "file_name",
        /// Length in milliseconds (received messages).
        opt duration: u64 => "duration",
    }
}

wire_object! {
    /// A `sticker` message: `{"file_key":"…"}`. A bot can only send stickers it has received.
    pub struct Sticker {
        /// The sticker's key, as a received sticker message gave it.
        req file_key: FileKey => "file_key",
    }
}

impl Image {
    /// An image message for an uploaded image.
    #[must_use]
    pub fn new(image_key: ImageKey) -> Self {
        Self {
            image_key,
            extra: Map::new(),
        }
    }
}

impl File {
    /// A file message for an uploaded file.
    #[must_use]
    pub fn new(file_key: FileKey) -> Self {
        Self {
            file_key,
            file_name: None,
            extra: Map::new(),
        }
    }
}

impl Audio {
    /// An audio message for an uploaded `opus` file.
    #[must_use]
    pub fn new(file_key: FileKey) -> Self {
        Self {
            file_key,
            duration: None,
            extra: Map::new(),
        }
    }
}

impl Media {
    /// A video message for an uploaded `mp4` file, with an optional cover image.
    #[must_use]
    pub fn new(file_key: FileKey, cover: Option<ImageKey>) -> Self {
        Self {
            file_key,
            image_key: cover,
            file_name: None,
            duration: None,
            extra: Map::new(),
        }
    }
}

impl Sticker {
    /// A sticker message re-sending a sticker the bot received.
    #[must_use]
    pub fn new(file_key: FileKey) -> Self {
        Self {
            file_key,
            extra: Map::new(),
        }
    }
}
