//! What a call leaves in traces. Alone in its own test binary: tracing caches whether a span is
//! enabled per call site, process-wide, so a test running beside it without a subscriber could
//! switch the span off.

mod common;

use common::Setup;
use lark_api::Receiver;
use lark_api::im::chats::ListChats;
use lark_api::im::messages::SendMessage;
use lark_api::im::resources::DownloadFile;
use lark_content::MessageContent;
use lark_emulator::{Fault, FaultRule};
use std::sync::{Arc, Mutex};

/// Everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn spans_carry_the_call_but_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let setup = Setup::new().await;
    let chat = setup.chat();
    setup
        .emulator
        .inject(FaultRule::next(1, Fault::server_error(503)).on_path("/open-apis/im/v1/messages"));
    setup
        .client
        .execute(SendMessage::new(
            Receiver::chat(chat.clone()),
            MessageContent::text("traced"),
        ))
        .await
        .unwrap();
    setup.emulator.revoke_tokens(&setup.emulator.app_id());
    setup.client.execute(ListChats::new()).await.unwrap();
    // Transfers go through the same pipeline, in the same span.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"meeting notes").unwrap();
    let key = setup.client.upload_file(&path, None).await.unwrap();
    setup
        .client
        .download_to_file(DownloadFile::new(key), dir.path().join("copy.txt"), None)
        .await
        .unwrap();
    let token = setup.client.tenant_token().await.unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("lark.call"), "{log}");
    assert!(
        log.contains("path=\"/open-apis/im/v1/messages\"")
            || log.contains("path=/open-apis/im/v1/messages"),
        "{log}"
    );
    assert!(
        log.contains("attempt=2"),
        "the retried send records its attempt: {log}"
    );
    assert!(
        log.contains("status=200") && log.contains("log_id="),
        "{log}"
    );
    for path in ["/open-apis/im/v1/files", "/open-apis/im/v1/files/:file_key"] {
        assert!(
            log.contains(&format!("path=\"{path}\"")) || log.contains(&format!("path={path} ")),
            "a span for {path}: {log}"
        );
    }
    assert!(
        log.contains("calls="),
        "the span counts the API's calls: {log}"
    );
    assert!(!log.contains(&setup.emulator.app_secret()), "{log}");
    assert!(!log.contains(token.expose()), "{log}");
    assert!(!log.contains("Bearer"), "{log}");
}
