//! CardKit (`/open-apis/cardkit/v1`): card entities, cards that live on the platform and can be
//! changed after they are sent, down to one component, and streamed into.
//!
//! A card entity is created from card JSON 2.0 or a template ([`CreateCard`]), sent once as an
//! `interactive` message that refers to it (`Card::entity`), and then changed with the
//! operations of [`CardOp`]. Every operation carries a `sequence` that must be higher than the
//! previous operation's on the same card (300317 otherwise), and may carry a `uuid` that makes a
//! repeat of the same operation count once.
//!
//! Sources, each on open.feishu.cn under `/document/uAjLw4CM/ukTMukTMukTM/cardkit-v1/`:
//! `card/create`, `card/update`, `card/settings`, `card/batch_update`, `card/id_convert`,
//! `card-element/create`, `card-element/update`, `card-element/patch`, `card-element/content`
//! and `card-element/delete`. docs/protocol.md §3.4 sums them up.

use crate::answer::endpoint;
use crate::answer::{Nothing, data_field};
use crate::endpoint::{Body, Endpoint, PathIds, QuotaScope};
use crate::error::BuildError;
use http::Method;
use lark_content::card::{
    CardConfig, CardElement, CardLink, CardV2, TemplateData, check_element_id_list,
    is_valid_element_id,
};
use lark_content::{CardId, MessageContent, MessageId};
use serde_json::{Map, Value, json};

/// Highest `sequence`: the largest positive 32-bit integer.
pub const SEQUENCE_MAX: u32 = i32::MAX as u32;

/// Longest operation `uuid`: 64 characters.
pub const CARD_UUID_MAX_CHARS: usize = 64;

/// Longest text one [`StreamText`] carries: 100,000 characters.
pub const STREAM_TEXT_MAX_CHARS: usize = 100_000;

data_field! {
    /// The answer of [`CreateCard`] and [`CardIdOf`]: `data.card_id`.
    CardIdAnswer, card_id: CardId
}

/// What a card entity is made from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CardSource {
    /// Card JSON 2.0 (`"type":"card_json"`).
    Json(Box<CardV2>),
    /// A template from the card builder, in its new version (`"type":"template"`).
    Template(TemplateData),
}

/// `POST /open-apis/cardkit/v1/cards`: creates a card entity and answers its id. The entity can
/// be sent once, and operated on for 14 days.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct CreateCard {
    /// What the card is made from.
    pub source: CardSource,
}

impl CreateCard {
    /// A card entity from card JSON 2.0.
    pub fn new(card: CardV2) -> Self {
        Self {
            source: CardSource::Json(Box::new(card)),
        }
    }

    /// A card entity from a template built in the card builder.
    pub fn template(template: TemplateData) -> Self {
        Self {
            source: CardSource::Template(template),
        }
    }
}

endpoint!(CreateCard: POST "/open-apis/cardkit/v1/cards" => CardIdAnswer {
    fn body(&self) -> Result<Body, BuildError> {
        let (kind, data) = match &self.source {
            CardSource::Json(card) => ("card_json", card_json(card)?),
            CardSource::Template(template) => ("template", to_value(template)?.to_string()),
        };
        Ok(Body::json(&json!({"type": kind, "data": data})))
    }

    /// A repeat makes a second entity that nothing refers to; it expires unused.
    fn is_idempotent(&self) -> bool {
        true
    }
});

/// `POST /open-apis/cardkit/v1/cards/id_convert`: the card entity behind a card message, so a
/// card sent as JSON can be operated on as an entity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct CardIdOf {
    /// The message.
    pub message_id: MessageId,
}

impl CardIdOf {
    /// The card entity of `message_id`.
    pub fn new(message_id: MessageId) -> Self {
        Self { message_id }
    }
}

endpoint!(CardIdOf: POST "/open-apis/cardkit/v1/cards/id_convert" => CardIdAnswer {
    fn body(&self) -> Result<Body, BuildError> {
        check_nonempty("message_id", self.message_id.as_str())?;
        Ok(Body::json(&json!({"message_id": self.message_id})))
    }

    /// A conversion changes nothing.
    fn is_idempotent(&self) -> bool {
        true
    }
});

