//! `lark listen`: events over the long connection, one JSON line each.

use crate::output::Failure;
use lark::events::{
    AckPolicy, CardAction, CardResponse, Dispatcher, EventEnvelope, HandlerError, handler_fn,
};
use lark::ws::{Status, StopReason, WsClient};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Writes one line; the event is acknowledged only once this succeeded.
fn print_line(value: &serde_json::Value) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{value}")?;
    stdout.flush()
}

/// The first write that failed, which stops the command.
#[derive(Default)]
struct WriteFailed {
    error: std::sync::Mutex<Option<std::io::Error>>,
    notify: tokio::sync::Notify,
}

impl WriteFailed {
    /// Records `err` and wakes the command; returns the handler's error, so the delivery is not
    /// acknowledged and the platform delivers it again.
    fn record(&self, err: std::io::Error) -> HandlerError {
        let text = err.to_string();
        let mut first = self
            .error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.is_none() {
            *first = Some(err);
        }
        drop(first);
        self.notify.notify_one();
        format!("could not write the event to standard output: {text}").into()
    }

    fn take(&self) -> Option<std::io::Error> {
        self.error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
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
    let failed = std::sync::Arc::new(WriteFailed::default());
    let on_event = failed.clone();
    let on_card = failed.clone();
    let dispatcher = Dispatcher::new(
        handler_fn(move |event: EventEnvelope| {
            let failed = on_event.clone();
            async move { print_line(&event.to_json()).map_err(|err| failed.record(err)) }
        })
        .on_card(move |action: CardAction| {
            let response = response.clone();
            let failed = on_card.clone();
            async move {
                print_line(&action.to_json()).map_err(|err| failed.record(err))?;
                Ok::<_, HandlerError>(response)
            }
        }),
    )
    // Acknowledged when written, however long the reader takes: never before.
    .with_ack(AckPolicy::WaitUpTo(Duration::from_secs(24 * 3600)));
    let handle = WsClient::new(client.http().clone(), dispatcher).start();
    let mut status = handle.watch();
    let stopped = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break handle.shutdown().await,
            () = failed.notify.notified() => {
                handle.shutdown().await;
                let err = failed.take().map_or_else(|| "unknown error".to_owned(), |e| e.to_string());
                return Err(Failure::Local(format!(
                    "could not write an event to standard output ({err}); stopped without acknowledging it, so the platform delivers it again"
                )));
            }
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
