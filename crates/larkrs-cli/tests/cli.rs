//! The `lark` binary against an emulator over loopback.

use lark_emulator::{Emulator, Fault, FaultRule, WebhookConfig};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

const PNG: &[u8] = include_bytes!("../../lark-http/tests/fixtures/gradient.png");

struct Lark {
    base_url: String,
    app_id: String,
    app_secret: String,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "stderr: {}\nstdout: {}",
            self.stderr, self.stdout
        );
        self.stdout
    }

    fn json(self) -> Value {
        let out = self.ok();
        serde_json::from_str(out.trim()).unwrap_or_else(|err| panic!("{err}: {out}"))
    }
}

impl Lark {
    fn new(emulator: &Emulator) -> Self {
        Self {
            base_url: emulator.base_url(),
            app_id: emulator.app_id(),
            app_secret: emulator.app_secret(),
        }
    }

    /// Runs `lark ARGS` with the emulator's credentials in the environment.
    async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, |_| {}).await
    }

    /// `lark ARGS` in the directory `dir`.
    async fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        let dir = dir.to_path_buf();
        self.run_with(args, move |command| {
            command.current_dir(&dir);
        })
        .await
    }

    /// `lark ARGS`, the command first adjusted by `adjust`.
    async fn run_with(&self, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lark"));
        command
            .args(args)
            .env("LARK_BASE_URL", &self.base_url)
            .env("LARK_APP_ID", &self.app_id)
            .env("LARK_APP_SECRET", &self.app_secret)
            .env_remove("LARK_DOMAIN")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        adjust(&mut command);
        let output: Output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Waits until `lark listen` has its long connection open.
async fn listening(emulator: &Emulator) {
    assert!(
        emulator
            .wait_until(std::time::Duration::from_secs(60), |e| !e
                .ws_connections()
                .is_empty())
            .await,
        "lark listen connected"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_every_kind_of_content_and_print_the_id() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = format!("chat:{}", emulator.default_chat());
    let dir = tempfile::tempdir().unwrap();

    let id = lark
        .run(&["send", "--to", &chat, "--text", "hello from the shell"])
        .await
        .ok();
    let id = id.trim();
    assert!(id.starts_with("om_"), "{id}");
    assert_eq!(
        emulator.message(id).unwrap()["body"]["content"],
        r#"{"text":"hello from the shell"}"#
    );

    let post = write(
        dir.path(),
        "post.json",
        br#"{"zh_cn":{"title":"Notes","content":[[{"tag":"text","text":"line one"}]]}}"#,
    );
    let sent = lark
        .run(&["--json", "send", "--to", &chat, "--post", &post])
        .await
        .json();
    assert_eq!(sent["msg_type"], "post");

    let card = write(
        dir.path(),
        "card.json",
        br#"{"schema":"2.0","body":{"elements":[{"tag":"markdown","content":"**hi**"}]}}"#,
    );
    let sent = lark
        .run(&["--json", "send", "--to", &chat, "--card", &card])
        .await
        .json();
    assert_eq!(sent["msg_type"], "interactive");

    let image = write(dir.path(), "gradient.png", PNG);
    let sent = lark
        .run(&["--json", "send", "--to", &chat, "--image", &image])
        .await
        .json();
    assert_eq!(sent["msg_type"], "image");

    let notes = write(dir.path(), "notes.txt", b"notes");
    let sent = lark
        .run(&["--json", "send", "--to", &chat, "--file", &notes])
        .await
        .json();
    assert_eq!(sent["msg_type"], "file");

    let share = format!(r#"{{"chat_id":"{}"}}"#, emulator.default_chat());
    let sent = lark
        .run(&[
            "--json",
            "send",
            "--to",
            &chat,
            "--type",
            "share_chat",
            "--content",
            &share,
        ])
        .await
        .json();
    assert_eq!(sent["msg_type"], "share_chat");

    let tom = emulator.user("Tom").unwrap().open_id;
    let direct = lark
        .run(&["send", "--to", &format!("open:{tom}"), "--text", "hi Tom"])
        .await
        .ok();
    assert!(direct.trim().starts_with("om_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_edit_get_history_react_and_recall() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap().open_id;
    let question = emulator.user_says_text(&chat, &tom, "status?").unwrap();

    let reply = lark
        .run(&["reply", &question, "--text", "green"])
        .await
        .ok()
        .trim()
        .to_owned();
    let threaded = lark
        .run(&[
            "--json", "reply", &question, "--thread", "--text", "details",
        ])
        .await
        .json();
    assert!(threaded["thread_id"].as_str().unwrap().starts_with("omt_"));
    lark.run(&["edit", &reply, "--text", "all green"])
        .await
        .ok();
    let got = lark.run(&["--json", "get", &reply]).await.json();
    assert_eq!(got["body"]["content"], r#"{"text":"all green"}"#);
    assert_eq!(got["parent_id"], question.as_str());

    // Oldest first when asked; the chat's id is taken alone or as chat:oc_….
    let history = lark
        .run(&[
            "--json",
            "history",
            &format!("chat:{chat}"),
            "--oldest-first",
        ])
        .await
        .ok();
    let lines: Vec<Value> = history
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{history}");
    assert_eq!(lines[0]["message_id"], question.as_str());
    // Newest first by default.
    let text = lark.run(&["history", &chat, "--limit", "1"]).await.ok();
    assert!(
        text.starts_with(&reply) && text.contains("all green"),
        "{text}"
    );

    let reaction = lark
        .run(&["react", &question, "THUMBSUP"])
        .await
        .ok()
        .trim()
        .to_owned();
    assert!(!reaction.is_empty());
    let reactions = lark.run(&["reactions", &question]).await.ok();
    assert!(reactions.contains("THUMBSUP"), "{reactions}");
    let removed = lark
        .run(&["--json", "unreact", &question, &reaction])
        .await
        .json();
    assert_eq!(removed["reaction_id"], reaction.as_str());
    let reactions = lark.run(&["reactions", &question]).await.ok();
    assert!(!reactions.contains("THUMBSUP"), "{reactions}");

    // Forwards, to a chat named by its bare id.
    let forwarded = lark
        .run(&["--json", "forward", &question, "--to", &chat])
        .await
        .json();
    let forwarded_id = forwarded["message_id"].as_str().unwrap();
    assert_ne!(forwarded_id, question.as_str());
    assert_eq!(
        emulator.message(forwarded_id).unwrap()["chat_id"],
        chat.as_str()
    );
    let merged = lark
        .run(&["--json", "merge-forward", &question, &reply, "--to", &chat])
        .await
        .json();
    assert_eq!(merged["message"]["msg_type"], "merge_forward", "{merged}");

    lark.run(&["recall", &reply]).await.ok();
    assert_eq!(emulator.message(&reply).unwrap()["deleted"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_and_members() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let tom = emulator.user("Tom").unwrap().open_id;
    let alice = emulator.user("Alice").unwrap().open_id;

    let chat = lark
        .run(&[
            "chat",
            "create",
            "Ops",
            "--user",
            &tom,
            "--description",
            "on call",
        ])
        .await
        .ok()
        .trim()
        .to_owned();
    assert!(chat.starts_with("oc_"), "{chat}");
    lark.run(&["chat", "update", &chat, "--name", "Ops rota"])
        .await
        .ok();
    let got = lark.run(&["--json", "chat", "get", &chat]).await.json();
    assert_eq!(got["name"], "Ops rota");
    assert!(lark.run(&["chat", "list"]).await.ok().contains(&chat));
    lark.run(&["members", "add", &chat, &alice]).await.ok();
    let members = lark.run(&["members", "list", &chat]).await.ok();
    assert!(
        members.contains(&alice) && members.contains(&tom),
        "{members}"
    );
    lark.run(&["members", "remove", &chat, &alice]).await.ok();
    assert!(
        !lark
            .run(&["members", "list", &chat])
            .await
            .ok()
            .contains(&alice)
    );

    lark.run(&["chat", "delete", &chat]).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_downloads() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let tom = emulator.user("Tom").unwrap().open_id;
    let chat = emulator.default_chat();
    let dir = tempfile::tempdir().unwrap();
    let image = write(dir.path(), "gradient.png", PNG);
    let image_key = lark
        .run(&["upload", "image", &image])
        .await
        .ok()
        .trim()
        .to_owned();
    assert!(image_key.starts_with("img_"), "{image_key}");
    let copy = dir.path().join("copy.png");
    lark.run(&[
        "download",
        "image",
        &image_key,
        "-o",
        copy.to_str().unwrap(),
    ])
    .await
    .ok();
    assert_eq!(std::fs::read(&copy).unwrap(), PNG);

    let notes = write(dir.path(), "runbook.md", b"# Runbook\n");
    let file_key = lark
        .run(&["upload", "file", &notes])
        .await
        .ok()
        .trim()
        .to_owned();
    let out = dir.path().join("out.md");
    let saved = lark
        .run(&[
            "--json",
            "download",
            "file",
            &file_key,
            "-o",
            out.to_str().unwrap(),
        ])
        .await
        .json();
    assert_eq!(saved["file_name"], "runbook.md");
    assert_eq!(std::fs::read(&out).unwrap(), b"# Runbook\n");

    let message = emulator
        .user_sends_file(&chat, &tom, "trace.log", b"trace".to_vec())
        .unwrap();
    let content: Value = serde_json::from_str(
        emulator.message(&message).unwrap()["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let key = content["file_key"].as_str().unwrap();
    let resource = dir.path().join("trace.log");
    lark.run(&[
        "download",
        "resource",
        &message,
        key,
        "--type",
        "file",
        "-o",
        resource.to_str().unwrap(),
    ])
    .await
    .ok();
    assert_eq!(std::fs::read(&resource).unwrap(), b"trace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_print_code_log_id_and_hint_and_exit_by_kind() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);

    let missing = lark
        .run(&[
            "send",
            "--to",
            "chat:oc_00000000000000000000000000000000",
            "--text",
            "x",
        ])
        .await;
    assert_eq!(
        missing.code, 5,
        "an unknown receiver is not found: {}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("code: 230034") && missing.stderr.contains("log_id: "),
        "{}",
        missing.stderr
    );

    let wrong = Lark {
        app_secret: "not-the-secret".to_owned(),
        ..Lark::new(&emulator)
    };
    let refused = wrong.run(&["chat", "list"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("10015") && !refused.stderr.contains("not-the-secret"),
        "{}",
        refused.stderr
    );

    let json = wrong.run(&["--json", "chat", "list"]).await;
    let error: Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["code"], 10_015);
    assert!(error["log_id"].is_string());

    let receiver = lark
        .run(&["send", "--to", "no_prefix", "--text", "x"])
        .await;
    assert_eq!(receiver.code, 8);
    assert!(
        receiver.stderr.contains("oc_… (a chat)"),
        "{}",
        receiver.stderr
    );

    let usage = lark.run(&["send", "--to", "chat:oc_x"]).await;
    assert_eq!(usage.code, 2, "no content is a usage error");
    let both = lark
        .run(&[
            "send",
            "--to",
            "chat:oc_x",
            "--text",
            "a",
            "--type",
            "text",
            "--content",
            "{}",
        ])
        .await;
    assert_eq!(
        both.code, 2,
        "two contents are a usage error: {}",
        both.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.json", b"{not json");
    let bad_post = lark
        .run(&["send", "--to", "chat:oc_x", "--post", &bad])
        .await;
    assert_eq!(bad_post.code, 8);
    assert!(
        bad_post.stderr.contains("bad.json is not JSON"),
        "{}",
        bad_post.stderr
    );
}

/// Receives one HTTP request on `listener` and answers 200; returns its headers and body.
async fn capture_one(listener: tokio::net::TcpListener) -> (Vec<(String, String)>, Vec<u8>) {
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        raw.extend_from_slice(&buffer[..read]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).into_owned();
            let headers: Vec<(String, String)> = head
                .lines()
                .skip(1)
                .filter_map(|line| {
                    line.split_once(':')
                        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                })
                .collect();
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            while raw.len() < end + 4 + length {
                let read = stream.read(&mut buffer).await.unwrap();
                raw.extend_from_slice(&buffer[..read]);
            }
            let body = raw[end + 4..end + 4 + length].to_vec();
            let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 17\r\nconnection: close\r\n\r\n{\"msg\":\"success\"}";
            stream.write_all(answer.as_bytes()).await.unwrap();
            return (headers, body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_decode_checks_a_captured_delivery_as_the_endpoint_does() {
    let emulator = Emulator::start_default().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    emulator.set_webhook(Some(
        WebhookConfig::new(url)
            .encrypt_key("cli-test-key")
            .verification_token("cli-test-token"),
    ));
    let capture = tokio::spawn(capture_one(listener));
    let tom = emulator.user("Tom").unwrap().open_id;
    let said = emulator
        .user_says_text(&emulator.default_chat(), &tom, "decode me")
        .unwrap();
    let (headers, body) = capture.await.unwrap();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let (timestamp, nonce, signature) = (
        header("x-lark-request-timestamp"),
        header("x-lark-request-nonce"),
        header("x-lark-signature"),
    );

    let dir = tempfile::tempdir().unwrap();
    let saved = write(dir.path(), "delivery.json", &body);

    let lark = Lark::new(&emulator);
    let decode = |extra: Vec<String>| {
        let mut args: Vec<String> = [
            "--json",
            "event",
            "decode",
            "--encrypt-key",
            "cli-test-key",
            "--verification-token",
            "cli-test-token",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        args.extend(extra);
        args.push(saved.clone());
        args
    };
    let signed = vec![
        "--timestamp".to_owned(),
        timestamp.clone(),
        "--nonce".to_owned(),
        nonce.clone(),
        "--signature".to_owned(),
        signature.clone(),
    ];
    let args = decode(signed.clone());
    let event = lark
        .run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .json();
    assert_eq!(event["event_type"], "im.message.receive_v1");
    assert_eq!(event["event"]["message"]["message_id"], said.as_str());
    assert_eq!(event["event"]["message"]["text"], "decode me");
    // Without --json: a summary line, then the same object spread over lines.
    let text = lark
        .run(&args[1..].iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .ok();
    let (summary, rest) = text.split_once('\n').unwrap();
    assert!(
        summary.starts_with("verified event im.message.receive_v1 (event_id "),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<Value>(rest).unwrap(), event);

    let mut forged = signed.clone();
    forged[5] = "0".repeat(64);
    let args = decode(forged);
    let refused = lark
        .run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    assert_eq!(refused.code, 10, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("X-Lark-Signature does not match"),
        "{}",
        refused.stderr
    );

    // A captured delivery is stale a day later, unless the clock is set back to its time.
    let later: u64 = timestamp.parse::<u64>().unwrap() + 86_400;
    let mut stale = signed.clone();
    stale.extend(["--now".to_owned(), later.to_string()]);
    let args = decode(stale);
    let refused = lark
        .run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    assert_eq!(refused.code, 10, "{}", refused.stderr);
    let mut then = signed;
    then.extend(["--now".to_owned(), timestamp]);
    let args = decode(then);
    lark.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .ok();
}

/// `lark --json emulator ARGS`, running, and the first line it printed: what it serves.
fn serve_emulator(args: &[&str]) -> (std::process::Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["--json", "emulator"])
        .args(args)
        .env_remove("LARK_APP_ID")
        .env_remove("LARK_APP_SECRET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info = serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
    (child, info)
}

#[test]
fn the_emulator_command_serves_until_stopped() {
    let (mut child, info) = serve_emulator(&["--addr", "127.0.0.1:0"]);
    let run = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args([
            "send",
            "--to",
            &format!("chat:{}", info["chat_id"].as_str().unwrap()),
            "--text",
            "hi",
        ])
        .env("LARK_BASE_URL", info["base_url"].as_str().unwrap())
        .env("LARK_APP_ID", info["app_id"].as_str().unwrap())
        .env("LARK_APP_SECRET", info["app_secret"].as_str().unwrap())
        .output()
        .unwrap();
    // The control API, served on the same port, reads the message back.
    let control = info["control_url"].as_str().unwrap();
    let address = control
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap();
    let path = format!(
        "{}/chats/{}/messages",
        &control[control.find("/__").unwrap()..],
        info["chat_id"].as_str().unwrap()
    );
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let id = String::from_utf8_lossy(&run.stdout).trim().to_owned();
    assert!(id.starts_with("om_"), "{id}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&id), "{answer}");
}

#[test]
fn the_emulator_starts_from_a_state_file_and_refuses_one_that_does_not_hold_together() {
    let dir = tempfile::tempdir().unwrap();
    let state = write(
        dir.path(),
        "state.yaml",
        b"apps:
  - app_id: cli_a1b2c3d4e5f6a7b8
    app_secret: fixture secret
    bot_open_id: ou_2b0c3f7a1e9d4c5b6a7f8e9d0c1b2a3f
users:
  - name: Bob
    open_id: ou_0f1e2d3c4b5a69788796a5b4c3d2e1f0
chats:
  - chat_id: oc_0a1b2c3d4e5f60718293a4b5c6d7e8f9
    name: Fixtures
    members: [ou_0f1e2d3c4b5a69788796a5b4c3d2e1f0]
    bots: [cli_a1b2c3d4e5f6a7b8]
",
    );
    let (mut child, info) = serve_emulator(&["--state", &state]);
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(info["app_id"], "cli_a1b2c3d4e5f6a7b8");
    assert_eq!(info["app_secret"], "fixture secret");
    assert_eq!(info["chat_id"], "oc_0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    assert_eq!(
        info["users"],
        json!([{"name": "Bob", "open_id": "ou_0f1e2d3c4b5a69788796a5b4c3d2e1f0"}])
    );

    let stranger = write(
        dir.path(),
        "stranger.json",
        br#"{"apps": [{"app_id": "cli_a1b2c3d4e5f6a7b8", "app_secret": "s"}],
            "users": [], "chats": [{"name": "Lonely", "members": ["ou_nobody"]}]}"#,
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["emulator", "--state", &stranger])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(8));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("Lonely") && stderr.contains("ou_nobody"),
        "{stderr}"
    );
    let broken = write(dir.path(), "broken.yml", b"apps: [unclosed");
    let refused = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["emulator", "--state", &broken])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(8));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not valid"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_subcommands_drive_a_running_emulator_through_its_control_api() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap().open_id;

    // The control url follows from LARK_BASE_URL when --control is not given.
    let id = lark
        .run(&["emulator", "say", "--as", "Tom", "hello bot"])
        .await
        .ok()
        .trim()
        .to_owned();
    let said = emulator.message(&id).unwrap();
    assert_eq!(said["chat_id"], chat.as_str());
    assert_eq!(said["sender"]["id"], tom.as_str());
    assert_eq!(said["body"]["content"], r#"{"text":"hello bot"}"#);

    let listed = lark
        .run(&["--json", "emulator", "messages", "--chat", &chat])
        .await
        .json();
    assert_eq!(listed, said);
    let lines = lark.run(&["emulator", "messages"]).await.ok();
    assert_eq!(
        lines.trim(),
        format!("{id}\t{tom}\ttext\t{{\"text\":\"hello bot\"}}")
    );

    // Refusals name what was wrong and exit as bad input.
    let nobody = lark.run(&["emulator", "say", "--as", "Nobody", "hi"]).await;
    assert_eq!(nobody.code, 8, "{}", nobody.stderr);
    assert!(
        nobody.stderr.contains("no user Nobody"),
        "{}",
        nobody.stderr
    );
    let not_a_card = lark
        .run(&["emulator", "click", "--as", "Tom", "--message", &id])
        .await;
    assert_eq!(not_a_card.code, 8, "{}", not_a_card.stderr);
    assert!(
        not_a_card.stderr.contains("has no callback"),
        "{}",
        not_a_card.stderr
    );
    let elsewhere = lark
        .run(&[
            "emulator",
            "messages",
            "--control",
            "http://127.0.0.1:9/__emulator/v1",
        ])
        .await;
    assert_eq!(elsewhere.code, 9, "{}", elsewhere.stderr);
    assert!(
        elsewhere.stderr.contains("is `lark emulator` running?"),
        "{}",
        elsewhere.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_each_event_as_json_and_answers_card_clicks() {
    let mut config = lark_emulator::EmulatorConfig::default().long_connection();
    config.ws.ping_interval_secs = 1;
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ack = write(
        dir.path(),
        "ack.json",
        br#"{"toast":{"type":"success","content":"noted by lark listen"}}"#,
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["listen", "--ack-card", &ack])
        .env("LARK_BASE_URL", emulator.base_url())
        .env("LARK_APP_ID", emulator.app_id())
        .env("LARK_APP_SECRET", emulator.app_secret())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    listening(&emulator).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    let said = emulator
        .user_says_text(&emulator.default_chat(), &tom, "over the long connection")
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["event_type"], "im.message.receive_v1");
    assert_eq!(event["event"]["message"]["message_id"], said.as_str());
    assert_eq!(
        event["event"]["message"]["text"],
        "over the long connection"
    );

    let sent = emulator_send_card(&emulator).await;
    let outcome = emulator
        .click(&sent, &tom, serde_json::json!({"k": "v"}))
        .await
        .unwrap();
    assert_eq!(outcome.toast.unwrap()["content"], "noted by lark listen");
    let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let click: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(click["kind"], "card_action");
    assert_eq!(click["action"]["value"]["k"], "v");
    child.kill().await.unwrap();
}

/// The bot posts a card through the plain CLI, and returns its message id.
async fn emulator_send_card(emulator: &Emulator) -> String {
    let lark = Lark::new(emulator);
    let dir = tempfile::tempdir().unwrap();
    let card = write(dir.path(), "card.json", br#"{"schema":"2.0","body":{"elements":[{"tag":"button","text":{"tag":"plain_text","content":"Go"}}]}}"#);
    lark.run(&[
        "send",
        "--to",
        &format!("chat:{}", emulator.default_chat()),
        "--card",
        &card,
    ])
    .await
    .ok()
    .trim()
    .to_owned()
}

/// A file a user sent to the default chat: its message id and file key.
fn user_file(emulator: &Emulator, name: &str, bytes: &[u8]) -> (String, String) {
    let tom = emulator.user("Tom").unwrap().open_id;
    let message = emulator
        .user_sends_file(&emulator.default_chat(), &tom, name, bytes.to_vec())
        .unwrap();
    let content: Value = serde_json::from_str(
        emulator.message(&message).unwrap()["body"]["content"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let key = content["file_key"].as_str().unwrap().to_owned();
    (message, key)
}

/// Every entry of `dir`, sorted: nothing but what the test expects is left there.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_never_write_through_links_or_over_files_unless_forced() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let (message, key) = user_file(&emulator, "report.txt", b"the download");
    let dir = tempfile::tempdir().unwrap();
    let download = |output: &str, force: bool| {
        let mut args = vec![
            "download".to_owned(),
            "resource".to_owned(),
            message.clone(),
            key.clone(),
            "--type".to_owned(),
            "file".to_owned(),
            "-o".to_owned(),
            output.to_owned(),
        ];
        if force {
            args.push("--force".to_owned());
        }
        args
    };
    let run = |args: Vec<String>| {
        let lark = &lark;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            lark.run(&args).await
        }
    };

    // An existing file is kept unless --force.
    let existing = write(dir.path(), "existing.txt", b"keep me");
    let refused = run(download(&existing, false)).await;
    assert_eq!(refused.code, 9, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("already exists") && refused.stderr.contains("--force"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    run(download(&existing, true)).await.ok();
    assert_eq!(std::fs::read(&existing).unwrap(), b"the download");

    // A link at the target is never followed, forced or not.
    let victim = write(dir.path(), "victim.txt", b"precious");
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for force in [false, true] {
        let refused = run(download(link.to_str().unwrap(), force)).await;
        assert_eq!(refused.code, 9, "{}", refused.stderr);
        assert!(
            refused.stderr.contains("symbolic link"),
            "{}",
            refused.stderr
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

    // A planted `.part` link (the old temporary name) is not written through.
    let target = dir.path().join("fresh.txt");
    std::os::unix::fs::symlink(&victim, dir.path().join("fresh.txt.part")).unwrap();
    run(download(target.to_str().unwrap(), false)).await.ok();
    assert_eq!(std::fs::read(&target).unwrap(), b"the download");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

    // Directories and devices (a FIFO here) are refused with a clear error.
    let fifo = dir.path().join("fifo");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
    )
    .unwrap();
    for (target, why) in [
        (fifo.to_str().unwrap(), "not a regular file"),
        (dir.path().to_str().unwrap(), "is a directory"),
    ] {
        let refused = run(download(target, true)).await;
        assert_eq!(refused.code, 9, "{}", refused.stderr);
        assert!(refused.stderr.contains(why), "{}", refused.stderr);
    }

    // `-o -` writes to standard output.
    assert_eq!(run(download("-", false)).await.ok(), "the download");

    // A failed download leaves nothing behind.
    let before = entries(dir.path());
    let failed = lark
        .run(&[
            "download",
            "resource",
            &message,
            "file_v3_00000000-0000-0000-0000-000000000000",
            "--type",
            "file",
            "-o",
            dir.path().join("missing.txt").to_str().unwrap(),
        ])
        .await;
    assert_ne!(failed.code, 0);
    assert_eq!(entries(dir.path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_the_server_chooses_is_made_safe_and_never_replaces_a_file() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let taken = write(dir.path(), "notes.md", b"mine");
    for (name, bytes, saved_as) in [
        ("notes.md", &b"first"[..], "notes (1).md"),
        ("notes.md", &b"second"[..], "notes (2).md"),
        ("../../escape.sh", &b"outside?"[..], "escape.sh"),
        (".bashrc", &b"hidden?"[..], "bashrc"),
    ] {
        let (message, key) = user_file(&emulator, name, bytes);
        let saved = lark
            .run_in(
                dir.path(),
                &[
                    "--json", "download", "resource", &message, &key, "--type", "file",
                ],
            )
            .await
            .json();
        assert_eq!(saved["path"], format!("./{saved_as}"), "{name}");
        assert_eq!(std::fs::read(dir.path().join(saved_as)).unwrap(), bytes);
    }
    assert_eq!(std::fs::read(&taken).unwrap(), b"mine");
    assert_eq!(
        entries(dir.path()),
        [
            "bashrc",
            "escape.sh",
            "notes (1).md",
            "notes (2).md",
            "notes.md"
        ]
    );
    assert!(
        !dir.path()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("escape.sh")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_chat_members_cannot_drive_the_terminal_or_forge_rows() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap().open_id;
    let hostile = "hi\u{1b}]0;owned\u{7}\u{1b}[2J\nom_forged\tou_forged\ttext\tforged row";
    emulator.user_says_text(&chat, &tom, hostile).unwrap();
    let shown = lark.run(&["history", &chat]).await.ok();
    let rows: Vec<&str> = shown.lines().collect();
    assert_eq!(rows.len(), 1, "{shown:?}");
    assert_eq!(rows[0].split('\t').count(), 4, "{shown:?}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(
        rows[0].contains("\\u{1b}[2J\\nom_forged\\tou_forged"),
        "{shown:?}"
    );

    // --json keeps the text as it is.
    let json: Value =
        serde_json::from_str(lark.run(&["--json", "history", &chat]).await.ok().trim()).unwrap();
    let content: Value = serde_json::from_str(json["body"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["text"], hostile);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_standard_output_ends_the_command_quietly() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator.user_says_text(&chat, &tom, "one").unwrap();
    // A pipe whose reader is gone before the command starts: its first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let run = lark
        .run_with(&["history", &chat], move |command| {
            command.stdout(writer);
        })
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_turns_on_the_clis_tracing() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let quiet = lark.run(&["history", &chat]).await;
    assert_eq!(quiet.stderr, "");
    let traced = lark
        .run_with(&["history", &chat], |command| {
            command.env("RUST_LOG", "lark_http=debug");
        })
        .await;
    assert_eq!(traced.code, 0, "{}", traced.stderr);
    assert!(traced.stderr.contains("DEBUG"), "{}", traced.stderr);
    assert!(!traced.stderr.contains(&emulator.app_secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_stops_without_acknowledging_an_event_it_could_not_write() {
    let config = lark_emulator::EmulatorConfig::default().long_connection();
    let emulator = Emulator::start(config).await.unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["listen"])
        .env("LARK_BASE_URL", emulator.base_url())
        .env("LARK_APP_ID", emulator.app_id())
        .env("LARK_APP_SECRET", emulator.app_secret())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    listening(&emulator).await;
    let tom = emulator.user("Tom").unwrap().open_id;
    emulator
        .user_says_text(&emulator.default_chat(), &tom, "nobody reads this")
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(9), "{stderr}");
    assert!(stderr.contains("could not write an event"), "{stderr}");
    assert!(
        emulator.ws_acks().iter().all(|ack| ack.code != 200),
        "{:?}",
        emulator.ws_acks()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_ends_at_the_timeout_and_leaves_nothing() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let (message, key) = user_file(&emulator, "report.txt", b"the download");
    emulator.inject(
        FaultRule::next(1, Fault::StallBody { after_bytes: 4 })
            .on_method("GET")
            .on_path("/open-apis/im/v1/messages/"),
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.txt");
    let run = lark
        .run(&[
            "--timeout",
            "1",
            "download",
            "resource",
            &message,
            &key,
            "--type",
            "file",
            "-o",
            target.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("transfer"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let refused = lark.run(&["--timeout", "0", "history", "oc_1"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("out of range"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_read_receipts_urgent_messages_and_bot_info() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap().open_id;
    let message = lark
        .run(&["send", "--to", &chat, "--text", "read me"])
        .await
        .ok()
        .trim()
        .to_owned();

    let pin = lark.run(&["--json", "pin", &message]).await.json();
    assert_eq!(pin["message_id"], message.as_str());
    let pins = lark.run(&["pins", &chat]).await.ok();
    assert!(pins.starts_with(&message), "{pins}");
    lark.run(&["unpin", &message]).await.ok();
    assert!(lark.run(&["pins", &chat]).await.ok().is_empty());

    emulator
        .user_reads(&tom, std::slice::from_ref(&message))
        .unwrap();
    let readers = lark.run(&["--json", "read-users", &message]).await.json();
    assert_eq!(readers["user_id"], tom.as_str());

    let urgent = lark
        .run(&[
            "--json",
            "urgent",
            &message,
            &tom,
            "ou_nobody",
            "--via",
            "sms",
        ])
        .await
        .json();
    assert_eq!(
        urgent["invalid_user_id_list"],
        serde_json::json!(["ou_nobody"])
    );
    assert_eq!(emulator.urgent_notifications()[0]["channel"], "urgent_sms");

    let me = lark.run(&["bot-info"]).await.ok();
    assert!(me.starts_with(&emulator.bot_open_id()), "{me}");
}

/// The exit-code table of `lark --help`, as `(code, what)`.
fn exit_code_table() -> Vec<(i32, String)> {
    let help = Command::new(env!("CARGO_BIN_EXE_lark"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let table = help.split_once("Exit codes:\n").unwrap().1;
    table
        .lines()
        .take_while(|line| !line.trim().is_empty())
        // A row is `code  what`; a longer row continues on lines that begin with no code.
        .filter_map(|line| {
            let (code, what) = line.trim_start().split_once("  ")?;
            Some((code.parse().ok()?, what.trim().to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one case per row of the table, in its order
async fn every_error_class_exits_with_the_code_the_table_gives_it() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let tom = emulator.user("Tom").unwrap().open_id;
    let dir = tempfile::tempdir().unwrap();
    let mut seen = std::collections::BTreeMap::new();
    let mut expect = |code: i32, what: &str, run: Run| {
        assert_eq!(
            run.code, code,
            "{what}: stdout {} stderr {}",
            run.stdout, run.stderr
        );
        seen.insert(code, what.to_owned());
    };

    expect(0, "success", lark.run(&["chat", "list"]).await);
    // Only the sender may edit a message (230071): a refusal of no other class.
    let said = emulator.user_says_text(&chat, &tom, "mine").unwrap();
    expect(
        1,
        "the platform refused",
        lark.run(&["edit", &said, "--text", "yours"]).await,
    );
    expect(
        2,
        "bad command line",
        lark.run(&["send", "--text", "x"]).await,
    );
    let wrong = Lark {
        app_secret: "not-the-secret".to_owned(),
        ..Lark::new(&emulator)
    };
    expect(3, "credentials", wrong.run(&["chat", "list"]).await);
    // The platform's answer for a missing scope, as captured in
    // github.com/pppscn/SmsForwarder/issues/589 (the lark-api response fixtures).
    emulator.inject(
        FaultRule::next(
            1,
            Fault::Answer {
                status: 400,
                code: 99_991_672,
                msg: "Access denied. One of the following scopes is required: [im:chat:readonly]"
                    .to_owned(),
            },
        )
        .on_path("/open-apis/im/v1/chats"),
    );
    let scope = lark.run(&["chat", "list"]).await;
    assert!(
        scope.stderr.contains("im:chat:readonly"),
        "{}",
        scope.stderr
    );
    expect(4, "a scope is missing", scope);
    expect(
        5,
        "not found",
        lark.run(&[
            "send",
            "--to",
            "oc_00000000000000000000000000000000",
            "--text",
            "x",
        ])
        .await,
    );
    emulator.inject(
        FaultRule::next(
            4,
            Fault::RateLimit {
                reset_secs: 0,
                limit: 50,
            },
        )
        .on_path("/open-apis/im/v1/chats"),
    );
    expect(6, "rate limited", lark.run(&["chat", "list"]).await);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    expect(
        7,
        "network",
        lark.run(&["--base-url", &nowhere, "chat", "list"]).await,
    );
    let not_json = write(dir.path(), "post.json", b"{not json");
    expect(
        8,
        "invalid input",
        lark.run(&["send", "--to", &chat, "--post", &not_json])
            .await,
    );
    let missing = dir.path().join("missing.json");
    let missing = missing.to_str().unwrap();
    expect(
        9,
        "local failure",
        lark.run(&["send", "--to", &chat, "--post", missing]).await,
    );
    expect(
        9,
        "local failure",
        lark.run(&["upload", "image", missing]).await,
    );
    expect(
        9,
        "local failure",
        lark.run(&["event", "decode", missing]).await,
    );
    let unsigned = write(
        dir.path(),
        "event.json",
        br#"{"schema":"2.0","header":{"event_id":"e","token":"wrong","event_type":"im.message.receive_v1"},"event":{}}"#,
    );
    expect(
        10,
        "verification failed",
        lark.run(&[
            "event",
            "decode",
            "--verification-token",
            "right",
            &unsigned,
        ])
        .await,
    );

    // Every row of the table was exercised, and nothing outside it was seen.
    let table: Vec<i32> = exit_code_table()
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert_eq!(table, (0..=10).collect::<Vec<_>>());
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), table);
}

#[test]
fn completions_are_generated_for_four_shells_and_man_pages_are_created_new() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef lark"),
        ("fish", "complete -c lark"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_lark"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["merge-forward", "unreact", "history"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man");
    let out = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["--json", "man"])
        .arg(&pages)
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = listed["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(names.contains(&"lark.1") && names.contains(&"lark-chat-create.1"));
    let page = std::fs::read_to_string(pages.join("lark-send.1")).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
    // An existing page is never overwritten.
    let again = Command::new(env!("CARGO_BIN_EXE_lark"))
        .arg("man")
        .arg(&pages)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(9));
}

#[test]
fn a_global_option_after_the_command_is_a_usage_error_that_says_where_it_goes() {
    let out = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["history", "oc_1", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("lark --json <COMMAND>"), "{stderr}");
    let help = Command::new(env!("CARGO_BIN_EXE_lark"))
        .args(["send", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(!help.contains("--app-secret <"), "{help}");
    assert!(help.contains("see `lark --help`"), "{help}");
}

/// Starts `lark ARGS` with standard input and output piped.
fn spawn_piped(lark: &Lark, args: &[&str]) -> tokio::process::Child {
    spawn_adjusted(lark, args, |_| {})
}

/// Starts `lark ARGS` with the emulator's credentials and standard input and output piped,
/// the command first adjusted by `adjust`.
fn spawn_adjusted(
    lark: &Lark,
    args: &[&str],
    adjust: impl FnOnce(&mut tokio::process::Command),
) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lark"));
    command
        .args(args)
        .env("LARK_BASE_URL", &lark.base_url)
        .env("LARK_APP_ID", &lark.app_id)
        .env("LARK_APP_SECRET", &lark.app_secret)
        .env_remove("LARK_DOMAIN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    adjust(&mut command);
    command.spawn().unwrap()
}

/// The text of each card the messages `ids` refer to, in order; each card closed.
fn streamed_texts(emulator: &Emulator, ids: &[&str]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            let card_id = emulator
                .card_ids()
                .into_iter()
                .find(|card| emulator.card(card).unwrap()["message_id"] == *id)
                .unwrap_or_else(|| panic!("no card was sent as {id}"));
            let card = emulator.card(&card_id).unwrap();
            assert_eq!(card["streaming"], false, "card {card_id} was closed");
            card["text"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn stream_types_standard_input_into_a_card_as_it_arrives() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let chat = emulator.default_chat();
    let mut child = spawn_piped(
        &lark,
        &[
            "stream",
            "--to",
            &format!("chat:{chat}"),
            "--title",
            "Answer",
        ],
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all("Hello from a pipe ".as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    // The first text is in the chat while the input is still open.
    let shown = emulator
        .wait_until(std::time::Duration::from_secs(60), |e| {
            e.card_ids()
                .iter()
                .any(|id| e.card(id).unwrap()["text"] == "Hello from a pipe ")
        })
        .await;
    assert!(shown, "the first text was shown before the input ended");
    // A character split between two writes arrives whole.
    let heart = "❤".as_bytes();
    stdin.write_all(&heart[..1]).await.unwrap();
    stdin.flush().await.unwrap();
    stdin.write_all(&heart[1..]).await.unwrap();
    stdin.write_all(" and 中文.".as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ids: Vec<&str> = stdout.lines().collect();
    assert_eq!(ids.len(), 1, "{stdout}");
    assert_eq!(
        streamed_texts(&emulator, &ids),
        ["Hello from a pipe ❤ and 中文."]
    );
}

/// Runs `lark stream --to CHAT` with `input` written to it in pieces; answers its stdout.
async fn stream_through_the_cli(lark: &Lark, chat: &str, input: &str) -> String {
    let mut child = spawn_piped(lark, &["stream", "--to", chat]);
    let mut stdin = child.stdin.take().unwrap();
    for piece in input.as_bytes().chunks(3000) {
        stdin.write_all(piece).await.unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn fifty_answers_streamed_from_the_shell_under_faults_end_with_each_card_holding_its_text() {
    let emulator = Emulator::start_default().await.unwrap();
    for rule in FaultRule::unreliable_writes() {
        emulator.inject(rule);
    }
    let lark = std::sync::Arc::new(Lark::new(&emulator));
    let chat = emulator.default_chat();
    // Lengths up to 80,000 characters of ASCII, CJK, emoji, quotes and line breaks; a fixed
    // sequence, so a failure can be replayed.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % 1_000_003).unwrap()
    };
    let inputs: Vec<String> = (0..50)
        .map(|i| {
            let chars = if i % 10 == 0 {
                80_000
            } else {
                1 + next() % 20_000
            };
            (0..chars)
                .map(|_| ["a", "字", "😀", " ", "\n", "\""][next() % 6])
                .collect()
        })
        .collect();
    let mut cards = 0;
    for batch in inputs.chunks(10) {
        let mut runs = tokio::task::JoinSet::new();
        for (index, input) in batch.iter().cloned().enumerate() {
            let (lark, chat) = (lark.clone(), chat.clone());
            runs.spawn(async move { (index, stream_through_the_cli(&lark, &chat, &input).await) });
        }
        while let Some(joined) = runs.join_next().await {
            let (index, stdout) = joined.unwrap();
            let ids: Vec<&str> = stdout.lines().collect();
            assert_eq!(streamed_texts(&emulator, &ids).concat(), batch[index]);
            cards += ids.len();
        }
    }
    assert!(
        cards > 50,
        "the 80,000-character answers rolled over ({cards} cards)"
    );
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| matches!(r.code, 300_317 | 200_860 | 200_770 | 300_309))
        .count();
    assert_eq!(refused, 0);
    assert_eq!(emulator.card_rate_refusals(), 0);
    assert!(
        emulator
            .fault_rules()
            .iter()
            .map(|rule| rule.fired)
            .sum::<u64>()
            > 0
    );
}

#[tokio::test]
async fn stream_refuses_input_that_is_not_utf8_and_closes_what_it_sent() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let mut child = spawn_piped(&lark, &["stream", "--to", &emulator.default_chat()]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"fine, then \xff broken").await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(8));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not UTF-8 at byte 11"), "{stderr}");
    let id = emulator.card_ids().pop().unwrap();
    let card = emulator.card(&id).unwrap();
    assert_eq!(card["streaming"], false);
    assert_eq!(card["text"], "fine, then \n\n(interrupted)");
}

/// A GET over a fresh connection: the status line's code, the `location` header, the body.
async fn http_get(url: &str) -> (u16, Option<String>, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head.lines().find_map(|line| {
        line.to_ascii_lowercase()
            .starts_with("location:")
            .then(|| line[9..].trim().to_owned())
    });
    (status, location, body.to_owned())
}

/// `lark ARGS` with the emulator's credentials and `config` as LARK_CONFIG_DIR, its output
/// piped.
fn spawn_in_config(lark: &Lark, config: &Path, args: &[&str]) -> tokio::process::Child {
    spawn_adjusted(lark, args, |command| {
        command
            .env("LARK_CONFIG_DIR", config)
            .env_remove("LARK_ACCOUNTS_URL")
            .stdin(Stdio::null());
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads `child`'s standard error a line at a time, echoing each into `transcript`, until a
/// line `pick` accepts.
async fn stderr_until(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
    transcript: &mut Vec<String>,
    pick: impl Fn(&str) -> Option<String>,
) -> String {
    while let Some(line) = lines.next_line().await.unwrap() {
        transcript.push(format!("[stderr] {line}"));
        if let Some(found) = pick(&line) {
            return found;
        }
    }
    panic!("standard error ended first: {transcript:#?}");
}

/// After `lark auth login`: the one private token file, then `auth status`, a message sent
/// `--as user`, `auth logout` and `auth status` again, noted in `transcript`. Answers the
/// tokens the file held.
async fn signed_in_files_and_commands(
    emulator: &Emulator,
    lark: &Lark,
    config: &Path,
    transcript: &mut Vec<String>,
) -> [String; 2] {
    // One private file holds the pair; no output shows a token from it.
    let files: Vec<_> = std::fs::read_dir(config)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let secrets = [
        stored["access_token"].as_str().unwrap().to_owned(),
        stored["refresh_token"].as_str().unwrap().to_owned(),
    ];

    let with_config = |command: &mut Command| {
        command.env("LARK_CONFIG_DIR", config);
    };
    let status = lark.run_with(&["auth", "status"], with_config).await;
    transcript.push("$ lark auth status".to_owned());
    transcript.extend(status.stdout.lines().map(|line| format!("[stdout] {line}")));
    let status = status.ok();
    assert!(status.contains("Signed in as Tom"), "{status}");
    let chat = emulator.default_chat();
    let sent = lark
        .run_with(
            &[
                "--as",
                "user",
                "send",
                "--to",
                &chat,
                "--text",
                "from Tom's terminal",
            ],
            with_config,
        )
        .await
        .ok();
    let message = emulator.message(sent.trim()).unwrap();
    assert_eq!(message["sender"]["sender_type"], "user", "{message}");
    let logout = lark.run_with(&["auth", "logout"], with_config).await.ok();
    transcript.push("$ lark auth logout".to_owned());
    transcript.extend(logout.lines().map(|line| format!("[stdout] {line}")));
    let after = lark.run_with(&["auth", "status"], with_config).await;
    assert_eq!(after.code, 3, "{}", after.stderr);
    transcript.push("$ lark auth status".to_owned());
    transcript.extend(after.stderr.lines().map(|line| format!("[stderr] {line}")));
    transcript.push(format!("(exit {})", after.code));

    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_login_receives_the_redirect_checks_its_state_and_acts_as_the_user() {
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let config = tempfile::tempdir().unwrap();
    let redirect_uri = format!("http://127.0.0.1:{}/callback", free_port());
    let mut login = spawn_in_config(
        &lark,
        config.path(),
        &[
            "auth",
            "login",
            "--no-browser",
            "--scope",
            "im:message",
            "--redirect-uri",
            &redirect_uri,
        ],
    );
    let mut transcript = vec![format!(
        "$ lark auth login --no-browser --scope im:message --redirect-uri {redirect_uri}"
    )];
    let mut lines = tokio::io::BufReader::new(login.stderr.take().unwrap()).lines();
    let url = stderr_until(&mut lines, &mut transcript, |line| {
        line.trim()
            .starts_with("http")
            .then(|| line.trim().to_owned())
    })
    .await;
    stderr_until(&mut lines, &mut transcript, |line| {
        line.starts_with("Waiting").then(String::new)
    })
    .await;

    // Tom picks himself on the emulator's sign-in page, which redirects to the listener.
    let (status, _, page) = http_get(&url).await;
    assert_eq!(status, 200);
    assert!(page.contains("Tom"), "{page}");
    let (status, location, _) = http_get(&format!("{url}&emulator_user=Tom")).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("{redirect_uri}?code=")),
        "{location}"
    );

    // A redirect with another state is refused, and no token is asked for.
    let forged = format!(
        "{}&state=0123456789abcdef0123456789abcdef",
        location.split("&state=").next().unwrap()
    );
    let (status, _, _) = http_get(&forged).await;
    assert_eq!(status, 400);
    assert_eq!(emulator.oauth_grants("authorization_code"), 0);
    stderr_until(&mut lines, &mut transcript, |line| {
        line.contains("another state").then(String::new)
    })
    .await;

    let (status, _, page) = http_get(&location).await;
    assert_eq!(status, 200, "{page}");
    let output = login.wait_with_output().await.unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        transcript.push(format!("[stderr] {line}"));
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    transcript.extend(stdout.lines().map(|line| format!("[stdout] {line}")));
    assert!(output.status.success(), "{transcript:#?}");
    assert!(stdout.starts_with("Signed in as Tom (ou_"), "{stdout}");
    assert_eq!(emulator.oauth_grants("authorization_code"), 1);

    let secrets =
        signed_in_files_and_commands(&emulator, &lark, config.path(), &mut transcript).await;
    let shown = transcript.join("\n");
    for secret in &secrets {
        assert!(
            !shown.contains(secret.as_str()),
            "a token was printed:\n{shown}"
        );
    }
    // The session, as the closing notes quote it (`-- --nocapture`).
    eprintln!("{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_login_with_the_device_flow_waits_for_approval() {
    let emulator = Emulator::start_default().await.unwrap();
    emulator.set_device_interval(1);
    let lark = Lark::new(&emulator);
    let config = tempfile::tempdir().unwrap();
    let mut login = spawn_in_config(
        &lark,
        config.path(),
        &["--json", "auth", "login", "--device"],
    );
    let mut transcript = Vec::new();
    let mut lines = tokio::io::BufReader::new(login.stderr.take().unwrap()).lines();
    let code = stderr_until(&mut lines, &mut transcript, |line| {
        line.split("enter the code ").nth(1).map(str::to_owned)
    })
    .await;
    emulator.decide_device("Tom", &code, true).unwrap();
    let output = login.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{transcript:#?}");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["signed_in"], true);
    assert_eq!(
        answer["open_id"],
        emulator.user("Tom").unwrap().open_id.as_str()
    );
    assert!(answer.get("access_token").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_commands_started_together_with_an_expired_user_token_refresh_once() {
    use lark::http::{FileUserTokenStore, UserKey, UserTokenStore};
    let emulator = Emulator::start_default().await.unwrap();
    let lark = Lark::new(&emulator);
    let config = tempfile::tempdir().unwrap();
    let client = lark::Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(lark::BaseUrl::parse(&emulator.base_url()).unwrap())
        .build()
        .unwrap();
    let oauth = client.oauth();
    let sign_in = oauth
        .sign_in(
            "http://127.0.0.1:8400/callback",
            ["im:message", "offline_access"],
        )
        .unwrap();
    let redirected = emulator.consent("Tom", sign_in.url()).unwrap();
    let mut pair = oauth
        .finish(&sign_in, &lark::Redirect::from_url(&redirected))
        .await
        .unwrap();
    pair.expires_at = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    let key = UserKey::new(client.http().base_url(), client.http().app_id(), "default");
    FileUserTokenStore::new(config.path())
        .save(&key, &pair)
        .await
        .unwrap();
    emulator.advance_time(std::time::Duration::from_secs(7200));

    let chat = emulator.default_chat();
    let with_config = |command: &mut Command| {
        command.env("LARK_CONFIG_DIR", config.path());
    };
    let one = ["--as", "user", "send", "--to", &chat, "--text", "one"];
    let two = ["--as", "user", "send", "--to", &chat, "--text", "two"];
    let (first, second) = tokio::join!(
        lark.run_with(&one, with_config),
        lark.run_with(&two, with_config),
    );
    for run in [first, second] {
        let id = run.ok();
        let message = emulator.message(id.trim()).unwrap();
        assert_eq!(message["sender"]["sender_type"], "user", "{message}");
    }
    assert_eq!(
        emulator.oauth_grants("refresh_token"),
        1,
        "two commands, one refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_failure_names_its_causes_each_once() {
    // A loopback port that nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lark = Lark {
        base_url: format!("http://127.0.0.1:{port}"),
        app_id: "cli_a5fb0ae6a4000001".to_owned(),
        app_secret: "the-app-secret".to_owned(),
    };
    let text = lark.run(&["chat", "list"]).await;
    assert_eq!(text.code, 7, "{}", text.stderr);
    assert!(
        text.stderr.contains("error: could not reach 127.0.0.1"),
        "{}",
        text.stderr
    );
    let causes: Vec<&str> = text
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("  cause: "))
        .collect();
    assert!(
        causes
            .iter()
            .any(|cause| cause.to_ascii_lowercase().contains("refused")),
        "the operating system's reason is among the causes: {}",
        text.stderr
    );
    let json = lark.run(&["--json", "chat", "list"]).await;
    assert_eq!(json.code, 7, "{}", json.stderr);
    let report: Value = serde_json::from_str(json.stderr.trim()).unwrap();
    let error = report["error"].as_str().unwrap();
    let listed: Vec<&str> = report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cause| cause.as_str().unwrap())
        .collect();
    assert!(!listed.is_empty(), "{report}");
    for (at, cause) in listed.iter().enumerate() {
        assert!(!error.contains(cause), "{cause} is already in {error}");
        assert!(!listed[..at].contains(cause), "{cause} is listed twice");
    }
    assert!(!json.stderr.contains("the-app-secret"));
}
