//! `interactive` messages: cards.
//!
//! A card is one of four things on the send side — card JSON 2.0 (`"schema":"2.0"`, elements
//! under `body`), card JSON 1.0 (elements at the top), a template from the card builder, or a
//! reference to a card entity — and on the receive side a simplified rendering
//! (`{"title", "elements": [[…]]}`) unless the original JSON was asked for.
//!
//! Every struct keeps keys it does not model in `extra`, and [`CardElement::Unknown`] keeps any
//! element it does not know, so a card read from anywhere writes back unchanged.
//!
//! ```
//! use lark_content::card::{Button, CardHeader, CardV2, HeaderTemplate, Markdown};
//! use lark_content::MessageContent;
//!
//! let card = CardV2::builder()
//!     .header(CardHeader::new("Meeting Invitation").template(HeaderTemplate::Blue))
//!     .element(Markdown::new("**Daily standup** at 10:00"))
//!     .element(Button::new("Accept").primary().callback(serde_json::json!({"action": "accept"})))
//!     .build();
//! let content = MessageContent::from(card);
//! assert_eq!(content.msg_type(), "interactive");
//! assert!(content.validate().is_ok());
//! ```

mod element;
mod streaming;

pub use element::*;
pub use streaming::{
    ELEMENT_ID_MAX_CHARS, PerPlatform, PrintStrategy, StreamingConfig, Summary,
    check_element_id_list, is_valid_element_id,
};

use crate::error::ContentError;
use crate::id::{CardId, TemplateId};
use crate::limits::CARD_V2_MAX_ELEMENTS;
use crate::object::wire_object;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The content of an `interactive` message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Card {
    /// Card JSON 2.0.
    V2(CardV2),
    /// Card JSON 1.0.
    V1(CardV1),
    /// `{"type":"template","data":{…}}`: a template built in the card builder.
    Template(TemplateCard),
    /// `{"type":"card","data":{"card_id":…}}`: a card entity.
    Entity(CardEntity),
    /// The simplified rendering received messages carry: `{"title":…,"elements":[[…]]}`.
    Simplified(SimplifiedCard),
    /// `{"json_card":"<card JSON>","card_schema":…}`: a card delivered with its JSON in a
    /// string, as some clients send it.
    Embedded(EmbeddedCard),
}

impl Card {
    /// A template card with variables.
    #[must_use]
    pub fn template(
        template_id: TemplateId,
        version: Option<&str>,
        variables: Map<String, Value>,
    ) -> Self {
        Self::Template(TemplateCard {
            data: TemplateData {
                template_id,
                template_version_name: version.map(str::to_owned),
                template_variable: (!variables.is_empty()).then_some(variables),
                extra: Map::new(),
            },
            extra: Map::new(),
        })
    }

    /// A reference to a card entity.
    #[must_use]
    pub fn entity(card_id: CardId) -> Self {
        Self::Entity(CardEntity {
            data: CardEntityData {
                card_id,
                extra: Map::new(),
            },
            extra: Map::new(),
        })
    }

    /// Checks the documented rules of card JSON 2.0: at most 200 components, and
    /// `update_multi` only ever `true`.
    pub(crate) fn check_rules(&self) -> Result<(), ContentError> {
        let Self::V2(card) = self else {
            return Ok(());
        };
        let count: usize = card
            .body
            .as_ref()
            .and_then(|body| body.elements.as_deref())
            .unwrap_or_default()
            .iter()
            .map(CardElement::component_count)
            .sum();
        if count > CARD_V2_MAX_ELEMENTS {
            return Err(ContentError::TooLarge {
                what: "the card's component count",
                actual: count,
                limit: CARD_V2_MAX_ELEMENTS,
                unit: "elements",
                hint: "split the card or page its content (the platform answers 230099 / 11310)",
            });
        }
        if card
            .config
            .as_ref()
            .is_some_and(|config| config.update_multi == Some(false))
        {
            return Err(ContentError::invalid(
                "card JSON 2.0 only allows `config.update_multi: true` (shared cards); \
                 remove the setting or set it to true",
            ));
        }
        streaming::check_element_ids(card)
    }
}

