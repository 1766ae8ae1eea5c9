//! Reassembly of data frames the platform split (`message_id`, `sum`, `seq` headers), within
//! bounds: how many messages may be incomplete at once, how many bytes they may hold together,
//! and how large one message may grow. Memory follows what has arrived, never what a header
//! claims.

use crate::frame::Frame;
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The most fragments one message may have; more is treated as malformed.
const MAX_FRAGMENTS: usize = 4096;

/// Bounds on fragments waiting for the rest of their message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FragmentLimits {
    /// How long an incomplete message is kept.
    pub ttl: Duration,
    /// The most messages incomplete at once; a new one beyond it drops the oldest.
    pub max_pending: usize,
    /// The most bytes all incomplete messages may hold together; beyond it the oldest are
    /// dropped.
    pub max_buffered: usize,
    /// The largest one message may grow to, counted in bytes received.
    pub max_message: usize,
}

impl Default for FragmentLimits {
    /// 10 s, 64 messages, 8 MiB in all, 4 MiB each: an event is a few KB and a large card
    /// callback some hundred KB, so only a broken or hostile peer reaches these.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            max_pending: 64,
            max_buffered: 8 * 1024 * 1024,
            max_message: 4 * 1024 * 1024,
        }
    }
}

impl FragmentLimits {
    /// Sets [`ttl`](Self::ttl).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets [`max_pending`](Self::max_pending) (at least 1).
    #[must_use]
    pub fn with_max_pending(mut self, max: usize) -> Self {
        self.max_pending = max.max(1);
        self
    }

    /// Sets [`max_buffered`](Self::max_buffered).
    #[must_use]
    pub fn with_max_buffered(mut self, max: usize) -> Self {
        self.max_buffered = max;
        self
    }

    /// Sets [`max_message`](Self::max_message).
    #[must_use]
    pub fn with_max_message(mut self, max: usize) -> Self {
        self.max_message = max;
        self
    }
}

/// A message whose fragments are arriving.
struct Partial {
    sum: usize,
    parts: BTreeMap<usize, Bytes>,
    bytes: usize,
    started: Instant,
    /// Arrival order, to find the oldest.
    order: u64,
}

/// Fragments waiting for the rest of their message.
pub struct Reassembly {
    partial: HashMap<String, Partial>,
    limits: FragmentLimits,
    buffered: usize,
    next_order: u64,
}

impl std::fmt::Debug for Reassembly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reassembly")
            .field("pending", &self.partial.len())
            .field("buffered", &self.buffered)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What a data frame amounts to.
#[derive(Debug)]
pub enum Assembled {
    /// The whole payload; `frame` is the frame that completed it (the one to acknowledge).
    Complete {
        /// The completing frame.
        frame: Frame,
        /// The payload, fragments joined in `seq` order.
        payload: Bytes,
    },
    /// More fragments are needed.
    Pending,
    /// The frame makes no sense, or its message outgrew a limit: dropped, with why.
    Dropped(String),
}

impl Reassembly {
    /// An empty reassembly within `limits`.
    #[must_use]
    pub fn new(limits: FragmentLimits) -> Self {
        Self {
            partial: HashMap::new(),
            limits,
            buffered: 0,
            next_order: 0,
        }
    }

