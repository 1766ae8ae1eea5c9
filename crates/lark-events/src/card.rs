//! Card callbacks: what a click carries in, and the answer that goes back.

use crate::types::EventHeader;
use lark_content::{Card, ChatId, MessageId, OpenId, TemplateId, TenantKey, UnionId, UserId};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Which callback protocol a click came by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CardCallbackKind {
    /// `card.action.trigger`: the event envelope, encrypted and sha256-signed like events.
    Trigger,
    /// `card.action.trigger_v1`: the legacy flat body, signed with sha1 and the verification
    /// token.
    Legacy,
}

/// Who clicked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct CardOperator {
    /// The user's open_id.
    #[serde(default)]
    pub open_id: Option<OpenId>,
    /// The user's user_id.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The user's union_id.
    #[serde(default)]
    pub union_id: Option<UnionId>,
    /// The user's tenant.
    #[serde(default)]
    pub tenant_key: Option<TenantKey>,
}

/// What was done on the card.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct CardActionData {
    /// The component's callback value: an object, or a string.
    #[serde(default)]
    pub value: Value,
    /// The component's tag, e.g. `button`.
    #[serde(default)]
    pub tag: Option<String>,
    /// The component's name.
    #[serde(default)]
    pub name: Option<String>,
    /// A form's values by field name.
    #[serde(default)]
    pub form_value: Option<Map<String, Value>>,
    /// An input's text.
    #[serde(default)]
    pub input_value: Option<String>,
    /// A select's chosen option.
    #[serde(default)]
    pub option: Option<String>,
    /// A multi-select's chosen options.
    #[serde(default)]
    pub options: Option<Vec<String>>,
    /// A checker's state.
    #[serde(default)]
    pub checked: Option<bool>,
    /// The user's time zone.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Where the card is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct CardContext {
    /// The message holding the card.
    #[serde(default)]
    pub open_message_id: Option<MessageId>,
    /// Its chat.
    #[serde(default)]
    pub open_chat_id: Option<ChatId>,
    /// For link previews: the url.
    #[serde(default)]
    pub url: Option<String>,
    /// For link previews: the preview's token.
    #[serde(default)]
    pub preview_token: Option<String>,
}

/// A card callback: a button clicked, a form submitted, an option picked.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct CardAction {
    /// How it came.
    pub kind: CardCallbackKind,
    /// The event header (new callbacks only).
    pub header: Option<EventHeader>,
    /// Who acted.
    pub operator: CardOperator,
    /// What was done.
    pub action: CardActionData,
    /// Where.
    pub context: CardContext,
    /// `im_message` or `im_top_notice` (new callbacks only).
    pub host: Option<String>,
    /// The token for a delayed card update (valid 30 minutes, twice). Redacted in `Debug`.
    pub update_token: Option<String>,
    /// The callback as it came.
    pub raw: Value,
}

impl fmt::Debug for CardAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardAction")
            .field("kind", &self.kind)
            .field("header", &self.header)
            .field("operator", &self.operator)
            .field("action", &self.action)
            .field("context", &self.context)
            .field("host", &self.host)
            .field(
                "update_token",
                &self.update_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl CardAction {
    /// Reads a new-style `card.action.trigger` event body.
    pub(crate) fn from_trigger(header: EventHeader, event: Value) -> Self {
        let field = |name: &str| event.get(name).cloned().unwrap_or(Value::Null);
        Self {
            kind: CardCallbackKind::Trigger,
            operator: CardOperator::deserialize(field("operator")).unwrap_or_default(),
            action: CardActionData::deserialize(field("action")).unwrap_or_default(),
            context: CardContext::deserialize(field("context")).unwrap_or_default(),
            host: event.get("host").and_then(Value::as_str).map(str::to_owned),
            update_token: event
                .get("token")
                .and_then(Value::as_str)
                .map(str::to_owned),
            header: Some(header),
            raw: event,
        }
    }

    /// Reads a legacy `card.action.trigger_v1` body.
    pub(crate) fn from_legacy(body: Value) -> Self {
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        Self {
            kind: CardCallbackKind::Legacy,
            operator: CardOperator {
                open_id: text("open_id").map(OpenId::new),
                user_id: text("user_id").map(UserId::new),
                union_id: None,
                tenant_key: text("tenant_key").map(TenantKey::new),
            },
            action: body
                .get("action")
                .cloned()
                .and_then(|action| CardActionData::deserialize(action).ok())
                .unwrap_or_default(),
            context: CardContext {
                open_message_id: text("open_message_id").map(MessageId::new),
                open_chat_id: text("open_chat_id").map(ChatId::new),
                url: None,
                preview_token: None,
            },
            host: None,
            update_token: text("token"),
            header: None,
            raw: body,
        }
    }

    /// The callback value as a string field, e.g. `value.action`.
    #[must_use]
    pub fn value_str(&self, key: &str) -> Option<&str> {
        self.action.value.get(key).and_then(Value::as_str)
    }
}

lark_content::open_enum! {
    /// A toast's look.
    pub enum ToastKind {
        /// Neutral.
        Info = "info",
        /// Success.
        Success = "success",
        /// A warning.
        Warning = "warning",
        /// An error.
        Error = "error",
    }
}

/// A toast shown to the user who clicked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Toast {
    /// Its look.
    #[serde(rename = "type")]
    pub kind: ToastKind,
    /// The text.
    pub content: String,
    /// The text by locale (`zh_cn`, `en_us`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub i18n: BTreeMap<String, String>,
}

