//! Parsing the platform's documented responses, success and error, into typed values.
//! The payloads, with their sources, are in `fixtures/responses.json`.

use bytes::Bytes;
use lark_api::auth::{
    AppAccessToken, AppAccessTokenInternal, AppTicketResend, TenantAccessToken,
    TenantAccessTokenInternal,
};
use lark_api::im::chats::{CreateChat, GetChat, ListChats};
use lark_api::im::members::{AddMembers, IsInChat, ListMembers, RemoveMembers};
use lark_api::im::messages::{EditMessage, GetMessage, ListMessages, RecallMessage, SendMessage};
use lark_api::im::model::{MemberIdType, Message, SenderType};
use lark_api::im::reactions::{AddReaction, ListReactions};
use lark_api::im::resources::{DownloadFile, UploadFile, UploadImage};
use lark_api::{
    AccessToken, AppSecret, AppTicket, Endpoint, Error, ErrorKind, IntoItems, Receiver,
    parse_response,
};
use lark_content::{AppId, ChatId, FileKey, MessageContent, MessageId, OpenId, Segment, TenantKey};
use serde_json::Value;
use std::time::Duration;

fn fixture(name: &str) -> http::Response<Bytes> {
    let all: Value = serde_json::from_str(include_str!("fixtures/responses.json")).unwrap();
    let entry = &all[name];
    assert!(entry.is_object(), "no fixture {name}");
    let mut builder =
        http::Response::builder().status(u16::try_from(entry["status"].as_u64().unwrap()).unwrap());
    for (key, value) in entry["headers"].as_object().unwrap() {
        builder = builder.header(key, value.as_str().unwrap());
    }
    let body = match entry["body_text"].as_str() {
        Some(text) => Bytes::from(text.to_owned()),
        None => Bytes::from(entry["body"].to_string()),
    };
    builder.body(body).unwrap()
}

fn om() -> MessageId {
    MessageId::new("om_dc13264520392913993dd051dba21dcf")
}

fn oc() -> ChatId {
    ChatId::new("oc_5ad11d72b830411d72b836c20")
}

#[test]
fn a_sent_message_reads_with_its_content() {
    let send = SendMessage::new(Receiver::chat(oc()), MessageContent::text("x"));
    let message = parse_response(&send, fixture("send_message")).unwrap();
    assert_eq!(message.message_id, om());
    assert_eq!(
        message.thread_id.as_ref().unwrap().as_str(),
        "omt_d4be107c616aed9c1da8ed8068570a9f"
    );
    assert_eq!(
        message.sender.as_ref().unwrap().sender_type,
        Some(SenderType::User)
    );
    assert_eq!(
        message.content().unwrap().unwrap(),
        MessageContent::text("Hello, this is a test message!")
    );
}

#[test]
fn a_sent_message_is_whole_when_read_and_owned() {
    let request = SendMessage::new(Receiver::chat(oc()), MessageContent::text("x"));
    let sent = parse_response(&request, fixture("send_message")).unwrap();
    let body: Value = serde_json::from_slice(fixture("send_message").body()).unwrap();
    let whole: Message = serde_json::from_value(body["data"].clone()).unwrap();
    let owned = sent.clone().into_message();
    assert_eq!(owned, whole);
    assert_eq!(*sent, whole);
    assert_eq!(
        owned.chat_id.as_ref().unwrap().as_str(),
        "oc_5ad11d72b830411d72b836c20"
    );
}

#[test]
fn a_sent_message_whose_echo_does_not_read_keeps_its_id() {
    // Sent (code 0), with an echo whose `mentions` is not a list: the send is not an error.
    let body = serde_json::json!({
        "code": 0,
        "msg": "success",
        "data": {"message_id": "om_dc13264520392913993dd051dba21dcf", "mentions": 7}
    });
    let response = http::Response::builder()
        .status(200)
        .body(Bytes::from(body.to_string()))
        .unwrap();
    let request = SendMessage::new(Receiver::chat(oc()), MessageContent::text("x"));
    let sent = parse_response(&request, response).unwrap();
    assert_eq!(sent.message_id, om());
    assert_eq!(sent.message().message_id, om());
    assert!(sent.chat_id.is_none());
}

