//! Every endpoint's built request — method, path, query, headers and JSON body — against what
//! the platform documents (docs/protocol.md §3.1 and §4.1). Bodies are compared as JSON values.

use lark_api::auth::{
    AppAccessToken, AppAccessTokenInternal, AppTicketResend, TenantAccessToken,
    TenantAccessTokenInternal,
};
use lark_api::im::chats::{ChatUpdate, CreateChat, DeleteChat, GetChat, ListChats, UpdateChat};
use lark_api::im::members::{AddMembers, IsInChat, ListMembers, RemoveMembers};
use lark_api::im::messages::{
    BatchSend, BatchTargets, EditMessage, ForwardMessage, GetMessage, GetMessageResource,
    ListMessages, MergeForward, PatchCard, RecallBatch, RecallMessage, ReplyMessage, SendMessage,
};
use lark_api::im::reactions::{AddReaction, DeleteReaction, ListReactions};
use lark_api::im::resources::{DownloadFile, DownloadImage, UploadFile, UploadImage};
use lark_api::{
    AccessToken, AppSecret, AppTicket, BaseUrl, Body, BuildError, Endpoint, Receiver, build_request,
};
use lark_content::card::{CardHeader, CardV1, Markdown};
use lark_content::{
    AppId, ChatId, Email, FileKey, ImageKey, MessageContent, MessageId, OpenId, Post, PostBody,
    PostElement, ReactionId, System, TenantKey, ThreadId, UnionId, UserId,
};
use serde_json::{Value, json};

struct Shape {
    method: String,
    path: String,
    query: Option<String>,
    request: http::Request<Body>,
}

