//! Any received message as Markdown, for a language model or a log: nothing the sender wrote is
//! left out, and what cannot be text becomes a bracketed placeholder that keeps its key.
//!
//! ```
//! use lark_content::{Mention, MessageContent};
//!
//! let post = MessageContent::decode(
//!     "post",
//!     r#"{"title":"Plan","content":[[{"tag":"text","text":"ship ","style":["bold"]},
//!        {"tag":"a","text":"v2","href":"https://example.com/v2"}],
//!       [{"tag":"img","image_key":"img_v2_041b28e3-5680-48c2-9af2-497ace79333g"}]]}"#,
//! )?;
//! assert_eq!(
//!     post.to_markdown(&[]),
//!     "**Plan**\n\n**ship **[v2](https://example.com/v2)\n[image img_v2_041b28e3-5680-48c2-9af2-497ace79333g]"
//! );
//! # Ok::<(), lark_content::ContentError>(())
//! ```

use crate::card::Card;
use crate::post::{PostBody, PostElement, TextStyle};
use crate::{Mention, MessageContent};
use serde_json::Value;
use std::fmt::Write as _;

impl MessageContent {
    /// The content as Markdown: a text with each mention as `@name` and `@_all` as `@all`; a
    /// post with its title, styles, links, mentions, code blocks and rules; a card as its
    /// title and texts; images, files, audio, video, stickers, shared chats and users,
    /// locations, meetings, tasks, votes, calendar events and merged forwards as bracketed
    /// placeholders that keep their keys and names. `mentions` are the message's, to resolve
    /// the `@_user_N` placeholders.
    #[must_use]
    pub fn to_markdown(&self, mentions: &[Mention]) -> String {
        let mut out = String::new();
        match self {
            Self::Text(text) => out = text.to_plain(mentions),
            Self::Post(post) => {
                if let Some(body) = post.body("en_us") {
                    post_markdown(body, mentions, &mut out);
                }
            }
            Self::Interactive(card) => card_markdown(card, &mut out),
            Self::Unknown { msg_type, content }
            | Self::Unmodelled {
                msg_type, content, ..
            } => {
                let texts = serde_json::from_str::<Value>(content)
                    .map(|json| {
                        let mut texts = Vec::new();
                        strings(&json, &mut texts);
                        texts.join(" ")
                    })
                    .unwrap_or_default();
                let _ = write!(out, "[{msg_type} message");
                if !texts.is_empty() {
                    let _ = write!(out, ": {texts}");
                }
                out.push(']');
            }
            _ => placeholders(self, &mut out),
        }
        out
    }
}

/// Placeholders for what is not text: media, shares, places, meetings, tasks, votes, events.
fn placeholders(content: &MessageContent, out: &mut String) {
    match content {
        MessageContent::Image(image) => {
            let _ = write!(out, "[image {}]", image.image_key);
        }
        MessageContent::File(f) => placeholder(out, "file", f.file_name.as_deref(), &f.file_key),
        MessageContent::Folder(f) => {
            placeholder(out, "folder", f.file_name.as_deref(), &f.file_key);
        }
        MessageContent::Audio(audio) => {
            let _ = write!(out, "[audio {}", audio.file_key);
            if let Some(ms) = audio.duration {
                let _ = write!(out, ", {} s", ms.div_ceil(1000));
            }
            out.push(']');
        }
        MessageContent::Media(f) => placeholder(out, "video", f.file_name.as_deref(), &f.file_key),
        MessageContent::Sticker(sticker) => {
            let _ = write!(out, "[sticker {}]", sticker.file_key);
        }
        MessageContent::ShareChat(share) => {
            let _ = write!(out, "[shared chat {}]", share.chat_id);
        }
        MessageContent::ShareUser(share) => {
            let _ = write!(out, "[shared contact {}]", share.user_id);
        }
        MessageContent::Location(location) => {
            out.push_str("[location");
            if let Some(name) = &location.name {
                let _ = write!(out, " {name}");
            }
            if let (Some(lat), Some(long)) = (&location.latitude, &location.longitude) {
                let _ = write!(out, " ({lat}, {long})");
            }
            out.push(']');
        }
        MessageContent::VideoChat(chat) => {
            let _ = write!(
                out,
                "[video meeting {}]",
                chat.topic.as_deref().unwrap_or("")
            );
        }
        MessageContent::Todo(todo) => {
            out.push_str("[task");
            if let Some(summary) = &todo.summary {
                let _ = write!(out, ": {}", summary.to_plain());
            }
            out.push(']');
        }
        MessageContent::Vote(vote) => {
            let _ = write!(out, "[vote: {}", vote.topic.as_deref().unwrap_or(""));
            for option in vote.options.iter().flatten() {
                let _ = write!(out, "\n- {option}");
            }
            out.push(']');
        }
        MessageContent::Hongbao(packet) => {
            let _ = write!(out, "[red packet {}]", packet.text.as_deref().unwrap_or(""));
        }
        MessageContent::MergeForward(_) => out.push_str(
            "[merged forward: its messages are read one by one through the message endpoint]",
        ),
        MessageContent::ShareCalendarEvent(event)
        | MessageContent::Calendar(event)
        | MessageContent::GeneralCalendar(event) => {
            let _ = write!(
                out,
                "[calendar event {}]",
                event.summary.as_deref().unwrap_or("")
            );
        }
        MessageContent::System(_) => out.push_str("[system message]"),
        _ => {}
    }
}

