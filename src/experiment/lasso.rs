//! The Lasso support-recovery study of the ProxGen paper (Section 5, Study 1,
//! Figure 3): ProxGen vs Prox-SGD (and the subgradient method) on a synthetic
//! sparse linear regression, from zero and from random initialization.
//!
//! The paper gives no sizes for this study (its appendix is not in our copy),
//! so the defaults are ours: n = 500 samples, p = 100 features, 10 non-zero
//! true coefficients with magnitudes uniform in [1, 2] and random signs,
//! Gaussian design, noise sd 0.1, loss `||y - X w||^2 / (2n)`,
//! lambda = 0.1, minibatches of 50, alpha = 0.01, 3,000 steps. Every method
//! runs through `Optimizer::new` with the features as p groups of size 1, on
//! the same minibatch sequence.
//!
//! Besides the traces, the study solves the Lasso to high accuracy with
//! cyclic coordinate descent (f64), an independent reference for where the
//! stochastic methods should end.

use std::io::Write;

use crate::optim::{Optimizer, OptimizerConfig, OptimizerConfigError, OptimizerName, Regularizer};
use crate::rng::SplitMix64;

/// Sizes and hyperparameters of the study.
#[derive(Clone, Debug, PartialEq)]
pub struct LassoConfig {
    pub n_samples: usize,
    pub n_features: usize,
    pub n_nonzero: usize,
    pub noise_std: f64,
    pub lambda: f32,
    /// Step size of ProxGen and the subgradient method; Prox-SGD's
    /// interpolation weight.
    pub lr: f32,
    pub iterations: usize,
    /// Minibatch size (sampled with replacement); 0 = full batch.
    pub batch_size: usize,
    /// Standard deviation of the random initialization.
    pub init_std: f64,
    /// Record a trace point every this many steps (and at the last one).
    pub record_every: usize,
    pub seed: u64,
}

impl Default for LassoConfig {
    fn default() -> Self {
        Self {
            n_samples: 500,
            n_features: 100,
            n_nonzero: 10,
            noise_std: 0.1,
            lambda: 0.1,
            lr: 0.01,
            iterations: 3000,
            batch_size: 50,
            init_std: 1.0,
            record_every: 1,
            seed: 42,
        }
    }
}

/// Where a run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LassoInit {
    Zero,
    Random,
}

impl LassoInit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::Random => "random",
        }
    }
}

/// The state of one run after `iter` steps (0 = the initialization).
#[derive(Clone, Debug, PartialEq)]
pub struct LassoPoint {
    pub iter: usize,
    /// `||y - X w||^2 / (2n)` on all samples.
    pub loss: f64,
    /// `loss + lambda * ||w||_1`.
    pub objective: f64,
    /// Number of exactly non-zero coefficients.
    pub nnz: usize,
    /// Non-zero coefficients on the true support.
    pub true_positives: usize,
    /// Non-zero coefficients off the true support.
    pub false_positives: usize,
    /// The non-zero pattern equals the true support exactly.
    pub exact_support: bool,
    /// Largest |w_j| off the true support (0 when recovered exactly).
    pub max_abs_off_support: f64,
    /// `||w - w_lasso||_2` to the coordinate-descent Lasso solution.
    pub dist_to_lasso: f64,
}

/// One method from one initialization.
#[derive(Clone, Debug, PartialEq)]
pub struct LassoRun {
    pub method: OptimizerName,
    pub init: LassoInit,
    pub points: Vec<LassoPoint>,
    /// The coefficients after the last step.
    pub final_w: Vec<f32>,
}

impl LassoRun {
    pub fn last(&self) -> &LassoPoint {
        self.points
            .last()
            .expect("a run records at least its initialization")
    }
}

/// Everything the study produced.
#[derive(Clone, Debug, PartialEq)]
pub struct LassoTrace {
    pub config: LassoConfig,
    /// The true coefficients.
    pub truth: Vec<f64>,
    /// The Lasso minimizer (coordinate descent to 1e-12).
    pub lasso_solution: Vec<f64>,
    /// `loss + lambda*||w||_1` at `lasso_solution`: the optimum.
    pub lasso_objective: f64,
    pub runs: Vec<LassoRun>,
}

impl LassoTrace {
    pub fn run(&self, method: OptimizerName, init: LassoInit) -> Option<&LassoRun> {
        self.runs
            .iter()
            .find(|r| r.method == method && r.init == init)
    }

