//! The CardKit endpoints' requests against the request examples of their documentation pages
//! (open.feishu.cn `/document/uAjLw4CM/ukTMukTMukTM/cardkit-v1/…`), and their codes. Fields the
//! platform takes as JSON in a string are compared as JSON.

use lark_api::cardkit::{
    AddElements, BatchUpdate, CardAction, CardIdOf, CardOp, CreateCard, DeleteElement,
    PatchElement, Position, ReplaceElement, Settings, StreamText, UpdateCard, UpdateSettings,
};
use lark_api::{
    AccessToken, ApiError, BaseUrl, Body, BuildError, Endpoint, ErrorKind, QuotaScope,
    build_request, parse_response,
};
use lark_content::card::{
    Button, CardConfig, CardHeader, CardV2, Markdown, PrintStrategy, StreamingConfig, Summary,
};
use lark_content::{CardId, MessageId};
use serde_json::{Map, Value, json};

const UUID: &str = "a0d69e20-1dd1-458b-k525-dfeca4015204";

fn card() -> CardId {
    CardId::new("7355439197428236291")
}

/// The method, the path and the body, with the named string fields read as JSON.
fn request<E: Endpoint>(endpoint: &E, json_strings: &[&str]) -> (String, String, Value) {
    let token = AccessToken::new("t-7f1bcd13fc57d46bac21793a18e560");
    let request = build_request(endpoint, &BaseUrl::feishu(), Some(&token)).unwrap();
    let mut body: Value = match request.body() {
        Body::Json(bytes) => serde_json::from_slice(bytes).unwrap(),
        other => panic!("expected a JSON body, got {other:?}"),
    };
    for field in json_strings {
        let text = body[*field].as_str().unwrap().to_owned();
        body[*field] = serde_json::from_str(&text).unwrap();
    }
    (
        request.method().to_string(),
        request.uri().path().to_owned(),
        body,
    )
}

fn documented(example: &str, json_strings: &[&str]) -> Value {
    let mut body: Value = serde_json::from_str(example).unwrap();
    for field in json_strings {
        let text = body[*field].as_str().unwrap().to_owned();
        body[*field] = serde_json::from_str(&text).unwrap();
    }
    body
}

#[test]
fn a_card_entity_is_created_from_card_json_2_as_the_create_page_shows() {
    // The create page's example: a streaming card with a summary and one markdown component.
    let card = CardV2::builder()
        .header(CardHeader::new("项目进度更新提醒"))
        .streaming(
            StreamingConfig::new(70, 1, PrintStrategy::Fast),
            Summary::new(""),
        )
        .element(Markdown::new("截至今日，项目完成度已达80%").element_id("markdown_1"))
        .build();
    let (method, path, mut body) = request(&CreateCard::new(card), &["data"]);
    assert_eq!(method, "POST");
    assert_eq!(path, "/open-apis/cardkit/v1/cards");
    // The builder also sets `update_multi: true`, which streaming needs.
    assert_eq!(body["data"]["config"]["update_multi"], true);
    body["data"]["config"]
        .as_object_mut()
        .unwrap()
        .remove("update_multi");
    let example = documented(
        r#"{"type":"card_json","data":"{\"schema\":\"2.0\",\"header\":{\"title\":{\"content\":\"项目进度更新提醒\",\"tag\":\"plain_text\"}},\"config\":{\"streaming_mode\":true,\"summary\":{\"content\":\"\"},\"streaming_config\":{\"print_frequency_ms\":{\"default\":70,\"android\":70,\"ios\":70,\"pc\":70},\"print_step\":{\"default\":1,\"android\":1,\"ios\":1,\"pc\":1},\"print_strategy\":\"fast\"}},\"body\":{\"elements\":[{\"tag\":\"markdown\",\"content\":\"截至今日，项目完成度已达80%\",\"element_id\":\"markdown_1\"}]}}"}"#,
        &["data"],
    );
    assert_eq!(body, example);
}

