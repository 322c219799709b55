//! Shared helpers of the optimizer tests: random streams and a driver that
//! applies one stream to an optimizer, densely or lazily (sparse rows).
#![allow(dead_code)]

use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName};
use ctr_run::rng::SplitMix64;

/// A table of `rows` groups of size `d` with its optimizer state.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub d: usize,
    pub w: Vec<f32>,
    pub state: Vec<f32>,
    pub last: Vec<u32>,
}

impl Table {
    /// Rows initialized from `init` and state from `opt.init_state`.
    pub fn new(opt: &Optimizer, rows: usize, d: usize, init: &[f32]) -> Self {
        let sl = opt.state_len(d);
        let mut state = vec![0.0; rows * sl];
        for r in 0..rows {
            opt.init_state(&init[r * d..(r + 1) * d], &mut state[r * sl..(r + 1) * sl]);
        }
        Self {
            d,
            w: init.to_vec(),
            state,
            last: vec![0; rows],
        }
    }

    pub fn row(&self, r: usize) -> &[f32] {
        &self.w[r * self.d..(r + 1) * self.d]
    }

    /// Update the rows in `touched` with gradients `g` (and `h`), both laid
    /// out one row after another in the order of `touched`.
    pub fn update_rows(&mut self, opt: &Optimizer, touched: &[usize], g: &[f32], h: &[f32]) {
        let d = self.d;
        let sl = opt.state_len(d);
        for (k, &r) in touched.iter().enumerate() {
            let hk = if opt.needs_hessian() {
                Some(&h[k * d..(k + 1) * d])
            } else {
                None
            };
            opt.update_group(
                &mut self.w[r * d..(r + 1) * d],
                &mut self.state[r * sl..(r + 1) * sl],
                &mut self.last[r],
                &g[k * d..(k + 1) * d],
                hk,
            );
        }
    }
}

/// One step of a gradient stream: the rows touched and their gradients and
/// Hessian-diagonal estimates (positive, as Hutchinson's would be on a
/// convex loss), row after row.
#[derive(Clone, Debug)]
pub struct Step {
    pub rows: Vec<usize>,
    pub g: Vec<f32>,
    pub h: Vec<f32>,
}

/// A dense stream: every row every step, gradients N(0, 1) plus a per-row
/// drift so that weights move consistently (not only a random walk).
pub fn dense_stream(seed: u64, steps: usize, rows: usize, d: usize) -> Vec<Step> {
    let mut rng = SplitMix64::new(seed);
    let drift: Vec<f32> = (0..rows * d).map(|_| rng.normal() as f32 * 0.5).collect();
    (0..steps)
        .map(|_| Step {
            rows: (0..rows).collect(),
            g: (0..rows * d)
                .map(|i| drift[i] + rng.normal() as f32)
                .collect(),
            h: (0..rows * d).map(|_| 0.1 + rng.next_f32() * 2.0).collect(),
        })
        .collect()
}

/// A sparse stream: row r appears with its own probability (from 1% to 90%)
/// and in bursts, so rows are updated at irregular intervals; steps where
/// no row appears happen too (the global step still advances).
pub fn sparse_stream(seed: u64, steps: usize, rows: usize, d: usize) -> Vec<Step> {
    let mut rng = SplitMix64::new(seed);
    let prob: Vec<f64> = (0..rows)
        .map(|r| 0.01 + 0.89 * (r as f64 / rows as f64).powi(2))
        .collect();
    let drift: Vec<f32> = (0..rows * d).map(|_| rng.normal() as f32 * 0.5).collect();
    (0..steps)
        .map(|t| {
            let burst = (t / 97) % 3 == 0;
            let mut step = Step {
                rows: Vec::new(),
                g: Vec::new(),
                h: Vec::new(),
            };
            // Some steps touch no row at all (another table's batch).
            let quiet = t % 37 == 5;
            for r in (0..rows).filter(|_| !quiet) {
                let p = if burst {
                    (prob[r] * 3.0).min(1.0)
                } else {
                    prob[r] * 0.5
                };
                if rng.next_f64() < p {
                    step.rows.push(r);
                    for i in 0..d {
                        step.g.push(drift[r * d + i] + rng.normal() as f32);
                        step.h.push(0.1 + rng.next_f32() * 2.0);
                    }
                }
            }
            step
        })
        .collect()
}

/// Random initial weights N(0, scale^2).
pub fn init_weights(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.normal() as f32 * scale).collect()
}

/// Run `stream` through `opt` on `table`.
pub fn run(opt: &mut Optimizer, table: &mut Table, stream: &[Step]) {
    for step in stream {
        opt.begin_step();
        table.update_rows(opt, &step.rows, &step.g, &step.h);
    }
}

/// `max_i |a_i - b_i| / max_i |b_i|`: the relative error of a whole table.
pub fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
    let diff = a.iter().zip(b).fold(0.0f64, |m, (&x, &y)| {
        m.max((f64::from(x) - f64::from(y)).abs())
    });
    diff / scale.max(f64::MIN_POSITIVE)
}

/// Worst per-element relative error `|a-b| / max(|b|, floor)`.
pub fn rel_err_elementwise(a: &[f32], b: &[f32], floor: f64) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs() / f64::from(y).abs().max(floor))
        .fold(0.0, f64::max)
}

pub fn cfg(name: OptimizerName, lr: f32) -> OptimizerConfig {
    OptimizerConfig {
        lr,
        ..OptimizerConfig::named(name)
    }
}

/// Every Group optimizer with its plain counterpart (Theorem 2).
pub const PAIRS: [(OptimizerName, OptimizerName); 6] = [
    (OptimizerName::GroupSgd, OptimizerName::Sgd),
    (OptimizerName::GroupMomentum, OptimizerName::Momentum),
    (OptimizerName::GroupAdagrad, OptimizerName::Adagrad),
    (OptimizerName::GroupAdam, OptimizerName::Adam),
    (OptimizerName::GroupAmsgrad, OptimizerName::Amsgrad),
    (OptimizerName::GroupAdahessian, OptimizerName::Adahessian),
];

/// A learning rate that moves weights by a fair amount over 1,000 steps
/// without diverging (momentum's effective step is lr / (1 - gamma)).
pub fn lr_for(name: OptimizerName) -> f32 {
    match name {
        OptimizerName::GroupSgd | OptimizerName::Sgd => 0.05,
        OptimizerName::GroupMomentum | OptimizerName::Momentum => 0.002,
        OptimizerName::GroupAdagrad | OptimizerName::Adagrad => 0.1,
        _ => 0.01,
    }
}