impl Serialize for Card {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::V2(card) => card.serialize(serializer),
            Self::V1(card) => card.serialize(serializer),
            Self::Simplified(card) => card.serialize(serializer),
            Self::Embedded(card) => card.serialize(serializer),
            Self::Template(card) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("type", "template")?;
                card.serialize_entries(&mut map)?;
                map.end()
            }
            Self::Entity(card) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("type", "card")?;
                card.serialize_entries(&mut map)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Card {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = Map::<String, Value>::deserialize(deserializer)?;
        let is_v2 = map.get("schema").and_then(Value::as_str) == Some("2.0");
        let card = if is_v2 {
            CardV2::deserialize(Value::Object(map)).map(Card::V2)
        } else {
            match map.get("type").and_then(Value::as_str) {
                Some("template") => {
                    map.remove("type");
                    TemplateCard::deserialize(Value::Object(map)).map(Card::Template)
                }
                Some("card") => {
                    map.remove("type");
                    CardEntity::deserialize(Value::Object(map)).map(Card::Entity)
                }
                _ if map.get("json_card").is_some_and(Value::is_string) => {
                    EmbeddedCard::deserialize(Value::Object(map)).map(Card::Embedded)
                }
                _ if is_simplified(&map) => {
                    SimplifiedCard::deserialize(Value::Object(map)).map(Card::Simplified)
                }
                _ => CardV1::deserialize(Value::Object(map)).map(Card::V1),
            }
        };
        card.map_err(D::Error::custom)
    }
}

/// The received rendering has a top-level `title` string or elements grouped in lines (a list of
/// lists); sent cards have neither.
fn is_simplified(map: &Map<String, Value>) -> bool {
    let lines = map
        .get("elements")
        .and_then(Value::as_array)
        .and_then(|elements| elements.first())
        .is_some_and(Value::is_array);
    lines || map.get("title").is_some_and(Value::is_string)
}

wire_object! {
    /// A card whose JSON travels in a string: `{"json_card":"…","card_schema":1}`.
    pub struct EmbeddedCard {
        /// The card's JSON, as a string, exactly as it came.
        req json_card: String => "json_card",
        /// The card schema the sender declared.
        opt card_schema: Value => "card_schema",
    }
}

impl EmbeddedCard {
    /// The card the string holds.
    pub fn card(&self) -> Result<Card, serde_json::Error> {
        serde_json::from_str(&self.json_card)
    }
}

wire_object! {
    /// Card JSON 2.0. Unknown properties are errors on the platform in 2.0, so `extra` is only
    /// for what a newer platform defines.
    pub struct CardV2 {
        /// Always `2.0`.
        req schema: String => "schema",
        /// Card-wide settings.
        opt config: CardConfig => "config",
        /// Where a click on the card leads.
        opt card_link: CardLink => "card_link",
        /// The header.
        opt header: CardHeader => "header",
        /// The body.
        opt body: CardBody => "body",
    }
}

wire_object! {
    /// The body of a card JSON 2.0.
    pub struct CardBody {
        /// `vertical` or `horizontal`.
        opt direction: String => "direction",
        /// Padding, e.g. `12px 12px 12px 12px`.
        opt padding: String => "padding",
        /// The components.
        opt elements: Vec<CardElement> => "elements",
    }
}

wire_object! {
    /// Card JSON 1.0.
    pub struct CardV1 {
        /// Card-wide settings.
        opt config: CardConfig => "config",
        /// Where a click on the card leads.
        opt card_link: CardLink => "card_link",
        /// The header.
        opt header: CardHeader => "header",
        /// The elements.
        opt elements: Vec<CardElement> => "elements",
        /// Elements by locale, instead of `elements`.
        opt i18n_elements: BTreeMap<String, Vec<CardElement>> => "i18n_elements",
        /// Headers by locale, instead of `header`.
        opt i18n_header: BTreeMap<String, CardHeader> => "i18n_header",
        /// What clients too old for the card show.
        opt fallback: Value => "fallback",
    }
}

