//! The measuring harness shared by `cargo xtask bench` and `cargo xtask soak`.
//!
//! Every figure is a ratio against a baseline measured in the same run, in alternating rounds,
//! so that a busy or slow machine moves both sides alike. A round runs a closure for a fixed
//! time; the figure of each side is the median of its rounds.

use serde_json::{Value, json};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Rounds per side.
    pub rounds: usize,
    /// The length of one round.
    pub round: Duration,
}

impl Budget {
    /// The full run, or the quick one.
    #[must_use]
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                rounds: 5,
                round: Duration::from_millis(150),
            }
        } else {
            Self {
                rounds: 9,
                round: Duration::from_millis(500),
            }
        }
    }
}

pub mod floor;
pub mod streaming;

/// One benchmark's result.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    /// `crate/what`.
    pub name: String,
    /// Ours.
    pub ours: f64,
    /// The baseline.
    pub baseline: f64,
    /// `ns/op`, `bytes`, …
    pub unit: &'static str,
    /// What the baseline is.
    pub baseline_is: String,
    /// The target, as the ratio ours/baseline must not exceed (for times and sizes).
    pub max_ratio: Option<f64>,
    /// The target, as the ratio ours/baseline must reach (for rates).
    pub min_ratio: Option<f64>,
    /// ours/baseline of each alternating pair, when measured in pairs: the ratio is then their
    /// median, which noise that hits both runs of a pair alike does not move.
    pub pair_ratios: Vec<f64>,
}

impl Figure {
    /// ours / baseline.
    #[must_use]
    pub fn ratio(&self) -> f64 {
        if !self.pair_ratios.is_empty() {
            return median(self.pair_ratios.clone());
        }
        if self.baseline == 0.0 {
            f64::INFINITY
        } else {
            self.ours / self.baseline
        }
    }

    /// Whether the target, if any, is met.
    #[must_use]
    pub fn met(&self) -> Option<bool> {
        match (self.max_ratio, self.min_ratio) {
            (None, None) => None,
            (max, min) => Some(
                max.is_none_or(|max| self.ratio() <= max)
                    && min.is_none_or(|min| self.ratio() >= min),
            ),
        }
    }

    /// The line: `bench NAME ours=X baseline=Y ratio=Z unit=U`.
    #[must_use]
    pub fn line(&self) -> String {
        let verdict = |met: bool| if met { "met" } else { "MISSED" };
        let target = match (self.max_ratio, self.min_ratio, self.met()) {
            (Some(max), _, Some(met)) => format!(" target<={max:.3} {}", verdict(met)),
            (None, Some(min), Some(met)) => format!(" target>={min:.3} {}", verdict(met)),
            _ => String::new(),
        };
        let range = match (
            self.pair_ratios.iter().copied().reduce(f64::min),
            self.pair_ratios.iter().copied().reduce(f64::max),
        ) {
            (Some(low), Some(high)) => {
                format!(" pairs={} range={low:.2}-{high:.2}", self.pair_ratios.len())
            }
            _ => String::new(),
        };
        format!(
            "bench {} ours={} baseline={} ratio={:.3} unit={}{range}{target}",
            self.name,
            trim(self.ours),
            trim(self.baseline),
            self.ratio(),
            self.unit
        )
    }

    /// As JSON, for the summary.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "ours": self.ours,
            "baseline": self.baseline,
            "ratio": (self.ratio() * 1000.0).round() / 1000.0,
            "unit": self.unit,
            "baseline_is": self.baseline_is,
            "max_ratio": self.max_ratio,
            "min_ratio": self.min_ratio,
            "pair_ratios": self.pair_ratios,
            "met": self.met(),
        })
    }
}

fn trim(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// Runs `work` repeatedly for `length`, and returns nanoseconds per call.
pub fn time_per_op<T>(length: Duration, mut work: impl FnMut() -> T) -> f64 {
    // Calibrate a batch that takes about a millisecond, so the clock is read rarely.
    let mut batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            black_box(work());
        }
        if start.elapsed() >= Duration::from_millis(1) || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < length {
        for _ in 0..batch {
            black_box(work());
        }
        calls += batch;
    }
    #[allow(clippy::cast_precision_loss)] // nanoseconds and call counts far below 2^52
    let per_op = start.elapsed().as_nanos() as f64 / calls as f64;
    per_op
}

/// The median.
#[must_use]
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Measures `ours` and `baseline` in alternating rounds; both in ns/op.
pub fn compare<A, B>(
    budget: Budget,
    mut ours: impl FnMut() -> A,
    mut baseline: impl FnMut() -> B,
) -> (f64, f64) {
    // Warm up both.
    time_per_op(budget.round / 4, &mut ours);
    time_per_op(budget.round / 4, &mut baseline);
    let mut ours_rounds = Vec::with_capacity(budget.rounds);
    let mut baseline_rounds = Vec::with_capacity(budget.rounds);
    for _ in 0..budget.rounds {
        ours_rounds.push(time_per_op(budget.round, &mut ours));
        baseline_rounds.push(time_per_op(budget.round, &mut baseline));
    }
    (median(ours_rounds), median(baseline_rounds))
}

/// Peak resident size of this process above its size when `work` started, in bytes (Linux:
/// `/proc/self/clear_refs` resets the peak).
pub fn peak_rss_growth<T>(work: impl FnOnce() -> T) -> Result<(T, u64), String> {
    std::fs::write("/proc/self/clear_refs", "5")
        .map_err(|err| format!("resetting the peak resident size: {err}"))?;
    let before = status_bytes("VmRSS:")?;
    let out = work();
    let peak = status_bytes("VmHWM:")?;
    Ok((out, peak.saturating_sub(before)))
}

fn status_bytes(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|err| format!("/proc/self/status: {err}"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unreadable {field}"))?;
    Ok(kib * 1024)
}

/// Deterministic, incompressible bytes.
#[must_use]
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_prints_its_ratio_and_whether_it_met_its_target() {
        let figure = Figure {
            name: "x/y".to_owned(),
            ours: 150.0,
            baseline: 100.0,
            unit: "ns/op",
            baseline_is: "a baseline".to_owned(),
            max_ratio: Some(1.3),
            min_ratio: None,
            pair_ratios: Vec::new(),
        };
        assert_eq!(
            figure.line(),
            "bench x/y ours=150 baseline=100 ratio=1.500 unit=ns/op target<=1.300 MISSED"
        );
        assert_eq!(figure.met(), Some(false));
        assert_eq!(figure.to_json()["ratio"], 1.5);
    }

    #[test]
    fn the_median_is_the_middle_value() {
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!(median(Vec::new()).is_nan());
    }
}
