//! Received content in the shapes real clients deliver beside the documented ones: fields the
//! model needs left out, and extra structure around it. Each always decodes, keeps every field
//! and encodes back to an equal JSON value; what the model knows is typed, the rest reachable.
//!
//! Sources: the official Lark CLI reads every one of these fields as optional when it renders
//! received messages (github.com/larksuite/cli, `shortcuts/im/convert_lib/text.go`, `media.go`,
//! `card.go`), and reads `interactive` content fetched with
//! `card_msg_content_type=raw_card_content` as `{"json_card": "<card JSON>", "card_schema": …}`
//! (`card.go`, `helpers.go`). The payloads below are written here in those shapes.

use lark_content::card::{Card, CardElement};
use lark_content::{MessageContent, Post, PostElement};
use serde_json::{Value, json};

/// Decodes `content` as `msg_type` and checks it encodes back to an equal JSON value.
fn decode_losslessly(msg_type: &str, content: &Value) -> MessageContent {
    let decoded = MessageContent::decode(msg_type, &content.to_string())
        .unwrap_or_else(|err| panic!("{msg_type} {content}: {err}"));
    let again: Value = serde_json::from_str(&decoded.encode()).unwrap();
    assert_eq!(&again, content, "{msg_type}: {decoded:?}");
    decoded
}

#[test]
fn a_text_without_text_decodes_and_keeps_its_fields() {
    let content = json!({"mentions_only": true});
    let decoded = decode_losslessly("text", &content);
    assert!(matches!(decoded, MessageContent::Unmodelled { .. }));
    assert_eq!(decoded.json().unwrap()["mentions_only"], true);
    assert!(decoded.validate().is_err(), "never sent back as it came");
}

#[test]
fn an_audio_with_only_a_duration_decodes_with_the_duration_reachable() {
    let content = json!({"duration": 2000});
    let decoded = decode_losslessly("audio", &content);
    assert_eq!(decoded.msg_type(), "audio");
    assert_eq!(decoded.json().unwrap()["duration"], 2000);
}

#[test]
fn a_post_at_element_without_user_id_keeps_the_rest_of_the_post_typed() {
    let content = json!({
        "title": "",
        "content": [[
            {"tag": "text", "text": "hi "},
            {"tag": "at", "user_name": "Tom"},
            {"tag": "a", "text": "docs", "href": "https://open.feishu.cn"}
        ]]
    });
    let MessageContent::Post(Post::Flat(body)) = decode_losslessly("post", &content) else {
        panic!("a typed flat post")
    };
    let paragraph = &body.paragraphs()[0];
    assert!(matches!(paragraph[0], PostElement::Text(_)));
    let PostElement::Unknown(at) = &paragraph[1] else {
        panic!("{:?}", paragraph[1])
    };
    assert_eq!(at["user_name"], "Tom");
    assert!(matches!(paragraph[2], PostElement::Link(_)));
}

#[test]
fn a_post_with_keys_beside_its_locales_keeps_them() {
    let content = json!({
        "zh_cn": {"title": "t", "content": [[{"tag": "text", "text": "中文"}]]},
        "content_v2": [[{"tag": "text", "text": "beside the locales"}]],
        "version": 2
    });
    let MessageContent::Post(Post::Localized { locales, extra }) =
        decode_losslessly("post", &content)
    else {
        panic!("a typed localized post")
    };
    assert_eq!(locales["zh_cn"].title.as_deref(), Some("t"));
    assert_eq!(extra["version"], 2);
    assert!(extra["content_v2"].is_array());
}

#[test]
fn a_flat_post_with_extra_structure_keeps_it() {
    let content = json!({
        "title": "t",
        "content": [[{"tag": "text", "text": "x"}]],
        "content_v2": {"blocks": []}
    });
    let MessageContent::Post(Post::Flat(body)) = decode_losslessly("post", &content) else {
        panic!()
    };
    assert_eq!(body.extra["content_v2"], json!({"blocks": []}));
}

#[test]
fn a_card_text_object_without_a_tag_keeps_the_card_typed() {
    let content = json!({
        "header": {"title": {"content": "Card Title"}},
        "elements": [{"tag": "div", "text": {"content": "no tag here"}}]
    });
    let MessageContent::Interactive(card) = decode_losslessly("interactive", &content) else {
        panic!()
    };
    let Card::V1(card) = *card else { panic!() };
    let header = card.header.unwrap();
    assert!(header.title.is_none(), "the untagged title is kept aside");
    assert_eq!(header.extra["title"]["content"], "Card Title");
    let CardElement::Div(div) = &card.elements.as_deref().unwrap()[0] else {
        panic!("the div stays typed")
    };
    assert!(div.text.is_none());
    assert_eq!(div.extra["text"]["content"], "no tag here");
}

#[test]
fn an_interactive_message_as_json_card_exposes_the_inner_card() {
    let inner =
        json!({"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": "**hi**"}]}});
    let content =
        json!({"json_card": inner.to_string(), "card_schema": 2, "json_attachment": "{}"});
    let MessageContent::Interactive(card) = decode_losslessly("interactive", &content) else {
        panic!()
    };
    let Card::Embedded(embedded) = *card else {
        panic!("{card:?}")
    };
    assert_eq!(embedded.card_schema, Some(json!(2)));
    assert!(matches!(embedded.card().unwrap(), Card::V2(_)));
    assert_eq!(embedded.extra["json_attachment"], "{}");
}

#[test]
fn content_that_is_not_json_is_an_error_naming_its_type() {
    for msg_type in ["text", "post", "interactive", "audio"] {
        let err = MessageContent::decode(msg_type, "{\"text\":").unwrap_err();
        assert!(err.to_string().contains(&format!("`{msg_type}`")), "{err}");
    }
}

#[test]
fn json_that_is_not_an_object_is_kept_too() {
    for content in [json!("a string"), json!([1, 2]), json!(42), json!(null)] {
        let decoded = decode_losslessly("image", &content);
        assert!(
            matches!(decoded, MessageContent::Unmodelled { .. }),
            "{content}"
        );
    }
}
