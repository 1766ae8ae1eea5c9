//! `lark event decode`: the webhook endpoint's checks, on a delivery saved to a file.

use crate::args::DecodeArgs;
use crate::output::Failure;
use lark::events::{EventConfig, receive};
use std::io::Read;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Checks and decodes the delivery; prints a summary line and the pretty JSON, or with `--json`
/// the JSON alone on one line.
pub(crate) fn decode(args: &DecodeArgs, json: bool) -> Result<(), Failure> {
    let body = if args.input == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|err| Failure::Local(format!("reading standard input: {err}")))?;
        body
    } else {
        std::fs::read(&args.input)
            .map_err(|err| Failure::Local(format!("reading {}: {err}", args.input)))?
    };
    let mut config = EventConfig::new();
    if let Some(key) = &args.encrypt_key {
        config = config.encrypt_key(key.as_str());
    }
    if let Some(token) = &args.verification_token {
        config = config.verification_token(token.as_str());
    }
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("x-lark-request-timestamp", &args.timestamp),
        ("x-lark-request-nonce", &args.nonce),
        ("x-lark-signature", &args.signature),
    ] {
        if let Some(value) = value {
            let value = http::HeaderValue::from_str(value).map_err(|_| {
                Failure::Input(format!("the {name} value is not a valid header value"))
            })?;
            headers.insert(name, value);
        }
    }
    let now = args.now.map_or_else(SystemTime::now, |seconds| {
        UNIX_EPOCH + Duration::from_secs(seconds)
    });
    let incoming = receive(&config, &headers, &body, now).map_err(Failure::Event)?;
    let value = incoming.to_json();
    let text = if json {
        value.to_string()
    } else {
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
        format!("{}\n{pretty}", summary(&value))
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(crate::output::write_failure)
}

/// The first line of the text output: what the delivery is, in a few words.
fn summary(value: &serde_json::Value) -> String {
    let field = |name: &str| value[name].as_str().unwrap_or("-").to_owned();
    match value["kind"].as_str() {
        Some("event") => format!(
            "verified event {} (event_id {})",
            field("event_type"),
            field("event_id")
        ),
        Some("card_action") => "verified card action".to_owned(),
        Some("challenge") => "verified url challenge".to_owned(),
        other => format!("verified {}", other.unwrap_or("delivery")),
    }
}