#[test]
fn a_card_entity_is_created_from_a_template() {
    let template: lark_content::card::TemplateData = serde_json::from_value(json!({
        "template_id": "AAqIi1B8abcef",
        "template_version_name": "1.0.0",
        "template_variable": {"open_id": "ou_5c6d1637498e704f541095bba3dabcef"}
    }))
    .unwrap();
    let (_, _, body) = request(&CreateCard::template(template), &["data"]);
    assert_eq!(
        body,
        json!({"type": "template", "data": {
            "template_id": "AAqIi1B8abcef",
            "template_version_name": "1.0.0",
            "template_variable": {"open_id": "ou_5c6d1637498e704f541095bba3dabcef"}
        }})
    );
}

#[test]
fn cards_that_break_the_entity_rules_are_refused_before_sending() {
    let v1 = CardV2 {
        schema: "1.0".to_owned(),
        ..CardV2::builder().build()
    };
    let err = build_request(&CreateCard::new(v1), &BaseUrl::feishu(), None).unwrap_err();
    assert!(err.to_string().contains("2.0"), "{err}");

    let twice = CardV2::builder()
        .element(Markdown::new("a").element_id("answer"))
        .element(Markdown::new("b").element_id("answer"))
        .build();
    let err = build_request(&CreateCard::new(twice), &BaseUrl::feishu(), None).unwrap_err();
    assert!(err.to_string().contains("used twice"), "{err}");

    let bad_id = CardV2::builder()
        .element(Markdown::new("a").element_id("1st"))
        .build();
    let err = build_request(&CreateCard::new(bad_id), &BaseUrl::feishu(), None).unwrap_err();
    assert!(err.to_string().contains("starting with a letter"), "{err}");

    let big = CardV2::builder()
        .element(Markdown::new("字".repeat(11_000)).element_id("answer"))
        .build();
    let err = build_request(&CreateCard::new(big), &BaseUrl::feishu(), None).unwrap_err();
    assert!(matches!(err, BuildError::Content(_)), "{err}");
}

#[test]
fn the_whole_card_is_replaced_as_the_update_page_shows() {
    let card = CardV2::builder()
        .header(CardHeader::new("项目进度更新提醒"))
        .element(Markdown::new("截至今日，项目完成度已达80%"))
        .build();
    let op = CardOp::new(card_id_of_update(), 1, UpdateCard::new(card)).uuid(UUID);
    let (method, path, mut body) = request(&op, &[]);
    assert_eq!(method, "PUT");
    assert_eq!(path, "/open-apis/cardkit/v1/cards/7355372766134157313");
    let data = body["card"]["data"].as_str().unwrap().to_owned();
    body["card"]["data"] = serde_json::from_str(&data).unwrap();
    assert_eq!(
        body,
        json!({
            "card": {"type": "card_json", "data": {"schema": "2.0",
                "header": {"title": {"content": "项目进度更新提醒", "tag": "plain_text"}},
                "body": {"elements": [{"tag": "markdown", "content": "截至今日，项目完成度已达80%"}]}}},
            "uuid": UUID,
            "sequence": 1
        })
    );
}

fn card_id_of_update() -> CardId {
    CardId::new("7355372766134157313")
}

#[test]
fn settings_travel_as_a_json_string_as_the_settings_page_shows() {
    let config = CardConfig {
        streaming_mode: Some(true),
        streaming_config: Some(StreamingConfig::default()),
        ..CardConfig::default()
    };
    let op = CardOp::new(
        card_id_of_update(),
        1,
        UpdateSettings::new(Settings::config(config)),
    )
    .uuid(UUID);
    let (method, path, body) = request(&op, &["settings"]);
    assert_eq!(method, "PATCH");
    assert_eq!(
        path,
        "/open-apis/cardkit/v1/cards/7355372766134157313/settings"
    );
    let example = documented(
        r#"{"settings":"{\"config\":{\"streaming_mode\":true,\"streaming_config\":{\"print_frequency_ms\":{\"default\":70,\"android\":70,\"ios\":70,\"pc\":70},\"print_step\":{\"default\":1,\"android\":1,\"ios\":1,\"pc\":1},\"print_strategy\":\"fast\"}}}","uuid":"a0d69e20-1dd1-458b-k525-dfeca4015204","sequence":1}"#,
        &["settings"],
    );
    assert_eq!(body, example);
}

