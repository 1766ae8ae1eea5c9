//! `pbbp2.Frame` encoding: round trips, and a decoder that never panics on arbitrary bytes.

use bytes::Bytes;
use lark_ws::{Assembled, FragmentLimits, Frame, Reassembly};
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn frame() -> impl Strategy<Value = Frame> {
    let text = || proptest::option::of("[ -~]{0,12}");
    (
        any::<u64>(),
        any::<u64>(),
        any::<i32>(),
        any::<i32>(),
        proptest::collection::vec(("[a-z_]{1,10}", "\\PC{0,20}"), 0..6),
        text(),
        text(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        text(),
    )
        .prop_map(
            |(seq_id, log_id, service, method, headers, encoding, kind, payload, log_id_new)| {
                Frame {
                    seq_id,
                    log_id,
                    service,
                    method,
                    headers,
                    payload_encoding: encoding,
                    payload_type: kind,
                    payload: payload.map(Bytes::from),
                    log_id_new,
                }
            },
        )
}

#[test]
fn hand_assembled_bytes_read_field_by_field_skipping_an_unknown_field() {
    // SeqID 1, LogID 2, service 3, method 1, headers type=event and sum=1, an unknown field 15
    // (varint 5), payload "{}".
    let bytes = [
        0x08, 1, 0x10, 2, 0x18, 3, 0x20, 1, 0x2A, 13, 0x0A, 4, b't', b'y', b'p', b'e', 0x12, 5,
        b'e', b'v', b'e', b'n', b't', 0x2A, 8, 0x0A, 3, b's', b'u', b'm', 0x12, 1, b'1', 0x78,
        0x05, 0x42, 2, b'{', b'}',
    ];
    let frame = Frame::decode(&bytes).unwrap();
    assert_eq!(
        (frame.seq_id, frame.log_id, frame.service, frame.method),
        (1, 2, 3, 1)
    );
    assert_eq!(frame.frame_type(), Some("event"));
    assert_eq!(frame.header("sum"), Some("1"));
    assert_eq!(frame.payload.as_deref(), Some(&b"{}"[..]));
}

/// The property suites; `cargo xtask fuzz` runs them with many cases.
mod fuzz {
    use super::*;

    proptest! {
        #[test]
        fn every_frame_survives_encode_then_decode(frame in frame()) {
            prop_assert_eq!(Frame::decode(&frame.encode()).unwrap(), frame);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Frame::decode(&bytes);
        }

        #[test]
        fn a_frame_cut_short_is_an_error_or_a_shorter_frame_never_a_panic(frame in frame(), cut in any::<prop::sample::Index>()) {
            let bytes = frame.encode();
            let at = cut.index(bytes.len().max(1));
            let _ = Frame::decode(&bytes[..at]);
        }

        /// Any sequence of data frames (fragments of a few messages, repeats, nonsense
        /// headers, claimed sizes up to the largest, time passing) leaves the reassembly within
        /// its limits, never panics, and completes a message only with all its parts.
        #[test]
        fn reassembly_stays_within_its_limits_whatever_frames_arrive(
            steps in proptest::collection::vec(fragment_step(), 0..200),
        ) {
            let limits = FragmentLimits::default()
                .with_ttl(Duration::from_secs(10))
                .with_max_pending(4)
                .with_max_buffered(2_000)
                .with_max_message(1_000);
            let mut reassembly = Reassembly::new(limits);
            let mut now = Instant::now();
            for (id, sum, seq, len, advance) in steps {
                now += Duration::from_secs(advance);
                let _ = reassembly.sweep(now);
                let frame = Frame {
                    method: 1,
                    headers: vec![
                        ("message_id".to_owned(), format!("m{id}")),
                        ("sum".to_owned(), sum),
                        ("seq".to_owned(), seq),
                    ],
                    payload: Some(Bytes::from(vec![b'x'; len])),
                    ..Frame::default()
                };
                if let Assembled::Complete { payload, .. } = reassembly.add(frame, now) {
                    prop_assert!(payload.len() <= limits.max_message);
                }
                prop_assert!(reassembly.pending() <= limits.max_pending);
                prop_assert!(reassembly.buffered() <= limits.max_buffered);
            }
        }
    }

    /// One data frame: which of five messages, its `sum` and `seq` headers (sometimes
    /// nonsense), its payload size, and the seconds that pass before it.
    fn fragment_step() -> impl Strategy<Value = (u8, String, String, usize, u64)> {
        let number = || {
            prop_oneof![
                (0usize..6).prop_map(|n| n.to_string()),
                Just("4096".to_owned()),
                Just("4097".to_owned()),
                "[-a-z0-9]{0,4}",
            ]
        };
        (
            0u8..5,
            number(),
            number(),
            0usize..600,
            prop_oneof![9 => Just(0u64), 1 => 0u64..20],
        )
    }
}
