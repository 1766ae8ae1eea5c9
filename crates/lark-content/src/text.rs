//! `text` messages: `{"text": "…"}`.
//!
//! On the send side the text may carry markup: `<at user_id="ou_…">Tom</at>`, `<at user_id="all"></at>`,
//! `<b> <i> <u> <s>` and `[text](url)` links. [`TextBuilder`] writes that markup, and keeps text the
//! user supplied from ever being read as markup.
//!
//! On the receive side mentions arrive as placeholders, `@_user_1` … `@_user_N` and `@_all`, with
//! the people behind them in the message's `mentions`. [`Text::segments`] resolves them.

use crate::id::{OpenId, UnionId, UserId};
use crate::mention::Mention;
use crate::object::wire_object;

/// The placeholder a received text carries for "@all".
pub const AT_ALL_PLACEHOLDER: &str = "@_all";

/// The placeholder prefix for a mentioned user in received text: `@_user_1`, `@_user_2`, …
pub const AT_USER_PLACEHOLDER_PREFIX: &str = "@_user_";

wire_object! {
    /// A `text` message.
    ///
    /// ```
    /// use lark_content::{MessageContent, Text};
    /// let content = MessageContent::from(Text::new("hello \"world\""));
    /// assert_eq!(content.msg_type(), "text");
    /// assert_eq!(content.encode(), r#"{"text":"hello \"world\""}"#);
    /// ```
    pub struct Text {
        /// The text, with send-side markup or receive-side placeholders.
        req text: String => "text",
    }
}

