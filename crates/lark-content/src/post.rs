//! `post` (rich text) messages.
//!
//! Sent through im/v1 a post is keyed by locale, with **no** `"post"` wrapper:
//! `{"zh_cn": {"title": "…", "content": [[element, …], …]}, "en_us": {…}}`. The
//! `{"post": {…}}` wrapper belongs to the legacy v4 endpoint and to custom-bot webhooks, and im/v1
//! answers it with 230001.
//!
//! Received posts are documented flattened, `{"title": "…", "content": [[…]]}`, but locale-keyed
//! posts arrive too. [`Post`] reads and writes both shapes as they came.

use crate::error::ContentError;
use crate::id::{FileKey, ImageKey};
use crate::object::{Key, wire_object};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Locale keys the platform documents for posts. Any other key is accepted as well.
pub mod locale {
    /// Simplified Chinese.
    pub const ZH_CN: &str = "zh_cn";
    /// English.
    pub const EN_US: &str = "en_us";
    /// Japanese.
    pub const JA_JP: &str = "ja_jp";
}

/// A `post` message, in whichever of its two shapes it has.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Post {
    /// Keyed by locale: what im/v1 send accepts, and what some deliveries carry.
    Localized {
        /// The body of each locale.
        locales: BTreeMap<String, PostBody>,
        /// Keys beside the locales whose values are not post bodies, kept as they came.
        extra: Map<String, Value>,
    },
    /// The flattened shape of received posts: one body, no locale.
    Flat(PostBody),
}

impl Post {
    /// A post with one locale.
    #[must_use]
    pub fn new(locale: impl Into<String>, body: PostBody) -> Self {
        let mut locales = BTreeMap::new();
        locales.insert(locale.into(), body);
        Self::Localized {
            locales,
            extra: Map::new(),
        }
    }

    /// A post in `zh_cn`, the locale every client falls back to.
    #[must_use]
    pub fn zh_cn(body: PostBody) -> Self {
        Self::new(locale::ZH_CN, body)
    }

    /// A post in `en_us`.
    #[must_use]
    pub fn en_us(body: PostBody) -> Self {
        Self::new(locale::EN_US, body)
    }

    /// Adds (or replaces) a locale. A flattened post becomes keyed by locale, its body kept
    /// under `zh_cn`.
    #[must_use]
    pub fn with_locale(self, locale: impl Into<String>, body: PostBody) -> Self {
        let (mut locales, extra) = match self {
            Self::Localized { locales, extra } => (locales, extra),
            Self::Flat(flat) => (
                BTreeMap::from([(locale::ZH_CN.to_owned(), flat)]),
                Map::new(),
            ),
        };
        locales.insert(locale.into(), body);
        Self::Localized { locales, extra }
    }

    /// The body to show for `preferred`: that locale if present, else `zh_cn`, `en_us`, then any.
    #[must_use]
    pub fn body(&self, preferred: &str) -> Option<&PostBody> {
        match self {
            Self::Flat(body) => Some(body),
            Self::Localized { locales, .. } => locales
                .get(preferred)
                .or_else(|| locales.get(locale::ZH_CN))
                .or_else(|| locales.get(locale::EN_US))
                .or_else(|| locales.values().next()),
        }
    }

    /// Every body with its locale (`None` for a flattened post).
    pub fn bodies(&self) -> impl Iterator<Item = (Option<&str>, &PostBody)> {
        let (flat, localized) = match self {
            Self::Flat(body) => (Some((None, body)), None),
            Self::Localized { locales, .. } => (
                None,
                Some(locales.iter().map(|(k, v)| (Some(k.as_str()), v))),
            ),
        };
        flat.into_iter().chain(localized.into_iter().flatten())
    }

