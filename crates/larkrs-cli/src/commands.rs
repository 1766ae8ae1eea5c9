//! Each command, on the facade's client.

use crate::args::{
    Actor, ChatCommand, Cli, Command, DownloadCommand, EventCommand, MembersCommand, ResourceType,
    UploadCommand, UrgentVia,
};
use crate::output::{Failure, print, row, to_json};
use crate::{auth, content, control, event, ids, listen, progress, serve, stream};
use futures_util::TryStreamExt;
use lark::api::im::chats::ChatUpdate;
use lark::api::im::messages::{GetMessageResource, MergeForward, SendMessage};
use lark::api::im::model::Message;
use lark::api::im::resources::{DownloadFile, DownloadImage};
use lark::api::im::urgent::{ByPhone, BySms, InApp, Urgent};
use lark::{BaseUrl, Client, Existing, FileKey, ImageKey, MessageContent, MessageId, ReactionId};
use serde_json::json;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The client the global options describe: each flag in place of its `LARK_*` variable, read
/// by the library's own `from_vars`, with proxies from the environment (curl's rules).
fn client(cli: &Cli) -> Result<Client, Failure> {
    if !matches!((&cli.app_id, &cli.app_secret), (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty())
    {
        return Err(Failure::Input(
            "no credentials: pass --app-id and --app-secret, or set LARK_APP_ID and LARK_APP_SECRET".to_owned(),
        ));
    }
    if let Some(base) = &cli.base_url {
        BaseUrl::parse(base).map_err(|err| Failure::Input(format!("--base-url: {err}")))?;
    }
    let domain = if cli.lark {
        Some("lark".to_owned())
    } else if cli.feishu {
        Some("feishu".to_owned())
    } else {
        std::env::var("LARK_DOMAIN").ok()
    };
    let lookup = |name: &str| match name {
        "LARK_APP_ID" => cli.app_id.clone(),
        "LARK_APP_SECRET" => cli.app_secret.clone(),
        // clap has already read LARK_BASE_URL into --base-url.
        "LARK_BASE_URL" => cli.base_url.clone(),
        "LARK_DOMAIN" => domain.clone(),
        _ => None,
    };
    let mut builder =
        lark::ClientBuilder::from_vars(lookup).map_err(|err| Failure::Input(err.to_string()))?;
    if let Some(timeout) = cli.timeout {
        builder = builder
            .transfer_deadline(timeout)
            .transfer_read_timeout(timeout.min(std::time::Duration::from_secs(30)));
    }
    Ok(builder.build()?)
}

fn message_line(message: &Message) -> String {
    let content = match message.content() {
        None => "[recalled]".to_owned(),
        Some(Ok(MessageContent::Text(text))) => text.to_plain(&message.mentions),
        Some(Ok(content)) => content.encode(),
        Some(Err(err)) => format!("[{}: {err}]", message.msg_type),
    };
    let sender = message.sender.as_ref().map_or("-", |s| s.id.as_str());
    row(&[
        message.message_id.as_str(),
        sender,
        &message.msg_type,
        &content,
    ])
}

/// Downloads into `output`: `-` for standard output, a path (an existing file only with
/// `force`), or by default the name the platform gives, in the current directory, numbered when
/// taken. Files are written through a temporary file created new, never through a link.
async fn download<E>(
    client: &Client,
    endpoint: E,
    output: Option<PathBuf>,
    force: bool,
    key: &str,
    json: bool,
) -> Result<(), Failure>
where
    E: lark::api::Endpoint<Output = lark::api::Download> + Send + Sync,
{
    if output.as_deref() == Some(Path::new("-")) {
        return download_to_stdout(client, endpoint).await;
    }
    let bar = progress::bar(Path::new(key), json);
    let existing = if force {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    let saved = match &output {
        Some(path) => {
            client
                .http()
                .download_to_file_with(endpoint, path, existing, bar.callback())
                .await
        }
        None => {
            client
                .http()
                .download_into_dir(endpoint, ".", key, bar.callback())
                .await
        }
    };
    bar.finish();
    let saved = saved.map_err(|err| match (&err, output.is_some()) {
        (lark::Error::Io { error, .. }, true)
            if error.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            Failure::Local(format!("{err}; pass --force to replace it"))
        }
        _ => Failure::from(err),
    })?;
    print(
        json,
        format!(
            "{} ({} bytes)",
            crate::output::terminal_safe(&saved.path.display().to_string()),
            saved.bytes
        ),
        &json!({"path": saved.path, "bytes": saved.bytes, "content_type": saved.meta.content_type, "file_name": saved.meta.file_name}),
    )?;
    Ok(())
}

/// Streams a download to standard output, as it arrives.
async fn download_to_stdout<E>(client: &Client, endpoint: E) -> Result<(), Failure>
where
    E: lark::api::Endpoint<Output = lark::api::Download> + Send + Sync,
{
    let mut stream = client.http().download(endpoint, None).await?;
    let mut stdout = tokio::io::stdout();
    while let Some(chunk) = stream.try_next().await? {
        stdout
            .write_all(&chunk)
            .await
            .map_err(crate::output::write_failure)?;
    }
    stdout.flush().await.map_err(crate::output::write_failure)?;
    Ok(())
}

#[allow(clippy::too_many_lines)] // one arm per command, each a few lines
pub(crate) async fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    match &cli.command {
        Command::Event(EventCommand::Decode(args)) => return event::decode(args, json),
        Command::Completions { shell } => return completions(*shell, json),
        Command::Man { dir } => return man(dir, json),
        Command::Emulator(args) => {
            return match &args.action {
                None => serve::emulator(&cli, args).await,
                Some(action) => control::run(&cli, action).await,
            };
        }
        Command::Listen { ack_card } => {
            return listen::run(client(&cli)?, ack_card.as_deref(), json).await;
        }
        _ => {}
    }
    let client = client(&cli)?;
    if let Command::Auth(command) = &cli.command {
        return auth::run(&cli, &client, command, json).await;
    }
    let client = match cli.actor {
        Actor::Bot => client,
        Actor::User => client.as_user(&auth::session(&client)?),
    };
    let messages = client.messages();
    match cli.command {
        Command::Download(DownloadCommand::Image { key, to }) => {
            download(
                &client,
                DownloadImage::new(ImageKey::new(key.as_str())),
                to.output,
                to.force,
                &key,
                json,
            )
            .await?;
        }
        Command::Download(DownloadCommand::File { key, to }) => {
            download(
                &client,
                DownloadFile::new(FileKey::new(key.as_str())),
                to.output,
                to.force,
                &key,
                json,
            )
            .await?;
        }
        Command::Download(DownloadCommand::Resource {
            message_id,
            key,
            kind,
            to,
        }) => {
            let message = MessageId::new(message_id);
            match kind {
                ResourceType::Image => {
                    download(
                        &client,
                        GetMessageResource::image(message, &ImageKey::new(key.as_str())),
                        to.output,
                        to.force,
                        &key,
                        json,
                    )
                    .await?;
                }
                ResourceType::File => {
                    download(
                        &client,
                        GetMessageResource::file(message, FileKey::new(key.as_str())),
                        to.output,
                        to.force,
                        &key,
                        json,
                    )
                    .await?;
                }
            }
        }
        Command::Send { to, content, uuid } => {
            let receiver = ids::receiver(&to)?;
            let content = content::build(&client, content, json).await?;
            let mut request = SendMessage::new(receiver, content);
            if let Some(uuid) = uuid {
                request = request.uuid(uuid);
            }
            let sent = client.execute(request).await?;
            print(json, &sent.message_id, &to_json(&sent))?;
        }
        Command::Reply {
            message_id,
            content,
            thread,
        } => {
            let content = content::build(&client, content, json).await?;
            let id = MessageId::new(message_id);
            let mut reply = messages.reply(&id, content);
            if thread {
                reply = reply.in_thread();
            }
            let sent = reply.await?;
            print(json, &sent.message_id, &to_json(&sent))?;
        }
        Command::Edit {
            message_id,
            content,
        } => {
            let content = content::build(&client, content, json).await?;
            let edited = messages.edit(&MessageId::new(message_id), content).await?;
            print(json, &edited.message_id, &to_json(&edited))?;
        }
        Command::Recall { message_id } => {
            messages
                .recall(&MessageId::new(message_id.as_str()))
                .await?;
            print(
                json,
                format!("recalled {message_id}"),
                &json!({"recalled": message_id}),
            )?;
        }
        Command::Get { message_id } => {
            let message = messages.get(&MessageId::new(message_id)).await?;
            print(json, message_line(&message), &to_json(&message))?;
        }
        Command::History {
            container,
            limit,
            oldest_first,
        } => {
            let mut stream = messages
                .history(ids::container(&container))
                .page_size(u32::try_from(limit.clamp(1, 50)).unwrap_or(50));
            if !oldest_first {
                stream = stream.newest_first();
            }
            let mut shown = 0;
            while shown < limit {
                let Some(message) = stream.try_next().await? else {
                    break;
                };
                print(json, message_line(&message), &to_json(&message))?;
                shown += 1;
            }
        }
        Command::React { message_id, emoji } => {
            let reaction = messages.react(&MessageId::new(message_id), emoji).await?;
            print(json, &reaction.reaction_id, &to_json(&reaction))?;
        }
        Command::Unreact {
            message_id,
            reaction_id,
        } => {
            let removed = messages
                .unreact(&MessageId::new(message_id), &ReactionId::new(reaction_id))
                .await?;
            print(
                json,
                format!("removed {}", removed.reaction_id),
                &to_json(&removed),
            )?;
        }
        Command::Pin { message_id } => {
            let pin = messages.pin(&MessageId::new(message_id)).await?;
            print(json, format!("pinned {}", pin.message_id), &to_json(&pin))?;
        }
        Command::Unpin { message_id } => {
            messages.unpin(&MessageId::new(message_id.as_str())).await?;
            print(
                json,
                format!("unpinned {message_id}"),
                &json!({"unpinned": message_id}),
            )?;
        }
        Command::Pins { chat_id } => {
            let mut stream = client.chats().pins(&ids::chat(&chat_id));
            while let Some(pin) = stream.try_next().await? {
                print(
                    json,
                    row(&[
                        pin.message_id.as_str(),
                        pin.operator_id.as_deref().unwrap_or("-"),
                        pin.create_time.as_deref().unwrap_or("-"),
                    ]),
                    &to_json(&pin),
                )?;
            }
        }
        Command::ReadUsers { message_id } => {
            let mut stream = messages.read_users(&MessageId::new(message_id));
            while let Some(reader) = stream.try_next().await? {
                print(
                    json,
                    row(&[
                        reader.user_id.as_str(),
                        reader.timestamp.as_deref().unwrap_or("-"),
                    ]),
                    &to_json(&reader),
                )?;
            }
        }
        Command::Urgent {
            message_id,
            users,
            via,
        } => {
            let message = MessageId::new(message_id);
            let users: Vec<String> = ids::open_ids(&users)
                .into_iter()
                .map(|id| id.as_str().to_owned())
                .collect();
            let output = match via {
                UrgentVia::App => client.execute(Urgent::<InApp>::new(message, users)).await?,
                UrgentVia::Sms => client.execute(Urgent::<BySms>::new(message, users)).await?,
                UrgentVia::Phone => {
                    client
                        .execute(Urgent::<ByPhone>::new(message, users))
                        .await?
                }
            };
            let text = if output.invalid_user_id_list.is_empty() {
                "every member was told".to_owned()
            } else {
                format!("not reached: {}", output.invalid_user_id_list.join(" "))
            };
            print(json, text, &to_json(&output))?;
        }
        Command::BotInfo => {
            let me = client.bot_info().await?;
            print(
                json,
                row(&[me.open_id.as_str(), me.app_name.as_str()]),
                &to_json(&me),
            )?;
        }
        Command::Stream {
            to,
            reply_to,
            title,
            summary,
        } => {
            stream::run(
                &client,
                to.as_deref(),
                reply_to.as_deref(),
                title,
                summary,
                json,
            )
            .await?;
        }
        Command::Forward { message_id, to } => {
            let receiver = ids::receiver(&to)?;
            let sent = messages
                .forward(&MessageId::new(message_id), receiver)
                .await?;
            print(json, &sent.message_id, &to_json(&sent))?;
        }
        Command::MergeForward { message_ids, to } => {
            let receiver = ids::receiver(&to)?;
            let merged = client
                .execute(MergeForward::new(
                    receiver,
                    message_ids.into_iter().map(MessageId::new),
                ))
                .await?;
            print(json, &merged.message.message_id, &to_json(&merged))?;
        }
        Command::Reactions { message_id } => {
            let mut stream = messages.reactions(&MessageId::new(message_id));
            while let Some(reaction) = stream.try_next().await? {
                let who = reaction
                    .operator
                    .as_ref()
                    .map_or("-", |o| o.operator_id.as_str());
                print(
                    json,
                    row(&[
                        reaction.reaction_id.as_str(),
                        &reaction.reaction_type.emoji_type,
                        who,
                    ]),
                    &to_json(&reaction),
                )?;
            }
        }
        Command::Chat(command) => chat(&client, command, json).await?,
        Command::Members(command) => members(&client, command, json).await?,
        Command::Upload(command) => {
            let (path, key) = match command {
                UploadCommand::Image { path } => {
                    let bar = progress::bar(&path, json);
                    let key = client.http().upload_image(&path, bar.callback()).await;
                    bar.finish();
                    (path, key?.to_string())
                }
                UploadCommand::File { path } => {
                    let bar = progress::bar(&path, json);
                    let key = client.http().upload_file(&path, bar.callback()).await;
                    bar.finish();
                    (path, key?.to_string())
                }
            };
            print(json, &key, &json!({"key": key, "path": path}))?;
        }
        Command::Event(_)
        | Command::Auth(_)
        | Command::Emulator(_)
        | Command::Listen { .. }
        | Command::Completions { .. }
        | Command::Man { .. } => {}
    }
    Ok(())
}

