//! Retry and token policies: plain values the user can read and change.

use std::time::Duration;

/// When and how often a failed call is tried again.
///
/// Only calls that cannot act twice are retried: reads, and writes that carry an idempotency
/// uuid (the executor fills one in for send, reply, forward, merge forward and chat creation).
/// Two failures are retried for any call, because they prove nothing was done: a connection
/// that was never established, and a rate-limit refusal (the gateway turns the request away
/// before any service sees it).
///
/// ```
/// use lark_http::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default().with_max_attempts(6).with_base_delay(Duration::from_millis(50));
/// assert_eq!(policy.max_attempts, 6);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included. 1 turns retries off.
    pub max_attempts: u32,
    /// The first backoff's ceiling; it doubles each attempt.
    pub base_delay: Duration,
    /// The largest backoff.
    pub max_delay: Duration,
    /// The longest wait a rate limit's reset header is honoured for; a longer one is cut to this.
    pub max_rate_limit_wait: Duration,
    /// Whether an upload from bytes or a file is sent again after a 5xx, a timeout or a
    /// dropped connection (default true). The platform may then have stored it twice; the
    /// second key is never used, so the only cost is storage nobody sees. A refusal before
    /// processing (429, a connection never made) is retried either way.
    pub retry_uploads: bool,
}

impl Default for RetryPolicy {
    /// Four attempts, backoff from 200 ms doubling to at most 5 s, with full jitter; rate
    /// limits honoured up to 60 s. Four attempts ride out the short blips (a 5xx, a reset
    /// connection, a one-second rate-limit window) that make up nearly all transient failures,
    /// while a caller still hears about a real outage within about ten seconds.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_rate_limit_wait: Duration::from_secs(60),
            retry_uploads: true,
        }
    }
}

impl RetryPolicy {
    /// No retries.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// With `attempts` attempts in all (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// With the first backoff's ceiling at `delay`.
    #[must_use]
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// With no backoff longer than `delay`.
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// With rate-limit waits cut to `wait`.
    #[must_use]
    pub fn with_max_rate_limit_wait(mut self, wait: Duration) -> Self {
        self.max_rate_limit_wait = wait;
        self
    }

    /// With uploads sent again after failures that may have stored them, or not.
    #[must_use]
    pub fn with_retry_uploads(mut self, retry: bool) -> Self {
        self.retry_uploads = retry;
        self
    }

    /// The backoff before attempt `attempt + 1` (attempt counts from 1): a random duration in
    /// `[0, min(max_delay, base_delay * 2^(attempt - 1))]` ("full jitter").
    #[must_use]
    pub fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let ceiling_ns = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if ceiling_ns == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random % (ceiling_ns + 1))
    }

    /// The wait after a rate limit: the platform's reset when given (capped), else the backoff.
    #[must_use]
    pub fn rate_limit_wait(&self, reset: Option<Duration>, attempt: u32, random: u64) -> Duration {
        match reset {
            Some(reset) => reset.min(self.max_rate_limit_wait) + self.backoff(1, random) / 4,
            None => self.backoff(attempt, random),
        }
    }
}

/// How tokens are cached.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenPolicy {
    /// How long before its expiry a token is replaced.
    ///
    /// The default is 5 minutes. The platform hands out a token for 2 hours, and asked again
    /// returns the same token while it has 30 minutes or more left and a new one after that
    /// (docs/protocol.md §4.1). A refresh must therefore happen inside those last 30 minutes to get
    /// a new token, and early enough that clock skew and a slow network never present an
    /// expired one: 5 minutes does both (the official SDKs use 3).
    pub refresh_margin: Duration,
}

/// The platform's reissue threshold: a margin at or above it would refresh into the same token.
pub const REISSUE_THRESHOLD: Duration = Duration::from_secs(30 * 60);

impl TokenPolicy {
    /// With tokens replaced `margin` before expiry.
    #[must_use]
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(5 * 60),
        }
    }
}

/// How long an upload or a download may take.
///
/// Both limits hold for every transfer. The deadline is for the whole call: retries before the
/// first byte, and the waits between them, count against it rather than on top of it.
///
/// ```
/// use lark_http::TransferTimeouts;
/// use std::time::Duration;
///
/// let limits = TransferTimeouts::default().with_deadline(Duration::from_secs(60));
/// assert_eq!(limits.read, Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferTimeouts {
    /// The longest wait for the next chunk, either way: for a download, from asking for the
    /// next bytes to receiving them; for an upload, from one chunk handed to the network to
    /// the next, and then for the answer.
    pub read: Duration,
    /// The longest the whole transfer may take, from the call to its last byte.
    pub deadline: Duration,
}

impl Default for TransferTimeouts {
    /// 30 s between chunks: the request timeout's figure, so a transfer that stalls fails
    /// as fast as a call that gets no answer. 10 min in all: the largest file the platform
    /// takes (30 MB) moves in that time at 50 KB/s, a slow mobile link, while a transfer that
    /// trickles a byte at a time cannot hold a caller for ever.
    fn default() -> Self {
        Self {
            read: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
        }
    }
}

impl TransferTimeouts {
    /// Sets [`read`](Self::read).
    #[must_use]
    pub fn with_read(mut self, read: Duration) -> Self {
        self.read = read;
        self
    }

    /// Sets [`deadline`](Self::deadline).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.backoff(1, u64::MAX),
            Duration::from_nanos(u64::MAX % 200_000_001)
        );
        assert!(policy.backoff(1, 123) <= Duration::from_millis(200));
        assert!(policy.backoff(3, u64::MAX / 3) <= Duration::from_millis(800));
        assert!(policy.backoff(30, u64::MAX) <= Duration::from_secs(5));
        assert_eq!(policy.backoff(2, 0), Duration::ZERO);
    }

    #[test]
    fn rate_limits_wait_for_the_reset_but_not_forever() {
        let policy = RetryPolicy::default();
        let wait = policy.rate_limit_wait(Some(Duration::from_secs(2)), 1, 0);
        assert_eq!(wait, Duration::from_secs(2));
        let capped = policy.rate_limit_wait(Some(Duration::from_secs(3600)), 1, 0);
        assert_eq!(capped, Duration::from_secs(60));
    }
}
