//! The one request pipeline. JSON calls, downloads and uploads go through [`Client::call`],
//! which attaches the token, replays once on a refused token, classifies the answer, decides
//! with [`decide`] whether to retry, wait for a rate limit or stop, and traces every call in one
//! span. A kind of call supplies only how to send itself once and read its answer
//! ([`Attempt`]).

use crate::client::{Client, Failure};
use crate::error::Error;
use crate::policy::RetryPolicy;
use http::{Method, StatusCode};
use lark_api::{AccessToken, ApiError, Auth, ErrorKind, RateLimit};
use std::time::Duration;
use tracing::Instrument;
use tracing::field::Empty;

/// How safely a request can be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Replay {
    /// Sending it twice acts once: a read, or a write that carries an idempotency uuid.
    Safe,
    /// Sending it twice may act twice, harmlessly: an upload from bytes or a file, whose
    /// second copy is stored under a key nobody uses. Retried on transient failures when
    /// [`RetryPolicy::retry_uploads`] allows.
    Harmless,
    /// Sending it twice may act twice: a write without an idempotency key. Repeated only
    /// when the first was refused before anything was done.
    Unsafe,
    /// It cannot be sent again: its body was read from a stream that is now spent.
    Impossible,
}

/// How one attempt ended, as far as retrying is concerned.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// The platform refused the request.
    Refused {
        /// Its error.
        error: &'a ApiError,
        /// Whether the request carried a cached token (tenant or app) that can be evicted;
        /// false for a user token, which is passed through as given.
        cached_token: bool,
        /// Whether the request was already replayed once with a fresh token.
        replayed: bool,
    },
    /// No answer within the time limit: it may or may not have been processed.
    TimedOut,
    /// The connection failed. `not_sent` when it was never established, so nothing was done.
    Failed {
        /// True when nothing was sent.
        not_sent: bool,
    },
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Forget the refused token, fetch a new one and send again; the replay is not counted
    /// as an attempt.
    Evict,
    /// Wait this long, then try again.
    Retry(Duration),
    /// Give up and return the error.
    Stop,
}

/// The retry decision: a pure function of how the request can be replayed, how attempt
/// `attempt` (counted from 1) ended, and the policy. `random` draws the jitter.
///
/// | outcome | Safe | Harmless | Unsafe | Impossible |
/// |---|---|---|---|---|
/// | token refused, cached, first time | evict | evict | evict | stop |
/// | rate limited (refused at the gateway) | wait for the reset | wait | wait | stop |
/// | connection never made | back off | back off | back off | stop |
/// | 5xx, server error, timeout, dropped connection | back off | back off if the policy allows uploads | stop | stop |
/// | terminal or any other refusal | stop | stop | stop | stop |
///
/// Every retry stops once `attempt` reaches [`RetryPolicy::max_attempts`].
#[must_use]
pub fn decide(
    policy: &RetryPolicy,
    replay: Replay,
    outcome: &Outcome<'_>,
    attempt: u32,
    random: u64,
) -> Decision {
    if replay == Replay::Impossible {
        return Decision::Stop;
    }
    let may_repeat_after_processing = match replay {
        Replay::Safe => true,
        Replay::Harmless => policy.retry_uploads,
        Replay::Unsafe | Replay::Impossible => false,
    };
    if let Outcome::Refused {
        error,
        cached_token,
        replayed,
    } = outcome
        && error.kind() == ErrorKind::TokenInvalid
    {
        // Refused before it took effect, so a replay with a fresh token is safe for any call.
        return if *cached_token && !replayed {
            Decision::Evict
        } else {
            Decision::Stop
        };
    }
    if attempt >= policy.max_attempts {
        return Decision::Stop;
    }
    let backoff = Decision::Retry(policy.backoff(attempt, random));
    match outcome {
        Outcome::Refused { error, .. } => {
            // A state that time does not change (a message too old to update, a missing
            // scope) answers the same however often it is asked.
            if error.is_terminal() {
                return Decision::Stop;
            }
            match error.kind() {
                // Refused at the gateway, before any service acted: safe to repeat.
                ErrorKind::RateLimited => {
                    Decision::Retry(policy.rate_limit_wait(error.retry_after(), attempt, random))
                }
                ErrorKind::Server if may_repeat_after_processing => backoff,
                _ if error.status.is_server_error() && may_repeat_after_processing => backoff,
                _ => Decision::Stop,
            }
        }
        Outcome::Failed { not_sent: true } => backoff,
        Outcome::TimedOut | Outcome::Failed { not_sent: false } if may_repeat_after_processing => {
            backoff
        }
        Outcome::TimedOut | Outcome::Failed { .. } => Decision::Stop,
    }
}