#[test]
fn a_batch_carries_its_actions_as_the_batch_update_page_shows() {
    let config = CardConfig {
        streaming_mode: Some(true),
        ..CardConfig::default()
    };
    let mut partial = Map::new();
    partial.insert("content".to_owned(), json!("详情参考飞书卡片相关文档。"));
    let button: lark_content::card::CardElement = serde_json::from_value(json!({
        "tag": "button", "text": {"tag": "plain_text", "content": "有帮助"}, "size": "medium",
        "icon": {"tag": "standard_icon", "token": "emoji_outlined"}
    }))
    .unwrap();
    let batch = BatchUpdate::new(vec![
        CardAction::Settings(Settings::config(config)),
        CardAction::Add(AddElements::new(
            Position::Before("markdown_1".to_owned()),
            vec![
                Markdown::new(
                    "欢迎使用[飞书卡片搭建工具](https://open.feishu.cn/cardkit?from=open_docs)。",
                )
                .element_id("md_1")
                .into(),
            ],
        )),
        CardAction::Delete(vec!["text_1".to_owned(), "text_2".to_owned()]),
        CardAction::Patch(PatchElement::new("markdown_2", partial)),
        CardAction::Replace(ReplaceElement::new("markdown_3", button)),
    ]);
    let op = CardOp::new(card(), 1, batch).uuid(UUID);
    let (method, path, body) = request(&op, &["actions"]);
    assert_eq!(method, "POST");
    assert_eq!(
        path,
        "/open-apis/cardkit/v1/cards/7355439197428236291/batch_update"
    );
    let example = documented(
        r#"{"uuid":"a0d69e20-1dd1-458b-k525-dfeca4015204","sequence":1,"actions":"[{\"action\":\"partial_update_setting\",\"params\":{\"settings\":{\"config\":{\"streaming_mode\":true}}}},{\"action\":\"add_elements\",\"params\":{\"type\":\"insert_before\",\"target_element_id\":\"markdown_1\",\"elements\":[{\"tag\":\"markdown\",\"element_id\":\"md_1\",\"content\":\"欢迎使用[飞书卡片搭建工具](https://open.feishu.cn/cardkit?from=open_docs)。\"}]}},{\"action\":\"delete_elements\",\"params\":{\"element_ids\":[\"text_1\",\"text_2\"]}},{\"action\":\"partial_update_element\",\"params\":{\"element_id\":\"markdown_2\",\"partial_element\":{\"content\":\"详情参考飞书卡片相关文档。\"}}},{\"action\":\"update_element\",\"params\":{\"element_id\":\"markdown_3\",\"element\":{\"tag\":\"button\",\"text\":{\"tag\":\"plain_text\",\"content\":\"有帮助\"},\"size\":\"medium\",\"icon\":{\"tag\":\"standard_icon\",\"token\":\"emoji_outlined\"}}}}]"}"#,
        &["actions"],
    );
    assert_eq!(body, example);
}