/// The card that replaces the clicked one.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CardUpdate {
    /// A whole card JSON (of the same version as the one clicked).
    Raw(Box<Card>),
    /// A template.
    Template {
        /// The template.
        template_id: TemplateId,
        /// Its version; the latest when absent.
        version: Option<String>,
        /// Its variables.
        variables: Map<String, Value>,
    },
}

/// The answer to a card callback: nothing (`{}`), a toast, a new card, or both.
///
/// ```
/// use lark_events::{CardResponse, ToastKind};
/// let answer = CardResponse::toast(ToastKind::Success, "Approved").i18n("zh_cn", "已批准");
/// assert_eq!(
///     serde_json::to_value(&answer).unwrap(),
///     serde_json::json!({"toast": {"type": "success", "content": "Approved", "i18n": {"zh_cn": "已批准"}}})
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct CardResponse {
    /// The toast.
    pub toast: Option<Toast>,
    /// The new card.
    pub card: Option<CardUpdate>,
}

impl CardResponse {
    /// An empty answer: the card stays as it is.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A toast.
    pub fn toast(kind: ToastKind, content: impl Into<String>) -> Self {
        Self {
            toast: Some(Toast {
                kind,
                content: content.into(),
                i18n: BTreeMap::new(),
            }),
            card: None,
        }
    }

    /// Adds the toast's text in another locale.
    pub fn i18n(mut self, locale: impl Into<String>, text: impl Into<String>) -> Self {
        if let Some(toast) = &mut self.toast {
            toast.i18n.insert(locale.into(), text.into());
        }
        self
    }

    /// Replaces the card with `card`: card JSON is answered as `{"type":"raw","data":…}`, a
    /// template as `{"type":"template","data":{"template_id",…}}`, a card entity as
    /// `{"type":"card","data":{"card_id"}}`.
    pub fn with_card(mut self, card: impl Into<Card>) -> Self {
        self.card = Some(CardUpdate::Raw(Box::new(card.into())));
        self
    }

    /// Replaces the card with a template.
    pub fn with_template(
        mut self,
        template_id: TemplateId,
        version: Option<&str>,
        variables: Map<String, Value>,
    ) -> Self {
        self.card = Some(CardUpdate::Template {
            template_id,
            version: version.map(str::to_owned),
            variables,
        });
        self
    }

    /// The answer for a legacy callback: the card JSON itself when there is one, else the toast.
    #[must_use]
    pub fn to_legacy_json(&self) -> Value {
        match &self.card {
            Some(CardUpdate::Raw(card)) => serde_json::to_value(card).unwrap_or(Value::Null),
            _ => match &self.toast {
                Some(toast) => serde_json::json!({ "toast": toast }),
                None => serde_json::json!({}),
            },
        }
    }
}

impl CardResponse {
    /// Reads a response written as JSON (`{"toast": {…}, "card": {"type": "raw" | "template",
    /// "data": …}}`), as `lark listen --ack-card FILE` takes it.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let object = value
            .as_object()
            .ok_or("a card response is a JSON object")?;
        let mut response = Self::empty();
        if let Some(toast) = object.get("toast") {
            response.toast =
                Some(serde_json::from_value(toast.clone()).map_err(|err| format!("toast: {err}"))?);
        }
        if let Some(card) = object.get("card") {
            let data = card.get("data").cloned().unwrap_or(Value::Null);
            response.card = Some(match card.get("type").and_then(Value::as_str) {
                Some("raw") => CardUpdate::Raw(Box::new(
                    serde_json::from_value(data).map_err(|err| format!("card.data: {err}"))?,
                )),
                Some("template") => CardUpdate::Template {
                    template_id: TemplateId::new(
                        data["template_id"]
                            .as_str()
                            .ok_or("card.data.template_id is missing")?,
                    ),
                    version: data["template_version_name"].as_str().map(str::to_owned),
                    variables: data["template_variable"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                },
                other => {
                    return Err(format!(
                        "card.type is {other:?}; write \"raw\" or \"template\""
                    ));
                }
            });
        }
        Ok(response)
    }
}