/// What one attempt came to.
pub(crate) enum Attempted<T> {
    /// The answer.
    Done(T),
    /// The platform refused.
    Refused(ApiError),
    /// Below the platform: no answer in time, or the connection failed.
    Failed(Failure),
    /// Something no retry helps: a request that cannot be built, a local file, an answer
    /// that cannot be read. Returned as it is.
    Fatal(Error),
}

/// What the platform's answer said besides its body, for the span and for the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnswerMeta {
    /// The HTTP status.
    pub status: Option<StatusCode>,
    /// The log id to quote to Lark support (`x-tt-logid`).
    pub log_id: Option<String>,
    /// The rate-limit headers, when the platform sent them.
    pub rate_limit: Option<RateLimit>,
}

impl AnswerMeta {
    /// Reads the meta of an answer.
    pub(crate) fn of(status: StatusCode, headers: &http::HeaderMap) -> Self {
        let (log_id, rate_limit) = lark_api::answer_headers(headers);
        Self {
            status: Some(status),
            log_id,
            rate_limit,
        }
    }
}

/// One kind of call: how to send it once and read its answer. `once` is a plain `async fn`,
/// not a boxed one: the pipeline knows each call's type, so its future is built in place.
pub(crate) trait Attempt: Send {
    /// The endpoint called.
    type Endpoint: lark_api::Endpoint;
    /// What a successful answer gives.
    type Output;
    /// The endpoint, for the span, the usage count, the token and the quotas.
    fn endpoint(&self) -> &Self::Endpoint;
    /// How safely it can be sent again.
    fn replay(&self) -> Replay;
    /// The method.
    fn method(&self) -> Method {
        <Self::Endpoint as lark_api::Endpoint>::METHOD
    }
    /// The path template.
    fn path(&self) -> &'static str {
        <Self::Endpoint as lark_api::Endpoint>::PATH
    }
    /// Which token the call takes.
    fn auth(&self) -> Auth {
        <Self::Endpoint as lark_api::Endpoint>::AUTH
    }
    /// The resource with a quota of its own the call counts against.
    fn quota_scope(&self) -> Option<lark_api::QuotaScope> {
        lark_api::Endpoint::quota_scope(self.endpoint())
    }
    /// Sends it once with `token` as attempt `attempt` and reads the answer; notes the
    /// answer's meta in `meta`.
    fn once(
        &mut self,
        client: &Client,
        token: Option<&AccessToken>,
        attempt: u32,
        meta: &mut AnswerMeta,
    ) -> impl Future<Output = Attempted<Self::Output>> + Send;
}

impl Client {
    /// Runs `call` through the pipeline, in a `lark.call` span.
    pub(crate) async fn call<A: Attempt>(&self, call: A) -> Result<(A::Output, AnswerMeta), Error> {
        let span = tracing::info_span!(
            "lark.call",
            method = %call.method(),
            path = call.path(),
            status = Empty,
            attempt = Empty,
            code = Empty,
            log_id = Empty,
            calls = Empty,
        );
        // Boxed: the pipeline's future is large, and the layers above it then move a pointer
        // instead of copying it whole.
        Box::pin(self.pipeline(call, &span))
            .instrument(span.clone())
            .await
    }