#[test]
fn element_operations_have_their_documented_shapes() {
    // card-element/create
    let button = Button::new("查看更多").open_url("https://open.feishu.cn/?lang=zh-CN");
    let mut button = serde_json::to_value(button).unwrap();
    button["element_id"] = json!("button_1");
    let add = AddElements::new(
        Position::After("markdown_1".to_owned()),
        vec![serde_json::from_value(button.clone()).unwrap()],
    );
    let (method, path, body) = request(&CardOp::new(card(), 1, add).uuid(UUID), &["elements"]);
    assert_eq!(
        (method.as_str(), path.as_str()),
        (
            "POST",
            "/open-apis/cardkit/v1/cards/7355439197428236291/elements"
        )
    );
    assert_eq!(
        body,
        json!({"type": "insert_after", "target_element_id": "markdown_1", "uuid": UUID, "sequence": 1, "elements": [button]})
    );
    let (_, _, body) = request(
        &CardOp::new(
            card(),
            2,
            AddElements::new(Position::End, vec![Markdown::new("x").into()]),
        ),
        &["elements"],
    );
    assert_eq!(body["type"], "append");
    assert!(body.get("target_element_id").is_none());

    // card-element/update
    let replace = ReplaceElement::new(
        "md_1",
        Markdown::new("这是一段更新后的文本").element_id("md_1"),
    );
    let (method, path, body) = request(&CardOp::new(card(), 1, replace).uuid(UUID), &["element"]);
    assert_eq!(
        (method.as_str(), path.as_str()),
        (
            "PUT",
            "/open-apis/cardkit/v1/cards/7355439197428236291/elements/md_1"
        )
    );
    assert_eq!(
        body,
        documented(
            r#"{"uuid":"a0d69e20-1dd1-458b-k525-dfeca4015204","element":"{\"tag\":\"markdown\",\"element_id\":\"md_1\",\"content\":\"这是一段更新后的文本\"}","sequence":1}"#,
            &["element"]
        )
    );

    // card-element/patch
    let mut properties = Map::new();
    properties.insert("content".to_owned(), json!("更新后的组件文本"));
    let change = PatchElement::new("markdown_1", properties);
    let (method, path, body) = request(
        &CardOp::new(card(), 1, change).uuid(UUID),
        &["partial_element"],
    );
    assert_eq!(
        (method.as_str(), path.as_str()),
        (
            "PATCH",
            "/open-apis/cardkit/v1/cards/7355439197428236291/elements/markdown_1"
        )
    );
    assert_eq!(
        body,
        documented(
            r#"{"partial_element":"{\"content\":\"更新后的组件文本\"}","uuid":"a0d69e20-1dd1-458b-k525-dfeca4015204","sequence":1}"#,
            &["partial_element"]
        )
    );

    // card-element/content
    let text = StreamText::new("markdown_1", "这是更新后的文本内容。将以打字机式的效果输出");
    let (method, path, body) = request(&CardOp::new(card(), 1, text).uuid(UUID), &[]);
    assert_eq!(
        (method.as_str(), path.as_str()),
        (
            "PUT",
            "/open-apis/cardkit/v1/cards/7355439197428236291/elements/markdown_1/content"
        )
    );
    assert_eq!(
        body,
        json!({"uuid": UUID, "content": "这是更新后的文本内容。将以打字机式的效果输出", "sequence": 1})
    );

    // card-element/delete
    let (method, path, body) = request(
        &CardOp::new(card(), 1, DeleteElement::new("markdown_1")).uuid(UUID),
        &[],
    );
    assert_eq!(
        (method.as_str(), path.as_str()),
        (
            "DELETE",
            "/open-apis/cardkit/v1/cards/7355439197428236291/elements/markdown_1"
        )
    );
    assert_eq!(body, json!({"uuid": UUID, "sequence": 1}));
}

#[test]
fn a_message_id_converts_to_its_card_entity() {
    let convert = CardIdOf::new(MessageId::new("om_0a2f3e1c8d7b6a5f4e3d2c1b0a9f8e7d"));
    let (method, path, body) = request(&convert, &[]);
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("POST", "/open-apis/cardkit/v1/cards/id_convert")
    );
    assert_eq!(
        body,
        json!({"message_id": "om_0a2f3e1c8d7b6a5f4e3d2c1b0a9f8e7d"})
    );
    let answer = http::Response::builder()
        .status(200)
        .body(bytes::Bytes::from_static(
            br#"{"code":0,"msg":"success","data":{"card_id":"7355372766134157313"}}"#,
        ))
        .unwrap();
    assert_eq!(
        parse_response(&convert, answer).unwrap(),
        card_id_of_update()
    );
}

