//! A peer that floods the client with fragments of messages that never complete, each
//! claiming the largest size: the client holds only what arrived, within its limits, and keeps
//! serving. It measures this process's resident memory, so it lives alone in its own binary.

#![cfg(target_os = "linux")]

use lark_emulator::{Emulator, EmulatorConfig};
use lark_ws::{Status, WsOptions};

mod common;

use common::{PATIENCE, connected, forwarding};

/// Fragments sent: each opens a new message claiming 4096 parts.
const FLOOD: usize = 6_000;

/// This process's resident set, in bytes, from `/proc/self/statm`.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * rustix::param::page_size() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_fragments_that_never_complete_stays_within_its_memory_bound() {
    let emulator = Emulator::start(EmulatorConfig::default().long_connection())
        .await
        .unwrap();
    let (dispatcher, mut rx) = forwarding();
    let handle = connected(&emulator, dispatcher, WsOptions::default()).await;

    // Warm up: one ordinary event, so that the memory measured next is the flood's.
    let tom = emulator.user("Tom").unwrap().open_id;
    let chat = emulator.default_chat();
    emulator.user_says_text(&chat, &tom, "before").unwrap();
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let before = resident();

    let app = emulator.app_id();
    let payload = [b'x'; 10];
    for i in 0..FLOOD {
        let id = format!("flood_{i}");
        assert!(emulator.ws_push_frame(
            &app,
            &[
                ("type", "event"),
                ("message_id", &id),
                ("sum", "4096"),
                ("seq", "0")
            ],
            &payload,
        ));
    }
    // Frames are read in order: the event after the flood arrives once every fragment has
    // been taken in.
    emulator.user_says_text(&chat, &tom, "after").unwrap();
    let event = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.header.event_type, "im.message.receive_v1");
    let growth = resident().saturating_sub(before);
    println!("fragment flood: {FLOOD} fragments, resident memory grew by {growth} bytes");
    assert!(
        growth < 16 * 1024 * 1024,
        "resident memory grew by {} MB over a flood of {FLOOD} fragments",
        growth / (1024 * 1024)
    );
    assert!(matches!(handle.status(), Status::Connected { .. }));
    handle.shutdown().await;
}
