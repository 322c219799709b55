//! Proximal maps of the ProxGen penalties under a diagonal preconditioner.
//!
//! ProxGen's step (paper eq. 2) for one coordinate with preconditioner entry
//! `c = C + delta` is `argmin_x lambda*R(x) + c/(2*alpha) * (x - z)^2`, which
//! is the classic scalar prox `argmin_x tau*R(x) + (x - z)^2 / 2` with the
//! per-coordinate threshold `tau = alpha*lambda/c`. Every elementwise map
//! below therefore takes `(z, tau)`; the optimizers compute `tau`.
//!
//! The maps compute in f64: the l_q closed forms go through `acos` / `acosh`
//! of values near 1 at the threshold, where f32 would lose most digits.
//!
//! The group l2,1 norm couples the coordinates and the diagonal
//! preconditioner makes the shrinkage anisotropic, so there is no closed
//! form; [`group_radius`] solves the 1-D equation for the norm of the result
//! (see its documentation for the derivation).

use crate::optim::Regularizer;

/// Soft threshold: `argmin_x tau*|x| + (x - z)^2/2 = sign(z) * max(|z| - tau, 0)`.
#[inline]
pub fn prox_l1(z: f64, tau: f64) -> f64 {
    let a = z.abs() - tau;
    if a > 0.0 {
        a.copysign(z)
    } else {
        0.0
    }
}

/// Hard threshold: `argmin_x tau*[x != 0] + (x - z)^2/2`.
///
/// Keeping `z` costs `tau`, zeroing it costs `z^2/2`: keep iff
/// `|z| > sqrt(2*tau)` (paper eq. 4). At equality both are minimizers; we
/// return 0, the sparser one.
#[inline]
pub fn prox_l0(z: f64, tau: f64) -> f64 {
    if z * z > 2.0 * tau {
        z
    } else {
        0.0
    }
}

/// Half thresholding: `argmin_x tau*|x|^(1/2) + (x - z)^2/2`.
///
/// Closed form of Xu et al. (2012), whose objective `(x-z)^2 + l*|x|^(1/2)`
/// is ours with `l = 2*tau`: zero iff `|z| <= (3/2) * tau^(2/3)`, else
/// `x = (2/3) z (1 + cos(2*pi/3 - (2/3) phi))` with
/// `phi = acos((tau/4) * (|z|/3)^(-3/2))`. One Newton step on the stationarity
/// equation `x + tau/(2 sqrt(x)) = |z|` polishes the last bits.
pub fn prox_l_half(z: f64, tau: f64) -> f64 {
    if tau <= 0.0 {
        return z;
    }
    let az = z.abs();
    let t13 = tau.cbrt();
    if az <= 1.5 * t13 * t13 {
        return 0.0;
    }
    // (|z|/3)^(-3/2) = s^3 with s = sqrt(3/|z|); sqrt/cbrt instead of powf
    // (this map runs per element of every touched row).
    let s = (3.0 / az).sqrt();
    let phi = ((tau / 4.0) * s * s * s).min(1.0).acos();
    let x = (2.0 / 3.0) * az * (1.0 + (2.0 * std::f64::consts::PI / 3.0 - (2.0 / 3.0) * phi).cos());
    // Polish: h(x) = x + tau/(2 sqrt x) - |z|, h'(x) = 1 - tau/(4 x^(3/2)).
    let r = x.sqrt();
    let h = x + tau / (2.0 * r) - az;
    let dh = 1.0 - tau / (4.0 * x * r);
    let x = polish(x, h, dh);
    keep_if_better(az, x, tau * x.sqrt()).copysign(z)
}

