//! Every `lark-api` endpoint through the executor, over loopback HTTP against the emulator.

mod common;

use common::Setup;
use futures_util::StreamExt;
use lark_api::auth::{
    AppAccessToken, AppAccessTokenInternal, AppTicketResend, TenantAccessToken,
    TenantAccessTokenInternal,
};
use lark_api::im::chats::{CreateChat, DeleteChat, GetChat, ListChats, UpdateChat};
use lark_api::im::members::{AddMembers, IsInChat, ListMembers, RemoveMembers};
use lark_api::im::messages::{
    BatchSend, BatchTargets, EditMessage, ForwardMessage, GetMessage, GetMessageResource,
    ListMessages, MergeForward, PatchCard, RecallBatch, RecallMessage, ReplyMessage, SendMessage,
};
use lark_api::im::reactions::{AddReaction, DeleteReaction, ListReactions};
use lark_api::im::resources::{DownloadFile, DownloadImage, UploadFile, UploadImage};
use lark_api::{AppSecret, AppTicket, Receiver};
use lark_content::card::{CardHeader, CardV2, Markdown};
use lark_content::{AppId, ChatId, FileKey, ImageKey, MessageContent, MessageId, TenantKey};
use lark_emulator::{AppConfig, EmulatorConfig};
use lark_http::ErrorKind;
use std::time::Duration;

const PNG: &[u8] = include_bytes!("fixtures/gradient.png");