/// One operation on a card entity: its card, its `sequence`, its `uuid`, and what it does.
///
/// ```
/// use lark_api::cardkit::{CardOp, StreamText};
/// use lark_content::CardId;
///
/// let op = CardOp::new(CardId::new("7355439197428236291"), 3, StreamText::new("answer", "Hello, wor"));
/// let token = lark_api::AccessToken::new("t-example");
/// let request = lark_api::build_request(&op, &lark_api::BaseUrl::feishu(), Some(&token))?;
/// assert_eq!(request.method(), "PUT");
/// assert_eq!(request.uri().path(), "/open-apis/cardkit/v1/cards/7355439197428236291/elements/answer/content");
/// # Ok::<(), lark_api::BuildError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct CardOp<O> {
    /// The card entity.
    pub card_id: CardId,
    /// Higher than the sequence of every earlier operation on this card, 1 to 2,147,483,647.
    pub sequence: u32,
    /// Makes a repeat of this operation count once (1 to 64 characters). An executor fills an
    /// empty one before the first attempt.
    pub uuid: Option<String>,
    /// What the operation does.
    pub op: O,
}

impl<O> CardOp<O> {
    /// `op` on `card_id`, as the card's operation number `sequence`.
    pub fn new(card_id: CardId, sequence: u32, op: O) -> Self {
        Self {
            card_id,
            sequence,
            uuid: None,
            op,
        }
    }

    /// Sets the idempotency key.
    pub fn uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }
}

/// What an operation on a card entity does: its method, its path below the card, and the body
/// fields beside `sequence` and `uuid`.
pub trait CardOperation {
    /// The HTTP method.
    const METHOD: Method;
    /// The path template.
    const PATH: &'static str;
    /// The component the operation addresses, for the paths that name one.
    fn element_id(&self) -> Option<&str> {
        None
    }
    /// Writes the operation's own body fields, after checking them.
    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError>;
}

impl<O: CardOperation> Endpoint for CardOp<O> {
    type Output = ();
    type Answer = Nothing;
    const METHOD: Method = O::METHOD;
    const PATH: &'static str = O::PATH;

    fn path_ids(&self) -> PathIds<'_> {
        match self.op.element_id() {
            Some(element) => PathIds::two(self.card_id.as_str(), element),
            None => PathIds::one(self.card_id.as_str()),
        }
    }

    fn body(&self) -> Result<Body, BuildError> {
        check_nonempty("card_id", self.card_id.as_str())?;
        if self.sequence == 0 || self.sequence > SEQUENCE_MAX {
            return Err(BuildError::InvalidParam {
                field: "sequence",
                reason: format!(
                    "is {}; it must be 1 to {SEQUENCE_MAX}, higher than the card's previous \
                     operation",
                    self.sequence
                ),
            });
        }
        if let Some(uuid) = &self.uuid {
            let chars = uuid.chars().count();
            if chars == 0 || chars > CARD_UUID_MAX_CHARS {
                return Err(BuildError::InvalidParam {
                    field: "uuid",
                    reason: format!("is {chars} characters; it must be 1 to {CARD_UUID_MAX_CHARS}"),
                });
            }
        }
        if let Some(element) = self.op.element_id() {
            check_element_id("element_id", element)?;
        }
        let mut body = Map::new();
        self.op.write(&mut body)?;
        body.insert("sequence".to_owned(), Value::from(self.sequence));
        if let Some(uuid) = &self.uuid {
            body.insert("uuid".to_owned(), Value::String(uuid.clone()));
        }
        Ok(Body::json(&Value::Object(body)))
    }

    /// With a uuid, a repeat counts once.
    fn is_idempotent(&self) -> bool {
        self.uuid.is_some()
    }

    fn idempotency_key(&mut self) -> Option<&mut Option<String>> {
        Some(&mut self.uuid)
    }

    /// Operations on one card entity: 10 a second.
    fn quota_scope(&self) -> Option<QuotaScope> {
        Some(QuotaScope::Card(self.card_id.as_str().to_owned()))
    }
}

/// `PUT /open-apis/cardkit/v1/cards/:card_id`: replaces the whole card.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UpdateCard {
    /// The new card, JSON 2.0.
    pub card: CardV2,
}

impl UpdateCard {
    /// The card becomes `card`.
    #[must_use]
    pub fn new(card: CardV2) -> Self {
        Self { card }
    }
}