/// Two-thirds thresholding: `argmin_x tau*|x|^(2/3) + (x - z)^2/2`.
///
/// Closed form of Cao, Sun & Xu (2013) for `(x-z)^2 + l*|x|^(2/3)` with
/// `l = 2*tau`: zero iff `|z| <= (2/3) (3 l^3)^(1/4)`, else
/// `x = sign(z) ((A + sqrt(2|z|/A - A^2)) / 2)^3`,
/// `A = (2/sqrt 3) l^(1/4) sqrt(cosh(theta/3))`,
/// `theta = acosh(27 z^2 / (16 l^(3/2)))`. Polished like [`prox_l_half`].
pub fn prox_l_two_thirds(z: f64, tau: f64) -> f64 {
    if tau <= 0.0 {
        return z;
    }
    let az = z.abs();
    let l = 2.0 * tau;
    let l14 = l.sqrt().sqrt();
    // (2/3) (3 l^3)^(1/4) = (2/3) 3^(1/4) l^(3/4).
    if az <= (2.0 / 3.0) * 3f64.sqrt().sqrt() * l14 * l14 * l14 {
        return 0.0;
    }
    let theta = (27.0 * az * az / (16.0 * l * l.sqrt())).max(1.0).acosh();
    let a = (2.0 / 3f64.sqrt()) * l14 * (theta / 3.0).cosh().sqrt();
    let u = (a + (2.0 * az / a - a * a).max(0.0).sqrt()) / 2.0;
    let x = u * u * u;
    // Polish: h(x) = x + (2/3) tau x^(-1/3) - |z|, h'(x) = 1 - (2/9) tau x^(-4/3).
    let c = x.cbrt();
    let h = x + (2.0 / 3.0) * tau / c - az;
    let dh = 1.0 - (2.0 / 9.0) * tau / (x * c);
    let x = polish(x, h, dh);
    let c = x.cbrt();
    keep_if_better(az, x, tau * c * c).copysign(z)
}

/// One Newton step on the stationarity equation `h(x) = 0` of the non-zero
/// local minimizer (h is convex and increasing there), kept only if sane.
#[inline]
fn polish(x: f64, h: f64, dh: f64) -> f64 {
    let x1 = x - h / dh;
    if dh > 0.0 && x1 > 0.0 && x1.is_finite() {
        x1
    } else {
        x
    }
}

/// Keep the non-zero candidate `x` (penalty value `pen`) only if it beats
/// `x = 0`: at the threshold both tie, and rounding must not pick the worse.
#[inline]
fn keep_if_better(az: f64, x: f64, pen: f64) -> f64 {
    if pen + 0.5 * (x - az) * (x - az) < 0.5 * az * az {
        x
    } else {
        0.0
    }
}

/// `argmin_x tau*|x|^q + (x - z)^2/2` for q in {1, 2/3, 1/2} (the exponents the
/// config accepts; anything else is treated as the nearest of them).
#[inline]
pub fn prox_lq(z: f64, tau: f64, q: f64) -> f64 {
    if q >= 0.83 {
        prox_l1(z, tau)
    } else if q >= 0.58 {
        prox_l_two_thirds(z, tau)
    } else {
        prox_l_half(z, tau)
    }
}

/// Distance to the nearest binary value, `min(|x - 1|, |x + 1|)`.
///
/// This is revised ProxQuant's `|x - sign(x)|` for every x != 0, extended
/// continuously to x = 0 (distance 1). The literal formula with sign(0) = 0
/// would give 0 at x = 0 and make zero a spurious global attractor of a
/// regularizer meant to push weights to +-1.
#[inline]
pub fn binary_distance(x: f64) -> f64 {
    (x.abs() - 1.0).abs()
}

/// Revised ProxQuant: `argmin_x tau*dist(x, {-1, 1})^q + (x - z)^2/2`.
///
/// The objective is symmetric in x, so the minimizer has the sign of z (for
/// z = 0 both signs tie; we take +). On x >= 0 the penalty is `|x - 1|^q`;
/// with `y = x - 1` this is the l_q prox of `|z| - 1`, whose result lies
/// between 0 and `|z| - 1 >= -1`, so the constraint `x >= 0` is inactive.
#[inline]
pub fn prox_binary(z: f64, tau: f64, q: f64) -> f64 {
    let x = 1.0 + prox_lq(z.abs() - 1.0, tau, q);
    if z < 0.0 {
        -x
    } else {
        x
    }
}

