//! The endpoints, by area.

pub(crate) mod auth;
pub(crate) mod cardkit;
pub(crate) mod chats;
pub(crate) mod messages;
pub(crate) mod oauth;
pub(crate) mod pins;
pub(crate) mod resources;

use crate::server::{Fail, Request};
use serde_json::{Value, json};

/// The `page_size` query parameter: `default` when absent, else 1 to `max`.
pub(crate) fn page_size(
    request: &Request,
    default: u32,
    max: u32,
    code: i64,
) -> Result<usize, Fail> {
    let size = match request.query("page_size") {
        None => default,
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|size| (1..=max).contains(size))
            .ok_or_else(|| Fail::field(code, "page_size", format!("must be 1 to {max}")))?,
    };
    Ok(usize::try_from(size).unwrap_or(usize::MAX))
}

/// One page of `items` after the position `token` encodes. Tokens are opaque to clients.
pub(crate) fn page_slice<'a, T>(
    items: &'a [T],
    token: Option<&str>,
    size: usize,
    code: i64,
) -> Result<(&'a [T], bool, Option<String>), Fail> {
    let start = match token {
        None => 0,
        Some(token) => token
            .strip_prefix("pt")
            .and_then(|hex| usize::from_str_radix(hex, 16).ok())
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| Fail::field(code, "page_token", "is not a token this list gave out"))?,
    };
    let end = start.saturating_add(size).min(items.len());
    let has_more = end < items.len();
    let next = has_more.then(|| format!("pt{end:x}"));
    Ok((&items[start..end], has_more, next))
}

/// `{"items", "has_more", "page_token"?}`: the token only when there is a next page.
pub(crate) fn page_json(items: Vec<Value>, has_more: bool, token: Option<String>) -> Value {
    let mut page = json!({ "has_more": has_more });
    page["items"] = Value::Array(items);
    if let Some(token) = token {
        page["page_token"] = Value::String(token);
    }
    page
}
