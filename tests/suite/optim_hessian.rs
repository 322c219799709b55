//! AdaHessian's Hessian-diagonal estimate, `optim::hessian::estimate_diag`
//! (the function training calls, docs/math.md "AdaHessian's curvature"),
//! against analytic Hessians: a quadratic and logistic regression.
//!
//! Each probe's estimate `z ⊙ (g(x + h z) - g(x)) / h` is compared with the
//! exact `z ⊙ Hz` within a bound computed here: f32 rounding (of x + h z
//! and of the gradients, divided by h) plus, for a non-quadratic, the
//! forward difference's truncation `(h/2) |T[z, z]|`. The average over many
//! probes is compared with diag(H) within 5 standard errors of the
//! Rademacher average, sqrt(sum_{j != i} H_ij^2 / n), plus that bound.

use ctr_run::optim::hessian::{estimate_diag, probe_rng, FD_STEP};
use ctr_run::rng::SplitMix64;

const N: usize = 8;
const SAMPLES: u64 = 20_000;
/// Unit roundoff of f32.
const U: f64 = f32::EPSILON as f64 / 2.0;

fn matvec(h: &[f64], v: &[f64], out: &mut [f64]) {
    let n = v.len();
    for i in 0..n {
        out[i] = (0..n).map(|j| h[i * n + j] * v[j]).sum();
    }
}

/// Per-entry 5-sigma bound of the Hutchinson average.
fn sigma5(h: &[f64], i: usize, samples: u64) -> f64 {
    let off: f64 = (0..N)
        .filter(|&j| j != i)
        .map(|j| h[i * N + j].powi(2))
        .sum();
    5.0 * (off / samples as f64).sqrt()
}

/// A random symmetric positive-definite matrix B B' / n + I/2.
fn spd(seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let b: Vec<f64> = (0..N * N).map(|_| rng.normal()).collect();
    let mut a = vec![0.0; N * N];
    for i in 0..N {
        for j in 0..N {
            a[i * N + j] = (0..N).map(|k| b[i * N + k] * b[j * N + k]).sum::<f64>() / N as f64;
        }
        a[i * N + i] += 0.5;
    }
    a
}

/// What one probe gives and what it should give.
struct Probe {
    est: Vec<f32>,
    /// Exact z ⊙ Hz, H at x.
    exact: Vec<f64>,
    /// Per-entry bound on |est - exact|.
    bound: Vec<f64>,
}

/// Runs `estimate_diag` at the f32 point `x` with a gradient computed in f64
/// and rounded to f32 (as a model's f32 gradient, without its accumulation
/// error), and the error bound: rounding `(u sum_j |Hmax_ij| |x_j + dz_j| +
/// u (|g0_i| + |g1_i|)) / h + 5u |est_i|` plus `truncation(z)`, the bound on
/// `(h/2) |T_i[z, z]|` (zero for a quadratic).
fn probe(
    rng: &mut SplitMix64,
    x: &[f32],
    grad: &dyn Fn(&[f64], &mut [f64]),
    hessian: &[f64],
    h_max: &[f64],
    truncation: &dyn Fn(usize) -> f64,
) -> Probe {
    let grad32 = |x: &[f32]| -> Vec<f32> {
        let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let mut g = vec![0.0; N];
        grad(&x, &mut g);
        g.iter().map(|&v| v as f32).collect()
    };
    let g0 = grad32(x);
    let (mut dz, mut g1, mut est) = (Vec::new(), Vec::new(), Vec::new());
    let mut xp = vec![0.0f32; N];
    estimate_diag::<()>(
        rng,
        &g0,
        |dz, g1| {
            for ((p, &x), &d) in xp.iter_mut().zip(x).zip(dz) {
                *p = x + d;
            }
            *g1 = grad32(&xp);
            Ok(())
        },
        &mut dz,
        &mut g1,
        &mut est,
    )
    .unwrap();
    let h = f64::from(FD_STEP);
    let z: Vec<f64> = dz.iter().map(|&d| f64::from(d) / h).collect();
    assert!(z.iter().all(|&z| z == 1.0 || z == -1.0), "probe {z:?}");
    let mut hz = vec![0.0; N];
    matvec(hessian, &z, &mut hz);
    let exact: Vec<f64> = (0..N).map(|i| z[i] * hz[i]).collect();
    let bound = (0..N)
        .map(|i| {
            let shift: f64 = (0..N)
                .map(|j| h_max[i * N + j].abs() * f64::from(xp[j]).abs())
                .sum();
            let grads = f64::from(g0[i]).abs() + f64::from(g1[i]).abs();
            U * (shift + grads) / h + 5.0 * U * f64::from(est[i]).abs() + truncation(i)
        })
        .collect();
    Probe { est, exact, bound }
}

