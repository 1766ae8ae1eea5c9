//! A Markdown answer (a language model's, say) as the messages that show it best.
//!
//! A post's `md` element renders headings, lists, emphasis, links and code, but not tables; a
//! card 2.0 `markdown` element renders tables too. Both hold at most 30 KB of content. So
//! [`MarkdownReply::new`] sends a post when it can and a card when the text has a table, and
//! splits a long answer into several messages: between blocks where it can, then between
//! lines, then between words. A code block that has to be split is closed and opened again
//! around the cut, and a table repeats its header, so every part renders on its own. Nothing
//! is dropped: every word of the answer is in exactly one part, in order.
//!
//! ```
//! use lark_content::markdown::{MarkdownForm, MarkdownReply};
//!
//! let reply = MarkdownReply::new("| plan | price |\n|---|---|\n| Team | $8 |\n")?;
//! assert_eq!(reply.form(), MarkdownForm::Card);
//! assert_eq!(reply.parts().len(), 1);
//!
//! let long = "word ".repeat(20_000);
//! let reply = MarkdownReply::new(&long)?;
//! assert_eq!(reply.form(), MarkdownForm::Post);
//! assert!(reply.parts().len() > 1);
//! # Ok::<(), lark_content::ContentError>(())
//! ```

use crate::card::{CardV2, Markdown};
use crate::limits::{CARD_MAX_BYTES, POST_MAX_BYTES};
use crate::post::{Post, PostBody, PostElement};
use crate::{ContentError, MessageContent};

/// Room kept free in each part beside the measured wrapping, so that a part never lands on the
/// limit exactly.
const MARGIN: usize = 512;

/// Which message type a Markdown answer is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarkdownForm {
    /// A post holding one `md` element: the usual form.
    Post,
    /// A card 2.0 holding one `markdown` element: for text with a table, which posts cannot
    /// show.
    Card,
}

/// A Markdown answer as one or more messages, each checked with
/// [`validate`](MessageContent::validate).
#[derive(Clone, Debug)]
pub struct MarkdownReply {
    form: MarkdownForm,
    parts: Vec<MessageContent>,
}

impl MarkdownReply {
    /// The messages that show `markdown`: a post, or a card when it has a table; several when
    /// one would pass the platform's 30 KB.
    ///
    /// # Errors
    ///
    /// [`ContentError::Invalid`] when `markdown` is empty or blank: the platform refuses an
    /// empty message.
    pub fn new(markdown: &str) -> Result<Self, ContentError> {
        let form = if has_table(markdown) {
            MarkdownForm::Card
        } else {
            MarkdownForm::Post
        };
        Self::with_form(markdown, form)
    }

    /// The same, in the form given.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_form(markdown: &str, form: MarkdownForm) -> Result<Self, ContentError> {
        if markdown.trim().is_empty() {
            return Err(ContentError::invalid(
                "the Markdown answer is empty; the platform refuses an empty message",
            ));
        }
        let (limit, overhead) = match form {
            MarkdownForm::Post => (POST_MAX_BYTES, wrap(form, "").encode().len()),
            MarkdownForm::Card => (CARD_MAX_BYTES, wrap(form, "").encode().len()),
        };
        let budget = limit.saturating_sub(overhead + MARGIN);
        let parts = split(markdown, budget)
            .into_iter()
            .map(|part| {
                let content = wrap(form, &part);
                content.validate().map(|()| content)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { form, parts })
    }

    /// The form chosen.
    #[must_use]
    pub fn form(&self) -> MarkdownForm {
        self.form
    }

    /// The messages, in the order to send them.
    #[must_use]
    pub fn parts(&self) -> &[MessageContent] {
        &self.parts
    }

    /// The messages, owned.
    #[must_use]
    pub fn into_parts(self) -> Vec<MessageContent> {
        self.parts
    }
}

fn wrap(form: MarkdownForm, markdown: &str) -> MessageContent {
    match form {
        MarkdownForm::Post => MessageContent::Post(Post::zh_cn(
            PostBody::new("").paragraph([PostElement::markdown(markdown)]),
        )),
        MarkdownForm::Card => {
            MessageContent::card(CardV2::builder().element(Markdown::new(markdown)).build())
        }
    }
}

