//! With lambda = 0, ProxGen is its unregularized optimizer (docs/proxgen.md):
//! prox_adam equals Adam without bias correction,
//! `m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr m / (sqrt(v) + eps)`,
//! and prox_sgd_momentum equals SGD with EMA momentum `w -= lr m`.
//! The references below are written from those formulas alone.
//!
//! Lazy semantics: nothing in these updates depends on the global step t, so
//! a row that a batch does not touch is simply not updated (weights and
//! moments unchanged), and when it comes back it continues from its own
//! state: the reference is Adam run per row on the steps that touched it
//! (LazyAdam / SparseAdam behaviour).

// Index loops over several parallel arrays read best as index loops.
#![allow(clippy::needless_range_loop)]

use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName, Regularizer};
use ctr_run::rng::SplitMix64;

const STEPS: usize = 1000;

/// Adam without bias correction on one row.
struct RefAdam {
    lr: f32,
    b1: f32,
    b2: f32,
    eps: f32,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl RefAdam {
    fn new(d: usize) -> Self {
        Self {
            lr: 0.01,
            b1: 0.9,
            b2: 0.999,
            eps: 1e-8,
            m: vec![0.0; d],
            v: vec![0.0; d],
        }
    }
    fn step(&mut self, w: &mut [f32], g: &[f32]) {
        for i in 0..w.len() {
            self.m[i] = self.b1 * self.m[i] + (1.0 - self.b1) * g[i];
            self.v[i] = self.b2 * self.v[i] + (1.0 - self.b2) * g[i] * g[i];
            w[i] -= self.lr * self.m[i] / (self.v[i].sqrt() + self.eps);
        }
    }
}

/// Gradient of a per-row quadratic with noise: g = (w - target) * scale + noise.
/// Depends on w, so any divergence between the two runs feeds back.
fn gradient(rng: &mut SplitMix64, w: &[f32], row: usize, g: &mut [f32]) {
    for (i, gi) in g.iter_mut().enumerate() {
        let target = ((row * 7 + i) % 5) as f32 * 0.3 - 0.6;
        let scale = 0.1 + (i % 4) as f32;
        *gi = (w[i] - target) * scale + 0.5 * rng.normal() as f32;
    }
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let tol = 1e-6 * x.abs().max(y.abs()).max(1e-3);
        assert!((x - y).abs() <= tol, "{what}: element {i}: {x} vs {y}");
    }
}

fn cfg(name: OptimizerName, reg: Regularizer) -> OptimizerConfig {
    // lambda = 0 with a regularizer selected: the penalty must vanish.
    OptimizerConfig {
        name,
        lr: 0.01,
        lambda: 0.0,
        regularizer: reg,
        ..OptimizerConfig::named(name)
    }
}

#[test]
fn prox_adam_lambda0_equals_adam_dense() {
    for reg in [
        Regularizer::None,
        Regularizer::L1,
        Regularizer::Group,
        Regularizer::LHalf,
    ] {
        let (rows, d) = (6, 16);
        let mut opt = Optimizer::new(&cfg(OptimizerName::ProxAdam, reg).check().unwrap());
        let sl = opt.state_len(d);
        let init: Vec<f32> = (0..rows * d)
            .map(|k| ((k * 37 % 23) as f32 - 11.0) * 0.05)
            .collect();
        let mut w = init.clone();
        let mut state = vec![0.0; rows * sl];
        let mut last = vec![0u32; rows];
        let mut w_ref = init;
        let mut refs: Vec<RefAdam> = (0..rows).map(|_| RefAdam::new(d)).collect();
        let mut rng = SplitMix64::new(7);
        let mut g = vec![0.0f32; rows * d];
        for t in 1..=STEPS {
            for r in 0..rows {
                gradient(
                    &mut rng,
                    &w[r * d..(r + 1) * d],
                    r,
                    &mut g[r * d..(r + 1) * d],
                );
            }
            opt.begin_step();
            opt.update_dense(d, &mut w, &mut state, &mut last, &g, None);
            for r in 0..rows {
                refs[r].step(&mut w_ref[r * d..(r + 1) * d], &g[r * d..(r + 1) * d]);
            }
            assert_close(&w, &w_ref, &format!("{reg:?} step {t}"));
            assert!(last.iter().all(|&l| l as usize == t));
        }
    }
}