    async fn pipeline<A: Attempt>(
        &self,
        mut call: A,
        span: &tracing::Span,
    ) -> Result<(A::Output, AnswerMeta), Error> {
        let policy = self.retry_policy().clone();
        let mut attempt = 0u32;
        let mut replayed = false;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            let token = match self.token_at_hand(call.auth()) {
                Some(token) => Some(token),
                None => self.token_for(call.auth()).await?,
            };
            if self.keeps_quotas() {
                self.keep_quotas(&call.method(), call.path(), call.quota_scope().as_ref())
                    .await;
            }
            span.record("calls", self.count_call(&call.method(), call.path()));
            let mut meta = AnswerMeta::default();
            let setback = match call
                .once(
                    self,
                    token.as_ref().map(|(token, _)| token),
                    attempt,
                    &mut meta,
                )
                .await
            {
                Attempted::Done(output) => {
                    record(span, &meta);
                    tracing::debug!(attempt, "the platform answered");
                    return Ok((output, meta));
                }
                Attempted::Fatal(error) => {
                    record(span, &meta);
                    return Err(error);
                }
                Attempted::Refused(api) => Setback::Refused(api),
                Attempted::Failed(failure) => Setback::Failed(failure),
            };
            record(span, &meta);
            if let Setback::Refused(api) = &setback {
                span.record("code", api.code);
            }
            let outcome = match &setback {
                Setback::Refused(api) => Outcome::Refused {
                    error: api,
                    cached_token: matches!(token, Some((_, Some(_)))),
                    replayed,
                },
                Setback::Failed(Failure::Timeout) => Outcome::TimedOut,
                Setback::Failed(Failure::Transport(err)) => Outcome::Failed {
                    not_sent: err.not_sent,
                },
            };
            match decide(
                &policy,
                call.replay(),
                &outcome,
                attempt,
                self.next_random(),
            ) {
                Decision::Evict => {
                    if let (Setback::Refused(api), Some((token, Some(kind)))) = (&setback, &token) {
                        self.evict(*kind, token, api).await;
                    }
                    replayed = true;
                    attempt -= 1;
                }
                Decision::Retry(wait) => {
                    tracing::debug!(attempt, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Decision::Stop => {
                    // A refused token that could not be replayed (a spent reader) is still
                    // forgotten, so the next call fetches a fresh one.
                    if let (Setback::Refused(api), Some((token, Some(kind)))) = (&setback, &token)
                        && api.kind() == ErrorKind::TokenInvalid
                        && !replayed
                    {
                        self.evict(*kind, token, api).await;
                    }
                    return Err(match setback {
                        Setback::Refused(api)
                            if api.kind() == ErrorKind::TokenInvalid
                                && replayed
                                && !matches!(token, Some((_, Some(crate::TokenKind::User)))) =>
                        {
                            Error::TokenRejected {
                                code: api.code,
                                log_id: api.log_id,
                            }
                        }
                        Setback::Refused(api) => Error::api(api, attempt),
                        Setback::Failed(failure) => failure.into_error(
                            self.inner.base.host(),
                            self.inner.request_timeout,
                            attempt,
                        ),
                    });
                }
            }
        }
    }
}

/// Notes an answer's status and log id in the call's span.
fn record(span: &tracing::Span, meta: &AnswerMeta) {
    if let Some(status) = meta.status {
        span.record("status", status.as_u16());
    }
    if let Some(log_id) = &meta.log_id {
        span.record("log_id", log_id.as_str());
    }
}

/// Why an attempt did not give an answer.
enum Setback {
    Refused(ApiError),
    Failed(Failure),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: i64) -> ApiError {
        let body = serde_json::json!({"code": code, "msg": "scripted"}).to_string();
        let response = http::Response::builder()
            .status(status)
            .header("x-ogw-ratelimit-reset", "2")
            .body(bytes::Bytes::from(body))
            .unwrap();
        match lark_api::parse_error(&response) {
            lark_api::Error::Api(api) => api,
            other => panic!("{other:?}"),
        }
    }

