#![doc = include_str!("../README.md")]

mod connection;
mod limiter;
mod stores;
mod tokens;

pub use connection::{Redis, RedisHealth, RedisOptions, RedisStoreError};
pub use limiter::RedisRateLimiter;
pub use stores::{DedupFailure, RedisDedupStore, RedisTicketStore, TICKET_TTL};
pub use tokens::{RedisTokenStore, TokenStoreOptions};
