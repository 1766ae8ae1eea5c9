//! What card JSON 2.0 adds for CardKit streaming: the `streaming_mode` switch, how clients type
//! the text out (`streaming_config`), the `summary` a chat list shows, and the rules on
//! `element_id` that the element-level APIs address components by.
//!
//! Sources: the CardKit "create card entity" page (its request example carries every streaming
//! setting), "stream element content" (`…/cardkit-v1/card-element/content`) and "update element"
//! (`…/cardkit-v1/card-element/update`, the `element_id` rules), on open.feishu.cn.

use super::{CardElement, CardV2};
use crate::error::ContentError;
use crate::object::wire_object;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Longest `element_id`: 20 characters.
pub const ELEMENT_ID_MAX_CHARS: usize = 20;

crate::open_enum! {
    /// How a client types out text that arrives while it is still typing.
    pub enum PrintStrategy {
        /// Show what is still waiting at once, then type the new text.
        Fast = "fast",
        /// Keep typing everything at the configured pace.
        Delay = "delay",
    }
}

wire_object! {
    /// One number per client platform: `{"default","android","ios","pc"}`.
    pub struct PerPlatform {
        /// For platforms not named.
        opt default: u32 => "default",
        /// On Android.
        opt android: u32 => "android",
        /// On iOS.
        opt ios: u32 => "ios",
        /// On desktop.
        opt pc: u32 => "pc",
    }
}

impl PerPlatform {
    /// The same value on every platform.
    #[must_use]
    pub fn all(value: u32) -> Self {
        Self {
            default: Some(value),
            android: Some(value),
            ios: Some(value),
            pc: Some(value),
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// How clients type streamed text out: `config.streaming_config`.
    pub struct StreamingConfig {
        /// Milliseconds between two typed steps (the documentation's example: 70).
        opt print_frequency_ms: PerPlatform => "print_frequency_ms",
        /// Characters typed per step (the example: 1).
        opt print_step: PerPlatform => "print_step",
        /// What happens to waiting text when new text arrives.
        opt print_strategy: PrintStrategy => "print_strategy",
    }
}

impl StreamingConfig {
    /// Every client types `step` characters every `frequency_ms`, with `strategy`.
    #[must_use]
    pub fn new(frequency_ms: u32, step: u32, strategy: PrintStrategy) -> Self {
        Self {
            print_frequency_ms: Some(PerPlatform::all(frequency_ms)),
            print_step: Some(PerPlatform::all(step)),
            print_strategy: Some(strategy),
            extra: Map::new(),
        }
    }
}

impl Default for StreamingConfig {
    /// The documentation's example: one character every 70 ms, `fast`.
    fn default() -> Self {
        Self::new(70, 1, PrintStrategy::Fast)
    }
}

wire_object! {
    /// What the chat list shows for the card: `config.summary`. While a card streams, clients
    /// show a "generating" placeholder unless a summary is set.
    pub struct Summary {
        /// The text.
        opt content: String => "content",
        /// The text by locale.
        opt i18n_content: Map<String, Value> => "i18n_content",
    }
}

impl Summary {
    /// A summary in one language.
    #[must_use]
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: Some(content.into()),
            i18n_content: None,
            extra: Map::new(),
        }
    }
}

/// Whether `id` is an `element_id` the platform accepts: 1 to 20 characters, letters, digits and
/// underscores, starting with a letter.
#[must_use]
pub fn is_valid_element_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.chars().count() <= ELEMENT_ID_MAX_CHARS
}

/// Checks the `element_id`s of a card's components, nested ones included: each well formed, and
/// no two alike (the platform answers 300301 for a repeat).
pub(crate) fn check_element_ids(card: &CardV2) -> Result<(), ContentError> {
    let elements = card
        .body
        .as_ref()
        .and_then(|body| body.elements.as_deref())
        .unwrap_or_default();
    check_element_id_list(elements)
}

/// Checks the `element_id`s of `elements` and of what they hold: each well formed, and no two
/// alike.
pub fn check_element_id_list(elements: &[CardElement]) -> Result<(), ContentError> {
    check_ids(elements, &mut HashSet::new())
}

fn check_ids<'a>(
    elements: &'a [CardElement],
    seen: &mut HashSet<&'a str>,
) -> Result<(), ContentError> {
    for element in elements {
        if let Some(id) = element.element_id() {
            if !is_valid_element_id(id) {
                return Err(ContentError::invalid(format!(
                    "element_id {id:?} is not valid: use 1 to {ELEMENT_ID_MAX_CHARS} letters, \
                     digits or underscores, starting with a letter"
                )));
            }
            if !seen.insert(id) {
                return Err(ContentError::invalid(format!(
                    "element_id {id:?} is used twice; each component's id must be unique in \
                     its card (the platform answers 300301)"
                )));
            }
        }
        for children in element.children() {
            check_ids(children, seen)?;
        }
    }
    Ok(())
}
