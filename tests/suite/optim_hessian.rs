//! AdaHessian's Hessian-diagonal estimate (Hutchinson, `optim::hessian`)
//! against analytic diagonals: a quadratic and logistic regression. The
//! tolerance of each entry is 5 standard errors of the Rademacher average,
//! sqrt(sum_{j != i} H_ij^2 / n) computed from the analytic H, plus the
//! finite-difference error where it applies.

use ctr_run::optim::hessian::{hutchinson_diag, hutchinson_diag_fd, hvp_central};
use ctr_run::rng::SplitMix64;

const N: usize = 8;
const SAMPLES: usize = 20_000;

fn matvec(h: &[f64], v: &[f64], out: &mut [f64]) {
    let n = v.len();
    for i in 0..n {
        out[i] = (0..n).map(|j| h[i * n + j] * v[j]).sum();
    }
}

/// Per-entry 5-sigma bound of the Hutchinson average.
fn bound(h: &[f64], n: usize, i: usize, samples: usize) -> f64 {
    let off: f64 = (0..n)
        .filter(|&j| j != i)
        .map(|j| h[i * n + j].powi(2))
        .sum();
    5.0 * (off / samples as f64).sqrt()
}

/// A random symmetric positive-definite matrix B B' / n + I/2.
fn spd(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let b: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum::<f64>() / n as f64;
        }
        a[i * n + i] += 0.5;
    }
    a
}

#[test]
fn hutchinson_matches_quadratic_diagonal_exact_and_finite_difference_hvp() {
    let a = spd(1, N);
    let bvec: Vec<f64> = (0..N).map(|i| i as f64 * 0.1 - 0.3).collect();
    // f(x) = x'Ax/2 + b.x, grad = Ax + b, H = A.
    let mut grad = |x: &[f64], out: &mut [f64]| {
        matvec(&a, x, out);
        out.iter_mut().zip(&bvec).for_each(|(o, b)| *o += b);
    };
    let mut hvp = |z: &[f64], out: &mut [f64]| matvec(&a, z, out);
    let x0: Vec<f64> = (0..N).map(|i| (i as f64).sin()).collect();
    let mut exact = vec![0.0; N];
    let mut fd = vec![0.0; N];
    let mut scratch = vec![0.0; 5 * N];
    hutchinson_diag(
        &mut hvp,
        SAMPLES,
        &mut SplitMix64::new(9),
        &mut scratch,
        &mut exact,
    );
    hutchinson_diag_fd(
        &mut grad,
        &x0,
        1e-3,
        SAMPLES,
        &mut SplitMix64::new(9),
        &mut scratch,
        &mut fd,
    );
    for i in 0..N {
        let tol = bound(&a, N, i, SAMPLES);
        println!("quadratic H_{i}{i} = {:.5}: exact-HVP estimate {:.5}, FD estimate {:.5} (tol {tol:.4})", a[i * N + i], exact[i], fd[i]);
        assert!((exact[i] - a[i * N + i]).abs() <= tol, "entry {i}");
        // A central difference is exact on a quadratic up to rounding.
        assert!(
            (fd[i] - exact[i]).abs() <= 1e-9,
            "entry {i}: fd {} vs exact {}",
            fd[i],
            exact[i]
        );
    }
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
    fn p(&self, k: usize, w: &[f64]) -> f64 {
        let s: f64 = (0..N).map(|j| self.xs[k * N + j] * w[j]).sum();
        1.0 / (1.0 + (-s).exp())
    }
    fn grad(&self, w: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for k in 0..self.n {
            let r = self.p(k, w) - self.ys[k];
            let x = &self.xs[k * N..(k + 1) * N];
            out.iter_mut()
                .zip(x)
                .for_each(|(o, xj)| *o += r * xj / self.n as f64);
        }
    }
    /// The same gradient computed in f32 arithmetic (as a model would).
    fn grad_f32(&self, w: &[f64], out: &mut [f64]) {
        let mut acc = [0.0f32; N];
        for k in 0..self.n {
            let s: f32 = (0..N)
                .map(|j| self.xs[k * N + j] as f32 * w[j] as f32)
                .sum();
            let r = 1.0 / (1.0 + (-s).exp()) - self.ys[k] as f32;
            let x = &self.xs[k * N..(k + 1) * N];
            acc.iter_mut()
                .zip(x)
                .for_each(|(a, &xj)| *a += r * xj as f32 / self.n as f32);
        }
        out.iter_mut().zip(acc).for_each(|(o, a)| *o = f64::from(a));
    }
    fn hessian(&self, w: &[f64]) -> Vec<f64> {
        let mut h = vec![0.0; N * N];
        for k in 0..self.n {
            let p = self.p(k, w);
            for i in 0..N {
                for j in 0..N {
                    h[i * N + j] +=
                        p * (1.0 - p) * self.xs[k * N + i] * self.xs[k * N + j] / self.n as f64;
                }
            }
        }
        h
    }
}

