//! Builds every kind of message a bot sends and prints the `msg_type` and `content` pair that
//! goes on the wire, then reads a received message back.
//!
//! Run with `cargo run --example content`.

use lark_content::card::{Button, CardHeader, CardV2, Column, ColumnSet, HeaderTemplate, Markdown};
use lark_content::post::{PostBody, PostElement, TextStyle};
use lark_content::{FileKey, ImageKey, Mention, MessageContent, OpenId, Post, Text};

fn main() -> Result<(), lark_content::ContentError> {
    let tom = OpenId::new("ou_84aad35d084aa403a838cf73ee18467");
    let messages = [
        MessageContent::from(
            Text::builder()
                .at(&tom, "Tom")
                .text(" build #42 is green")
                .build(),
        ),
        MessageContent::from(Post::zh_cn(
            PostBody::new("Release notes")
                .paragraph([
                    PostElement::styled("v1.2", [TextStyle::Bold]),
                    " is out: ".into(),
                ])
                .paragraph([PostElement::link(
                    "changelog",
                    "https://example.com/changelog",
                )]),
        )),
        MessageContent::from(
            CardV2::builder()
                .header(CardHeader::new("Deploy to production?").template(HeaderTemplate::Orange))
                .element(Markdown::new("**api-gateway** 1.2.0 → prod"))
                .element(ColumnSet::new([
                    Column::weighted(
                        1,
                        [Button::new("Approve")
                            .primary()
                            .callback(serde_json::json!({"action": "approve"}))],
                    ),
                    Column::weighted(
                        1,
                        [Button::new("Reject")
                            .danger()
                            .callback(serde_json::json!({"action": "reject"}))],
                    ),
                ]))
                .build(),
        ),
        MessageContent::image(ImageKey::new("img_v3_02ab")),
        MessageContent::file(FileKey::new("file_v3_00cd")),
        MessageContent::video(
            FileKey::new("file_v3_00ef"),
            Some(ImageKey::new("img_v3_02ab")),
        ),
    ];
    for message in &messages {
        let content = message.encode_validated()?;
        println!("msg_type={:<12} content={content}", message.msg_type());
    }

    let received = MessageContent::decode("text", r#"{"text":"@_user_1 deploy prod"}"#)?;
    let mentions = [Mention {
        key: "@_user_1".into(),
        name: "release-bot".into(),
        ..Mention::default()
    }];
    if let MessageContent::Text(text) = received {
        println!("received: {:?}", text.to_plain(&mentions));
        println!("command:  {:?}", text.without_mentions(&mentions));
    }
    Ok(())
}
