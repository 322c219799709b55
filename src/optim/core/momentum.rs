//! Group Momentum: m_t = gamma * m_{t-1} + g, V_t = 1, alpha_t = alpha.

use super::{Columns, Moments, Rule};
use crate::optim::OptimizerSpec;

#[derive(Debug, Clone)]
pub struct Momentum {
    gamma: f32,
    /// D = 1 / alpha, constant.
    d: f32,
}

impl Momentum {
    pub fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            gamma: cfg.gamma,
            d: 1.0 / cfg.lr,
        }
    }
}

impl Rule for Momentum {
    /// The momentum buffer m (one column).
    const SLOTS: usize = 1;
    /// D_prev: 0 for a fresh group, else the constant D.
    type Ctx = f32;

    fn prepare(&mut self, _t: u64) {}

    #[inline]
    fn ctx(&self, last: u32) -> f32 {
        if last == 0 {
            0.0
        } else {
            self.d
        }
    }

    #[inline(always)]
    fn advance(&self, d_prev: f32, g: &[f32], _h: &[f32], cols: Columns<'_>, out: &mut Moments) {
        let n = g.len();
        let [m] = cols.take::<1>(n);
        for (i, m) in m.iter_mut().enumerate() {
            *m = self.gamma * *m + g[i];
            out.m[i] = *m;
        }
        out.d[..n].fill(self.d);
        out.d_prev[..n].fill(d_prev);
    }
}