#[test]
fn an_edited_message_resolves_its_rest_form_mentions() {
    let message = parse_response(
        &EditMessage::new(om(), MessageContent::text("x")),
        fixture("edit_message"),
    )
    .unwrap();
    assert!(message.updated);
    assert_eq!(
        message.sender.as_ref().unwrap().sender_type,
        Some(SenderType::App)
    );
    let MessageContent::Text(text) = message.content().unwrap().unwrap() else {
        panic!()
    };
    let segments: Vec<_> = text.segments(&message.mentions).collect();
    assert!(matches!(segments[0], Segment::Mention(m) if m.name == "Tom"
        && m.id.open_id == Some(OpenId::new("ou_155184d1e73cbfb8973e5a9e698e74f2"))));
    assert_eq!(
        message.upper_message_id.unwrap().as_str(),
        "om_40eb06e7b84dc71c03e00ida3c754892"
    );
}

#[test]
fn get_returns_the_items() {
    let items = parse_response(&GetMessage::new(om()), fixture("get_message")).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].create_time_ms(), Some(1_615_380_573_411));
}

#[test]
fn history_pages_split_into_items_and_the_next_token() {
    let list = ListMessages::new(oc());
    let page = parse_response(&list, fixture("list_messages")).unwrap();
    let (items, next) = page.into_items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].msg_type, "interactive");
    assert!(next.unwrap().starts_with("GxmvlNRvP0Nd"));
}

#[test]
fn a_recalled_message_in_a_history_page_reads_as_recalled_not_as_a_decode_error() {
    let page = parse_response(&ListMessages::new(oc()), fixture("list_messages_recalled")).unwrap();
    let (items, next) = page.into_items();
    assert!(next.is_none());
    assert!(items[0].is_recalled());
    assert!(
        items[0].content().is_none(),
        "the placeholder sentence is not content"
    );
}

#[test]
fn reactions_read_and_an_empty_token_ends_the_list() {
    let reaction =
        parse_response(&AddReaction::new(om(), "SMILE"), fixture("add_reaction")).unwrap();
    assert_eq!(reaction.reaction_type.emoji_type, "SMILE");
    assert_eq!(reaction.operator.unwrap().operator_type, "user");
    let page = parse_response(&ListReactions::new(om()), fixture("list_reactions")).unwrap();
    let (items, next) = page.into_items();
    assert_eq!((items.len(), next), (1, None));
}

#[test]
fn chats_read_with_every_setting_kept() {
    let chat = parse_response(&GetChat::new(oc()), fixture("get_chat")).unwrap();
    assert_eq!(chat.name.as_deref(), Some("测试群名称"));
    assert_eq!(chat.i18n_names.unwrap()["en_us"], "group chat");
    assert_eq!(chat.user_count.as_deref(), Some("1"));
    assert_eq!(chat.other["add_member_permission"], "all_members");
    assert_eq!(chat.other["restricted_mode_setting"]["status"], false);

    let created = parse_response(
        &CreateChat::new("Project Team Chat"),
        fixture("create_chat"),
    )
    .unwrap();
    assert_eq!(created.chat_id.unwrap(), oc());

    let page = parse_response(&ListChats::new(), fixture("list_chats")).unwrap();
    assert_eq!(
        page.items[0].chat_id.as_str(),
        "oc_a0553eda9014c201e6969b478895c230"
    );
    assert_eq!(page.next_token(), None, "has_more is false");
}

#[test]
fn members_read() {
    let added = parse_response(
        &AddMembers::open_ids(oc(), [OpenId::new("ou_1")]),
        fixture("add_members"),
    )
    .unwrap();
    assert_eq!(added.pending_approval_id_list, ["4d7a3c6g"]);
    let removed = parse_response(
        &RemoveMembers::open_ids(oc(), [OpenId::new("ou_1")]),
        fixture("remove_members"),
    )
    .unwrap();
    assert_eq!(removed.invalid_id_list, ["4d7a3c6g"]);
    let page = parse_response(&ListMembers::new(oc()), fixture("list_members")).unwrap();
    assert_eq!(page.member_total, Some(2));
    assert_eq!(page.items[0].member_id_type, Some(MemberIdType::OpenId));
    let (_, next) = page.into_items();
    assert!(next.is_some());
    assert!(parse_response(&IsInChat::new(oc()), fixture("is_in_chat")).unwrap());
}

