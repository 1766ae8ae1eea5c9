//! The command line, as clap reads it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The one exit-code table: `lark --help` prints it, the README repeats it, and
/// `output::Failure::exit_code` follows it.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when the output closes early, as under `| head`)
  1  the platform refused the call for another reason (see code, msg and log id)
  2  bad command line
  3  credentials or token refused, or the app refused for good (listen)
  4  a scope is missing
  5  not found
  6  rate limited
  7  network failure or timeout (--timeout), or a base url that does not lead to the platform
  8  invalid input: content, ids, or a file that is not what it should be (not JSON, say),
     refused before sending or by the platform
  9  local failure: a file that cannot be read or written, the terminal, the runtime
 10  a webhook delivery failed verification (event decode)

Options before the command apply to every command: `lark --json history oc_…`.
Credentials come from --app-id/--app-secret or LARK_APP_ID/LARK_APP_SECRET; the platform from
--feishu (default), --lark, --base-url, or LARK_BASE_URL / LARK_DOMAIN.
`lark --as user …` acts as the user `lark auth login` signed in; their tokens are kept in
LARK_CONFIG_DIR, or the platform's config directory (…/lark), one file per app, mode 0600.
Ids are taken alone where their prefix says their kind (oc_, ou_, on_, om_, omt_), or as
chat:oc_…, open:ou_…, union:on_…, user:USER_ID, email:ADDRESS.";

/// What every subcommand's help says about the options that go before it.
pub(crate) const GLOBAL_HINT: &str = "Global options (--json, --as, --app-id, --app-secret, --base-url, --accounts-url, \
--lark, --feishu, --timeout) go before the command; see `lark --help`.";