impl CardOperation for UpdateCard {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id";

    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        body.insert(
            "card".to_owned(),
            json!({"type": "card_json", "data": card_json(&self.card)?}),
        );
        Ok(())
    }
}

/// Card-wide settings: `config` and `card_link`, as [`UpdateSettings`] and a batch's
/// [`CardAction::Settings`] send them.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// The settings to change; the keys left out keep their values.
    pub config: Option<CardConfig>,
    /// Where a click on the card leads.
    pub card_link: Option<CardLink>,
}

impl Settings {
    /// Changes `config`.
    #[must_use]
    pub fn config(config: CardConfig) -> Self {
        Self {
            config: Some(config),
            card_link: None,
        }
    }

    /// Turns streaming off: the card stops typing and shows its summary in the chat list.
    #[must_use]
    pub fn streaming_off(summary: Option<lark_content::card::Summary>) -> Self {
        Self::config(CardConfig {
            streaming_mode: Some(false),
            summary,
            ..CardConfig::default()
        })
    }

    fn to_value(&self) -> Result<Value, BuildError> {
        if self.config.is_none() && self.card_link.is_none() {
            return Err(BuildError::InvalidParam {
                field: "settings",
                reason: "is empty; set `config` or `card_link`".to_owned(),
            });
        }
        if self
            .config
            .as_ref()
            .is_some_and(|config| config.update_multi == Some(false))
        {
            return Err(BuildError::InvalidParam {
                field: "settings",
                reason: "card entities are shared: `update_multi` cannot be false".to_owned(),
            });
        }
        let mut settings = Map::new();
        if let Some(config) = &self.config {
            settings.insert("config".to_owned(), to_value(config)?);
        }
        if let Some(link) = &self.card_link {
            settings.insert("card_link".to_owned(), to_value(link)?);
        }
        Ok(Value::Object(settings))
    }
}

/// `PATCH /open-apis/cardkit/v1/cards/:card_id/settings`: changes card-wide settings, such as
/// turning streaming on or off.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UpdateSettings {
    /// The settings.
    pub settings: Settings,
}

impl UpdateSettings {
    /// Changes `settings`.
    #[must_use]
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }
}

impl CardOperation for UpdateSettings {
    const METHOD: Method = Method::PATCH;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id/settings";

    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        let settings = self.settings.to_value()?.to_string();
        body.insert("settings".to_owned(), Value::String(settings));
        Ok(())
    }
}

/// Where [`AddElements`] puts its components.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position {
    /// At the end of the card's body.
    End,
    /// At the end of a container component.
    EndOf(String),
    /// Before a component.
    Before(String),
    /// After a component.
    After(String),
}

impl Position {
    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        let (kind, target) = match self {
            Self::End => ("append", None),
            Self::EndOf(target) => ("append", Some(target)),
            Self::Before(target) => ("insert_before", Some(target)),
            Self::After(target) => ("insert_after", Some(target)),
        };
        body.insert("type".to_owned(), Value::String(kind.to_owned()));
        if let Some(target) = target {
            check_element_id("target_element_id", target)?;
            body.insert(
                "target_element_id".to_owned(),
                Value::String(target.clone()),
            );
        }
        Ok(())
    }
}

/// `POST /open-apis/cardkit/v1/cards/:card_id/elements`: adds components.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AddElements {
    /// Where.
    pub position: Position,
    /// What.
    pub elements: Vec<CardElement>,
}

impl AddElements {
    /// Adds `elements` at `position`.
    #[must_use]
    pub fn new(position: Position, elements: Vec<CardElement>) -> Self {
        Self { position, elements }
    }
}

impl CardOperation for AddElements {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id/elements";

    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        self.position.write(body)?;
        check_elements(&self.elements)?;
        body.insert(
            "elements".to_owned(),
            Value::String(to_value(&self.elements)?.to_string()),
        );
        Ok(())
    }
}

/// `PUT /open-apis/cardkit/v1/cards/:card_id/elements/:element_id`: replaces a component.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReplaceElement {
    /// The component replaced.
    pub element_id: String,
    /// Its replacement.
    pub element: CardElement,
}

impl ReplaceElement {
    /// Replaces `element_id` with `element`.
    #[must_use]
    pub fn new(element_id: impl Into<String>, element: impl Into<CardElement>) -> Self {
        Self {
            element_id: element_id.into(),
            element: element.into(),
        }
    }
}