impl Shape {
    fn json(&self) -> Value {
        match self.request.body() {
            Body::Json(bytes) => serde_json::from_slice(bytes).unwrap(),
            other => panic!("expected a JSON body, got {other:?}"),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
    }

    fn assert_empty_body(&self) {
        assert!(
            matches!(self.request.body(), Body::Empty),
            "expected no body"
        );
    }
}

fn token() -> AccessToken {
    AccessToken::new("t-caecc734c2e3328a62489fe0648c4b98779515d3")
}

fn shape<E: Endpoint>(endpoint: &E) -> Shape {
    let request = build_request(endpoint, &BaseUrl::feishu(), Some(&token())).unwrap();
    assert_eq!(request.uri().scheme_str(), Some("https"));
    assert_eq!(request.uri().host(), Some("open.feishu.cn"));
    if E::AUTH == lark_api::Auth::None {
        assert!(
            request.headers().get("authorization").is_none(),
            "token endpoints carry no token"
        );
    } else {
        assert_eq!(
            request.headers()["authorization"],
            "Bearer t-caecc734c2e3328a62489fe0648c4b98779515d3"
        );
        assert!(request.headers()["authorization"].is_sensitive());
    }
    if matches!(request.body(), Body::Json(_)) {
        assert_eq!(
            request.headers()["content-type"],
            "application/json; charset=utf-8"
        );
    }
    Shape {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        request,
    }
}

fn om() -> MessageId {
    MessageId::new("om_dc13264520392913993dd051dba21dcf")
}

fn oc() -> ChatId {
    ChatId::new("oc_5ad11d72b830411d72b836c20")
}

#[test]
fn send_puts_receive_id_type_in_the_query_and_content_as_a_string() {
    let s = shape(&SendMessage::new(
        Receiver::open(OpenId::new("ou_7d8a6e6df7621556ce0d21922b67670xxxx")),
        MessageContent::text("test content"),
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/im/v1/messages")
    );
    assert_eq!(s.query.as_deref(), Some("receive_id_type=open_id"));
    assert_eq!(
        s.json(),
        json!({"receive_id": "ou_7d8a6e6df7621556ce0d21922b67670xxxx", "content": "{\"text\":\"test content\"}", "msg_type": "text"})
    );
}

#[test]
fn send_takes_every_receiver_kind() {
    for (receiver, id_type) in [
        (Receiver::from(ChatId::new("oc_1")), "chat_id"),
        (Receiver::from(OpenId::new("ou_1")), "open_id"),
        (Receiver::from(UnionId::new("on_1")), "union_id"),
        (Receiver::from(UserId::new("e33ggbyz")), "user_id"),
        (Receiver::from(Email::new("tom@example.com")), "email"),
    ] {
        let id = receiver.id().to_owned();
        let s = shape(&SendMessage::new(receiver, MessageContent::text("x")).uuid("a-b-c"));
        assert_eq!(
            s.query.as_deref(),
            Some(format!("receive_id_type={id_type}").as_str())
        );
        assert_eq!(s.json()["receive_id"], id);
        assert_eq!(s.json()["uuid"], "a-b-c");
        assert!(
            s.json().get("receive_id_type").is_none(),
            "receive_id_type never goes in the body"
        );
    }
}

#[test]
fn send_post_has_no_post_wrapper() {
    let post = Post::zh_cn(PostBody::new("title").paragraph([PostElement::text("hi")]));
    let s = shape(&SendMessage::new(Receiver::chat(oc()), post));
    let content: Value = serde_json::from_str(s.json()["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        content,
        json!({"zh_cn": {"title": "title", "content": [[{"tag": "text", "text": "hi"}]]}})
    );
    assert_eq!(s.json()["msg_type"], "post");
}

#[test]
fn send_refuses_receive_only_types_and_oversized_content_before_sending() {
    let location = MessageContent::decode("location", r#"{"name":"x"}"#).unwrap();
    let err = build_request(
        &SendMessage::new(Receiver::chat(oc()), location),
        &BaseUrl::feishu(),
        Some(&token()),
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::UnsupportedType { .. }), "{err}");

    let huge = MessageContent::text("x".repeat(200 * 1024));
    let err = build_request(
        &SendMessage::new(Receiver::chat(oc()), huge),
        &BaseUrl::feishu(),
        Some(&token()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("150"), "{err}");

    let long_uuid =
        SendMessage::new(Receiver::chat(oc()), MessageContent::text("x")).uuid("u".repeat(51));
    let err = build_request(&long_uuid, &BaseUrl::feishu(), Some(&token())).unwrap_err();
    assert!(err.to_string().contains("uuid"), "{err}");
}

/// The send, reply and edit references say "文本消息请求体最大不能超过 150 KB" and "富文本消息请求体最大不能
/// 超过 30 KB": the request body is limited, and in it the content travels as an escaped JSON
/// string, so content under the limit can still make a body over it.
#[test]
fn the_size_check_measures_the_request_body_not_the_content() {
    // 60 Ki quotation marks: the content is about 120 KiB, each mark escaped once more in the
    // body makes it about 240 KiB.
    let quotes = MessageContent::text("\"".repeat(60 * 1024));
    let content_len = quotes.encode().len();
    assert!(content_len < 150 * 1024, "content is {content_len} bytes");
    quotes.validate().unwrap();
    for err in [
        build_request(
            &SendMessage::new(Receiver::chat(oc()), quotes.clone()),
            &BaseUrl::feishu(),
            Some(&token()),
        )
        .unwrap_err(),
        build_request(
            &ReplyMessage::new(om(), quotes.clone()),
            &BaseUrl::feishu(),
            Some(&token()),
        )
        .unwrap_err(),
        build_request(
            &EditMessage::new(om(), quotes.clone()),
            &BaseUrl::feishu(),
            Some(&token()),
        )
        .unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(
            text.contains("the request body") && text.contains("153600"),
            "{text}"
        );
    }

    // A post: content under 30 KiB, body over it.
    let post = MessageContent::from(Post::zh_cn(
        PostBody::new("t").paragraph([PostElement::text("\"".repeat(14 * 1024))]),
    ));
    assert!(post.encode().len() < 30 * 1024);
    post.validate().unwrap();
    let err = build_request(
        &SendMessage::new(Receiver::chat(oc()), post),
        &BaseUrl::feishu(),
        Some(&token()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("30720"), "{err}");

    // Just under the limit in the body is accepted.
    let fits = MessageContent::text("x".repeat(150 * 1024 - 200));
    build_request(
        &SendMessage::new(Receiver::chat(oc()), fits),
        &BaseUrl::feishu(),
        Some(&token()),
    )
    .unwrap();
}

#[test]
fn reply_carries_reply_in_thread_and_refuses_system_messages() {
    let s = shape(
        &ReplyMessage::new(om(), MessageContent::text("ok"))
            .in_thread()
            .uuid("r-1"),
    );
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "POST",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/reply"
        )
    );
    assert_eq!(s.query, None);
    assert_eq!(
        s.json(),
        json!({"content": "{\"text\":\"ok\"}", "msg_type": "text", "reply_in_thread": true, "uuid": "r-1"})
    );

    let system = MessageContent::from(System::divider("新会话", [], true));
    assert!(
        build_request(
            &ReplyMessage::new(om(), system),
            &BaseUrl::feishu(),
            Some(&token())
        )
        .is_err()
    );
}

#[test]
fn edit_is_a_put_of_text_or_post_only() {
    let s = shape(&EditMessage::new(
        om(),
        MessageContent::text("Updated message"),
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "PUT",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf"
        )
    );
    assert_eq!(
        s.json(),
        json!({"msg_type": "text", "content": "{\"text\":\"Updated message\"}"})
    );
    let image = MessageContent::image(ImageKey::new("img_1"));
    let err = build_request(
        &EditMessage::new(om(), image),
        &BaseUrl::feishu(),
        Some(&token()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("text and post"), "{err}");
}

#[test]
fn patch_card_sends_only_the_card_content() {
    let card = CardV1::builder()
        .update_multi(true)
        .header(CardHeader::new("t"))
        .element(Markdown::new("x"))
        .build();
    let s = shape(&PatchCard::new(om(), card));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "PATCH",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf"
        )
    );
    let body = s.json();
    assert_eq!(body.as_object().unwrap().len(), 1);
    let card: Value = serde_json::from_str(body["content"].as_str().unwrap()).unwrap();
    assert_eq!(card["config"]["update_multi"], true);
}

#[test]
fn recall_get_and_resources_have_their_documented_paths() {
    let s = shape(&RecallMessage::new(om()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "DELETE",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf"
        )
    );
    s.assert_empty_body();

    let s = shape(&GetMessage::new(om()).card_as_sent());
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "GET",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf"
        )
    );
    assert_eq!(
        s.query.as_deref(),
        Some("card_msg_content_type=user_card_content")
    );