#[test]
fn operations_are_checked_before_sending_and_counted_against_their_card() {
    let text =
        |sequence, content: &str| CardOp::new(card(), sequence, StreamText::new("answer", content));
    let refused = |op: &CardOp<StreamText>| {
        build_request(op, &BaseUrl::feishu(), None)
            .unwrap_err()
            .to_string()
    };
    assert!(refused(&text(0, "hi")).contains("sequence"));
    assert!(refused(&text(u32::MAX, "hi")).contains("sequence"));
    assert!(refused(&text(1, "")).contains("content"));
    assert!(refused(&text(1, &"a".repeat(100_001))).contains("100000"));
    assert!(refused(&text(1, "hi").uuid("u".repeat(65))).contains("uuid"));
    let bad_element = CardOp::new(card(), 1, StreamText::new("has space", "hi"));
    assert!(refused(&bad_element).contains("element id"));
    let mut tag = Map::new();
    tag.insert("tag".to_owned(), json!("button"));
    let err = build_request(
        &CardOp::new(card(), 1, PatchElement::new("md", tag)),
        &BaseUrl::feishu(),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("tag"), "{err}");

    assert_eq!(
        text(1, "hi").quota_scope(),
        Some(QuotaScope::Card("7355439197428236291".to_owned()))
    );
    assert!(!text(1, "hi").is_idempotent());
    assert!(text(1, "hi").uuid(UUID).is_idempotent());
    let mut op = text(1, "hi");
    assert_eq!(op.idempotency_key(), Some(&mut None));
}

fn refusal(code: i64, msg: &str) -> ApiError {
    let response = http::Response::builder()
        .status(400)
        .body(bytes::Bytes::from(format!(
            r#"{{"code":{code},"msg":"{msg}"}}"#
        )))
        .unwrap();
    match parse_response(&CardOp::new(card(), 1, StreamText::new("a", "b")), response) {
        Err(lark_api::Error::Api(error)) => error,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[test]
fn cardkit_codes_have_kinds_and_the_ones_a_retry_cannot_help_are_terminal() {
    // Messages as the element-content page's error table gives them.
    let cases = [
        (
            300_317,
            "The sequence number for operating on the card did not increment consecutively",
            ErrorKind::Conflict,
            true,
        ),
        (
            200_740,
            "The card entity does not exist",
            ErrorKind::NotFound,
            true,
        ),
        (
            200_750,
            "The card entity has expired",
            ErrorKind::NotFound,
            true,
        ),
        (200_770, "UUID conflict", ErrorKind::Conflict, true),
        (
            200_810,
            "The card is in an ongoing interaction and cannot be updated",
            ErrorKind::Api,
            false,
        ),
        (200_850, "Card streaming timeout", ErrorKind::Conflict, true),
        (
            200_860,
            "Card content exceeds limit.",
            ErrorKind::InvalidContent,
            true,
        ),
        (
            300_301,
            "Duplicate element_id in card component.",
            ErrorKind::InvalidContent,
            true,
        ),
        (
            300_302,
            "update_multi property is false",
            ErrorKind::InvalidContent,
            true,
        ),
        (
            300_303,
            "Only schema 2.0 is supported",
            ErrorKind::InvalidContent,
            true,
        ),
        (
            300_305,
            "The number of card components exceeds 200",
            ErrorKind::InvalidContent,
            true,
        ),
        (300_309, "Card streaming closed", ErrorKind::Conflict, true),
        (
            300_311,
            "The current application does not have permission to update/use this card",
            ErrorKind::Permission,
            true,
        ),
        (300_120, "Server Internal Error", ErrorKind::Server, false),
    ];
    for (code, msg, kind, terminal) in cases {
        let error = refusal(code, msg);
        assert_eq!(error.kind(), kind, "{code}");
        assert_eq!(error.is_terminal(), terminal, "{code}");
        assert!(
            error.hint().is_some() || code == 300_120,
            "{code} has a hint"
        );
    }
    // 230099 with sub-code 11310: a card message over 200 components.
    let error = refusal(230_099, "Failed to create card content");
    assert_eq!(error.kind(), ErrorKind::InvalidContent);
    assert!(error.is_terminal());
}