/// A positive number of seconds, fractions allowed.
fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(value > 0.0 && value <= 86_400.0 * 365.0) {
        return Err(format!(
            "`{text}` is out of range: give more than 0 and at most a year of seconds"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(value))
}

/// Lark / Feishu messaging from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "lark",
    version,
    after_help = EXIT_CODES,
    propagate_version = true,
    subcommand_help_heading = "Commands"
)]
pub(crate) struct Cli {
    /// The platform's base url (the emulator's, a proxy's).
    #[arg(long, env = "LARK_BASE_URL", value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// Use Feishu, open.feishu.cn (the default).
    #[arg(long, conflicts_with = "lark")]
    pub(crate) feishu: bool,
    /// Use Lark, open.larksuite.com.
    #[arg(long)]
    pub(crate) lark: bool,
    /// The app id.
    #[arg(long, env = "LARK_APP_ID", value_name = "ID")]
    pub(crate) app_id: Option<String>,
    /// The app secret.
    #[arg(
        long,
        env = "LARK_APP_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub(crate) app_secret: Option<String>,
    /// Print JSON (one object per line for lists) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Act as the bot (the default) or as the user `lark auth login` signed in.
    #[arg(long = "as", value_enum, default_value_t = Actor::Bot, value_name = "WHO")]
    pub(crate) actor: Actor,
    /// Where users sign in: accounts.feishu.cn or accounts.larksuite.com by the platform, or
    /// the base url when --base-url is given.
    #[arg(long, env = "LARK_ACCOUNTS_URL", value_name = "URL")]
    pub(crate) accounts_url: Option<String>,
    /// The longest an upload or download may take in all, retries included, in seconds
    /// (default 600). Whatever this says, a transfer that moves nothing for 30 s fails.
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    pub(crate) timeout: Option<std::time::Duration>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Who a command acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Actor {
    /// The app's bot, with the tenant token.
    Bot,
    /// The signed-in user, with their user token.
    User,
}

/// `lark auth …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Sign a user in: opens the browser at the sign-in page (or prints its url on stderr),
    /// receives the redirect on a loopback listener, checks its state, trades the code with
    /// PKCE, and stores the user's tokens.
    Login {
        /// Scopes to ask for, space-separated; offline_access (for a refresh token) is added.
        #[arg(long, value_name = "SCOPES", default_value = "")]
        scope: String,
        /// The redirect url: a loopback address this command listens on, registered among the
        /// app's redirect urls.
        #[arg(
            long,
            value_name = "URL",
            default_value = "http://127.0.0.1:8400/callback"
        )]
        redirect_uri: String,
        /// Print the sign-in url instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
        /// Sign in with the device flow instead: prints a url and a code to enter there.
        #[arg(long, conflicts_with_all = ["redirect_uri", "no_browser"])]
        device: bool,
        /// The longest to wait for the sign-in, in seconds.
        #[arg(long, value_name = "SECONDS", value_parser = seconds, default_value = "300")]
        wait: std::time::Duration,
    },
    /// Who is signed in, with which scopes, until when. Never prints a token.
    Status,
    /// Forget the signed-in user's tokens on this machine.
    Logout,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Sign a user in, show who is signed in, sign out.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Send a message; prints its id.
    Send {
        /// The receiver: oc_… (a chat), ou_… (an open_id), on_… (a union_id), user:USER_ID or
        /// an email address.
        #[arg(long, value_name = "RECEIVER")]
        to: String,
        #[command(flatten)]
        content: ContentArgs,
        /// The idempotency key (one is generated when absent).
        #[arg(long)]
        uuid: Option<String>,
    },
    /// Reply to a message; prints the reply's id.
    Reply {
        /// The message replied to (om_…).
        message_id: String,
        #[command(flatten)]
        content: ContentArgs,
        /// Reply in the message's thread.
        #[arg(long)]
        thread: bool,
    },
    /// Replace the content of a text or post message the bot sent.
    Edit {
        /// The message (om_…).
        message_id: String,
        #[command(flatten)]
        content: ContentArgs,
    },
    /// Recall a message.
    Recall {
        /// The message (om_…).
        message_id: String,
    },
    /// Show a message.
    Get {
        /// The message (om_…).
        message_id: String,
    },
    /// A chat's or a thread's history, newest first.
    History {
        /// The chat (oc_…) or thread (omt_…).
        container: String,
        /// At most this many messages.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Oldest first, from the start of the chat.
        #[arg(long)]
        oldest_first: bool,
    },
    /// React to a message.
    React {
        /// The message (om_…).
        message_id: String,
        /// The emoji type: THUMBSUP, SMILE, OK, …
        emoji: String,
    },
    /// Remove a reaction the bot added.
    Unreact {
        /// The message (om_…).
        message_id: String,
        /// The reaction's id, as `react` and `reactions` print it.
        reaction_id: String,
    },
    /// A message's reactions.
    Reactions {
        /// The message (om_…).
        message_id: String,
    },
    /// Pin a message in its chat.
    Pin {
        /// The message (om_…).
        message_id: String,
    },
    /// Unpin a message.
    Unpin {
        /// The message (om_…).
        message_id: String,
    },
    /// A chat's pins, newest first.
    Pins {
        /// The chat (oc_…).
        chat_id: String,
    },
    /// Who has read a message the bot sent (in the last seven days).
    ReadUsers {
        /// The message (om_…).
        message_id: String,
    },
    /// Make a message the bot sent urgent for members of its chat; prints the ids it could
    /// not reach.
    Urgent {
        /// The message (om_…).
        message_id: String,
        /// The members, by open_id (ou_…).
        #[arg(required = true)]
        users: Vec<String>,
        /// How they are told: in the app, or (charged to the tenant) by SMS or a phone call.
        #[arg(long, value_enum, default_value_t = UrgentVia::App)]
        via: UrgentVia,
    },
    /// The bot's own identity: its open_id and name.
    BotInfo,
    /// Forward a message; prints the new message's id.
    Forward {
        /// The message (om_…).
        message_id: String,
        /// The receiver, as for `send --to`.
        #[arg(long, value_name = "RECEIVER")]
        to: String,
    },
    /// Forward several messages of one chat as one merged message; prints its id.
    MergeForward {
        /// The messages (om_…), in order.
        #[arg(required = true)]
        message_ids: Vec<String>,
        /// The receiver, as for `send --to`.
        #[arg(long, value_name = "RECEIVER")]
        to: String,
    },
    /// Stream standard input into a card that types itself out as the text arrives (CardKit),
    /// and close the card at the end of input; prints each card's message id, one per line.
    Stream {
        /// The receiver, as for `send --to`.
        #[arg(
            long,
            value_name = "RECEIVER",
            required_unless_present = "reply_to",
            conflicts_with = "reply_to"
        )]
        to: Option<String>,
        /// Reply to this message (om_…) instead.
        #[arg(long, value_name = "MESSAGE_ID")]
        reply_to: Option<String>,
        /// The card's title.
        #[arg(long)]
        title: Option<String>,
        /// What the chat list shows for the card (default: the start of the text).
        #[arg(long)]
        summary: Option<String>,
    },
    /// Chats.
    #[command(subcommand)]
    Chat(ChatCommand),
    /// A chat's members.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Upload an image or a file; prints its key.
    #[command(subcommand)]
    Upload(UploadCommand),
    /// Download an image, a file, or a resource in a message.
    #[command(subcommand)]
    Download(DownloadCommand),
    /// Webhook deliveries.
    #[command(subcommand)]
    Event(EventCommand),
    /// Receive events over the long connection and print each as a line of JSON, until
    /// Ctrl-C. Card clicks are printed too, and answered with --ack-card's response.
    Listen {
        /// The response to card clicks: JSON like {"toast":{"type":"success","content":"…"}}.
        #[arg(long, value_name = "FILE")]
        ack_card: Option<PathBuf>,
    },
    /// Serve the emulator (a local Lark Open Platform) until stopped. The global --app-id and
    /// --app-secret set the emulated app's credentials.
    Emulator(EmulatorArgs),
    /// Print a completion script for a shell, to source or save where the shell loads
    /// completions (`lark completions bash > ~/.local/share/bash-completion/completions/lark`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (lark.1 and one per command) into a directory; `cargo xtask man`
    /// runs it.
    #[command(hide = true)]
    Man {
        /// The directory, created when missing.
        dir: PathBuf,
    },
}

