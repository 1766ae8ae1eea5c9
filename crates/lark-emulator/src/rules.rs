//! What the platform accepts, written from its documentation alone: the content each `msg_type`
//! must carry, the size and count limits, the emoji types a reaction may use, and the image
//! formats an upload may hold. Nothing here comes from the SDK, so a rule the SDK gets wrong is
//! not mirrored here. `docs/protocol.md` gives the source of every rule.

use crate::codes::messages::{CARD_FAILED, INVALID_PARAM, TOO_LONG};
use crate::server::Fail;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------- limits

/// The request body of a `text` send, reply or edit: 150 KB (send message reference, 230025).
pub(crate) const TEXT_BODY_MAX: usize = 150 * 1024;
/// The request body of a `post` or `interactive` send, reply, edit or card update: 30 KB.
pub(crate) const RICH_BODY_MAX: usize = 30 * 1024;
/// Components in a card JSON 2.0; more is 230099 with sub-code 11310.
pub(crate) const CARD_COMPONENTS_MAX: usize = 200;
/// The divider text of a `system` message: 20 characters, a CJK character counting as two.
pub(crate) const DIVIDER_TEXT_MAX_WIDTH: usize = 20;
/// An idempotency `uuid`: at most 50 characters.
pub(crate) const UUID_MAX_CHARS: usize = 50;
/// An image upload: at most 10 MB, never empty.
pub(crate) const IMAGE_MAX_BYTES: usize = 10 * 1024 * 1024;
/// A file upload: at most 30 MB, never empty.
pub(crate) const FILE_MAX_BYTES: usize = 30 * 1024 * 1024;
/// Edits of one message.
pub(crate) const EDITS_MAX: u32 = 20;
/// The largest page of message history.
pub(crate) const HISTORY_PAGE_MAX: u32 = 50;
/// Users per chat creation or member call.
pub(crate) const USERS_PER_CALL_MAX: usize = 50;
/// Bots per chat creation or member removal.
pub(crate) const BOTS_PER_CALL_MAX: usize = 5;

/// The `msg_type`s the send endpoint takes.
pub(crate) const SENDABLE: [&str; 11] = [
    "text",
    "post",
    "image",
    "file",
    "audio",
    "media",
    "sticker",
    "interactive",
    "share_chat",
    "share_user",
    "system",
];

/// The tags a post paragraph may hold.
const POST_TAGS: [&str; 9] = [
    "text",
    "a",
    "at",
    "img",
    "media",
    "emotion",
    "hr",
    "code_block",
    "md",
];

/// Content that passed the checks: its JSON object.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) object: Map<String, Value>,
}

fn invalid(field: &'static str, description: impl Into<String>) -> Fail {
    Fail::field(INVALID_PARAM, field, description)
}

fn card_failed(sub_code: u32, message: &str) -> Fail {
    Fail::bad_request(
        CARD_FAILED,
        format!(
            "Failed to create card content, ext=ErrCode: {sub_code}; ErrMsg: {message}; ErrorValue: ; "
        ),
    )
}

/// Checks `content` (the JSON string the request carries) against what `msg_type` needs.
pub(crate) fn check(msg_type: &str, content: &str) -> Result<Checked, Fail> {
    if !SENDABLE.contains(&msg_type) {
        return Err(invalid(
            "msg_type",
            format!("`{msg_type}` is not one of {}", SENDABLE.join(", ")),
        ));
    }
    let object = match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return Err(invalid(
                "content",
                "must be a JSON object serialized into a string",
            ));
        }
        Err(err) => return Err(invalid("content", format!("is not valid JSON: {err}"))),
    };
    match msg_type {
        "text" => {
            required_string(&object, "text", "content.text")?;
        }
        "post" => check_post(&object)?,
        "image" => {
            required_string(&object, "image_key", "content.image_key")?;
        }
        "file" | "audio" | "sticker" => {
            required_string(&object, "file_key", "content.file_key")?;
        }
        "media" => {
            required_string(&object, "file_key", "content.file_key")?;
            optional_string(&object, "image_key", "content.image_key")?;
        }
        "interactive" => check_card(&object)?,
        "share_chat" => {
            required_string(&object, "chat_id", "content.chat_id")?;
        }
        "share_user" => {
            required_string(&object, "user_id", "content.user_id")?;
        }
        "system" => check_system(&object)?,
        _ => {}
    }
    Ok(Checked { object })
}

