//! Runnable examples for lark-rs: see the files beside this one, and run them with
//! `cargo run --example <name>`.
