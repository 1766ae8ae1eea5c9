//! Property tests: for every content type `decode(c.msg_type(), &c.encode()) == c`, and decoding
//! anything at all as any `msg_type` never panics.
//!
//! `PROPTEST_CASES` raises the case count (`cargo xtask fuzz` does).

// The strategy tables list one arm per type; splitting them would only scatter the list.
#![allow(clippy::too_many_lines)]

use lark_content::card::{
    Action, Behavior, Button, ButtonType, Card, CardBody, CardConfig, CardElement, CardEntity,
    CardEntityData, CardHeader, CardLink, CardV1, CardV2, Column, ColumnSet, DatePicker, Div, Form,
    HeaderTemplate, Hr, Img, Input, Markdown, Note, Overflow, PerPlatform, PrintStrategy,
    SelectOption, SelectStatic, SimplifiedCard, StreamingConfig, Summary, TemplateCard,
    TemplateData, TextObject, TextTag,
};
use lark_content::post::{
    AtElement, CodeBlockElement, EmotionElement, HrElement, ImgElement, LinkElement,
    MarkdownElement, MediaElement, PostBody, TextElement,
};
use lark_content::{
    Audio, CalendarEvent, DividerOptions, DividerParams, DividerText, File, Folder, Hongbao, Image,
    Location, Media, MergeForward, MessageContent, Post, PostElement, ShareChat, ShareUser,
    Sticker, System, SystemDivider, SystemNotice, Text, TextStyle, Todo, VideoChat, Vote,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Value};

// ---------------------------------------------------------------- building blocks

/// Any text, weighted towards the characters that break naive JSON and markup handling.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        r#"[a-z"\\<>/\]\[()@_ \n\t\r\u{0}-\u{1f}\u{7f}\u{2028}\u{2029}你好😀]{0,24}"#,
        Just("<at user_id=\"all\"></at>".to_owned()),
        Just("@_user_1 hi @_all".to_owned()),
    ]
}

fn id() -> impl Strategy<Value = String> {
    "[a-z]{1,4}_[0-9a-f]{1,12}"
}

/// An arbitrary JSON value (no `null` at the top: optional fields read `null` as absent).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(Value::from),
        any_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn non_null_value() -> impl Strategy<Value = Value> {
    json_value().prop_filter("optional fields read null as absent", |v| !v.is_null())
}

/// Keys the models read somewhere, so that arbitrary JSON reaches the typed paths with values
/// of every shape.
const MODEL_KEYS: &[&str] = &[
    "text",
    "title",
    "content",
    "tag",
    "user_id",
    "user_name",
    "style",
    "href",
    "image_key",
    "file_key",
    "file_name",
    "duration",
    "emoji_type",
    "language",
    "un_escape",
    "zh_cn",
    "en_us",
    "elements",
    "header",
    "body",
    "schema",
    "config",
    "type",
    "data",
    "template_id",
    "card_id",
    "json_card",
    "card_schema",
    "chat_id",
    "params",
    "divider_text",
    "i18n_text",
    "summary",
    "options",
    "topic",
    "name",
    "actions",
    "columns",
    "value",
    "i18n",
    "template",
    "card_link",
];

/// JSON shaped like message content: objects keyed mostly by the models' own keys, with values
/// of any kind at any depth.
fn shaped_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
        any_text().prop_map(Value::String),
        proptest::sample::select(MODEL_KEYS).prop_map(|k| Value::String(k.to_owned())),
        Just(Value::String("2.0".to_owned())),
    ];
    let key = prop_oneof![
        4 => proptest::sample::select(MODEL_KEYS).prop_map(str::to_owned),
        1 => "[a-z_]{1,6}",
    ];
    leaf.prop_recursive(4, 48, 5, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown keys. The `x_` prefix keeps them apart from every key the models know.
fn extra() -> impl Strategy<Value = Map<String, Value>> {
    btree_map("x_[a-z]{1,6}", json_value(), 0..3).prop_map(|m| m.into_iter().collect())
}

fn scalar_extra() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(
        "x_[a-z]{1,6}",
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any_text().prop_map(Value::String)
        ],
        0..3,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    option::of(any_text())
}

fn roundtrip(content: &MessageContent) {
    let encoded = content.encode();
    let decoded = MessageContent::decode(content.msg_type(), &encoded)
        .unwrap_or_else(|err| panic!("{} failed to decode {encoded}: {err}", content.msg_type()));
    assert_eq!(&decoded, content, "through {encoded}");
}

