//! Uploads an image from disk, streamed, and sends it; then downloads it back.
//!
//! `cargo run --example upload_and_send_image [PATH]` (a PNG bundled with the tests by default).

use lark::Client;
use lark::MessageContent;
use lark_examples::{BoxError, Session, say, step};
use std::path::PathBuf;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("upload_and_send_image on {}", session.describe()));
    let path = std::env::args().nth(1).map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../crates/lark-http/tests/fixtures/gradient.png")
        },
        PathBuf::from,
    );

    let image = session.client.images().upload(&path).await?;
    say(format!("uploaded {} as {image}", path.display()));
    let sent = session
        .client
        .messages()
        .send(session.to.clone(), MessageContent::image(image.clone()))
        .await?;
    say(format!("sent image message {}", sent.message_id));

    let dir = std::env::temp_dir().join(format!("lark-example-{}", std::process::id()));
    // Created new: a directory (or link) already at that name is an error, not reused.
    std::fs::create_dir(&dir)?;
    let copy = dir.join("downloaded.png");
    let saved = session.client.images().download(&image, &copy).await?;
    say(format!(
        "downloaded it back: {} bytes, {} (to {})",
        saved.bytes,
        saved
            .meta
            .content_type
            .as_deref()
            .unwrap_or("no content type"),
        saved.path.display()
    ));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
