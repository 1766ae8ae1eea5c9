//! Ids, clocks and randomness.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Random bytes from the operating system. If the OS cannot supply them (it always can on the
/// platforms the emulator runs on), a time-and-counter mix keeps ids unique instead of failing.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        let mut x = now_nanos() ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        for byte in &mut bytes {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = x.to_le_bytes()[0];
        }
    }
    bytes
}

/// A random number from the operating system.
pub(crate) fn random_u64() -> u64 {
    u64::from_le_bytes(random_bytes::<8>())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

pub(crate) fn random_hex<const N: usize>() -> String {
    hex(&random_bytes::<N>())
}

/// An id in the platform's style: a prefix and random hex.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", random_hex::<16>())
}

/// A resource key in the platform's style: `img_v3_…` / `file_v3_…` and a uuid-like body.
pub(crate) fn new_key(prefix: &str) -> String {
    let h = random_hex::<16>();
    format!(
        "{prefix}{}-{}-{}-{}-{}g",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..31]
    )
}

/// A log id like the platform's: a timestamp and 20 upper-case hex digits.
pub(crate) fn new_log_id() -> String {
    let secs = now_millis() / 1000;
    format!("{secs}{}", random_hex::<10>().to_uppercase())
}

pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub(crate) fn now_millis() -> u64 {
    now_nanos() / 1_000_000
}

pub(crate) fn now_secs() -> u64 {
    now_nanos() / 1_000_000_000
}

/// A small, seedable generator for the fault injector: runs repeat with the same seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A float in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        // 53 random bits, split so that each half converts to f64 exactly.
        let bits = self.next_u64() >> 11;
        let high = u32::try_from(bits >> 21).unwrap_or(0);
        let low = u32::try_from(bits & 0x1F_FFFF).unwrap_or(0);
        (f64::from(high) * 2_097_152.0 + f64::from(low)) / 9_007_199_254_740_992.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_platform_prefixes() {
        assert!(new_id("om_").starts_with("om_"));
        assert_eq!(new_id("oc_").len(), 3 + 32);
        let key = new_key("img_v3_");
        assert!(key.starts_with("img_v3_") && key.ends_with('g'), "{key}");
        assert!(new_log_id().len() > 20);
    }

    #[test]
    fn the_fault_rng_is_repeatable_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert!((x - b.next_f64()).abs() < f64::EPSILON);
        }
    }
}