/// Value of one element's penalty `R(x)` (without lambda); for `Group` this
/// is not elementwise, see [`group_norm`].
pub fn penalty(reg: Regularizer, x: f64, q: f64) -> f64 {
    match reg {
        Regularizer::None | Regularizer::Group => 0.0,
        Regularizer::L1 => x.abs(),
        Regularizer::L0 => {
            if x != 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Regularizer::LHalf => x.abs().sqrt(),
        Regularizer::LTwoThirds => x.abs().powf(2.0 / 3.0),
        Regularizer::Binary => binary_distance(x).powf(q),
    }
}

/// The elementwise prox of `reg` with threshold `tau`; identity for `None`
/// and `Group` (the group map is [`prox_group`]).
#[inline]
pub fn prox_scalar(reg: Regularizer, z: f64, tau: f64, q: f64) -> f64 {
    match reg {
        Regularizer::None | Regularizer::Group => z,
        Regularizer::L1 => prox_l1(z, tau),
        Regularizer::L0 => prox_l0(z, tau),
        Regularizer::LHalf => prox_l_half(z, tau),
        Regularizer::LTwoThirds => prox_l_two_thirds(z, tau),
        Regularizer::Binary => prox_binary(z, tau, q),
    }
}

/// Euclidean norm of a group, in f64.
pub fn group_norm(x: &[f32]) -> f64 {
    x.iter()
        .map(|&v| (v as f64) * (v as f64))
        .sum::<f64>()
        .sqrt()
}

/// The norm `r` of the preconditioned group prox, or `None` if the group is
/// zeroed.
///
/// Problem (coordinates `i < d`, `tau_i = alpha*lambda/c_i > 0`):
/// `min_x ||x||_2 + sum_i (x_i - z_i)^2 / (2 tau_i)`
/// (ProxGen's `lambda*||x|| + (1/(2 alpha)) sum c_i (x_i - z_i)^2` divided by lambda).
///
/// - `x = 0` iff 0 is in the subdifferential: `||z / tau||_2 <= 1`.
/// - Otherwise `x != 0` and stationarity `x/||x|| + (x - z)/tau = 0` gives
///   `x_i = z_i * r / (r + tau_i)` with `r = ||x||`, so r solves
///   `phi(r) = sum_i z_i^2 / (r + tau_i)^2 = 1`, r > 0. (With equal tau this
///   is `r = ||z|| - tau`: ordinary group soft thresholding.)
///
/// phi is strictly decreasing with `phi(0) = ||z/tau||^2 > 1`, so the root is
/// unique. We run Newton on `f(r) = 1/sqrt(phi(r)) - 1`: that function is
/// concave and increasing on r > -min tau (it is the secular function of the
/// trust-region subproblem; More & Sorensen 1983), so Newton started at
/// r = 0 < root climbs monotonically to the root without overshooting, with
/// quadratic convergence; f is exactly linear when all tau are equal.
///
/// `z(i)` and `tau(i)` are read through closures so callers need no buffer:
/// the optimizers compute them on the fly from weights and state.
pub fn group_radius(d: usize, z: impl Fn(usize) -> f64, tau: impl Fn(usize) -> f64) -> Option<f64> {
    let mut s0 = 0.0;
    for i in 0..d {
        let t = tau(i);
        let zi = z(i);
        // tau = +inf (zero curvature) contributes nothing; tau = 0 (no
        // penalty on this coordinate) makes the group never vanish.
        if zi != 0.0 {
            let q = zi / t;
            s0 += q * q;
        }
    }
    if s0.is_nan() || s0 <= 1.0 {
        return None;
    }
    let mut r = 0.0f64;
    for _ in 0..100 {
        let (mut phi, mut psi) = (0.0f64, 0.0f64);
        for i in 0..d {
            let zi = z(i);
            if zi != 0.0 {
                let inv = 1.0 / (r + tau(i));
                let q = zi * zi * inv * inv;
                phi += q;
                psi += q * inv;
            }
        }
        // f = phi^(-1/2) - 1, f' = phi^(-3/2) * psi.
        let s = 1.0 / phi.sqrt();
        let step = (1.0 - s) / (s * s * s * psi);
        if step.is_nan() || step <= 0.0 || step.is_infinite() {
            break;
        }
        let next = r + step;
        if next - r <= 1e-15 * next {
            r = next;
            break;
        }
        r = next;
    }
    Some(r)
}

/// In-place preconditioned group prox: `x <- argmin_u ||u|| + sum (u_i - x_i)^2/(2 tau_i)`.
pub fn prox_group(x: &mut [f32], tau: impl Fn(usize) -> f64) {
    match group_radius(x.len(), |i| x[i] as f64, &tau) {
        None => x.fill(0.0),
        Some(r) => {
            for (i, v) in x.iter_mut().enumerate() {
                *v = (*v as f64 * r / (r + tau(i))) as f32;
            }
        }
    }
}