async fn chat(client: &Client, command: ChatCommand, json: bool) -> Result<(), Failure> {
    let chats = client.chats();
    match command {
        ChatCommand::Create {
            name,
            users,
            description,
        } => {
            let mut create = chats.create(name).members(ids::open_ids(&users));
            if let Some(description) = description {
                create = create.description(description);
            }
            let chat = create.await?;
            let id = chat
                .chat_id
                .as_ref()
                .map_or_else(String::new, ToString::to_string);
            print(json, id, &to_json(&chat))?;
        }
        ChatCommand::Get { chat_id } => {
            let chat = chats.get(&ids::chat(&chat_id)).await?;
            let name = chat.name.clone().unwrap_or_default();
            print(
                json,
                row(&[
                    &chat_id,
                    &name,
                    chat.description.as_deref().unwrap_or_default(),
                ]),
                &to_json(&chat),
            )?;
        }
        ChatCommand::Update {
            chat_id,
            name,
            description,
        } => {
            if name.is_none() && description.is_none() {
                return Err(Failure::Input(
                    "say what to change: --name and/or --description".to_owned(),
                ));
            }
            let mut update = ChatUpdate::default();
            update.name = name;
            update.description = description;
            chats.update(&ids::chat(&chat_id), update).await?;
            print(
                json,
                format!("updated {chat_id}"),
                &json!({"updated": chat_id}),
            )?;
        }
        ChatCommand::Delete { chat_id } => {
            chats.delete(&ids::chat(&chat_id)).await?;
            print(
                json,
                format!("disbanded {chat_id}"),
                &json!({"disbanded": chat_id}),
            )?;
        }
        ChatCommand::List => {
            let mut stream = chats.list();
            while let Some(chat) = stream.try_next().await? {
                print(
                    json,
                    row(&[
                        chat.chat_id.as_str(),
                        chat.name.as_deref().unwrap_or_default(),
                    ]),
                    &to_json(&chat),
                )?;
            }
        }
    }
    Ok(())
}