    let s = shape(&GetMessageResource::image(
        om(),
        &ImageKey::new("img_v2_041b28e3"),
    ));
    assert_eq!(
        s.path,
        "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/resources/img_v2_041b28e3"
    );
    assert_eq!(s.query.as_deref(), Some("type=image"));
    let s = shape(&GetMessageResource::file(om(), FileKey::new("file_v2_1")));
    assert_eq!(s.query.as_deref(), Some("type=file"));
}

#[test]
fn ids_cannot_change_the_path() {
    let s = shape(&RecallMessage::new(MessageId::new("../chats/oc_1")));
    assert_eq!(s.path, "/open-apis/im/v1/messages/..%2Fchats%2Foc_1");
}

/// Percent-encoding leaves dots alone, so `.` and `..` would be path steps, and an empty id
/// would name the collection above it: each is refused before a request exists.
#[test]
fn empty_and_dot_only_ids_are_refused_before_a_request_is_built() {
    fn refused<E: Endpoint>(endpoint: &E, field: &str) {
        let err = build_request(endpoint, &BaseUrl::feishu(), Some(&token()))
            .expect_err("an id that changes the path is refused");
        assert!(
            matches!(&err, BuildError::InvalidParam { field: f, .. } if *f == field),
            "{}: {err}",
            E::PATH
        );
    }
    for bad in ["", ".", "..", "..."] {
        let message = || MessageId::new(bad);
        let chat = || ChatId::new(bad);
        refused(&RecallMessage::new(message()), "message_id");
        refused(&GetMessage::new(message()), "message_id");
        refused(
            &EditMessage::new(message(), MessageContent::text("x")),
            "message_id",
        );
        refused(
            &ReplyMessage::new(message(), MessageContent::text("x")),
            "message_id",
        );
        refused(
            &ForwardMessage::new(message(), Receiver::chat(oc())),
            "message_id",
        );
        refused(
            &GetMessageResource::file(om(), FileKey::new(bad)),
            "file_key",
        );
        refused(&AddReaction::new(message(), "SMILE"), "message_id");
        refused(&ListReactions::new(message()), "message_id");
        refused(
            &DeleteReaction::new(om(), ReactionId::new(bad)),
            "reaction_id",
        );
        refused(&DownloadImage::new(ImageKey::new(bad)), "image_key");
        refused(&DownloadFile::new(FileKey::new(bad)), "file_key");
        refused(&GetChat::new(chat()), "chat_id");
        refused(&DeleteChat::new(chat()), "chat_id");
        refused(&ListMembers::new(chat()), "chat_id");
        refused(&IsInChat::new(chat()), "chat_id");
        refused(&RecallBatch::new(bad), "batch_message_id");
    }
    // Dots inside an id are ordinary characters.
    let s = shape(&GetChat::new(ChatId::new("oc_a.b")));
    assert_eq!(s.path, "/open-apis/im/v1/chats/oc_a.b");
}

#[test]
fn history_lists_by_chat_or_thread_with_time_sort_and_page() {
    let s = shape(
        &ListMessages::new(oc())
            .between(Some(1_608_594_809), Some(1_609_296_809))
            .newest_first()
            .page_size(20),
    );
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("GET", "/open-apis/im/v1/messages")
    );
    assert_eq!(
        s.query.as_deref(),
        Some(
            "container_id_type=chat&container_id=oc_5ad11d72b830411d72b836c20&start_time=1608594809&end_time=1609296809&sort_type=ByCreateTimeDesc&page_size=20"
        )
    );
    let s = shape(&ListMessages::new(ThreadId::new("omt_d4be107c616a")));
    assert_eq!(
        s.query.as_deref(),
        Some("container_id_type=thread&container_id=omt_d4be107c616a")
    );

    for bad in [
        ListMessages::new(oc()).page_size(51),
        ListMessages::new(oc()).page_size(0),
        ListMessages::new(ThreadId::new("omt_1")).between(Some(1), None),
        ListMessages::new(oc()).between(Some(10), Some(5)),
    ] {
        assert!(
            build_request(&bad, &BaseUrl::feishu(), Some(&token())).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn forward_and_merge_forward_take_receive_id_type_and_uuid_in_the_query() {
    let forward = ForwardMessage::new(om(), Receiver::chat(oc())).uuid("f-1");
    let s = shape(&forward);
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "POST",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/forward"
        )
    );
    assert_eq!(s.query.as_deref(), Some("receive_id_type=chat_id&uuid=f-1"));
    assert_eq!(
        s.json(),
        json!({"receive_id": "oc_5ad11d72b830411d72b836c20"})
    );

    let s = shape(&MergeForward::new(
        Receiver::chat(oc()),
        [om(), MessageId::new("om_2")],
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/im/v1/messages/merge_forward")
    );
    assert_eq!(s.query.as_deref(), Some("receive_id_type=chat_id"));
    assert_eq!(
        s.json(),
        json!({"receive_id": "oc_5ad11d72b830411d72b836c20", "message_id_list": ["om_dc13264520392913993dd051dba21dcf", "om_2"]})
    );
}

#[test]
fn batch_send_uses_the_v4_object_content() {
    let s = shape(&BatchSend::new(
        BatchTargets::open_ids([OpenId::new("ou_1"), OpenId::new("ou_2")]),
        MessageContent::text("hi"),
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/message/v4/batch_send/")
    );
    assert_eq!(
        s.json(),
        json!({"open_ids": ["ou_1", "ou_2"], "msg_type": "text", "content": {"text": "hi"}})
    );

    let post = Post::zh_cn(PostBody::new("t"));
    let s = shape(&BatchSend::new(
        BatchTargets::open_ids([OpenId::new("ou_1")]),
        post,
    ));
    assert_eq!(
        s.json()["content"],
        json!({"post": {"zh_cn": {"title": "t", "content": []}}})
    );

    let s = shape(&RecallBatch::new("bm-dc13264520392913993dd051dba21dcf"));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "DELETE",
            "/open-apis/im/v1/batch_messages/bm-dc13264520392913993dd051dba21dcf"
        )
    );
}