    /// One row per (method, init, recorded step).
    pub fn write_csv<W: Write>(&self, out: W) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "method",
            "init",
            "iter",
            "loss",
            "objective",
            "nnz",
            "true_positives",
            "false_positives",
            "exact_support",
            "max_abs_off_support",
            "dist_to_lasso",
        ])?;
        for run in &self.runs {
            for p in &run.points {
                w.write_record([
                    run.method.as_str().to_string(),
                    run.init.as_str().to_string(),
                    p.iter.to_string(),
                    format!("{:.9e}", p.loss),
                    format!("{:.9e}", p.objective),
                    p.nnz.to_string(),
                    p.true_positives.to_string(),
                    p.false_positives.to_string(),
                    (p.exact_support as u8).to_string(),
                    format!("{:.9e}", p.max_abs_off_support),
                    format!("{:.9e}", p.dist_to_lasso),
                ])?;
            }
        }
        w.flush()?;
        Ok(())
    }

    /// Final coefficients: one row per feature with the truth, the Lasso
    /// solution and every run's estimate (the paper's Figure 3 plots these).
    pub fn write_coefficients_csv<W: Write>(&self, out: W) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let mut header = vec!["feature".to_string(), "truth".into(), "lasso".into()];
        header.extend(
            self.runs
                .iter()
                .map(|r| format!("{}_{}", r.method, r.init.as_str())),
        );
        w.write_record(&header)?;
        for j in 0..self.truth.len() {
            let mut row = vec![
                j.to_string(),
                format!("{:.9e}", self.truth[j]),
                format!("{:.9e}", self.lasso_solution[j]),
            ];
            row.extend(self.runs.iter().map(|r| format!("{:.9e}", r.final_w[j])));
            w.write_record(&row)?;
        }
        w.flush()?;
        Ok(())
    }
}

/// The methods the study compares, all with the l1 penalty.
pub const LASSO_METHODS: [OptimizerName; 3] = [
    OptimizerName::ProxAdam,
    OptimizerName::ProxSgd,
    OptimizerName::Subgradient,
];

/// The synthetic problem: design (row-major n x p), targets, truth.
struct Problem {
    n: usize,
    p: usize,
    x: Vec<f64>,
    y: Vec<f64>,
    truth: Vec<f64>,
}