/// Checks every probe against its bound and the average against diag(H);
/// returns the largest per-probe error over its bound.
fn check(probes: impl Iterator<Item = Probe>, hessian: &[f64], what: &str) -> f64 {
    let mut sum = [0.0f64; N];
    let mut worst_bound = [0.0f64; N];
    let mut worst_ratio = 0.0f64;
    for (k, p) in probes.enumerate() {
        for i in 0..N {
            let err = (f64::from(p.est[i]) - p.exact[i]).abs();
            assert!(
                err <= p.bound[i],
                "{what}, probe {k}, entry {i}: estimate {} vs exact {} (bound {:.3e})",
                p.est[i],
                p.exact[i],
                p.bound[i]
            );
            worst_ratio = worst_ratio.max(err / p.bound[i]);
            worst_bound[i] = worst_bound[i].max(p.bound[i]);
            sum[i] += f64::from(p.est[i]);
        }
    }
    for i in 0..N {
        let mean = sum[i] / SAMPLES as f64;
        let tol = sigma5(hessian, i, SAMPLES) + worst_bound[i];
        println!(
            "{what} H_{i}{i} = {:.5}: mean estimate {mean:.5} (tol {tol:.4}, per-probe bound {:.2e})",
            hessian[i * N + i],
            worst_bound[i]
        );
        assert!(
            (mean - hessian[i * N + i]).abs() <= tol,
            "{what}, entry {i}: mean {mean} vs H_ii {}",
            hessian[i * N + i]
        );
    }
    worst_ratio
}

#[test]
fn estimate_is_exact_up_to_rounding_on_a_quadratic() {
    let a = spd(1);
    let b: Vec<f64> = (0..N).map(|i| i as f64 * 0.1 - 0.3).collect();
    // f(x) = x'Ax/2 + b.x, grad = Ax + b, H = A.
    let grad = |x: &[f64], out: &mut [f64]| {
        matvec(&a, x, out);
        out.iter_mut().zip(&b).for_each(|(o, b)| *o += b);
    };
    let x: Vec<f32> = (0..N).map(|i| (i as f32).sin()).collect();
    let mut rng = SplitMix64::new(9);
    let probes = (0..SAMPLES).map(|_| probe(&mut rng, &x, &grad, &a, &a, &|_| 0.0));
    let worst = check(probes, &a, "quadratic");
    println!("quadratic: largest error / rounding bound {worst:.3}");
}

/// Logistic regression on random data: mean log-loss, its gradient and its
/// analytic Hessian (1/n) sum p(1-p) x x'.
struct Logistic {
    xs: Vec<f64>,
    ys: Vec<f64>,
    n: usize,
}

