//! Cursor pagination: `page_size` / `page_token` in, `items` / `has_more` / `page_token` out.

use crate::endpoint::Endpoint;
use crate::error::BuildError;
use serde::{Deserialize, Deserializer};

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// The items.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<T>,
    /// Whether there are more.
    #[serde(default)]
    pub has_more: bool,
    /// The token for the next page; `None` when there is none (an empty string counts as none).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub page_token: Option<String>,
}

impl<T> Page<T> {
    /// The next page's token, if there is a next page.
    #[must_use]
    pub fn next_token(&self) -> Option<&str> {
        if self.has_more {
            self.page_token.as_deref()
        } else {
            None
        }
    }
}

pub(crate) fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

pub(crate) fn empty_as_none<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.filter(|token| !token.is_empty()))
}

/// An answer that holds one page of a list: its items and the next page's token.
pub trait IntoItems {
    /// What the list holds.
    type Item;

    /// Splits the page into its items and the next page's token (`None` on the last page).
    fn into_items(self) -> (Vec<Self::Item>, Option<String>);
}

impl<T> IntoItems for Page<T> {
    type Item = T;

    fn into_items(self) -> (Vec<T>, Option<String>) {
        let next = self.next_token().map(str::to_owned);
        (self.items, next)
    }
}

/// The page a list endpoint asks for: how many items it should hold, the most its
/// documentation allows, and which page. [`build_request`](crate::build_request) adds
/// `page_size` and `page_token` to the query and refuses a size out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageRequest<'a> {
    /// Items per page; `None` leaves the platform's default.
    pub size: Option<u32>,
    /// The most items a page may hold.
    pub max: u32,
    /// The page to fetch; `None` for the first.
    pub token: Option<&'a str>,
}

impl<'a> PageRequest<'a> {
    /// A page of `size` items (at most `max`), the one `token` names.
    #[must_use]
    pub fn new(size: Option<u32>, max: u32, token: Option<&'a str>) -> Self {
        Self { size, max, token }
    }

    /// Refuses a size of 0 or above the most a page may hold.
    ///
    /// # Errors
    /// [`BuildError::InvalidParam`] naming `page_size`.
    pub fn check(&self) -> Result<(), BuildError> {
        match self.size {
            Some(size) if size == 0 || size > self.max => Err(BuildError::InvalidParam {
                field: "page_size",
                reason: format!("is {size}; pages hold 1 to {} items", self.max),
            }),
            _ => Ok(()),
        }
    }
}

/// What a list endpoint's pages hold.
pub type ItemOf<E> = <<E as Endpoint>::Output as IntoItems>::Item;

/// A list endpoint: it takes a page token, and its answer is a page ([`IntoItems`]).
pub trait Paginated: Endpoint<Output: IntoItems> + Clone {
    /// Sets the token of the page to fetch (`None` for the first page).
    fn set_page_token(&mut self, token: Option<String>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_page_token_means_no_next_page() {
        let page: Page<u8> =
            serde_json::from_str(r#"{"items":[1],"has_more":true,"page_token":""}"#).unwrap();
        assert_eq!(page.next_token(), None);
        let page: Page<u8> = serde_json::from_str(r#"{"items":null,"has_more":false}"#).unwrap();
        assert!(page.items.is_empty());
        let page: Page<u8> =
            serde_json::from_str(r#"{"has_more":true,"page_token":"abc"}"#).unwrap();
        assert_eq!(page.next_token(), Some("abc"));
    }
}
