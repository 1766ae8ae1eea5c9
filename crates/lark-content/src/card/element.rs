//! Card components: the common ones typed, any other kept as it came.

use super::TextObject;
use crate::id::ImageKey;
use crate::object::wire_object;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// One card component. The `tag` key is written and read by this enum; each typed struct holds
/// the rest.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CardElement {
    /// `markdown`
    Markdown(Markdown),
    /// `div`
    Div(Div),
    /// `hr`
    Hr(Hr),
    /// `img`
    Img(Img),
    /// `note`
    Note(Note),
    /// `action` (1.0): a row of interactive components.
    Action(Action),
    /// `button`
    Button(Button),
    /// `column_set`
    ColumnSet(ColumnSet),
    /// `column`, inside a `column_set`.
    Column(Column),
    /// `form` (2.0): a container whose inputs are submitted together.
    Form(Form),
    /// `input`
    Input(Input),
    /// `select_static`
    SelectStatic(SelectStatic),
    /// `date_picker`
    DatePicker(DatePicker),
    /// `overflow`
    Overflow(Overflow),
    /// Any other component, kept whole (its `tag` included).
    Unknown(Map<String, Value>),
}

macro_rules! element_tags {
    ($($variant:ident => $tag:literal),* $(,)?) => {
        impl CardElement {
            /// The component's `tag`.
            #[must_use]
            pub fn tag(&self) -> &str {
                match self {
                    $( Self::$variant(_) => $tag, )*
                    Self::Unknown(map) => map.get("tag").and_then(Value::as_str).unwrap_or(""),
                }
            }
        }

        impl Serialize for CardElement {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    Self::Unknown(map) => map.serialize(serializer),
                    $( Self::$variant(element) => {
                        let mut map = serializer.serialize_map(None)?;
                        map.serialize_entry("tag", $tag)?;
                        element.serialize_entries(&mut map)?;
                        map.end()
                    } )*
                }
            }
        }

        impl<'de> Deserialize<'de> for CardElement {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let map = Map::<String, Value>::deserialize(deserializer)?;
                let Some(Value::String(tag)) = map.get("tag") else {
                    return Ok(Self::Unknown(map));
                };
                // An element of a known tag that does not fit its model is kept whole, as an
                // element this version does not know would be.
                match tag.as_str() {
                    $( $tag => {
                        let mut fields = map.clone();
                        fields.remove("tag");
                        Ok($variant::deserialize(Value::Object(fields))
                            .map_or_else(|_| Self::Unknown(map), Self::$variant))
                    } )*
                    _ => Ok(Self::Unknown(map)),
                }
            }
        }

        $(
            impl From<$variant> for CardElement {
                fn from(element: $variant) -> Self {
                    Self::$variant(element)
                }
            }
        )*
    };
}

element_tags! {
    Markdown => "markdown",
    Div => "div",
    Hr => "hr",
    Img => "img",
    Note => "note",
    Action => "action",
    Button => "button",
    ColumnSet => "column_set",
    Column => "column",
    Form => "form",
    Input => "input",
    SelectStatic => "select_static",
    DatePicker => "date_picker",
    Overflow => "overflow",
}

