//! Reassembly of data frames the platform split (`message_id`, `sum`, `seq` headers).

use crate::frame::Frame;
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The most fragments one message may have; more is treated as malformed.
const MAX_FRAGMENTS: usize = 4096;

/// A message whose fragments are arriving.
struct Partial {
    parts: Vec<Option<Bytes>>,
    missing: usize,
    started: Instant,
}

/// Fragments waiting for the rest of their message, dropped after a time-to-live.
pub(crate) struct Reassembly {
    partial: HashMap<String, Partial>,
    ttl: Duration,
}

/// What a data frame amounts to.
pub(crate) enum Assembled {
    /// The whole payload; `frame` is the frame that completed it (the one to acknowledge).
    Complete {
        /// The completing frame.
        frame: Frame,
        /// The payload, fragments joined in `seq` order.
        payload: Bytes,
    },
    /// More fragments are needed.
    Pending,
    /// The frame's `sum` / `seq` headers make no sense; it is dropped.
    Malformed(String),
}

impl Reassembly {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            partial: HashMap::new(),
            ttl,
        }
    }

    /// Adds a data frame.
    pub(crate) fn add(&mut self, frame: Frame, now: Instant) -> Assembled {
        let sum = match frame.header("sum").map(str::parse::<usize>) {
            None => 1,
            Some(Ok(sum)) if (1..=MAX_FRAGMENTS).contains(&sum) => sum,
            Some(_) => {
                return Assembled::Malformed(format!(
                    "sum header {:?} is not 1 to {MAX_FRAGMENTS}",
                    frame.header("sum")
                ));
            }
        };
        let payload = frame.payload.clone().unwrap_or_default();
        if sum == 1 {
            return Assembled::Complete { frame, payload };
        }
        let seq = match frame.header("seq").map(str::parse::<usize>) {
            Some(Ok(seq)) if seq < sum => seq,
            other => {
                return Assembled::Malformed(format!(
                    "seq header {other:?} is not below sum {sum}"
                ));
            }
        };
        let Some(message_id) = frame
            .header("message_id")
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
        else {
            return Assembled::Malformed("a fragment without a message_id".to_owned());
        };
        let partial = self
            .partial
            .entry(message_id.clone())
            .or_insert_with(|| Partial {
                parts: vec![None; sum],
                missing: sum,
                started: now,
            });
        if partial.parts.len() != sum {
            self.partial.remove(&message_id);
            return Assembled::Malformed(format!(
                "fragments of {message_id} disagree on their sum"
            ));
        }
        if partial.parts[seq].is_none() {
            partial.missing -= 1;
        }
        partial.parts[seq] = Some(payload);
        if partial.missing > 0 {
            return Assembled::Pending;
        }
        let Some(partial) = self.partial.remove(&message_id) else {
            return Assembled::Pending;
        };
        let mut joined =
            BytesMut::with_capacity(partial.parts.iter().flatten().map(Bytes::len).sum());
        for part in partial.parts.into_iter().flatten() {
            joined.extend_from_slice(&part);
        }
        Assembled::Complete {
            frame,
            payload: joined.freeze(),
        }
    }

    /// Drops messages still incomplete after the time-to-live; returns how many.
    pub(crate) fn sweep(&mut self, now: Instant) -> usize {
        let before = self.partial.len();
        let ttl = self.ttl;
        self.partial
            .retain(|_, partial| now.duration_since(partial.started) < ttl);
        before - self.partial.len()
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

    #[test]
    fn fragments_join_in_seq_order_whatever_order_they_arrive_in() {
        let mut reassembly = Reassembly::new(Duration::from_secs(10));
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
        let Assembled::Complete { payload, frame } = reassembly.add(fragment("m", 3, 1, "b"), now)
        else {
            panic!()
        };
        assert_eq!(payload.as_ref(), b"abc");
        assert_eq!(frame.header("seq"), Some("1"));
    }

    #[test]
    fn incomplete_messages_expire_and_nonsense_is_refused() {
        let mut reassembly = Reassembly::new(Duration::from_secs(5));
        let start = Instant::now();
        assert!(matches!(
            reassembly.add(fragment("m", 2, 0, "a"), start),
            Assembled::Pending
        ));
        assert_eq!(reassembly.sweep(start + Duration::from_secs(4)), 0);
        assert_eq!(reassembly.sweep(start + Duration::from_secs(6)), 1);
        assert!(
            matches!(
                reassembly.add(fragment("m", 2, 1, "b"), start),
                Assembled::Pending
            ),
            "the first half is gone"
        );
        assert!(matches!(
            reassembly.add(fragment("x", 2, 2, "b"), start),
            Assembled::Malformed(_)
        ));
        assert!(matches!(
            reassembly.add(fragment("x", 0, 0, "b"), start),
            Assembled::Malformed(_)
        ));
        assert!(matches!(
            reassembly.add(fragment("", 2, 0, "b"), start),
            Assembled::Malformed(_)
        ));
    }
}