impl CardOperation for ReplaceElement {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id/elements/:element_id";

    fn element_id(&self) -> Option<&str> {
        Some(&self.element_id)
    }

    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        check_elements(std::slice::from_ref(&self.element))?;
        body.insert(
            "element".to_owned(),
            Value::String(to_value(&self.element)?.to_string()),
        );
        Ok(())
    }
}

/// `PATCH /open-apis/cardkit/v1/cards/:card_id/elements/:element_id`: changes some properties
/// of a component; its `tag` cannot change.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PatchElement {
    /// The component.
    pub element_id: String,
    /// The properties to change, e.g. `{"content": "…"}`.
    pub properties: Map<String, Value>,
}

impl PatchElement {
    /// Sets `properties` on `element_id`.
    #[must_use]
    pub fn new(element_id: impl Into<String>, properties: Map<String, Value>) -> Self {
        Self {
            element_id: element_id.into(),
            properties,
        }
    }
}

impl CardOperation for PatchElement {
    const METHOD: Method = Method::PATCH;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id/elements/:element_id";

    fn element_id(&self) -> Option<&str> {
        Some(&self.element_id)
    }

    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        check_properties(&self.properties)?;
        body.insert(
            "partial_element".to_owned(),
            Value::String(Value::Object(self.properties.clone()).to_string()),
        );
        Ok(())
    }
}

/// `PUT /open-apis/cardkit/v1/cards/:card_id/elements/:element_id/content`: the whole text of a
/// `markdown` or `plain_text` component, in a streaming card. Text that extends what is shown is
/// typed out from where it stopped; other text replaces it at once.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamText {
    /// The text component.
    pub element_id: String,
    /// Its whole text, 1 to 100,000 characters.
    pub content: String,
}

impl StreamText {
    /// `element_id` now reads `content`.
    #[must_use]
    pub fn new(element_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            element_id: element_id.into(),
            content: content.into(),
        }
    }
}

impl CardOperation for StreamText {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id/elements/:element_id/content";

    fn element_id(&self) -> Option<&str> {
        Some(&self.element_id)
    }

    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        let chars = self.content.chars().count();
        if chars == 0 || chars > STREAM_TEXT_MAX_CHARS {
            return Err(BuildError::InvalidParam {
                field: "content",
                reason: format!(
                    "is {chars} characters; it must be 1 to {STREAM_TEXT_MAX_CHARS} (continue \
                     longer text in another component or card)"
                ),
            });
        }
        body.insert("content".to_owned(), Value::String(self.content.clone()));
        Ok(())
    }
}

/// `DELETE /open-apis/cardkit/v1/cards/:card_id/elements/:element_id`: removes a component.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteElement {
    /// The component.
    pub element_id: String,
}

impl DeleteElement {
    /// Removes `element_id`.
    #[must_use]
    pub fn new(element_id: impl Into<String>) -> Self {
        Self {
            element_id: element_id.into(),
        }
    }
}

impl CardOperation for DeleteElement {
    const METHOD: Method = Method::DELETE;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id/elements/:element_id";

    fn element_id(&self) -> Option<&str> {
        Some(&self.element_id)
    }

    fn write(&self, _body: &mut Map<String, Value>) -> Result<(), BuildError> {
        Ok(())
    }
}

/// One step of a [`BatchUpdate`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CardAction {
    /// `partial_update_setting`: change card-wide settings.
    Settings(Settings),
    /// `add_elements`: add components.
    Add(AddElements),
    /// `delete_elements`: remove components.
    Delete(Vec<String>),
    /// `partial_update_element`: change some properties of a component.
    Patch(PatchElement),
    /// `update_element`: replace a component.
    Replace(ReplaceElement),
}

