//! Theorem 1: with `group_norm = "weighted"` the update of Algorithm 1 is
//! the exact minimizer of the paper's Eq. (24) with Psi of Eq. (5), i.e. per
//! group (Eq. 25, A = diag(sigma + lambda2), sigma = D_t / 2):
//!
//!   Omega(x) = z.x + lambda1 |x|_1 + lambda21 sqrt(d) |A^(1/2) x|_2 + x' A x
//!
//! Checked against 1,000 random perturbations and a Nelder-Mead minimizer,
//! for random z, sigma and lambdas: directly on the closed form, and on the
//! real fused update of Group Adagrad after random steps (z and V read from
//! its state). Also shows the paper's Eq. (10) weighting (no square root,
//! as printed) is *not* the minimizer.

use ctr_run::optim::core::{closed_form, GroupPenalty};
use ctr_run::optim::{GroupNorm, Optimizer, OptimizerConfig, OptimizerName};
use ctr_run::rng::SplitMix64;
use proptest::prelude::*;

/// Omega of Eq. (25) for one group, in f64.
fn omega(p: &GroupPenalty, z: &[f64], sigma: &[f64], x: &[f64]) -> f64 {
    let d = x.len() as f64;
    let mut lin = 0.0;
    let mut l1 = 0.0;
    let mut quad = 0.0;
    for i in 0..x.len() {
        let a = sigma[i] + f64::from(p.lambda2);
        lin += z[i] * x[i];
        l1 += x[i].abs();
        quad += a * x[i] * x[i];
    }
    lin + f64::from(p.lambda1) * l1 + f64::from(p.lambda21) * d.sqrt() * quad.sqrt() + quad
}

