//! Publishing checks: the dependency policy (`deny.toml`), every publishable crate packaged,
//! and the packaged crates built by a new crate that depends on them by their published
//! names, as a user's would.

use super::{cargo, root, step};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo-deny release `ci` installs (into `target/tools`) when none is on the PATH.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// `cargo deny check` with bans, licences and sources; advisories too, but only when the
/// advisory database can be fetched (it lives on a host CI may not reach).
pub(crate) fn deny() -> Result<(), String> {
    let deny = cargo_deny()?;
    let mut check = Command::new(&deny);
    check
        .args(["check", "bans", "licenses", "sources"])
        .current_dir(root());
    step("cargo deny check bans licenses sources", check)?;
    let fetched = Command::new(&deny)
        .args(["fetch", "db"])
        .current_dir(root())
        .output()
        .is_ok_and(|out| out.status.success());
    if fetched {
        let mut advisories = Command::new(&deny);
        advisories.args(["check", "advisories"]).current_dir(root());
        step("cargo deny check advisories", advisories)
    } else {
        println!("==> cargo deny check advisories: skipped, the advisory database is unreachable");
        Ok(())
    }
}

/// The cargo-deny binary: one on the PATH, else the one in `target/tools`, installed there
/// from the package registry when missing.
fn cargo_deny() -> Result<PathBuf, String> {
    let works = |program: &Path| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    };
    let on_path = PathBuf::from("cargo-deny");
    if works(&on_path) {
        return Ok(on_path);
    }
    let tools = root().join("target").join("tools");
    let local = tools.join("bin").join("cargo-deny");
    if !works(&local) {
        let mut install = cargo();
        install
            .args(["install", "--locked", "--quiet", "cargo-deny", "--version"])
            .arg(CARGO_DENY_VERSION)
            .arg("--root")
            .arg(&tools);
        step(
            &format!("cargo install cargo-deny {CARGO_DENY_VERSION}"),
            install,
        )?;
    }
    Ok(local)
}

/// A publishable crate: its name, version and directory.
struct Publishable {
    name: String,
    version: String,
    has_lib: bool,
}

/// Every workspace member that may be published.
fn publishable() -> Result<Vec<Publishable>, String> {
    let output = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|err| format!("could not start cargo metadata: {err}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("cargo metadata printed no JSON: {err}"))?;
    let mut crates = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        // `publish = false` reads as an empty list of registries.
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let has_lib = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|target| {
                target["kind"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|kind| kind == "lib")
            });
        crates.push(Publishable {
            name: package["name"].as_str().unwrap_or_default().to_owned(),
            version: package["version"].as_str().unwrap_or_default().to_owned(),
            has_lib,
        });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

/// Packages every publishable crate, then builds them from the packages alone: a new crate
/// outside the workspace takes the dependency lines of the README's Install section, the
/// registry patched to the unpacked `.crate` files, and the CLI is built from its package and
/// run.
pub(crate) fn package() -> Result<(), String> {
    let crates = publishable()?;
    let mut package = cargo();
    package.args([
        "package",
        "--workspace",
        "--no-verify",
        "--allow-dirty",
        "--quiet",
    ]);
    step("cargo package (every publishable crate)", package)?;

    let scratch = root().join("target").join("install-check");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .map_err(|err| format!("removing {}: {err}", scratch.display()))?;
    }
    let unpacked = scratch.join("crates");
    std::fs::create_dir_all(&unpacked)
        .map_err(|err| format!("creating {}: {err}", unpacked.display()))?;
    for krate in &crates {
        let file = root()
            .join("target")
            .join("package")
            .join(format!("{}-{}.crate", krate.name, krate.version));
        // `-m`: the files get the time they were unpacked, not the fixed time cargo stamps
        // into a package, so that the shared target directory never takes an earlier
        // package's build for this one.
        let mut untar = Command::new("tar");
        untar.arg("-xzmf").arg(&file).arg("-C").arg(&unpacked);
        step(&format!("unpack {}", file.display()), untar)?;
    }

    let mut manifest = String::from(
        "[package]\nname = \"install-check\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [workspace]\nmembers = [\".\", \"crates/larkrs-cli-CLI_VERSION\"]\n\n\
         # The workspace's own dev profile, so that dependencies built for it are reused.\n\
         [profile.dev]\ndebug = \"line-tables-only\"\n\n[profile.dev.package.\"*\"]\ndebug = false\n\n\
         [dependencies]\n",
    );
    let readme = readme_install()?;
    let mut patch = String::from("\n[patch.crates-io]\n");
    for krate in &crates {
        if krate.name == "larkrs-cli" {
            manifest = manifest.replace("CLI_VERSION", &krate.version);
            if !readme
                .installs
                .contains(&format!("cargo install {}", krate.name))
            {
                return Err(format!(
                    "the README's Install section does not say `cargo install {}`",
                    krate.name
                ));
            }
        } else if krate.has_lib
            && !readme
                .dependencies
                .iter()
                .any(|(name, _)| *name == krate.name)
        {
            return Err(format!(
                "the README's Install section gives no dependency line for {}",
                krate.name
            ));
        }
        let _ = writeln!(
            patch,
            "{} = {{ path = \"crates/{}-{}\" }}",
            krate.name, krate.name, krate.version
        );
    }
    for (_, line) in &readme.dependencies {
        let _ = writeln!(manifest, "{line}");
    }
    manifest.push_str(&patch);
    write_new(&scratch.join("Cargo.toml"), &manifest)?;
    write_new(&scratch.join("src").join("main.rs"), MAIN)?;
    // The workspace's lock file, so that the check builds the versions CI tested.
    std::fs::copy(root().join("Cargo.lock"), scratch.join("Cargo.lock"))
        .map_err(|err| format!("copying Cargo.lock: {err}"))?;

    let mut build = cargo();
    build
        .args(["build", "--workspace", "--quiet"])
        .current_dir(&scratch)
        .env("CARGO_TARGET_DIR", root().join("target"));
    step("build the packaged crates by their published names", build)?;
    let mut run = Command::new(root().join("target").join("debug").join("install-check"));
    run.current_dir(&scratch);
    step("run the program built from the packages", run)?;
    let mut version = Command::new(root().join("target").join("debug").join("lark"));
    version.arg("--version");
    step("lark --version, built from its package", version)
}

