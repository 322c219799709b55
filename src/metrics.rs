//! Evaluation metrics (docs/metrics.md): exact ROC AUC, logloss, feature-rate sparsity,
//! and precision/recall of kept versus informative feature keys.
//!
//! AUC is computed exactly over the whole test set, ties between a positive
//! and a negative score counting one half (the Mann-Whitney U statistic over
//! `P * N`). Scores are split by class into two `f32` vectors, each sorted,
//! then merged once: O(n log n) time and 4 bytes per sample of extra memory,
//! so 10^8 test samples need about 400 MB and no index indirection.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hash};

/// Probabilities are clamped to `[PROB_CLAMP, 1 - PROB_CLAMP]` before the log
/// in [`logloss`], so that a confident wrong prediction costs at most
/// `-ln(1e-7) ~= 16.1` instead of infinity. 1e-7 is the usual choice (Keras'
/// epsilon); it is well above f32's resolution near 1 (6e-8), so the clamp is
/// effective for f32 inputs too.
pub const PROB_CLAMP: f64 = 1e-7;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    #[error("scores and labels differ in length ({scores} vs {labels})")]
    LengthMismatch { scores: usize, labels: usize },
    #[error("no samples")]
    Empty,
    #[error("score at index {index} is NaN")]
    NanScore { index: usize },
    #[error("label at index {index} is {value}, expected 0 or 1")]
    InvalidLabel { index: usize, value: f32 },
    #[error("AUC needs both classes; got {positives} positives and {negatives} negatives")]
    OneClass { positives: u64, negatives: u64 },
}

/// Exact ROC AUC with ties given half credit; `None` when the inputs are
/// invalid (see [`try_auc`]) or only one class is present.
pub fn auc(scores: &[f32], labels: &[f32]) -> Option<f64> {
    try_auc(scores, labels).ok()
}

/// Exact ROC AUC with typed errors. Labels must be exactly 0.0 or 1.0 and
/// scores must not be NaN (±inf is fine: only the order matters).
pub fn try_auc(scores: &[f32], labels: &[f32]) -> Result<f64, MetricsError> {
    if scores.len() != labels.len() {
        return Err(MetricsError::LengthMismatch {
            scores: scores.len(),
            labels: labels.len(),
        });
    }
    let mut split = ClassSplit::default();
    for (index, (&s, &y)) in scores.iter().zip(labels).enumerate() {
        split.push(index, s, y)?;
    }
    split.auc()
}

/// Mean binary cross-entropy, probabilities clamped to
/// `[PROB_CLAMP, 1 - PROB_CLAMP]`. Returns NaN when the lengths differ, the
/// input is empty or a probability is NaN; use [`try_logloss`] for the reason.
/// Labels may be soft (any value in [0, 1]).
pub fn logloss(probs: &[f32], labels: &[f32]) -> f64 {
    try_logloss(probs, labels).unwrap_or(f64::NAN)
}

/// [`logloss`] with typed errors.
pub fn try_logloss(probs: &[f32], labels: &[f32]) -> Result<f64, MetricsError> {
    if probs.len() != labels.len() {
        return Err(MetricsError::LengthMismatch {
            scores: probs.len(),
            labels: labels.len(),
        });
    }
    if probs.is_empty() {
        return Err(MetricsError::Empty);
    }
    let mut sum = 0.0f64;
    for (index, (&p, &y)) in probs.iter().zip(labels).enumerate() {
        if p.is_nan() {
            return Err(MetricsError::NanScore { index });
        }
        if !(0.0..=1.0).contains(&y) {
            return Err(MetricsError::InvalidLabel { index, value: y });
        }
        sum += bce(p, y);
    }
    Ok(sum / probs.len() as f64)
}

