//! `/open-apis/im/v1/images` and `/open-apis/im/v1/files`: multipart uploads and downloads.

use super::auth::authenticate;
use crate::codes::files::{EMPTY, INVALID_PARAM, NOT_AN_IMAGE, TOO_LARGE};
use crate::rules::{FILE_MAX_BYTES, IMAGE_MAX_BYTES};
use crate::server::{Fail, Reply, Request, Shared};
use crate::state::Blob;
use crate::util::new_key;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::json;
use std::collections::HashMap;

/// A multipart body read into its text fields and its one file part.
struct Form {
    fields: HashMap<String, String>,
    file: Option<(String, Option<String>, String, Bytes)>,
}

async fn read_form(request: &Request, file_field: &str) -> Result<Form, Fail> {
    let content_type = request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        Fail::bad_request(
            INVALID_PARAM,
            "Invalid request param: the body must be multipart/form-data with a boundary",
        )
    })?;
    let stream = futures_stream(request.body.clone());
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = Form {
        fields: HashMap::new(),
        file: None,
    };
    loop {
        let field = multipart.next_field().await.map_err(|err| {
            Fail::bad_request(
                INVALID_PARAM,
                format!("Invalid request param: malformed multipart body ({err})"),
            )
        })?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let part_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(|err| {
            Fail::bad_request(
                INVALID_PARAM,
                format!("Invalid request param: malformed multipart body ({err})"),
            )
        })?;
        if name == file_field {
            form.file = Some((file_name.unwrap_or_default(), part_type, name, data));
        } else if !data.is_empty() {
            // A field sent empty is a field not sent: the official SDKs send unset optional
            // fields either way.
            form.fields
                .insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok(form)
}

/// The whole body as a one-item stream, for the multipart parser.
fn futures_stream(
    body: Bytes,
) -> impl futures_core::Stream<Item = Result<Bytes, std::convert::Infallible>> {
    struct Once(Option<Bytes>);
    impl futures_core::Stream for Once {
        type Item = Result<Bytes, std::convert::Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.take().map(Ok))
        }
    }
    Once(Some(body))
}

fn check_size(data: &Bytes, limit: usize) -> Result<(), Fail> {
    if data.is_empty() {
        return Err(Fail::bad_request(EMPTY, "File's size can't be 0."));
    }
    if data.len() > limit {
        return Err(Fail::bad_request(
            TOO_LARGE,
            "The file size exceed the max value.",
        ));
    }
    Ok(())
}

fn mime(file_name: &str, given: Option<String>) -> String {
    given
        .filter(|t| !t.is_empty() && t != "application/octet-stream")
        .unwrap_or_else(|| {
            let extension = file_name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            match extension.as_str() {
                "png" => "image/png",
                "jpg" | "jpeg" => "image/jpeg",
                "gif" => "image/gif",
                "webp" => "image/webp",
                "opus" => "audio/opus",
                "mp4" => "video/mp4",
                "pdf" => "application/pdf",
                "txt" => "text/plain",
                "json" => "application/json",
                _ => "application/octet-stream",
            }
            .to_owned()
        })
}

pub(crate) async fn images(
    shared: &Shared,
    request: &Request,
    rest: &[&str],
) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    match rest {
        [] if request.method == Method::POST => {
            let form = read_form(request, "image").await?;
            let image_type = form.fields.get("image_type").map_or("", String::as_str);
            if !matches!(image_type, "message" | "avatar") {
                return Err(Fail::field(
                    INVALID_PARAM,
                    "image_type",
                    "must be message or avatar",
                ));
            }
            let Some((file_name, _, _, data)) = form.file else {
                return Err(Fail::field(INVALID_PARAM, "image", "is required"));
            };
            check_size(&data, IMAGE_MAX_BYTES)?;
            // The platform looks at the bytes, not at the name or the part's type.
            let Some(format) = crate::rules::image_format(&data) else {
                return Err(Fail::bad_request(
                    NOT_AN_IMAGE,
                    "Can't regonnize the image format.",
                ));
            };
            let key = new_key("img_v3_");
            let content_type = format!("image/{format}");
            shared.state().images.insert(
                key.clone(),
                Blob {
                    bytes: data,
                    file_name,
                    content_type,
                    kind: image_type.to_owned(),
                    owner: Some(caller.app_id),
                },
            );
            Ok(Reply::data(json!({ "image_key": key })))
        }
        [key] if request.method == Method::GET => {
            let state = shared.state();
            match state.images.get(*key) {
                Some(blob)
                    if blob.owner.as_deref() == Some(caller.app_id.as_str())
                        && blob.kind == "message" =>
                {
                    Ok(Reply::Binary {
                        bytes: blob.bytes.clone(),
                        content_type: blob.content_type.clone(),
                        file_name: None,
                    })
                }
                _ => Err(Fail::field(
                    INVALID_PARAM,
                    "image_key",
                    "is not a message image this bot uploaded; download others' images through the message resource endpoint",
                )),
            }
        }
        _ => Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
    }
}

pub(crate) async fn files(
    shared: &Shared,
    request: &Request,
    rest: &[&str],
) -> Result<Reply, Fail> {
    let caller = authenticate(shared, request)?;
    match rest {
        [] if request.method == Method::POST => {
            let form = read_form(request, "file").await?;
            let file_type = form
                .fields
                .get("file_type")
                .map_or("", String::as_str)
                .to_owned();
            if !matches!(
                file_type.as_str(),
                "opus" | "mp4" | "pdf" | "doc" | "xls" | "ppt" | "stream"
            ) {
                return Err(Fail::field(
                    INVALID_PARAM,
                    "file_type",
                    "must be one of opus, mp4, pdf, doc, xls, ppt, stream",
                ));
            }
            let file_name = form.fields.get("file_name").cloned().unwrap_or_default();
            if file_name.is_empty() {
                return Err(Fail::field(INVALID_PARAM, "file_name", "is required"));
            }
            if let Some(duration) = form.fields.get("duration")
                && duration.parse::<u64>().is_err()
            {
                return Err(Fail::field(
                    INVALID_PARAM,
                    "duration",
                    "must be milliseconds",
                ));
            }
            let Some((_, part_type, _, data)) = form.file else {
                return Err(Fail::field(INVALID_PARAM, "file", "is required"));
            };
            check_size(&data, FILE_MAX_BYTES)?;
            let key = new_key("file_v3_");
            let content_type = mime(&file_name, part_type);
            shared.state().files.insert(
                key.clone(),
                Blob {
                    bytes: data,
                    file_name,
                    content_type,
                    kind: file_type,
                    owner: Some(caller.app_id),
                },
            );
            Ok(Reply::data(json!({ "file_key": key })))
        }
        [key] if request.method == Method::GET => {
            // The platform only names the file when the request says Content-Type: application/json.
            let wants_name = request
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            let state = shared.state();
            match state.files.get(*key) {
                Some(blob) if blob.owner.as_deref() == Some(caller.app_id.as_str()) => {
                    Ok(Reply::Binary {
                        bytes: blob.bytes.clone(),
                        content_type: blob.content_type.clone(),
                        file_name: wants_name.then(|| blob.file_name.clone()),
                    })
                }
                _ => Err(Fail::field(
                    INVALID_PARAM,
                    "file_key",
                    "is not a file this bot uploaded",
                )),
            }
        }
        _ => Err(Fail::new(StatusCode::NOT_FOUND, 404, "404 page not found")),
    }
}