impl CardElement {
    /// The components nested inside this one (a form's inputs, a column set's columns, …).
    #[must_use]
    pub fn children(&self) -> Vec<&[CardElement]> {
        match self {
            Self::Note(note) => note.elements.as_deref().into_iter().collect(),
            Self::Action(action) => action.actions.as_deref().into_iter().collect(),
            Self::ColumnSet(set) => set.columns.as_deref().into_iter().collect(),
            Self::Column(column) => column.elements.as_deref().into_iter().collect(),
            Self::Form(form) => form.elements.as_deref().into_iter().collect(),
            Self::Div(div) => div
                .accessory
                .as_deref()
                .map(std::slice::from_ref)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The component's `element_id` (card JSON 2.0), when it has one.
    #[must_use]
    pub fn element_id(&self) -> Option<&str> {
        let extra = match self {
            Self::Markdown(element) => return element.element_id.as_deref(),
            Self::Unknown(map) => map,
            Self::Div(element) => &element.extra,
            Self::Hr(element) => &element.extra,
            Self::Img(element) => &element.extra,
            Self::Note(element) => &element.extra,
            Self::Action(element) => &element.extra,
            Self::Button(element) => &element.extra,
            Self::ColumnSet(element) => &element.extra,
            Self::Column(element) => &element.extra,
            Self::Form(element) => &element.extra,
            Self::Input(element) => &element.extra,
            Self::SelectStatic(element) => &element.extra,
            Self::DatePicker(element) => &element.extra,
            Self::Overflow(element) => &element.extra,
        };
        extra.get("element_id").and_then(Value::as_str)
    }

    /// How many components this one counts for, itself and everything nested in it.
    #[must_use]
    pub fn component_count(&self) -> usize {
        let nested: usize = match self {
            Self::Unknown(map) => map
                .iter()
                .filter(|(key, _)| matches!(key.as_str(), "elements" | "columns" | "actions"))
                .map(|(_, value)| count_tagged(value))
                .sum(),
            _ => self
                .children()
                .into_iter()
                .flatten()
                .map(CardElement::component_count)
                .sum(),
        };
        1 + nested
    }
}

/// Counts components in raw JSON: objects with a `tag` that is not a text object.
fn count_tagged(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(count_tagged).sum(),
        Value::Object(map) => {
            let is_component = map
                .get("tag")
                .and_then(Value::as_str)
                .is_some_and(|tag| !matches!(tag, "plain_text" | "lark_md"));
            let nested: usize = map
                .iter()
                .filter(|(key, _)| matches!(key.as_str(), "elements" | "columns" | "actions"))
                .map(|(_, value)| count_tagged(value))
                .sum();
            usize::from(is_component) + nested
        }
        _ => 0,
    }
}

wire_object! {
    /// `markdown`: rich text in Lark's Markdown. Card mentions are `<at id="ou_…"></at>`,
    /// `<at email="…"></at>` or `<at id="all"></at>`.
    pub struct Markdown {
        /// The Markdown.
        opt content: String => "content",
        /// `left`, `center` or `right`.
        opt text_align: String => "text_align",
        /// A text size name, e.g. `normal` or `heading`.
        opt text_size: String => "text_size",
        /// Margin (2.0), e.g. `0px 0px 0px 0px`.
        opt margin: String => "margin",
        /// The id the CardKit element APIs address it by (2.0): unique in its card.
        opt element_id: String => "element_id",
    }
}

impl Markdown {
    /// A Markdown block.
    #[must_use]
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: Some(content.into()),
            text_align: None,
            text_size: None,
            margin: None,
            element_id: None,
            extra: Map::new(),
        }
    }

    /// Sets the id the CardKit element APIs address it by: 1 to 20 letters, digits or
    /// underscores, starting with a letter.
    #[must_use]
    pub fn element_id(mut self, id: impl Into<String>) -> Self {
        self.element_id = Some(id.into());
        self
    }
}

wire_object! {
    /// `div`: a text block, with optional side-by-side fields and an accessory element.
    pub struct Div {
        /// The text.
        opt text: TextObject => "text",
        /// Fields laid out in columns.
        opt fields: Vec<DivField> => "fields",
        /// An element beside the text (its wire key is `extra`).
        opt accessory: Box<CardElement> => "extra",
    }
}

impl Div {
    /// A block of plain text.
    #[must_use]
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: Some(TextObject::plain(text)),
            fields: None,
            accessory: None,
            extra: Map::new(),
        }
    }

    /// A block of Lark Markdown.
    #[must_use]
    pub fn lark_md(text: impl Into<String>) -> Self {
        Self {
            text: Some(TextObject::lark_md(text)),
            fields: None,
            accessory: None,
            extra: Map::new(),
        }
    }

    /// Adds a field; short fields sit side by side.
    #[must_use]
    pub fn field(mut self, is_short: bool, text: TextObject) -> Self {
        self.fields.get_or_insert_with(Vec::new).push(DivField {
            is_short: Some(is_short),
            text: Some(text),
            extra: Map::new(),
        });
        self
    }
}

