#![doc = include_str!("../README.md")]

mod client;
pub mod fragments;
pub mod frame;
mod proxy;

pub use client::{Status, StopReason, WsClient, WsHandle, WsOptions};
pub use fragments::{Assembled, FragmentLimits, Reassembly};
pub use frame::{Frame, FrameError};
