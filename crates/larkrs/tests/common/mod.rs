//! A facade client wired to a fresh emulator.

#![allow(dead_code, unreachable_pub)]

use lark::{BaseUrl, ChatId, Client};
use lark_emulator::Emulator;

/// A fresh emulator, a client of its default app, and its default chat.
pub async fn emulated() -> (Emulator, Client, ChatId) {
    let emulator = Emulator::start_default().await.unwrap();
    let (client, chat) = client_of(&emulator);
    (emulator, client, chat)
}

/// A client of `emulator`'s default app, and its default chat.
pub fn client_of(emulator: &Emulator) -> (Client, ChatId) {
    let client = Client::builder()
        .app(emulator.app_id(), emulator.app_secret())
        .base_url(BaseUrl::parse(&emulator.base_url()).unwrap())
        .build()
        .unwrap();
    (client, ChatId::new(emulator.default_chat()))
}

/// Starts `bot` on the long connection and waits until it is connected.
#[cfg(feature = "ws")]
pub async fn connected(bot: &lark::Bot) -> lark::ws::WsHandle {
    let handle = bot.connect();
    handle
        .wait_for(|s| matches!(s, lark::ws::Status::Connected { .. }))
        .await;
    handle
}