// ---------------------------------------------------------------- post

fn style() -> impl Strategy<Value = Option<Vec<TextStyle>>> {
    option::of(vec(
        prop_oneof![
            Just(TextStyle::Bold),
            Just(TextStyle::Italic),
            Just(TextStyle::Underline),
            Just(TextStyle::LineThrough),
            "x_[a-z]{1,5}".prop_map(TextStyle::Unknown),
        ],
        0..3,
    ))
}

fn post_element() -> BoxedStrategy<PostElement> {
    prop_oneof![
        (any_text(), option::of(any::<bool>()), style(), extra())
            .prop_map(|(text, un_escape, style, extra)| {
                PostElement::Text(TextElement {
                    text,
                    un_escape,
                    style,
                    extra,
                })
            })
            .boxed(),
        (any_text(), any_text(), style(), extra())
            .prop_map(|(text, href, style, extra)| PostElement::Link(LinkElement {
                text,
                href,
                style,
                extra
            }))
            .boxed(),
        (id(), opt_text(), style(), extra())
            .prop_map(|(user_id, user_name, style, extra)| {
                PostElement::At(AtElement {
                    user_id,
                    user_name,
                    style,
                    extra,
                })
            })
            .boxed(),
        (id(), extra())
            .prop_map(|(key, extra)| PostElement::Img(ImgElement {
                image_key: key.into(),
                extra
            }))
            .boxed(),
        (id(), option::of(id()), extra())
            .prop_map(|(file, image, extra)| {
                PostElement::Media(MediaElement {
                    file_key: file.into(),
                    image_key: image.map(Into::into),
                    extra,
                })
            })
            .boxed(),
        ("[A-Z]{2,8}", extra())
            .prop_map(|(emoji_type, extra)| PostElement::Emotion(EmotionElement {
                emoji_type,
                extra
            }))
            .boxed(),
        extra()
            .prop_map(|extra| PostElement::Hr(HrElement { extra }))
            .boxed(),
        (opt_text(), any_text(), extra())
            .prop_map(|(language, text, extra)| {
                PostElement::CodeBlock(CodeBlockElement {
                    language,
                    text,
                    extra,
                })
            })
            .boxed(),
        (any_text(), extra())
            .prop_map(|(text, extra)| PostElement::Markdown(MarkdownElement { text, extra }))
            .boxed(),
        ("x_[a-z]{1,6}", extra())
            .prop_map(|(tag, mut map)| {
                map.insert("tag".to_owned(), Value::String(tag));
                PostElement::Unknown(map)
            })
            .boxed(),
    ]
    .boxed()
}

fn post_body(extra: BoxedStrategy<Map<String, Value>>) -> impl Strategy<Value = PostBody> {
    (
        opt_text(),
        option::of(vec(vec(post_element(), 0..4), 0..4)),
        extra,
    )
        .prop_map(|(title, content, extra)| PostBody {
            title,
            content,
            extra,
        })
}

fn post() -> impl Strategy<Value = Post> {
    let locale = prop_oneof![
        Just("zh_cn".to_owned()),
        Just("en_us".to_owned()),
        Just("ja_jp".to_owned()),
        "x_[a-z]{2}"
    ];
    prop_oneof![
        btree_map(locale, post_body(extra().boxed()), 0..3).prop_map(|locales| Post::Localized {
            locales,
            extra: Map::new()
        }),
        // The flattened shape is recognised by its title or content, and reads unknown keys
        // holding objects as locale bodies, so its unknown keys here are scalars.
        post_body(scalar_extra().boxed())
            .prop_filter("a flat post has a title or content", |b| b.title.is_some()
                || b.content.is_some())
            .prop_map(Post::Flat),
    ]
}

// ---------------------------------------------------------------- cards

fn text_object() -> impl Strategy<Value = TextObject> {
    (
        prop_oneof![
            Just(TextTag::PlainText),
            Just(TextTag::LarkMd),
            "x_[a-z]{1,4}".prop_map(TextTag::Unknown)
        ],
        opt_text(),
        option::of(btree_map("[a-z]{2}_[a-z]{2}", any_text(), 0..2)),
        extra(),
    )
        .prop_map(|(tag, content, i18n, extra)| TextObject {
            tag,
            content,
            i18n,
            extra,
        })
}

fn select_option() -> impl Strategy<Value = SelectOption> {
    (option::of(text_object()), opt_text(), extra()).prop_map(|(text, value, extra)| SelectOption {
        text,
        value,
        extra,
    })
}