#[test]
fn uploads_return_their_keys_and_actions_return_nothing() {
    let image =
        parse_response(&UploadImage::new("a.png", vec![1]), fixture("upload_image")).unwrap();
    assert_eq!(
        image.as_str(),
        "img_v2_041b28e3-aa4f-4e3b-9f3c-02b9c1e3e4f5"
    );
    let file = parse_response(&UploadFile::new("a.pdf", vec![1]), fixture("upload_file")).unwrap();
    assert_eq!(
        file.as_str(),
        "file_v2_041b28e3-aa4f-4e3b-9f3c-02b9c1e3e4f5"
    );
    parse_response(&RecallMessage::new(om()), fixture("recall")).unwrap();
}

#[test]
fn token_responses_are_top_level() {
    let app = AppId::new("cli_1");
    let secret = AppSecret::new("s");
    let tenant = parse_response(
        &TenantAccessTokenInternal::new(app.clone(), secret.clone()),
        fixture("tenant_token_internal"),
    )
    .unwrap();
    assert_eq!(
        tenant.tenant_access_token.expose(),
        "t-caecc734c2e3328a62489fe0648c4b98779515d3"
    );
    assert_eq!(tenant.expires_in(), Duration::from_secs(7200));
    let app_token = parse_response(
        &AppAccessTokenInternal::new(app.clone(), secret.clone()),
        fixture("app_token_internal"),
    )
    .unwrap();
    assert!(app_token.tenant_access_token.is_some());
    let market = parse_response(
        &AppAccessToken::new(app.clone(), secret.clone(), AppTicket::new("t")),
        fixture("app_token_marketplace"),
    )
    .unwrap();
    assert_eq!(
        (market.app_access_token.expose(), market.expire),
        ("a-6U1SbDiM6XIH2DcTCPyeub", 7140)
    );
    let tenant = parse_response(
        &TenantAccessToken::new(AccessToken::new("a-1"), TenantKey::new("k")),
        fixture("tenant_token_marketplace"),
    )
    .unwrap();
    assert_eq!(tenant.expire, 7140);
    parse_response(
        &AppTicketResend::new(app, secret),
        fixture("app_ticket_resend"),
    )
    .unwrap();
}

fn error_of<E: Endpoint>(endpoint: &E, name: &str) -> lark_api::ApiError {
    match parse_response(endpoint, fixture(name)) {
        Err(Error::Api(api)) => api,
        Err(other) => panic!("{name}: expected an API error, got {other:?}"),
        Ok(_) => panic!("{name}: expected an API error, got a success"),
    }
}

#[test]
fn the_generic_error_shape_keeps_every_detail() {
    let err = error_of(&RecallMessage::new(om()), "error_generic");
    assert_eq!(err.code, 44004);
    assert_eq!(err.status, 400);
    assert_eq!(err.log_id.as_deref(), Some("xxx"), "`logid` is accepted");
    let detail = err.detail.as_ref().unwrap();
    assert_eq!(detail.field_violations[0].field.as_deref(), Some("para_a"));
    assert_eq!(detail.helps.len(), 1);
    assert!(
        detail
            .troubleshooter
            .as_deref()
            .unwrap()
            .contains("log_id=XXXX")
    );
    assert_eq!(err.missing_scopes(), ["lark.im.xxx"]);
    assert_eq!(err.kind(), ErrorKind::Api);
}

#[test]
fn card_errors_are_invalid_content_with_the_header_log_id() {
    let err = error_of(
        &SendMessage::new(Receiver::chat(oc()), MessageContent::text("x")),
        "error_card",
    );
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert_eq!(
        err.log_id.as_deref(),
        Some("202409131613579778D691D6E05516DE2D")
    );
    assert!(
        err.to_string()
            .contains("[log_id 202409131613579778D691D6E05516DE2D]"),
        "{err}"
    );
}

#[test]
fn a_missing_scope_names_the_scopes() {
    let err = error_of(&RecallMessage::new(om()), "error_scope");
    assert_eq!(err.kind(), ErrorKind::Permission);
    assert_eq!(err.missing_scopes(), ["contact:user.employee_id:readonly"]);
    assert_eq!(
        err.log_id.as_deref(),
        Some("202502271443593BB72D35D902E18D1343")
    );
    let message = err.to_string();
    assert!(
        message.contains("missing scopes: contact:user.employee_id:readonly"),
        "{message}"
    );
    assert!(message.contains("grant the missing scopes"), "{message}");
}

#[test]
fn a_rate_limit_carries_its_reset() {
    let err = error_of(&RecallMessage::new(om()), "error_rate_limit");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(err.rate_limit.unwrap().limit, Some(50));
    assert_eq!(err.log_id.as_deref(), Some("20241001000000ratelimit"));
}