#[test]
fn reactions_have_their_documented_shapes() {
    let s = shape(&AddReaction::new(om(), "SMILE"));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "POST",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/reactions"
        )
    );
    assert_eq!(s.json(), json!({"reaction_type": {"emoji_type": "SMILE"}}));

    let mut list = ListReactions::new(om()).emoji("SMILE");
    list.page_size = Some(50);
    let s = shape(&list);
    assert_eq!(s.method, "GET");
    assert_eq!(s.query.as_deref(), Some("reaction_type=SMILE&page_size=50"));

    let s = shape(&DeleteReaction::new(
        om(),
        ReactionId::new("ZCaCIjUBVVWSrm5L-3ZTw"),
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "DELETE",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/reactions/ZCaCIjUBVVWSrm5L-3ZTw"
        )
    );
}

#[test]
fn chats_have_their_documented_shapes() {
    let create = CreateChat::new("Project Team Chat")
        .description("Discussion for the new project")
        .users([
            OpenId::new("ou_84aad35d084aa403a838cf73ee18467"),
            OpenId::new("ou_84aad35d084aa403a838cf73ee18468"),
        ])
        .uuid("b13g2t38-1jd2-458b-8djf-dtbca5104204");
    let s = shape(&create);
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/im/v1/chats")
    );
    assert_eq!(
        s.query.as_deref(),
        Some("user_id_type=open_id&uuid=b13g2t38-1jd2-458b-8djf-dtbca5104204")
    );
    assert_eq!(
        s.json(),
        json!({
            "name": "Project Team Chat",
            "description": "Discussion for the new project",
            "user_id_list": ["ou_84aad35d084aa403a838cf73ee18467", "ou_84aad35d084aa403a838cf73ee18468"],
            "chat_mode": "group",
            "chat_type": "private"
        })
    );

    let s = shape(&GetChat::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("GET", "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20")
    );

    let s = shape(&UpdateChat::rename(oc(), "Updated Project Team Chat"));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("PUT", "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20")
    );
    assert_eq!(s.json(), json!({"name": "Updated Project Team Chat"}));
    assert!(
        build_request(
            &UpdateChat::new(oc(), ChatUpdate::default()),
            &BaseUrl::feishu(),
            Some(&token())
        )
        .is_err()
    );

    let s = shape(&DeleteChat::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "DELETE",
            "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20"
        )
    );

    let mut list = ListChats::new();
    list.page_size = Some(100);
    let s = shape(&list);
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_deref()),
        ("GET", "/open-apis/im/v1/chats", Some("page_size=100"))
    );
    list.page_size = Some(101);
    assert!(build_request(&list, &BaseUrl::feishu(), Some(&token())).is_err());

    let too_many = CreateChat::new("x").users((0..51).map(|i| OpenId::new(format!("ou_{i}"))));
    assert!(build_request(&too_many, &BaseUrl::feishu(), Some(&token())).is_err());
}

#[test]
fn members_have_their_documented_shapes() {
    let s = shape(&AddMembers::open_ids(
        oc(),
        [OpenId::new("ou_84aad35d084aa403a838cf73ee18469")],
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "POST",
            "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20/members"
        )
    );
    assert_eq!(s.query.as_deref(), Some("member_id_type=open_id"));
    assert_eq!(
        s.json(),
        json!({"id_list": ["ou_84aad35d084aa403a838cf73ee18469"]})
    );

    let s = shape(&AddMembers::bots(oc(), [AppId::new("cli_a3e157960e7294c")]));
    assert_eq!(s.query.as_deref(), Some("member_id_type=app_id"));

    let s = shape(&RemoveMembers::open_ids(
        oc(),
        [OpenId::new("ou_84aad35d084aa403a838cf73ee18469")],
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "DELETE",
            "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20/members"
        )
    );
    assert_eq!(
        s.json(),
        json!({"id_list": ["ou_84aad35d084aa403a838cf73ee18469"]})
    );

    let s = shape(&ListMembers::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "GET",
            "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20/members"
        )
    );

    let s = shape(&IsInChat::new(oc()));
    assert_eq!(
        s.path,
        "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20/members/is_in_chat"
    );

    assert!(
        build_request(
            &AddMembers::open_ids(oc(), []),
            &BaseUrl::feishu(),
            Some(&token())
        )
        .is_err()
    );
}