fn behavior() -> impl Strategy<Value = Behavior> {
    (
        prop_oneof![
            Just("callback".to_owned()),
            Just("open_url".to_owned()),
            Just("form_action".to_owned())
        ],
        option::of(non_null_value()),
        opt_text(),
        opt_text(),
        extra(),
    )
        .prop_map(|(kind, value, default_url, behavior, extra)| Behavior {
            kind,
            value,
            default_url,
            pc_url: None,
            ios_url: None,
            android_url: None,
            behavior,
            extra,
        })
}

fn leaf_element() -> BoxedStrategy<CardElement> {
    prop_oneof![
        (
            opt_text(),
            opt_text(),
            option::of("[a-z][a-z0-9_]{0,19}"),
            extra()
        )
            .prop_map(|(content, text_align, element_id, extra)| {
                CardElement::Markdown(Markdown {
                    content,
                    text_align,
                    text_size: None,
                    margin: None,
                    element_id,
                    extra,
                })
            })
            .boxed(),
        extra()
            .prop_map(|extra| CardElement::Hr(Hr { extra }))
            .boxed(),
        (
            option::of(id()),
            option::of(text_object()),
            opt_text(),
            option::of(any::<bool>()),
            extra()
        )
            .prop_map(|(key, alt, mode, preview, extra)| CardElement::Img(Img {
                img_key: key.map(Into::into),
                alt,
                title: None,
                mode,
                preview,
                extra
            }))
            .boxed(),
        (
            option::of(text_object()),
            option::of(prop_oneof![
                Just(ButtonType::Primary),
                Just(ButtonType::Danger),
                "x_[a-z]{1,4}".prop_map(ButtonType::Unknown)
            ]),
            option::of(non_null_value()),
            option::of(vec(behavior(), 0..2)),
            opt_text(),
            extra(),
        )
            .prop_map(|(text, kind, value, behaviors, name, extra)| {
                CardElement::Button(Button {
                    text,
                    kind,
                    value,
                    behaviors,
                    url: None,
                    name,
                    form_action_type: None,
                    confirm: None,
                    size: None,
                    width: None,
                    extra,
                })
            })
            .boxed(),
        (
            opt_text(),
            option::of(text_object()),
            opt_text(),
            option::of(any::<bool>()),
            option::of(any::<u32>()),
            extra()
        )
            .prop_map(
                |(name, placeholder, default_value, required, max_length, extra)| {
                    CardElement::Input(Input {
                        name,
                        placeholder,
                        default_value,
                        label: None,
                        required,
                        max_length,
                        extra,
                    })
                }
            )
            .boxed(),
        (
            opt_text(),
            option::of(vec(select_option(), 0..3)),
            opt_text(),
            extra()
        )
            .prop_map(
                |(name, options, initial_option, extra)| CardElement::SelectStatic(SelectStatic {
                    name,
                    placeholder: None,
                    options,
                    initial_option,
                    value: None,
                    required: None,
                    extra
                })
            )
            .boxed(),
        (
            opt_text(),
            opt_text(),
            option::of(non_null_value()),
            extra()
        )
            .prop_map(|(name, initial_date, value, extra)| {
                CardElement::DatePicker(DatePicker {
                    name,
                    placeholder: None,
                    initial_date,
                    value,
                    required: None,
                    extra,
                })
            })
            .boxed(),
        (option::of(vec(select_option(), 0..3)), extra())
            .prop_map(|(options, extra)| CardElement::Overflow(Overflow {
                options,
                value: None,
                extra
            }))
            .boxed(),
        ("x_[a-z]{1,6}", extra())
            .prop_map(|(tag, mut map)| {
                map.insert("tag".to_owned(), Value::String(tag));
                CardElement::Unknown(map)
            })
            .boxed(),
    ]
    .boxed()
}

