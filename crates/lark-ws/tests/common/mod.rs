//! The long-connection client wired to an emulator, for the tests of this crate.

#![allow(dead_code, unreachable_pub)]

use lark_api::BaseUrl;
use lark_emulator::Emulator;
use lark_events::{Dispatcher, EventEnvelope, HandlerError, handler_fn};
use lark_ws::{Status, WsClient, WsHandle, WsOptions};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a test waits for something that should happen at once before it calls it a hang.
/// A ceiling, not a pace: every wait below ends on the event it waits for.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn http_client(emulator: &Emulator) -> lark_http::Client {
    lark_http::Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .build()
        .unwrap()
}

/// A dispatcher that forwards every event to a channel.
pub fn forwarding() -> (Dispatcher, mpsc::UnboundedReceiver<EventEnvelope>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let dispatcher = Dispatcher::new(handler_fn(move |event: EventEnvelope| {
        let tx = tx.clone();
        async move {
            tx.send(event)
                .map_err(|_| HandlerError::from("the test ended"))
        }
    }));
    (dispatcher, rx)
}

pub async fn connected(
    emulator: &Emulator,
    dispatcher: Dispatcher,
    options: WsOptions,
) -> WsHandle {
    let handle = WsClient::new(http_client(emulator), dispatcher)
        .with_options(options)
        .start();
    let status = tokio::time::timeout(
        PATIENCE,
        handle.wait_for(|s| matches!(s, Status::Connected { .. } | Status::Stopped(_))),
    )
    .await
    .expect("connected");
    assert!(matches!(status, Status::Connected { .. }), "{status:?}");
    assert!(
        emulator
            .wait_until(PATIENCE, |e| !e.ws_connections().is_empty())
            .await
    );
    handle
}

pub async fn next_event(rx: &mut mpsc::UnboundedReceiver<EventEnvelope>) -> EventEnvelope {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("an event")
        .expect("the channel is open")
}