fn placeholder(out: &mut String, what: &str, name: Option<&str>, key: &crate::FileKey) {
    let _ = match name {
        Some(name) if !name.is_empty() => write!(out, "[{what} {name} ({key})]"),
        _ => write!(out, "[{what} {key}]"),
    };
}

fn styled(out: &mut String, text: &str, style: Option<&Vec<TextStyle>>) {
    let has = |s: TextStyle| style.is_some_and(|list| list.contains(&s));
    let marks: String = [
        (TextStyle::Bold, "**"),
        (TextStyle::Italic, "*"),
        (TextStyle::LineThrough, "~~"),
    ]
    .into_iter()
    .filter(|(s, _)| has(s.clone()))
    .map(|(_, mark)| mark)
    .collect();
    if marks.is_empty() || text.trim().is_empty() {
        out.push_str(text);
        return;
    }
    out.push_str(&marks);
    out.push_str(text);
    out.extend(marks.chars().rev());
}

fn post_markdown(body: &PostBody, mentions: &[Mention], out: &mut String) {
    if let Some(title) = body.title.as_deref().filter(|t| !t.is_empty()) {
        let _ = write!(out, "**{title}**\n\n");
    }
    for (index, paragraph) in body.paragraphs().iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        for element in paragraph {
            match element {
                PostElement::Text(e) => styled(out, &e.text, e.style.as_ref()),
                PostElement::Link(e) => {
                    let _ = write!(out, "[{}]({})", e.text, e.href);
                }
                PostElement::At(e) => {
                    let name = e
                        .user_name
                        .as_deref()
                        .filter(|n| !n.is_empty())
                        .or_else(|| {
                            mentions
                                .iter()
                                .find(|m| m.key == e.user_id)
                                .map(|m| m.name.as_str())
                        });
                    match (name, e.user_id.as_str()) {
                        (Some(name), _) => {
                            let _ = write!(out, "@{name}");
                        }
                        (None, "all") => out.push_str("@all"),
                        (None, id) => {
                            let _ = write!(out, "@{id}");
                        }
                    }
                }
                PostElement::Img(e) => {
                    let _ = write!(out, "[image {}]", e.image_key);
                }
                PostElement::Media(e) => {
                    let _ = write!(out, "[video {}]", e.file_key);
                }
                PostElement::Emotion(e) => {
                    let _ = write!(out, ":{}:", e.emoji_type);
                }
                PostElement::Hr(_) => out.push_str("\n---\n"),
                PostElement::CodeBlock(e) => {
                    let language = e.language.as_deref().unwrap_or("").to_ascii_lowercase();
                    let _ = write!(
                        out,
                        "\n```{language}\n{}\n```\n",
                        e.text.trim_end_matches('\n')
                    );
                }
                PostElement::Markdown(e) => out.push_str(&e.text),
                PostElement::Unknown(map) => {
                    let mut texts = Vec::new();
                    strings(&Value::Object(map.clone()), &mut texts);
                    out.push_str(&texts.join(" "));
                }
            }
        }
    }
}