#[test]
fn token_and_not_found_errors_are_classified() {
    assert_eq!(
        error_of(&RecallMessage::new(om()), "error_token").kind(),
        ErrorKind::TokenInvalid
    );
    assert_eq!(
        error_of(&RecallMessage::new(om()), "error_deleted").kind(),
        ErrorKind::NotFound
    );
    let not_in_chat = error_of(&RecallMessage::new(om()), "error_bot_not_in_chat");
    assert_eq!(not_in_chat.kind(), ErrorKind::Api);
    assert!(
        not_in_chat.to_string().contains("add the bot to the chat"),
        "{not_in_chat}"
    );
}

#[test]
fn an_unreadable_success_keeps_the_raw_body() {
    let response = http::Response::builder()
        .status(200)
        .header("x-tt-logid", "20240101abc")
        .body(Bytes::from_static(
            b"{\"code\":0,\"data\":{\"message_id\":17}}",
        ))
        .unwrap();
    let err = SendMessage::new(Receiver::chat(oc()), MessageContent::text("x"))
        .parse(response)
        .map(drop);
    let Err(Error::Decode(decode)) = err else {
        panic!("expected a decode error, got {err:?}")
    };
    assert!(decode.body.contains("\"message_id\":17"));
    assert_eq!(decode.log_id.as_deref(), Some("20240101abc"));
    assert!(decode.to_string().contains("[log_id 20240101abc]"));
}

#[test]
fn a_non_json_failure_becomes_an_error_with_its_status() {
    let response = http::Response::builder()
        .status(502)
        .body(Bytes::from_static(b"<html>Bad Gateway</html>"))
        .unwrap();
    let err = RecallMessage::new(om()).parse(response).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.to_string().contains("HTTP 502"), "{err}");
}

