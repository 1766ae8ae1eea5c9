//! Streaming uploads and downloads with real files on disk.

mod common;

use common::Setup;
use futures_util::StreamExt;
use lark_api::UploadData;
use lark_api::im::messages::GetMessageResource;
use lark_api::im::resources::{DownloadFile, DownloadImage, UploadFile};
use lark_content::{FileKey, MessageContent};
use lark_emulator::{Fault, FaultRule};
use lark_http::{Client, Error, ErrorKind, Existing, Progress, TransferLimit};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PNG: &[u8] = include_bytes!("fixtures/gradient.png");

/// Bytes that are not all the same, so a reordered or truncated copy is noticed.
fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

type Seen = Arc<Mutex<Vec<(u64, Option<u64>)>>>;

fn recorder() -> (Progress, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (
        Arc::new(move |done, total| sink.lock().unwrap().push((done, total))),
        seen,
    )
}

#[tokio::test]
async fn a_file_uploads_from_disk_under_its_own_name_and_downloads_back() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quarterly report.pdf");
    let bytes = pattern(300 * 1024);
    std::fs::write(&path, &bytes).unwrap();

    let (progress, seen) = recorder();
    let key = setup
        .client
        .upload_file(&path, Some(progress))
        .await
        .unwrap();
    assert_eq!(
        setup.emulator.upload(key.as_str()).unwrap().as_ref(),
        bytes.as_slice()
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.last(),
        Some(&(bytes.len() as u64, Some(bytes.len() as u64)))
    );
    assert!(seen.len() > 1, "progress is reported as the file is read");

    let stream = setup
        .client
        .download(DownloadFile::new(key.clone()), None)
        .await
        .unwrap();
    assert_eq!(
        stream.meta.file_name.as_deref(),
        Some("quarterly report.pdf")
    );
    assert_eq!(stream.meta.content_length, Some(bytes.len() as u64));
    let chunks: Vec<_> = stream.map(|chunk| chunk.unwrap()).collect().await;
    assert_eq!(chunks.concat(), bytes);

    let target = dir.path().join("copy.pdf");
    let (progress, seen) = recorder();
    let meta = setup
        .client
        .download_to_file(DownloadFile::new(key), &target, Some(progress))
        .await
        .unwrap();
    assert_eq!(meta.meta.file_name.as_deref(), Some("quarterly report.pdf"));
    assert_eq!(
        (meta.path.as_path(), meta.bytes),
        (target.as_path(), bytes.len() as u64)
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert_eq!(
        seen.lock().unwrap().last().map(|(done, _)| *done),
        Some(bytes.len() as u64)
    );
}

#[tokio::test]
async fn an_image_uploads_from_disk_and_is_sent() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gradient.png");
    std::fs::write(&path, PNG).unwrap();
    let key = setup.client.upload_image(&path, None).await.unwrap();
    let sent = setup
        .client
        .execute(lark_api::im::messages::SendMessage::new(
            lark_api::Receiver::chat(setup.chat()),
            MessageContent::image(key.clone()),
        ))
        .await
        .unwrap();
    assert_eq!(sent.msg_type, "image");
    let image = setup
        .client
        .download(DownloadImage::new(key), None)
        .await
        .unwrap();
    assert_eq!(image.meta.content_type.as_deref(), Some("image/png"));
}

#[tokio::test]
async fn any_reader_uploads_without_a_known_length() {
    let setup = Setup::new().await;
    let bytes = pattern(200 * 1024);
    let reader = std::io::Cursor::new(bytes.clone());
    let endpoint = UploadFile::new("stream.log", UploadData::Stream { len: None });
    let key: FileKey = setup
        .client
        .upload_reader(endpoint, reader, None)
        .await
        .unwrap();
    assert_eq!(
        setup.emulator.upload(key.as_str()).unwrap().as_ref(),
        bytes.as_slice()
    );
}