impl Logistic {
    fn new(seed: u64, n: usize) -> Self {
        let mut rng = SplitMix64::new(seed);
        let xs: Vec<f64> = (0..n * N).map(|_| rng.normal()).collect();
        let ys: Vec<f64> = (0..n)
            .map(|_| f64::from(u8::from(rng.next_f64() < 0.4)))
            .collect();
        Self { xs, ys, n }
    }
    fn row(&self, k: usize) -> &[f64] {
        &self.xs[k * N..(k + 1) * N]
    }
    fn p(&self, k: usize, w: &[f64]) -> f64 {
        let s: f64 = self.row(k).iter().zip(w).map(|(x, w)| x * w).sum();
        1.0 / (1.0 + (-s).exp())
    }
    fn grad(&self, w: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for k in 0..self.n {
            let r = self.p(k, w) - self.ys[k];
            out.iter_mut()
                .zip(self.row(k))
                .for_each(|(o, xj)| *o += r * xj / self.n as f64);
        }
    }
    /// (1/n) sum p(1-p) x x' at w; with `p(1-p)` replaced by its maximum 1/4
    /// and x x' by |x x'| when `w` is None (a bound on |H_ij| anywhere).
    fn hessian(&self, w: Option<&[f64]>) -> Vec<f64> {
        let mut h = vec![0.0; N * N];
        for k in 0..self.n {
            let s = w.map_or(0.25, |w| self.p(k, w) * (1.0 - self.p(k, w)));
            let x = self.row(k);
            for i in 0..N {
                for j in 0..N {
                    let xx = if w.is_some() {
                        x[i] * x[j]
                    } else {
                        (x[i] * x[j]).abs()
                    };
                    h[i * N + j] += s * xx / self.n as f64;
                }
            }
        }
        h
    }
    /// Bound on (h/2) |T_i[z, z]| for |z|_inf = 1 anywhere on the segment
    /// (Taylor with Lagrange remainder): T = (1/n) sum σ''(s) x x x with
    /// |σ''| = |p(1-p)(1-2p)| <= 1/(6 sqrt 3).
    fn truncation(&self, i: usize) -> f64 {
        let s3 = 1.0 / (6.0 * 3f64.sqrt());
        let t: f64 = (0..self.n)
            .map(|k| {
                let x = self.row(k);
                s3 * x[i].abs() * x.iter().map(|v| v.abs()).sum::<f64>().powi(2)
            })
            .sum::<f64>()
            / self.n as f64;
        // (1 + 1e-6): the realised offset x + dz - x differs from h z by
        // f32 rounding, |dz + delta| <= h (1 + 1e-6) here.
        f64::from(FD_STEP) / 2.0 * t * (1.0 + 1e-6)
    }
}

#[test]
fn estimate_is_within_its_forward_difference_bound_on_logistic_regression() {
    let lr = Logistic::new(4, 300);
    let w: Vec<f32> = (0..N).map(|i| 0.3 * (i as f32).cos()).collect();
    let w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
    let h = lr.hessian(Some(&w64));
    let h_max = lr.hessian(None);
    let grad = |x: &[f64], out: &mut [f64]| lr.grad(x, out);
    let truncation = |i| lr.truncation(i);
    let mut rng = SplitMix64::new(5);
    let probes = (0..SAMPLES).map(|_| probe(&mut rng, &w, &grad, &h, &h_max, &truncation));
    let worst = check(probes, &h, "logistic");
    println!("logistic: largest error / bound {worst:.3}");
    // The bound is not vacuous: the forward difference's O(h) error is seen.
    assert!(worst > 0.01, "{worst}");
}

/// The probes depend only on the step seed (a run and its resume repeat).
#[test]
fn probes_repeat_for_a_step_seed_and_change_with_it() {
    let g0 = vec![0.0f32; 64];
    let draw = |seed| {
        let (mut dz, mut g1, mut out) = (Vec::new(), Vec::new(), Vec::new());
        estimate_diag::<()>(
            &mut probe_rng(seed),
            &g0,
            |dz, g1| {
                *g1 = dz.to_vec();
                Ok(())
            },
            &mut dz,
            &mut g1,
            &mut out,
        )
        .unwrap();
        dz
    };
    assert_eq!(draw(11), draw(11));
    assert_ne!(draw(11), draw(12));
    assert!(draw(11).iter().all(|&d| d == FD_STEP || d == -FD_STEP));
}
