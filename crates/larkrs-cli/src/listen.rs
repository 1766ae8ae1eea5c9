//! `lark listen`: events over the long connection, one JSON line each on standard output;
//! the connection's state changes on standard error, as they happen.

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

/// Tells standard error that the connection changed state: a line of text, or with `--json` a
/// JSON object (`{"state":"connecting"}`, `{"state":"connected","connection":…}`,
/// `{"state":"reconnecting","attempt":…,"wait_seconds":…,"reason":…}`).
fn report_state(status: &Status, json: bool) {
    let (text, value) = match status {
        Status::Connecting => (
            "connecting to the platform".to_owned(),
            serde_json::json!({"state": "connecting"}),
        ),
        Status::Connected { device_id } => (
            format!("listening (connection {device_id}); Ctrl-C to stop"),
            serde_json::json!({"state": "connected", "connection": device_id}),
        ),
        Status::Reconnecting {
            attempt,
            reason,
            wait,
        } => (
            format!(
                "connection lost ({reason}); reconnect attempt {attempt} in {:.1} s",
                wait.as_secs_f64()
            ),
            serde_json::json!({
                "state": "reconnecting",
                "attempt": attempt,
                "wait_seconds": wait.as_secs_f64(),
                "reason": reason,
            }),
        ),
        _ => return,
    };
    if json {
        eprintln!("{value}");
    } else {
        eprintln!("{text}");
    }
}

pub(crate) async fn run(
    client: lark::Client,
    ack_card: Option<&Path>,
    json: bool,
) -> Result<(), Failure> {
    let response = match ack_card {
        None => CardResponse::empty(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| Failure::Local(format!("reading {}: {err}", path.display())))?;
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
    report_state(&status.borrow_and_update(), json);
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
                if let Status::Stopped(_) = now {
                    break now;
                }
                report_state(&now, json);
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