/// What the README's Install section tells a user to write.
struct Install {
    /// Each dependency line, by crate name: the last one given for a name, so a commented
    /// alternative with more features (`# larkrs = { …, features = ["ws"] }`) is the one used.
    dependencies: Vec<(String, String)>,
    /// The text of its shell blocks.
    installs: String,
}

/// Reads the dependency lines and install commands of the README's `## Install` section.
fn readme_install() -> Result<Install, String> {
    let path = root().join("README.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|err| format!("reading {}: {err}", path.display()))?;
    let section = text
        .split("\n## ")
        .find(|section| section.starts_with("Install"))
        .ok_or("the README has no `## Install` section")?;
    let mut install = Install {
        dependencies: Vec::new(),
        installs: String::new(),
    };
    let mut block: Option<&str> = None;
    for line in section.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            block = if block.is_some() { None } else { Some(fence) };
            continue;
        }
        match block {
            Some("toml") => {
                let line = line.trim_start_matches("# ");
                let line = line.split(" #").next().unwrap_or(line).trim();
                let Some((name, _)) = line.split_once(" = ") else {
                    continue;
                };
                if name.starts_with('[') {
                    continue;
                }
                install.dependencies.retain(|(known, _)| known != name);
                install
                    .dependencies
                    .push((name.to_owned(), line.to_owned()));
            }
            Some("sh") => {
                install.installs.push_str(line);
                install.installs.push('\n');
            }
            _ => {}
        }
    }
    if install.dependencies.is_empty() {
        return Err("the README's Install section has no dependency lines".to_owned());
    }
    Ok(install)
}

/// Writes `text` to `path`, a file that must not exist yet.
pub(crate) fn write_new(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|err| format!("creating {}: {err}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|err| format!("writing {}: {err}", path.display()))
}

/// The program built from the packages: it names a public item of every library crate, so
/// that each must resolve through its published name, and runs the README's first steps
/// offline against the packaged emulator.
const MAIN: &str = r#"use lark::{Bot, Client, MessageEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = lark_emulator::Emulator::start_default().await?;
    let client = Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(lark::BaseUrl::parse(&emulator.base_url())?)
        .build()?;
    let chat = lark_content::ChatId::new(emulator.default_chat());
    let sent = client.messages().send(chat, "built from the packages").await?;
    client.messages().react(&sent.message_id, "THUMBSUP").await?;
    let _request = lark_api::im::messages::SendMessage::new(
        lark_api::Receiver::chat(lark_content::ChatId::new("oc_1")),
        "text",
    );
    let _bot = Bot::builder(client)
        .encrypt_key("a key")
        .on_message(|event: MessageEvent| async move { event.reply("got it").await.map(drop) })
        .build()?;
    let _events = lark_events::EventConfig::new();
    let _ws = std::any::type_name::<lark_ws::WsClient>();
    let _redis = std::any::type_name::<lark_redis::RedisTokenStore>();
    println!("sent {} from the packaged crates", sent.message_id);
    Ok(())
}
"#;
