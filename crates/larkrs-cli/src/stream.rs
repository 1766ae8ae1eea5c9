//! `lark stream`: standard input, as it arrives, typed into a card.

use crate::ids;
use crate::output::{Failure, print};
use lark::{CardStream, Client, MessageId, StreamMode, Streamed};
use serde_json::json;
use tokio::io::AsyncReadExt;

/// How much of standard input is read at once.
const READ_CHUNK: usize = 16 * 1024;

pub(crate) async fn run(
    client: &Client,
    to: Option<&str>,
    reply_to: Option<&str>,
    title: Option<String>,
    summary: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let mut writer = match (to, reply_to) {
        (Some(to), _) => client.cards().stream(ids::receiver(to)?),
        (None, Some(message)) => client.cards().stream_reply(&MessageId::new(message)),
        (None, None) => {
            return Err(Failure::Input(
                "say where the card goes: --to RECEIVER or --reply-to MESSAGE_ID".to_owned(),
            ));
        }
    };
    if let Some(title) = title {
        writer = writer.title(title);
    }
    let streamed = tokio::select! {
        read = copy_stdin(&mut writer) => match read {
            Ok(()) => writer.finish(summary).await?,
            Err(failure) => {
                // What was read still reaches the chat, marked as cut short.
                writer.abort().await?;
                return Err(failure);
            }
        },
        _ = tokio::signal::ctrl_c() => writer.abort().await?,
    };
    report(&streamed, json)
}

/// Pushes standard input into `writer` as it arrives, until it ends.
async fn copy_stdin(writer: &mut CardStream) -> Result<(), Failure> {
    let mut stdin = tokio::io::stdin();
    let mut buffer = vec![0_u8; READ_CHUNK];
    // Bytes of a character split between two reads.
    let mut carry: Vec<u8> = Vec::new();
    let mut offset: u64 = 0;
    loop {
        let read = stdin
            .read(&mut buffer)
            .await
            .map_err(|err| Failure::Local(format!("reading standard input: {err}")))?;
        if read == 0 {
            if carry.is_empty() {
                return Ok(());
            }
            return Err(not_utf8(offset));
        }
        carry.extend_from_slice(&buffer[..read]);
        let (valid, broken) = match std::str::from_utf8(&carry) {
            Ok(text) => (text.len(), false),
            Err(err) => (err.valid_up_to(), err.error_len().is_some()),
        };
        let text = std::str::from_utf8(&carry[..valid]).unwrap_or_default();
        writer.push(text)?;
        if broken {
            return Err(not_utf8(offset + valid as u64));
        }
        offset += valid as u64;
        carry.drain(..valid);
    }
}

fn not_utf8(offset: u64) -> Failure {
    Failure::Input(format!(
        "standard input is not UTF-8 at byte {offset}; lark stream takes UTF-8 text"
    ))
}

fn report(streamed: &Streamed, json: bool) -> Result<(), Failure> {
    if json {
        let mode = match streamed.mode {
            StreamMode::Streaming => "streaming",
            StreamMode::Patched => "patched",
            _ => "plain",
        };
        let value = json!({
            "message_ids": streamed.message_ids,
            "card_ids": streamed.card_ids,
            "mode": mode,
            "chars": streamed.chars,
            "operations": streamed.operations,
            "interrupted": streamed.interrupted,
        });
        return print(true, "", &value);
    }
    for id in &streamed.message_ids {
        print(false, id, &json!(null))?;
    }
    Ok(())
}
