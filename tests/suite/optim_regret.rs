//! Regret (Corollary 1): online logistic regression with Group optimizers
//! and nonzero lambdas. Regret R(T) = sum_{t<=T} f_t(x_t) - sum_{t<=T}
//! f_t(x*_T), with x*_T the best fixed weights in hindsight: the minimizer of
//! sum_{t<=T} f_t(x) + Psi(x) (Psi = lambda1 |x|_1 + lambda21 sum_g sqrt(d)
//! |x_g|_2 + lambda2 |x|^2, added once as in the paper's Eq. 6), found by a
//! batch FISTA solver run to convergence. O(sqrt T) regret gives
//! R(4T)/R(T) ~ 2; linear regret gives ~4.

use ctr_run::optim::{LrDecay, Optimizer, OptimizerConfig, OptimizerName};
use ctr_run::rng::SplitMix64;

const GROUPS: usize = 6;
const D: usize = 4;
const P: usize = GROUPS * D;
const L1: f64 = 0.5;
const L21: f64 = 1.0;
const L2: f64 = 0.1;

/// A logistic stream: features N(0,1), labels from sparse true weights
/// (half the groups zero), so the data are noisy (not separable).
fn stream(seed: u64, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut rng = SplitMix64::new(seed);
    let truth: Vec<f64> = (0..P)
        .map(|i| {
            if i / D < GROUPS / 2 {
                rng.normal() * 0.7
            } else {
                0.0
            }
        })
        .collect();
    let mut xs = Vec::with_capacity(n * P);
    let mut ys = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f64> = (0..P).map(|_| rng.normal()).collect();
        let s: f64 = x.iter().zip(&truth).map(|(a, b)| a * b).sum();
        ys.push(f64::from(u8::from(
            rng.next_f64() < 1.0 / (1.0 + (-s).exp()),
        )));
        xs.extend(x);
    }
    (xs, ys)
}

/// log(1 + exp(-m)) for the margin m, stable.
fn logloss(score: f64, y: f64) -> f64 {
    let m = if y > 0.5 { score } else { -score };
    if m > 0.0 {
        (-m).exp().ln_1p()
    } else {
        -m + m.exp().ln_1p()
    }
}

fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Cumulative online loss after each step of the optimizer's run.
fn online_losses(cfg: &OptimizerConfig, xs: &[f64], ys: &[f64]) -> Vec<f64> {
    let mut opt = Optimizer::new(&cfg.check().unwrap());
    let mut w = vec![0.0f32; P];
    let mut state = vec![0.0f32; GROUPS * opt.state_len(D)];
    for r in 0..GROUPS {
        let sl = opt.state_len(D);
        opt.init_state(&w[r * D..(r + 1) * D], &mut state[r * sl..(r + 1) * sl]);
    }
    let mut last = vec![0u32; GROUPS];
    let mut g = vec![0.0f32; P];
    let mut cum = Vec::with_capacity(ys.len());
    let mut total = 0.0;
    for (t, &y) in ys.iter().enumerate() {
        let x = &xs[t * P..(t + 1) * P];
        let w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
        let s = dot(x, &w64);
        total += logloss(s, y);
        cum.push(total);
        let r = sigmoid(s) - y;
        g.iter_mut()
            .zip(x)
            .for_each(|(g, &xi)| *g = (r * xi) as f32);
        opt.begin_step();
        opt.update_dense(D, &mut w, &mut state, &mut last, &g, None);
    }
    cum
}

/// Prox of lambda1 |.|_1 + lambda21 sum_g sqrt(D) |.|_2 with step eta
/// (soft threshold then group shrink: exact for the sparse group lasso).
fn prox(v: &mut [f64], eta: f64) {
    for g in v.chunks_mut(D) {
        for x in g.iter_mut() {
            *x = x.signum() * (x.abs() - eta * L1).max(0.0);
        }
        let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
        let thr = eta * L21 * (D as f64).sqrt();
        let c = if norm <= thr { 0.0 } else { 1.0 - thr / norm };
        g.iter_mut().for_each(|x| *x *= c);
    }
}