#[tokio::test]
async fn a_resource_a_user_sent_downloads_to_a_file() {
    let setup = Setup::new().await;
    let chat = setup.chat();
    let tom = setup.user("Tom");
    let bytes = pattern(64 * 1024);
    let (message, file) = setup.user_file(&chat, &tom, "trace.bin", bytes.clone());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("trace.bin");
    setup
        .client
        .download_to_file(
            GetMessageResource::file(message, file.file_key),
            &target,
            None,
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
}

#[tokio::test]
async fn a_users_json_attachment_with_a_cjk_name_downloads_as_the_file() {
    let setup = Setup::new().await;
    let chat = setup.chat();
    let tom = setup.user("Tom");
    let bytes = br#"{"code":99991663,"msg":"looks like an error, is a file"}"#.to_vec();
    let (message, file) = setup.user_file(&chat, &tom, "数据.json", bytes.clone());
    let download = setup
        .client
        .execute(GetMessageResource::file(message, file.file_key))
        .await
        .unwrap();
    assert_eq!(download.bytes.as_ref(), bytes.as_slice());
    assert_eq!(download.content_type.as_deref(), Some("application/json"));
    assert_eq!(download.file_name.as_deref(), Some("数据.json"));
}

#[tokio::test]
async fn a_failed_download_leaves_no_file_behind() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing.bin");
    let err = setup
        .client
        .download_to_file(
            DownloadFile::new(FileKey::new("file_v3_00000000-0000-0000-0000-000000000000")),
            &target,
            None,
        )
        .await
        .unwrap_err();
    assert!(err.code().is_some() && err.log_id().is_some(), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no partial file"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_download_replaces_only_a_regular_file_and_only_when_asked() {
    let setup = Setup::new().await;
    let chat = setup.chat();
    let tom = setup.user("Tom");
    let (message, file) = setup.user_file(&chat, &tom, "data.bin", b"downloaded".to_vec());
    let request = || GetMessageResource::file(message.clone(), file.file_key.clone());
    let dir = tempfile::tempdir().unwrap();

    let existing = dir.path().join("existing.bin");
    std::fs::write(&existing, b"kept").unwrap();
    let err = setup
        .client
        .download_to_file(request(), &existing, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"kept");
    let saved = setup
        .client
        .download_to_file_with(request(), &existing, Existing::Replace, None)
        .await
        .unwrap();
    assert_eq!(saved.bytes, 10);
    assert_eq!(std::fs::read(&existing).unwrap(), b"downloaded");

    let victim = dir.path().join("victim.bin");
    std::fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("link.bin");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for target in [&link, &dir.path().to_path_buf()] {
        let err = setup
            .client
            .download_to_file_with(request(), target, Existing::Replace, None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

    // Into a directory, under the platform's name, numbered when taken.
    std::fs::write(dir.path().join("data.bin"), b"mine").unwrap();
    let saved = setup
        .client
        .download_into_dir(request(), dir.path(), "fallback", None)
        .await
        .unwrap();
    assert_eq!(saved.path, dir.path().join("data (1).bin"));
    assert_eq!(std::fs::read(dir.path().join("data.bin")).unwrap(), b"mine");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "data (1).bin",
            "data.bin",
            "existing.bin",
            "link.bin",
            "victim.bin"
        ],
        "no temporary file left"
    );
}

#[tokio::test]
async fn uploads_survive_a_revoked_token_and_refuse_what_the_platform_would() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"meeting notes").unwrap();
    setup.client.tenant_token().await.unwrap();
    setup
        .emulator
        .inject(FaultRule::next(1, Fault::RevokeToken).on_path("/open-apis/im/v1/files"));
    let key = setup.client.upload_file(&path, None).await.unwrap();
    assert_eq!(
        setup.emulator.upload(key.as_str()).unwrap().as_ref(),
        b"meeting notes"
    );
    assert_eq!(setup.emulator.token_fetches(&setup.emulator.app_id()), 2);

    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let err = setup.client.upload_file(&empty, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Build, "{err}");
    assert!(err.to_string().contains("empty"), "{err}");

    let missing = setup
        .client
        .upload_file(dir.path().join("nope.txt"), None)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io);
    assert!(missing.to_string().contains("nope.txt"), "{missing}");
}

/// A client of `setup`'s emulator with the given transfer limits.
fn limited(setup: &Setup, read: Duration, deadline: Duration) -> Client {
    Client::builder()
        .app(setup.emulator.app_id(), setup.emulator.app_secret())
        .base_url(common::base_url(&setup.emulator))
        .retry(common::quick_retries())
        .transfer_read_timeout(read)
        .transfer_deadline(deadline)
        .build()
        .unwrap()
}

/// Uploads `bytes` from a file on disk; returns the key.
async fn uploaded(setup: &Setup, bytes: &[u8]) -> FileKey {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.bin");
    std::fs::write(&path, bytes).unwrap();
    setup.client.upload_file(&path, None).await.unwrap()
}

/// Uploads 300 KiB as a file, then makes the next download of it stall after 1,000 bytes.
async fn stalling_file(setup: &Setup) -> FileKey {
    let key = uploaded(setup, &pattern(300 * 1024)).await;
    setup.emulator.inject(
        FaultRule::next(1, Fault::StallBody { after_bytes: 1000 })
            .on_method("GET")
            .on_path("/open-apis/im/v1/files/"),
    );
    key
}

/// Fails the test instead of hanging it when a limit does not fire.
async fn bounded<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), work)
        .await
        .expect("the transfer ended on its own limits")
}

