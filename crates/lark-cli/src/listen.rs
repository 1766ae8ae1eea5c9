//! `lark listen`: events over the long connection, one JSON line each.

use crate::output::Failure;
use lark::events::{CardAction, CardResponse, Dispatcher, EventEnvelope, HandlerError, handler_fn};
use lark::ws::{Status, StopReason, WsClient};
use std::io::Write;
use std::path::Path;

fn print_line(value: &serde_json::Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

pub(crate) async fn run(client: lark::Client, ack_card: Option<&Path>) -> Result<(), Failure> {
    let response = match ack_card {
        None => CardResponse::empty(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| Failure::Input(format!("reading {}: {err}", path.display())))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|err| Failure::Input(format!("{} is not JSON: {err}", path.display())))?;
            CardResponse::from_json(&json)
                .map_err(|err| Failure::Input(format!("{}: {err}", path.display())))?
        }
    };
    let dispatcher = Dispatcher::new(
        handler_fn(|event: EventEnvelope| async move {
            print_line(&event.to_json());
            Ok::<(), HandlerError>(())
        })
        .on_card(move |action: CardAction| {
            let response = response.clone();
            async move {
                print_line(&action.to_json());
                Ok::<_, HandlerError>(response)
            }
        }),
    );
    let handle = WsClient::new(client.http().clone(), dispatcher).start();
    let mut status = handle.watch();
    let stopped = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break handle.shutdown().await,
            changed = status.changed() => {
                if changed.is_err() {
                    break handle.status();
                }
                let now = status.borrow_and_update().clone();
                match &now {
                    Status::Connected { device_id } => eprintln!("listening (connection {device_id}); Ctrl-C to stop"),
                    Status::Reconnecting { attempt, reason } => eprintln!("connection lost ({reason}); reconnect attempt {attempt}"),
                    Status::Stopped(_) => break now,
                    _ => {}
                }
            }
        }
    };
    match stopped {
        Status::Stopped(StopReason::Shutdown) => Ok(()),
        Status::Stopped(reason @ StopReason::Refused { .. }) => {
            Err(Failure::Refused(reason.to_string()))
        }
        other => Err(Failure::Local(format!(
            "the long connection ended: {other:?}"
        ))),
    }
}