wire_object! {
    /// Card-wide settings.
    pub struct CardConfig {
        /// Whether the card may be forwarded (default true).
        opt enable_forward: bool => "enable_forward",
        /// Whether an update reaches everyone who sees the card (1.0 default false; 2.0 only true).
        opt update_multi: bool => "update_multi",
        /// `compact`, `fill` or `default`.
        opt width_mode: String => "width_mode",
        /// The older width switch of card JSON 1.0.
        opt wide_screen_mode: bool => "wide_screen_mode",
        /// Style settings (2.0), e.g. custom text sizes.
        opt style: Value => "style",
        /// Whether the card is streaming (2.0, CardKit): its text elements type out what is
        /// streamed into them.
        opt streaming_mode: bool => "streaming_mode",
        /// How clients type streamed text out (2.0).
        opt streaming_config: StreamingConfig => "streaming_config",
        /// What the chat list shows for the card (2.0).
        opt summary: Summary => "summary",
    }
}

wire_object! {
    /// Links that a click on the card opens, by platform.
    pub struct CardLink {
        /// The default url.
        opt url: String => "url",
        /// On desktop.
        opt pc_url: String => "pc_url",
        /// On iOS.
        opt ios_url: String => "ios_url",
        /// On Android.
        opt android_url: String => "android_url",
    }
}

crate::open_enum! {
    /// A header colour.
    pub enum HeaderTemplate {
        /// blue
        Blue = "blue",
        /// wathet
        Wathet = "wathet",
        /// turquoise
        Turquoise = "turquoise",
        /// green
        Green = "green",
        /// yellow
        Yellow = "yellow",
        /// orange
        Orange = "orange",
        /// red
        Red = "red",
        /// carmine
        Carmine = "carmine",
        /// violet
        Violet = "violet",
        /// purple
        Purple = "purple",
        /// indigo
        Indigo = "indigo",
        /// grey
        Grey = "grey",
        /// default
        Default = "default",
    }
}

wire_object! {
    /// A card's header.
    pub struct CardHeader {
        /// The title.
        opt title: TextObject => "title",
        /// The subtitle (2.0).
        opt subtitle: TextObject => "subtitle",
        /// The colour.
        opt template: HeaderTemplate => "template",
        /// Padding (2.0).
        opt padding: String => "padding",
    }
}

impl CardHeader {
    /// A header with a plain-text title.
    #[must_use]
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: Some(TextObject::plain(title)),
            subtitle: None,
            template: None,
            padding: None,
            extra: Map::new(),
        }
    }

    /// Sets the colour.
    #[must_use]
    pub fn template(mut self, template: HeaderTemplate) -> Self {
        self.template = Some(template);
        self
    }

    /// Sets a plain-text subtitle (2.0).
    #[must_use]
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(TextObject::plain(subtitle));
        self
    }
}

crate::open_enum! {
    /// How a text object's content is read.
    pub enum TextTag {
        /// Plain text.
        PlainText = "plain_text",
        /// Lark's Markdown dialect.
        LarkMd = "lark_md",
    }
}

wire_object! {
    /// A text object: `{"tag":"plain_text"|"lark_md","content":"…"}`.
    pub struct TextObject {
        /// How `content` is read.
        req tag: TextTag => "tag",
        /// The text.
        opt content: String => "content",
        /// Translations by locale.
        opt i18n: BTreeMap<String, String> => "i18n",
    }
}

impl TextObject {
    /// Plain text.
    #[must_use]
    pub fn plain(content: impl Into<String>) -> Self {
        Self {
            tag: TextTag::PlainText,
            content: Some(content.into()),
            i18n: None,
            extra: Map::new(),
        }
    }