fn card_element() -> impl Strategy<Value = CardElement> {
    leaf_element().prop_recursive(2, 12, 3, |inner| {
        let list = option::of(vec(inner.clone(), 0..3));
        prop_oneof![
            (
                option::of(text_object()),
                option::of(inner.clone().prop_map(Box::new)),
                extra()
            )
                .prop_map(|(text, accessory, extra)| CardElement::Div(Div {
                    text,
                    fields: None,
                    accessory,
                    extra
                })),
            (list.clone(), extra())
                .prop_map(|(elements, extra)| CardElement::Note(Note { elements, extra })),
            (list.clone(), opt_text(), extra()).prop_map(|(actions, layout, extra)| {
                CardElement::Action(Action {
                    actions,
                    layout,
                    extra,
                })
            }),
            (list.clone(), opt_text(), extra()).prop_map(|(columns, flex_mode, extra)| {
                CardElement::ColumnSet(ColumnSet {
                    flex_mode,
                    background_style: None,
                    horizontal_spacing: None,
                    columns,
                    extra,
                })
            }),
            (list.clone(), option::of(any::<u32>()), extra()).prop_map(
                |(elements, weight, extra)| {
                    CardElement::Column(Column {
                        width: None,
                        weight,
                        vertical_align: None,
                        elements,
                        extra,
                    })
                }
            ),
            (opt_text(), list, extra()).prop_map(|(name, elements, extra)| CardElement::Form(
                Form {
                    name,
                    elements,
                    extra
                }
            )),
        ]
    })
}

fn header() -> impl Strategy<Value = CardHeader> {
    (
        option::of(text_object()),
        option::of(text_object()),
        option::of(prop_oneof![
            Just(HeaderTemplate::Blue),
            Just(HeaderTemplate::Red),
            "x_[a-z]{1,4}".prop_map(HeaderTemplate::Unknown)
        ]),
        extra(),
    )
        .prop_map(|(title, subtitle, template, extra)| CardHeader {
            title,
            subtitle,
            template,
            padding: None,
            extra,
        })
}

fn config() -> impl Strategy<Value = CardConfig> {
    let platform = || {
        (option::of(any::<u32>()), option::of(any::<u32>()), extra()).prop_map(
            |(default, pc, extra)| PerPlatform {
                default,
                android: None,
                ios: None,
                pc,
                extra,
            },
        )
    };
    let streaming = (
        option::of(platform()),
        option::of(platform()),
        option::of(prop_oneof![
            Just(PrintStrategy::Fast),
            Just(PrintStrategy::Delay),
            "[a-z]{1,8}".prop_map(|s| PrintStrategy::from(s.as_str())),
        ]),
    )
        .prop_map(
            |(print_frequency_ms, print_step, print_strategy)| StreamingConfig {
                print_frequency_ms,
                print_step,
                print_strategy,
                extra: Map::new(),
            },
        );
    (
        (
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            opt_text(),
            option::of(non_null_value()),
            extra(),
        ),
        (
            option::of(any::<bool>()),
            option::of(streaming),
            option::of(opt_text().prop_map(|content| Summary {
                content,
                i18n_content: None,
                extra: Map::new(),
            })),
        ),
    )
        .prop_map(
            |(
                (enable_forward, update_multi, width_mode, style, extra),
                (streaming_mode, streaming_config, summary),
            )| CardConfig {
                enable_forward,
                update_multi,
                width_mode,
                wide_screen_mode: None,
                style,
                streaming_mode,
                streaming_config,
                summary,
                extra,
            },
        )
}

/// Unknown top-level keys of a card; `schema`, `type` and `title` tell card kinds apart and are
/// kept out.
fn card() -> BoxedStrategy<Card> {
    let link = || {
        (opt_text(), extra()).prop_map(|(url, extra)| CardLink {
            url,
            pc_url: None,
            ios_url: None,
            android_url: None,
            extra,
        })
    };
    prop_oneof![
        (
            option::of(config()),
            option::of(link()),
            option::of(header()),
            option::of(vec(card_element(), 0..4)),
            opt_text(),
            extra()
        )
            .prop_map(|(config, card_link, header, elements, direction, extra)| {
                Card::V2(CardV2 {
                    schema: "2.0".to_owned(),
                    config,
                    card_link,
                    header,
                    body: Some(CardBody {
                        direction,
                        padding: None,
                        elements,
                        extra: Map::new(),
                    }),
                    extra,
                })
            })
            .boxed(),
        (
            option::of(config()),
            option::of(link()),
            option::of(header()),
            option::of(vec(card_element(), 0..4)),
            option::of(btree_map(
                "[a-z]{2}_[a-z]{2}",
                vec(card_element(), 0..2),
                0..2
            )),
            option::of(non_null_value()),
            extra(),
        )
            .prop_map(
                |(config, card_link, header, elements, i18n_elements, fallback, extra)| {
                    Card::V1(CardV1 {
                        config,
                        card_link,
                        header,
                        elements,
                        i18n_elements,
                        i18n_header: None,
                        fallback,
                        extra,
                    })
                }
            )
            .boxed(),
        (id(), opt_text(), option::of(extra()), extra(), extra())
            .prop_map(|(template_id, version, variables, data_extra, extra)| {
                Card::Template(TemplateCard {
                    data: TemplateData {
                        template_id: template_id.into(),
                        template_version_name: version,
                        template_variable: variables,
                        extra: data_extra,
                    },
                    extra,
                })
            })
            .boxed(),
        (id(), extra())
            .prop_map(|(card_id, extra)| {
                Card::Entity(CardEntity {
                    data: CardEntityData {
                        card_id: card_id.into(),
                        extra: Map::new(),
                    },
                    extra,
                })
            })
            .boxed(),
        (
            any_text(),
            option::of(vec(vec(non_null_value(), 1..3), 1..3)),
            extra()
        )
            .prop_map(|(title, elements, extra)| Card::Simplified(SimplifiedCard {
                title: Some(title),
                elements,
                extra
            }))
            .boxed(),
    ]
    .boxed()
}

