#![doc = include_str!("../README.md")]

mod connection;
mod limiter;
mod stores;
mod tokens;
mod users;

pub use connection::{Redis, RedisHealth, RedisOptions, RedisStoreError};
pub use limiter::RedisRateLimiter;
pub use stores::{DedupFailure, RedisDedupStore, RedisTicketStore, TICKET_TTL};
pub use tokens::{RedisTokenStore, TokenStoreOptions};
pub use users::{RedisUserTokenStore, UserTokenStoreOptions};

/// A server shares its token and ticket stores: `ClientBuilder::stores(&redis)`.
impl lark_http::SharedStores for Redis {
    fn token_store(&self) -> std::sync::Arc<dyn lark_http::TokenStore> {
        std::sync::Arc::new(RedisTokenStore::new(self.clone()))
    }

    fn ticket_store(&self) -> std::sync::Arc<dyn lark_http::TicketStore> {
        std::sync::Arc::new(RedisTicketStore::new(self.clone()))
    }
}