/// sum_t f_t(x) + Psi(x) and its smooth part's gradient.
fn objective(xs: &[f64], ys: &[f64], w: &[f64]) -> f64 {
    let loss: f64 = ys
        .iter()
        .enumerate()
        .map(|(t, &y)| logloss(dot(&xs[t * P..(t + 1) * P], w), y))
        .sum();
    let l1: f64 = w.iter().map(|x| x.abs()).sum();
    let l21: f64 = w
        .chunks(D)
        .map(|g| (D as f64).sqrt() * g.iter().map(|x| x * x).sum::<f64>().sqrt())
        .sum();
    loss + L1 * l1 + L21 * l21 + L2 * dot(w, w)
}

/// lambda_max(X'X) by power iteration (upper side: +1% margin).
fn lambda_max(xs: &[f64], n: usize) -> f64 {
    let mut v = vec![1.0; P];
    let mut lam = 0.0;
    for _ in 0..100 {
        let mut u = vec![0.0; P];
        for t in 0..n {
            let x = &xs[t * P..(t + 1) * P];
            let s = dot(x, &v);
            u.iter_mut().zip(x).for_each(|(u, xi)| *u += s * xi);
        }
        lam = dot(&u, &u).sqrt();
        v = u.iter().map(|x| x / lam).collect();
    }
    lam * 1.01
}

/// The best fixed weights in hindsight: FISTA on the regularized objective
/// (step 1/L, L = lambda_max(X'X)/4 + 2 lambda2; momentum restarted if the
/// objective rises) until the iterates stop moving. Returns the weights and
/// the fixed-point residual |w - prox(w - eta grad)|_inf / eta.
fn batch_minimizer(xs: &[f64], ys: &[f64]) -> (Vec<f64>, f64) {
    let lip = 0.25 * lambda_max(xs, ys.len()) + 2.0 * L2;
    let eta = 1.0 / lip;
    let mut w = vec![0.0; P];
    let mut y = w.clone();
    let mut tk = 1.0f64;
    let mut grad = vec![0.0; P];
    let mut restarted = false;
    for _ in 0..20_000 {
        grad.iter_mut()
            .zip(&y)
            .for_each(|(g, yi)| *g = 2.0 * L2 * yi);
        for (t, &lab) in ys.iter().enumerate() {
            let x = &xs[t * P..(t + 1) * P];
            let r = sigmoid(dot(x, &y)) - lab;
            grad.iter_mut().zip(x).for_each(|(g, xi)| *g += r * xi);
        }
        let mut next: Vec<f64> = y.iter().zip(&grad).map(|(y, g)| y - eta * g).collect();
        prox(&mut next, eta);
        let (f_next, f_w) = (objective(xs, ys, &next), objective(xs, ys, &w));
        if f_next > f_w + 1e-15 * f_w.abs() {
            if restarted {
                break; // a plain prox step from w no longer descends: converged
            }
            y = w.clone();
            tk = 1.0;
            restarted = true;
            continue;
        }
        restarted = false;
        let moved = next
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let tn = (1.0 + (1.0 + 4.0 * tk * tk).sqrt()) / 2.0;
        y = next
            .iter()
            .zip(&w)
            .map(|(n, o)| n + (tk - 1.0) / tn * (n - o))
            .collect();
        w = next;
        tk = tn;
        if moved < 1e-11 {
            break;
        }
    }
    grad.iter_mut()
        .zip(&w)
        .for_each(|(g, wi)| *g = 2.0 * L2 * wi);
    for (t, &lab) in ys.iter().enumerate() {
        let x = &xs[t * P..(t + 1) * P];
        let r = sigmoid(dot(x, &w)) - lab;
        grad.iter_mut().zip(x).for_each(|(g, xi)| *g += r * xi);
    }
    let mut step: Vec<f64> = w.iter().zip(&grad).map(|(w, g)| w - eta * g).collect();
    prox(&mut step, eta);
    let residual = step
        .iter()
        .zip(&w)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / eta;
    (w, residual)
}