// ---------------------------------------------------------------- everything else

fn divider_text() -> impl Strategy<Value = DividerText> {
    (
        opt_text(),
        option::of(btree_map("[a-z]{2}_[A-Za-z]{2}", any_text(), 0..3)),
        extra(),
    )
        .prop_map(|(text, i18n_text, extra)| DividerText {
            text,
            i18n_text,
            extra,
        })
}

fn system() -> BoxedStrategy<System> {
    prop_oneof![
        (
            option::of(divider_text()),
            option::of(any::<bool>()),
            extra()
        )
            .prop_map(|(text, rollup, extra)| {
                System::Divider(SystemDivider {
                    kind: "divider".to_owned(),
                    params: Some(DividerParams {
                        divider_text: text,
                        extra: Map::new(),
                    }),
                    options: Some(DividerOptions {
                        need_rollup: rollup,
                        extra: Map::new(),
                    }),
                    extra,
                })
            })
            .boxed(),
        (
            any_text(),
            option::of(vec(any_text(), 0..3)),
            option::of(vec(any_text(), 0..3)),
            option::of(divider_text()),
            extra()
        )
            .prop_map(|(template, from_user, to_chatters, divider_text, extra)| {
                System::Notice(SystemNotice {
                    template: Some(template),
                    from_user,
                    to_chatters,
                    divider_text,
                    extra,
                })
            })
            .boxed(),
    ]
    .boxed()
}

fn calendar() -> impl Strategy<Value = CalendarEvent> {
    (
        opt_text(),
        option::of("[0-9]{13}"),
        option::of("[0-9]{13}"),
        extra(),
    )
        .prop_map(|(summary, start_time, end_time, extra)| CalendarEvent {
            summary,
            start_time,
            end_time,
            extra,
        })
}