/// One sample's clamped binary cross-entropy, in f64 so the sum over 10^8
/// samples keeps ~1e-8 relative precision.
#[inline]
fn bce(p: f32, y: f32) -> f64 {
    let p = (p as f64).clamp(PROB_CLAMP, 1.0 - PROB_CLAMP);
    let y = y as f64;
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

/// Scores kept apart by class: the AUC only needs, for every positive, how
/// many negatives score below or equal to it.
#[derive(Default, Clone, Debug)]
struct ClassSplit {
    pos: Vec<f32>,
    neg: Vec<f32>,
}

impl ClassSplit {
    #[inline]
    fn push(&mut self, index: usize, score: f32, label: f32) -> Result<(), MetricsError> {
        if score.is_nan() {
            return Err(MetricsError::NanScore { index });
        }
        // `+ 0.0` turns -0.0 into +0.0 so the two zeros tie, as they compare equal.
        let score = score + 0.0;
        if label == 1.0 {
            self.pos.push(score);
        } else if label == 0.0 {
            self.neg.push(score);
        } else {
            return Err(MetricsError::InvalidLabel {
                index,
                value: label,
            });
        }
        Ok(())
    }

    /// Sorts both classes in place and merges them.
    fn auc(&mut self) -> Result<f64, MetricsError> {
        let (np, nn) = (self.pos.len() as u64, self.neg.len() as u64);
        if np == 0 || nn == 0 {
            return Err(MetricsError::OneClass {
                positives: np,
                negatives: nn,
            });
        }
        sort_scores(&mut self.pos);
        sort_scores(&mut self.neg);
        // Twice the Mann-Whitney U: for each positive, 2 * (#neg below) +
        // (#neg equal), so half credits stay integers and the sum is exact.
        // u128: 2 * P * N overflows u64 only past ~6e9 samples, but costs nothing.
        let mut twice_u: u128 = 0;
        let mut below = 0usize; // negatives strictly below the current positive
        let mut i = 0usize;
        let neg = &self.neg;
        while i < self.pos.len() {
            let s = self.pos[i];
            // Run of equal positive scores: they share the same counts.
            let mut j = i + 1;
            while j < self.pos.len() && self.pos[j] == s {
                j += 1;
            }
            while below < neg.len() && neg[below] < s {
                below += 1;
            }
            let mut upto = below; // end of the negatives equal to s
            while upto < neg.len() && neg[upto] == s {
                upto += 1;
            }
            let run = (j - i) as u128;
            twice_u += run * (2 * below as u128 + (upto - below) as u128);
            i = j;
        }
        Ok(twice_u as f64 / (2.0 * np as f64 * nn as f64))
    }
}

/// Sorts non-NaN f32 scores ascending. Large inputs use rayon; sorting plain
/// numbers gives the same result whatever the thread count.
fn sort_scores(v: &mut [f32]) {
    use rayon::slice::ParallelSliceMut;
    const PAR_THRESHOLD: usize = 1 << 16;
    if v.len() >= PAR_THRESHOLD {
        v.par_sort_unstable_by(f32::total_cmp);
    } else {
        v.sort_unstable_by(f32::total_cmp);
    }
}

/// Collects (probability, label) pairs while the test split streams by, and
/// gives AUC and logloss at the end. Memory: 4 bytes per sample (the score,
/// stored in its class's vector); the logloss is summed on the fly.
#[derive(Default, Clone, Debug)]
pub struct StreamingEval {
    split: ClassSplit,
    logloss_sum: f64,
}

/// The result of a [`StreamingEval`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// `None` when the test set held a single class.
    pub auc: Option<f64>,
    /// Mean clamped BCE (see [`logloss`]); NaN when there were no samples.
    pub logloss: f64,
    pub samples: u64,
    pub positives: u64,
}

impl StreamingEval {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves room for a test set of about `n` samples: `n` negatives and
    /// `n / 4` positives (CTR data is mostly negatives). Reserved pages that
    /// are never written cost no resident memory; the vectors grow if needed.
    pub fn with_capacity(n: usize) -> Self {
        let mut e = Self::default();
        e.split.pos.reserve(n / 4);
        e.split.neg.reserve(n);
        e
    }

    /// Adds one sample: `prob` is the predicted click probability, `label` 0 or 1.
    /// On error nothing is recorded.
    #[inline]
    pub fn push(&mut self, prob: f32, label: f32) -> Result<(), MetricsError> {
        let index = self.samples() as usize;
        self.split.push(index, prob, label)?;
        self.logloss_sum += bce(prob, label);
        Ok(())
    }

    /// Adds a batch. Lengths must match; the batch is validated before any of
    /// it is recorded, so an error leaves the evaluator unchanged.
    pub fn extend(&mut self, probs: &[f32], labels: &[f32]) -> Result<(), MetricsError> {
        if probs.len() != labels.len() {
            return Err(MetricsError::LengthMismatch {
                scores: probs.len(),
                labels: labels.len(),
            });
        }
        let base = self.samples() as usize;
        for (k, (&p, &y)) in probs.iter().zip(labels).enumerate() {
            if p.is_nan() {
                return Err(MetricsError::NanScore { index: base + k });
            }
            if y != 0.0 && y != 1.0 {
                return Err(MetricsError::InvalidLabel {
                    index: base + k,
                    value: y,
                });
            }
        }
        for (k, (&p, &y)) in probs.iter().zip(labels).enumerate() {
            // Validated above, so this cannot fail.
            self.split.push(base + k, p, y)?;
            self.logloss_sum += bce(p, y);
        }
        Ok(())
    }

