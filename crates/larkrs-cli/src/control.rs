//! `lark emulator say|click|messages`: a running emulator driven through its control API.

use crate::args::{Cli, ControlArgs, EmulatorAction};
use crate::output::{Failure, print, row, terminal_safe};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a control call may take when `--timeout` does not say.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest control answer read.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

pub(crate) async fn run(cli: &Cli, action: &EmulatorAction) -> Result<(), Failure> {
    let json = cli.json;
    match action {
        EmulatorAction::Say {
            at,
            user,
            chat,
            text,
        } => {
            let control = Control::new(cli, at)?;
            let chat = control.chat(chat.as_deref()).await?;
            let said = control
                .call(
                    "POST",
                    &format!("/chats/{chat}/messages"),
                    Some(json!({ "as": user, "text": text })),
                )
                .await?;
            let id = said["message_id"].as_str().unwrap_or_default().to_owned();
            print(json, &id, &said)
        }
        EmulatorAction::Click {
            at,
            user,
            message,
            value,
        } => {
            let value: Value = serde_json::from_str(value)
                .map_err(|err| Failure::Input(format!("--value is not JSON: {err}")))?;
            let control = Control::new(cli, at)?;
            let outcome = control
                .call(
                    "POST",
                    &format!("/messages/{message}/click"),
                    Some(json!({ "as": user, "value": value })),
                )
                .await?;
            let toast = outcome["toast"]["content"].as_str().unwrap_or("none");
            let text = format!(
                "status {}, card updated: {}, toast: {toast}",
                outcome["status"], outcome["card_updated"]
            );
            print(json, text, &outcome)
        }
        EmulatorAction::Messages { at, chat } => {
            let control = Control::new(cli, at)?;
            let chat = control.chat(chat.as_deref()).await?;
            let listed = control
                .call("GET", &format!("/chats/{chat}/messages"), None)
                .await?;
            for message in listed["items"].as_array().into_iter().flatten() {
                let field = |name: &str| message[name].as_str().unwrap_or_default().to_owned();
                let line = row(&[
                    &field("message_id"),
                    message["sender"]["id"].as_str().unwrap_or_default(),
                    &field("msg_type"),
                    message["body"]["content"].as_str().unwrap_or_default(),
                ]);
                print(json, line, message)?;
            }
            Ok(())
        }
    }
}

/// A running emulator's control API.
struct Control {
    url: String,
    timeout: Duration,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Control {
    fn new(cli: &Cli, at: &ControlArgs) -> Result<Self, Failure> {
        let url = match (&at.control, &cli.base_url) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Some(base)) => format!(
                "{}{}",
                base.trim_end_matches('/'),
                lark_emulator::CONTROL_PREFIX
            ),
            (None, None) => {
                return Err(Failure::Input(
                    "which emulator? pass --control with the url `lark emulator` printed, or set \
                     LARK_EMULATOR_URL or LARK_BASE_URL"
                        .to_owned(),
                ));
            }
        };
        if !url.starts_with("http://") {
            return Err(Failure::Input(format!(
                "the control url {url} is not http://…: the emulator serves plain HTTP on loopback"
            )));
        }
        Ok(Self {
            url,
            timeout: cli.timeout.unwrap_or(DEFAULT_TIMEOUT),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// `chat`, or the emulator's first chat.
    async fn chat(&self, chat: Option<&str>) -> Result<String, Failure> {
        if let Some(chat) = chat {
            return Ok(chat.to_owned());
        }
        let info = self.call("GET", "/info", None).await?;
        Ok(info["default_chat"].as_str().unwrap_or_default().to_owned())
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.url);
        let request = http::Request::builder()
            .method(method)
            .uri(&url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .map_err(|err| Failure::Input(format!("{url} is not a url: {err}")))?;
        let unreachable = |err: &dyn std::fmt::Display| {
            Failure::Local(format!(
                "the emulator at {} did not answer: {err}; is `lark emulator` running?",
                self.url
            ))
        };
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|err| unreachable(&err))?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|err| unreachable(&err))?
                .to_bytes();
            Ok::<_, Failure>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unreachable(&format!("no answer within {:?}", self.timeout)))??;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
            Failure::Local(format!(
                "{url} answered {status} with something that is not the control API's JSON; \
                 is it an emulator?"
            ))
        })?;
        if status.is_success() {
            Ok(value)
        } else {
            // The emulator may echo what it was sent: shown escaped, as chat text is.
            let error = terminal_safe(value["error"].as_str().unwrap_or("no reason given"));
            let message = format!(
                "the emulator refused {method} {} ({status}): {error}",
                terminal_safe(path)
            );
            Err(if status.is_client_error() {
                Failure::Input(message)
            } else {
                Failure::Local(message)
            })
        }
    }
}