impl Text {
    /// A text message holding exactly `text`. Markup in it is sent as markup; to send text from
    /// a user literally, use [`Text::builder`] and [`TextBuilder::text`].
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            extra: serde_json::Map::new(),
        }
    }

    /// A builder that writes mentions, styles and links, and escapes literal text.
    pub fn builder() -> TextBuilder {
        TextBuilder::default()
    }

    /// Splits a received text into plain runs and mentions, resolving each `@_user_N` placeholder
    /// against the message's `mentions` and `@_all` to [`Segment::AtAll`]. A placeholder with no
    /// matching mention stays plain text.
    ///
    /// ```
    /// use lark_content::{Mention, Segment, Text};
    /// let mention = Mention { key: "@_user_1".into(), name: "Tom".into(), ..Mention::default() };
    /// let text = Text::new("@_user_1 hello");
    /// let segments: Vec<_> = text.segments(std::slice::from_ref(&mention)).collect();
    /// assert_eq!(segments, [Segment::Mention(&mention), Segment::Text(" hello")]);
    /// ```
    #[must_use]
    pub fn segments<'a>(&'a self, mentions: &'a [Mention]) -> Segments<'a> {
        Segments {
            rest: &self.text,
            mentions,
        }
    }

    /// The text as a person reads it: each mention replaced by `@name`, `@_all` by `@all`.
    #[must_use]
    pub fn to_plain(&self, mentions: &[Mention]) -> String {
        let mut out = String::with_capacity(self.text.len());
        for segment in self.segments(mentions) {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Mention(mention) => {
                    out.push('@');
                    out.push_str(&mention.name);
                }
                Segment::AtAll => out.push_str("@all"),
            }
        }
        out
    }

    /// The text with every mention placeholder removed and the rest trimmed: what a bot usually
    /// wants when it was addressed as `@bot do something`.
    #[must_use]
    pub fn without_mentions(&self, mentions: &[Mention]) -> String {
        let mut out = String::with_capacity(self.text.len());
        for segment in self.segments(mentions) {
            if let Segment::Text(text) = segment {
                out.push_str(text);
            }
        }
        out.trim().to_owned()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

/// A piece of a received text, from [`Text::segments`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Plain text.
    Text(&'a str),
    /// A resolved `@_user_N` placeholder.
    Mention(&'a Mention),
    /// `@_all`. Group messages often omit the `mentions` entry for it, so it resolves on its own.
    AtAll,
}

/// Iterator over the [`Segment`]s of a received text.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    rest: &'a str,
    mentions: &'a [Mention],
}

impl<'a> Segments<'a> {
    /// If `s` starts with a placeholder, its length and what it resolves to.
    fn placeholder(&self, s: &str) -> Option<(usize, Segment<'a>)> {
        if let Some(after) = s.strip_prefix(AT_USER_PLACEHOLDER_PREFIX) {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let len = AT_USER_PLACEHOLDER_PREFIX.len() + digits;
            let key = &s[..len];
            return self
                .mentions
                .iter()
                .find(|m| m.key == key)
                .map(|m| (len, Segment::Mention(m)));
        }
        if let Some(after) = s.strip_prefix(AT_ALL_PLACEHOLDER) {
            let continues = after
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !continues {
                return Some((AT_ALL_PLACEHOLDER.len(), Segment::AtAll));
            }
        }
        None
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        if let Some((len, segment)) = self.placeholder(rest) {
            self.rest = &rest[len..];
            return Some(segment);
        }
        // Plain text runs up to the next placeholder that resolves.
        let mut search_from = 1;
        while let Some(offset) = rest[search_from..].find("@_") {
            let at = search_from + offset;
            if self.placeholder(&rest[at..]).is_some() {
                self.rest = &rest[at..];
                return Some(Segment::Text(&rest[..at]));
            }
            search_from = at + 2;
        }
        self.rest = "";
        Some(Segment::Text(rest))
    }
}

/// An id a text mention can name: an `open_id`, `union_id` or `user_id`.
pub trait MentionTarget {
    /// The id as written in `<at user_id="…">`.
    fn mention_id(&self) -> &str;
}

impl MentionTarget for OpenId {
    fn mention_id(&self) -> &str {
        self.as_str()
    }
}

impl MentionTarget for UnionId {
    fn mention_id(&self) -> &str {
        self.as_str()
    }
}

impl MentionTarget for UserId {
    fn mention_id(&self) -> &str {
        self.as_str()
    }
}

/// Builds send-side text with mentions, styles and links.
///
/// Text given to [`text`](Self::text) and to the style and link methods is literal: a `<`
/// that would open a tag (`<at`, `<b>`, `</…`) gets a zero-width space (U+200B) after it, and so
/// does the `]` of a would-be `[text](url)` link, so that nothing a user typed can mention
/// someone, style text or make a link. The JSON encoding itself needs no help: quotes,
/// backslashes and control characters are escaped when the content is encoded.
///
/// ```
/// use lark_content::{OpenId, Text};
/// let text = Text::builder()
///     .at(&OpenId::new("ou_7d8a6e6df7621556ce0d21922b676706ccs"), "Tom")
///     .text(" deploy finished: ")
///     .bold("green")
///     .text(", see ")
///     .link("the run", "https://example.com/runs/42")
///     .build();
/// assert_eq!(
///     text.text,
///     "<at user_id=\"ou_7d8a6e6df7621556ce0d21922b676706ccs\">Tom</at> deploy finished: \
///      <b>green</b>, see [the run](https://example.com/runs/42)"
/// );
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct TextBuilder {
    buf: String,
}

/// U+200B ZERO WIDTH SPACE: invisible, and breaks the platform's tag and link syntax.
const BREAK: char = '\u{200B}';

impl TextBuilder {
    /// Appends literal text.
    pub fn text(mut self, text: &str) -> Self {
        push_literal(&mut self.buf, text);
        self
    }

    /// Appends markup exactly as given. Only for markup the program wrote itself.
    pub fn raw(mut self, markup: &str) -> Self {
        self.buf.push_str(markup);
        self
    }

    /// Appends a line break.
    pub fn newline(mut self) -> Self {
        self.buf.push('\n');
        self
    }

    /// Mentions a user; `name` is optional in the platform's syntax and may be empty.
    pub fn at(mut self, user: &impl MentionTarget, name: &str) -> Self {
        self.buf.push_str("<at user_id=\"");
        push_attribute(&mut self.buf, user.mention_id());
        self.buf.push_str("\">");
        push_literal(&mut self.buf, name);
        self.buf.push_str("</at>");
        self
    }

    /// Mentions everyone in the group (the group must allow @all).
    pub fn at_all(mut self) -> Self {
        self.buf.push_str("<at user_id=\"all\"></at>");
        self
    }

    /// Appends literal text in bold.
    pub fn bold(self, text: &str) -> Self {
        self.styled("b", text)
    }

    /// Appends literal text in italics.
    pub fn italic(self, text: &str) -> Self {
        self.styled("i", text)
    }

    /// Appends literal text underlined.
    pub fn underline(self, text: &str) -> Self {
        self.styled("u", text)
    }

    /// Appends literal text struck through.
    pub fn strikethrough(self, text: &str) -> Self {
        self.styled("s", text)
    }

    fn styled(mut self, tag: &str, text: &str) -> Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push('>');
        push_literal(&mut self.buf, text);
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// Appends a link, `[text](url)`. Characters that would end the link early (`)`, spaces)
    /// are percent-encoded in the url.
    pub fn link(mut self, text: &str, url: &str) -> Self {
        self.buf.push('[');
        push_literal(&mut self.buf, &text.replace(']', "]\u{200B}"));
        self.buf.push_str("](");
        for c in url.chars() {
            match c {
                ')' => self.buf.push_str("%29"),
                '(' => self.buf.push_str("%28"),
                ' ' => self.buf.push_str("%20"),
                '\n' | '\r' | '\t' => {}
                c => self.buf.push(c),
            }
        }
        self.buf.push(')');
        self
    }

    /// The finished text.
    #[must_use]
    pub fn build(self) -> Text {
        Text::new(self.buf)
    }
}

/// Appends user text so that the platform reads it as text, never as a tag or link.
fn push_literal(buf: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        buf.push(c);
        match c {
            '<' if chars
                .peek()
                .is_some_and(|next| next.is_ascii_alphabetic() || *next == '/') =>
            {
                buf.push(BREAK);
            }
            ']' if chars.peek() == Some(&'(') => buf.push(BREAK),
            _ => {}
        }
    }
}

