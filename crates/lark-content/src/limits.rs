//! The platform's documented limits on message content, checked by [`validate`](crate::MessageContent::validate)
//! before anything is sent.
//!
//! Sizes are in bytes (KB read as KiB). The platform limits the whole request body; the content
//! alone is measured here, and lark-api measures the body it builds around it, where the content
//! travels as an escaped JSON string. Sources are the im/v1 "send message" and "upload" reference
//! pages on open.feishu.cn.

/// Largest `text` content: 150 KB ("文本消息请求体最大不能超过 150 KB"; error 230025).
pub const TEXT_MAX_BYTES: usize = 150 * 1024;

/// Largest `post` (rich text) content: 30 KB (error 230025).
pub const POST_MAX_BYTES: usize = 30 * 1024;

/// Largest `interactive` (card) content: 30 KB, template data included (error 230025). The same
/// limit applies to a card sent through the patch (update card) endpoint.
pub const CARD_MAX_BYTES: usize = 30 * 1024;

/// Most components a card JSON 2.0 may hold; more gives 230099 with sub-code 11310
/// ("element exceeds the limit").
pub const CARD_V2_MAX_ELEMENTS: usize = 200;

/// Widest divider text of a `system` message: 20 characters, where a CJK character counts as two
/// (the documentation says "20 characters / 10 Chinese characters").
pub const DIVIDER_TEXT_MAX_WIDTH: usize = 20;

/// Longest idempotency `uuid` on send, reply, forward and chat creation: 50 characters. The same
/// uuid succeeds at most once within an hour.
pub const UUID_MAX_CHARS: usize = 50;

/// Largest image upload: 10 MB; empty images are refused.
pub const IMAGE_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Largest file upload: 30 MB; empty files are refused.
pub const FILE_MAX_BYTES: u64 = 30 * 1024 * 1024;

/// Largest download of a message resource, image or file: 100 MB.
pub const DOWNLOAD_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// How many times one message may be edited (PUT).
pub const EDIT_MAX_TIMES: u32 = 20;

/// Largest page the message history accepts (`page_size` 1–50).
pub const HISTORY_PAGE_MAX: u32 = 50;

/// Most users per chat creation or member call (`user_id_list` / `id_list`).
pub const MEMBERS_PER_CALL_MAX: usize = 50;

/// Most bots per chat creation (`bot_id_list`) or member removal.
pub const BOTS_PER_CALL_MAX: usize = 5;

/// Width of a string as the divider-text limit counts it: CJK and other wide characters count two.
#[must_use]
pub fn display_width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
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
        | 0x20000..=0x2FFFD
        | 0x30000..=0x3FFFD)
}

#[cfg(test)]
mod tests {
    use super::display_width;

    #[test]
    fn cjk_counts_double_in_divider_width() {
        assert_eq!(display_width("New Session"), 11);
        assert_eq!(display_width("新会话"), 6);
    }
}
