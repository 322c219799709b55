//! Hutchinson's estimator of the Hessian diagonal, for AdaHessian.
//!
//! `diag(H) = E[z ⊙ Hz]` for z with i.i.d. Rademacher (+-1) entries: the
//! i-th entry of z ⊙ Hz is `H_ii + sum_{j != i} z_i z_j H_ij`, whose mean is
//! H_ii and whose variance is `sum_{j != i} H_ij^2`. Averaging `n` draws
//! gives standard error `sqrt(sum_{j != i} H_ij^2 / n)` per entry (exact
//! for a diagonal H).
//!
//! The Hessian-vector product may come from an exact routine
//! ([`hutchinson_diag`]) or from a central difference of gradients
//! ([`hvp_central`], [`hutchinson_diag_fd`]):
//! `Hv ≈ (∇f(x + r v) - ∇f(x - r v)) / (2r)`. Its error is
//! `r^2/6 * ∇³f[v, v, v]`-like truncation (zero for a quadratic) plus the
//! rounding of the gradients, about `u * |∇f| / r` with u the unit roundoff
//! of the gradient's arithmetic (6e-8 for f32). With |v|_inf = 1 (Rademacher)
//! r ≈ cbrt(3u) ≈ 5e-3 (times the scale of x) balances the two; for f32
//! gradients of O(1) this gives an absolute HVP error of a few 1e-5.
//! Computation in f64 (as here) makes the rounding term negligible.

use crate::rng::SplitMix64;

/// Central-difference Hessian-vector product:
/// `out = (grad(x + r v) - grad(x - r v)) / (2r)`.
/// `scratch` must hold 3 * x.len() values (no allocation).
pub fn hvp_central<F>(
    grad: &mut F,
    x: &[f64],
    v: &[f64],
    r: f64,
    scratch: &mut [f64],
    out: &mut [f64],
) where
    F: FnMut(&[f64], &mut [f64]),
{
    let n = x.len();
    let (xs, rest) = scratch.split_at_mut(n);
    let (gp, gm) = rest.split_at_mut(n);
    for ((xs, &x), &v) in xs.iter_mut().zip(x).zip(v) {
        *xs = x + r * v;
    }
    grad(xs, gp);
    for ((xs, &x), &v) in xs.iter_mut().zip(x).zip(v) {
        *xs = x - r * v;
    }
    grad(xs, &mut gm[..n]);
    for ((o, &p), &m) in out.iter_mut().zip(gp.iter()).zip(gm.iter()) {
        *o = (p - m) / (2.0 * r);
    }
}

/// Hutchinson estimate of diag(H) from an exact Hessian-vector product
/// `hvp(z, out)`, averaged over `samples` Rademacher draws, written to `out`.
/// `scratch` must hold 2 * out.len() values.
pub fn hutchinson_diag<F>(
    hvp: &mut F,
    samples: usize,
    rng: &mut SplitMix64,
    scratch: &mut [f64],
    out: &mut [f64],
) where
    F: FnMut(&[f64], &mut [f64]),
{
    let n = out.len();
    out.fill(0.0);
    let (z, hz) = scratch.split_at_mut(n);
    let hz = &mut hz[..n];
    for _ in 0..samples {
        z.iter_mut().for_each(|z| *z = f64::from(rng.rademacher()));
        hvp(z, hz);
        for ((o, &z), &hz) in out.iter_mut().zip(z.iter()).zip(hz.iter()) {
            *o += z * hz;
        }
    }
    let inv = 1.0 / samples.max(1) as f64;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// Hutchinson estimate of diag(H) at `x` with Hessian-vector products from
/// central differences of `grad` with step `r`.
/// `scratch` must hold 5 * x.len() values.
pub fn hutchinson_diag_fd<F>(
    grad: &mut F,
    x: &[f64],
    r: f64,
    samples: usize,
    rng: &mut SplitMix64,
    scratch: &mut [f64],
    out: &mut [f64],
) where
    F: FnMut(&[f64], &mut [f64]),
{
    let n = x.len();
    let (hv_scratch, rest) = scratch.split_at_mut(3 * n);
    let mut hvp = |z: &[f64], hz: &mut [f64]| hvp_central(grad, x, z, r, hv_scratch, hz);
    hutchinson_diag(&mut hvp, samples, rng, &mut rest[..2 * n], out);
}