#[test]
fn uploads_are_multipart_and_downloads_are_gets() {
    let s = shape(&UploadImage::new("logo.png", vec![1, 2, 3]));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/im/v1/images")
    );
    assert!(
        s.header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=lark-rs-")
    );
    assert!(s.header("content-length").is_some());

    let s = shape(&UploadFile::new("report.pdf", vec![1]));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/im/v1/files")
    );

    let s = shape(&DownloadImage::new(ImageKey::new("img_v2_1")));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("GET", "/open-apis/im/v1/images/img_v2_1")
    );
    let s = shape(&DownloadFile::new(FileKey::new("file_v2_1")));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("GET", "/open-apis/im/v1/files/file_v2_1")
    );
    assert_eq!(
        s.header("content-type"),
        Some("application/json"),
        "asks for Content-Disposition"
    );
}

#[test]
fn token_endpoints_send_credentials_in_the_body_and_no_token() {
    let app_id = AppId::new("cli_slkdjalasdkjasd");
    let secret = AppSecret::new("dskLLdkasdjlasdKK");
    let s = shape(&TenantAccessTokenInternal::new(
        app_id.clone(),
        secret.clone(),
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/auth/v3/tenant_access_token/internal")
    );
    assert_eq!(
        s.json(),
        json!({"app_id": "cli_slkdjalasdkjasd", "app_secret": "dskLLdkasdjlasdKK"})
    );

    let s = shape(&AppAccessTokenInternal::new(app_id.clone(), secret.clone()));
    assert_eq!(s.path, "/open-apis/auth/v3/app_access_token/internal");

    let s = shape(&AppAccessToken::new(
        app_id.clone(),
        secret.clone(),
        AppTicket::new("ticket"),
    ));
    assert_eq!(s.path, "/open-apis/auth/v3/app_access_token");
    assert_eq!(
        s.json(),
        json!({"app_id": "cli_slkdjalasdkjasd", "app_secret": "dskLLdkasdjlasdKK", "app_ticket": "ticket"})
    );

    let s = shape(&TenantAccessToken::new(
        AccessToken::new("a-32bd"),
        TenantKey::new("73658811060f175d"),
    ));
    assert_eq!(s.path, "/open-apis/auth/v3/tenant_access_token");
    assert_eq!(
        s.json(),
        json!({"app_access_token": "a-32bd", "tenant_key": "73658811060f175d"})
    );

    let s = shape(&AppTicketResend::new(app_id, secret.clone()));
    assert_eq!(s.path, "/open-apis/auth/v3/app_ticket/resend");

    let empty = TenantAccessTokenInternal::new(AppId::new("cli_1"), AppSecret::new(""));
    let err = build_request(&empty, &BaseUrl::feishu(), None).unwrap_err();
    assert!(err.to_string().contains("app_secret"));
    assert!(
        !format!(
            "{:?}",
            TenantAccessTokenInternal::new(AppId::new("cli_1"), secret)
        )
        .contains("dskLL")
    );
}

#[test]
fn a_tenant_endpoint_without_a_token_is_refused() {
    let err = build_request(&RecallMessage::new(om()), &BaseUrl::feishu(), None).unwrap_err();
    assert!(matches!(err, BuildError::MissingToken { .. }), "{err}");
}

#[test]
fn any_base_url_works() {
    let base = BaseUrl::parse("http://127.0.0.1:18080/").unwrap();
    let request = build_request(&GetChat::new(oc()), &base, Some(&token())).unwrap();
    assert_eq!(
        request.uri(),
        "http://127.0.0.1:18080/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20"
    );
    let lark = build_request(&GetChat::new(oc()), &BaseUrl::lark(), Some(&token())).unwrap();
    assert_eq!(lark.uri().host(), Some("open.larksuite.com"));
}

#[test]
fn only_reads_and_writes_with_a_uuid_are_idempotent() {
    assert!(GetChat::new(oc()).is_idempotent());
    assert!(!SendMessage::new(Receiver::chat(oc()), MessageContent::text("x")).is_idempotent());
    assert!(
        SendMessage::new(Receiver::chat(oc()), MessageContent::text("x"))
            .uuid("u")
            .is_idempotent()
    );
    assert!(!RecallMessage::new(om()).is_idempotent());
    let mut send = SendMessage::new(Receiver::chat(oc()), MessageContent::text("x"));
    *send.idempotency_key().unwrap() = Some("filled".to_owned());
    assert!(send.is_idempotent());
    assert!(RecallMessage::new(om()).idempotency_key().is_none());
}

/// Pins, from the documentation of "Pin 消息", "移除 Pin 消息" and "获取群内 Pin 消息"
/// (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/pin/…).
#[test]
fn pins_have_their_documented_shapes() {
    use lark_api::im::pins::{ListPins, PinMessage, UnpinMessage};
    let s = shape(&PinMessage::new(om()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_deref()),
        ("POST", "/open-apis/im/v1/pins", None)
    );
    assert_eq!(
        s.json(),
        json!({"message_id": "om_dc13264520392913993dd051dba21dcf"})
    );

    let s = shape(&UnpinMessage::new(om()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "DELETE",
            "/open-apis/im/v1/pins/om_dc13264520392913993dd051dba21dcf"
        )
    );
    s.assert_empty_body();

    let s = shape(
        &ListPins::new(ChatId::new("oc_234jsi43d3ssi993d43545f"))
            .between(1_658_632_251_800, 1_658_731_646_425)
            .page_size(20),
    );
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("GET", "/open-apis/im/v1/pins")
    );
    assert_eq!(
        s.query.as_deref(),
        Some(
            "chat_id=oc_234jsi43d3ssi993d43545f&start_time=1658632251800&end_time=1658731646425&page_size=20"
        )
    );
    s.assert_empty_body();
    // A range that is empty, or a page too large, is refused before sending.
    for bad in [
        ListPins::new(oc()).between(2, 1),
        ListPins::new(oc()).page_size(51),
        ListPins::new(ChatId::new("")),
    ] {
        assert!(matches!(
            build_request(&bad, &BaseUrl::feishu(), Some(&token())),
            Err(BuildError::InvalidParam { .. })
        ));
    }
}

