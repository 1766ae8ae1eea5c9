//! `system` messages.
//!
//! Sent, a system message is a divider in a p2p chat (tenant token only, scope
//! `im:message:send_sys_msg`). Received, it is a template such as
//! `{from_user} invited {to_chatters} to this chat.` with the names beside it.

use crate::error::ContentError;
use crate::limits::{DIVIDER_TEXT_MAX_WIDTH, display_width};
use crate::object::wire_object;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A `system` message in either of its shapes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum System {
    /// The send-side divider: `{"type":"divider","params":{…},"options":{…}}`.
    Divider(SystemDivider),
    /// The receive-side template: `{"template":"…","from_user":[…],"to_chatters":[…]}`.
    Notice(SystemNotice),
}

wire_object! {
    /// A divider between sessions of a p2p chat, as sent.
    pub struct SystemDivider {
        /// Always `divider`.
        req kind: String => "type",
        /// The divider's text.
        opt params: DividerParams => "params",
        /// Display options.
        opt options: DividerOptions => "options",
    }
}

wire_object! {
    /// The parameters of a divider.
    pub struct DividerParams {
        /// The text shown on the divider.
        opt divider_text: DividerText => "divider_text",
    }
}

wire_object! {
    /// A divider's text, with translations.
    pub struct DividerText {
        /// The default text: at most 20 characters, 10 for CJK.
        opt text: String => "text",
        /// Translations by locale. Send-side keys are case-sensitive (`zh_CN`, `en_US`);
        /// received keys are lower-case.
        opt i18n_text: BTreeMap<String, String> => "i18n_text",
    }
}

wire_object! {
    /// Display options of a divider.
    pub struct DividerOptions {
        /// Whether earlier messages fold away under the divider.
        opt need_rollup: bool => "need_rollup",
    }
}

wire_object! {
    /// A system notice as received.
    pub struct SystemNotice {
        /// The template, with `{name}` variables filled from the fields of the same name.
        opt template: String => "template",
        /// Who acted.
        opt from_user: Vec<String> => "from_user",
        /// Who was acted on.
        opt to_chatters: Vec<String> => "to_chatters",
        /// A divider's text, when the notice is a divider.
        opt divider_text: DividerText => "divider_text",
    }
}

impl System {
    /// A divider with `text`, translations, and whether earlier messages fold away.
    #[must_use]
    pub fn divider(
        text: impl Into<String>,
        i18n_text: impl IntoIterator<Item = (String, String)>,
        need_rollup: bool,
    ) -> Self {
        let i18n: BTreeMap<String, String> = i18n_text.into_iter().collect();
        Self::Divider(SystemDivider {
            kind: "divider".to_owned(),
            params: Some(DividerParams {
                divider_text: Some(DividerText {
                    text: Some(text.into()),
                    i18n_text: (!i18n.is_empty()).then_some(i18n),
                    extra: Map::new(),
                }),
                extra: Map::new(),
            }),
            options: Some(DividerOptions {
                need_rollup: Some(need_rollup),
                extra: Map::new(),
            }),
            extra: Map::new(),
        })
    }

    pub(crate) fn check_rules(&self) -> Result<(), ContentError> {
        let Self::Divider(divider) = self else {
            return Ok(());
        };
        let Some(text) = divider
            .params
            .as_ref()
            .and_then(|p| p.divider_text.as_ref())
        else {
            return Ok(());
        };
        let texts = text
            .text
            .iter()
            .chain(text.i18n_text.iter().flat_map(BTreeMap::values));
        for candidate in texts {
            let width = display_width(candidate);
            if width > DIVIDER_TEXT_MAX_WIDTH {
                return Err(ContentError::TooLarge {
                    what: "the divider text",
                    actual: width,
                    limit: DIVIDER_TEXT_MAX_WIDTH,
                    unit: "characters (CJK counting two)",
                    hint: "shorten it",
                });
            }
        }
        Ok(())
    }
}

impl SystemNotice {
    /// The notice as a person reads it: each `{variable}` replaced by its values joined with
    /// ", ", and `{divider_text}` by the divider's text.
    #[must_use]
    pub fn render(&self) -> String {
        let Some(template) = &self.template else {
            return String::new();
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let name = &after[..close];
            if let Some(value) = self.variable(name) {
                out.push_str(&value);
            } else {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn variable(&self, name: &str) -> Option<String> {
        match name {
            "from_user" => self.from_user.as_ref().map(|v| v.join(", ")),
            "to_chatters" => self.to_chatters.as_ref().map(|v| v.join(", ")),
            "divider_text" => self.divider_text.as_ref().and_then(|d| d.text.clone()),
            other => match self.extra.get(other)? {
                Value::String(s) => Some(s.clone()),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .map(|item| {
                            item.as_str()
                                .map_or_else(|| item.to_string(), str::to_owned)
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                other => Some(other.to_string()),
            },
        }
    }
}

impl Serialize for System {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Divider(divider) => divider.serialize(serializer),
            Self::Notice(notice) => notice.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for System {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        let value = Value::Object(map);
        let is_send_side = value.get("type").is_some() && value.get("template").is_none();
        if is_send_side {
            SystemDivider::deserialize(value).map(Self::Divider)
        } else {
            SystemNotice::deserialize(value).map(Self::Notice)
        }
        .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_render_their_template() {
        let notice: SystemNotice = serde_json::from_str(
            r#"{"template":"{from_user} invited {to_chatters} to this chat.","from_user":["botName"],"to_chatters":["小明","小王","小红"]}"#,
        )
        .unwrap();
        assert_eq!(
            notice.render(),
            "botName invited 小明, 小王, 小红 to this chat."
        );
    }

    #[test]
    fn long_divider_text_is_refused_before_sending() {
        let ok = System::divider(
            "新会话",
            [("en_US".to_owned(), "New Session".to_owned())],
            true,
        );
        assert!(ok.check_rules().is_ok());
        let long = System::divider("这是一个非常非常长的分割线文本", [], true);
        let err = long.check_rules().unwrap_err();
        assert!(err.to_string().contains("limit of 20"), "{err}");
    }
}