#[test]
fn hutchinson_matches_logistic_regression_diagonal() {
    let lr = Logistic::new(4, 300);
    let w: Vec<f64> = (0..N).map(|i| 0.3 * (i as f64).cos()).collect();
    let h = lr.hessian(&w);
    let mut est = vec![0.0; N];
    let mut scratch = vec![0.0; 5 * N];
    let mut grad = |x: &[f64], out: &mut [f64]| lr.grad(x, out);
    hutchinson_diag_fd(
        &mut grad,
        &w,
        1e-4,
        SAMPLES / 4,
        &mut SplitMix64::new(5),
        &mut scratch,
        &mut est,
    );
    for i in 0..N {
        // + 1e-6 for the central difference (r^2 f''' ~ 1e-9 here).
        let tol = bound(&h, N, i, SAMPLES / 4) + 1e-6;
        println!(
            "logistic H_{i}{i} = {:.5}: estimate {:.5} (tol {tol:.4})",
            h[i * N + i],
            est[i]
        );
        assert!(
            (est[i] - h[i * N + i]).abs() <= tol,
            "entry {i}: {} vs {}",
            est[i],
            h[i * N + i]
        );
    }
}

/// The finite-difference HVP itself, with f64 gradients (r = 1e-4: error
/// <= 1e-7 relative) and with f32 gradients (r = 5e-3, the documented
/// balance of truncation and f32 rounding: error <= 1e-3 of |Hv|).
#[test]
fn finite_difference_hvp_matches_analytic_logistic_hvp() {
    let lr = Logistic::new(6, 200);
    let w: Vec<f64> = (0..N).map(|i| 0.2 * i as f64 - 0.5).collect();
    let h = lr.hessian(&w);
    let mut rng = SplitMix64::new(8);
    let v: Vec<f64> = (0..N).map(|_| f64::from(rng.rademacher())).collect();
    let mut want = vec![0.0; N];
    matvec(&h, &v, &mut want);
    let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut scratch = vec![0.0; 3 * N];
    let mut got = vec![0.0; N];
    hvp_central(
        &mut |x: &[f64], o: &mut [f64]| lr.grad(x, o),
        &w,
        &v,
        1e-4,
        &mut scratch,
        &mut got,
    );
    let err64 = got
        .iter()
        .zip(&want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale;
    hvp_central(
        &mut |x: &[f64], o: &mut [f64]| lr.grad_f32(x, o),
        &w,
        &v,
        5e-3,
        &mut scratch,
        &mut got,
    );
    let err32 = got
        .iter()
        .zip(&want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale;
    println!("FD HVP relative error: f64 gradients {err64:.2e}, f32 gradients {err32:.2e}");
    assert!(err64 <= 1e-7, "{err64}");
    assert!(err32 <= 1e-3, "{err32}");
}