    /// Checks the documented rules: at least one locale, `img` and `media` alone in their
    /// paragraph, `md` alone in its paragraph, links with a url.
    pub(crate) fn check_rules(&self) -> Result<(), ContentError> {
        if let Self::Localized { locales, .. } = self {
            if locales.is_empty() {
                return Err(ContentError::invalid(
                    "a post needs at least one locale, e.g. Post::zh_cn(body)",
                ));
            }
            if locales.contains_key("post") {
                return Err(ContentError::invalid(
                    "the post is wrapped in {\"post\": …}: that wrapper belongs to the legacy \
                     message/v4 endpoint and custom-bot webhooks, and im/v1 answers it with 230001; \
                     send the locales ({\"zh_cn\": …}) at the top level",
                ));
            }
        }
        for (locale, body) in self.bodies() {
            let locale = locale.unwrap_or("post");
            for (index, paragraph) in body.paragraphs().iter().enumerate() {
                for element in paragraph {
                    let alone = match element {
                        PostElement::Img(_) => Some("img"),
                        PostElement::Media(_) => Some("media"),
                        PostElement::Markdown(_) => Some("md"),
                        _ => None,
                    };
                    if let Some(tag) = alone
                        && paragraph.len() > 1
                    {
                        return Err(ContentError::invalid(format!(
                            "{locale}: paragraph {index} mixes an `{tag}` element with others; \
                             the platform requires `{tag}` to be alone in its paragraph"
                        )));
                    }
                    if let PostElement::Unknown(fields) = element
                        && let Some(tag) = fields.get("tag").and_then(Value::as_str)
                        && KNOWN_TAGS.contains(&tag)
                    {
                        return Err(ContentError::invalid(format!(
                            "{locale}: paragraph {index} has an `{tag}` element that does not fit \
                             its documented form (a field missing or of another type); build it \
                             with PostElement's constructors"
                        )));
                    }
                    if let PostElement::Link(link) = element
                        && link.href.trim().is_empty()
                    {
                        return Err(ContentError::invalid(format!(
                            "{locale}: paragraph {index} has a link with an empty href; \
                             the platform refuses the whole post"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Serialize for Post {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Localized { locales, extra } => {
                let mut map = serializer.serialize_map(Some(locales.len() + extra.len()))?;
                for (locale, body) in locales {
                    map.serialize_entry(locale, body)?;
                }
                for (key, value) in extra {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Self::Flat(body) => body.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Post {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let map = Map::<String, Value>::deserialize(deserializer)?;
        // The flattened, received shape has the body's own keys at the top.
        if map.contains_key("title") || map.contains_key("content") {
            return PostBody::deserialize(Value::Object(map))
                .map(Post::Flat)
                .map_err(D::Error::custom);
        }
        let mut locales = BTreeMap::new();
        let mut extra = Map::new();
        for (key, value) in map {
            if value.is_object() {
                let body = PostBody::deserialize(value).map_err(D::Error::custom)?;
                locales.insert(key, body);
            } else {
                extra.insert(key, value);
            }
        }
        Ok(Post::Localized { locales, extra })
    }
}

/// The element tags the platform documents for posts.
const KNOWN_TAGS: [&str; 9] = [
    "text",
    "a",
    "at",
    "img",
    "media",
    "emotion",
    "hr",
    "code_block",
    "md",
];

/// A paragraph: the elements of one line.
pub type Paragraph = Vec<PostElement>;

wire_object! {
    /// The body of a post in one locale.
    pub struct PostBody {
        /// The title; may be empty.
        opt title: String => "title",
        /// The paragraphs.
        opt content: Vec<Paragraph> => "content",
    }
}

impl PostBody {
    /// An empty body with a title.
    #[must_use]
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            content: Some(Vec::new()),
            extra: Map::new(),
        }
    }

    /// Adds a paragraph.
    #[must_use]
    pub fn paragraph(mut self, elements: impl IntoIterator<Item = impl Into<PostElement>>) -> Self {
        self.content
            .get_or_insert_with(Vec::new)
            .push(elements.into_iter().map(Into::into).collect());
        self
    }

    /// The paragraphs (empty when there are none).
    #[must_use]
    pub fn paragraphs(&self) -> &[Paragraph] {
        self.content.as_deref().unwrap_or_default()
    }

    /// The body as plain text: paragraphs on their own lines, links as their text, mentions as
    /// `@name` (or the id when the name is missing), images and media left out.
    #[must_use]
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for (index, paragraph) in self.paragraphs().iter().enumerate() {
            if index > 0 {
                out.push('\n');
            }
            for element in paragraph {
                match element {
                    PostElement::Text(e) => out.push_str(&e.text),
                    PostElement::Link(e) => out.push_str(&e.text),
                    PostElement::At(e) => {
                        out.push('@');
                        match e.user_name.as_deref() {
                            Some(name) if !name.is_empty() => out.push_str(name),
                            _ => out.push_str(&e.user_id),
                        }
                    }
                    PostElement::CodeBlock(e) => out.push_str(&e.text),
                    PostElement::Markdown(e) => out.push_str(&e.text),
                    PostElement::Emotion(e) => {
                        out.push(':');
                        out.push_str(&e.emoji_type);
                        out.push(':');
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

crate::open_enum! {
    /// A text style in a post element's `style` list.
    pub enum TextStyle {
        /// Bold.
        Bold = "bold",
        /// Underlined.
        Underline = "underline",
        /// Struck through.
        LineThrough = "lineThrough",
        /// Italic.
        Italic = "italic",
    }
}

wire_object! {
    /// `{"tag":"text"}`: a run of text.
    pub struct TextElement {
        /// The text.
        req text: String => "text",
        /// Whether to unescape HTML entities in `text`.
        opt un_escape: bool => "un_escape",
        /// Styles.
        opt style: Vec<TextStyle> => "style",
    }
}

wire_object! {
    /// `{"tag":"a"}`: a link. The platform refuses a post whose `href` is not a valid url.
    pub struct LinkElement {
        /// The link text.
        req text: String => "text",
        /// The url.
        req href: String => "href",
        /// Styles.
        opt style: Vec<TextStyle> => "style",
    }
}

wire_object! {
    /// `{"tag":"at"}`: a mention. On send `user_id` is an open_id, union_id or user_id, or `all`;
    /// on receive it is the `@_user_N` placeholder.
    pub struct AtElement {
        /// Who is mentioned.
        req user_id: String => "user_id",
        /// The display name.
        opt user_name: String => "user_name",
        /// Styles.
        opt style: Vec<TextStyle> => "style",
    }
}

wire_object! {
    /// `{"tag":"img"}`: an image; must be alone in its paragraph.
    pub struct ImgElement {
        /// The uploaded image.
        req image_key: ImageKey => "image_key",
    }
}

wire_object! {
    /// `{"tag":"media"}`: a video (an `mp4` upload); must be alone in its paragraph.
    pub struct MediaElement {
        /// The uploaded video.
        req file_key: FileKey => "file_key",
        /// The cover image.
        opt image_key: ImageKey => "image_key",
    }
}

wire_object! {
    /// `{"tag":"emotion"}`: an emoji, e.g. `SMILE`.
    pub struct EmotionElement {
        /// The emoji's name in the platform's emoji list.
        req emoji_type: String => "emoji_type",
    }
}

wire_object! {
    /// `{"tag":"hr"}`: a horizontal rule.
    pub struct HrElement {}
}

wire_object! {
    /// `{"tag":"code_block"}`: a block of code.
    pub struct CodeBlockElement {
        /// The language, case-insensitive (`RUST`, `GO`, `PYTHON`, …).
        opt language: String => "language",
        /// The code.
        req text: String => "text",
    }
}

wire_object! {
    /// `{"tag":"md"}`: Markdown, send-only; must be alone in its paragraph. On read the platform
    /// converts it into other elements.
    pub struct MarkdownElement {
        /// The Markdown source.
        req text: String => "text",
    }
}

/// One element of a post paragraph.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PostElement {
    /// `text`
    Text(TextElement),
    /// `a`
    Link(LinkElement),
    /// `at`
    At(AtElement),
    /// `img`
    Img(ImgElement),
    /// `media`
    Media(MediaElement),
    /// `emotion`
    Emotion(EmotionElement),
    /// `hr`
    Hr(HrElement),
    /// `code_block`
    CodeBlock(CodeBlockElement),
    /// `md`
    Markdown(MarkdownElement),
    /// A tag this version does not model, kept whole (its `tag` included).
    Unknown(Map<String, Value>),
}

impl PostElement {
    /// The element's `tag`.
    #[must_use]
    pub fn tag(&self) -> &str {
        match self {
            Self::Text(_) => "text",
            Self::Link(_) => "a",
            Self::At(_) => "at",
            Self::Img(_) => "img",
            Self::Media(_) => "media",
            Self::Emotion(_) => "emotion",
            Self::Hr(_) => "hr",
            Self::CodeBlock(_) => "code_block",
            Self::Markdown(_) => "md",
            Self::Unknown(map) => map.get("tag").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// A text run.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextElement {
            text: text.into(),
            un_escape: None,
            style: None,
            extra: Map::new(),
        })
    }

    /// A styled text run.
    #[must_use]
    pub fn styled(text: impl Into<String>, style: impl IntoIterator<Item = TextStyle>) -> Self {
        Self::Text(TextElement {
            text: text.into(),
            un_escape: None,
            style: Some(style.into_iter().collect()),
            extra: Map::new(),
        })
    }

    /// A link.
    #[must_use]
    pub fn link(text: impl Into<String>, href: impl Into<String>) -> Self {
        Self::Link(LinkElement {
            text: text.into(),
            href: href.into(),
            style: None,
            extra: Map::new(),
        })
    }

    /// A mention of a user by open_id, union_id or user_id.
    #[must_use]
    pub fn at(user: &impl crate::text::MentionTarget) -> Self {
        Self::At(AtElement {
            user_id: user.mention_id().to_owned(),
            user_name: None,
            style: None,
            extra: Map::new(),
        })
    }

    /// A mention of everyone.
    #[must_use]
    pub fn at_all() -> Self {
        Self::At(AtElement {
            user_id: "all".to_owned(),
            user_name: None,
            style: None,
            extra: Map::new(),
        })
    }

    /// An image (alone in its paragraph).
    #[must_use]
    pub fn img(image_key: ImageKey) -> Self {
        Self::Img(ImgElement {
            image_key,
            extra: Map::new(),
        })
    }

    /// A video with an optional cover (alone in its paragraph).
    #[must_use]
    pub fn media(file_key: FileKey, cover: Option<ImageKey>) -> Self {
        Self::Media(MediaElement {
            file_key,
            image_key: cover,
            extra: Map::new(),
        })
    }

    /// An emoji.
    #[must_use]
    pub fn emotion(emoji_type: impl Into<String>) -> Self {
        Self::Emotion(EmotionElement {
            emoji_type: emoji_type.into(),
            extra: Map::new(),
        })
    }

    /// A horizontal rule.
    #[must_use]
    pub fn hr() -> Self {
        Self::Hr(HrElement { extra: Map::new() })
    }

    /// A code block.
    #[must_use]
    pub fn code_block(language: Option<&str>, code: impl Into<String>) -> Self {
        Self::CodeBlock(CodeBlockElement {
            language: language.map(str::to_owned),
            text: code.into(),
            extra: Map::new(),
        })
    }

    /// Markdown (alone in its paragraph; send-only).
    #[must_use]
    pub fn markdown(text: impl Into<String>) -> Self {
        Self::Markdown(MarkdownElement {
            text: text.into(),
            extra: Map::new(),
        })
    }
}

impl Serialize for PostElement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Self::Unknown(map) = self {
            return map.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("tag", self.tag())?;
        match self {
            Self::Text(e) => e.serialize_entries(&mut map)?,
            Self::Link(e) => e.serialize_entries(&mut map)?,
            Self::At(e) => e.serialize_entries(&mut map)?,
            Self::Img(e) => e.serialize_entries(&mut map)?,
            Self::Media(e) => e.serialize_entries(&mut map)?,
            Self::Emotion(e) => e.serialize_entries(&mut map)?,
            Self::Hr(e) => e.serialize_entries(&mut map)?,
            Self::CodeBlock(e) => e.serialize_entries(&mut map)?,
            Self::Markdown(e) => e.serialize_entries(&mut map)?,
            Self::Unknown(_) => {}
        }
        map.end()
    }
}

/// The fields of every post element kind, read in one pass whatever order the keys come in;
/// the tag then decides which become typed fields and which stay in `extra`.
#[derive(Clone, Default)]
struct ElementSlots {
    tag: Option<Value>,
    text: Option<Value>,
    href: Option<Value>,
    user_id: Option<Value>,
    user_name: Option<Value>,
    style: Option<Value>,
    un_escape: Option<Value>,
    image_key: Option<Value>,
    file_key: Option<Value>,
    emoji_type: Option<Value>,
    language: Option<Value>,
    extra: Map<String, Value>,
}

impl ElementSlots {
    /// Puts every slot not consumed by the tag back into `extra`, under its own key.
    fn into_extra(mut self) -> Map<String, Value> {
        for (key, slot) in [
            ("tag", self.tag.take()),
            ("text", self.text.take()),
            ("href", self.href.take()),
            ("user_id", self.user_id.take()),
            ("user_name", self.user_name.take()),
            ("style", self.style.take()),
            ("un_escape", self.un_escape.take()),
            ("image_key", self.image_key.take()),
            ("file_key", self.file_key.take()),
            ("emoji_type", self.emoji_type.take()),
            ("language", self.language.take()),
        ] {
            if let Some(value) = slot {
                self.extra.insert(key.to_owned(), value);
            }
        }
        self.extra
    }

    /// Builds the element the tag names. A tag this version does not know, or an element of a
    /// known tag that does not fit its model (a field missing, as some clients send an `at`
    /// without `user_id`), becomes [`PostElement::Unknown`] with every field kept.
    fn into_element(self) -> PostElement {
        let kept = self.clone();
        self.try_element::<de::value::Error>()
            .unwrap_or_else(|_| PostElement::Unknown(kept.into_extra()))
    }

    fn try_element<E: de::Error>(self) -> Result<PostElement, E> {
        let mut s = self;
        let tag = match s.tag.take() {
            Some(Value::String(tag)) => tag,
            Some(other) => {
                s.tag = Some(other);
                return Ok(PostElement::Unknown(s.into_extra()));
            }
            None => return Err(E::missing_field("tag")),
        };
        // A `null` in an optional field is written back as it came.
        let element = match tag.as_str() {
            "text" => {
                let text = take_string(&mut s.text, &tag, "text")?;
                let un_escape = take_opt_bool(&mut s.un_escape, &tag, "un_escape")?;
                let style = take_style(&mut s.style, &tag)?;
                PostElement::Text(TextElement {
                    text,
                    un_escape,
                    style,
                    extra: s.into_extra(),
                })
            }
            "a" => {
                let text = take_string(&mut s.text, &tag, "text")?;
                let href = take_string(&mut s.href, &tag, "href")?;
                let style = take_style(&mut s.style, &tag)?;
                PostElement::Link(LinkElement {
                    text,
                    href,
                    style,
                    extra: s.into_extra(),
                })
            }
            "at" => {
                let user_id = take_string(&mut s.user_id, &tag, "user_id")?;
                let user_name = take_opt_string(&mut s.user_name, &tag, "user_name")?;
                let style = take_style(&mut s.style, &tag)?;
                PostElement::At(AtElement {
                    user_id,
                    user_name,
                    style,
                    extra: s.into_extra(),
                })
            }
            "img" => {
                let image_key = take_string(&mut s.image_key, &tag, "image_key")?.into();
                PostElement::Img(ImgElement {
                    image_key,
                    extra: s.into_extra(),
                })
            }
            "media" => {
                let file_key = take_string(&mut s.file_key, &tag, "file_key")?.into();
                let image_key =
                    take_opt_string(&mut s.image_key, &tag, "image_key")?.map(ImageKey::from);
                PostElement::Media(MediaElement {
                    file_key,
                    image_key,
                    extra: s.into_extra(),
                })
            }
            "emotion" => {
                let emoji_type = take_string(&mut s.emoji_type, &tag, "emoji_type")?;
                PostElement::Emotion(EmotionElement {
                    emoji_type,
                    extra: s.into_extra(),
                })
            }
            "hr" => PostElement::Hr(HrElement {
                extra: s.into_extra(),
            }),
            "code_block" => {
                let language = take_opt_string(&mut s.language, &tag, "language")?;
                let text = take_string(&mut s.text, &tag, "text")?;
                PostElement::CodeBlock(CodeBlockElement {
                    language,
                    text,
                    extra: s.into_extra(),
                })
            }
            "md" => {
                let text = take_string(&mut s.text, &tag, "text")?;
                PostElement::Markdown(MarkdownElement {
                    text,
                    extra: s.into_extra(),
                })
            }
            _ => {
                s.tag = Some(Value::String(tag));
                PostElement::Unknown(s.into_extra())
            }
        };
        Ok(element)
    }
}

fn take_string<E: de::Error>(
    slot: &mut Option<Value>,
    tag: &str,
    key: &'static str,
) -> Result<String, E> {
    match slot.take() {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(E::custom(format_args!(
            "post `{tag}` element: `{key}` must be a string, found {other}"
        ))),
        None => Err(E::custom(format_args!(
            "post `{tag}` element is missing `{key}`"
        ))),
    }
}

fn take_opt_bool<E: de::Error>(
    slot: &mut Option<Value>,
    tag: &str,
    key: &'static str,
) -> Result<Option<bool>, E> {
    match slot.take() {
        None => Ok(None),
        Some(Value::Null) => {
            *slot = Some(Value::Null);
            Ok(None)
        }
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(E::custom(format_args!(
            "post `{tag}` element: `{key}` must be a boolean, found {other}"
        ))),
    }
}

fn take_opt_string<E: de::Error>(
    slot: &mut Option<Value>,
    tag: &str,
    key: &'static str,
) -> Result<Option<String>, E> {
    match slot.take() {
        None => Ok(None),
        Some(Value::Null) => {
            *slot = Some(Value::Null);
            Ok(None)
        }
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(E::custom(format_args!(
            "post `{tag}` element: `{key}` must be a string, found {other}"
        ))),
    }
}

fn take_style<E: de::Error>(
    slot: &mut Option<Value>,
    tag: &str,
) -> Result<Option<Vec<TextStyle>>, E> {
    match slot.take() {
        None => Ok(None),
        Some(Value::Null) => {
            *slot = Some(Value::Null);
            Ok(None)
        }
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(TextStyle::from(s)),
                other => Err(E::custom(format_args!(
                    "post `{tag}` element: `style` entries must be strings, found {other}"
                ))),
            })
            .collect::<Result<Vec<_>, E>>()
            .map(Some),
        Some(other) => Err(E::custom(format_args!(
            "post `{tag}` element: `style` must be a list of strings, found {other}"
        ))),
    }
}

impl<'de> Deserialize<'de> for PostElement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = PostElement;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a post element object with a `tag`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PostElement, A::Error> {
                let mut s = ElementSlots::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let slot = match key.as_str() {
                        "tag" => &mut s.tag,
                        "text" => &mut s.text,
                        "href" => &mut s.href,
                        "user_id" => &mut s.user_id,
                        "user_name" => &mut s.user_name,
                        "style" => &mut s.style,
                        "un_escape" => &mut s.un_escape,
                        "image_key" => &mut s.image_key,
                        "file_key" => &mut s.file_key,
                        "emoji_type" => &mut s.emoji_type,
                        "language" => &mut s.language,
                        _ => {
                            let value: Value = map.next_value()?;
                            s.extra.insert(key.into_owned(), value);
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(s.into_element())
            }
        }
        deserializer.deserialize_map(ElementVisitor)
    }
}

impl From<&str> for PostElement {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

impl From<String> for PostElement {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_whatever_the_key_order() {
        let element: PostElement =
            serde_json::from_str(r#"{"text":"hi","style":["bold","sparkle"],"tag":"text"}"#)
                .unwrap();
        let PostElement::Text(text) = element else {
            panic!("expected a text element, got {element:?}")
        };
        assert_eq!(text.text, "hi");
        assert_eq!(
            text.style,
            Some(vec![TextStyle::Bold, TextStyle::Unknown("sparkle".into())])
        );
    }

    #[test]
    fn unknown_tags_keep_every_field() {
        let json = r#"{"tag":"sparkle","text":5,"style":"x","other":[1]}"#;
        let element: PostElement = serde_json::from_str(json).unwrap();
        assert_eq!(element.tag(), "sparkle");
        assert_eq!(
            serde_json::to_value(&element).unwrap(),
            serde_json::from_str::<Value>(json).unwrap()
        );
    }

    #[test]
    fn a_known_tag_missing_its_field_is_kept_whole_and_refused_on_send() {
        let json = r#"{"tag":"a","text":"x"}"#;
        let element = serde_json::from_str::<PostElement>(json).unwrap();
        assert!(matches!(element, PostElement::Unknown(_)), "{element:?}");
        assert_eq!(
            serde_json::to_value(&element).unwrap(),
            serde_json::from_str::<Value>(json).unwrap()
        );
        let post = Post::zh_cn(PostBody::new("t").paragraph([element]));
        let err = post.check_rules().unwrap_err();
        assert!(err.to_string().contains("`a` element"), "{err}");
    }

    #[test]
    fn media_elements_must_stand_alone() {
        let post = Post::zh_cn(PostBody::new("t").paragraph([
            PostElement::text("look"),
            PostElement::img(ImageKey::new("img_v3_1")),
        ]));
        let err = post.check_rules().unwrap_err();
        assert!(err.to_string().contains("`img`"), "{err}");
    }

    #[test]
    fn plain_rendering_reads_like_the_message() {
        let body = PostBody::new("t")
            .paragraph([
                PostElement::text("see "),
                PostElement::link("docs", "https://e.x"),
            ])
            .paragraph([PostElement::code_block(Some("RUST"), "fn main() {}")]);
        assert_eq!(body.to_plain(), "see docs\nfn main() {}");
    }
}
