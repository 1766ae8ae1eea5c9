//! Faults on demand: rate limits, server errors, dropped connections, slow answers and revoked
//! tokens, each triggered by probability or by script, so client tests can prove their retries
//! and idempotency.

use crate::util::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 429 with code 99991400 and the `x-ogw-ratelimit-limit` / `x-ogw-ratelimit-reset`
    /// headers; nothing is processed.
    RateLimit {
        /// Seconds until the window resets.
        reset_secs: u64,
        /// The window's limit.
        limit: u64,
    },
    /// The given 5xx status with the platform's internal-error body
    /// (`{"code":1663,"msg":"internal error",…}` unless another documented code is given);
    /// nothing is processed.
    ServerError {
        /// The status, e.g. 500 or 503.
        status: u16,
        /// The code in the body: one of the platform's internal-error codes (1663 by
        /// default; the generic error-code list also gives 1500, 1665, 1668, 2200, 5000,
        /// 10101 and 10500).
        #[serde(default = "internal_error_code")]
        code: i64,
    },
    /// The given status with a gateway's HTML page instead of the platform's JSON, as a proxy
    /// or load balancer in front of the platform answers; nothing is processed.
    GatewayError {
        /// The status, e.g. 502 or 504.
        status: u16,
    },
    /// A refusal with the given HTTP status, code and message in the platform's error format;
    /// nothing is processed. For answers no other fault gives, such as the long connection's
    /// "system busy" (HTTP 200, 1000040345).
    Answer {
        /// The HTTP status.
        status: u16,
        /// The code.
        code: i64,
        /// The message.
        msg: String,
    },
    /// The request is processed, then answered with the given 5xx and the platform's
    /// internal-error body, as if it failed: the client cannot know that it took effect.
    ServerErrorAfterProcessing {
        /// The status, e.g. 500 or 503.
        status: u16,
    },
    /// The connection is closed before the request is processed.
    DropBeforeProcessing,
    /// The request is processed, then the connection is closed without an answer: the client
    /// cannot know whether it took effect.
    DropAfterProcessing,
    /// The answer is delayed.
    Delay {
        /// How long, in milliseconds.
        millis: u64,
    },
    /// Every token of the calling app is revoked before the request is checked, as if rotated.
    RevokeToken,
    /// The request is processed and the answer's head sent, announcing the whole body, but only
    /// its first `after_bytes` bytes follow; then nothing, the connection held open: a server
    /// stalled mid-answer, as a client must survive on a bad network.
    StallBody {
        /// How many body bytes are sent before the stall.
        after_bytes: u64,
    },
}

fn internal_error_code() -> i64 {
    INTERNAL_ERROR
}

/// "internal error, please retry later" in the platform's generic error-code list.
pub(crate) const INTERNAL_ERROR: i64 = 1663;

impl Fault {
    /// A 5xx with the platform's internal-error body (code 1663).
    #[must_use]
    pub fn server_error(status: u16) -> Self {
        Self::ServerError {
            status,
            code: INTERNAL_ERROR,
        }
    }
}

/// Which requests a rule applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Matcher {
    /// Only this method (`GET`, `POST`, …).
    pub method: Option<String>,
    /// Only paths starting with this.
    pub path_prefix: Option<String>,
}

impl Matcher {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
    }
}

/// When a rule fires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Trigger {
    /// On each matching request with this probability (0 to 1).
    Probability {
        /// The probability.
        p: f64,
    },
    /// On the next `n` matching requests.
    Next {
        /// How many.
        n: u64,
    },
    /// On matching requests by position: `script[i]` says whether the i-th matching request
    /// fails. After the script, none do.
    Script {
        /// The script.
        script: Vec<bool>,
    },
}

/// A fault, where it applies, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultRule {
    /// What goes wrong.
    pub fault: Fault,
    /// Which requests.
    #[serde(default)]
    pub matcher: Matcher,
    /// When.
    pub trigger: Trigger,
    /// Matching requests seen so far.
    #[serde(default)]
    pub seen: u64,
    /// How many times it fired.
    #[serde(default)]
    pub fired: u64,
}

impl FaultRule {
    /// `fault` on the next `n` requests.
    #[must_use]
    pub fn next(n: u64, fault: Fault) -> Self {
        Self {
            fault,
            matcher: Matcher::default(),
            trigger: Trigger::Next { n },
            seen: 0,
            fired: 0,
        }
    }

    /// `fault` on each request with probability `p`.
    #[must_use]
    pub fn probability(p: f64, fault: Fault) -> Self {
        Self {
            fault,
            matcher: Matcher::default(),
            trigger: Trigger::Probability { p },
            seen: 0,
            fired: 0,
        }
    }