wire_object! {
    /// One field of a `div`.
    pub struct DivField {
        /// Whether the field is half-width.
        opt is_short: bool => "is_short",
        /// The field's text.
        opt text: TextObject => "text",
    }
}

wire_object! {
    /// `hr`: a divider line.
    pub struct Hr {}
}

impl Hr {
    /// A divider line.
    #[must_use]
    pub fn new() -> Self {
        Self { extra: Map::new() }
    }
}

impl Default for Hr {
    fn default() -> Self {
        Self::new()
    }
}

wire_object! {
    /// `img`: an image.
    pub struct Img {
        /// The uploaded image.
        opt img_key: ImageKey => "img_key",
        /// Hover text.
        opt alt: TextObject => "alt",
        /// A title under the image (1.0).
        opt title: TextObject => "title",
        /// `crop_center`, `fit_horizontal`, `large`, `medium`, `small`, `tiny`, …
        opt mode: String => "mode",
        /// Whether a click opens the full image.
        opt preview: bool => "preview",
    }
}

impl Img {
    /// An image with hover text.
    #[must_use]
    pub fn new(img_key: ImageKey, alt: impl Into<String>) -> Self {
        Self {
            img_key: Some(img_key),
            alt: Some(TextObject::plain(alt)),
            title: None,
            mode: None,
            preview: None,
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// `note`: small grey text and icons at the bottom of a card (1.0).
    pub struct Note {
        /// Text objects and images.
        opt elements: Vec<CardElement> => "elements",
    }
}

wire_object! {
    /// `action` (1.0): a row of buttons, selects, pickers or overflow menus.
    pub struct Action {
        /// The interactive components.
        opt actions: Vec<CardElement> => "actions",
        /// `bisected`, `trisection` or `flow`.
        opt layout: String => "layout",
    }
}

impl Action {
    /// A row of interactive components.
    #[must_use]
    pub fn new(actions: impl IntoIterator<Item = impl Into<CardElement>>) -> Self {
        Self {
            actions: Some(actions.into_iter().map(Into::into).collect()),
            layout: None,
            extra: Map::new(),
        }
    }
}

crate::open_enum! {
    /// A button's look.
    pub enum ButtonType {
        /// The default look.
        Default = "default",
        /// The main action.
        Primary = "primary",
        /// A destructive action.
        Danger = "danger",
        /// Text only (2.0).
        Text = "text",
        /// Primary text (2.0).
        PrimaryText = "primary_text",
        /// Danger text (2.0).
        DangerText = "danger_text",
        /// Primary filled (2.0).
        PrimaryFilled = "primary_filled",
        /// Danger filled (2.0).
        DangerFilled = "danger_filled",
        /// Laser (2.0).
        Laser = "laser",
    }
}

wire_object! {
    /// What a click on a 2.0 component does: `{"type":"callback","value":{…}}`,
    /// `{"type":"open_url","default_url":…}` or `{"type":"form_action","behavior":"submit"}`.
    pub struct Behavior {
        /// `callback`, `open_url` or `form_action`.
        req kind: String => "type",
        /// The callback's value, sent back in `card.action.trigger`.
        opt value: Value => "value",
        /// The url opened by default.
        opt default_url: String => "default_url",
        /// On desktop.
        opt pc_url: String => "pc_url",
        /// On iOS.
        opt ios_url: String => "ios_url",
        /// On Android.
        opt android_url: String => "android_url",
        /// For `form_action`: `submit` or `reset`.
        opt behavior: String => "behavior",
    }
}

impl Behavior {
    /// A callback carrying `value` back to the app.
    #[must_use]
    pub fn callback(value: Value) -> Self {
        Self::of_kind("callback", |b| b.value = Some(value))
    }

    /// Opens `url`.
    #[must_use]
    pub fn open_url(url: impl Into<String>) -> Self {
        let url = url.into();
        Self::of_kind("open_url", |b| b.default_url = Some(url))
    }

    fn of_kind(kind: &str, fill: impl FnOnce(&mut Self)) -> Self {
        let mut behavior = Self {
            kind: kind.to_owned(),
            value: None,
            default_url: None,
            pc_url: None,
            ios_url: None,
            android_url: None,
            behavior: None,
            extra: Map::new(),
        };
        fill(&mut behavior);
        behavior
    }
}

wire_object! {
    /// `button`.
    pub struct Button {
        /// The label.
        opt text: TextObject => "text",
        /// The look.
        opt kind: ButtonType => "type",
        /// 1.0: the value sent back on click.
        opt value: Value => "value",
        /// 2.0: what a click does.
        opt behaviors: Vec<Behavior> => "behaviors",
        /// 1.0: a url to open.
        opt url: String => "url",
        /// A name, used to tell buttons apart in callbacks and forms.
        opt name: String => "name",
        /// In a form: `submit` or `reset`.
        opt form_action_type: String => "form_action_type",
        /// A confirmation dialog.
        opt confirm: Value => "confirm",
        /// `tiny`, `small`, `medium` or `large` (2.0).
        opt size: String => "size",
        /// `default`, `fill` or a pixel width (2.0).
        opt width: String => "width",
    }
}

impl Button {
    /// A button with a plain-text label.
    #[must_use]
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            text: Some(TextObject::plain(label)),
            kind: None,
            value: None,
            behaviors: None,
            url: None,
            name: None,
            form_action_type: None,
            confirm: None,
            size: None,
            width: None,
            extra: Map::new(),
        }
    }