    pub fn samples(&self) -> u64 {
        (self.split.pos.len() + self.split.neg.len()) as u64
    }

    pub fn positives(&self) -> u64 {
        self.split.pos.len() as u64
    }

    /// Mean logloss so far (NaN before the first sample).
    pub fn logloss(&self) -> f64 {
        let n = self.samples();
        if n == 0 {
            f64::NAN
        } else {
            self.logloss_sum / n as f64
        }
    }

    /// Sorts the collected scores and returns the metrics, freeing the memory.
    pub fn finish(mut self) -> EvalSummary {
        let logloss = self.logloss();
        let samples = self.samples();
        let positives = self.positives();
        EvalSummary {
            auc: self.split.auc().ok(),
            logloss,
            samples,
            positives,
        }
    }
}

/// The paper's feature rate: features whose embedding row is not all zero,
/// over distinct features seen in training (docs/metrics.md). Lower is sparser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sparsity {
    pub nonzero_features: u64,
    pub seen_features: u64,
}

impl Sparsity {
    /// `nonzero / seen`; `None` when no feature was seen (0/0).
    pub fn rate(&self) -> Option<f64> {
        if self.seen_features == 0 {
            None
        } else {
            Some(self.nonzero_features as f64 / self.seen_features as f64)
        }
    }
}

/// How well the kept (non-zero) features match the truly informative ones,
/// on synthetic data with a planted model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecall {
    /// Kept and informative.
    pub true_positives: u64,
    pub kept: u64,
    pub informative: u64,
    /// `true_positives / kept`; `None` when nothing was kept.
    pub precision: Option<f64>,
    /// `true_positives / informative`; `None` when nothing is informative.
    pub recall: Option<f64>,
}

impl PrecisionRecall {
    /// Harmonic mean of precision and recall; `None` if either is undefined
    /// or both are zero.
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision?, self.recall?);
        if p + r == 0.0 {
            None
        } else {
            Some(2.0 * p * r / (p + r))
        }
    }
}