impl Problem {
    fn generate(cfg: &LassoConfig) -> Self {
        let (n, p) = (cfg.n_samples, cfg.n_features);
        let mut rng = SplitMix64::for_key(cfg.seed, 1);
        // Support: the first k of a random permutation (Fisher-Yates).
        let mut idx: Vec<usize> = (0..p).collect();
        for i in (1..p).rev() {
            idx.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut truth = vec![0.0; p];
        for &j in idx.iter().take(cfg.n_nonzero) {
            let mag = 1.0 + rng.next_f64();
            truth[j] = if rng.next_u64() >> 63 == 0 { mag } else { -mag };
        }
        let x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
        let y = (0..n)
            .map(|i| dot(&x[i * p..(i + 1) * p], &truth) + cfg.noise_std * rng.normal())
            .collect();
        Self { n, p, x, y, truth }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }

    fn loss(&self, w: &[f64]) -> f64 {
        (0..self.n)
            .map(|i| (self.y[i] - dot(self.row(i), w)).powi(2))
            .sum::<f64>()
            / (2.0 * self.n as f64)
    }

    /// Cyclic coordinate descent for `loss(w) + lambda*||w||_1`.
    fn lasso_cd(&self, lambda: f64) -> Vec<f64> {
        let (n, p) = (self.n, self.p);
        let col_sq: Vec<f64> = (0..p)
            .map(|j| (0..n).map(|i| self.x[i * p + j].powi(2)).sum::<f64>() / n as f64)
            .collect();
        let mut w = vec![0.0; p];
        let mut resid = self.y.clone(); // y - X w
        for _ in 0..100_000 {
            let mut max_change: f64 = 0.0;
            for j in 0..p {
                let rho = (0..n).map(|i| self.x[i * p + j] * resid[i]).sum::<f64>() / n as f64
                    + col_sq[j] * w[j];
                let new = crate::optim::prox::maps::prox_l1(rho, lambda) / col_sq[j];
                let delta = new - w[j];
                if delta != 0.0 {
                    for (i, r) in resid.iter_mut().enumerate() {
                        *r -= self.x[i * p + j] * delta;
                    }
                    w[j] = new;
                    max_change = max_change.max(delta.abs());
                }
            }
            if max_change < 1e-13 {
                break;
            }
        }
        w
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Run every method of [`LASSO_METHODS`] from zero and from random
/// initialization and record their traces.
pub fn lasso_study(cfg: &LassoConfig) -> Result<LassoTrace, OptimizerConfigError> {
    if cfg.n_samples == 0 || cfg.n_features == 0 || cfg.n_nonzero > cfg.n_features {
        return Err(OptimizerConfigError::Invalid {
            key: "lasso",
            reason: format!(
                "need n_samples > 0, n_features > 0 and n_nonzero <= n_features, got {}, {}, {}",
                cfg.n_samples, cfg.n_features, cfg.n_nonzero
            ),
        });
    }
    let problem = Problem::generate(cfg);
    let lasso_solution = problem.lasso_cd(cfg.lambda as f64);
    let mut init_rng = SplitMix64::for_key(cfg.seed, 2);
    let random_init: Vec<f32> = (0..problem.p)
        .map(|_| (cfg.init_std * init_rng.normal()) as f32)
        .collect();
    let mut runs = Vec::new();
    for method in LASSO_METHODS {
        let opt_cfg = OptimizerConfig {
            name: method,
            lr: cfg.lr,
            regularizer: Regularizer::L1,
            lambda: cfg.lambda,
            ..OptimizerConfig::named(method)
        };
        for init in [LassoInit::Zero, LassoInit::Random] {
            let w0 = match init {
                LassoInit::Zero => vec![0.0; problem.p],
                LassoInit::Random => random_init.clone(),
            };
            runs.push(run_one(cfg, &problem, &lasso_solution, &opt_cfg, init, w0)?);
        }
    }
    let lasso_objective = problem.loss(&lasso_solution)
        + cfg.lambda as f64 * lasso_solution.iter().map(|v| v.abs()).sum::<f64>();
    Ok(LassoTrace {
        config: cfg.clone(),
        truth: problem.truth,
        lasso_solution,
        lasso_objective,
        runs,
    })
}

fn run_one(
    cfg: &LassoConfig,
    problem: &Problem,
    lasso: &[f64],
    opt_cfg: &OptimizerConfig,
    init: LassoInit,
    mut w: Vec<f32>,
) -> Result<LassoRun, OptimizerConfigError> {
    let p = problem.p;
    let mut opt = Optimizer::new(&opt_cfg.check()?);
    let mut state = vec![0.0f32; p * opt.state_len(1)];
    for j in 0..p {
        opt.init_state(
            &w[j..j + 1],
            &mut state[j * opt.state_len(1)..(j + 1) * opt.state_len(1)],
        );
    }
    let mut last = vec![0u32; p];
    let mut grad = vec![0.0f32; p];
    let mut grad64 = vec![0.0f64; p];
    let mut w64 = vec![0.0f64; p];
    // Same minibatch sequence for every run.
    let mut batches = SplitMix64::for_key(cfg.seed, 3);
    let mut points = Vec::new();
    let record_every = cfg.record_every.max(1);
    let record = |iter: usize, w: &[f32], w64: &mut Vec<f64>, points: &mut Vec<LassoPoint>| {
        for (a, &b) in w64.iter_mut().zip(w) {
            *a = b as f64;
        }
        points.push(measure(iter, problem, lasso, cfg.lambda as f64, w64));
    };
    record(0, &w, &mut w64, &mut points);
    for it in 1..=cfg.iterations {
        for (a, &b) in w64.iter_mut().zip(&w) {
            *a = b as f64;
        }
        grad64.fill(0.0);
        let b = if cfg.batch_size == 0 {
            problem.n
        } else {
            cfg.batch_size
        };
        for k in 0..b {
            let i = if cfg.batch_size == 0 {
                k
            } else {
                batches.below(problem.n as u64) as usize
            };
            let row = problem.row(i);
            let r = dot(row, &w64) - problem.y[i];
            for (g, &x) in grad64.iter_mut().zip(row) {
                *g += r * x;
            }
        }
        for (g, &g64) in grad.iter_mut().zip(&grad64) {
            *g = (g64 / b as f64) as f32;
        }
        opt.begin_step();
        opt.update_dense(1, &mut w, &mut state, &mut last, &grad, None);
        if it % record_every == 0 || it == cfg.iterations {
            record(it, &w, &mut w64, &mut points);
        }
    }
    Ok(LassoRun {
        method: opt_cfg.name,
        init,
        points,
        final_w: w,
    })
}

fn measure(iter: usize, problem: &Problem, lasso: &[f64], lambda: f64, w: &[f64]) -> LassoPoint {
    let loss = problem.loss(w);
    let l1: f64 = w.iter().map(|v| v.abs()).sum();
    let (mut tp, mut fp, mut max_off) = (0, 0, 0.0f64);
    for (j, &v) in w.iter().enumerate() {
        let on = problem.truth[j] != 0.0;
        if v != 0.0 {
            if on {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        if !on {
            max_off = max_off.max(v.abs());
        }
    }
    let k = problem.truth.iter().filter(|&&t| t != 0.0).count();
    let dist = w
        .iter()
        .zip(lasso)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    LassoPoint {
        iter,
        loss,
        objective: loss + lambda * l1,
        nnz: tp + fp,
        true_positives: tp,
        false_positives: fp,
        exact_support: tp == k && fp == 0,
        max_abs_off_support: max_off,
        dist_to_lasso: dist,
    }
}