    /// `fault` on the requests the script marks.
    #[must_use]
    pub fn script(script: impl IntoIterator<Item = bool>, fault: Fault) -> Self {
        Self {
            fault,
            matcher: Matcher::default(),
            trigger: Trigger::Script {
                script: script.into_iter().collect(),
            },
            seen: 0,
            fired: 0,
        }
    }

    /// Writes that fail now and then, as a busy platform's do: 5% of `PUT`s applied and then
    /// answered 500, 5% of `POST`s applied and then answered 503, and 3% of CardKit calls
    /// refused with 429 before anything is done (a one-second reset, a limit of 50). For
    /// testing that a client neither loses nor repeats work when it retries.
    ///
    /// ```
    /// # async fn run() -> std::io::Result<()> {
    /// let emulator = lark_emulator::Emulator::start_default().await?;
    /// for rule in lark_emulator::FaultRule::unreliable_writes() {
    ///     emulator.inject(rule);
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn unreliable_writes() -> Vec<Self> {
        vec![
            Self::probability(0.05, Fault::ServerErrorAfterProcessing { status: 500 })
                .on_method("PUT"),
            Self::probability(0.05, Fault::ServerErrorAfterProcessing { status: 503 })
                .on_method("POST"),
            Self::probability(
                0.03,
                Fault::RateLimit {
                    reset_secs: 1,
                    limit: 50,
                },
            )
            .on_path("/open-apis/cardkit/"),
        ]
    }

    /// Only for paths starting with `prefix`.
    #[must_use]
    pub fn on_path(mut self, prefix: impl Into<String>) -> Self {
        self.matcher.path_prefix = Some(prefix.into());
        self
    }

    /// Only for `method`.
    #[must_use]
    pub fn on_method(mut self, method: impl Into<String>) -> Self {
        self.matcher.method = Some(method.into());
        self
    }
}

/// The active rules.
#[derive(Clone, Debug)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    rng: Rng,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            rng: Rng::new(seed),
        }
    }

    pub(crate) fn push(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// The faults that fire for this request, in rule order. Auth endpoints are included: a
    /// token fetch can fail like any other call.
    pub(crate) fn pick(&mut self, method: &str, path: &str) -> Vec<Fault> {
        let mut fired = Vec::new();
        for rule in &mut self.rules {
            if !rule.matcher.matches(method, path) {
                continue;
            }
            let index = rule.seen;
            rule.seen += 1;
            let fire = match &rule.trigger {
                Trigger::Probability { p } => self.rng.next_f64() < *p,
                Trigger::Next { n } => rule.fired < *n,
                Trigger::Script { script } => usize::try_from(index)
                    .ok()
                    .and_then(|i| script.get(i))
                    .copied()
                    .unwrap_or(false),
            };
            if fire {
                rule.fired += 1;
                fired.push(rule.fault.clone());
            }
        }
        fired
    }
}

/// How long a delay fault waits.
pub(crate) fn delay_of(faults: &[Fault]) -> Duration {
    faults
        .iter()
        .map(|fault| match fault {
            Fault::Delay { millis } => Duration::from_millis(*millis),
            _ => Duration::ZERO,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_n_fires_exactly_n_times_on_matching_paths() {
        let mut faults = Faults::new(1);
        faults.push(FaultRule::next(2, Fault::server_error(500)).on_path("/open-apis/im"));
        assert!(faults.pick("POST", "/open-apis/auth/v3/x").is_empty());
        assert_eq!(faults.pick("POST", "/open-apis/im/v1/messages").len(), 1);
        assert_eq!(faults.pick("GET", "/open-apis/im/v1/chats").len(), 1);
        assert!(faults.pick("POST", "/open-apis/im/v1/messages").is_empty());
    }

    #[test]
    fn scripts_fire_by_position() {
        let mut faults = Faults::new(1);
        faults.push(FaultRule::script(
            [false, true, false, true],
            Fault::DropBeforeProcessing,
        ));
        let fired: Vec<bool> = (0..6)
            .map(|_| !faults.pick("GET", "/").is_empty())
            .collect();
        assert_eq!(fired, [false, true, false, true, false, false]);
    }

    #[test]
    fn probability_fires_about_that_often() {
        let mut faults = Faults::new(42);
        faults.push(FaultRule::probability(0.1, Fault::server_error(503)));
        let fired = (0..10_000)
            .filter(|_| !faults.pick("GET", "/").is_empty())
            .count();
        assert!((800..1200).contains(&fired), "{fired}");
    }
}
