//! One optimizer step of every ProxGen-family optimizer against an
//! independent f64 reference that minimizes the paper's subproblem
//! numerically (never through the library's maps):
//! - prox_adam / prox_sgd_momentum: Algorithm 1 line 8,
//!   `argmin <m, x> + lambda R(x) + sum c_i/(2 alpha) (x_i - w_i)^2`;
//! - prox_sgd: eqs. 5-6, `w + alpha (w_hat - w)` with w_hat the minimizer of
//!   `<m, x> + lambda R(x) + sum c_i/2 (x_i - w_i)^2`;
//! - subgradient: Adam on `g + lambda * dR(w)` (formula in f64).
//!
//! State layout (documented in `optim::prox`): `[m; d]` then `[v; d]`
//! (prox_sgd_momentum: `[m; d]` only).

// Index loops over several parallel arrays read best as index loops.
#![allow(clippy::needless_range_loop)]

use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName, Regularizer};
use proptest::prelude::*;

use crate::prox_common;
use prox_common::{brute_min, ista_group, uniform};

const REGS: [Regularizer; 6] = [
    Regularizer::L1,
    Regularizer::L0,
    Regularizer::LHalf,
    Regularizer::LTwoThirds,
    Regularizer::Group,
    Regularizer::Binary,
];

fn r_elem(reg: Regularizer, x: f64, q: f64) -> f64 {
    match reg {
        Regularizer::L1 => x.abs(),
        Regularizer::L0 => (x != 0.0) as u8 as f64,
        Regularizer::LHalf => x.abs().sqrt(),
        Regularizer::LTwoThirds => x.abs().powf(2.0 / 3.0),
        Regularizer::Binary => (x - if x >= 0.0 { 1.0 } else { -1.0 }).abs().powf(q),
        _ => 0.0,
    }
}

struct Case {
    w: Vec<f32>,
    m0: Vec<f32>,
    v0: Vec<f32>,
    g: Vec<f32>,
}

fn case(d: usize, seed: u64) -> Case {
    let v0 = uniform(seed ^ 3, d, 1.0).iter().map(|v| v.abs()).collect();
    Case {
        w: uniform(seed, d, 2.0),
        m0: uniform(seed ^ 1, d, 1.0),
        v0,
        g: uniform(seed ^ 2, d, 1.0),
    }
}

/// Run one step of `cfg` from the case's state; returns the new weights.
fn step(cfg: &OptimizerConfig, c: &Case) -> Vec<f32> {
    let mut opt = Optimizer::new(&cfg.check().expect("valid config"));
    let d = c.w.len();
    let mut state = vec![0.0f32; opt.state_len(d)];
    state[..d].copy_from_slice(&c.m0);
    if state.len() == 2 * d {
        state[d..].copy_from_slice(&c.v0);
    }
    let mut w = c.w.clone();
    let mut last = 0u32;
    opt.begin_step();
    opt.update_group(&mut w, &mut state, &mut last, &c.g, None);
    assert_eq!(last, 1, "last_step must be set to the global step");
    w
}

/// Moments and curvature of the step in f64: (m, c) with c = sqrt(v) + delta
/// (or 1 for the identity preconditioner).
fn moments(cfg: &OptimizerConfig, c: &Case, identity: bool) -> (Vec<f64>, Vec<f64>) {
    let (rho, beta, delta) = (cfg.beta1 as f64, cfg.beta2 as f64, cfg.eps as f64);
    let m = (0..c.w.len())
        .map(|i| rho * c.m0[i] as f64 + (1.0 - rho) * c.g[i] as f64)
        .collect();
    let cc = (0..c.w.len())
        .map(|i| {
            if identity {
                1.0
            } else {
                (beta * c.v0[i] as f64 + (1.0 - beta) * (c.g[i] as f64).powi(2)).sqrt() + delta
            }
        })
        .collect();
    (m, cc)
}

/// argmin_x <m, x> + lambda R(x) + sum a_i/2 (x_i - w_i)^2 by brute force
/// (elementwise) or ISTA (group); also says per coordinate whether the
/// minimizer is unique (no near-tie between basins).
fn reference_prox(
    reg: Regularizer,
    q: f64,
    lambda: f64,
    w: &[f64],
    m: &[f64],
    a: &[f64],
) -> (Vec<f64>, Vec<bool>) {
    let d = w.len();
    if reg == Regularizer::Group {
        let z: Vec<f64> = (0..d).map(|i| w[i] - m[i] / a[i]).collect();
        return (ista_group(&z, a, lambda), vec![true; d]);
    }
    let mut x = vec![0.0; d];
    let mut unique = vec![true; d];
    for i in 0..d {
        let f = |t: f64| m[i] * t + lambda * r_elem(reg, t, q) + 0.5 * a[i] * (t - w[i]).powi(2);
        let z = w[i] - m[i] / a[i];
        let (xb, fb, far) = brute_min(
            &f,
            -z.abs() - 2.0,
            z.abs() + 2.0,
            &[0.0, 1.0, -1.0, z],
            0.02,
        );
        x[i] = xb;
        unique[i] = far - fb > 1e-7 * (1.0 + fb.abs());
    }
    (x, unique)
}