/// What to send: exactly one of these.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub(crate) struct ContentArgs {
    /// Plain text.
    #[arg(long, conflicts_with_all = ["post", "card", "image", "file", "msg_type"])]
    pub(crate) text: Option<String>,
    /// A rich-text post, as the JSON of its content.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["text", "card", "image", "file", "msg_type"])]
    pub(crate) post: Option<PathBuf>,
    /// An interactive card, as its JSON.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["text", "post", "image", "file", "msg_type"])]
    pub(crate) card: Option<PathBuf>,
    /// An image to upload and send.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["text", "post", "card", "file", "msg_type"])]
    pub(crate) image: Option<PathBuf>,
    /// A file to upload and send (.opus as audio, .mp4 as video).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["text", "post", "card", "image", "msg_type"])]
    pub(crate) file: Option<PathBuf>,
    /// Any msg_type, with --content.
    #[arg(long = "type", value_name = "MSG_TYPE", requires = "raw_content")]
    pub(crate) msg_type: Option<String>,
    /// The content JSON for --type.
    #[arg(
        long = "content",
        id = "raw_content",
        value_name = "JSON",
        requires = "msg_type"
    )]
    pub(crate) raw_content: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChatCommand {
    /// Create a group chat with the bot in it; prints its id.
    Create {
        /// The name.
        name: String,
        /// Users to invite, by open_id (repeat for several).
        #[arg(long = "user", value_name = "OPEN_ID")]
        users: Vec<String>,
        /// The description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Show a chat.
    Get {
        /// The chat (oc_…).
        chat_id: String,
    },
    /// Rename a chat or change its description.
    Update {
        /// The chat (oc_…).
        chat_id: String,
        /// The new name.
        #[arg(long)]
        name: Option<String>,
        /// The new description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Disband a chat.
    Delete {
        /// The chat (oc_…).
        chat_id: String,
    },
    /// The chats the bot is in.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MembersCommand {
    /// Add users to a chat.
    Add {
        /// The chat (oc_…).
        chat_id: String,
        /// Users, by open_id.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Remove users from a chat.
    Remove {
        /// The chat (oc_…).
        chat_id: String,
        /// Users, by open_id.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// A chat's members.
    List {
        /// The chat (oc_…).
        chat_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UploadCommand {
    /// Upload an image (at most 10 MB); prints its image_key.
    Image {
        /// The image.
        path: PathBuf,
    },
    /// Upload a file (at most 30 MB); prints its file_key.
    File {
        /// The file.
        path: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum UrgentVia {
    /// In the app.
    App,
    /// By SMS.
    Sms,
    /// By a phone call.
    Phone,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ResourceType {
    /// An image (image messages, images in posts).
    Image,
    /// A file, audio or video.
    File,
}

/// Where a download goes.
#[derive(Debug, Args)]
pub(crate) struct DownloadTarget {
    /// Where to write it: a file path, or `-` for standard output (default: the name the
    /// platform gives it, in the current directory, numbered if taken).
    #[arg(short, long, value_name = "PATH")]
    pub(crate) output: Option<PathBuf>,
    /// Replace the file at --output if it exists (a regular file only; never a link, a
    /// directory or a device).
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DownloadCommand {
    /// Download an image the bot uploaded.
    Image {
        /// The image_key.
        key: String,
        #[command(flatten)]
        to: DownloadTarget,
    },
    /// Download a file the bot uploaded.
    File {
        /// The file_key.
        key: String,
        #[command(flatten)]
        to: DownloadTarget,
    },
    /// Download an image or file inside a received message.
    Resource {
        /// The message (om_…).
        message_id: String,
        /// The image_key or file_key.
        key: String,
        /// Which kind of resource.
        #[arg(long = "type", value_enum)]
        kind: ResourceType,
        #[command(flatten)]
        to: DownloadTarget,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventCommand {
    /// Check and decode a webhook delivery exactly as the webhook endpoint does; prints the
    /// typed event, the card callback or the challenge, as JSON.
    Decode(DecodeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The Encrypt Key: decrypts the body and checks the signature.
    #[arg(long, env = "LARK_ENCRYPT_KEY", hide_env_values = true)]
    pub(crate) encrypt_key: Option<String>,
    /// The Verification Token, checked against the body's token.
    #[arg(long, env = "LARK_VERIFICATION_TOKEN", hide_env_values = true)]
    pub(crate) verification_token: Option<String>,
    /// The X-Lark-Request-Timestamp header.
    #[arg(long, requires_all = ["nonce", "signature"])]
    pub(crate) timestamp: Option<String>,
    /// The X-Lark-Request-Nonce header.
    #[arg(long, requires_all = ["timestamp", "signature"])]
    pub(crate) nonce: Option<String>,
    /// The X-Lark-Signature header.
    #[arg(long, requires_all = ["timestamp", "nonce"])]
    pub(crate) signature: Option<String>,
    /// The clock, in Unix seconds, for checking a captured delivery's freshness after the fact.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub(crate) now: Option<u64>,
    /// The body, as received; - for standard input.
    #[arg(default_value = "-", value_name = "FILE")]
    pub(crate) input: String,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct EmulatorArgs {
    /// Without a subcommand, serve an emulator; with one, act on a running emulator through
    /// its control API (docs/emulator.md).
    #[command(subcommand)]
    pub(crate) action: Option<EmulatorAction>,
    /// Where to listen (loopback by default).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub(crate) addr: std::net::SocketAddr,
    /// Start from the apps, users and chats in this file, JSON or YAML (by its extension:
    /// .yaml or .yml, else JSON), for repeatable fixtures; docs/emulator.md shows the form.
    /// The options below apply on top of it.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// Deliver events and card callbacks to this url.
    #[arg(long, value_name = "URL", conflicts_with = "long_connection")]
    pub(crate) webhook: Option<String>,
    /// Deliver events and card callbacks over the long connection (`lark listen`), as an app
    /// set to "receive events through the long connection" in the developer console. Events
    /// wait until a connection is open.
    #[arg(long)]
    pub(crate) long_connection: bool,
    /// Enforce the platform's rate limits with its refusals: 50 calls a second and 1,000 a
    /// minute per API per app (429, 99991400), 5 messages a second per receiver (230020).
    #[arg(long)]
    pub(crate) quota: bool,
    /// Encrypt and sign deliveries with this key.
    #[arg(long, requires = "webhook")]
    pub(crate) encrypt_key: Option<String>,
    /// Put this token in every delivery.
    #[arg(long, requires = "webhook")]
    pub(crate) verification_token: Option<String>,
}

/// What `lark emulator` does to an emulator that is already running.
#[derive(Debug, Subcommand)]
pub(crate) enum EmulatorAction {
    /// A user says something in a chat; prints the message's id. `<at user_id="ou_…">Bot</at>`
    /// mentions someone.
    Say {
        #[command(flatten)]
        at: ControlArgs,
        /// Who speaks: a name (Tom), an open_id, a user_id or an email.
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// The chat (the emulator's first chat by default).
        #[arg(long, value_name = "CHAT_ID")]
        chat: Option<String>,
        /// What they say.
        text: String,
    },
    /// A user clicks a button on a card; prints the app's answer.
    Click {
        #[command(flatten)]
        at: ControlArgs,
        /// Who clicks.
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// The message that carries the card.
        #[arg(long, value_name = "MESSAGE_ID")]
        message: String,
        /// The button's callback value, as JSON.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        value: String,
    },
    /// The messages of a chat, oldest first: one line each, or their JSON with --json.
    Messages {
        #[command(flatten)]
        at: ControlArgs,
        /// The chat (the emulator's first chat by default).
        #[arg(long, value_name = "CHAT_ID")]
        chat: Option<String>,
    },
}

/// Which running emulator a control subcommand talks to.
#[derive(Debug, Args)]
pub(crate) struct ControlArgs {
    /// The emulator's control url, as `lark emulator` printed it
    /// (http://127.0.0.1:PORT/__emulator/v1); by default the base url followed by
    /// /__emulator/v1.
    #[arg(long, env = "LARK_EMULATOR_URL", value_name = "URL")]
    pub(crate) control: Option<String>,
}

/// The options that go before the command.
pub(crate) const GLOBAL_OPTIONS: [&str; 9] = [
    "--json",
    "--as",
    "--accounts-url",
    "--app-id",
    "--app-secret",
    "--base-url",
    "--lark",
    "--feishu",
    "--timeout",
];

/// The command line's definition, each subcommand's help ending with where the global
/// options go.
pub(crate) fn command() -> clap::Command {
    fn hint(command: clap::Command) -> clap::Command {
        let names: Vec<String> = command
            .get_subcommands()
            .map(|sub| sub.get_name().to_owned())
            .collect();
        names.into_iter().fold(command, |command, name| {
            command.mut_subcommand(name, |sub| hint(sub.after_help(GLOBAL_HINT)))
        })
    }
    hint(<Cli as clap::CommandFactory>::command())
}

/// Reads the command line; a usage error exits 2 with clap's message, and a global option
/// given after the command gets a line saying where it goes.
pub(crate) fn parse() -> Cli {
    let matches = command()
        .try_get_matches()
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches));
    match matches {
        Ok(cli) => cli,
        Err(err) => {
            let misplaced = match err.get(clap::error::ContextKind::InvalidArg) {
                Some(clap::error::ContextValue::String(arg)) => GLOBAL_OPTIONS
                    .iter()
                    .find(|flag| arg == *flag || arg.starts_with(&format!("{flag}=")))
                    .copied(),
                _ => None,
            };
            let code = err.exit_code();
            let _ = err.print();
            if let Some(flag) = misplaced {
                eprintln!(
                    "\ntip: {flag} is a global option; it goes before the command: lark {flag} <COMMAND> …"
                );
            }
            std::process::exit(code);
        }
    }
}
