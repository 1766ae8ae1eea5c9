//! Every content example the platform's documentation shows: it decodes
//! into its typed variant, and re-encodes to JSON equal to the input.
//!
//! The payloads, with their sources, are in `fixtures/documented_contents.json`.

use lark_content::card::{Card, CardElement};
use lark_content::{MessageContent, Post, PostElement, Segment, System, TextStyle};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Documented {
    source: String,
    direction: String,
    msg_type: String,
    content: String,
}

fn documented() -> Vec<Documented> {
    serde_json::from_str(include_str!("fixtures/documented_contents.json")).unwrap()
}

fn find(msg_type: &str, direction: &str, needle: &str) -> MessageContent {
    let example = documented()
        .into_iter()
        .find(|d| d.msg_type == msg_type && d.direction == direction && d.content.contains(needle))
        .unwrap_or_else(|| panic!("no documented {direction} {msg_type} containing {needle:?}"));
    MessageContent::decode(&example.msg_type, &example.content).unwrap()
}

#[test]
fn every_documented_example_decodes_typed_and_reencodes_unchanged() {
    let examples = documented();
    assert!(examples.len() >= 60, "the fixture lost examples");
    for example in &examples {
        let content =
            MessageContent::decode(&example.msg_type, &example.content).unwrap_or_else(|err| {
                panic!(
                    "{} {} from {}: {err}",
                    example.direction, example.msg_type, example.source
                )
            });
        assert!(
            !matches!(content, MessageContent::Unknown { .. }),
            "{} decoded as Unknown",
            example.msg_type
        );
        assert_eq!(content.msg_type(), example.msg_type);
        let input: Value = serde_json::from_str(&example.content).unwrap();
        let output: Value = serde_json::from_str(&content.encode()).unwrap();
        assert_eq!(
            output, input,
            "{} from {} changed on re-encoding",
            example.msg_type, example.source
        );
    }
}

#[test]
fn every_documented_send_example_passes_validation_except_the_legacy_post_wrapper() {
    for example in documented().iter().filter(|d| d.direction == "send") {
        let content = MessageContent::decode(&example.msg_type, &example.content).unwrap();
        let result = content.validate();
        if example.content.starts_with("{\"post\":") {
            let err = result.expect_err("the {\"post\":…} wrapper must be refused");
            assert!(err.to_string().contains("230001"), "{err}");
        } else {
            assert!(
                result.is_ok(),
                "{} from {}: {:?}",
                example.msg_type,
                example.source,
                result
            );
            assert!(
                content.can_send(),
                "{} is documented as sendable",
                example.msg_type
            );
        }
    }
}

#[test]
fn the_documented_send_post_has_every_element_tag_typed() {
    let MessageContent::Post(Post::Localized { locales, .. }) = find("post", "send", "code_block")
    else {
        panic!("expected a locale-keyed post");
    };
    let body = &locales["zh_cn"];
    assert_eq!(body.title.as_deref(), Some("我是一个标题"));
    let tags: Vec<&str> = body
        .paragraphs()
        .iter()
        .flatten()
        .map(PostElement::tag)
        .collect();
    assert_eq!(
        tags,
        [
            "text",
            "a",
            "at",
            "img",
            "text",
            "text",
            "img",
            "media",
            "emotion",
            "hr",
            "code_block",
            "md"
        ]
    );
    let PostElement::Text(first) = &body.paragraphs()[0][0] else {
        panic!()
    };
    assert_eq!(
        first.style,
        Some(vec![TextStyle::Bold, TextStyle::Underline])
    );
    let PostElement::At(at) = &body.paragraphs()[0][2] else {
        panic!()
    };
    assert_eq!(at.user_id, "ou_1avnmsbv3k45jnk34j5");
    assert_eq!(at.style, Some(vec![TextStyle::LineThrough]));
    let PostElement::Media(media) = &body.paragraphs()[4][0] else {
        panic!()
    };
    assert_eq!(
        media.file_key.as_str(),
        "file_v2_0dcdd7d9-fib0-4432-a519-41d25aca542j"
    );
    let PostElement::CodeBlock(code) = &body.paragraphs()[7][0] else {
        panic!()
    };
    assert_eq!(code.language.as_deref(), Some("GO"));
    assert!(locales.contains_key("en_us"));
}

#[test]
fn the_documented_received_post_is_flat_with_placeholder_mentions() {
    let MessageContent::Post(Post::Flat(body)) = find("post", "receive", "我是一个标题")
    else {
        panic!("expected the flattened received shape");
    };
    let PostElement::At(at) = &body.paragraphs()[0][2] else {
        panic!()
    };
    assert_eq!(at.user_id, "@_user_1");
    assert_eq!(at.user_name.as_deref(), Some(""));
    assert_eq!(at.style, Some(vec![]));
    assert_eq!(body.paragraphs().len(), 8);
}