/// Nelder-Mead with restarts (derivative free, so independent of the
/// closed form's reasoning); returns the best point found.
fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, start: &[f64], scale: f64, iters: usize) -> Vec<f64> {
    let n = start.len();
    let mut best = start.to_vec();
    let mut step = scale;
    for _restart in 0..6 {
        let mut simplex: Vec<Vec<f64>> = vec![best.clone()];
        for i in 0..n {
            let mut p = best.clone();
            p[i] += step;
            simplex.push(p);
        }
        let mut vals: Vec<f64> = simplex.iter().map(|p| f(p)).collect();
        for _ in 0..iters {
            let mut idx: Vec<usize> = (0..=n).collect();
            idx.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
            simplex = idx.iter().map(|&i| simplex[i].clone()).collect();
            vals = idx.iter().map(|&i| vals[i]).collect();
            let centroid: Vec<f64> = (0..n)
                .map(|j| simplex[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64)
                .collect();
            let along = |t: f64| -> Vec<f64> {
                (0..n)
                    .map(|j| centroid[j] + t * (simplex[n][j] - centroid[j]))
                    .collect()
            };
            let xr = along(-1.0);
            let fr = f(&xr);
            if fr < vals[0] {
                let xe = along(-2.0);
                let fe = f(&xe);
                if fe < fr {
                    simplex[n] = xe;
                    vals[n] = fe;
                } else {
                    simplex[n] = xr;
                    vals[n] = fr;
                }
            } else if fr < vals[n - 1] {
                simplex[n] = xr;
                vals[n] = fr;
            } else {
                let xc = along(0.5);
                let fc = f(&xc);
                if fc < vals[n] {
                    simplex[n] = xc;
                    vals[n] = fc;
                } else {
                    for i in 1..=n {
                        simplex[i] = (0..n)
                            .map(|j| simplex[0][j] + 0.5 * (simplex[i][j] - simplex[0][j]))
                            .collect();
                        vals[i] = f(&simplex[i]);
                    }
                }
            }
        }
        let i0 = (0..=n)
            .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
            .unwrap_or(0);
        if f(&simplex[i0]) <= f(&best) {
            best = simplex[i0].clone();
        }
        step *= 0.3;
    }
    best
}

/// The minimality checks of Theorem 1 at the f32 update `x`.
fn assert_minimizer(
    p: &GroupPenalty,
    z: &[f64],
    sigma: &[f64],
    x: &[f32],
    seed: u64,
) -> Result<(), TestCaseError> {
    let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let f = |y: &[f64]| omega(p, z, sigma, y);
    let best = f(&x);
    let zmax = z.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let xmax = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    // f32 rounding of x (and of z, sigma inside the optimizer) moves Omega
    // by about 1e-7 * |z| * |x| per element; allow 1e-5 of the scale.
    let tol = 1e-5 * (1.0 + best.abs() + zmax * (xmax + 1e-3) * x.len() as f64);
    let mut rng = SplitMix64::new(seed);
    let scale = xmax
        .max(zmax / sigma.iter().fold(f64::MAX, |m, &s| m.min(s)).max(1e-3))
        .max(1e-3);
    for k in 0..1000 {
        let mut y = x.clone();
        match k % 4 {
            // a random direction at a log-uniform scale
            0 | 1 => {
                let r = scale * 10f64.powf(-4.0 * rng.next_f64());
                y.iter_mut().for_each(|v| *v += r * rng.normal());
            }
            // one coordinate moved
            2 => {
                let i = rng.below(y.len() as u64) as usize;
                y[i] += scale * 10f64.powf(-4.0 * rng.next_f64()) * rng.normal();
            }
            // one coordinate zeroed, or the whole group scaled
            _ => {
                if rng.next_f64() < 0.5 {
                    let i = rng.below(y.len() as u64) as usize;
                    y[i] = 0.0;
                } else {
                    let c = 2.0 * rng.next_f64();
                    y.iter_mut().for_each(|v| *v *= c);
                }
            }
        }
        let fy = f(&y);
        prop_assert!(
            best <= fy + tol,
            "perturbation {k} beats the update: {best} > {fy} (tol {tol})"
        );
    }
    let nm = nelder_mead(&f, &vec![0.0; x.len()], scale, 400 * x.len());
    let nm2 = nelder_mead(
        &f,
        &x.iter().map(|v| v * 0.5 + 0.01).collect::<Vec<_>>(),
        scale,
        400 * x.len(),
    );
    for y in [nm, nm2] {
        let fy = f(&y);
        prop_assert!(
            best <= fy + tol,
            "Nelder-Mead beats the update: {best} > {fy} at {y:?} vs {x:?}"
        );
    }
    Ok(())
}

fn weighted(l1: f32, l21: f32, l2: f32) -> GroupPenalty {
    GroupPenalty {
        lambda1: l1,
        lambda21: l21,
        lambda2: l2,
        norm: GroupNorm::Weighted,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The closed form (Theorem 1, weighted norm) at random z, sigma, lambdas.
    #[test]
    fn weighted_closed_form_minimizes_eq24(
        z in prop::collection::vec(-3.0f32..3.0, 1..6),
        sig_seed in any::<u64>(),
        l1 in 0.0f32..1.0, l21 in 0.0f32..1.0, l2 in 0.0f32..0.5,
    ) {
        let mut rng = SplitMix64::new(sig_seed);
        // sigma = D/2 across four orders of magnitude
        let sigma: Vec<f32> = z.iter().map(|_| 10f32.powf(2.0 * rng.next_f32() - 1.5)).collect();
        let dd: Vec<f32> = sigma.iter().map(|s| 2.0 * s).collect();
        let p = weighted(l1, l21, l2);
        let mut x = vec![0.0f32; z.len()];
        closed_form(&p, &z, &dd, &mut x);
        let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let s64: Vec<f64> = dd.iter().map(|&v| f64::from(v) / 2.0).collect();
        assert_minimizer(&p, &z64, &s64, &x, sig_seed)?;
    }

    /// The real fused update of Group Adagrad (weighted) after random steps:
    /// z and V read from its state, D = sqrt(V)/alpha, sigma = D/2.
    #[test]
    fn weighted_group_adagrad_update_minimizes_eq24(
        seed in any::<u64>(), steps in 1usize..20, d in 1usize..6,
        l1 in 0.0f32..0.5, l21 in 0.0f32..0.5, l2 in 0.0f32..0.5, lr in 0.01f32..1.0,
    ) {
        let cfg = OptimizerConfig {
            lr, lambda1: l1, lambda21: l21, lambda2: l2, group_norm: GroupNorm::Weighted,
            ..OptimizerConfig::named(OptimizerName::GroupAdagrad)
        };
        let mut opt = Optimizer::new(&cfg.check().unwrap());
        let mut rng = SplitMix64::new(seed);
        let mut w: Vec<f32> = (0..d).map(|_| rng.normal() as f32).collect();
        let mut state = vec![0.0f32; opt.state_len(d)];
        let mut last = 0u32;
        for _ in 0..steps {
            opt.begin_step();
            let g: Vec<f32> = (0..d).map(|_| 2.0 * rng.normal() as f32).collect();
            opt.update_group(&mut w, &mut state, &mut last, &g, None);
        }
        // Documented layout: columns [z[0..d], V[0..d]].
        let z: Vec<f64> = state[..d].iter().map(|&v| f64::from(v)).collect();
        let sigma: Vec<f64> = state[d..].iter().map(|&v| f64::from(v).sqrt() / f64::from(lr) / 2.0).collect();
        assert_minimizer(&GroupPenalty::from_config(&cfg.check().unwrap()), &z, &sigma, &w, seed)?;
    }
}

/// The paper's Eq. (10) (s~ = s / (sigma + lambda2), as printed)
/// zeroes a group whose exact minimizer is not zero: here A = 4 I, z =
/// (-3, -3), lambda21 = 1. Exact: |A^(-1/2) s| = 2.12 > sqrt(2), so x != 0;
/// Eq. (10): |s / 4| = 1.06 <= sqrt(2) gives x = 0, with a worse objective.
#[test]
fn paper_eq10_weighting_is_not_the_minimizer_sqrt_form_is() {
    let p = weighted(0.0, 1.0, 0.0);
    let z = [-3.0f32, -3.0];
    let dd = [8.0f32, 8.0];
    let mut x = [0.0f32; 2];
    closed_form(&p, &z, &dd, &mut x);
    let z64 = [-3.0, -3.0];
    let sig = [4.0, 4.0];
    let ours = omega(&p, &z64, &sig, &[f64::from(x[0]), f64::from(x[1])]);
    let eq10 = omega(&p, &z64, &sig, &[0.0, 0.0]);
    // Hand solution: x = (1 - sqrt2/(3 sqrt2 / 2)) * 3 / 8 = 0.125 per entry,
    // Omega = -0.75 + 0.5 + 0.125 = -0.125.
    assert!(
        (x[0] - 0.125).abs() < 1e-6 && (x[1] - 0.125).abs() < 1e-6,
        "{x:?}"
    );
    assert!((ours + 0.125).abs() < 1e-6, "{ours}");
    assert!(ours < eq10 - 0.1, "ours {ours} vs eq10 {eq10}");
}

fn eq10(l1: f32, l21: f32, l2: f32) -> GroupPenalty {
    GroupPenalty {
        norm: GroupNorm::PaperEq10,
        ..weighted(l1, l21, l2)
    }
}

/// `group_norm = "paper_eq10"` on a hand-computed group: z = (-3, 4),
/// D = (2, 6), lambda1 = lambda2 = lambda21 = 0.5, so s = (2.5, -3.5),
/// A = D/2 + lambda2 = (1.5, 3.5), s~ = s / A = (5/3, -1),
/// |s~| = 1.943651, factor 1 - sqrt(2)*0.5/1.943651 = 0.636197,
/// x = factor * s / (D + 2 lambda2) = (0.530164, -0.318098).
/// (The root form gives (0.620519, -0.372312): the variants differ.)
#[test]
fn paper_eq10_closed_form_matches_hand_computation() {
    let (z, dd) = ([-3.0f32, 4.0], [2.0f32, 6.0]);
    let mut x = [0.0f32; 2];
    closed_form(&eq10(0.5, 0.5, 0.5), &z, &dd, &mut x);
    assert!((x[0] - 0.530_164).abs() < 1e-5, "{x:?}");
    assert!((x[1] + 0.318_098).abs() < 1e-5, "{x:?}");
    closed_form(&weighted(0.5, 0.5, 0.5), &z, &dd, &mut x);
    assert!((x[0] - 0.620_519).abs() < 1e-5, "{x:?}");
    assert!((x[1] + 0.372_312).abs() < 1e-5, "{x:?}");
}

/// The counterexample of docs/math.md (d = 1, D/2 + lambda2 = 4, z = -3,
/// sqrt(d) lambda21 = 1): paper_eq10 zeroes the group (|s~| = 3/4 <= 1),
/// objective 0; the root form (`weighted`) gives x = 1/8 with objective
/// -1/16: it beats the printed form on the step's subproblem.
#[test]
fn paper_eq10_is_beaten_by_the_root_form_on_the_counterexample() {
    let (z, dd) = ([-3.0f32], [8.0f32]);
    let (mut x_eq10, mut x_root) = ([1.0f32], [0.0f32]);
    closed_form(&eq10(0.0, 1.0, 0.0), &z, &dd, &mut x_eq10);
    closed_form(&weighted(0.0, 1.0, 0.0), &z, &dd, &mut x_root);
    assert_eq!(x_eq10[0], 0.0);
    assert!((x_root[0] - 0.125).abs() < 1e-7, "{x_root:?}");
    let p = weighted(0.0, 1.0, 0.0);
    let f_eq10 = omega(&p, &[-3.0], &[4.0], &[f64::from(x_eq10[0])]);
    let f_root = omega(&p, &[-3.0], &[4.0], &[f64::from(x_root[0])]);
    assert!(f_eq10.abs() < 1e-12, "{f_eq10}");
    assert!((f_root + 1.0 / 16.0).abs() < 1e-7, "{f_root}");
}

/// The fused Group Adagrad update with paper_eq10 equals the closed form
/// on the z and D read back from its state (same variant, both code paths).
#[test]
fn paper_eq10_fused_update_equals_its_closed_form() {
    let (d, lr) = (5usize, 0.3f32);
    let cfg = OptimizerConfig {
        lr,
        lambda1: 0.05,
        lambda21: 0.2,
        lambda2: 0.1,
        group_norm: GroupNorm::PaperEq10,
        ..OptimizerConfig::named(OptimizerName::GroupAdagrad)
    };
    let spec = cfg.check().unwrap();
    let mut opt = Optimizer::new(&spec);
    let mut rng = SplitMix64::new(7);
    let mut w = vec![0.0f32; d];
    let mut state = vec![0.0f32; opt.state_len(d)];
    let mut last = 0u32;
    for _ in 0..4 {
        opt.begin_step();
        let g: Vec<f32> = (0..d).map(|_| 2.0 * rng.normal() as f32).collect();
        opt.update_group(&mut w, &mut state, &mut last, &g, None);
    }
    let dd: Vec<f32> = state[d..].iter().map(|v| v.sqrt() / lr).collect();
    let mut x = vec![0.0f32; d];
    closed_form(&GroupPenalty::from_config(&spec), &state[..d], &dd, &mut x);
    assert!(w.iter().any(|&v| v != 0.0), "{w:?}");
    for (a, b) in w.iter().zip(&x) {
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{w:?} vs {x:?}");
    }
}