#[tokio::test]
async fn self_built_token_endpoints() {
    let setup = Setup::new().await;
    let app_id = AppId::new(setup.emulator.app_id());
    let secret = AppSecret::new(setup.emulator.app_secret());
    let tenant = setup
        .client
        .execute(TenantAccessTokenInternal::new(
            app_id.clone(),
            secret.clone(),
        ))
        .await
        .unwrap();
    assert!(tenant.tenant_access_token.expose().starts_with("t-"));
    assert_eq!(tenant.expires_in(), Duration::from_secs(7200));
    let app = setup
        .client
        .execute(AppAccessTokenInternal::new(app_id.clone(), secret))
        .await
        .unwrap();
    assert!(!app.app_access_token.expose().is_empty());

    let wrong = setup
        .client
        .execute(TenantAccessTokenInternal::new(
            app_id,
            AppSecret::new("not-the-secret"),
        ))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some(10_015), "{wrong}");
    assert!(wrong.log_id().is_some());
    assert!(!wrong.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn marketplace_tokens_flow_through_the_app_ticket() {
    let mut config = EmulatorConfig::default();
    let mut isv = AppConfig::new("cli_a5fb0ae6a4000001", "isv-secret");
    isv.marketplace = true;
    isv.tenant_key = "2df73991750abcde".to_owned();
    config.apps.push(isv);
    let setup = Setup::with(config).await;
    let emulator = &setup.emulator;
    let client = lark_http::Client::builder()
        .app("cli_a5fb0ae6a4000001", "isv-secret")
        .marketplace(TenantKey::new("2df73991750abcde"))
        .base_url(common::base_url(emulator))
        .build()
        .unwrap();

    // No ticket yet: the client asks the platform to push one and says what to do.
    let first = client.tenant_token().await.unwrap_err();
    assert_eq!(first.kind(), ErrorKind::NotReady);
    assert!(first.to_string().contains("set_app_ticket"), "{first}");
    assert!(
        emulator
            .wait_until(Duration::from_secs(60), |e| !e.emitted_events().is_empty())
            .await
    );
    let pushed = emulator.emitted_events().pop().unwrap();
    assert_eq!(pushed.event_type, "app_ticket");
    let ticket = AppTicket::new(pushed.payload["event"]["app_ticket"].as_str().unwrap());

    client.set_app_ticket(ticket.clone()).await.unwrap();
    let token = client.tenant_token().await.unwrap();
    assert!(token.expose().starts_with("t-"));
    let chats = client.execute(ListChats::new()).await.unwrap();
    assert!(chats.items.is_empty(), "the marketplace bot is in no chat");

    // The endpoints themselves, called directly.
    let app_id = AppId::new("cli_a5fb0ae6a4000001");
    let secret = AppSecret::new("isv-secret");
    let app = client
        .execute(AppAccessToken::new(app_id.clone(), secret.clone(), ticket))
        .await
        .unwrap();
    let tenant = client
        .execute(TenantAccessToken::new(
            app.app_access_token,
            TenantKey::new("2df73991750abcde"),
        ))
        .await
        .unwrap();
    assert!(tenant.tenant_access_token.expose().starts_with("t-"));
    let stale = client
        .execute(AppAccessToken::new(
            app_id.clone(),
            secret.clone(),
            AppTicket::new("stale"),
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some(10_012));
    client
        .execute(AppTicketResend::new(app_id, secret))
        .await
        .unwrap();
}

#[tokio::test]
async fn messages_send_reply_edit_and_patch() {
    let setup = Setup::new().await;
    let client = &setup.client;
    let chat = setup.chat();

    let sent = client
        .execute(SendMessage::new(
            Receiver::chat(chat.clone()),
            MessageContent::text("hello"),
        ))
        .await
        .unwrap();
    assert_eq!(sent.msg_type, "text");
    assert_eq!(sent.chat_id.as_ref(), Some(&chat));
    assert_eq!(setup.texts_in(&chat), ["hello"]);

    let to_tom = client
        .execute(SendMessage::new(
            Receiver::open(setup.user("Tom")),
            MessageContent::text("hi Tom"),
        ))
        .await
        .unwrap();
    assert_ne!(to_tom.chat_id.as_ref(), Some(&chat), "a p2p chat");

    let reply = client
        .execute(ReplyMessage::new(
            sent.message_id.clone(),
            MessageContent::text("a reply"),
        ))
        .await
        .unwrap();
    assert_eq!(reply.parent_id.as_ref(), Some(&sent.message_id));
    let threaded = client
        .execute(
            ReplyMessage::new(sent.message_id.clone(), MessageContent::text("in thread"))
                .in_thread(),
        )
        .await
        .unwrap();
    assert!(threaded.thread_id.is_some());

    let edited = client
        .execute(EditMessage::new(
            sent.message_id.clone(),
            MessageContent::text("hello, edited"),
        ))
        .await
        .unwrap();
    assert_eq!(edited.message_id, sent.message_id);
    assert_eq!(setup.texts_in(&chat)[0], "hello, edited");

    let card = CardV2::builder()
        .header(CardHeader::new("Build"))
        .element(Markdown::new("**running**"))
        .build();
    let card_message = client
        .execute(SendMessage::new(
            Receiver::chat(chat.clone()),
            MessageContent::card(card),
        ))
        .await
        .unwrap();
    let done = CardV2::builder()
        .header(CardHeader::new("Build"))
        .element(Markdown::new("**passed**"))
        .build();
    client
        .execute(PatchCard::new(card_message.message_id.clone(), done))
        .await
        .unwrap();
    let stored = setup.stored(&card_message.message_id);
    assert!(
        stored["body"]["content"]
            .as_str()
            .unwrap()
            .contains("passed"),
        "{stored}"
    );
}

#[tokio::test]
async fn messages_get_forward_merge_and_recall() {
    let setup = Setup::new().await;
    let client = &setup.client;
    let chat = setup.chat();
    let sent = client
        .execute(SendMessage::new(
            Receiver::chat(chat.clone()),
            MessageContent::text("hello, edited"),
        ))
        .await
        .unwrap();
    let reply = client
        .execute(ReplyMessage::new(
            sent.message_id.clone(),
            MessageContent::text("a reply"),
        ))
        .await
        .unwrap();

    let fetched = client
        .execute(GetMessage::new(sent.message_id.clone()))
        .await
        .unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(
        fetched[0].content().unwrap().unwrap(),
        MessageContent::text("hello, edited")
    );

    let forwarded = client
        .execute(ForwardMessage::new(
            sent.message_id.clone(),
            Receiver::open(setup.user("Alice")),
        ))
        .await
        .unwrap();
    assert_eq!(forwarded.msg_type, "text");
    let merged = client
        .execute(MergeForward::new(
            Receiver::open(setup.user("Alice")),
            [sent.message_id.clone(), reply.message_id.clone()],
        ))
        .await
        .unwrap();
    assert_eq!(merged.message.msg_type, "merge_forward");
    assert!(merged.invalid_message_id_list.is_empty());

    client
        .execute(RecallMessage::new(reply.message_id.clone()))
        .await
        .unwrap();
    assert_eq!(setup.stored(&reply.message_id)["deleted"], true);
    let gone = client
        .execute(RecallMessage::new(reply.message_id.clone()))
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
}

#[tokio::test]
async fn history_pages_lazily_as_items_and_as_pages() {
    let setup = Setup::new().await;
    let client = &setup.client;
    let chat = setup.chat();
    for i in 0..7 {
        client
            .execute(SendMessage::new(
                Receiver::chat(chat.clone()),
                MessageContent::text(format!("m{i}")),
            ))
            .await
            .unwrap();
    }
    let before = setup.emulator.requests().len();
    let mut items = client.items(ListMessages::new(chat.clone()).page_size(3));
    let first = items.next().await.unwrap().unwrap();
    assert_eq!(
        first.content().unwrap().unwrap(),
        MessageContent::text("m0")
    );
    assert_eq!(
        setup.emulator.requests().len(),
        before + 1,
        "one page fetched for the first item"
    );
    let rest: Vec<_> = items.map(|item| item.unwrap()).collect().await;
    assert_eq!(rest.len(), 6);
    assert_eq!(
        setup.emulator.requests().len(),
        before + 3,
        "three pages of three"
    );

    let pages: Vec<_> = client
        .pages(ListMessages::new(chat.clone()).page_size(3).newest_first())
        .collect()
        .await;
    let sizes: Vec<_> = pages.into_iter().map(|page| page.unwrap().len()).collect();
    assert_eq!(sizes, [3, 3, 1]);

    // An error ends the stream after it is yielded.
    let mut missing = client.items(ListMessages::new(ChatId::new(
        "oc_00000000000000000000000000000000",
    )));
    let err = missing.next().await.unwrap().unwrap_err();
    assert!(err.code().is_some() && err.log_id().is_some(), "{err}");
    assert!(missing.next().await.is_none());
}

#[tokio::test]
async fn reactions_add_list_and_delete() {
    let setup = Setup::new().await;
    let client = &setup.client;
    let sent = client
        .execute(SendMessage::new(
            Receiver::chat(setup.chat()),
            MessageContent::text("react"),
        ))
        .await
        .unwrap();
    let thumbs = client
        .execute(AddReaction::new(sent.message_id.clone(), "THUMBSUP"))
        .await
        .unwrap();
    client
        .execute(AddReaction::new(sent.message_id.clone(), "SMILE"))
        .await
        .unwrap();
    let listed = client
        .execute(ListReactions::new(sent.message_id.clone()))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    let only_thumbs: Vec<_> = client
        .items(ListReactions::new(sent.message_id.clone()).emoji("THUMBSUP"))
        .map(|r| r.unwrap().reaction_type.emoji_type)
        .collect()
        .await;
    assert_eq!(only_thumbs, ["THUMBSUP"]);
    let deleted = client
        .execute(DeleteReaction::new(
            sent.message_id.clone(),
            thumbs.reaction_id.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(deleted.reaction_id, thumbs.reaction_id);
    assert_eq!(
        client
            .execute(ListReactions::new(sent.message_id))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn chats_and_members() {
    let setup = Setup::new().await;
    let client = &setup.client;
    let tom = setup.user("Tom");
    let alice = setup.user("Alice");

    let created = client
        .execute(
            CreateChat::new("Release")
                .description("ship it")
                .users([tom.clone()]),
        )
        .await
        .unwrap();
    let chat = created.chat_id.clone().unwrap();
    assert_eq!(created.name.as_deref(), Some("Release"));

    let got = client.execute(GetChat::new(chat.clone())).await.unwrap();
    assert_eq!(got.description.as_deref(), Some("ship it"));
    client
        .execute(UpdateChat::rename(chat.clone(), "Release 1.0"))
        .await
        .unwrap();
    assert_eq!(
        client
            .execute(GetChat::new(chat.clone()))
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Release 1.0")
    );

    let listed: Vec<_> = client
        .items(ListChats::new())
        .map(|c| c.unwrap().chat_id)
        .collect()
        .await;
    assert!(
        listed.contains(&chat) && listed.contains(&setup.chat()),
        "{listed:?}"
    );

    let added = client
        .execute(AddMembers::open_ids(chat.clone(), [alice.clone()]))
        .await
        .unwrap();
    assert!(added.invalid_id_list.is_empty());
    let members: Vec<_> = client
        .items(ListMembers::new(chat.clone()))
        .map(|m| m.unwrap().member_id)
        .collect()
        .await;
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members.contains(&alice.as_str().to_owned()));
    let page = client
        .execute(ListMembers::new(chat.clone()))
        .await
        .unwrap();
    assert_eq!(page.member_total, Some(2));

    let removed = client
        .execute(RemoveMembers::open_ids(chat.clone(), [alice]))
        .await
        .unwrap();
    assert!(removed.invalid_id_list.is_empty());
    assert!(client.execute(IsInChat::new(chat.clone())).await.unwrap());

    client.execute(DeleteChat::new(chat.clone())).await.unwrap();
    let dissolved = client.execute(GetChat::new(chat)).await.unwrap_err();
    assert_eq!(dissolved.code(), Some(232_009), "{dissolved}");
}

#[tokio::test]
async fn images_files_and_message_resources() {
    let setup = Setup::new().await;
    let client = &setup.client;
    let chat = setup.chat();

    let image_key: ImageKey = client
        .execute(UploadImage::new("gradient.png", PNG.to_vec()))
        .await
        .unwrap();
    assert_eq!(
        setup.emulator.upload(image_key.as_str()).unwrap().as_ref(),
        PNG
    );
    client
        .execute(SendMessage::new(
            Receiver::chat(chat.clone()),
            MessageContent::image(image_key.clone()),
        ))
        .await
        .unwrap();
    let image = client.execute(DownloadImage::new(image_key)).await.unwrap();
    assert_eq!(image.bytes.as_ref(), PNG);
    assert_eq!(image.content_type.as_deref(), Some("image/png"));

    let report = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let file_key: FileKey = client
        .execute(UploadFile::new("report.pdf", report.clone()))
        .await
        .unwrap();
    client
        .execute(SendMessage::new(
            Receiver::chat(chat.clone()),
            MessageContent::file(file_key.clone()),
        ))
        .await
        .unwrap();
    let file = client.execute(DownloadFile::new(file_key)).await.unwrap();
    assert_eq!(file.bytes.as_ref(), report.as_slice());

    let tom = setup.user("Tom");
    let from_user = MessageId::new(
        setup
            .emulator
            .user_sends_image(chat.as_str(), tom.as_str(), "photo.png", PNG.to_vec())
            .unwrap(),
    );
    let content = setup.stored(&from_user)["body"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let MessageContent::Image(sent_image) = MessageContent::decode("image", &content).unwrap()
    else {
        panic!("{content}")
    };
    let resource = client
        .execute(GetMessageResource::image(from_user, &sent_image.image_key))
        .await
        .unwrap();
    assert_eq!(resource.bytes.as_ref(), PNG);

    let empty = client
        .execute(UploadImage::new("empty.png", Vec::new()))
        .await
        .unwrap_err();
    assert!(empty.to_string().contains("empty"), "{empty}");
}

#[tokio::test]
async fn batch_send_and_recall() {
    let setup = Setup::new().await;
    let client = &setup.client;
    let before = setup.emulator.message_count();
    let batch = client
        .execute(BatchSend::new(
            BatchTargets::open_ids([setup.user("Tom"), setup.user("Alice")]),
            MessageContent::text("notice"),
        ))
        .await
        .unwrap();
    assert!(batch.message_id.starts_with("bm-"), "{}", batch.message_id);
    assert_eq!(setup.emulator.message_count(), before + 2);
    client
        .execute(RecallBatch::new(batch.message_id))
        .await
        .unwrap();
    let unknown = client
        .execute(RecallBatch::new("bm-00000000000000000000000000000000"))
        .await
        .unwrap_err();
    assert!(
        unknown.code().is_some() && unknown.log_id().is_some(),
        "{unknown}"
    );
}
