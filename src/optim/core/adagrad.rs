//! Group Adagrad (= Group FTRL): m_t = g, V_t = V_{t-1} + g^2 with the
//! initial accumulator epsilon added at a group's first update
//! (Algorithm 3), alpha_t = alpha.

use super::{Columns, Moments, Rule};
use crate::optim::OptimizerSpec;

#[derive(Debug, Clone)]
pub struct Adagrad {
    inv_alpha: f32,
    eps: f32,
}

impl Adagrad {
    pub fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            inv_alpha: 1.0 / cfg.lr,
            eps: cfg.initial_accumulator,
        }
    }
}

impl Rule for Adagrad {
    /// The accumulator V (0 until the group's first update).
    const SLOTS: usize = 1;
    /// The initial accumulator to add now: epsilon on a first update, else 0.
    type Ctx = f32;

    fn prepare(&mut self, _t: u64) {}

    #[inline]
    fn ctx(&self, last: u32) -> f32 {
        if last == 0 {
            self.eps
        } else {
            0.0
        }
    }

    #[inline(always)]
    fn advance(&self, add: f32, g: &[f32], _h: &[f32], cols: Columns<'_>, out: &mut Moments) {
        let n = g.len();
        let [v] = cols.take::<1>(n);
        let (om, od, op) = (&mut out.m[..n], &mut out.d[..n], &mut out.d_prev[..n]);
        for i in 0..n {
            op[i] = v[i].sqrt() * self.inv_alpha;
            v[i] += g[i] * g[i] + add;
            om[i] = g[i];
            od[i] = v[i].sqrt() * self.inv_alpha;
        }
    }
}