#[test]
fn prox_adam_lambda0_equals_lazy_adam_on_irregular_rows() {
    let (rows, d) = (40, 8);
    let mut opt = Optimizer::new(
        &cfg(OptimizerName::ProxAdam, Regularizer::L1)
            .check()
            .unwrap(),
    );
    let sl = opt.state_len(d);
    let mut w: Vec<f32> = (0..rows * d)
        .map(|k| ((k * 13 % 17) as f32 - 8.0) * 0.1)
        .collect();
    let mut w_ref = w.clone();
    let mut state = vec![0.0; rows * sl];
    let mut last = vec![0u32; rows];
    let mut refs: Vec<RefAdam> = (0..rows).map(|_| RefAdam::new(d)).collect();
    let mut rng = SplitMix64::new(11);
    let mut g = vec![0.0f32; d];
    let mut updates = vec![0usize; rows];
    for t in 1..=STEPS {
        opt.begin_step();
        for r in 0..rows {
            // Row r appears with probability from 1% (rare features) to 90%.
            let p = 0.01 + 0.89 * (r as f64 / (rows - 1) as f64).powi(2);
            let row = r * d..(r + 1) * d;
            if rng.next_f64() >= p {
                // Untouched: weights and state must not move at all.
                continue;
            }
            gradient(&mut rng, &w[row.clone()], r, &mut g);
            let before_last = last[r];
            opt.update_group(
                &mut w[row.clone()],
                &mut state[r * sl..(r + 1) * sl],
                &mut last[r],
                &g,
                None,
            );
            assert!(last[r] as usize == t && (before_last as usize) < t);
            refs[r].step(&mut w_ref[row.clone()], &g);
            updates[r] += 1;
        }
        assert_close(&w, &w_ref, &format!("step {t}"));
    }
    // The schedule really was irregular: rare rows saw a handful of updates.
    assert!(updates[0] < 40 && updates[rows - 1] > 850, "{updates:?}");
    // Moments of each row equal the reference's (state layout [m; v]).
    for r in 0..rows {
        assert_close(&state[r * sl..r * sl + d], &refs[r].m, "m");
        assert_close(&state[r * sl + d..(r + 1) * sl], &refs[r].v, "v");
    }
}

#[test]
fn prox_sgd_momentum_lambda0_equals_ema_momentum_sgd() {
    let d = 12;
    let mut opt = Optimizer::new(
        &cfg(OptimizerName::ProxSgdMomentum, Regularizer::L0)
            .check()
            .unwrap(),
    );
    let mut w: Vec<f32> = (0..d).map(|i| i as f32 * 0.1 - 0.5).collect();
    let mut w_ref = w.clone();
    let mut state = vec![0.0; opt.state_len(d)];
    let mut m = vec![0.0f32; d];
    let mut last = 0u32;
    let mut rng = SplitMix64::new(3);
    let mut g = vec![0.0f32; d];
    for t in 1..=STEPS {
        gradient(&mut rng, &w, 0, &mut g);
        opt.begin_step();
        opt.update_group(&mut w, &mut state, &mut last, &g, None);
        for i in 0..d {
            // (1 - rho) as the formula writes it: in f32, 1 - 0.9 != 0.1.
            let rho = 0.9f32;
            m[i] = rho * m[i] + (1.0 - rho) * g[i];
            w_ref[i] -= 0.01 * m[i];
        }
        assert_close(&w, &w_ref, &format!("step {t}"));
    }
}