/// Read receipts, from "查询消息已读信息"
/// (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/message/read_users).
#[test]
fn read_users_has_its_documented_shape() {
    use lark_api::im::model::UserIdType;
    use lark_api::im::receipts::ReadUsers;
    let s = shape(&ReadUsers::new(om()).page_size(20));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "GET",
            "/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/read_users"
        )
    );
    assert_eq!(
        s.query.as_deref(),
        Some("user_id_type=open_id&page_size=20")
    );
    s.assert_empty_body();
    let s = shape(&ReadUsers::new(om()).user_id_type(UserIdType::UserId));
    assert_eq!(s.query.as_deref(), Some("user_id_type=user_id"));
    assert!(matches!(
        build_request(
            &ReadUsers::new(om()).page_size(101),
            &BaseUrl::feishu(),
            Some(&token())
        ),
        Err(BuildError::InvalidParam { .. })
    ));
}

/// Urgent messages, from "发送应用内加急", "发送短信加急" and "发送电话加急"
/// (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/message/urgent_app, …).
#[test]
fn urgent_messages_have_their_documented_shapes() {
    use lark_api::im::urgent::{ByPhone, BySms, InApp, Urgent};
    let users = ["ou_6yf8af6bgb9100449565764t3382b168"];
    let app = shape(&Urgent::<InApp>::new(om(), users));
    let sms = shape(&Urgent::<BySms>::new(om(), users));
    let phone = shape(&Urgent::<ByPhone>::new(om(), users));
    for (s, channel) in [
        (app, "urgent_app"),
        (sms, "urgent_sms"),
        (phone, "urgent_phone"),
    ] {
        assert_eq!(s.method, "PATCH");
        assert_eq!(
            s.path,
            format!("/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/{channel}")
        );
        assert_eq!(s.query.as_deref(), Some("user_id_type=open_id"));
        assert_eq!(
            s.json(),
            json!({"user_id_list": ["ou_6yf8af6bgb9100449565764t3382b168"]})
        );
    }
    assert!(!Urgent::<InApp>::new(om(), users).is_idempotent());
    assert!(matches!(
        build_request(
            &Urgent::<InApp>::new(om(), Vec::<String>::new()),
            &BaseUrl::feishu(),
            Some(&token())
        ),
        Err(BuildError::InvalidParam { .. })
    ));
}

/// Thread forwarding, from "转发话题"
/// (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/thread/forward).
#[test]
fn forward_thread_has_its_documented_shape() {
    use lark_api::im::threads::ForwardThread;
    let s = shape(
        &ForwardThread::new(ThreadId::new("omt_d4be107c616a"), Receiver::chat(oc()))
            .uuid("b13g2t38-1jd2-458b-8djf-dtbca5104204"),
    );
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/open-apis/im/v1/threads/omt_d4be107c616a/forward")
    );
    assert_eq!(
        s.query.as_deref(),
        Some("receive_id_type=chat_id&uuid=b13g2t38-1jd2-458b-8djf-dtbca5104204")
    );
    assert_eq!(
        s.json(),
        json!({"receive_id": "oc_5ad11d72b830411d72b836c20"})
    );
}

/// The bot's identity, from "获取机器人信息"
/// (open.feishu.cn/document/client-docs/bot-v3/obtain-bot-info).
#[test]
fn bot_info_has_its_documented_shape() {
    let s = shape(&lark_api::bot::GetBotInfo);
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_deref()),
        ("GET", "/open-apis/bot/v3/info", None)
    );
    s.assert_empty_body();
}

