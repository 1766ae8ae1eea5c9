//! Decoding received content: a text with one mention, and a 2 KB post, each against
//! `serde_json::from_str` into a `serde_json::Value` on the same string, measured in the same run.

use lark_content::{Mention, MessageContent};

fn main() {
    divan::main();
}

const TEXT: &str =
    r#"{"text":"@_user_1 hello, the deploy of service api-gateway to production finished"}"#;

/// A received (flattened) post of at least 2 KB: the documented received example's paragraphs,
/// repeated.
fn post_2kb() -> String {
    let documented: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../tests/fixtures/documented_contents.json")).unwrap();
    let example = documented
        .iter()
        .find(|d| d["direction"] == "receive" && d["msg_type"] == "post")
        .unwrap();
    let mut post: serde_json::Value =
        serde_json::from_str(example["content"].as_str().unwrap()).unwrap();
    let paragraphs = post["content"].as_array().unwrap().clone();
    while post.to_string().len() < 2048 {
        post["content"]
            .as_array_mut()
            .unwrap()
            .extend(paragraphs.iter().cloned());
    }
    post.to_string()
}

fn mentions() -> Vec<Mention> {
    vec![Mention {
        key: "@_user_1".into(),
        name: "Tom".into(),
        ..Mention::default()
    }]
}

#[divan::bench]
fn text_with_mention_ours(bencher: divan::Bencher) {
    let mentions = mentions();
    bencher.bench(|| {
        let content = MessageContent::decode("text", divan::black_box(TEXT)).unwrap();
        match content {
            MessageContent::Text(text) => text.segments(&mentions).count(),
            _ => 0,
        }
    });
}

#[divan::bench]
fn text_with_mention_baseline_value(bencher: divan::Bencher) {
    bencher.bench(|| serde_json::from_str::<serde_json::Value>(divan::black_box(TEXT)).unwrap());
}

#[divan::bench]
fn post_2kb_ours(bencher: divan::Bencher) {
    let post = post_2kb();
    bencher.bench(|| MessageContent::decode("post", divan::black_box(&post)).unwrap());
}

#[divan::bench]
fn post_2kb_baseline_value(bencher: divan::Bencher) {
    let post = post_2kb();
    bencher.bench(|| serde_json::from_str::<serde_json::Value>(divan::black_box(&post)).unwrap());
}
