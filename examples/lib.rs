//! Runnable examples for lark-rs: see the files beside this one, and run them with
//! `cargo run --example <name>`.
//!
//! Every example runs offline against an in-process emulator by default. With `LARK_APP_ID` and
//! `LARK_APP_SECRET` set it talks to the real platform instead (`LARK_DOMAIN=lark` for
//! larksuite.com), sending to `LARK_RECEIVER` (`chat:oc_…`, `open:ou_…`, `email:…`); examples
//! that receive events serve their webhook on `LARK_WEBHOOK_ADDR` (default `127.0.0.1:8080`,
//! for a reverse proxy that terminates TLS in front; `0.0.0.0:8080` takes connections from
//! other machines), checked with `LARK_ENCRYPT_KEY` and `LARK_VERIFICATION_TOKEN`.

use lark::{BaseUrl, Bot, ChatId, Client, OpenId, Receiver};
use lark_emulator::{Emulator, WebhookConfig};
use std::error::Error;
use std::net::SocketAddr;
use tokio::sync::oneshot;

/// What examples return.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// The encrypt key and verification token the emulator signs its deliveries with.
const EMULATED_ENCRYPT_KEY: &str = "emulated-encrypt-key";
const EMULATED_VERIFICATION_TOKEN: &str = "emulated-verification-token";

/// A client and somewhere to send to: the emulator, or the real platform.
pub struct Session {
    /// The client.
    pub client: Client,
    /// Where the example sends.
    pub to: Receiver,
    /// The emulator, when running offline.
    pub emulator: Option<Emulator>,
}

impl Session {
    /// The example's client, from `Client::from_env()`: the real platform when the
    /// environment names an app. When it names none (`LARK_APP_ID` and `LARK_APP_SECRET`
    /// unset), a fresh local emulator and a client for it instead, so that the example runs
    /// offline.
    pub async fn start(from_env: Result<Client, lark::Error>) -> Result<Self, BoxError> {
        let configured =
            |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
        if configured("LARK_APP_ID") || configured("LARK_APP_SECRET") {
            let client = from_env?;
            let to = std::env::var("LARK_RECEIVER")
                .map_err(|_| "set LARK_RECEIVER to where the example sends: chat:oc_…, open:ou_… or email:…")?
                .parse::<Receiver>()?;
            return Ok(Self {
                client,
                to,
                emulator: None,
            });
        }
        let emulator = Emulator::start_default().await?;
        let client = Client::builder()
            .app(emulator.app_id(), emulator.app_secret())
            .base_url(BaseUrl::parse(&emulator.base_url())?)
            .build()?;
        let to = Receiver::chat(ChatId::new(emulator.default_chat()));
        Ok(Self {
            client,
            to,
            emulator: Some(emulator),
        })
    }

    /// Where the session runs, for the transcript.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.emulator {
            Some(emulator) => format!(
                "the emulator at {} (app {})",
                emulator.base_url(),
                emulator.app_id()
            ),
            None => format!("the real platform (app {})", self.client.http().app_id()),
        }
    }

    /// The chat the example sends to, when it sends to a chat.
    #[must_use]
    pub fn chat(&self) -> Option<ChatId> {
        match &self.to {
            Receiver::Chat(chat) => Some(chat.clone()),
            _ => None,
        }
    }

    /// A user of the emulator by name (Tom or Alice), or from `LARK_USER_OPEN_ID` on the real
    /// platform.
    pub fn user(&self, name: &str) -> Result<OpenId, BoxError> {
        match &self.emulator {
            Some(emulator) => Ok(OpenId::new(
                emulator
                    .user(name)
                    .ok_or_else(|| format!("the emulator has no user {name}"))?
                    .open_id,
            )),
            None => Ok(OpenId::new(std::env::var("LARK_USER_OPEN_ID").map_err(
                |_| "set LARK_USER_OPEN_ID to a user in the tenant (ou_…)",
            )?)),
        }
    }

    /// Serves `bot`'s webhook. Offline, on a free loopback port that the emulator delivers to,
    /// encrypted and signed; otherwise on `LARK_WEBHOOK_ADDR`.
    pub async fn serve(&self, bot: Bot) -> Result<Served, BoxError> {
        let addr: SocketAddr = match &self.emulator {
            Some(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
            None => std::env::var("LARK_WEBHOOK_ADDR")
                .unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
                .parse()?,
        };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        if let Some(emulator) = &self.emulator {
            emulator.set_webhook(Some(
                WebhookConfig::new(format!("http://{addr}/webhook/event"))
                    .encrypt_key(EMULATED_ENCRYPT_KEY)
                    .verification_token(EMULATED_VERIFICATION_TOKEN)
                    .retry_delays_ms([200, 1_000]),
            ));
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bot.serve(listener, async move {
            let _ = stopped.await;
        }));
        Ok(Served {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The bot builder, with the verification settings of the session.
    pub fn bot(&self) -> lark::BotBuilder {
        let builder = Bot::builder(self.client.clone());
        if self.emulator.is_some() {
            return builder
                .encrypt_key(EMULATED_ENCRYPT_KEY)
                .verification_token(EMULATED_VERIFICATION_TOKEN);
        }
        let mut builder = builder;
        if let Ok(key) = std::env::var("LARK_ENCRYPT_KEY") {
            builder = builder.encrypt_key(key);
        }
        if let Ok(token) = std::env::var("LARK_VERIFICATION_TOKEN") {
            builder = builder.verification_token(token);
        }
        builder
    }
}

/// A webhook being served.
pub struct Served {
    /// Where.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Stops serving.
    pub async fn stop(mut self) -> Result<(), BoxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }

    /// Serves until Ctrl-C.
    pub async fn until_ctrl_c(self) -> Result<(), BoxError> {
        println!("webhook listening on http://{}; Ctrl-C to stop", self.addr);
        tokio::signal::ctrl_c().await?;
        self.stop().await
    }
}

/// Prints one line of an example's transcript.
pub fn say(line: impl std::fmt::Display) {
    println!("  {line}");
}

/// Prints a transcript heading.
pub fn step(title: impl std::fmt::Display) {
    println!("\n== {title}");
}

/// A message as one readable line: text with mentions as names, a post's title and text, or
/// the kind of message and its key.
#[must_use]
pub fn preview(message: &lark::api::im::model::Message) -> String {
    use lark::MessageContent;
    match message.content() {
        None => "[recalled]".to_owned(),
        Some(Err(err)) => format!("[unreadable {}: {err}]", message.msg_type),
        Some(Ok(MessageContent::Text(text))) => format!("\"{}\"", text.to_plain(&message.mentions)),
        Some(Ok(MessageContent::Post(post))) => post.bodies().next().map_or_else(
            || "[empty post]".to_owned(),
            |(_, body)| format!("[post] {}", body.to_plain()),
        ),
        Some(Ok(MessageContent::Image(image))) => format!("[image {}]", image.image_key),
        Some(Ok(MessageContent::File(file))) => format!("[file {}]", file.file_key),
        Some(Ok(other)) => format!("[{}]", other.msg_type()),
    }
}
