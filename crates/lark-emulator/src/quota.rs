//! Quota mode: the platform's published limits, enforced with its refusals.
//!
//! - Every API, per app: 50 calls a second and 1,000 a minute. Beyond either, HTTP 429 with
//!   code 99991400 and the `x-ogw-ratelimit-limit` / `x-ogw-ratelimit-reset` headers (doc
//!   `server-docs/api-call-guide/frequency-control`).
//! - Sends and replies to one user or into one chat: 5 a second, shared by every app. Beyond
//!   it, HTTP 400 with code 230020 (doc *send*, its error table).
//!
//! A refused call is not counted: the gateway turns it away before it reaches the API.

use crate::server::{Fail, Request};
use crate::state::State;
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The limits quota mode enforces; the defaults are the platform's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct QuotaConfig {
    /// Calls per second to one API, per app.
    pub api_per_second: u32,
    /// Calls per minute to one API, per app.
    pub api_per_minute: u32,
    /// Messages per second to one user or into one chat, all apps together.
    pub receiver_per_second: u32,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            api_per_second: 50,
            api_per_minute: 1000,
            receiver_per_second: 5,
        }
    }
}

/// Calls inside their windows, per key.
#[derive(Debug, Default)]
pub(crate) struct QuotaState {
    windows: HashMap<String, VecDeque<Instant>>,
    /// Calls refused for a quota, by code.
    pub(crate) refused: HashMap<i64, u64>,
}

impl QuotaState {
    /// How long until a call under `key` fits `limit` per `window`; zero when it fits now.
    fn wait(&mut self, key: &str, limit: u32, window: Duration, now: Instant) -> Duration {
        let calls = self.windows.entry(key.to_owned()).or_default();
        while calls
            .front()
            .is_some_and(|first| now.duration_since(*first) >= window)
        {
            calls.pop_front();
        }
        if calls.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
            return Duration::ZERO;
        }
        calls.front().map_or(Duration::ZERO, |first| {
            window.saturating_sub(now.duration_since(*first))
        })
    }

    fn count(&mut self, keys: &[String], now: Instant) {
        for key in keys {
            self.windows.entry(key.clone()).or_default().push_back(now);
        }
    }
}

/// An API's path with its ids replaced, so that every message is one API.
fn template(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let id = ["om_", "oc_", "ou_", "on_", "img_", "file_", "omt_"]
                .iter()
                .any(|prefix| segment.starts_with(prefix))
                || (segment.len() >= 8 && segment.chars().any(|c| c.is_ascii_digit()));
            if id { ":id" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The receiver a send or reply goes to: the chat, or the user as addressed.
fn receiver(state: &State, request: &Request) -> Option<String> {
    if request.method != Method::POST {
        return None;
    }
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["open-apis", "im", "v1", "messages"] => {
            let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
            let id = body.get("receive_id")?.as_str()?;
            // A chat is one receiver however it is addressed; a user is keyed as addressed.
            Some(format!("receiver:{id}"))
        }
        ["open-apis", "im", "v1", "messages", id, "reply"] => state
            .messages
            .get(*id)
            .map(|message| format!("receiver:{}", message.chat_id)),
        _ => None,
    }
}

/// Refuses `request` when it would pass a quota, else counts it.
pub(crate) fn check(state: &mut State, app_id: &str, request: &Request) -> Option<Fail> {
    let config = state.config.quota.clone()?;
    let now = state.now();
    let api = format!("{app_id}:{} {}", request.method, template(&request.path));
    let receiver = receiver(state, request);
    let second = Duration::from_secs(1);
    let minute = Duration::from_secs(60);
    let quotas = &mut state.quotas;
    let per_second = quotas.wait(&format!("s:{api}"), config.api_per_second, second, now);
    let per_minute = quotas.wait(&format!("m:{api}"), config.api_per_minute, minute, now);
    let api_wait = per_second.max(per_minute);
    if !api_wait.is_zero() {
        *quotas.refused.entry(99_991_400).or_default() += 1;
        let limit = if per_minute > per_second {
            config.api_per_minute
        } else {
            config.api_per_second
        };
        // Whole seconds, rounded up, as the header is written.
        let reset = api_wait.as_millis().div_ceil(1000);
        return Some(Fail::rate_limited(
            u64::from(limit),
            u64::try_from(reset).unwrap_or(u64::MAX),
        ));
    }
    if let Some(receiver) = &receiver
        && !quotas
            .wait(receiver, config.receiver_per_second, second, now)
            .is_zero()
    {
        *quotas.refused.entry(230_020).or_default() += 1;
        return Some(Fail::new(
            StatusCode::BAD_REQUEST,
            230_020,
            "This operation triggers the frequency limit.",
        ));
    }
    let mut keys = vec![format!("s:{api}"), format!("m:{api}")];
    keys.extend(receiver);
    quotas.count(&keys, now);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths_are_one_api() {
        assert_eq!(
            template("/open-apis/im/v1/messages/om_dc13264520392913993dd051dba21dcf/reply"),
            "/open-apis/im/v1/messages/:id/reply"
        );
        assert_eq!(
            template("/open-apis/im/v1/messages"),
            "/open-apis/im/v1/messages"
        );
    }

    #[test]
    fn a_window_refuses_the_call_past_its_limit_until_the_oldest_leaves() {
        let mut state = QuotaState::default();
        let start = Instant::now();
        let second = Duration::from_secs(1);
        for n in 0..5 {
            let at = start + Duration::from_millis(n * 100);
            assert!(state.wait("chat", 5, second, at).is_zero());
            state.count(&["chat".to_owned()], at);
        }
        let sixth = start + Duration::from_millis(900);
        assert_eq!(
            state.wait("chat", 5, second, sixth),
            Duration::from_millis(100)
        );
        assert!(state.wait("chat", 5, second, start + second).is_zero());
    }
}
