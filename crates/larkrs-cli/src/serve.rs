//! `lark emulator`: a local Lark Open Platform until Ctrl-C.

use crate::args::{Cli, EmulatorArgs};
use crate::output::Failure;
use lark_emulator::{AppConfig, Emulator, EmulatorConfig, WebhookConfig};

/// The largest state file read.
const MAX_STATE_FILE: u64 = 16 * 1024 * 1024;

pub(crate) async fn emulator(cli: &Cli, args: &EmulatorArgs) -> Result<(), Failure> {
    let mut config = match &args.state {
        Some(path) => state_file(path)?,
        None => EmulatorConfig::default(),
    };
    config.addr = args.addr;
    if cli.app_id.is_some() || cli.app_secret.is_some() {
        let default = AppConfig::default();
        let app_id = cli.app_id.clone().unwrap_or_else(|| default.app_id.clone());
        let mut app = AppConfig::new(
            app_id.clone(),
            cli.app_secret
                .clone()
                .unwrap_or_else(|| default.app_secret.clone()),
        );
        app.bot_open_id = default.bot_open_id;
        for chat in &mut config.chats {
            for bot in &mut chat.bots {
                if *bot == default.app_id {
                    bot.clone_from(&app_id);
                }
            }
        }
        config.apps = vec![app];
    }
    if args.long_connection {
        config = config.long_connection();
    }
    if args.quota {
        config.quota = Some(lark_emulator::QuotaConfig::default());
    }
    if let Some(url) = &args.webhook {
        let mut webhook = WebhookConfig::new(url.as_str());
        if let Some(key) = &args.encrypt_key {
            webhook = webhook.encrypt_key(key.as_str());
        }
        if let Some(token) = &args.verification_token {
            webhook = webhook.verification_token(token.as_str());
        }
        config = config.webhook(webhook);
    }
    let emulator = Emulator::start(config)
        .await
        .map_err(|err| Failure::Local(format!("could not listen on {}: {err}", args.addr)))?;
    let users: Vec<_> = emulator
        .users()
        .into_iter()
        .map(|u| format!("{} {}", u.name, u.open_id))
        .collect();
    let control_url = format!("{}{}", emulator.base_url(), lark_emulator::CONTROL_PREFIX);
    if cli.json {
        println!(
            "{}",
            serde_json::json!({
                "base_url": emulator.base_url(),
                "control_url": control_url,
                "app_id": emulator.app_id(),
                "app_secret": emulator.app_secret(),
                "chat_id": emulator.default_chat(),
                "users": emulator.users().iter().map(|u| serde_json::json!({"name": u.name, "open_id": u.open_id})).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("lark emulator serving on {}", emulator.base_url());
        println!();
        println!("  export LARK_BASE_URL={}", emulator.base_url());
        println!("  export LARK_APP_ID={}", emulator.app_id());
        println!("  export LARK_APP_SECRET={}", emulator.app_secret());
        println!();
        println!("  chat  {}", emulator.default_chat());
        for user in users {
            println!("  user  {user}");
        }
        if let Some(url) = &args.webhook {
            println!("  events and card callbacks go to {url}");
        }
        if args.long_connection {
            println!("  events and card callbacks go over the long connection (lark listen)");
        }
        println!("\n  control API  {control_url}  (docs/emulator.md)");
        println!("\nCtrl-C to stop.");
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|err| Failure::Local(format!("waiting for Ctrl-C: {err}")))?;
    Ok(())
}

/// The configuration in a state file, checked: at least one app, and chats whose members and
/// bots are among its users and apps.
fn state_file(path: &std::path::Path) -> Result<EmulatorConfig, Failure> {
    use std::io::Read as _;
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|err| Failure::Local(format!("cannot read the state file {shown}: {err}")))?;
    let mut text = String::new();
    file.take(MAX_STATE_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|err| Failure::Input(format!("cannot read the state file {shown}: {err}")))?;
    if text.len() as u64 > MAX_STATE_FILE {
        return Err(Failure::Input(format!(
            "the state file {shown} is larger than {MAX_STATE_FILE} bytes"
        )));
    }
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let config: EmulatorConfig = if yaml {
        serde_yaml_ng::from_str(&text)
            .map_err(|err| Failure::Input(format!("the state file {shown} is not valid: {err}")))?
    } else {
        serde_json::from_str(&text)
            .map_err(|err| Failure::Input(format!("the state file {shown} is not valid: {err}")))?
    };
    if config.apps.is_empty() {
        return Err(Failure::Input(format!(
            "the state file {shown} registers no app; list one under `apps`"
        )));
    }
    for chat in &config.chats {
        let name = if chat.name.is_empty() {
            &chat.chat_id
        } else {
            &chat.name
        };
        if let Some(member) = chat
            .members
            .iter()
            .find(|m| !config.users.iter().any(|u| &u.open_id == *m))
        {
            return Err(Failure::Input(format!(
                "in the state file {shown}, chat {name} lists member {member}, who is not among \
                 the users (members are open_ids of users the file lists)"
            )));
        }
        if let Some(bot) = chat
            .bots
            .iter()
            .find(|b| !config.apps.iter().any(|a| &a.app_id == *b))
        {
            return Err(Failure::Input(format!(
                "in the state file {shown}, chat {name} lists bot {bot}, which is not among the \
                 apps (bots are app_ids)"
            )));
        }
    }
    Ok(config)
}
