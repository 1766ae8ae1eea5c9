//! Sends a rich-text post: a title, styled text, a link, a mention, an image and a code block.
//!
//! `cargo run --example rich_text`

use lark::Client;
use lark::content::post::{PostBody, PostElement, TextStyle};
use lark::{MessageContent, Post};
use lark_examples::{BoxError, Session, say, step};

const PNG: &[u8] = include_bytes!("../crates/lark-http/tests/fixtures/gradient.png");

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let client = Client::from_env();
    // With no app in the environment, the example runs against a local emulator.
    let session = Session::start(client).await?;
    step(format!("rich_text on {}", session.describe()));
    let tom = session.user("Tom")?;
    let chart = session
        .client
        .images()
        .upload_bytes("chart.png", PNG)
        .await?;
    say(format!("uploaded the chart as {chart}"));

    let post = Post::en_us(
        PostBody::new("Release 1.4")
            .paragraph([
                PostElement::styled("1.4", [TextStyle::Bold]),
                " is out, thanks to ".into(),
                PostElement::at(&tom),
                ".".into(),
            ])
            .paragraph([PostElement::link(
                "Read the changelog",
                "https://example.com/changelog",
            )])
            .paragraph([PostElement::img(chart)])
            .paragraph([PostElement::code_block(Some("shell"), "cargo add lark")]),
    );
    let content = MessageContent::from(post);
    let sent = session
        .client
        .messages()
        .send(session.to.clone(), content.clone())
        .await?;
    say(format!(
        "sent post {} ({} bytes of content)",
        sent.message_id,
        content.encode().len()
    ));

    let back = session.client.messages().get(&sent.message_id).await?;
    if let Some(Ok(MessageContent::Post(post))) = back.content()
        && let Some(body) = post.body("en_us")
    {
        say(format!("read it back: {:?}", body.to_plain()));
    }
    Ok(())
}
