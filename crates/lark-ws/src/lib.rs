#![doc = include_str!("../README.md")]

mod client;
mod fragments;
pub mod frame;
mod proxy;

pub use client::{Status, StopReason, WsClient, WsHandle, WsOptions};
pub use frame::{Frame, FrameError};