/// Whether `markdown` holds a table: a row of cells followed by a delimiter row such as
/// `|---|:--:|`, outside code blocks.
#[must_use]
pub fn has_table(markdown: &str) -> bool {
    blocks(markdown).iter().any(|b| b.kind == Kind::Table)
}

/// The opening line of the code block `markdown` leaves open at its end (a line starting with
/// three backticks or tildes, with no closing fence after it), if any.
///
/// ```
/// use lark_content::markdown::unclosed_fence;
///
/// assert_eq!(unclosed_fence("text\n```rust\nfn main() {"), Some("```rust"));
/// assert_eq!(unclosed_fence("```\ncode\n```\ndone"), None);
/// ```
#[must_use]
pub fn unclosed_fence(markdown: &str) -> Option<&str> {
    let mut open: Option<(&str, &str)> = None;
    for line in markdown.lines() {
        match (open, fence_of(line)) {
            (None, Some(fence)) => open = Some((line, fence)),
            (Some((_, fence)), Some(_)) if line.trim_start().starts_with(fence) => open = None,
            _ => {}
        }
    }
    open.map(|(line, _)| line)
}

/// How many bytes `c` takes inside a JSON string, as `serde_json` writes it: two for a quote,
/// a backslash and the short escapes, six for other control characters, its UTF-8 length for
/// the rest. What the platform's content limits measure.
///
/// ```
/// use lark_content::markdown::escaped_len;
///
/// let text = "quote \" line\n中";
/// let written = serde_json::to_string(text).unwrap();
/// assert_eq!(text.chars().map(escaped_len).sum::<usize>() + 2, written.len());
/// ```
#[must_use]
pub fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0C}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

fn cost(text: &str) -> usize {
    text.chars().map(escaped_len).sum()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Code,
    Table,
}

#[derive(Debug)]
struct Block<'a> {
    kind: Kind,
    lines: Vec<&'a str>,
}

fn is_delimiter_row(line: &str) -> bool {
    let cells = line.trim().trim_matches('|');
    !cells.is_empty()
        && cells.contains('-')
        && cells.split('|').all(|cell| {
            let cell = cell.trim();
            !cell.is_empty() && cell.chars().all(|c| matches!(c, '-' | ':'))
        })
}

fn is_row(line: &str) -> bool {
    line.trim_start().starts_with('|')
}

fn fence_of(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f))
}

/// Cuts `markdown` into paragraphs, fenced code blocks and tables.
fn blocks(markdown: &str) -> Vec<Block<'_>> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out: Vec<Block<'_>> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(fence) = fence_of(line) {
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.trim_start().starts_with(fence))
                .map_or(lines.len(), |at| i + 1 + at + 1);
            out.push(Block {
                kind: Kind::Code,
                lines: lines[i..end].to_vec(),
            });
            i = end;
        } else if is_row(line) && lines.get(i + 1).is_some_and(|l| is_delimiter_row(l)) {
            let end = lines[i + 2..]
                .iter()
                .position(|l| !is_row(l))
                .map_or(lines.len(), |at| i + 2 + at);
            out.push(Block {
                kind: Kind::Table,
                lines: lines[i..end].to_vec(),
            });
            i = end;
        } else if line.trim().is_empty() {
            i += 1;
        } else {
            let ends = |at: usize| {
                let l = lines[at];
                l.trim().is_empty()
                    || fence_of(l).is_some()
                    || (is_row(l) && lines.get(at + 1).is_some_and(|n| is_delimiter_row(n)))
            };
            let end = (i + 1..lines.len())
                .find(|at| ends(*at))
                .unwrap_or(lines.len());
            out.push(Block {
                kind: Kind::Text,
                lines: lines[i..end].to_vec(),
            });
            i = end;
        }
    }
    out
}