impl Serialize for CardResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(toast) = &self.toast {
            map.serialize_entry("toast", toast)?;
        }
        match &self.card {
            // A template or a card entity already is `{"type": …, "data": …}`; only card JSON
            // is wrapped as `raw`.
            Some(CardUpdate::Raw(card)) => match card.as_ref() {
                Card::Template(_) | Card::Entity(_) => map.serialize_entry("card", card)?,
                _ => map
                    .serialize_entry("card", &serde_json::json!({ "type": "raw", "data": card }))?,
            },
            Some(CardUpdate::Template {
                template_id,
                version,
                variables,
            }) => {
                let mut data = serde_json::json!({ "template_id": template_id });
                if let Some(version) = version {
                    data["template_version_name"] = Value::String(version.clone());
                }
                if !variables.is_empty() {
                    data["template_variable"] = Value::Object(variables.clone());
                }
                map.serialize_entry(
                    "card",
                    &serde_json::json!({ "type": "template", "data": data }),
                )?;
            }
            None => {}
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lark_content::card::{CardHeader, CardV2, Markdown};
    use serde_json::json;

    #[test]
    fn with_card_writes_templates_and_entities_in_their_own_shape_not_as_raw() {
        let template = CardResponse::empty().with_card(Card::template(
            lark_content::TemplateId::new("AAqi6xJ8rabcd"),
            Some("1.0.0"),
            serde_json::Map::new(),
        ));
        assert_eq!(
            serde_json::to_value(&template).unwrap(),
            json!({"card": {"type": "template", "data": {"template_id": "AAqi6xJ8rabcd", "template_version_name": "1.0.0"}}}),
            "the documented template answer (cardkit-v1/card-callback-communication)"
        );
        let entity = CardResponse::empty().with_card(Card::entity(lark_content::CardId::new(
            "7371713483664506900",
        )));
        assert_eq!(
            serde_json::to_value(&entity).unwrap(),
            json!({"card": {"type": "card", "data": {"card_id": "7371713483664506900"}}})
        );
    }

    #[test]
    fn responses_have_the_documented_shape() {
        assert_eq!(
            serde_json::to_value(CardResponse::empty()).unwrap(),
            json!({})
        );
        let card = CardV2::builder()
            .header(CardHeader::new("Done"))
            .element(Markdown::new("ok"))
            .build();
        let value = serde_json::to_value(
            CardResponse::toast(ToastKind::Info, "卡片交互成功").with_card(card),
        )
        .unwrap();
        assert_eq!(value["toast"]["type"], "info");
        assert_eq!(value["card"]["type"], "raw");
        assert_eq!(value["card"]["data"]["schema"], "2.0");
        let template = CardResponse::empty().with_template(
            TemplateId::new("AAqi6xJ8rabcd"),
            Some("1.0.0"),
            Map::new(),
        );
        assert_eq!(
            serde_json::to_value(template).unwrap(),
            json!({"card": {"type": "template", "data": {"template_id": "AAqi6xJ8rabcd", "template_version_name": "1.0.0"}}})
        );
    }

    #[test]
    fn responses_read_back_from_their_json() {
        let card = CardV2::builder()
            .header(CardHeader::new("Done"))
            .element(Markdown::new("**ok**"))
            .build();
        let response = CardResponse::toast(ToastKind::Success, "Approved")
            .i18n("zh_cn", "已批准")
            .with_card(card);
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(CardResponse::from_json(&json).unwrap(), response);
        let template =
            json!({"card": {"type": "template", "data": {"template_id": "AAqi6xJ8rabcd"}}});
        assert!(matches!(
            CardResponse::from_json(&template).unwrap().card,
            Some(CardUpdate::Template { .. })
        ));
        assert!(
            CardResponse::from_json(&json!({"card": {"type": "html"}}))
                .unwrap_err()
                .contains("raw")
        );
        assert!(CardResponse::from_json(&json!([])).is_err());
    }
}
