//! Group Adam and Group AdaHessian: bias-corrected EMAs of g and of g^2
//! (AdaHessian: of the Hessian-diagonal estimate squared), alpha_t = alpha,
//! D_t = (sqrt(V_t) + eps_t) / alpha with eps_t = eps / sqrt(1 - beta2^t).
//!
//! Since V_t = v_t / (1 - beta2^t), D_t = (sqrt(v_t) + eps) * k(t) with
//! k(t) = 1 / (alpha sqrt(1 - beta2^t)): the slots are only (m, v), and
//! D_prev is rebuilt from v before it advances and k(last_step).

use super::{Columns, Moments, Rule};
use crate::optim::OptimizerSpec;

/// `HESSIAN = false`: Group Adam; `true`: Group AdaHessian.
#[derive(Debug, Clone)]
pub struct Adam<const HESSIAN: bool> {
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// 1 / (1 - beta1^t) of the prepared step.
    c1: f32,
    k: KRing,
}

impl<const HESSIAN: bool> Adam<HESSIAN> {
    pub fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            c1: 1.0,
            k: KRing::new(cfg.lr, cfg.beta2),
        }
    }
}

impl<const HESSIAN: bool> Rule for Adam<HESSIAN> {
    /// m (EMA of g) and v (EMA of g^2 or h^2), both uncorrected.
    const SLOTS: usize = 2;
    const NEEDS_HESSIAN: bool = HESSIAN;
    /// k(last_step).
    type Ctx = f32;

    fn prepare(&mut self, t: u64) {
        self.c1 = bias_inv(self.beta1, t);
        self.k.prepare(t);
    }

    #[inline]
    fn ctx(&self, last: u32) -> f32 {
        self.k.at(last)
    }

    #[inline(always)]
    fn advance(&self, k_prev: f32, g: &[f32], h: &[f32], cols: Columns<'_>, out: &mut Moments) {
        let n = g.len();
        let [m, v] = cols.take::<2>(n);
        let q = if HESSIAN { &h[..n] } else { g };
        let (om, od, op) = (&mut out.m[..n], &mut out.d[..n], &mut out.d_prev[..n]);
        let (b1, b2, eps, k_now) = (self.beta1, self.beta2, self.eps, self.k.now);
        for i in 0..n {
            op[i] = (v[i].sqrt() + eps) * k_prev;
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * q[i] * q[i];
            om[i] = m[i] * self.c1;
            od[i] = (v[i].sqrt() + eps) * k_now;
        }
    }
}

/// `k(t) = 1 / (alpha sqrt(1 - beta2^t))`, 0 for t = 0 (no previous D).
/// The one function for the current step and for a group's last step.
#[inline]
fn k_at(alpha: f64, beta2: f32, t: u64) -> f32 {
    if t == 0 {
        return 0.0;
    }
    let one_minus = 1.0 - f64::from(beta2).powf(t as f64);
    (1.0 / (alpha * one_minus.sqrt())) as f32
}

/// `1 / (1 - beta^t)` (bias correction).
#[inline]
pub(super) fn bias_inv(beta: f32, t: u64) -> f32 {
    (1.0 / (1.0 - f64::from(beta).powf(t as f64))) as f32
}

/// Steps whose k(p) is cached.
const RING: usize = 256;

/// k(t) of the prepared step and a ring cache of k(p) for the last RING
/// steps (indexed by p % RING), so the common case of a recently updated
/// row needs no powf. Values are those `k_at` gave, so bit-identical.
#[derive(Debug, Clone)]
pub(super) struct KRing {
    alpha: f64,
    beta2: f32,
    pub(super) now: f32,
    ring: Box<[(u32, f32)]>,
}

impl KRing {
    pub(super) fn new(alpha: f32, beta2: f32) -> Self {
        Self {
            alpha: f64::from(alpha),
            beta2,
            now: 0.0,
            ring: vec![(0, 0.0); RING].into_boxed_slice(),
        }
    }

    pub(super) fn prepare(&mut self, t: u64) {
        self.now = k_at(self.alpha, self.beta2, t);
        let tt = u32::try_from(t).unwrap_or(u32::MAX);
        if let Some(slot) = self.ring.get_mut(tt as usize % RING) {
            *slot = (tt, self.now);
        }
    }

    #[inline]
    pub(super) fn at(&self, last: u32) -> f32 {
        match self.ring.get(last as usize % RING) {
            Some(&(p, k)) if p == last && last != 0 => k,
            _ => k_at(self.alpha, self.beta2, u64::from(last)),
        }
    }
}
