//! Group sparsity of Algorithm 1 (plain group norm, line 10): a group is
//! all-zero exactly when ||s_t||_2 <= sqrt(d) * lambda21, with s_t the
//! l1-soft-thresholded z_t read back from the optimizer state; and on a fixed
//! stream the fraction of zero groups rises monotonically with lambda21.

use crate::optim_support;
use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName};
use optim_support::*;
use proptest::prelude::*;

const GROUP: [OptimizerName; 6] = [
    OptimizerName::GroupSgd,
    OptimizerName::GroupMomentum,
    OptimizerName::GroupAdagrad,
    OptimizerName::GroupAdam,
    OptimizerName::GroupAmsgrad,
    OptimizerName::GroupAdahessian,
];

/// ||soft_threshold(z, lambda1)||_2 of a group, in f64, from the state
/// (documented layout: columns [z[0..d], slot_1[0..d], ..]).
fn s_norm(state: &[f32], d: usize, lambda1: f32) -> f64 {
    state[..d]
        .iter()
        .map(|&z| (f64::from(z).abs() - f64::from(lambda1)).max(0.0).powi(2))
        .sum::<f64>()
        .sqrt()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn group_is_zero_iff_s_norm_below_sqrt_d_lambda21(
        which in 0usize..6, seed in any::<u64>(), d in prop_oneof![1usize..9, 60usize..140],
        l1 in 0.0f32..0.3, l21 in 0.0f32..1.5, l2 in 0.0f32..0.1,
    ) {
        let name = GROUP[which];
        let cfg = OptimizerConfig { lambda1: l1, lambda21: l21, lambda2: l2, ..cfg(name, lr_for(name)) };
        let mut opt = Optimizer::new(&cfg.check().unwrap());
        let rows = 12;
        let stream = sparse_stream(seed, 150, rows, d);
        let mut table = Table::new(&opt, rows, d, &init_weights(seed ^ 1, rows * d, 0.3));
        let sl = opt.state_len(d);
        let threshold = (d as f64).sqrt() * f64::from(l21);
        let (mut zero, mut nonzero) = (0, 0);
        for step in &stream {
            opt.begin_step();
            table.update_rows(&opt, &step.rows, &step.g, &step.h);
            for &r in &step.rows {
                let norm = s_norm(&table.state[r * sl..(r + 1) * sl], d, l1);
                let is_zero = table.row(r).iter().all(|&x| x == 0.0);
                // skip exact ties up to f32 rounding of the norm
                if (norm - threshold).abs() <= 1e-5 * threshold.max(1e-6) {
                    continue;
                }
                prop_assert_eq!(is_zero, norm <= threshold, "{} row {}: |s| {} vs {}", name, r, norm, threshold);
                if is_zero { zero += 1 } else { nonzero += 1 }
            }
        }
        prop_assert!(zero + nonzero > 0);
    }
}

/// Fraction of all-zero groups after a fixed stream.
fn sparsity(name: OptimizerName, l21: f32, stream: &[Step], rows: usize, d: usize) -> f64 {
    let cfg = OptimizerConfig {
        lambda21: l21,
        lambda2: 1e-3,
        ..cfg(name, lr_for(name))
    };
    let mut opt = Optimizer::new(&cfg.check().unwrap());
    let mut table = Table::new(&opt, rows, d, &init_weights(5, rows * d, 0.1));
    run(&mut opt, &mut table, stream);
    (0..rows)
        .filter(|&r| table.row(r).iter().all(|&x| x == 0.0))
        .count() as f64
        / rows as f64
}

#[test]
fn sparsity_rises_monotonically_with_lambda21() {
    let (rows, d) = (60, 8);
    let stream = sparse_stream(77, 400, rows, d);
    for name in GROUP {
        // 0, then 1e-3 .. 1e4 geometrically: the scale of ||s|| differs
        // across optimizers (z ~ D x, and D = sqrt(t)/alpha for SGD).
        let grid: Vec<f32> = std::iter::once(0.0)
            .chain((-12..=16).map(|k| 10f32.powf(k as f32 / 4.0)))
            .collect();
        let sp: Vec<f64> = grid
            .iter()
            .map(|&l| sparsity(name, l, &stream, rows, d))
            .collect();
        println!("{name}: sparsity over lambda21 {grid:?} = {sp:?}");
        assert_eq!(sp[0], 0.0, "{name}: no sparsity without lambda21");
        assert_eq!(
            *sp.last().unwrap(),
            1.0,
            "{name}: all groups zero at huge lambda21"
        );
        assert!(
            sp.windows(2).all(|w| w[0] <= w[1]),
            "{name}: not monotone: {sp:?}"
        );
        assert!(
            sp.iter().any(|&s| s > 0.0 && s < 1.0),
            "{name}: no intermediate sparsity: {sp:?}"
        );
    }
}