impl CardAction {
    fn to_value(&self) -> Result<Value, BuildError> {
        let (action, params) = match self {
            Self::Settings(settings) => (
                "partial_update_setting",
                json!({"settings": settings.to_value()?}),
            ),
            Self::Add(add) => {
                let mut params = Map::new();
                add.position.write(&mut params)?;
                check_elements(&add.elements)?;
                params.insert("elements".to_owned(), to_value(&add.elements)?);
                ("add_elements", Value::Object(params))
            }
            Self::Delete(ids) => {
                if ids.is_empty() {
                    return Err(BuildError::InvalidParam {
                        field: "element_ids",
                        reason: "is empty; name the components to delete".to_owned(),
                    });
                }
                for id in ids {
                    check_element_id("element_ids", id)?;
                }
                ("delete_elements", json!({"element_ids": ids}))
            }
            Self::Patch(patch) => {
                check_element_id("element_id", &patch.element_id)?;
                check_properties(&patch.properties)?;
                (
                    "partial_update_element",
                    json!({"element_id": patch.element_id, "partial_element": patch.properties}),
                )
            }
            Self::Replace(replace) => {
                check_element_id("element_id", &replace.element_id)?;
                check_elements(std::slice::from_ref(&replace.element))?;
                (
                    "update_element",
                    json!({"element_id": replace.element_id, "element": to_value(&replace.element)?}),
                )
            }
        };
        Ok(json!({"action": action, "params": params}))
    }
}

/// `POST /open-apis/cardkit/v1/cards/:card_id/batch_update`: several changes, applied together
/// as one operation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BatchUpdate {
    /// The changes, in order.
    pub actions: Vec<CardAction>,
}

impl BatchUpdate {
    /// Applies `actions` in order.
    #[must_use]
    pub fn new(actions: Vec<CardAction>) -> Self {
        Self { actions }
    }
}

impl CardOperation for BatchUpdate {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/open-apis/cardkit/v1/cards/:card_id/batch_update";

    fn write(&self, body: &mut Map<String, Value>) -> Result<(), BuildError> {
        if self.actions.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "actions",
                reason: "is empty; give at least one action".to_owned(),
            });
        }
        let actions = self
            .actions
            .iter()
            .map(CardAction::to_value)
            .collect::<Result<Vec<_>, _>>()?;
        body.insert(
            "actions".to_owned(),
            Value::String(Value::Array(actions).to_string()),
        );
        Ok(())
    }
}

/// The card's JSON as the `data` string, after the checks a message's card gets (30 KB, 200
/// components, unique element ids).
fn card_json(card: &CardV2) -> Result<String, BuildError> {
    if card.schema != "2.0" {
        return Err(BuildError::InvalidParam {
            field: "card",
            reason: format!(
                "has schema {:?}; card entities take card JSON 2.0 only",
                card.schema
            ),
        });
    }
    if card
        .config
        .as_ref()
        .is_some_and(|config| config.update_multi == Some(false))
    {
        return Err(BuildError::InvalidParam {
            field: "card",
            reason: "card entities are shared: `update_multi` cannot be false".to_owned(),
        });
    }
    Ok(MessageContent::from(card.clone()).encode_validated()?)
}

fn check_elements(elements: &[CardElement]) -> Result<(), BuildError> {
    if elements.is_empty() {
        return Err(BuildError::InvalidParam {
            field: "elements",
            reason: "is empty; give at least one component".to_owned(),
        });
    }
    check_element_id_list(elements)?;
    Ok(())
}

fn check_properties(properties: &Map<String, Value>) -> Result<(), BuildError> {
    if properties.is_empty() {
        return Err(BuildError::InvalidParam {
            field: "partial_element",
            reason: "is empty; give the properties to change".to_owned(),
        });
    }
    if properties.contains_key("tag") {
        return Err(BuildError::InvalidParam {
            field: "partial_element",
            reason: "changes `tag`, which cannot change; replace the component instead".to_owned(),
        });
    }
    Ok(())
}

fn check_element_id(field: &'static str, id: &str) -> Result<(), BuildError> {
    if !is_valid_element_id(id) {
        return Err(BuildError::InvalidParam {
            field,
            reason: format!(
                "{id:?} is no element id: 1 to 20 letters, digits or underscores, starting with \
                 a letter"
            ),
        });
    }
    Ok(())
}

fn check_nonempty(field: &'static str, id: &str) -> Result<(), BuildError> {
    if id.trim().is_empty() {
        return Err(BuildError::InvalidParam {
            field,
            reason: "is empty; pass the id the platform returned".to_owned(),
        });
    }
    Ok(())
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, BuildError> {
    serde_json::to_value(value).map_err(|error| BuildError::InvalidParam {
        field: "card",
        reason: format!("does not serialize: {error}"),
    })
}