#[test]
fn a_download_is_the_body_when_the_answer_is_200() {
    let download = DownloadFile::new(FileKey::new("file_v2_1"));
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/pdf")
        .header("content-disposition", "attachment; filename=\"report.pdf\"")
        .body(Bytes::from_static(b"%PDF-1.7"))
        .unwrap();
    let file = download.parse(response).unwrap();
    assert_eq!(file.bytes.as_ref(), b"%PDF-1.7");
    assert_eq!(file.file_name.as_deref(), Some("report.pdf"));
    assert_eq!(file.content_type.as_deref(), Some("application/pdf"));

    let error = http::Response::builder()
        .status(400)
        .header("content-type", "application/json; charset=utf-8")
        .body(Bytes::from_static(
            br#"{"code":234043,"msg":"unsupported resource"}"#,
        ))
        .unwrap();
    let err = download.parse(error).unwrap_err();
    assert_eq!(err.as_api().unwrap().code, 234_043);

    // A user's .json attachment is served as JSON: with a 200 it is the file all the same
    // (the official Go SDK reads any 200 as the file: core/httptransport.go).
    let attachment = http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Bytes::from_static(br#"{"code":1,"msg":"a user's data"}"#))
        .unwrap();
    let file = download.parse(attachment).unwrap();
    assert_eq!(file.bytes.as_ref(), br#"{"code":1,"msg":"a user's data"}"#);
}

#[test]
fn a_raw_utf8_file_name_is_kept() {
    // The platform writes CJK names as raw UTF-8 in Content-Disposition, without filename*
    // (reports: github.com/larksuite/openclaw-lark/issues/364, larksuite/cli/issues/2648).
    let response = http::Response::builder()
        .status(200)
        .header(
            "content-disposition",
            http::HeaderValue::from_bytes("attachment; filename=\"第四课_说明.pdf\"".as_bytes())
                .unwrap(),
        )
        .body(Bytes::from_static(b"%PDF"))
        .unwrap();
    let file = DownloadFile::new(FileKey::new("file_v2_1"))
        .parse(response)
        .unwrap();
    assert_eq!(file.file_name.as_deref(), Some("第四课_说明.pdf"));
}

#[test]
fn a_wrong_secret_and_a_disabled_app_are_credential_errors_with_one_hint() {
    for name in ["error_wrong_secret", "error_app_unavailable"] {
        let err = error_of(
            &TenantAccessTokenInternal::new(
                AppId::new("cli_9f5343c580712544"),
                AppSecret::new("wrong"),
            ),
            name,
        );
        assert_eq!(err.kind(), ErrorKind::Credentials, "{name}");
        let text = err.to_string();
        assert!(
            text.contains("current secret") && text.contains("enabled"),
            "the hint covers both causes: {text}"
        );
        assert!(err.is_terminal());
    }
}

#[test]
fn an_invalid_receive_id_is_not_found() {
    let err = error_of(
        &SendMessage::new(Receiver::chat(oc()), MessageContent::text("x")),
        "error_invalid_receive_id",
    );
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn codes_that_mean_two_things_get_the_hint_of_the_call_that_failed() {
    let reply = lark_api::im::messages::ReplyMessage::new(om(), MessageContent::text("x"));
    let edit = EditMessage::new(om(), MessageContent::text("x"));
    let send = SendMessage::new(Receiver::chat(oc()), MessageContent::text("x"));
    let hint = |err: lark_api::ApiError| err.hint().unwrap().to_owned();
    assert!(
        hint(error_of(&reply, "error_reply_in_thread_unsupported"))
            .contains("reply without reply_in_thread")
    );
    assert!(hint(error_of(&reply, "error_reply_aggregated")).contains("merge-forwarded"));
    assert!(hint(error_of(&edit, "error_edit_not_sender")).contains("own messages"));
    assert!(hint(error_of(&edit, "error_edit_limit")).contains("20 times"));
    assert!(hint(error_of(&send, "error_send_type_unavailable")).contains("connected"));
    assert!(hint(error_of(&reply, "error_reply_type_unsupported")).contains("does not apply"));
}

#[test]
fn a_message_too_old_to_update_is_terminal() {
    let err = error_of(
        &EditMessage::new(om(), MessageContent::text("x")),
        "error_too_old_to_update",
    );
    assert!(err.is_terminal());
    assert!(err.hint().unwrap().contains("14 days"));
}

#[test]
fn a_404_without_the_platforms_json_is_a_wrong_base_url_not_a_missing_thing() {
    for name in ["error_404_empty", "error_404_html"] {
        let err = error_of(&GetMessage::new(om()), name);
        assert_eq!(err.kind(), ErrorKind::WrongBaseUrl, "{name}");
        assert!(err.to_string().contains("check the base url"), "{err}");
    }
    let platform = error_of(&RecallMessage::new(om()), "error_deleted");
    assert_ne!(platform.kind(), ErrorKind::WrongBaseUrl);
}

/// Every level of an error chain, with the texts of the levels below it.
fn assert_each_cause_printed_once(err: &(dyn std::error::Error + 'static)) {
    let mut level = err;
    while let Some(next) = level.source() {
        let (outer, inner) = (level.to_string(), next.to_string());
        assert!(
            !outer.contains(&inner),
            "{outer:?} repeats its source {inner:?}: anyhow would print it twice"
        );
        level = next;
    }
}

#[test]
fn error_chains_print_each_cause_once() {
    let decode = parse_response(&GetMessage::new(om()), {
        http::Response::builder()
            .status(200)
            .body(Bytes::from_static(b"{\"code\":0,\"data\":{\"items\":7}}"))
            .unwrap()
    })
    .unwrap_err();
    assert!(matches!(decode, Error::Decode(_)));
    assert_each_cause_printed_once(&decode);
    let build = lark_api::build_request(
        &SendMessage::new(
            Receiver::chat(oc()),
            MessageContent::text("x".repeat(200 * 1024)),
        ),
        &lark_api::BaseUrl::feishu(),
        Some(&AccessToken::new("t-x")),
    )
    .unwrap_err();
    assert_each_cause_printed_once(&build);
}

#[test]
fn the_bot_info_is_read_from_the_top_level() {
    let bot = parse_response(&lark_api::bot::GetBotInfo, fixture("bot_info")).unwrap();
    assert_eq!(bot.open_id.as_str(), "ou_e6e14f667cfe239d7b129b521dce0569");
    assert_eq!(bot.app_name, "name");
    assert_eq!(bot.activate_status, Some(2));
    assert!(bot.ip_white_list.is_empty());
}

#[test]
fn a_pin_reads_as_documented() {
    let pin = parse_response(&lark_api::im::pins::PinMessage::new(om()), fixture("pin")).unwrap();
    assert_eq!(pin.message_id, om());
    assert_eq!(pin.operator_id_type.as_deref(), Some("open_id"));
    assert_eq!(pin.create_time.as_deref(), Some("1615380573211"));
}