/// The delayed card update, from "延时更新消息卡片"
/// (open.feishu.cn/document/ukTMukTMukTM/uMDO1YjLzgTN24yM4UjN).
#[test]
fn delayed_card_update_has_its_documented_shape() {
    use lark_api::interactive::DelayedCardUpdate;
    let card = CardV1::builder()
        .header(CardHeader::new("done"))
        .element(Markdown::new("**approved**"))
        .build();
    let s = shape(&DelayedCardUpdate::new(
        "c-295ee57216a5dc9de90fefd0aadb4b1d7d337fc7",
        card.clone(),
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_deref()),
        ("POST", "/open-apis/interactive/v1/card/update", None)
    );
    let body = s.json();
    assert_eq!(body["token"], "c-295ee57216a5dc9de90fefd0aadb4b1d7d337fc7");
    assert_eq!(
        body["card"],
        serde_json::to_value(lark_content::Card::from(card)).unwrap()
    );
    let debug = format!(
        "{:?}",
        DelayedCardUpdate::new("c-secret", CardV1::builder().build())
    );
    assert!(!debug.contains("c-secret"), "{debug}");
}

/// A chat's announcement, managers, moderation, top notice, share link, search and joining,
/// from their pages under open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/
/// (chat-announcement, chat-managers, chat-moderation, chat-top_notice, chat/link,
/// chat/search, chat-members/me_join).
#[test]
fn chat_settings_have_their_documented_shapes() {
    use lark_api::im::chat_settings::{
        Add, ChangeManagers, GetAnnouncement, GetModeration, PatchAnnouncement, Remove,
        UpdateModeration,
    };
    let chat = "oc_5ad11d72b830411d72b836c20";
    let s = shape(&GetAnnouncement::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "GET",
            format!("/open-apis/im/v1/chats/{chat}/announcement").as_str()
        )
    );
    let s = shape(&PatchAnnouncement::new(
        oc(),
        "12",
        vec!["{\"requestType\":\"InsertBlocksRequestType\"}".to_owned()],
    ));
    assert_eq!(s.method, "PATCH");
    assert_eq!(
        s.json(),
        json!({"revision": "12", "requests": ["{\"requestType\":\"InsertBlocksRequestType\"}"]})
    );

    let s = shape(&ChangeManagers::<Add>::new(
        oc(),
        ["ou_7d8a6e6df7621556ce0d21922b676706ccs"],
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_deref()),
        (
            "POST",
            format!("/open-apis/im/v1/chats/{chat}/managers/add_managers").as_str(),
            Some("member_id_type=open_id")
        )
    );
    assert_eq!(
        s.json(),
        json!({"manager_ids": ["ou_7d8a6e6df7621556ce0d21922b676706ccs"]})
    );
    let s = shape(&ChangeManagers::<Remove>::new(oc(), ["ou_1"]));
    assert_eq!(
        s.path,
        format!("/open-apis/im/v1/chats/{chat}/managers/delete_managers")
    );

    let s = shape(&GetModeration::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "GET",
            format!("/open-apis/im/v1/chats/{chat}/moderation").as_str()
        )
    );
    let s = shape(&UpdateModeration::new(oc(), "moderator_list").moderators(["ou_1"], ["ou_2"]));
    assert_eq!(s.method, "PUT");
    assert_eq!(
        s.json(),
        json!({"moderation_setting": "moderator_list", "moderator_added_list": ["ou_1"], "moderator_removed_list": ["ou_2"]})
    );
}

#[test]
fn top_notices_links_search_and_joining_have_their_documented_shapes() {
    use lark_api::im::chat_settings::{
        DeleteTopNotice, JoinChat, PutTopNotice, SearchChats, ShareChat,
    };
    let chat = "oc_5ad11d72b830411d72b836c20";
    let s = shape(&PutTopNotice::message(oc(), om()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "POST",
            format!("/open-apis/im/v1/chats/{chat}/top_notice/put_top_notice").as_str()
        )
    );
    assert_eq!(
        s.json(),
        json!({"chat_top_notice": [{"action_type": "1", "message_id": "om_dc13264520392913993dd051dba21dcf"}]})
    );
    let s = shape(&PutTopNotice::announcement(oc()));
    assert_eq!(s.json(), json!({"chat_top_notice": [{"action_type": "2"}]}));
    let s = shape(&DeleteTopNotice::new(oc()));
    assert_eq!(
        s.path,
        format!("/open-apis/im/v1/chats/{chat}/top_notice/delete_top_notice")
    );

    let s = shape(&ShareChat::new(oc()).valid_for("week"));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "POST",
            format!("/open-apis/im/v1/chats/{chat}/link").as_str()
        )
    );
    assert_eq!(s.json(), json!({"validity_period": "week"}));

    let mut search = SearchChats::new("team");
    search.page_size = Some(20);
    let s = shape(&search);
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_deref()),
        (
            "GET",
            "/open-apis/im/v1/chats/search",
            Some("query=team&page_size=20")
        )
    );
    assert!(build_request(&SearchChats::new(" "), &BaseUrl::feishu(), Some(&token())).is_err());

    let s = shape(&JoinChat::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "PATCH",
            format!("/open-apis/im/v1/chats/{chat}/members/me_join").as_str()
        )
    );
    s.assert_empty_body();
}