/// The request-body limit of `msg_type`: 150 KB for text, 30 KB for posts and cards.
pub(crate) fn check_body_size(msg_type: &str, body_len: usize) -> Result<(), Fail> {
    let limit = match msg_type {
        "text" => TEXT_BODY_MAX,
        "post" | "interactive" => RICH_BODY_MAX,
        _ => return Ok(()),
    };
    if body_len > limit {
        return Err(Fail::bad_request(
            TOO_LONG,
            "The length of the message content reaches its limit.",
        ));
    }
    Ok(())
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a str, Fail> {
    match object.get(key) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        Some(Value::String(_)) => Err(invalid(field, "must not be empty")),
        Some(_) => Err(invalid(field, "must be a string")),
        None => Err(invalid(field, "is required")),
    }
}

fn optional_string(
    object: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<(), Fail> {
    match object.get(key) {
        None | Some(Value::String(_) | Value::Null) => Ok(()),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

/// A locale key as posts use them: `zh_cn`, `en_us`, `ja_jp`, …
fn is_locale(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 5
        && bytes[2] == b'_'
        && bytes[..2].iter().all(u8::is_ascii_lowercase)
        && bytes[3..].iter().all(u8::is_ascii_lowercase)
}

/// A post: one object per locale, at least one with `content`, a list of paragraphs of
/// elements with known tags and their required fields.
fn check_post(post: &Map<String, Value>) -> Result<(), Fail> {
    if post.is_empty() {
        return Err(invalid(
            "content",
            "a post needs at least one locale, e.g. {\"zh_cn\":{\"title\":…,\"content\":[[…]]}}",
        ));
    }
    if let Some(key) = post.keys().find(|key| !is_locale(key)) {
        return Err(invalid(
            "content",
            format!(
                "`{key}` is not a locale: a post is {{\"zh_cn\":{{\"title\":…,\"content\":[[…]]}}}}, with no `post` wrapper"
            ),
        ));
    }
    let mut with_content = 0;
    for body in post.values() {
        let Value::Object(body) = body else {
            return Err(invalid("content", "each locale must be an object"));
        };
        if let Some(title) = body.get("title")
            && !title.is_string()
        {
            return Err(invalid("content", "a post title must be a string"));
        }
        let Some(paragraphs) = body.get("content") else {
            continue;
        };
        let Value::Array(paragraphs) = paragraphs else {
            return Err(invalid(
                "content",
                "a post's content must be a list of paragraphs",
            ));
        };
        with_content += 1;
        for paragraph in paragraphs {
            let Value::Array(elements) = paragraph else {
                return Err(invalid(
                    "content",
                    "each paragraph of a post must be a list of elements",
                ));
            };
            for element in elements {
                check_post_element(element)?;
            }
        }
    }
    if with_content == 0 {
        return Err(invalid("content", "no locale of the post has `content`"));
    }
    Ok(())
}

fn check_post_element(element: &Value) -> Result<(), Fail> {
    let Value::Object(element) = element else {
        return Err(invalid("content", "each post element must be an object"));
    };
    let Some(tag) = element.get("tag").and_then(Value::as_str) else {
        return Err(invalid("content", "each post element needs a `tag`"));
    };
    if !POST_TAGS.contains(&tag) {
        return Err(invalid(
            "content",
            format!("`{tag}` is not a post tag ({})", POST_TAGS.join(", ")),
        ));
    }
    let required: &[&str] = match tag {
        "text" | "md" | "code_block" => &["text"],
        "a" => &["text", "href"],
        "at" => &["user_id"],
        "img" => &["image_key"],
        "media" => &["file_key"],
        "emotion" => &["emoji_type"],
        _ => &[],
    };
    for key in required {
        if !element.get(*key).is_some_and(Value::is_string) {
            return Err(invalid(
                "content",
                format!("a post `{tag}` element needs the string `{key}`"),
            ));
        }
    }
    if let Some(style) = element.get("style")
        && !style
            .as_array()
            .is_some_and(|s| s.iter().all(Value::is_string))
    {
        return Err(invalid("content", "`style` must be a list of strings"));
    }
    Ok(())
}

/// A card in one of its four forms: JSON 1.0, JSON 2.0, a template, or a CardKit entity.
fn check_card(card: &Map<String, Value>) -> Result<(), Fail> {
    match card.get("type").and_then(Value::as_str) {
        Some("template") => {
            let id = card
                .get("data")
                .and_then(|d| d.get("template_id"))
                .and_then(Value::as_str);
            if id.is_none_or(str::is_empty) {
                return Err(card_failed(
                    200_621,
                    "parse card json err, please check whether the card json is correct",
                ));
            }
            return Ok(());
        }
        Some("card") => {
            let id = card
                .get("data")
                .and_then(|d| d.get("card_id"))
                .and_then(Value::as_str);
            if id.is_none_or(str::is_empty) {
                return Err(card_failed(
                    200_621,
                    "parse card json err, please check whether the card json is correct",
                ));
            }
            return Ok(());
        }
        _ => {}
    }
    if card.get("schema").and_then(Value::as_str) == Some("2.0") {
        let Some(Value::Object(body)) = card.get("body") else {
            return Err(card_failed(
                200_621,
                "parse card json err, please check whether the card json is correct",
            ));
        };
        let count = body
            .get("elements")
            .and_then(Value::as_array)
            .map_or(0, |elements| elements.iter().map(components).sum());
        if count > CARD_COMPONENTS_MAX {
            return Err(card_failed(11_310, "element exceeds the limit"));
        }
        return Ok(());
    }
    // A 1.0 card ignores properties it does not know, but without anything to show it is not
    // a card: a post or a text sent as `interactive` lands here.
    let shows_something = ["elements", "i18n_elements", "header", "i18n_header"]
        .iter()
        .any(|key| {
            card.get(*key)
                .is_some_and(|v| v.is_array() || v.is_object())
        });
    if !shows_something {
        return Err(card_failed(
            200_621,
            "parse card json err, please check whether the card json is correct",
        ));
    }
    Ok(())
}

/// How many components an element counts for, itself and every element nested in it.
pub(crate) fn components(element: &Value) -> usize {
    let Value::Object(object) = element else {
        return 0;
    };
    let nested: usize = ["elements", "columns", "actions"]
        .iter()
        .filter_map(|key| object.get(*key).and_then(Value::as_array))
        .flatten()
        .map(components)
        .sum();
    1 + nested
}

/// A `system` message: only the divider, with a text of at most 20 half-width characters.
fn check_system(system: &Map<String, Value>) -> Result<(), Fail> {
    if system.get("type").and_then(Value::as_str) != Some("divider") {
        return Err(invalid(
            "content.type",
            "the only system message is `divider`",
        ));
    }
    let text = system
        .get("params")
        .and_then(|p| p.get("divider_text"))
        .and_then(|d| d.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if text.is_empty() {
        return Err(invalid(
            "content.params.divider_text.text",
            "is required and may not be empty",
        ));
    }
    if display_width(text) > DIVIDER_TEXT_MAX_WIDTH {
        return Err(invalid(
            "content.params.divider_text.text",
            "is longer than 20 characters (10 CJK characters)",
        ));
    }
    Ok(())
}

/// Width as the divider limit counts it: East Asian wide characters count two.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let wide = matches!(u32::from(c),
                0x1100..=0x115F
                | 0x2E80..=0x303E
                | 0x3041..=0x33FF
                | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF
                | 0xA000..=0xA4CF
                | 0xAC00..=0xD7A3
                | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60
                | 0xFFE0..=0xFFE6
                | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

// ---------------------------------------------------------------------------------- reactions

/// The `emoji_type`s of the reaction documentation's emoji table, one per line.
const EMOJI_TYPES: &str = include_str!("emoji_types.txt");

/// Whether `emoji_type` is one the documentation lists (case-sensitive, as listed).
pub(crate) fn known_emoji(emoji_type: &str) -> bool {
    !emoji_type.is_empty()
        && EMOJI_TYPES
            .lines()
            .filter(|line| !line.starts_with('#'))
            .any(|line| line.trim() == emoji_type)
}

// ---------------------------------------------------------------------------------- uploads

/// The image format `bytes` hold, from their magic numbers: the formats the image upload
/// accepts (JPG, PNG, WEBP, GIF, BMP, ICO, TIFF, HEIC), or `None`.
pub(crate) fn image_format(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("gif")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("webp")
    } else if starts(b"BM") && bytes.len() > 14 {
        Some("bmp")
    } else if starts(&[0, 0, 1, 0]) && bytes.len() > 6 {
        Some("ico")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("tiff")
    } else if bytes.get(4..8) == Some(b"ftyp")
        && bytes.get(8..12).is_some_and(|brand| {
            [&b"heic"[..], b"heix", b"mif1", b"msf1", b"hevc"].contains(&brand)
        })
    {
        Some("heic")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<Checked, Fail>) -> i64 {
        result.map_or_else(|fail| fail.code, |_| 0)
    }

    #[test]
    fn a_post_needs_a_locale_with_content() {
        assert_eq!(
            code(check(
                "post",
                r#"{"zh_cn":{"content":[[{"tag":"text","text":"hi"}]]},"en_us":{}}"#
            )),
            0
        );
        assert_eq!(
            code(check(
                "post",
                r#"{"title":"t","content":[[{"tag":"text","text":"hi"}]]}"#
            )),
            INVALID_PARAM,
            "the received, flattened form"
        );
        assert_eq!(
            code(check("post", r#"{"post":{"zh_cn":{"content":[]}}}"#)),
            INVALID_PARAM,
            "the legacy wrapper"
        );
        assert_eq!(
            code(check("post", r#"{"zh_cn":{"title":"only a title"}}"#)),
            INVALID_PARAM
        );
        assert_eq!(code(check("post", "{}")), INVALID_PARAM);
        assert_eq!(
            code(check(
                "post",
                r#"{"zh_cn":{"content":[[{"tag":"a","text":"x"}]]}}"#
            )),
            INVALID_PARAM,
            "a link needs href"
        );
    }

    #[test]
    fn a_card_sent_as_a_post_or_a_post_as_a_card_is_refused() {
        let card = r#"{"config":{},"elements":[{"tag":"markdown","content":"hi"}]}"#;
        assert_eq!(code(check("interactive", card)), 0);
        assert_eq!(code(check("post", card)), INVALID_PARAM);
        let post = r#"{"zh_cn":{"content":[[{"tag":"text","text":"hi"}]]}}"#;
        assert_eq!(code(check("interactive", post)), CARD_FAILED);
        assert_eq!(code(check("interactive", r#"{"text":"hi"}"#)), CARD_FAILED);
    }

    #[test]
    fn content_of_another_type_is_refused() {
        assert_eq!(code(check("image", r#"{"text":"hi"}"#)), INVALID_PARAM);
        assert_eq!(
            code(check("text", r#"{"image_key":"img_1"}"#)),
            INVALID_PARAM
        );
        assert_eq!(code(check("file", r#"{"file_key":5}"#)), INVALID_PARAM);
        assert_eq!(code(check("text", r#""just a string""#)), INVALID_PARAM);
        assert_eq!(code(check("text", "not json")), INVALID_PARAM);
        assert_eq!(
            code(check("location", r#"{"name":"x"}"#)),
            INVALID_PARAM,
            "received-only"
        );
    }

    #[test]
    fn a_v2_card_may_hold_two_hundred_components() {
        let card = |n: usize| {
            let elements: Vec<Value> = (0..n)
                .map(|_| serde_json::json!({"tag": "markdown", "content": "x"}))
                .collect();
            serde_json::json!({"schema": "2.0", "body": {"elements": elements}}).to_string()
        };
        assert_eq!(code(check("interactive", &card(200))), 0);
        assert_eq!(code(check("interactive", &card(201))), CARD_FAILED);
    }

    #[test]
    fn the_divider_text_is_at_most_twenty_half_width_characters() {
        let divider = |text: &str| {
            serde_json::json!({"type": "divider", "params": {"divider_text": {"text": text}}})
                .to_string()
        };
        assert_eq!(code(check("system", &divider("New Session"))), 0);
        assert_eq!(code(check("system", &divider("一二三四五六七八九十"))), 0);
        assert_eq!(
            code(check("system", &divider("一二三四五六七八九十一"))),
            INVALID_PARAM
        );
        assert_eq!(code(check("system", &divider(""))), INVALID_PARAM);
    }

    #[test]
    fn body_limits_apply_to_text_posts_and_cards() {
        assert!(check_body_size("text", TEXT_BODY_MAX).is_ok());
        assert_eq!(
            check_body_size("text", TEXT_BODY_MAX + 1).unwrap_err().code,
            TOO_LONG
        );
        assert_eq!(
            check_body_size("interactive", RICH_BODY_MAX + 1)
                .unwrap_err()
                .code,
            TOO_LONG
        );
        assert!(check_body_size("image", 10 * RICH_BODY_MAX).is_ok());
    }

    #[test]
    fn emoji_types_come_from_the_documented_table() {
        for known in ["THUMBSUP", "SMILE", "OK", "Typing", "DONE"] {
            assert!(known_emoji(known), "{known}");
        }
        for unknown in ["NOT_AN_EMOJI", "thumbsup", "", "THUMBS UP"] {
            assert!(!known_emoji(unknown), "{unknown}");
        }
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(image_format(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("png"));
        assert_eq!(
            image_format(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some("jpeg")
        );
        assert_eq!(image_format(b"GIF89a\x01\0\x01\0"), Some("gif"));
        assert_eq!(image_format(b"RIFF\x24\0\0\0WEBPVP8 "), Some("webp"));
        assert_eq!(image_format(b"hello, this is a text file\n"), None);
        assert_eq!(image_format(b"%PDF-1.7\n"), None);
    }
}
