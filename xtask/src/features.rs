//! `cargo xtask features`: what the facade's default features cost three kinds of user, each a
//! new program built cold from the packaged crates (`cargo xtask package` first).

use super::root;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One user: a name, the dependency line, and the program.
struct User {
    name: &'static str,
    dependency: &'static str,
    program: &'static str,
}

const SEND_ONLY: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = lark::Client::from_env()?;
    let chat = lark::ChatId::new(std::env::args().nth(1).unwrap_or_default());
    let sent = client.messages().send(chat, "deploy finished").await?;
    println!("{}", sent.message_id);
    Ok(())
}
"#;

const WEBHOOK_BOT: &str = r#"use lark::{Bot, Client, MessageEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bot = Bot::builder(Client::from_env()?)
        .encrypt_key(std::env::var("LARK_ENCRYPT_KEY")?)
        .on_message(|event: MessageEvent| async move { event.reply("got it").await.map(drop) })
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    bot.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
"#;

const LONG_CONNECTION_BOT: &str = r#"use lark::{Bot, Client, MessageEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bot = Bot::builder(Client::from_env()?)
        .on_message(|event: MessageEvent| async move { event.reply("got it").await.map(drop) })
        .build()?;
    let handle = bot.connect();
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    Ok(())
}
"#;

/// The users: each kind with the dependency line the README gives it, and the send-only
/// program once more with the bot and the long connection turned on, which is what a
/// default that includes them would cost it.
fn users() -> Vec<User> {
    vec![
        User {
            name: "send-only",
            dependency: r#"larkrs = "0.1""#,
            program: SEND_ONLY,
        },
        User {
            name: "send-only-with-bot-and-ws",
            dependency: r#"larkrs = { version = "0.1", features = ["bot", "ws"] }"#,
            program: SEND_ONLY,
        },
        User {
            name: "webhook-bot",
            dependency: r#"larkrs = { version = "0.1", features = ["bot"] }"#,
            program: WEBHOOK_BOT,
        },
        User {
            name: "long-connection-bot",
            dependency: r#"larkrs = { version = "0.1", features = ["ws"] }"#,
            program: LONG_CONNECTION_BOT,
        },
    ]
}

/// Builds each user's program cold (its own target directory, release profile) and prints
/// the crates compiled, the wall time and the binary's size.
pub(crate) fn features() -> Result<(), String> {
    let unpacked = root().join("target").join("install-check").join("crates");
    if !unpacked.is_dir() {
        super::publish::package()?;
    }
    let base = root().join("target").join("features");
    let mut report = String::new();
    for user in users() {
        let dir = base.join(user.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|err| format!("removing {}: {err}", dir.display()))?;
        }
        let mut patch = String::new();
        for entry in std::fs::read_dir(&unpacked)
            .map_err(|err| format!("reading {}: {err}", unpacked.display()))?
            .filter_map(Result::ok)
        {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some((name, _version)) = file.rsplit_once('-') else {
                continue;
            };
            let _ = writeln!(
                patch,
                "{name} = {{ path = \"{}\" }}",
                entry.path().display()
            );
        }
        let manifest = format!(
            "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [workspace]\n\n[dependencies]\n{}\n\
             tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\", \"net\", \"signal\"] }}\n\n\
             [patch.crates-io]\n{patch}",
            user.name, user.dependency
        );
        super::publish::write_new(&dir.join("Cargo.toml"), &manifest)?;
        super::publish::write_new(&dir.join("src").join("main.rs"), user.program)?;
        std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock"))
            .map_err(|err| format!("copying Cargo.lock: {err}"))?;
        let started = Instant::now();
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build
            .args(["build", "--release", "--message-format", "json"])
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env_remove("RUSTFLAGS");
        println!(
            "==> cold release build: {} ({})",
            user.name, user.dependency
        );
        let output = build
            .output()
            .map_err(|err| format!("could not start cargo build: {err}"))?;
        let seconds = started.elapsed().as_secs_f64();
        if !output.status.success() {
            return Err(format!(
                "building {} failed:\n{}",
                user.name,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let compiled = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["reason"] == "compiler-artifact")
            .filter_map(|message| message["package_id"].as_str().map(str::to_owned))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let binary = dir.join("target").join("release").join(user.name);
        let bytes = size(&binary)?;
        let _ = writeln!(
            report,
            "{:<26} crates={compiled:<4} cold_release_build={seconds:>6.1}s binary={}KiB  [{}]",
            user.name,
            bytes / 1024,
            user.dependency
        );
    }
    print!("{report}");
    Ok(())
}

fn size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|meta| meta.len())
        .map_err(|err| format!("reading {}: {err}", path.display()))
}