    /// Messages incomplete now.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Bytes held by incomplete messages now.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    fn remove(&mut self, message_id: &str) -> Option<Partial> {
        let partial = self.partial.remove(message_id)?;
        self.buffered -= partial.bytes;
        Some(partial)
    }

    fn drop_oldest(&mut self) -> bool {
        let Some(oldest) = self
            .partial
            .iter()
            .min_by_key(|(_, p)| p.order)
            .map(|(id, _)| id.clone())
        else {
            return false;
        };
        self.remove(&oldest);
        tracing::warn!(message_id = %oldest, "dropped an incomplete fragmented message to stay within the limits");
        true
    }

    /// Drops the oldest incomplete messages other than `keep` until the total is within
    /// budget; `keep` itself when it alone is over.
    fn shrink_to_budget(&mut self, keep: &str) -> Option<Assembled> {
        while self.buffered > self.limits.max_buffered {
            let oldest_other = self
                .partial
                .iter()
                .filter(|(id, _)| *id != keep)
                .min_by_key(|(_, p)| p.order)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest_other {
                self.remove(&id);
                tracing::warn!(message_id = %id, "dropped an incomplete fragmented message to stay within the limits");
            } else {
                self.remove(keep);
                return Some(Assembled::Dropped(format!(
                    "{keep} alone is over the {}-byte buffer",
                    self.limits.max_buffered
                )));
            }
        }
        None
    }

    /// Adds a data frame.
    pub fn add(&mut self, frame: Frame, now: Instant) -> Assembled {
        let sum = match frame.header("sum").map(str::parse::<usize>) {
            None => 1,
            Some(Ok(sum)) if (1..=MAX_FRAGMENTS).contains(&sum) => sum,
            Some(_) => {
                return Assembled::Dropped(format!(
                    "sum header {:?} is not 1 to {MAX_FRAGMENTS}",
                    frame.header("sum")
                ));
            }
        };
        let payload = frame.payload.clone().unwrap_or_default();
        if payload.len() > self.limits.max_message {
            return Assembled::Dropped(format!(
                "a payload of {} bytes is over the {}-byte limit",
                payload.len(),
                self.limits.max_message
            ));
        }
        if sum == 1 {
            return Assembled::Complete { frame, payload };
        }
        let seq = match frame.header("seq").map(str::parse::<usize>) {
            Some(Ok(seq)) if seq < sum => seq,
            other => {
                return Assembled::Dropped(format!("seq header {other:?} is not below sum {sum}"));
            }
        };
        let Some(message_id) = frame
            .header("message_id")
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
        else {
            return Assembled::Dropped("a fragment without a message_id".to_owned());
        };
        if !self.partial.contains_key(&message_id) {
            while self.partial.len() >= self.limits.max_pending.max(1) && self.drop_oldest() {}
            let order = self.next_order;
            self.next_order += 1;
            self.partial.insert(
                message_id.clone(),
                Partial {
                    sum,
                    parts: BTreeMap::new(),
                    bytes: 0,
                    started: now,
                    order,
                },
            );
        }
        let Some(partial) = self.partial.get_mut(&message_id) else {
            return Assembled::Pending;
        };
        if partial.sum != sum {
            self.remove(&message_id);
            return Assembled::Dropped(format!("fragments of {message_id} disagree on their sum"));
        }
        let replaced = partial
            .parts
            .insert(seq, payload.clone())
            .map_or(0, |p| p.len());
        partial.bytes = partial.bytes - replaced + payload.len();
        let (size, received) = (partial.bytes, partial.parts.len());
        self.buffered = self.buffered - replaced + payload.len();
        if size > self.limits.max_message {
            self.remove(&message_id);
            return Assembled::Dropped(format!(
                "{message_id} grew to {size} bytes, over the {}-byte limit",
                self.limits.max_message
            ));
        }
        if received == sum {
            let Some(partial) = self.remove(&message_id) else {
                return Assembled::Pending;
            };
            let mut joined = BytesMut::with_capacity(partial.bytes);
            for part in partial.parts.into_values() {
                joined.extend_from_slice(&part);
            }
            return Assembled::Complete {
                frame,
                payload: joined.freeze(),
            };
        }
        // Within the total: the oldest other messages go first, then this one.
        if let Some(dropped) = self.shrink_to_budget(&message_id) {
            return dropped;
        }
        Assembled::Pending
    }

    /// Drops messages still incomplete after the time-to-live; returns how many.
    pub fn sweep(&mut self, now: Instant) -> usize {
        let ttl = self.limits.ttl;
        let expired: Vec<String> = self
            .partial
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.started) >= ttl)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.remove(id);
        }
        expired.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(id: &str, sum: usize, seq: usize, payload: &str) -> Frame {
        Frame {
            method: 1,
            headers: vec![
                ("message_id".to_owned(), id.to_owned()),
                ("sum".to_owned(), sum.to_string()),
                ("seq".to_owned(), seq.to_string()),
            ],
            payload: Some(Bytes::copy_from_slice(payload.as_bytes())),
            ..Frame::default()
        }
    }

    fn limits(ttl: Duration) -> FragmentLimits {
        FragmentLimits {
            ttl,
            ..FragmentLimits::default()
        }
    }

    #[test]
    fn fragments_join_in_seq_order_whatever_order_they_arrive_in() {
        let mut reassembly = Reassembly::new(limits(Duration::from_secs(10)));
        let now = Instant::now();
        assert!(matches!(
            reassembly.add(fragment("m", 3, 2, "c"), now),
            Assembled::Pending
        ));
        assert!(matches!(
            reassembly.add(fragment("m", 3, 0, "a"), now),
            Assembled::Pending
        ));
        assert!(
            matches!(
                reassembly.add(fragment("m", 3, 0, "a"), now),
                Assembled::Pending
            ),
            "a repeat changes nothing"
        );
        assert_eq!(reassembly.buffered(), 2);
        let Assembled::Complete { payload, frame } = reassembly.add(fragment("m", 3, 1, "b"), now)
        else {
            panic!()
        };
        assert_eq!(payload.as_ref(), b"abc");
        assert_eq!(frame.header("seq"), Some("1"));
        assert_eq!((reassembly.pending(), reassembly.buffered()), (0, 0));
    }

    #[test]
    fn incomplete_messages_expire_and_nonsense_is_refused() {
        let mut reassembly = Reassembly::new(limits(Duration::from_secs(5)));
        let start = Instant::now();
        assert!(matches!(
            reassembly.add(fragment("m", 2, 0, "a"), start),
            Assembled::Pending
        ));
        assert_eq!(reassembly.sweep(start + Duration::from_secs(4)), 0);
        assert_eq!(reassembly.sweep(start + Duration::from_secs(6)), 1);
        assert_eq!(reassembly.buffered(), 0);
        assert!(
            matches!(
                reassembly.add(fragment("m", 2, 1, "b"), start),
                Assembled::Pending
            ),
            "the first half is gone"
        );
        for nonsense in [
            fragment("x", 2, 2, "b"),
            fragment("x", 0, 0, "b"),
            fragment("", 2, 0, "b"),
            fragment("x", 5000, 0, "b"),
        ] {
            assert!(matches!(
                reassembly.add(nonsense, start),
                Assembled::Dropped(_)
            ));
        }
    }

    #[test]
    fn a_flood_of_claimed_sizes_holds_only_what_arrived_within_the_limits() {
        let mut reassembly = Reassembly::new(FragmentLimits {
            max_pending: 8,
            max_buffered: 100,
            max_message: 60,
            ..FragmentLimits::default()
        });
        let now = Instant::now();
        for i in 0..1000 {
            let _ = reassembly.add(fragment(&format!("m{i}"), 4096, 0, "0123456789"), now);
            assert!(reassembly.pending() <= 8);
            assert!(reassembly.buffered() <= 100);
        }
        // One message growing past its limit is dropped.
        let mut dropped = false;
        for seq in 0..10 {
            if let Assembled::Dropped(_) =
                reassembly.add(fragment("big", 100, seq, "0123456789"), now)
            {
                dropped = true;
                break;
            }
        }
        assert!(dropped);
        assert!(reassembly.buffered() <= 100);
    }
}