/// A card's title and texts, one per line.
fn card_markdown(card: &Card, out: &mut String) {
    let json = serde_json::to_value(card).unwrap_or(Value::Null);
    let mut texts = Vec::new();
    strings(&json, &mut texts);
    out.push_str(&texts.join("\n"));
}

/// The texts a person reads in `value`: strings under `title`, `content` and `text` keys, in
/// document order, ignoring ids, tags, urls and keys.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            // A header and a title come first, as a reader sees them, whatever the key order.
            const FIRST: [&str; 3] = ["header", "title", "subtitle"];
            let first = FIRST.iter().filter_map(|k| map.get_key_value(*k));
            let rest = map.iter().filter(|(k, _)| !FIRST.contains(&k.as_str()));
            for (key, value) in first.chain(rest) {
                match (key.as_str(), value) {
                    ("title" | "content" | "text" | "subtitle", Value::String(s)) => {
                        if !s.trim().is_empty() {
                            out.push(s.clone());
                        }
                    }
                    (_, Value::String(_)) => {}
                    _ => strings(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::Mention;
    use crate::MessageContent;

    fn md(msg_type: &str, content: &str) -> String {
        MessageContent::decode(msg_type, content)
            .unwrap()
            .to_markdown(&[])
    }

    #[test]
    fn a_text_names_its_mentions() {
        let mention: Mention = serde_json::from_value(serde_json::json!({
            "key": "@_user_1", "id": {"open_id": "ou_84aad35d084aa403a838cf73ee18467"},
            "name": "Tom", "tenant_key": "736588c9260f175e"
        }))
        .unwrap();
        let text =
            MessageContent::decode("text", r#"{"text":"@_user_1 and @_all: ship it"}"#).unwrap();
        assert_eq!(text.to_markdown(&[mention]), "@Tom and @all: ship it");
    }

    #[test]
    fn a_post_keeps_its_styles_code_and_rules() {
        let post = md(
            "post",
            r#"{"title":"","content":[[{"tag":"text","text":"old","style":["lineThrough"]},{"tag":"text","text":" new","style":["italic"]}],[{"tag":"hr"}],[{"tag":"code_block","language":"GO","text":"func main() {}\n"}],[{"tag":"at","user_id":"@_user_1","user_name":"Alice"},{"tag":"emotion","emoji_type":"SMILE"}]]}"#,
        );
        assert_eq!(
            post,
            "~~old~~* new*\n\n---\n\n\n```go\nfunc main() {}\n```\n\n@Alice:SMILE:"
        );
    }

    #[test]
    fn media_become_placeholders_that_keep_their_keys() {
        assert_eq!(
            md(
                "file",
                r#"{"file_key":"file_v2_9e4e4c3a","file_name":"plan.pdf"}"#
            ),
            "[file plan.pdf (file_v2_9e4e4c3a)]"
        );
        assert_eq!(
            md("audio", r#"{"file_key":"file_v2_a1","duration":2100}"#),
            "[audio file_v2_a1, 3 s]"
        );
        assert_eq!(
            md("image", r#"{"image_key":"img_v2_041b"}"#),
            "[image img_v2_041b]"
        );
        assert_eq!(
            md(
                "merge_forward",
                r#"{"content":"Merged and Forwarded Message"}"#
            ),
            "[merged forward: its messages are read one by one through the message endpoint]"
        );
        assert_eq!(
            md("hologram", r#"{"text":"beam me"}"#),
            "[hologram message: beam me]"
        );
    }

    #[test]
    fn a_received_card_reads_as_its_title_and_texts() {
        let card = md(
            "interactive",
            r#"{"title":"Deploy","elements":[[{"tag":"text","text":"v2.1 is ready"}],[{"tag":"button","text":"Approve","value":{"action":"approve"}}]]}"#,
        );
        assert_eq!(card, "Deploy\nv2.1 is ready\nApprove");
    }
}
