//! Every event payload docs/protocol.md §5 shows parses into its typed variant, fields checked.
//! The payloads, with their sources, are in `fixtures/documented.json`.

use http::HeaderMap;
use lark_content::{MessageContent, Segment};
use lark_events::{
    CardCallbackKind, ChatType, Event, EventConfig, EventError, Incoming, RecallType, Schema,
    SenderType, receive,
};
use serde_json::{Value, json};
use std::time::SystemTime;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures/documented.json")).unwrap()
}

/// A payload: either given whole, or an event body wrapped in the documented v2 header.
fn payload(name: &str) -> Value {
    let entry = &fixtures()[name];
    if entry.get("payload").is_some() {
        return entry["payload"].clone();
    }
    json!({
        "schema": "2.0",
        "header": {
            "event_id": "f7984f25108f8137722bb63cee927e66",
            "token": "066zT6pS4QCbgj5Do145GfDbbagCHGgF",
            "create_time": "1603977298000000",
            "event_type": entry["event_type"],
            "tenant_key": "xxxxxxx",
            "app_id": "cli_xxxxxxxx"
        },
        "event": entry["event"],
    })
}

fn read(name: &str) -> Incoming {
    receive(
        &EventConfig::new(),
        &HeaderMap::new(),
        payload(name).to_string().as_bytes(),
        SystemTime::now(),
    )
    .unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn event(name: &str) -> lark_events::EventEnvelope {
    match read(name) {
        Incoming::Event(event) => *event,
        other => panic!("{name}: expected an event, got {other:?}"),
    }
}

/// Receives `payload` unencrypted and returns the message it carries.
fn received_message(payload: &Value) -> lark_events::MessageReceived {
    let incoming = receive(
        &EventConfig::new(),
        &HeaderMap::new(),
        payload.to_string().as_bytes(),
        SystemTime::now(),
    )
    .unwrap();
    let Incoming::Event(envelope) = incoming else {
        panic!("{payload} is not an event")
    };
    let Event::MessageReceived(received) = envelope.event else {
        panic!("{payload} is not a received message")
    };
    *received
}

#[test]
fn the_documented_received_message_is_typed_with_content_and_mentions() {
    let envelope = event("receive_v1");
    assert_eq!(
        envelope.header.event_id.as_str(),
        "5e3702a84e847582be8db7fb73283c02"
    );
    assert_eq!(envelope.header.event_type, "im.message.receive_v1");
    assert_eq!(envelope.header.schema, Schema::V2);
    assert_eq!(
        envelope.header.app_id.as_ref().unwrap().as_str(),
        "cli_9f5343c580712544"
    );
    let Event::MessageReceived(received) = &envelope.event else {
        panic!("{:?}", envelope.event)
    };
    assert_eq!(received.sender.sender_type, Some(SenderType::User));
    assert_eq!(
        received.sender.sender_id.open_id.as_ref().unwrap().as_str(),
        "ou_84aad35d084aa403a838cf73ee18467"
    );
    let message = &received.message;
    assert_eq!(
        message.message_id.as_str(),
        "om_5ce6d572455d361153b7cb51da133945"
    );
    assert_eq!(message.chat_type, Some(ChatType::Group));
    assert_eq!(
        message.thread_id.as_ref().unwrap().as_str(),
        "omt_d4be107c616"
    );
    assert_eq!(message.content(), &MessageContent::text("@_user_1 hello"));
    assert_eq!(message.content_error(), None);
    assert_eq!(message.mentions()[0].name, "Tom");
    assert!(matches!(message.segments()[0], Segment::Mention(m) if m.key == "@_user_1"));
    assert_eq!(message.text().as_deref(), Some("@Tom hello"));
    assert_eq!(message.text_without_mentions().as_deref(), Some("hello"));
    assert_eq!(
        envelope.dedup_keys(),
        [
            "event:5e3702a84e847582be8db7fb73283c02",
            "message:om_5ce6d572455d361153b7cb51da133945"
        ]
    );
}

#[test]
fn a_message_whose_content_does_not_decode_is_kept_not_lost() {
    let mut broken = payload("receive_v1");
    broken["event"]["message"]["message_type"] = json!("image");
    let received = received_message(&broken);
    assert!(
        matches!(received.message.content(), MessageContent::Unmodelled { msg_type, content, .. } if msg_type == "image" && content.contains("hello")),
        "{:?}",
        received.message.content()
    );
    assert!(
        received
            .message
            .content_error()
            .unwrap()
            .contains("image_key")
    );
}

#[test]
fn every_documented_im_event_has_its_typed_variant() {
    let Event::MessageRead(read) = event("message_read").event else {
        panic!()
    };
    assert_eq!(
        read.message_id_list[0].as_str(),
        "om_dc13264520392913993dd051dba21dcf"
    );
    assert_eq!(read.reader.read_time.as_deref(), Some("1609484183000"));

    let Event::MessageRecalled(recalled) = event("recalled").event else {
        panic!()
    };
    assert_eq!(recalled.recall_type, Some(RecallType::MessageOwner));
    assert_eq!(
        recalled.chat_id.unwrap().as_str(),
        "oc_5ad11d72b830411d72b836c20"
    );

    let Event::ReactionCreated(created) = event("reaction_created").event else {
        panic!()
    };
    assert_eq!(created.reaction_type.emoji_type, "SMILE");
    assert_eq!(
        created.user_id.unwrap().user_id.unwrap().as_str(),
        "e33ggbyz"
    );
    let Event::ReactionDeleted(deleted) = event("reaction_deleted").event else {
        panic!()
    };
    assert_eq!(deleted.operator_type, "app");
    assert!(deleted.app_id.is_some() && deleted.user_id.is_none());

    let Event::ChatMemberUserAdded(added) = event("member_user_added").event else {
        panic!()
    };
    assert_eq!(added.users[0].name.as_deref(), Some("user name"));
    assert_eq!(added.i18n_names["ja_jp"], "グループチャット");
    assert!(!added.external);

    let Event::BotAdded(bot) = event("member_bot_added").event else {
        panic!()
    };
    assert_eq!(bot.chat_id.as_str(), "oc_413871888e0d5492e25b173f0812efb7");

    let Event::ChatUpdated(updated) = event("chat_updated").event else {
        panic!()
    };
    assert_eq!(updated.after_change["name"], "new name");
    assert_eq!(updated.before_change["name"], "old name");

    let Event::BotP2pChatEntered(entered) = event("p2p_entered").event else {
        panic!()
    };
    assert_eq!(
        entered.last_message_id.unwrap().as_str(),
        "om_dc13264520392913993dd051dba21dcf"
    );
}

#[test]
fn membership_and_disband_event_types_map_to_their_variants() {
    let body = |event_type: &str| {
        let mut value = payload("member_user_added");
        value["header"]["event_type"] = json!(event_type);
        let Incoming::Event(envelope) = receive(
            &EventConfig::new(),
            &HeaderMap::new(),
            value.to_string().as_bytes(),
            SystemTime::now(),
        )
        .unwrap() else {
            panic!()
        };
        envelope.event
    };
    assert!(matches!(
        body("im.chat.member.user.deleted_v1"),
        Event::ChatMemberUserDeleted(_)
    ));
    assert!(matches!(
        body("im.chat.member.user.withdrawn_v1"),
        Event::ChatMemberUserWithdrawn(_)
    ));
    assert!(matches!(
        body("im.chat.member.bot.deleted_v1"),
        Event::BotDeleted(_)
    ));
    assert!(matches!(
        body("im.chat.disbanded_v1"),
        Event::ChatDisbanded(_)
    ));
}

#[test]
fn unknown_event_types_are_kept_whole() {
    let envelope = event("envelope_v2_generic");
    let Event::Unknown { header, raw } = envelope.event else {
        panic!()
    };
    assert_eq!(header.event_type, "contact.user_group.created_v3");
    assert_eq!(raw, json!({}));
}

#[test]
fn v1_events_read_their_uuid_type_and_token() {
    let envelope = event("envelope_v1_p2p_chat_create");
    assert_eq!(envelope.header.schema, Schema::V1);
    assert_eq!(
        envelope.header.event_id.as_str(),
        "bc447199585340d1f3728d26b1c0297a"
    );
    assert_eq!(envelope.header.event_type, "p2p_chat_create");
    assert_eq!(
        envelope.header.app_id.unwrap().as_str(),
        "cli_9c8609450f78d102"
    );
    assert!(matches!(envelope.event, Event::Unknown { .. }));

    let Event::AppTicket(ticket) = event("app_ticket").event else {
        panic!()
    };
    assert_eq!(ticket.app_id.as_str(), "cli_xxx");
    assert!(
        !format!("{ticket:?}").contains("\"xxx\""),
        "the ticket is redacted in Debug"
    );

    let config = EventConfig::new().verification_token("41a9425ea7df4536a7623e38fa321bae");
    assert!(
        receive(
            &config,
            &HeaderMap::new(),
            payload("app_ticket").to_string().as_bytes(),
            SystemTime::now()
        )
        .is_ok()
    );
    let wrong = EventConfig::new().verification_token("another");
    assert!(matches!(
        receive(
            &wrong,
            &HeaderMap::new(),
            payload("app_ticket").to_string().as_bytes(),
            SystemTime::now()
        ),
        Err(EventError::BadToken)
    ));
}

#[test]
fn challenges_are_read_and_their_token_checked() {
    let Incoming::Challenge(challenge) = read("challenge_plain") else {
        panic!()
    };
    assert_eq!(
        challenge.response_body(),
        r#"{"challenge":"ajls384kdjxxxx"}"#
    );
    let Incoming::Challenge(legacy) = read("legacy_card_challenge") else {
        panic!()
    };
    assert_eq!(legacy.challenge, "1b6aef1a-401f-406a-be41-f48911e00be7");
    let config = EventConfig::new().verification_token("not xxxxxx");
    let refused = receive(
        &config,
        &HeaderMap::new(),
        payload("challenge_plain").to_string().as_bytes(),
        SystemTime::now(),
    );
    assert!(matches!(refused, Err(EventError::BadToken)));
}

#[test]
fn the_documented_card_trigger_is_a_card_action_with_every_field() {
    let Incoming::CardAction(action) = read("card_trigger") else {
        panic!()
    };
    assert_eq!(action.kind, CardCallbackKind::Trigger);
    assert_eq!(
        action.header.as_ref().unwrap().event_type,
        "card.action.trigger"
    );
    assert_eq!(
        action.operator.open_id.as_ref().unwrap().as_str(),
        "ou_3c14f3a59eaf2825dbe25359f15*****"
    );
    assert_eq!(action.action.value, json!({"key": "value"}));
    assert_eq!(action.value_str("key"), Some("value"));
    assert_eq!(action.action.name.as_deref(), Some("Button_lvkepfu3"));
    let form = action.action.form_value.as_ref().unwrap();
    assert_eq!(form["Input_lf4fmxwfrd9"], "1234");
    assert_eq!(form["field name1"], json!(["selectDemo1", "selectDemo2"]));
    assert_eq!(
        action.context.open_message_id.as_ref().unwrap().as_str(),
        "om_574d639e4a44e4dd646eaf628e2*****"
    );
    assert_eq!(action.host.as_deref(), Some("im_message"));
    assert!(action.update_token.as_ref().unwrap().starts_with("c-"));
    assert!(
        !format!("{action:?}").contains("c-295ee"),
        "the update token is redacted in Debug"
    );
}

#[test]
fn the_documented_legacy_callback_is_a_card_action() {
    let Incoming::CardAction(action) = read("card_legacy") else {
        panic!()
    };
    assert_eq!(action.kind, CardCallbackKind::Legacy);
    assert!(action.header.is_none());
    assert_eq!(
        action.operator.open_id.as_ref().unwrap().as_str(),
        "ou_sdfimx9948345"
    );
    assert_eq!(
        action.context.open_message_id.as_ref().unwrap().as_str(),
        "om_abcdefg1234567890"
    );
    assert_eq!(
        action.action.value,
        json!({"tag": "button", "value": "sdfsfd"})
    );
    assert_eq!(action.action.option.as_deref(), Some(""));
}

#[test]
fn events_render_as_json_with_content_decoded_and_secrets_left_out() {
    let message = read("receive_v1").to_json();
    assert_eq!(message["kind"], "event");
    assert_eq!(message["schema"], "2.0");
    assert_eq!(message["event_type"], "im.message.receive_v1");
    assert_eq!(message["typed"], true);
    assert!(
        message["event"]["message"]["content"].is_object(),
        "{message}"
    );
    assert!(message["event"]["message"]["text"].is_string(), "{message}");
    assert!(
        !message
            .to_string()
            .contains("066zT6pS4QCbgj5Do145GfDbbagCHGgF"),
        "no verification token"
    );

    let ticket = read("app_ticket").to_json();
    assert_eq!(ticket["event"]["app_ticket"], "<redacted>");
    assert!(
        !ticket
            .to_string()
            .contains("41a9425ea7df4536a7623e38fa321bae"),
        "no verification token"
    );

    let card = read("card_trigger").to_json();
    assert_eq!(card["kind"], "card_action");
    assert_eq!(card["callback"], "card.action.trigger");
    assert!(card["operator"]["open_id"].is_string(), "{card}");

    let challenge = read("challenge_plain").to_json();
    assert_eq!(challenge["kind"], "challenge");

    let unknown = read("envelope_v2_generic").to_json();
    assert!(unknown["event"].is_object());
}

#[test]
fn a_message_in_a_topic_group_reads_its_chat_type() {
    // `topic_group` is the third chat type the official Go SDK lists for received messages
    // (service/im/v1 EventMessage.ChatType); the receive_v1 example carries `group`.
    let mut topic = payload("receive_v1");
    topic["event"]["message"]["chat_type"] = json!("topic_group");
    let received = received_message(&topic);
    assert_eq!(
        received.message.chat_type,
        Some(lark_events::ChatType::TopicGroup)
    );
}