/// Tabs and menus, from "群标签页" (chat-tab/…) and "群菜单" (chat-menu_tree/…,
/// chat-menu_item/patch) under open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/.
#[test]
fn tabs_and_menus_have_their_documented_shapes() {
    use lark_api::im::tabs_menus::{
        ChatTab, CreateMenu, CreateTabs, DeleteMenu, DeleteTabs, GetMenu, ListTabs, MenuItem,
        MenuTopLevel, MenuTree, PatchMenuItem, SortMenu, SortTabs, UpdateTabs,
    };
    let base = "/open-apis/im/v1/chats/oc_5ad11d72b830411d72b836c20";
    let tab = ChatTab::url("Docs", "https://www.feishu.cn");
    let s = shape(&CreateTabs::new(oc(), vec![tab.clone()]));
    assert_eq!(
        (s.method.as_str(), s.path.clone()),
        ("POST", format!("{base}/chat_tabs"))
    );
    assert_eq!(
        s.json(),
        json!({"chat_tabs": [{"tab_name": "Docs", "tab_type": "url", "tab_content": {"url": "https://www.feishu.cn"}}]})
    );
    let s = shape(&DeleteTabs::new(
        oc(),
        vec!["7101214603622940671".to_owned()],
    ));
    assert_eq!(
        (s.method.as_str(), s.path.clone()),
        ("DELETE", format!("{base}/chat_tabs/delete_tabs"))
    );
    assert_eq!(s.json(), json!({"tab_ids": ["7101214603622940671"]}));
    let s = shape(&SortTabs::new(oc(), vec!["1".to_owned(), "2".to_owned()]));
    assert_eq!(s.path, format!("{base}/chat_tabs/sort_tabs"));
    let s = shape(&UpdateTabs::new(oc(), vec![tab]));
    assert_eq!(s.path, format!("{base}/chat_tabs/update_tabs"));
    let s = shape(&ListTabs::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.clone()),
        ("GET", format!("{base}/chat_tabs/list_tabs"))
    );
    assert!(
        build_request(
            &SortTabs::new(oc(), Vec::new()),
            &BaseUrl::feishu(),
            Some(&token())
        )
        .is_err()
    );

    let tree = MenuTree::new(vec![MenuTopLevel::new(MenuItem::link(
        "Help",
        "https://www.feishu.cn",
    ))]);
    let s = shape(&CreateMenu::new(oc(), tree));
    assert_eq!(
        (s.method.as_str(), s.path.clone()),
        ("POST", format!("{base}/menu_tree"))
    );
    assert_eq!(
        s.json(),
        json!({"menu_tree": {"chat_menu_top_levels": [{"chat_menu_item": {
            "action_type": "REDIRECT_LINK",
            "redirect_link": {"common_url": "https://www.feishu.cn"},
            "name": "Help"
        }}]}})
    );
    let s = shape(&DeleteMenu::new(oc(), ["7156553273518882844"]));
    assert_eq!(
        (s.method.as_str(), s.path.clone()),
        ("DELETE", format!("{base}/menu_tree"))
    );
    assert_eq!(
        s.json(),
        json!({"chat_menu_top_level_ids": ["7156553273518882844"]})
    );
    let s = shape(&SortMenu::new(oc(), ["1", "2"]));
    assert_eq!(s.path, format!("{base}/menu_tree/sort"));
    let s = shape(&GetMenu::new(oc()));
    assert_eq!(
        (s.method.as_str(), s.path.clone()),
        ("GET", format!("{base}/menu_tree"))
    );
    let s = shape(&PatchMenuItem::new(
        oc(),
        "7156553273518882844",
        ["NAME"],
        MenuItem::link("Help!", "https://www.feishu.cn"),
    ));
    assert_eq!(
        (s.method.as_str(), s.path.clone()),
        ("PATCH", format!("{base}/menu_items/7156553273518882844"))
    );
    assert_eq!(s.json()["update_fields"], json!(["NAME"]));
}

/// Batch message progress and readers, from "查询批量消息整体进度" and "查询批量消息推送和阅读人数"
/// (open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/batch_message/…).
#[test]
fn batch_message_queries_have_their_documented_shapes() {
    use lark_api::im::messages::{GetBatchProgress, GetBatchReadCount};
    let s = shape(&GetBatchProgress::new(
        "bm-dc13264520392913993dd051dba21dcf",
    ));
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        (
            "GET",
            "/open-apis/im/v1/batch_messages/bm-dc13264520392913993dd051dba21dcf/get_progress"
        )
    );
    let s = shape(&GetBatchReadCount::new(
        "bm-dc13264520392913993dd051dba21dcf",
    ));
    assert_eq!(
        s.path,
        "/open-apis/im/v1/batch_messages/bm-dc13264520392913993dd051dba21dcf/read_user"
    );
    s.assert_empty_body();
}