/// Precision and recall of the `kept` key set against the `informative` one.
pub fn precision_recall<K: Eq + Hash, S: BuildHasher>(
    kept: &HashSet<K, S>,
    informative: &HashSet<K, S>,
) -> PrecisionRecall {
    // Iterate the smaller set and probe the larger: O(min(|A|, |B|)).
    let (small, large) = if kept.len() <= informative.len() {
        (kept, informative)
    } else {
        (informative, kept)
    };
    let tp = small.iter().filter(|k| large.contains(*k)).count() as u64;
    let (k, i) = (kept.len() as u64, informative.len() as u64);
    PrecisionRecall {
        true_positives: tp,
        kept: k,
        informative: i,
        precision: (k > 0).then(|| tp as f64 / k as f64),
        recall: (i > 0).then(|| tp as f64 / i as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_cases() {
        // Perfect ranking, reversed ranking, all tied.
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[0., 0., 1., 1.]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[0., 0., 1., 1.]), Some(0.0));
        assert_eq!(auc(&[0.5; 4], &[0., 1., 0., 1.]), Some(0.5));
        // sklearn.metrics.roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[0., 0., 1., 1.]), Some(0.75));
        // Pairs (pos, neg): pos 0.5 vs neg {0.5, 0.2}: 0.5 + 1; pos 0.1: 0 + 0.
        // U = 1.5 over 4 pairs.
        assert_eq!(auc(&[0.5, 0.1, 0.5, 0.2], &[1., 1., 0., 0.]), Some(0.375));
        // -0.0 and +0.0 tie.
        assert_eq!(auc(&[-0.0, 0.0], &[1., 0.]), Some(0.5));
        // Infinite scores order normally.
        assert_eq!(
            auc(&[f32::NEG_INFINITY, f32::INFINITY], &[0., 1.]),
            Some(1.0)
        );
    }

    #[test]
    fn auc_rejects_bad_input() {
        assert_eq!(auc(&[0.1, 0.2], &[1., 1.]), None);
        assert_eq!(
            try_auc(&[0.1, 0.2], &[1., 1.]),
            Err(MetricsError::OneClass {
                positives: 2,
                negatives: 0
            })
        );
        assert_eq!(
            try_auc(&[0.1], &[1., 0.]),
            Err(MetricsError::LengthMismatch {
                scores: 1,
                labels: 2
            })
        );
        assert_eq!(
            try_auc(&[0.1, f32::NAN], &[1., 0.]),
            Err(MetricsError::NanScore { index: 1 })
        );
        assert_eq!(
            try_auc(&[0.1, 0.2], &[1., 0.5]),
            Err(MetricsError::InvalidLabel {
                index: 1,
                value: 0.5
            })
        );
        assert_eq!(auc(&[], &[]), None);
    }

    #[test]
    fn logloss_known_values() {
        // -(ln 0.8 + ln 0.6) / 2
        let want = -(0.8f64.ln() + 0.6f64.ln()) / 2.0;
        let got = logloss(&[0.8, 0.4], &[1., 0.]);
        // f32 inputs 0.8 and 0.4 are not exact: compare at f32 precision.
        assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        // Clamping: p = 0 for a positive costs -ln(1e-7), not infinity.
        let got = logloss(&[0.0], &[1.0]);
        assert!((got + (1e-7f64).ln()).abs() < 1e-12, "{got}");
        let got = logloss(&[1.0], &[0.0]);
        assert!((got + (1e-7f64).ln()).abs() < 1e-6, "{got}");
        assert!(logloss(&[], &[]).is_nan());
        assert!(logloss(&[0.5], &[]).is_nan());
        assert_eq!(try_logloss(&[], &[]), Err(MetricsError::Empty));
    }

    #[test]
    fn streaming_matches_batch_functions() {
        let mut r = crate::rng::SplitMix64::new(11);
        let n = 5_000;
        let probs: Vec<f32> = (0..n).map(|_| (r.below(50) as f32) / 50.0).collect();
        let labels: Vec<f32> = (0..n).map(|_| (r.below(3) == 0) as u8 as f32).collect();
        let mut e = StreamingEval::new();
        for chunk in 0..10 {
            let s = chunk * n / 10;
            let t = (chunk + 1) * n / 10;
            if chunk % 2 == 0 {
                e.extend(&probs[s..t], &labels[s..t]).unwrap();
            } else {
                for k in s..t {
                    e.push(probs[k], labels[k]).unwrap();
                }
            }
        }
        let positives = labels.iter().filter(|&&y| y == 1.0).count() as u64;
        let sum = e.finish();
        assert_eq!(sum.samples, n as u64);
        assert_eq!(sum.positives, positives);
        // Same samples, same order of summation, same sort: bit-identical.
        assert_eq!(sum.auc, auc(&probs, &labels));
        assert_eq!(sum.logloss.to_bits(), logloss(&probs, &labels).to_bits());
    }

    #[test]
    fn streaming_rejects_bad_batch_atomically() {
        let mut e = StreamingEval::new();
        e.extend(&[0.2, 0.7], &[0., 1.]).unwrap();
        let err = e.extend(&[0.3, 0.4, 0.5], &[1., 2., 0.]).unwrap_err();
        assert_eq!(
            err,
            MetricsError::InvalidLabel {
                index: 3,
                value: 2.0
            }
        );
        assert_eq!(e.samples(), 2);
        assert!(e.push(f32::NAN, 1.0).is_err());
        assert_eq!(e.samples(), 2);
        let s = e.finish();
        assert_eq!(s.auc, Some(1.0));
        let empty = StreamingEval::new().finish();
        assert_eq!(empty.auc, None);
        assert!(empty.logloss.is_nan());
    }

    #[test]
    fn sparsity_rate() {
        let s = Sparsity {
            nonzero_features: 25,
            seen_features: 200,
        };
        assert_eq!(s.rate(), Some(0.125));
        assert_eq!(Sparsity::default().rate(), None);
    }

    #[test]
    fn precision_recall_counts() {
        let kept: HashSet<u64> = [1, 2, 3, 4].into_iter().collect();
        let informative: HashSet<u64> = [2, 4, 6].into_iter().collect();
        let pr = precision_recall(&kept, &informative);
        assert_eq!(pr.true_positives, 2);
        assert_eq!(pr.precision, Some(0.5));
        assert_eq!(pr.recall, Some(2.0 / 3.0));
        assert_eq!(pr.f1(), Some(2.0 * 0.5 * (2.0 / 3.0) / (0.5 + 2.0 / 3.0)));
        let none: HashSet<u64> = HashSet::new();
        let pr = precision_recall(&none, &informative);
        assert_eq!((pr.precision, pr.recall), (None, Some(0.0)));
        assert_eq!(pr.f1(), None);
    }
}