#[tokio::test]
async fn a_download_stalled_mid_body_fails_on_its_read_timeout_and_leaves_nothing() {
    let setup = Setup::new().await;
    let key = stalling_file(&setup).await;
    let client = limited(&setup, Duration::from_secs(1), Duration::from_secs(600));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("large.bin");
    let err = bounded(client.download_to_file(DownloadFile::new(key.clone()), &target, None))
        .await
        .unwrap_err();
    let Error::TransferTimeout {
        limit,
        after,
        moved,
    } = &err
    else {
        panic!("a transfer timeout, not {err:?}");
    };
    assert_eq!(*limit, TransferLimit::Read);
    assert_eq!(*after, Duration::from_secs(1));
    assert!(*moved <= 1000, "{err}");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("transfer_read_timeout"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no partial file"
    );

    // Once the server behaves, the same client downloads the file whole.
    let saved = bounded(client.download_to_file(DownloadFile::new(key), &target, None))
        .await
        .unwrap();
    assert_eq!(saved.bytes, 300 * 1024);
}

#[tokio::test]
async fn a_stalled_stream_ends_with_the_timeout_and_then_nothing() {
    let setup = Setup::new().await;
    let key = stalling_file(&setup).await;
    let client = limited(&setup, Duration::from_secs(1), Duration::from_secs(600));
    let mut stream = client.download(DownloadFile::new(key), None).await.unwrap();
    let mut received = 0;
    let err = loop {
        match bounded(stream.next()).await {
            Some(Ok(chunk)) => received += chunk.len(),
            Some(Err(err)) => break err,
            None => panic!("the stream ended without its missing bytes"),
        }
    };
    assert!(received <= 1000);
    assert!(
        matches!(
            err,
            Error::TransferTimeout {
                limit: TransferLimit::Read,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(stream.next().await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn the_deadline_bounds_a_whole_download_retries_and_their_waits_included() {
    let setup = Setup::new().await;
    let key = stalling_file(&setup).await;
    // The stall outlasts the deadline long before the read timeout.
    let client = limited(
        &setup,
        Duration::from_secs(3600),
        Duration::from_millis(500),
    );
    let err = bounded(client.download(DownloadFile::new(key.clone()), None))
        .await
        .unwrap()
        .collect::<Vec<_>>();
    let err = bounded(err)
        .await
        .into_iter()
        .find_map(Result::err)
        .unwrap();
    assert!(
        matches!(
            err,
            Error::TransferTimeout {
                limit: TransferLimit::Deadline,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("transfer_deadline"), "{err}");

    // A rate limit whose reset lies past the deadline: the retry's wait counts against it.
    setup.emulator.inject(
        FaultRule::next(
            1,
            Fault::RateLimit {
                reset_secs: 30,
                limit: 50,
            },
        )
        .on_method("GET")
        .on_path("/open-apis/im/v1/files/"),
    );
    let client = Client::builder()
        .app(setup.emulator.app_id(), setup.emulator.app_secret())
        .base_url(common::base_url(&setup.emulator))
        .retry(common::quick_retries().with_max_rate_limit_wait(Duration::from_secs(60)))
        .transfer_deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = bounded(client.download(DownloadFile::new(key), None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TransferTimeout {
                limit: TransferLimit::Deadline,
                moved: 0,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_upload_the_server_stops_reading_fails_on_its_read_timeout() {
    let setup = Setup::new().await;
    setup.client.tenant_token().await.unwrap();
    setup.emulator.inject(
        FaultRule::next(1, Fault::Delay { millis: 3_600_000 })
            .on_method("POST")
            .on_path("/open-apis/im/v1/files"),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    std::fs::write(&path, pattern(300 * 1024)).unwrap();
    let client = limited(&setup, Duration::from_secs(1), Duration::from_secs(600));
    let err = bounded(client.upload_file(&path, None)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TransferTimeout {
                limit: TransferLimit::Read,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_upload_refused_once_by_the_rate_limit_succeeds_on_its_own() {
    let setup = Setup::new().await;
    setup.client.tenant_token().await.unwrap();
    setup.emulator.inject(
        FaultRule::next(
            1,
            Fault::RateLimit {
                reset_secs: 1,
                limit: 5,
            },
        )
        .on_path("/open-apis/im/v1/images"),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gradient.png");
    std::fs::write(&path, PNG).unwrap();
    let key = setup.client.upload_image(&path, None).await.unwrap();
    assert_eq!(setup.emulator.upload(key.as_str()).unwrap().as_ref(), PNG);
    let usage = setup.client.usage();
    assert_eq!(
        usage.of(&http::Method::POST, "/open-apis/im/v1/images"),
        2,
        "the refused attempt and the one that was stored: {usage:?}"
    );
}

#[tokio::test]
async fn a_download_whose_fresh_token_is_refused_too_fails_as_a_json_call_does() {
    let setup = Setup::new().await;
    let key = uploaded(&setup, b"meeting notes").await;
    setup.emulator.inject(
        FaultRule::next(2, Fault::RevokeToken)
            .on_method("GET")
            .on_path("/open-apis/im/v1/files/"),
    );
    let err = setup
        .client
        .download(DownloadFile::new(key), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TokenRejected { .. }), "{err:?}");
}
