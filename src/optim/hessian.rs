//! AdaHessian's estimate of the Hessian diagonal: the one training uses
//! (`train::step` calls [`estimate_diag`]) and the one the tests check
//! against analytic Hessians. The math and its error are in docs/math.md,
//! "AdaHessian's curvature".
//!
//! One Rademacher probe z per step (Hutchinson: `E[z ⊙ Hz] = diag(H)`), with
//! Hz from a forward difference of gradients, `Hz ≈ (g(x + h z) - g(x)) / h`:
//! the gradient g(x) of the step itself is reused, so the estimate costs one
//! extra forward-backward pass.

use crate::rng::{mix64, SplitMix64};

/// The finite-difference step h. The estimate's error is the truncation
/// (h/2) |T[z, z]| (T the third derivative) plus f32 rounding of about
/// 6e-8 (|g(x)| + |g(x + h z)|) / h; docs/math.md says why 1e-3.
pub const FD_STEP: f32 = 1e-3;

/// The probe generator of the step whose seed is `step_seed`: the probes
/// depend only on (run seed, step), so a run and its resume repeat exactly.
pub fn probe_rng(step_seed: u64) -> SplitMix64 {
    SplitMix64::new(mix64(step_seed ^ 0x4845_5353))
}

/// One-probe estimate of diag(H) at x by forward difference:
/// `out = z ⊙ (g(x + h z) - g(x)) / h` with z Rademacher, drawn from `rng`
/// one entry per coordinate in order, and h = [`FD_STEP`].
///
/// `g0` is g(x); `grad_at(dz, g1)` must write g(x + dz) to `g1` (the caller
/// owns x and applies the offset dz = h z however its storage needs).
/// `dz` and `g1` are reused buffers. Computed as `dz * (g1 - g0) / h^2`,
/// which is `z * (g1 - g0) / h` without a division per entry.
pub fn estimate_diag<E>(
    rng: &mut SplitMix64,
    g0: &[f32],
    mut grad_at: impl FnMut(&[f32], &mut Vec<f32>) -> Result<(), E>,
    dz: &mut Vec<f32>,
    g1: &mut Vec<f32>,
    out: &mut Vec<f32>,
) -> Result<(), E> {
    dz.clear();
    dz.extend((0..g0.len()).map(|_| rng.rademacher() * FD_STEP));
    grad_at(dz, g1)?;
    debug_assert_eq!(g1.len(), g0.len());
    let inv = 1.0 / (FD_STEP * FD_STEP);
    out.clear();
    out.extend(
        dz.iter()
            .zip(g1.iter().zip(g0))
            .map(|(dz, (g1, g0))| dz * (g1 - g0) * inv),
    );
    Ok(())
}
