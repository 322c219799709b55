//! AUC against an independent O(n^2) pair count, on random inputs with many
//! ties; logloss against a direct f64 formula; StreamingEval against both.

use ctr_run::metrics::{auc, logloss, try_auc, MetricsError, StreamingEval};
use ctr_run::rng::SplitMix64;
use proptest::prelude::*;

/// The definition: over every (positive, negative) pair, 1 if the positive
/// scores higher, 1/2 if tied, 0 otherwise; divided by the number of pairs.
/// Counted in halves so the sum is exact.
fn brute_force_auc(scores: &[f32], labels: &[f32]) -> Option<f64> {
    let mut halves: u64 = 0;
    let mut pairs: u64 = 0;
    for (i, &si) in scores.iter().enumerate() {
        if labels[i] != 1.0 {
            continue;
        }
        for (j, &sj) in scores.iter().enumerate() {
            if labels[j] != 0.0 {
                continue;
            }
            pairs += 1;
            halves += if si > sj {
                2
            } else if si == sj {
                1
            } else {
                0
            };
        }
    }
    (pairs > 0).then(|| halves as f64 / (2 * pairs) as f64)
}

/// Scores drawn from a few distinct levels (ties are common), or from a
/// continuous range, with a label rate that can be skewed or one-sided.
fn scores_and_labels() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    (
        1usize..400,
        1u32..60,
        0.0f64..1.0,
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(n, levels, pos_rate, seed, continuous)| {
            let mut r = SplitMix64::new(seed);
            let scores = (0..n)
                .map(|_| {
                    if continuous {
                        r.next_f32() * 2.0 - 1.0
                    } else {
                        r.below(levels as u64) as f32 / levels as f32
                    }
                })
                .collect();
            let labels = (0..n)
                .map(|_| (r.next_f64() < pos_rate) as u8 as f32)
                .collect();
            (scores, labels)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Exact to the last bit: both compute the same integer ratio with one
    /// final division.
    #[test]
    fn auc_equals_pair_count((scores, labels) in scores_and_labels()) {
        prop_assert_eq!(auc(&scores, &labels), brute_force_auc(&scores, &labels));
    }

    /// AUC depends only on the order of scores: a strictly increasing map
    /// keeps it; flipping the scores gives 1 - AUC.
    #[test]
    fn auc_is_rank_based((scores, labels) in scores_and_labels()) {
        let mapped: Vec<f32> = scores.iter().map(|s| 3.0 * s + 7.0).collect();
        let neg: Vec<f32> = scores.iter().map(|s| -s).collect();
        if let Some(a) = auc(&scores, &labels) {
            // 3s + 7 can merge two f32 scores into one (rounding), which only
            // adds ties, so compare against the pair count of the mapped scores.
            prop_assert_eq!(auc(&mapped, &labels), brute_force_auc(&mapped, &labels));
            let flipped = auc(&neg, &labels).unwrap();
            prop_assert!((a + flipped - 1.0).abs() < 1e-12, "{} + {} != 1", a, flipped);
        } else {
            prop_assert_eq!(auc(&neg, &labels), None);
        }
    }

    /// Streaming in uneven chunks gives the batch functions' values.
    #[test]
    fn streaming_equals_batch((scores, labels) in scores_and_labels(), cut in 0usize..400) {
        let cut = cut.min(scores.len());
        let mut e = StreamingEval::new();
        e.extend(&scores[..cut], &labels[..cut]).unwrap();
        for k in cut..scores.len() {
            e.push(scores[k], labels[k]).unwrap();
        }
        // Scores in [-1, 1) are fine as probabilities for this purpose once clamped.
        let want_ll = logloss(&scores, &labels);
        let s = e.finish();
        prop_assert_eq!(s.auc, brute_force_auc(&scores, &labels));
        prop_assert_eq!(s.logloss.to_bits(), want_ll.to_bits());
        prop_assert_eq!(s.samples, scores.len() as u64);
    }
}

/// A larger input, so the negatives (~160,000) take the parallel sort path
/// (from 65,536 up), against a histogram formula: with discrete score levels,
/// AUC = sum over levels l of pos[l] * (neg below l + neg[l] / 2) / (P * N).
#[test]
fn auc_large_input_matches_level_counting() {
    let levels = 1000usize;
    let mut r = SplitMix64::new(99);
    let n = 200_000;
    let mut pos = vec![0u64; levels];
    let mut neg = vec![0u64; levels];
    let mut scores = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let l = r.below(levels as u64) as usize;
        // Positives more likely at high levels: AUC well above 0.5.
        let y = r.next_f64() < (l as f64 / levels as f64) * 0.4;
        scores.push(l as f32 * 0.001 - 0.3);
        labels.push(y as u8 as f32);
        if y {
            pos[l] += 1;
        } else {
            neg[l] += 1;
        }
    }
    let (p, q): (u64, u64) = (pos.iter().sum(), neg.iter().sum());
    let mut below = 0u64;
    let mut halves = 0u128;
    for l in 0..levels {
        halves += pos[l] as u128 * (2 * below as u128 + neg[l] as u128);
        below += neg[l];
    }
    let want = halves as f64 / (2.0 * p as f64 * q as f64);
    let got = auc(&scores, &labels).unwrap();
    assert_eq!(got, want);
    assert!(got > 0.6, "{got}");
}

#[test]
fn logloss_matches_direct_formula() {
    let mut r = SplitMix64::new(5);
    let n = 10_000;
    let probs: Vec<f32> = (0..n).map(|_| r.next_f32()).collect();
    let labels: Vec<f32> = (0..n).map(|_| (r.below(2)) as f32).collect();
    let mut sum = 0.0f64;
    for (&p, &y) in probs.iter().zip(&labels) {
        let p = (p as f64).clamp(1e-7, 1.0 - 1e-7);
        sum -= if y == 1.0 { p.ln() } else { (1.0 - p).ln() };
    }
    let want = sum / n as f64;
    let got = logloss(&probs, &labels);
    assert!(((got - want) / want).abs() < 1e-14, "{got} vs {want}");
}

#[test]
fn one_class_is_none() {
    assert_eq!(auc(&[0.3, 0.9, 0.1], &[0.0, 0.0, 0.0]), None);
    assert!(matches!(
        try_auc(&[0.3], &[1.0]),
        Err(MetricsError::OneClass {
            positives: 1,
            negatives: 0
        })
    ));
}
