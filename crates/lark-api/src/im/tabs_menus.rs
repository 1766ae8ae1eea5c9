//! A chat's tabs (links and documents beside its messages) and its menu (buttons under the
//! message box).

use super::model::I18nNames;
use crate::answer::data_field;
use crate::answer::endpoint;
use crate::endpoint::{Body, Endpoint, PathIds};
use crate::error::BuildError;
use http::Method;
use lark_content::ChatId;
use serde::{Deserialize, Serialize};

/// What a tab shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TabContent {
    /// A web page, for a `url` tab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A document's url, for a `doc` tab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Meeting minutes' url, for a `meeting_minute` tab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_minute: Option<String>,
}

/// How a tab looks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TabConfig {
    /// The icon, an uploaded image's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_key: Option<String>,
    /// Whether the tab opens inside the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_built_in: Option<bool>,
}

/// A chat tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ChatTab {
    /// The tab (set by the platform; give it to update, sort or delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_name: Option<String>,
    /// `message`, `doc_list`, `doc`, `pin`, `meeting_minute`, `chat_announcement`, `url`,
    /// `file`, …; only `url` and `doc` tabs can be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_type: Option<String>,
    /// What it shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_content: Option<TabContent>,
    /// How it looks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_config: Option<TabConfig>,
}

impl ChatTab {
    /// A tab named `name` that shows the web page `url`.
    #[must_use]
    pub fn url(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            tab_name: Some(name.into()),
            tab_type: Some("url".to_owned()),
            tab_content: Some(TabContent {
                url: Some(url.into()),
                ..TabContent::default()
            }),
            ..Self::default()
        }
    }
}

data_field! {
    /// The answer of every tab call: `data.chat_tabs`, the chat's tabs after it.
    ChatTabs, chat_tabs: Vec<ChatTab>
}

/// A tab call: which path, which body field, whether it needs tabs or ids.
macro_rules! tab_call {
    ($(#[$doc:meta])* $name:ident, $method:ident, $path:literal, $field:ident: $ty:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[must_use]
        pub struct $name {
            /// The chat.
            pub chat_id: ChatId,
            #[doc = concat!("The request's `", stringify!($field), "`.")]
            pub $field: $ty,
        }

        impl $name {
            #[doc = concat!("On `chat_id`, with `", stringify!($field), "`.")]
            pub fn new(chat_id: ChatId, $field: $ty) -> Self {
                Self { chat_id, $field }
            }
        }

        impl Endpoint for $name {
            type Output = Vec<ChatTab>;
            type Answer = ChatTabs;
            const METHOD: Method = Method::$method;
            const PATH: &'static str = $path;

            fn path_ids(&self) -> PathIds<'_> {
                PathIds::one(self.chat_id.as_str())
            }

            fn body(&self) -> Result<Body, BuildError> {
                if self.$field.is_empty() {
                    return Err(BuildError::InvalidParam {
                        field: stringify!($field),
                        reason: "is empty; give at least one".to_owned(),
                    });
                }
                Ok(Body::json(&serde_json::json!({ stringify!($field): self.$field })))
            }
        }
    };
}

tab_call! {
    /// `POST /open-apis/im/v1/chats/:chat_id/chat_tabs`: adds tabs.
    CreateTabs, POST, "/open-apis/im/v1/chats/:chat_id/chat_tabs", chat_tabs: Vec<ChatTab>
}
tab_call! {
    /// `DELETE /open-apis/im/v1/chats/:chat_id/chat_tabs/delete_tabs`: removes tabs.
    DeleteTabs, DELETE, "/open-apis/im/v1/chats/:chat_id/chat_tabs/delete_tabs", tab_ids: Vec<String>
}
tab_call! {
    /// `POST /open-apis/im/v1/chats/:chat_id/chat_tabs/sort_tabs`: puts tabs in this order.
    SortTabs, POST, "/open-apis/im/v1/chats/:chat_id/chat_tabs/sort_tabs", tab_ids: Vec<String>
}
tab_call! {
    /// `POST /open-apis/im/v1/chats/:chat_id/chat_tabs/update_tabs`: changes tabs, by `tab_id`.
    UpdateTabs, POST, "/open-apis/im/v1/chats/:chat_id/chat_tabs/update_tabs", chat_tabs: Vec<ChatTab>
}