async fn members(client: &Client, command: MembersCommand, json: bool) -> Result<(), Failure> {
    let members = client.members();
    match command {
        MembersCommand::Add { chat_id, users } => {
            let added = members
                .add(&ids::chat(&chat_id), ids::open_ids(&users))
                .await?;
            let invalid = added.invalid_id_list.len() + added.not_existed_id_list.len();
            print(
                json,
                format!(
                    "added {} to {chat_id} ({invalid} not valid)",
                    users.len() - invalid.min(users.len())
                ),
                &to_json(&added),
            )?;
        }
        MembersCommand::Remove { chat_id, users } => {
            let removed = members
                .remove(&ids::chat(&chat_id), ids::open_ids(&users))
                .await?;
            print(json, format!("removed from {chat_id}"), &to_json(&removed))?;
        }
        MembersCommand::List { chat_id } => {
            let mut stream = members.list(&ids::chat(&chat_id));
            while let Some(member) = stream.try_next().await? {
                print(
                    json,
                    row(&[
                        member.member_id.as_str(),
                        member.name.as_deref().unwrap_or_default(),
                    ]),
                    &to_json(&member),
                )?;
            }
        }
    }
    Ok(())
}

/// `lark completions SHELL`: the completion script on standard output.
/// With `--json`: `{"shell":…,"script":…}`.
fn completions(shell: clap_complete::Shell, json: bool) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut crate::args::command(), "lark", &mut script);
    if json {
        let script = String::from_utf8_lossy(&script);
        return print(
            true,
            "",
            &json!({"shell": shell.to_string(), "script": script}),
        );
    }
    let mut stdout = std::io::stdout().lock();
    std::io::Write::write_all(&mut stdout, &script)
        .and_then(|()| std::io::Write::flush(&mut stdout))
        .map_err(crate::output::write_failure)
}

