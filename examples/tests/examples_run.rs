//! Runs every example against its in-process emulator and checks its transcript. `cargo test`
//! builds the examples before it runs this.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples_run-… → target/<profile>/examples/<name>
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = deps
        .parent()
        .unwrap()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; cargo test builds the examples first",
        path.display()
    );
    path
}

/// Runs `name` offline and returns its standard output.
fn run(name: &str) -> String {
    let output = Command::new(example(name))
        .env_remove("LARK_APP_ID")
        .env_remove("LARK_APP_SECRET")
        .env_remove("LARK_RECEIVER")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn assert_lines(name: &str, output: &str, expected: &[&str]) {
    for line in expected {
        assert!(output.contains(line), "{name}: no {line:?} in\n{output}");
    }
}

#[test]
fn quickstart_walks_every_seed_flow() {
    let out = run("quickstart");
    assert_lines(
        "quickstart",
        &out,
        &[
            "asked twice, fetched 1 time(s)",
            "text         om_",
            "post         om_",
            "interactive  om_",
            "file         om_",
            "share_chat   om_",
            "share_user   om_",
            "image        om_",
            "created \"Quickstart crew\" oc_",
            "reacted      THUMBSUP",
            "\"Welcome @Tom!\"",
            "(bot) verified and decrypted im.message.receive_v1",
            "bot: \"You said \"ship it on Friday?\". Noted!\"",
            "webhook deliveries: 1, answered [Some(200)]",
            "toast \"Voted noodles\", card updated: true",
            "1 token fetch(es)",
        ],
    );
    assert!(
        !out.contains("emulator-app-secret"),
        "the transcript never shows the secret"
    );
}

#[test]
fn send_text_shows_a_send_and_a_readable_error() {
    let out = run("send_text");
    assert_lines(
        "send_text",
        &out,
        &[
            "sent text om_",
            "sent a mention om_",
            "code Some(230034), log id Some(",
        ],
    );
}

#[test]
fn rich_text_sends_a_post_and_reads_it_back() {
    let out = run("rich_text");
    assert_lines(
        "rich_text",
        &out,
        &["sent post om_", "thanks to @Tom", "cargo add lark"],
    );
}

#[test]
fn card_click_is_answered_with_a_toast_and_a_new_card() {
    let out = run("card");
    assert_lines(
        "card",
        &out,
        &[
            "clicked approve on release-1.4",
            "toast \"release-1.4: approved\", card updated: true",
        ],
    );
}

#[test]
fn an_image_is_uploaded_sent_and_downloaded() {
    let out = run("upload_and_send_image");
    assert_lines(
        "upload_and_send_image",
        &out,
        &[
            "as img_",
            "sent image message om_",
            "downloaded it back: 463 bytes, image/png",
        ],
    );
}

#[test]
fn a_chat_is_created_and_welcomed() {
    let out = run("create_chat_and_welcome");
    assert_lines(
        "create_chat_and_welcome",
        &out,
        &[
            "created \"Launch crew\"",
            "added Alice",
            "members: Tom, Alice",
        ],
    );
}

#[test]
fn replies_reactions_and_history() {
    let out = run("reply_react_history");
    assert_lines(
        "reply_react_history",
        &out,
        &[
            "replied om_",
            "replied in thread omt_",
            "reacted THUMBSUP",
            "\"Yes, 1.4 is live (all regions).\"",
        ],
    );
}

#[test]
fn the_echo_bot_answers_over_the_webhook() {
    let out = run("echo_bot");
    assert_lines("echo_bot", &out, &["(bot) received \"ping\"", "echo: ping"]);
}

#[test]
fn the_streaming_reply_types_the_answer_into_a_card_and_closes_it() {
    let out = run("streaming_reply");
    assert_lines(
        "streaming_reply",
        &out,
        &[
            "Tom asks",
            "create",
            "stream_text",
            "settings",
            "summary in the chat list: \"You asked:",
            "(bot) answered in 1 (a streaming card",
        ],
    );
}

#[test]
fn the_assistant_answers_mentions_in_order_in_threads_with_a_table_and_an_indicator() {
    let out = run("assistant");
    assert_lines(
        "assistant",
        &out,
        &[
            "the bot is Emulator Bot (ou_",
            "answer to \"compare the plans\": a card in the chat",
            "answer to the thread: a card in thread omt_",
            "the thread's answer stayed in it: true",
            "| Starter | 10 | $0 |",
            "reaction Typing added on",
            "reaction Typing removed on",
            "handled 3, one at a time; not answered: 2 (not_addressed",
            "typing shown 3 times",
            "dropped as stale: 1",
        ],
    );
    // One chat's questions are handled one after the other, in the order they arrived.
    let at = |line: &str| {
        out.find(line)
            .unwrap_or_else(|| panic!("no {line:?} in\n{out}"))
    };
    assert!(at("(bot) answered \"compare the plans\"") < at("(bot) working on \"and which"));
    assert!(at("(bot) answered \"and which") < at("(bot) working on \"summarise"));
    assert!(!out.contains("(bot) working on \"lunch"), "{out}");
    assert!(!out.contains("(bot) working on \"are you there"), "{out}");
}

#[test]
fn content_prints_every_kind_of_message() {
    let out = run("content");
    assert!(out.contains("interactive"), "{out}");
}

#[test]
fn the_echo_bot_answers_over_the_long_connection() {
    let out = run("long_connection");
    assert_lines(
        "long_connection",
        &out,
        &[
            "status: Connected",
            "(bot) received \"ping\" over the long connection",
            "the bot replied",
            "toast \"clicked deploy\"",
            "after shutdown: Stopped(Shutdown)",
        ],
    );
}