crate::answer::by_id! {
    /// `GET /open-apis/im/v1/chats/:chat_id/chat_tabs/list_tabs`: a chat's tabs.
    pub struct ListTabs {
        /// The chat.
        pub chat_id: ChatId,
    }
    /// `chat_id`'s tabs.
    fn new;
    GET "/open-apis/im/v1/chats/:chat_id/chat_tabs/list_tabs" => ChatTabs
}

/// Where a menu button leads, per client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RedirectLink {
    /// Every client, unless one below overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_url: Option<String>,
    /// iOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ios_url: Option<String>,
    /// Android.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub android_url: Option<String>,
    /// Desktop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pc_url: Option<String>,
    /// The web client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
}

/// One menu button.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct MenuItem {
    /// `NONE` (a top-level button that only opens its children) or `REDIRECT_LINK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    /// Where it leads, with `REDIRECT_LINK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_link: Option<RedirectLink>,
    /// Its icon, an uploaded image's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_key: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its name per language (`zh_cn`, `en_us`, `ja_jp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i18n_names: Option<I18nNames>,
}

impl MenuItem {
    /// A button named `name` that opens `url`.
    #[must_use]
    pub fn link(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            action_type: Some("REDIRECT_LINK".to_owned()),
            redirect_link: Some(RedirectLink {
                common_url: Some(url.into()),
                ..RedirectLink::default()
            }),
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

/// A button under a top-level one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct MenuSecondLevel {
    /// Its id (set by the platform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_menu_second_level_id: Option<String>,
    /// The button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_menu_item: Option<MenuItem>,
}

/// A top-level button, with the buttons under it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct MenuTopLevel {
    /// Its id (set by the platform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_menu_top_level_id: Option<String>,
    /// The button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_menu_item: Option<MenuItem>,
    /// The buttons under it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<MenuSecondLevel>,
}

impl MenuTopLevel {
    /// A top-level `item`.
    #[must_use]
    pub fn new(item: MenuItem) -> Self {
        Self {
            chat_menu_item: Some(item),
            ..Self::default()
        }
    }
}

/// A chat's menu.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct MenuTree {
    /// The top-level buttons, in order.
    #[serde(default, deserialize_with = "crate::pagination::null_as_empty")]
    pub chat_menu_top_levels: Vec<MenuTopLevel>,
}

impl MenuTree {
    /// A menu of `top_levels`.
    #[must_use]
    pub fn new(top_levels: Vec<MenuTopLevel>) -> Self {
        Self {
            chat_menu_top_levels: top_levels,
        }
    }
}

data_field! {
    /// The answer of every menu call: `data.menu_tree`, the chat's menu after it.
    ChatMenu, menu_tree: MenuTree
}

/// `POST /open-apis/im/v1/chats/:chat_id/menu_tree`: adds top-level buttons to a chat's menu.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct CreateMenu {
    /// The chat.
    pub chat_id: ChatId,
    /// What to add.
    pub menu_tree: MenuTree,
}

impl CreateMenu {
    /// Adds `menu_tree` to `chat_id`'s menu.
    pub fn new(chat_id: ChatId, menu_tree: MenuTree) -> Self {
        Self { chat_id, menu_tree }
    }
}

endpoint!(CreateMenu: POST "/open-apis/im/v1/chats/:chat_id/menu_tree" => ChatMenu, ids(chat_id) {
    fn body(&self) -> Result<Body, BuildError> {
        if self.menu_tree.chat_menu_top_levels.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "menu_tree",
                reason: "has no buttons; give at least one".to_owned(),
            });
        }
        Ok(Body::json(
            &serde_json::json!({"menu_tree": self.menu_tree}),
        ))
    }
});