    fn refused(error: &ApiError) -> Outcome<'_> {
        Outcome::Refused {
            error,
            cached_token: true,
            replayed: false,
        }
    }

    const ALL: [Replay; 4] = [
        Replay::Safe,
        Replay::Harmless,
        Replay::Unsafe,
        Replay::Impossible,
    ];

    /// Each row: the outcome, then the decision for Safe, Harmless, Unsafe, Impossible, at
    /// attempt 1 of 4. `R` is a retry of any length, `W` the rate limit's wait.
    #[test]
    fn every_row_of_the_decision_table() {
        let policy = RetryPolicy::default();
        let rate = api(429, 99_991_400);
        let server = api(500, 1663);
        let gateway = api(502, 0);
        let invalid = api(400, 99_991_663);
        let not_found = api(400, 230_001);
        let too_old = api(400, 230_031);
        let rows: [(&str, Outcome<'_>, [&str; 4]); 9] = [
            ("token refused", refused(&invalid), ["E", "E", "E", "S"]),
            ("rate limited", refused(&rate), ["W", "W", "W", "S"]),
            (
                "never sent",
                Outcome::Failed { not_sent: true },
                ["R", "R", "R", "S"],
            ),
            ("server error", refused(&server), ["R", "R", "S", "S"]),
            ("gateway 5xx", refused(&gateway), ["R", "R", "S", "S"]),
            ("timed out", Outcome::TimedOut, ["R", "R", "S", "S"]),
            (
                "dropped",
                Outcome::Failed { not_sent: false },
                ["R", "R", "S", "S"],
            ),
            ("bad request", refused(&not_found), ["S", "S", "S", "S"]),
            ("terminal", refused(&too_old), ["S", "S", "S", "S"]),
        ];
        for (name, outcome, expected) in rows {
            for (replay, want) in ALL.into_iter().zip(expected) {
                let got = decide(&policy, replay, &outcome, 1, 7);
                let letter = match got {
                    Decision::Evict => "E",
                    Decision::Retry(wait) if wait >= Duration::from_secs(2) => "W",
                    Decision::Retry(_) => "R",
                    Decision::Stop => "S",
                };
                assert_eq!(letter, want, "{name} with {replay:?}: {got:?}");
            }
        }
    }

    #[test]
    fn the_last_attempt_stops_but_a_token_refusal_is_still_evicted_once() {
        let policy = RetryPolicy::default().with_max_attempts(3);
        let server = api(503, 1663);
        for replay in [Replay::Safe, Replay::Harmless] {
            assert!(matches!(
                decide(&policy, replay, &refused(&server), 2, 1),
                Decision::Retry(_)
            ));
            assert_eq!(
                decide(&policy, replay, &refused(&server), 3, 1),
                Decision::Stop
            );
        }
        let invalid = api(400, 99_991_663);
        assert_eq!(
            decide(&policy, Replay::Safe, &refused(&invalid), 3, 1),
            Decision::Evict
        );
        let again = Outcome::Refused {
            error: &invalid,
            cached_token: true,
            replayed: true,
        };
        assert_eq!(decide(&policy, Replay::Safe, &again, 1, 1), Decision::Stop);
        let user_token = Outcome::Refused {
            error: &invalid,
            cached_token: false,
            replayed: false,
        };
        assert_eq!(
            decide(&policy, Replay::Safe, &user_token, 1, 1),
            Decision::Stop
        );
    }

    #[test]
    fn uploads_are_sent_again_after_processing_only_when_the_policy_allows() {
        let server = api(500, 1663);
        let allowed = RetryPolicy::default();
        let refused_twice = RetryPolicy::default().with_retry_uploads(false);
        assert!(matches!(
            decide(&allowed, Replay::Harmless, &refused(&server), 1, 1),
            Decision::Retry(_)
        ));
        assert_eq!(
            decide(&refused_twice, Replay::Harmless, &refused(&server), 1, 1),
            Decision::Stop
        );
        let rate = api(429, 99_991_400);
        assert!(matches!(
            decide(&refused_twice, Replay::Harmless, &refused(&rate), 1, 1),
            Decision::Retry(_)
        ));
    }
}