/// Regret at horizons T and 4T averaged over seeds.
fn regrets(cfg: &OptimizerConfig, t: usize, seeds: &[u64]) -> (f64, f64) {
    let (mut r1, mut r4) = (0.0, 0.0);
    for &seed in seeds {
        let (xs, ys) = stream(seed, 4 * t);
        let cum = online_losses(cfg, &xs, &ys);
        for (horizon, acc) in [(t, &mut r1), (4 * t, &mut r4)] {
            let (hx, hy) = (&xs[..horizon * P], &ys[..horizon]);
            let (best, residual) = batch_minimizer(hx, hy);
            // converged: the objective is (2 lambda2)-strongly convex, so a
            // prox-gradient residual r bounds the objective gap by about
            // r^2 / (4 lambda2) < 3e-8, negligible against regrets of ~100.
            assert!(
                residual < 1e-4,
                "batch solver did not converge: {residual:e}"
            );
            let comp: f64 = hy
                .iter()
                .enumerate()
                .map(|(k, &y)| logloss(dot(&hx[k * P..(k + 1) * P], &best), y))
                .sum();
            *acc += (cum[horizon - 1] - comp) / seeds.len() as f64;
        }
    }
    (r1, r4)
}

fn group_cfg(name: OptimizerName, lr: f32, decay: LrDecay) -> OptimizerConfig {
    OptimizerConfig {
        lr,
        lambda1: L1 as f32,
        lambda21: L21 as f32,
        lambda2: L2 as f32,
        lr_decay: decay,
        ..OptimizerConfig::named(name)
    }
}

const T: usize = 1000;
const SEEDS: [u64; 4] = [1, 2, 3, 4];

#[test]
fn group_adagrad_regret_grows_like_sqrt_t() {
    let cfg = group_cfg(OptimizerName::GroupAdagrad, 0.5, LrDecay::Constant);
    let (r1, r4) = regrets(&cfg, T, &SEEDS);
    println!(
        "group_adagrad: R({T}) = {r1:.2}, R({}) = {r4:.2}, ratio {:.3}",
        4 * T,
        r4 / r1
    );
    assert!(
        r1 > 0.0 && r4 > r1,
        "regret must be positive and growing: {r1} {r4}"
    );
    assert!(r4 / r1 < 2.2, "R(4T)/R(T) = {}", r4 / r1);
}

#[test]
fn group_adam_regret_constant_step_vs_inv_sqrt_step() {
    let constant = group_cfg(OptimizerName::GroupAdam, 0.05, LrDecay::Constant);
    let decayed = group_cfg(OptimizerName::GroupAdam, 0.5, LrDecay::InvSqrt);
    let (c1, c4) = regrets(&constant, T, &SEEDS);
    let (d1, d4) = regrets(&decayed, T, &SEEDS);
    println!(
        "group_adam constant alpha: R({T}) = {c1:.2}, R({}) = {c4:.2}, ratio {:.3}",
        4 * T,
        c4 / c1
    );
    println!(
        "group_adam alpha/sqrt(t):  R({T}) = {d1:.2}, R({}) = {d4:.2}, ratio {:.3}",
        4 * T,
        d4 / d1
    );
    assert!(c1 > 0.0 && d1 > 0.0);
    // On noisy data a constant step keeps x_t jittering around x*, so regret
    // grows almost linearly (ratio near 4); alpha/sqrt(t) restores the
    // O(sqrt T) behaviour of Corollary 1. Measured: 3.76 and 1.81.
    assert!(c4 / c1 > 3.0, "constant step ratio {}", c4 / c1);
    assert!(d4 / d1 < 2.2, "alpha/sqrt(t) ratio {}", d4 / d1);
}
