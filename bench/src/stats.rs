//! Turning raw latency samples into the numbers of the report: request rate and percentiles.

use std::time::Duration;

/// Latencies are kept in whole microseconds: fine enough for loopback requests (tens of µs and
/// up), and a `u32` holds over an hour.
pub type Micros = u32;

/// The nearest-rank percentile (`p` in 0..=100) of samples sorted in ascending order: the
/// smallest sample such that at least `p` % of all samples are less than or equal to it. `None`
/// for no samples. Nearest-rank never interpolates, so every reported latency is one that a
/// request really had.
pub fn percentile(sorted: &[Micros], p: f64) -> Option<Micros> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    // `rank` is 1-based; p = 0 is taken as the smallest sample.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// What one scenario measured in its measurement window (warm-up excluded).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Expected responses (2xx, or 303 for a sign-in) completed inside the window.
    pub ok: u64,
    /// Unexpected responses plus transport failures (connect, send, read, timeout) in the window.
    pub errors: u64,
    /// Successful requests per second over the window.
    pub rate: f64,
    pub p50: Option<Micros>,
    pub p95: Option<Micros>,
    pub p99: Option<Micros>,
}

impl Summary {
    /// Summarizes the latencies of the successful requests (any order) and the error count
    /// gathered over `window`.
    pub fn new(mut latencies: Vec<Micros>, errors: u64, window: Duration) -> Summary {
        latencies.sort_unstable();
        let ok = latencies.len() as u64;
        let secs = window.as_secs_f64();
        Summary {
            ok,
            errors,
            rate: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            p50: percentile(&latencies, 50.0),
            p95: percentile(&latencies, 95.0),
            p99: percentile(&latencies, 99.0),
        }
    }
}

/// Microseconds as milliseconds with two decimals, or `-` when there is no sample.
pub fn ms(us: Option<Micros>) -> String {
    match us {
        Some(us) => format!("{:.2}", f64::from(us) / 1000.0),
        None => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_a_hundred_samples_is_the_sample_of_that_rank() {
        let v: Vec<Micros> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 95.0), Some(95));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
    }

    #[test]
    fn nearest_rank_rounds_the_rank_up_and_never_interpolates() {
        // Four samples: p50 is rank 2, p95 and p99 are rank 4 (ceil(3.8), ceil(3.96)).
        let v = [10, 20, 30, 40];
        assert_eq!(percentile(&v, 50.0), Some(20));
        assert_eq!(percentile(&v, 51.0), Some(30));
        assert_eq!(percentile(&v, 95.0), Some(40));
        assert_eq!(percentile(&v, 99.0), Some(40));
    }

    #[test]
    fn percentiles_of_one_or_no_sample() {
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn out_of_range_percentiles_are_clamped() {
        let v = [1, 2, 3];
        assert_eq!(percentile(&v, -5.0), Some(1));
        assert_eq!(percentile(&v, 250.0), Some(3));
    }

    #[test]
    fn summary_sorts_counts_and_divides_by_the_window() {
        let s = Summary::new(vec![300, 100, 200, 400], 3, Duration::from_secs(2));
        assert_eq!(s.ok, 4);
        assert_eq!(s.errors, 3);
        assert!((s.rate - 2.0).abs() < 1e-9);
        assert_eq!(s.p50, Some(200));
        assert_eq!(s.p99, Some(400));
    }

    #[test]
    fn summary_of_nothing_has_no_percentiles() {
        let s = Summary::new(Vec::new(), 5, Duration::from_secs(10));
        assert_eq!((s.ok, s.rate, s.p50), (0, 0.0, None));
    }

    #[test]
    fn milliseconds_have_two_decimals() {
        assert_eq!(ms(Some(1234)), "1.23");
        assert_eq!(ms(Some(6)), "0.01");
        assert_eq!(ms(None), "-");
    }
}