fn objective(
    reg: Regularizer,
    q: f64,
    lambda: f64,
    w: &[f64],
    m: &[f64],
    a: &[f64],
    x: &[f64],
) -> f64 {
    let pen = if reg == Regularizer::Group {
        x.iter().map(|v| v * v).sum::<f64>().sqrt()
    } else {
        x.iter().map(|&v| r_elem(reg, v, q)).sum()
    };
    (0..w.len())
        .map(|i| m[i] * x[i] + 0.5 * a[i] * (x[i] - w[i]).powi(2))
        .sum::<f64>()
        + lambda * pen
}

fn cfg(name: OptimizerName, reg: Regularizer, lr: f32, lambda: f32, q: f32) -> OptimizerConfig {
    OptimizerConfig {
        name,
        lr,
        lambda,
        regularizer: reg,
        q,
        ..OptimizerConfig::named(name)
    }
}

fn check_proxgen(
    name: OptimizerName,
    ri: usize,
    qi: usize,
    d: usize,
    lr: f32,
    lambda: f32,
    seed: u64,
) -> Result<(), TestCaseError> {
    let reg = REGS[ri];
    let q = [1.0f32, 2.0 / 3.0, 0.5][qi];
    let cfg = cfg(name, reg, lr, lambda, q);
    let c = case(d, seed);
    let ours: Vec<f64> = step(&cfg, &c).iter().map(|&v| v as f64).collect();
    let (m, cc) = moments(&cfg, &c, name == OptimizerName::ProxSgdMomentum);
    let a: Vec<f64> = cc.iter().map(|ci| ci / lr as f64).collect();
    let w: Vec<f64> = c.w.iter().map(|&v| v as f64).collect();
    let (reference, unique) = reference_prox(reg, q as f64, lambda as f64, &w, &m, &a);
    let fo = objective(reg, q as f64, lambda as f64, &w, &m, &a, &ours);
    let fr = objective(reg, q as f64, lambda as f64, &w, &m, &a, &reference);
    let f_w = objective(reg, q as f64, lambda as f64, &w, &m, &a, &w);
    prop_assert!(
        fo <= fr + 1e-5 * (1.0 + fr.abs() + f_w.abs()),
        "{reg:?}: objective ours {fo:e} > reference {fr:e}\nours {ours:?}\nref {reference:?}"
    );
    for i in 0..d {
        if unique[i] {
            prop_assert!(
                (ours[i] - reference[i]).abs() <= 2e-4 * (1.0 + w[i].abs()),
                "{reg:?} coord {i}: ours {} ref {}",
                ours[i],
                reference[i]
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn prox_adam_step_solves_algorithm1_line8(ri in 0usize..6, qi in 0usize..3, d in 1usize..24, lr in 1e-3f32..0.5, lambda in 1e-3f32..1.0, seed in any::<u64>()) {
        check_proxgen(OptimizerName::ProxAdam, ri, qi, d, lr, lambda, seed)?;
    }

    #[test]
    fn prox_sgd_momentum_step_solves_algorithm1_line8(ri in 0usize..6, qi in 0usize..3, d in 1usize..24, lr in 1e-3f32..2.0, lambda in 1e-3f32..1.0, seed in any::<u64>()) {
        check_proxgen(OptimizerName::ProxSgdMomentum, ri, qi, d, lr, lambda, seed)?;
    }

    #[test]
    fn prox_sgd_step_is_prox_without_lr_then_interpolation(ri in 0usize..6, qi in 0usize..3, d in 1usize..24, lr in 1e-3f32..1.0, lambda in 1e-3f32..1.0, seed in any::<u64>()) {
        let reg = REGS[ri];
        let q = [1.0f32, 2.0 / 3.0, 0.5][qi];
        let cfg = cfg(OptimizerName::ProxSgd, reg, lr, lambda, q);
        let c = case(d, seed);
        let ours: Vec<f64> = step(&cfg, &c).iter().map(|&v| v as f64).collect();
        let (m, a) = moments(&cfg, &c, false); // quadratic weight c_i: no 1/alpha
        let w: Vec<f64> = c.w.iter().map(|&v| v as f64).collect();
        let (w_hat, unique) = reference_prox(reg, q as f64, lambda as f64, &w, &m, &a);
        for i in 0..d {
            if unique[i] {
                let expected = w[i] + lr as f64 * (w_hat[i] - w[i]);
                prop_assert!((ours[i] - expected).abs() <= 2e-4 * (1.0 + w[i].abs()), "{reg:?} coord {i}: ours {} expected {expected}", ours[i]);
            }
        }
    }
}

#[test]
fn subgradient_step_matches_formula() {
    // Adam (no bias correction) on g + lambda*dR(w), at points where R is
    // differentiable; computed here in f64 from the textbook derivatives.
    let d = 7;
    let c = case(d, 99);
    for (reg, q) in [
        (Regularizer::L1, 1.0f32),
        (Regularizer::LHalf, 1.0),
        (Regularizer::LTwoThirds, 1.0),
        (Regularizer::Group, 1.0),
        (Regularizer::Binary, 0.5),
        (Regularizer::Binary, 1.0),
    ] {
        let (lr, lambda) = (0.05f32, 0.3f32);
        let cfg = cfg(OptimizerName::Subgradient, reg, lr, lambda, q);
        let ours = step(&cfg, &c);
        let norm = c.w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        for i in 0..d {
            let x = c.w[i] as f64;
            let s = x.signum();
            let dr = match reg {
                Regularizer::L1 => s,
                Regularizer::LHalf => 0.5 * x.abs().powf(-0.5) * s,
                Regularizer::LTwoThirds => (2.0 / 3.0) * x.abs().powf(-1.0 / 3.0) * s,
                Regularizer::Group => x / norm,
                // |x - sign x|^q, derivative q|x - s|^(q-1) sign(x - s).
                _ => q as f64 * (x - s).abs().powf(q as f64 - 1.0) * (x - s).signum(),
            };
            let g = c.g[i] as f64 + lambda as f64 * dr;
            let m = 0.9 * c.m0[i] as f64 + 0.1 * g;
            let v = 0.999 * c.v0[i] as f64 + 0.001 * g * g;
            let expected = x - lr as f64 * m / (v.sqrt() + 1e-8);
            let got = ours[i] as f64;
            assert!(
                (got - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
                "{reg:?} q={q} coord {i}: {got} vs {expected}"
            );
        }
    }
}

#[test]
fn every_family_optimizer_builds_from_config_and_refuses_bad_ones() {
    for name in [
        OptimizerName::ProxAdam,
        OptimizerName::ProxSgdMomentum,
        OptimizerName::ProxSgd,
        OptimizerName::Subgradient,
    ] {
        for reg in REGS {
            let cfg = cfg(name, reg, 0.1, 0.01, 0.5);
            let built = cfg.check().map(|spec| Optimizer::new(&spec));
            if name == OptimizerName::Subgradient && reg == Regularizer::L0 {
                assert_eq!(
                    built.unwrap_err().to_string(),
                    "optimizer.regularizer: l0 has no useful subgradient; use prox_adam or prox_sgd_momentum for l0"
                );
                continue;
            }
            let opt = built.unwrap();
            let expected = if name == OptimizerName::ProxSgdMomentum {
                16
            } else {
                32
            };
            assert_eq!(opt.state_len(16), expected, "{name} {reg:?}");
        }
    }
    let err = cfg(OptimizerName::ProxSgd, Regularizer::L1, 1.5, 0.1, 1.0)
        .check()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "optimizer.lr: prox_sgd interpolates w + lr*(w_hat - w), so lr must be in (0, 1], got 1.5"
    );
    let err = cfg(OptimizerName::ProxAdam, Regularizer::Binary, 0.1, 0.1, 0.3)
        .check()
        .unwrap_err();
    assert!(err.to_string().starts_with("optimizer.q:"), "{err}");
}

#[test]
fn run_config_selects_optimizer_and_regularizer_by_name() {
    for (text, name, reg) in [
        (
            "name = \"prox_adam\"\nregularizer = \"l_half\"\nlambda = 1e-3\n",
            OptimizerName::ProxAdam,
            Regularizer::LHalf,
        ),
        (
            "name = \"prox_sgd_momentum\"\nregularizer = \"l_two_thirds\"\nlambda = 1e-3\n",
            OptimizerName::ProxSgdMomentum,
            Regularizer::LTwoThirds,
        ),
        (
            "name = \"prox_sgd\"\nregularizer = \"group\"\nlambda = 1e-3\nlr = 0.5\n",
            OptimizerName::ProxSgd,
            Regularizer::Group,
        ),
        (
            "name = \"subgradient\"\nregularizer = \"l1\"\nlambda = 1e-3\n",
            OptimizerName::Subgradient,
            Regularizer::L1,
        ),
        (
            "name = \"prox_adam\"\nregularizer = \"binary\"\nq = 0.5\nlambda = 1e-3\n",
            OptimizerName::ProxAdam,
            Regularizer::Binary,
        ),
        (
            "name = \"prox_adam\"\nregularizer = \"l0\"\nlambda = 1e-3\n",
            OptimizerName::ProxAdam,
            Regularizer::L0,
        ),
    ] {
        let cfg: OptimizerConfig = toml::from_str(text).unwrap();
        assert_eq!((cfg.name, cfg.regularizer), (name, reg));
        Optimizer::new(&cfg.check().unwrap());
    }
}

#[test]
fn group_step_on_rows_longer_than_the_stack_buffer() {
    // Rows of d <= 64 take a stack-buffered path, longer rows the
    // closure-only one: both must solve line 8.
    for d in [64, 65, 100] {
        for seed in 0..4 {
            check_proxgen(
                OptimizerName::ProxAdam,
                4,
                0,
                d,
                0.1,
                0.05 * (seed + 1) as f32,
                seed,
            )
            .unwrap();
            check_proxgen(
                OptimizerName::ProxSgdMomentum,
                4,
                0,
                d,
                0.5,
                0.05 * (seed + 1) as f32,
                seed,
            )
            .unwrap();
        }
    }
}
