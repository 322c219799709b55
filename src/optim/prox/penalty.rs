//! The penalty `lambda * R` of one ProxGen-family optimizer, applied to a
//! group through closures so that no optimizer needs a scratch buffer.

use super::maps;
use crate::optim::{OptimizerSpec, Regularizer};

/// A validated penalty: `lambda * R` with `R` elementwise or the group norm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProxPenalty {
    pub reg: Regularizer,
    pub lambda: f32,
    /// Exponent of the binary regularizer (ignored otherwise).
    pub q: f64,
}

impl ProxPenalty {
    pub fn from_config(cfg: &OptimizerSpec) -> Self {
        // A zero strength or no regularizer is the same optimizer without a
        // prox step: skipping it makes lambda = 0 reproduce Adam bit for bit.
        let reg = if cfg.lambda > 0.0 {
            cfg.regularizer
        } else {
            Regularizer::None
        };
        Self {
            reg,
            lambda: if reg == Regularizer::None {
                0.0
            } else {
                cfg.lambda
            },
            q: cfg.q as f64,
        }
    }

    #[inline]
    pub fn is_none(&self) -> bool {
        self.reg == Regularizer::None
    }

    /// Write `prox(z)` into `out`, coordinate `i` having threshold
    /// `tau(i) = scale_i * lambda` (the caller passes `scale(i)`, e.g.
    /// `alpha / c_i`). `out(i, x)` is called after `z(i)` was read, once per
    /// `i` in increasing order, so `z` and `out` may view the same memory
    /// through `Cell`s (the group map reads every `z` before writing any).
    #[inline]
    pub fn apply<Z, S, O>(&self, d: usize, z: Z, scale: S, mut out: O)
    where
        Z: Fn(usize) -> f32,
        S: Fn(usize) -> f32,
        O: FnMut(usize, f32),
    {
        let lambda = self.lambda as f64;
        match self.reg {
            Regularizer::None => (0..d).for_each(|i| out(i, z(i))),
            Regularizer::Group => {
                // The root find reads every (z_i, tau_i) once per Newton
                // iteration: for rows up to STACK long, evaluate the
                // closures (a sqrt and a division each) once, on the stack.
                const STACK: usize = 64;
                if d <= STACK {
                    let (mut zb, mut tb) = ([0.0f64; STACK], [0.0f64; STACK]);
                    for i in 0..d {
                        zb[i] = z(i) as f64;
                        tb[i] = lambda * scale(i) as f64;
                    }
                    match maps::group_radius(d, |i| zb[i], |i| tb[i]) {
                        None => (0..d).for_each(|i| out(i, 0.0)),
                        Some(r) => (0..d).for_each(|i| out(i, (zb[i] * r / (r + tb[i])) as f32)),
                    }
                } else {
                    let tau = |i: usize| lambda * scale(i) as f64;
                    match maps::group_radius(d, |i| z(i) as f64, tau) {
                        None => (0..d).for_each(|i| out(i, 0.0)),
                        Some(r) => {
                            (0..d).for_each(|i| out(i, (z(i) as f64 * r / (r + tau(i))) as f32))
                        }
                    }
                }
            }
            Regularizer::L1 => self.each(d, z, scale, out, maps::prox_l1),
            Regularizer::L0 => self.each(d, z, scale, out, maps::prox_l0),
            Regularizer::LHalf => self.each(d, z, scale, out, maps::prox_l_half),
            Regularizer::LTwoThirds => self.each(d, z, scale, out, maps::prox_l_two_thirds),
            Regularizer::Binary => {
                let q = self.q;
                self.each(d, z, scale, out, move |z, t| maps::prox_binary(z, t, q))
            }
        }
    }

    // One monomorphized loop per elementwise map: the match above runs once
    // per group, not once per element.
    #[inline(always)]
    fn each<Z, S, O, P>(&self, d: usize, z: Z, scale: S, mut out: O, prox: P)
    where
        Z: Fn(usize) -> f32,
        S: Fn(usize) -> f32,
        O: FnMut(usize, f32),
        P: Fn(f64, f64) -> f64,
    {
        let lambda = self.lambda as f64;
        for i in 0..d {
            out(i, prox(z(i) as f64, lambda * scale(i) as f64) as f32);
        }
    }

    /// A subgradient of `lambda * R` at the group `w`, element `i`, given the
    /// group's norm (only used by `Group`). At non-differentiable points we
    /// take the minimum-norm element of the subdifferential where it is
    /// bounded (0 for l1 and the group norm at 0), and 0 where the
    /// subdifferential is unbounded (l_q at 0, binary at +-1), as PyTorch's
    /// autograd of `abs(x)**q` would not: it would return inf/NaN.
    #[inline]
    pub fn subgradient(&self, w: f32, norm: f64) -> f32 {
        let x = w as f64;
        let lambda = self.lambda as f64;
        let s = match self.reg {
            Regularizer::None | Regularizer::L0 => 0.0,
            Regularizer::L1 => sign(x),
            Regularizer::LHalf => pow_grad(x, 0.5),
            Regularizer::LTwoThirds => pow_grad(x, 2.0 / 3.0),
            Regularizer::Group => {
                if norm > 0.0 {
                    x / norm
                } else {
                    0.0
                }
            }
            Regularizer::Binary => {
                // d/dx dist(x)^q with dist = ||x| - 1|.
                let dist = maps::binary_distance(x);
                if dist == 0.0 {
                    0.0
                } else {
                    let ddist = sign(x) * sign(x.abs() - 1.0);
                    self.q * dist.powf(self.q - 1.0) * ddist
                }
            }
        };
        // l_q's derivative blows up near 0; cap it so that g^2 in Adam's
        // second moment stays finite in f32 (1e18^2 < f32::MAX).
        (lambda * s).clamp(-1e18, 1e18) as f32
    }
}

#[inline]
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// d/dx |x|^q = q |x|^(q-1) sign(x), taken as 0 at x = 0.
#[inline]
fn pow_grad(x: f64, q: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        q * x.abs().powf(q - 1.0) * sign(x)
    }
}
