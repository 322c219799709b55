//! Small deterministic random number generators.
//!
//! ctr-run needs randomness that is identical across runs, machines, thread
//! counts and crate versions (embedding rows are initialized from
//! `(seed, key)`, synthetic data is byte-identical for a seed), and whose state
//! is a plain integer that checkpoints can store. SplitMix64 gives both in a
//! few lines, so no external RNG crate is used.

/// Mixes a 64-bit value into a well-distributed 64-bit value (SplitMix64's
/// finalizer). Also used to derive independent streams from `(seed, key)`.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64: a 64-bit state, one add and one mix per draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    pub state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for the stream named by `(seed, key)`, independent of
    /// every other key's stream.
    pub fn for_key(seed: u64, key: u64) -> Self {
        Self::new(mix64(seed ^ mix64(key.wrapping_add(0x9e37_79b9_7f4a_7c15))))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, 1) as f32 (24 bits of precision).
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform integer in [0, n) (Lemire's multiply-shift; bias < 2^-64 * n).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Standard normal draw (Box-Muller; one of the pair is discarded so the
    /// state stays a single integer).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// +1 or -1 with equal probability (Rademacher), for Hutchinson's estimator.
    #[inline]
    pub fn rademacher(&mut self) -> f32 {
        if self.next_u64() >> 63 == 0 {
            1.0
        } else {
            -1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_moments_and_determinism() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let n = 200_000;
        let mut sum = 0.0;
        let mut sum_sq = 0.0;
        for _ in 0..n {
            let x = a.next_f64();
            assert_eq!(x.to_bits(), b.next_f64().to_bits());
            assert!((0.0..1.0).contains(&x));
            sum += x;
            sum_sq += x * x;
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "var {var}");
    }

    #[test]
    fn normal_moments() {
        let mut r = SplitMix64::new(3);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }

    #[test]
    fn key_streams_differ() {
        let a = SplitMix64::for_key(1, 10).next_u64();
        let b = SplitMix64::for_key(1, 11).next_u64();
        let c = SplitMix64::for_key(2, 10).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, SplitMix64::for_key(1, 10).next_u64());
    }
}