fn message_content() -> BoxedStrategy<MessageContent> {
    prop_oneof![
        (any_text(), extra())
            .prop_map(|(text, extra)| MessageContent::Text(Text { text, extra }))
            .boxed(),
        post().prop_map(MessageContent::Post).boxed(),
        (id(), extra())
            .prop_map(|(key, extra)| MessageContent::Image(Image {
                image_key: key.into(),
                extra
            }))
            .boxed(),
        (id(), opt_text(), extra())
            .prop_map(|(key, file_name, extra)| MessageContent::File(File {
                file_key: key.into(),
                file_name,
                extra
            }))
            .boxed(),
        (id(), opt_text(), extra())
            .prop_map(|(key, file_name, extra)| MessageContent::Folder(Folder {
                file_key: key.into(),
                file_name,
                extra
            }))
            .boxed(),
        (id(), option::of(any::<u64>()), extra())
            .prop_map(|(key, duration, extra)| MessageContent::Audio(Audio {
                file_key: key.into(),
                duration,
                extra
            }))
            .boxed(),
        (
            id(),
            option::of(id()),
            opt_text(),
            option::of(any::<u64>()),
            extra()
        )
            .prop_map(|(key, image, file_name, duration, extra)| {
                MessageContent::Media(Media {
                    file_key: key.into(),
                    image_key: image.map(Into::into),
                    file_name,
                    duration,
                    extra,
                })
            })
            .boxed(),
        (id(), extra())
            .prop_map(|(key, extra)| MessageContent::Sticker(Sticker {
                file_key: key.into(),
                extra
            }))
            .boxed(),
        card().prop_map(MessageContent::card).boxed(),
        (id(), extra())
            .prop_map(|(chat, extra)| MessageContent::ShareChat(ShareChat {
                chat_id: chat.into(),
                extra
            }))
            .boxed(),
        (id(), extra())
            .prop_map(|(user, extra)| MessageContent::ShareUser(ShareUser {
                user_id: user.into(),
                extra
            }))
            .boxed(),
        system().prop_map(MessageContent::System).boxed(),
        (opt_text(), opt_text(), opt_text(), extra())
            .prop_map(|(name, longitude, latitude, extra)| {
                MessageContent::Location(Location {
                    name,
                    longitude,
                    latitude,
                    extra,
                })
            })
            .boxed(),
        (opt_text(), opt_text(), extra())
            .prop_map(
                |(topic, start_time, extra)| MessageContent::VideoChat(VideoChat {
                    topic,
                    start_time,
                    extra
                })
            )
            .boxed(),
        (
            opt_text(),
            option::of(post_body(extra().boxed())),
            opt_text(),
            extra()
        )
            .prop_map(
                |(task_id, summary, due_time, extra)| MessageContent::Todo(Todo {
                    task_id,
                    summary,
                    due_time,
                    extra
                })
            )
            .boxed(),
        (opt_text(), option::of(vec(any_text(), 0..4)), extra())
            .prop_map(|(topic, options, extra)| MessageContent::Vote(Vote {
                topic,
                options,
                extra
            }))
            .boxed(),
        (opt_text(), extra())
            .prop_map(|(text, extra)| MessageContent::Hongbao(Hongbao { text, extra }))
            .boxed(),
        (opt_text(), extra())
            .prop_map(
                |(content, extra)| MessageContent::MergeForward(MergeForward { content, extra })
            )
            .boxed(),
        calendar()
            .prop_map(MessageContent::ShareCalendarEvent)
            .boxed(),
        calendar().prop_map(MessageContent::Calendar).boxed(),
        calendar().prop_map(MessageContent::GeneralCalendar).boxed(),
        (
            "[a-z_]{1,12}".prop_filter("not a known type", |t| !MessageContent::KNOWN_TYPES
                .contains(&t.as_str())),
            ".{0,40}"
        )
            .prop_map(|(msg_type, content)| MessageContent::Unknown { msg_type, content })
            .boxed(),
    ]
    .boxed()
}

/// The property suites; `cargo xtask fuzz` runs them with many cases.
mod fuzz {
    use super::*;

    proptest! {
        #[test]
        fn every_content_type_survives_encode_then_decode(content in message_content()) {
            roundtrip(&content);
        }

        #[test]
        fn text_with_quotes_backslashes_markup_emoji_cjk_and_controls_round_trips_exactly(text in any_text()) {
            let content = MessageContent::text(text.clone());
            let decoded = MessageContent::decode("text", &content.encode()).unwrap();
            prop_assert_eq!(decoded, MessageContent::Text(Text::new(text)));
        }

        #[test]
        fn literal_builder_text_never_becomes_markup_and_loses_nothing(text in any_text()) {
            prop_assume!(!text.contains('\u{200B}'));
            let built = Text::builder().text(&text).build().text;
            prop_assert!(!built.contains("<at"));
            prop_assert!(!built.contains("</"));
            prop_assert!(!built.contains("]("));
            prop_assert_eq!(built.replace('\u{200B}', ""), text);
        }

        #[test]
        fn decoding_any_string_as_any_type_never_panics(
            msg_type in prop_oneof![proptest::sample::select(MessageContent::KNOWN_TYPES).prop_map(str::to_owned), "[a-z_]{0,10}"],
            content in ".{0,64}",
        ) {
            let _ = MessageContent::decode(&msg_type, &content);
        }

        #[test]
        fn any_json_as_any_type_decodes_and_encodes_to_an_equal_value(
            msg_type in prop_oneof![
                proptest::sample::select(MessageContent::KNOWN_TYPES).prop_map(str::to_owned),
                "[a-z_]{1,10}",
            ],
            value in prop_oneof![shaped_json(), json_value()],
        ) {
            let content = value.to_string();
            let decoded = MessageContent::decode(&msg_type, &content);
            prop_assert!(decoded.is_ok(), "{msg_type} {content}: {decoded:?}");
            let decoded = decoded.unwrap();
            let again: Value = serde_json::from_str(&decoded.encode()).unwrap();
            prop_assert_eq!(&again, &value, "{} {:?}", msg_type, decoded);
            // Validating received content never panics (it may refuse to send it).
            let _ = decoded.validate();
        }
    }
}