/// `lark man DIR`: `lark.1` and a page per command (`lark-send.1`, `lark-chat-create.1`, …),
/// each created new in `dir`: an existing page or a link in its place is refused, not
/// overwritten.
/// With `--json`: `{"dir":…,"pages":[…]}`.
fn man(dir: &Path, json: bool) -> Result<(), Failure> {
    fn pages(
        command: &clap::Command,
        name: &str,
        out: &mut Vec<(String, Vec<u8>)>,
    ) -> std::io::Result<()> {
        let page = command.clone().display_name(name.to_owned());
        let mut roff = Vec::new();
        clap_mangen::Man::new(page).render(&mut roff)?;
        out.push((format!("{name}.1"), roff));
        for sub in command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
        {
            pages(sub, &format!("{name}-{}", sub.get_name()), out)?;
        }
        Ok(())
    }
    let mut command = crate::args::command();
    command.build();
    let mut rendered = Vec::new();
    pages(&command, "lark", &mut rendered)
        .map_err(|err| Failure::Local(format!("rendering the man pages: {err}")))?;
    std::fs::create_dir_all(dir)
        .map_err(|err| Failure::Local(format!("creating {}: {err}", dir.display())))?;
    for (file, roff) in &rendered {
        let path = dir.join(file);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut page| std::io::Write::write_all(&mut page, roff))
            .map_err(|err| Failure::Local(format!("writing {}: {err}", path.display())))?;
    }
    let pages: Vec<&str> = rendered.iter().map(|(file, _)| file.as_str()).collect();
    print(
        json,
        format!("{} pages in {}", rendered.len(), dir.display()),
        &json!({"dir": dir, "pages": pages}),
    )
}