    /// The main action's look.
    #[must_use]
    pub fn primary(mut self) -> Self {
        self.kind = Some(ButtonType::Primary);
        self
    }

    /// A destructive action's look.
    #[must_use]
    pub fn danger(mut self) -> Self {
        self.kind = Some(ButtonType::Danger);
        self
    }

    /// Card JSON 1.0: the value sent back when clicked.
    #[must_use]
    pub fn value(mut self, value: Value) -> Self {
        self.value = Some(value);
        self
    }

    /// Card JSON 2.0: a callback carrying `value` back when clicked.
    #[must_use]
    pub fn callback(mut self, value: Value) -> Self {
        self.behaviors
            .get_or_insert_with(Vec::new)
            .push(Behavior::callback(value));
        self
    }

    /// Card JSON 2.0: opens `url` when clicked.
    #[must_use]
    pub fn open_url(mut self, url: impl Into<String>) -> Self {
        self.behaviors
            .get_or_insert_with(Vec::new)
            .push(Behavior::open_url(url));
        self
    }

    /// Names the button.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// In a form: submits it.
    #[must_use]
    pub fn submit(mut self) -> Self {
        self.form_action_type = Some("submit".to_owned());
        self
    }
}

wire_object! {
    /// `column_set`: columns side by side.
    pub struct ColumnSet {
        /// `none`, `stretch`, `flow`, `bisect` or `trisect`.
        opt flex_mode: String => "flex_mode",
        /// `default` or a colour.
        opt background_style: String => "background_style",
        /// The space between columns.
        opt horizontal_spacing: String => "horizontal_spacing",
        /// The columns (`column` elements).
        opt columns: Vec<CardElement> => "columns",
    }
}