/// Splits `markdown` into parts of at most `budget` bytes as JSON string content.
fn split(markdown: &str, budget: usize) -> Vec<String> {
    let budget = budget.max(64);
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for block in blocks(markdown) {
        for piece in fit(&block, budget) {
            // Blocks are joined by a blank line: two escaped line breaks, four bytes.
            if !current.is_empty() && cost(&current) + 4 + cost(&piece) > budget {
                parts.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(&piece);
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// A block as pieces of at most `budget` bytes each: the block whole when it fits.
fn fit(block: &Block<'_>, budget: usize) -> Vec<String> {
    let whole = block.lines.join("\n");
    if cost(&whole) <= budget {
        return vec![whole];
    }
    match block.kind {
        Kind::Code => {
            // Close the fence at each cut and open it again, with its language, after it.
            let open = block.lines[0];
            let fence = fence_of(open).unwrap_or("```");
            let closed = block.lines.len() > 1
                && block
                    .lines
                    .last()
                    .is_some_and(|l| l.trim_start().starts_with(fence));
            let body_end = if closed {
                block.lines.len() - 1
            } else {
                block.lines.len()
            };
            let room = budget.saturating_sub(cost(open) + cost(fence) + 4);
            lines_within(&block.lines[1..body_end], room)
                .into_iter()
                .map(|chunk| format!("{open}\n{chunk}\n{fence}"))
                .collect()
        }
        Kind::Table => {
            // Each piece repeats the header and the delimiter row.
            let header = format!("{}\n{}", block.lines[0], block.lines[1]);
            let room = budget.saturating_sub(cost(&header) + 2);
            lines_within(&block.lines[2..], room)
                .into_iter()
                .map(|rows| format!("{header}\n{rows}"))
                .collect()
        }
        Kind::Text => lines_within(&block.lines, budget),
    }
}

/// `lines` joined with line breaks into chunks of at most `room` bytes; a line longer than
/// that is cut between words, and a word longer than that between characters.
fn lines_within(lines: &[&str], room: usize) -> Vec<String> {
    let room = room.max(16);
    let mut chunks = Vec::new();
    let mut current = String::new();
    for line in lines {
        let pieces = if cost(line) > room {
            words_within(line, room)
        } else {
            vec![(*line).to_owned()]
        };
        for piece in pieces {
            if !current.is_empty() && cost(&current) + 2 + cost(&piece) > room {
                chunks.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(&piece);
        }
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// `line` cut at spaces into pieces of at most `room` bytes; a word longer than that is cut
/// between characters.
fn words_within(line: &str, room: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let mut word = word;
        while cost(word) > room {
            let mut size = 0;
            let cut = word
                .char_indices()
                .find(|(_, c)| {
                    size += escaped_len(*c);
                    size > room
                })
                .map_or(word.len(), |(at, _)| at)
                .max(word.chars().next().map_or(0, char::len_utf8));
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            pieces.push(word[..cut].to_owned());
            word = &word[cut..];
        }
        if !current.is_empty() && cost(&current) + 1 + cost(word) > room {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn markdown_of(part: &MessageContent) -> String {
        match part {
            MessageContent::Post(_) | MessageContent::Interactive(_) => {
                let encoded: serde_json::Value = serde_json::from_str(&part.encode()).unwrap();
                let text = encoded["zh_cn"]["content"][0][0]["text"]
                    .as_str()
                    .or_else(|| encoded["body"]["elements"][0]["content"].as_str())
                    .unwrap();
                text.to_owned()
            }
            other => panic!("not a post or a card: {other:?}"),
        }
    }

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn a_table_is_sent_as_a_card_and_plain_text_as_a_post() {
        let table = "Plans:\n\n| plan | price |\n|---|---:|\n| Team | $8 |\n";
        let reply = MarkdownReply::new(table).unwrap();
        assert_eq!(reply.form(), MarkdownForm::Card);
        assert_eq!(markdown_of(&reply.parts()[0]), table.trim_end());
        let plain = "# Title\n\n- one\n- two\n\n`code` and **bold**";
        let reply = MarkdownReply::new(plain).unwrap();
        assert_eq!(reply.form(), MarkdownForm::Post);
        assert_eq!(markdown_of(&reply.parts()[0]), plain);
        // A table inside a code block is code, not a table.
        assert!(!has_table("```\n| a | b |\n|---|---|\n```"));
    }

    #[test]
    fn a_forty_thousand_character_answer_is_split_with_nothing_lost() {
        let paragraph = "The quick brown fox jumps over the lazy dog, again and again. ";
        let mut answer = String::new();
        while answer.len() < 40_000 {
            answer.push_str(paragraph);
            if answer.len().is_multiple_of(7) {
                answer.push_str("\n\n");
            }
        }
        let reply = MarkdownReply::new(&answer).unwrap();
        assert!(reply.parts().len() >= 2, "{}", reply.parts().len());
        let mut seen = Vec::new();
        for part in reply.parts() {
            assert!(part.encode().len() <= POST_MAX_BYTES);
            part.validate().unwrap();
            seen.push(markdown_of(part));
        }
        assert_eq!(words(&seen.join("\n")), words(&answer));
    }

    /// `count` lines made by `line`.
    fn numbered(count: usize, line: impl Fn(usize) -> String) -> Vec<String> {
        (0..count).map(line).collect()
    }

    /// The lines of `parts` that start with `prefix`, in order.
    fn kept<'a>(parts: &'a [String], prefix: &str) -> Vec<&'a str> {
        parts
            .iter()
            .flat_map(|p| p.lines())
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    #[test]
    fn a_long_code_block_is_closed_and_reopened_at_each_cut() {
        let code = numbered(4000, |i| format!("let value_{i} = compute({i});"));
        let answer = format!("Here:\n\n```rust\n{}\n```\n\nDone.", code.join("\n"));
        let reply = MarkdownReply::new(&answer).unwrap();
        let parts: Vec<String> = reply.parts().iter().map(markdown_of).collect();
        assert!(parts.len() > 2);
        for part in &parts {
            let fences = part.lines().filter(|l| l.starts_with("```")).count();
            assert_eq!(fences % 2, 0, "an open code block in {part:.200}");
        }
        assert_eq!(kept(&parts, "let value_"), code);
    }

    #[test]
    fn a_long_table_repeats_its_header_in_every_card() {
        let rows = numbered(3000, |i| format!("| row {i} | {i} |"));
        let answer = format!("| name | value |\n|---|---|\n{}", rows.join("\n"));
        let reply = MarkdownReply::new(&answer).unwrap();
        assert_eq!(reply.form(), MarkdownForm::Card);
        let parts: Vec<String> = reply.parts().iter().map(markdown_of).collect();
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(
                part.starts_with("| name | value |\n|---|---|\n"),
                "{part:.100}"
            );
            assert!(has_table(part));
        }
        assert_eq!(kept(&parts, "| row "), rows);
    }

    #[test]
    fn a_word_longer_than_a_message_is_cut_between_characters() {
        let url = format!("https://example.com/{}", "é".repeat(40_000));
        let reply = MarkdownReply::new(&url).unwrap();
        let joined: String = reply.parts().iter().map(markdown_of).collect();
        assert_eq!(joined, url);
    }

    #[test]
    fn an_empty_answer_is_refused() {
        let err = MarkdownReply::new(" \n ").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    proptest! {
        #[test]
        fn every_word_is_kept_in_order_and_every_part_fits(
            words_in in proptest::collection::vec("[a-zA-Z0-9\"\\\\é中]{1,40}", 1..400),
            breaks in proptest::collection::vec(0_u8..4, 1..400),
            budget in 64_usize..2_000,
        ) {
            let mut text = String::new();
            for (i, word) in words_in.iter().enumerate() {
                text.push_str(word);
                text.push_str(match breaks[i % breaks.len()] {
                    0 => "\n",
                    1 => "\n\n",
                    _ => " ",
                });
            }
            let parts = split(&text, budget);
            for part in &parts {
                prop_assert!(cost(part) <= budget.max(64), "{} > {}", cost(part), budget);
            }
            // Every character but the white space between words, in order.
            let kept: String = parts.iter().flat_map(|p| p.split_whitespace()).collect();
            let given: String = text.split_whitespace().collect();
            prop_assert_eq!(kept, given);
        }
    }
}