/// A menu call on top-level buttons by id: which path and method.
macro_rules! menu_ids_call {
    ($(#[$doc:meta])* $name:ident, $method:ident, $path:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[must_use]
        pub struct $name {
            /// The chat.
            pub chat_id: ChatId,
            /// The top-level buttons, by id.
            pub chat_menu_top_level_ids: Vec<String>,
        }

        impl $name {
            /// On `chat_id`'s top-level buttons `ids`.
            pub fn new(chat_id: ChatId, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
                Self {
                    chat_id,
                    chat_menu_top_level_ids: ids.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl Endpoint for $name {
            type Output = MenuTree;
            type Answer = ChatMenu;
            const METHOD: Method = Method::$method;
            const PATH: &'static str = $path;

            fn path_ids(&self) -> PathIds<'_> {
                PathIds::one(self.chat_id.as_str())
            }

            fn body(&self) -> Result<Body, BuildError> {
                if self.chat_menu_top_level_ids.is_empty() {
                    return Err(BuildError::InvalidParam {
                        field: "chat_menu_top_level_ids",
                        reason: "is empty; give at least one".to_owned(),
                    });
                }
                Ok(Body::json(&serde_json::json!({
                    "chat_menu_top_level_ids": self.chat_menu_top_level_ids,
                })))
            }
        }
    };
}

menu_ids_call! {
    /// `DELETE /open-apis/im/v1/chats/:chat_id/menu_tree`: removes top-level buttons.
    DeleteMenu, DELETE, "/open-apis/im/v1/chats/:chat_id/menu_tree"
}
menu_ids_call! {
    /// `POST /open-apis/im/v1/chats/:chat_id/menu_tree/sort`: puts top-level buttons in this
    /// order.
    SortMenu, POST, "/open-apis/im/v1/chats/:chat_id/menu_tree/sort"
}

crate::answer::by_id! {
    /// `GET /open-apis/im/v1/chats/:chat_id/menu_tree`: a chat's menu.
    pub struct GetMenu {
        /// The chat.
        pub chat_id: ChatId,
    }
    /// `chat_id`'s menu.
    fn new;
    GET "/open-apis/im/v1/chats/:chat_id/menu_tree" => ChatMenu
}

data_field! {
    /// The answer of [`PatchMenuItem`]: `data.chat_menu_item`.
    ChangedMenuItem, chat_menu_item: MenuItem
}

/// `PATCH /open-apis/im/v1/chats/:chat_id/menu_items/:menu_item_id`: changes one button.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct PatchMenuItem {
    /// The chat.
    pub chat_id: ChatId,
    /// The button (a top-level or a second-level id).
    pub menu_item_id: String,
    /// Which fields change: `ICON`, `NAME`, `I18N_NAME`, `REDIRECT_LINK`.
    pub update_fields: Vec<String>,
    /// The new values.
    pub chat_menu_item: MenuItem,
}

impl PatchMenuItem {
    /// Sets `fields` of `menu_item_id` in `chat_id` from `item`.
    pub fn new(
        chat_id: ChatId,
        menu_item_id: impl Into<String>,
        fields: impl IntoIterator<Item = impl Into<String>>,
        item: MenuItem,
    ) -> Self {
        Self {
            chat_id,
            menu_item_id: menu_item_id.into(),
            update_fields: fields.into_iter().map(Into::into).collect(),
            chat_menu_item: item,
        }
    }
}

endpoint!(PatchMenuItem: PATCH "/open-apis/im/v1/chats/:chat_id/menu_items/:menu_item_id" => ChangedMenuItem, ids(chat_id, menu_item_id) {
    fn body(&self) -> Result<Body, BuildError> {
        if self.update_fields.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "update_fields",
                reason: "is empty; say which fields change (ICON, NAME, I18N_NAME, REDIRECT_LINK)"
                    .to_owned(),
            });
        }
        Ok(Body::json(&serde_json::json!({
            "update_fields": self.update_fields,
            "chat_menu_item": self.chat_menu_item,
        })))
    }

    fn is_idempotent(&self) -> bool {
        true
    }
});