/// Appends an id inside a double-quoted attribute; characters that could close it are replaced
/// by their entity, so an odd id fails to resolve instead of rewriting the markup.
fn push_attribute(buf: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' => buf.push_str("&quot;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '&' => buf.push_str("&amp;"),
            c if c.is_control() => {}
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mention(key: &str, name: &str) -> Mention {
        Mention {
            key: key.into(),
            name: name.into(),
            ..Mention::default()
        }
    }

    #[test]
    fn segments_resolve_users_and_all() {
        let mentions = [mention("@_user_1", "Tom"), mention("@_user_10", "Ten")];
        let text = Text::new("hi @_user_1 and @_user_10, @_all!");
        let segments: Vec<_> = text.segments(&mentions).collect();
        assert_eq!(
            segments,
            [
                Segment::Text("hi "),
                Segment::Mention(&mentions[0]),
                Segment::Text(" and "),
                Segment::Mention(&mentions[1]),
                Segment::Text(", "),
                Segment::AtAll,
                Segment::Text("!"),
            ]
        );
        assert_eq!(text.to_plain(&mentions), "hi @Tom and @Ten, @all!");
    }

    #[test]
    fn unmatched_placeholders_stay_text() {
        let text = Text::new("@_user_2 @_alliance @_user_ x");
        let segments: Vec<_> = text.segments(&[]).collect();
        assert_eq!(segments, [Segment::Text("@_user_2 @_alliance @_user_ x")]);
    }

    #[test]
    fn without_mentions_strips_the_bot_address() {
        let mentions = [mention("@_user_1", "bot")];
        assert_eq!(
            Text::new("@_user_1  deploy prod ").without_mentions(&mentions),
            "deploy prod"
        );
    }

    #[test]
    fn literal_text_cannot_inject_a_mention_or_style() {
        let text = Text::builder()
            .text(r#"<at user_id="all"></at> <b>x</b> [a](http://e.x) a < b"#)
            .build();
        assert!(!text.text.contains("<at"));
        assert!(!text.text.contains("<b>"));
        assert!(!text.text.contains("</"));
        assert!(!text.text.contains("]("));
        assert!(text.text.contains("a < b"), "a lone `<` is left alone");
        assert_eq!(
            text.text.replace('\u{200B}', ""),
            r#"<at user_id="all"></at> <b>x</b> [a](http://e.x) a < b"#
        );
    }

    #[test]
    fn mention_ids_cannot_break_out_of_the_attribute() {
        let text = Text::builder()
            .at(&OpenId::new("ou_1\"><at user_id=\"all"), "</at>")
            .build();
        assert_eq!(
            text.text,
            "<at user_id=\"ou_1&quot;&gt;&lt;at user_id=&quot;all\"><\u{200B}/at></at>"
        );
    }

    #[test]
    fn links_keep_their_url_inside_the_parentheses() {
        let text = Text::builder().link("a]b", "https://e.x/a b(c)").build();
        assert_eq!(text.text, "[a]\u{200B}b](https://e.x/a%20b%28c%29)");
    }

    #[test]
    fn at_all_uses_the_documented_syntax() {
        assert_eq!(
            Text::builder().at_all().build().text,
            "<at user_id=\"all\"></at>"
        );
    }
}
