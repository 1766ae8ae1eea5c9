//! Uploads parsed back with an independent multipart parser (multer): fields, file name, content
//! type and bytes.

use bytes::Bytes;
use lark_api::im::resources::{FileType, UploadFile, UploadImage};
use lark_api::{AccessToken, BaseUrl, Body, BuildError, UploadData, build_request};

struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn parse(request: &http::Request<Body>) -> Vec<Part> {
    let content_type = request.headers()["content-type"].to_str().unwrap();
    let boundary = multer::parse_boundary(content_type).unwrap();
    let Body::Multipart(multipart) = request.body() else {
        panic!("not multipart")
    };
    let bytes = multipart.to_bytes().unwrap();
    assert_eq!(
        request.headers()["content-length"].to_str().unwrap(),
        bytes.len().to_string()
    );
    let stream = futures_util::stream::iter([Ok::<Bytes, std::io::Error>(bytes)]);
    let mut parser = multer::Multipart::new(stream, boundary);
    futures_executor::block_on(async {
        let mut parts = Vec::new();
        while let Some(field) = parser.next_field().await.unwrap() {
            let name = field.name().unwrap().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let data = field.bytes().await.unwrap().to_vec();
            parts.push(Part {
                name,
                file_name,
                content_type,
                data,
            });
        }
        parts
    })
}

fn build<E: lark_api::Endpoint>(endpoint: &E) -> Result<http::Request<Body>, BuildError> {
    build_request(endpoint, &BaseUrl::feishu(), Some(&AccessToken::new("t-1")))
}

#[test]
fn an_image_upload_has_image_type_then_the_image() {
    let png: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let request = build(&UploadImage::new("/tmp/shots/logo.png", png.clone())).unwrap();
    let parts = parse(&request);
    assert_eq!(parts.len(), 2);
    assert_eq!(
        (parts[0].name.as_str(), parts[0].data.as_slice()),
        ("image_type", b"message".as_slice())
    );
    assert_eq!(parts[1].name, "image");
    assert_eq!(parts[1].file_name.as_deref(), Some("logo.png"));
    assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
    assert_eq!(parts[1].data, png);
}

#[test]
fn a_file_upload_has_type_name_duration_then_the_file() {
    let request = build(
        &UploadFile::new("测试视频.mp4", b"\x00\x00\x00\x18ftypmp42".to_vec()).duration_ms(2000),
    )
    .unwrap();
    let parts = parse(&request);
    let fields: Vec<(&str, String)> = parts
        .iter()
        .take(3)
        .map(|p| (p.name.as_str(), String::from_utf8(p.data.clone()).unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("file_type", "mp4".to_owned()),
            ("file_name", "测试视频.mp4".to_owned()),
            ("duration", "2000".to_owned())
        ]
    );
    assert_eq!(parts[3].name, "file");
    assert_eq!(parts[3].file_name.as_deref(), Some("测试视频.mp4"));
    assert_eq!(parts[3].content_type.as_deref(), Some("video/mp4"));
    assert_eq!(parts[3].data, b"\x00\x00\x00\x18ftypmp42");
}

#[test]
fn unknown_extensions_go_as_stream_with_a_generic_type() {
    let upload = UploadFile::new("data.bin", vec![7; 10]);
    assert_eq!(upload.file_type, FileType::Stream);
    let parts = parse(&build(&upload).unwrap());
    assert_eq!(parts[0].data, b"stream");
    assert_eq!(
        parts[2].content_type.as_deref(),
        Some("application/octet-stream")
    );
}

#[test]
fn a_file_holding_the_boundary_marker_text_still_parses() {
    let tricky =
        b"\r\n--lark-rs-\r\n--\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n".to_vec();
    let parts = parse(&build(&UploadFile::new("t.txt", tricky.clone())).unwrap());
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2].data, tricky);
}

#[test]
fn size_limits_are_checked_before_anything_is_sent() {
    let err = build(&UploadImage::new("a.png", Vec::new())).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = build(&UploadImage::new(
        "a.png",
        UploadData::Stream {
            len: Some(10 * 1024 * 1024 + 1),
        },
    ))
    .unwrap_err();
    assert!(err.to_string().contains("10 MB"), "{err}");
    let err = build(&UploadFile::new(
        "a.pdf",
        UploadData::Stream {
            len: Some(30 * 1024 * 1024 + 1),
        },
    ))
    .unwrap_err();
    assert!(err.to_string().contains("30 MB"), "{err}");
    assert!(
        build(&UploadFile::new(
            "a.pdf",
            UploadData::Stream {
                len: Some(30 * 1024 * 1024)
            }
        ))
        .is_ok()
    );
}

#[test]
fn a_streamed_upload_leaves_the_file_bytes_to_the_executor() {
    let request = build(&UploadFile::new(
        "big.pdf",
        UploadData::Stream { len: Some(1000) },
    ))
    .unwrap();
    let Body::Multipart(multipart) = request.body() else {
        panic!()
    };
    assert!(multipart.to_bytes().is_none());
    assert_eq!(multipart.file(), &UploadData::Stream { len: Some(1000) });
    let expected = multipart.head().len() + 1000 + multipart.tail().len();
    assert_eq!(
        request.headers()["content-length"].to_str().unwrap(),
        expected.to_string()
    );

    let unknown = build(&UploadFile::new(
        "big.pdf",
        UploadData::Stream { len: None },
    ))
    .unwrap();
    assert!(unknown.headers().get("content-length").is_none());
}