impl ColumnSet {
    /// Columns side by side.
    #[must_use]
    pub fn new(columns: impl IntoIterator<Item = Column>) -> Self {
        Self {
            flex_mode: None,
            background_style: None,
            horizontal_spacing: None,
            columns: Some(columns.into_iter().map(CardElement::Column).collect()),
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// `column`: one column of a `column_set`.
    pub struct Column {
        /// `auto`, `weighted` or a pixel width.
        opt width: String => "width",
        /// The share of the width when `weighted`.
        opt weight: u32 => "weight",
        /// `top`, `center` or `bottom`.
        opt vertical_align: String => "vertical_align",
        /// The column's components.
        opt elements: Vec<CardElement> => "elements",
    }
}

impl Column {
    /// A weighted column.
    #[must_use]
    pub fn weighted(
        weight: u32,
        elements: impl IntoIterator<Item = impl Into<CardElement>>,
    ) -> Self {
        Self {
            width: Some("weighted".to_owned()),
            weight: Some(weight),
            vertical_align: None,
            elements: Some(elements.into_iter().map(Into::into).collect()),
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// `form` (2.0): inputs submitted together by a button with `form_action_type: submit`.
    pub struct Form {
        /// The form's name, unique in the card.
        opt name: String => "name",
        /// The form's components.
        opt elements: Vec<CardElement> => "elements",
    }
}

impl Form {
    /// An empty form.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            elements: Some(Vec::new()),
            extra: Map::new(),
        }
    }

    /// Adds a component.
    #[must_use]
    pub fn element(mut self, element: impl Into<CardElement>) -> Self {
        self.elements
            .get_or_insert_with(Vec::new)
            .push(element.into());
        self
    }
}

wire_object! {
    /// `input`: a text box.
    pub struct Input {
        /// The field's name, the key in `form_value`.
        opt name: String => "name",
        /// Hint text.
        opt placeholder: TextObject => "placeholder",
        /// The initial value.
        opt default_value: String => "default_value",
        /// A label.
        opt label: TextObject => "label",
        /// Whether the form can be submitted without it.
        opt required: bool => "required",
        /// Most characters accepted.
        opt max_length: u32 => "max_length",
    }
}

impl Input {
    /// A named text box with hint text.
    #[must_use]
    pub fn new(name: impl Into<String>, placeholder: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            placeholder: Some(TextObject::plain(placeholder)),
            default_value: None,
            label: None,
            required: None,
            max_length: None,
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// One choice of a select or overflow menu.
    pub struct SelectOption {
        /// What is shown.
        opt text: TextObject => "text",
        /// What is sent back.
        opt value: String => "value",
    }
}

impl SelectOption {
    /// A choice showing `label` and sending back `value`.
    #[must_use]
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            text: Some(TextObject::plain(label)),
            value: Some(value.into()),
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// `select_static`: a drop-down of fixed choices.
    pub struct SelectStatic {
        /// The field's name.
        opt name: String => "name",
        /// Hint text.
        opt placeholder: TextObject => "placeholder",
        /// The choices.
        opt options: Vec<SelectOption> => "options",
        /// The choice selected at first.
        opt initial_option: String => "initial_option",
        /// 1.0: the value sent back with the choice.
        opt value: Value => "value",
        /// Whether a choice is needed to submit the form.
        opt required: bool => "required",
    }
}

impl SelectStatic {
    /// A named drop-down.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        placeholder: impl Into<String>,
        options: impl IntoIterator<Item = SelectOption>,
    ) -> Self {
        Self {
            name: Some(name.into()),
            placeholder: Some(TextObject::plain(placeholder)),
            options: Some(options.into_iter().collect()),
            initial_option: None,
            value: None,
            required: None,
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// `date_picker`: picks a date.
    pub struct DatePicker {
        /// The field's name.
        opt name: String => "name",
        /// Hint text.
        opt placeholder: TextObject => "placeholder",
        /// The initial date, `yyyy-MM-dd`.
        opt initial_date: String => "initial_date",
        /// 1.0: the value sent back with the date.
        opt value: Value => "value",
        /// Whether a date is needed to submit the form.
        opt required: bool => "required",
    }
}

impl DatePicker {
    /// A named date picker.
    #[must_use]
    pub fn new(name: impl Into<String>, placeholder: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            placeholder: Some(TextObject::plain(placeholder)),
            initial_date: None,
            value: None,
            required: None,
            extra: Map::new(),
        }
    }
}

wire_object! {
    /// `overflow`: a "…" menu of choices.
    pub struct Overflow {
        /// The choices.
        opt options: Vec<SelectOption> => "options",
        /// 1.0: the value sent back with the choice.
        opt value: Value => "value",
    }
}
