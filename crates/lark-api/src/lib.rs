#![doc = include_str!("../README.md")]

pub mod answer;
mod base_url;
mod endpoint;
mod error;
mod multipart;
mod pagination;
mod receiver;
mod secret;

pub mod auth;
pub mod bot;
pub mod cardkit;
pub mod im;
pub mod interactive;
pub mod oauth;
pub mod ws;

pub use base_url::BaseUrl;
pub use endpoint::{
    Auth, Body, Download, DownloadHead, Endpoint, PathIds, Query, QuotaScope, answer_headers,
    build_request, content_disposition_file_name, download_head, fill_path, log_id, parse_data,
    parse_download, parse_empty, parse_error, parse_response, parse_top_level, rate_limit, segment,
};
pub use error::{
    ApiError, BuildError, DecodeError, DetailEntry, Error, ErrorDetail, ErrorKind, FieldViolation,
    Help, Operation, PermissionViolation, RateLimit, codes,
};
pub use multipart::{Multipart, UploadData, mime_for};
pub use pagination::{IntoItems, ItemOf, Page, Paginated};
pub use receiver::{ParseReceiverError, Receiver};
pub use secret::{AccessToken, AppSecret, AppTicket, CardUpdateToken};