#[test]
fn documented_cards_decode_to_their_kind() {
    let MessageContent::Interactive(card) = find("interactive", "send", "\"schema\":\"2.0\"")
    else {
        panic!()
    };
    let Card::V2(v2) = &*card else {
        panic!("expected card JSON 2.0, got {card:?}")
    };
    let elements = v2.body.as_ref().unwrap().elements.as_ref().unwrap();
    assert!(matches!(elements[0], CardElement::Markdown(_)));
    let CardElement::Button(button) = &elements[1] else {
        panic!()
    };
    let behavior = &button.behaviors.as_ref().unwrap()[0];
    assert_eq!(behavior.kind, "open_url");
    assert_eq!(
        behavior.default_url.as_deref(),
        Some("https://baike.baidu.com/item/%E8%A5%BF%E6%B9%96/4668821")
    );
    assert_eq!(v2.config.as_ref().unwrap().update_multi, Some(true));

    let MessageContent::Interactive(card) = find("interactive", "send", "\"template\"") else {
        panic!()
    };
    let Card::Template(template) = &*card else {
        panic!()
    };
    assert_eq!(template.data.template_id.as_str(), "xxxxxxxxxxxx");
    assert_eq!(
        template.data.template_version_name.as_deref(),
        Some("1.0.0")
    );

    let MessageContent::Interactive(card) = find("interactive", "send", "card_id") else {
        panic!()
    };
    let Card::Entity(entity) = &*card else {
        panic!()
    };
    assert_eq!(entity.data.card_id.as_str(), "7371713483664506900");

    let MessageContent::Interactive(card) = find("interactive", "send", "wide_screen_mode") else {
        panic!()
    };
    let Card::V1(v1) = &*card else { panic!() };
    let elements = v1.elements.as_ref().unwrap();
    let CardElement::Action(action) = &elements[1] else {
        panic!()
    };
    let CardElement::Button(accept) = &action.actions.as_ref().unwrap()[0] else {
        panic!()
    };
    assert_eq!(accept.value, Some(serde_json::json!({"action": "accept"})));

    let MessageContent::Interactive(card) = find("interactive", "receive", "卡片标题") else {
        panic!()
    };
    let Card::Simplified(simplified) = &*card else {
        panic!()
    };
    assert_eq!(simplified.title.as_deref(), Some("卡片标题"));
    assert_eq!(simplified.elements.as_ref().unwrap().len(), 9);
}

#[test]
fn documented_received_text_resolves_its_mention() {
    let MessageContent::Text(text) = find("text", "receive", "@_user_1 hello") else {
        panic!()
    };
    let mentions: Vec<lark_content::Mention> = serde_json::from_value(serde_json::json!([{
        "key": "@_user_1",
        "id": {"union_id": "on_8ed6aa67826108097d9ee143816345", "user_id": "e33ggbyz", "open_id": "ou_84aad35d084aa403a838cf73ee18467"},
        "mentioned_type": "user",
        "name": "Tom",
        "tenant_key": "736588c9260f175e"
    }]))
    .unwrap();
    let segments: Vec<_> = text.segments(&mentions).collect();
    assert_eq!(
        segments,
        [Segment::Mention(&mentions[0]), Segment::Text(" hello")]
    );
    assert_eq!(text.to_plain(&mentions), "@Tom hello");
}

#[test]
fn documented_system_messages_take_their_shape() {
    assert!(matches!(
        find("system", "send", "divider"),
        MessageContent::System(System::Divider(_))
    ));
    let MessageContent::System(System::Notice(notice)) = find("system", "receive", "divider_text")
    else {
        panic!()
    };
    assert_eq!(notice.render(), "新会话");
}

/// The streaming card of the CardKit "create card entity" page's request example
/// (open.feishu.cn `/document/uAjLw4CM/ukTMukTMukTM/cardkit-v1/card/create`), its `data` string
/// unescaped.
const CARDKIT_CREATE_EXAMPLE: &str = r#"{"schema":"2.0","header":{"title":{"content":"项目进度更新提醒","tag":"plain_text"}},"config":{"streaming_mode":true,"summary":{"content":""},"streaming_config":{"print_frequency_ms":{"default":70,"android":70,"ios":70,"pc":70},"print_step":{"default":1,"android":1,"ios":1,"pc":1},"print_strategy":"fast"}},"body":{"elements":[{"tag":"markdown","content":"截至今日，项目完成度已达80%","element_id":"markdown_1"}]}}"#;

#[test]
fn the_documented_streaming_card_reads_its_streaming_settings_typed() {
    use lark_content::card::{PrintStrategy, StreamingConfig, Summary};
    let Card::V2(card) = serde_json::from_str::<Card>(CARDKIT_CREATE_EXAMPLE).unwrap() else {
        panic!("a card JSON 2.0");
    };
    let config = card.config.as_ref().unwrap();
    assert!(
        config.extra.is_empty(),
        "nothing left untyped: {:?}",
        config.extra
    );
    assert_eq!(config.streaming_mode, Some(true));
    assert_eq!(config.summary, Some(Summary::new("")));
    assert_eq!(
        config.streaming_config,
        Some(StreamingConfig::new(70, 1, PrintStrategy::Fast))
    );
    let elements = card.body.as_ref().unwrap().elements.as_ref().unwrap();
    assert_eq!(elements[0].element_id(), Some("markdown_1"));
    let content = MessageContent::from(card.clone());
    assert!(content.validate().is_ok());
    let written: Value = serde_json::to_value(&card).unwrap();
    assert_eq!(
        written,
        serde_json::from_str::<Value>(CARDKIT_CREATE_EXAMPLE).unwrap()
    );
}
