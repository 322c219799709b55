//! Group AMSGrad: m_t as Adam, V_t = max(V_{t-1}, v_t / (1 - beta2^t))
//! (the running max of the bias-corrected EMA of g^2, docs/math.md), alpha_t =
//! alpha, D_t = (sqrt(V_t) + eps_t) / alpha with eps_t = eps/sqrt(1-beta2^t).
//!
//! eps_t / alpha = eps * k(t), so D_prev = sqrt(V_prev)/alpha + eps*k(last).

use super::adam::{bias_inv, KRing};
use super::{Columns, Moments, Rule};
use crate::optim::OptimizerSpec;

#[derive(Debug, Clone)]
pub struct Amsgrad {
    beta1: f32,
    beta2: f32,
    eps: f32,
    inv_alpha: f32,
    /// 1 / (1 - beta1^t) and 1 / (1 - beta2^t) of the prepared step.
    c1: f32,
    c2: f32,
    k: KRing,
}

impl Amsgrad {
    pub fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            inv_alpha: 1.0 / cfg.lr,
            c1: 1.0,
            c2: 1.0,
            k: KRing::new(cfg.lr, cfg.beta2),
        }
    }
}

impl Rule for Amsgrad {
    /// m, v (uncorrected EMAs) and V (running max of v / (1 - beta2^t)).
    const SLOTS: usize = 3;
    /// k(last_step).
    type Ctx = f32;

    fn prepare(&mut self, t: u64) {
        self.c1 = bias_inv(self.beta1, t);
        self.c2 = bias_inv(self.beta2, t);
        self.k.prepare(t);
    }

    #[inline]
    fn ctx(&self, last: u32) -> f32 {
        self.k.at(last)
    }

    #[inline(always)]
    fn advance(&self, k_prev: f32, g: &[f32], _h: &[f32], cols: Columns<'_>, out: &mut Moments) {
        let n = g.len();
        let [m, v, vmax] = cols.take::<3>(n);
        let (om, od, op) = (&mut out.m[..n], &mut out.d[..n], &mut out.d_prev[..n]);
        let (b1, b2) = (self.beta1, self.beta2);
        let (eps_prev, eps_now) = (self.eps * k_prev, self.eps * self.k.now);
        for i in 0..n {
            op[i] = vmax[i].sqrt() * self.inv_alpha + eps_prev;
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            vmax[i] = vmax[i].max(v[i] * self.c2);
            om[i] = m[i] * self.c1;
            od[i] = vmax[i].sqrt() * self.inv_alpha + eps_now;
        }
    }
}