    /// Lark Markdown.
    #[must_use]
    pub fn lark_md(content: impl Into<String>) -> Self {
        Self {
            tag: TextTag::LarkMd,
            content: Some(content.into()),
            i18n: None,
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// A template card's body (the `type` key is written by [`Card`]).
    pub struct TemplateCard {
        /// Which template, and its variables.
        req data: TemplateData => "data",
    }
}

wire_object! {
    /// Which template a card uses.
    pub struct TemplateData {
        /// The template's id.
        req template_id: TemplateId => "template_id",
        /// The version; the latest when omitted.
        opt template_version_name: String => "template_version_name",
        /// The template's variables.
        opt template_variable: Map<String, Value> => "template_variable",
    }
}

wire_object! {
    /// A card entity reference's body (the `type` key is written by [`Card`]).
    pub struct CardEntity {
        /// Which card.
        req data: CardEntityData => "data",
    }
}

wire_object! {
    /// Which card entity.
    pub struct CardEntityData {
        /// The card entity's id.
        req card_id: CardId => "card_id",
    }
}

wire_object! {
    /// The simplified rendering of a card in received messages. It is not the JSON that was sent;
    /// ask for `card_msg_content_type=user_card_content` when fetching to get that.
    pub struct SimplifiedCard {
        /// The card's title.
        opt title: String => "title",
        /// Lines of simplified elements (`button`, `text`, `a`, `at`, `hr`, `note`, …).
        opt elements: Vec<Vec<Value>> => "elements",
    }
}

impl CardV2 {
    /// A builder for a card JSON 2.0.
    pub fn builder() -> CardV2Builder {
        CardV2Builder {
            card: CardV2 {
                schema: "2.0".to_owned(),
                config: None,
                card_link: None,
                header: None,
                body: None,
                extra: Map::new(),
            },
        }
    }
}

/// Builds a [`CardV2`].
#[derive(Clone, Debug)]
#[must_use]
pub struct CardV2Builder {
    card: CardV2,
}

impl CardV2Builder {
    /// Sets the header.
    pub fn header(mut self, header: CardHeader) -> Self {
        self.card.header = Some(header);
        self
    }

    /// Sets the card-wide settings.
    pub fn config(mut self, config: CardConfig) -> Self {
        self.card.config = Some(config);
        self
    }

    /// Turns streaming on (CardKit): the card's text elements type out what is streamed into
    /// them, as `config` says, and the chat list shows `summary` meanwhile. Shared updates
    /// (`update_multi`) come with it, as streaming needs them.
    pub fn streaming(mut self, config: StreamingConfig, summary: Summary) -> Self {
        let settings = self.card.config.get_or_insert_with(CardConfig::default);
        settings.streaming_mode = Some(true);
        settings.streaming_config = Some(config);
        settings.summary = Some(summary);
        settings.update_multi = Some(true);
        self
    }

    /// Adds a component to the body.
    pub fn element(mut self, element: impl Into<CardElement>) -> Self {
        self.card
            .body
            .get_or_insert_with(|| CardBody {
                direction: None,
                padding: None,
                elements: None,
                extra: Map::new(),
            })
            .elements
            .get_or_insert_with(Vec::new)
            .push(element.into());
        self
    }

    /// The finished card.
    #[must_use]
    pub fn build(self) -> CardV2 {
        self.card
    }
}

impl CardV1 {
    /// A builder for a card JSON 1.0.
    pub fn builder() -> CardV1Builder {
        CardV1Builder {
            card: CardV1 {
                config: None,
                card_link: None,
                header: None,
                elements: None,
                i18n_elements: None,
                i18n_header: None,
                fallback: None,
                extra: Map::new(),
            },
        }
    }
}

/// Builds a [`CardV1`].
#[derive(Clone, Debug)]
#[must_use]
pub struct CardV1Builder {
    card: CardV1,
}

impl CardV1Builder {
    /// Sets the header.
    pub fn header(mut self, header: CardHeader) -> Self {
        self.card.header = Some(header);
        self
    }

    /// Sets the card-wide settings.
    pub fn config(mut self, config: CardConfig) -> Self {
        self.card.config = Some(config);
        self
    }

    /// Lets every viewer see updates (needed before and after a card patch).
    pub fn update_multi(mut self, shared: bool) -> Self {
        self.card
            .config
            .get_or_insert_with(CardConfig::default)
            .update_multi = Some(shared);
        self
    }

    /// Adds an element.
    pub fn element(mut self, element: impl Into<CardElement>) -> Self {
        self.card
            .elements
            .get_or_insert_with(Vec::new)
            .push(element.into());
        self
    }

    /// The finished card.
    #[must_use]
    pub fn build(self) -> CardV1 {
        self.card
    }
}

impl Default for CardConfig {
    fn default() -> Self {
        Self {
            enable_forward: None,
            update_multi: None,
            width_mode: None,
            wide_screen_mode: None,
            style: None,
            streaming_mode: None,
            streaming_config: None,
            summary: None,
            extra: Map::new(),
        }
    }
}

impl From<CardV2> for Card {
    fn from(card: CardV2) -> Self {
        Self::V2(card)
    }
}

impl From<CardV1> for Card {
    fn from(card: CardV1) -> Self {
        Self::V1(card)
    }
}
