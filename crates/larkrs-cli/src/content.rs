//! `--text`, `--post`, `--card`, `--image`, `--file`, `--type/--content` → one message content.

use crate::args::ContentArgs;
use crate::output::Failure;
use crate::progress;
use lark::{Client, MessageContent};
use std::path::Path;

fn read_json(path: &Path, what: &str) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        Failure::Local(format!("reading the {what} in {}: {err}", path.display()))
    })?;
    serde_json::from_str::<serde_json::Value>(&text).map_err(|err| {
        Failure::Input(format!(
            "{} is not JSON ({err}); a {what} file holds its content JSON",
            path.display()
        ))
    })?;
    Ok(text)
}

fn decode(msg_type: &str, content: &str, source: &str) -> Result<MessageContent, Failure> {
    MessageContent::decode(msg_type, content)
        .map_err(|err| Failure::Input(format!("{source} is not valid `{msg_type}` content: {err}")))
}

/// The content to send, uploading an image or file first when asked.
pub(crate) async fn build(
    client: &Client,
    args: ContentArgs,
    json: bool,
) -> Result<MessageContent, Failure> {
    if let Some(text) = args.text {
        return Ok(MessageContent::text(text));
    }
    if let Some(path) = args.post {
        let text = read_json(&path, "post")?;
        return decode("post", &text, &path.display().to_string());
    }
    if let Some(path) = args.card {
        let text = read_json(&path, "card")?;
        return decode("interactive", &text, &path.display().to_string());
    }
    if let Some(path) = args.image {
        let bar = progress::bar(&path, json);
        let key = client.http().upload_image(&path, bar.callback()).await;
        bar.finish();
        return Ok(MessageContent::image(key?));
    }
    if let Some(path) = args.file {
        let bar = progress::bar(&path, json);
        let key = client.http().upload_file(&path, bar.callback()).await;
        bar.finish();
        let key = key?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        return Ok(match extension.as_deref() {
            Some("opus") => MessageContent::audio(key),
            Some("mp4") => MessageContent::video(key, None),
            _ => MessageContent::file(key),
        });
    }
    match (args.msg_type, args.raw_content) {
        (Some(msg_type), Some(content)) => decode(&msg_type, &content, "--content"),
        _ => Err(Failure::Input(
            "say what to send: --text, --post FILE, --card FILE, --image PATH, --file PATH, or --type T --content JSON".to_owned(),
        )),
    }
}
