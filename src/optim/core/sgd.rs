//! Group SGD: m_t = g, V_t = 1, alpha_t = alpha / sqrt(t) (paper Table 1).

use super::{Columns, Moments, Rule};
use crate::optim::OptimizerSpec;

#[derive(Debug, Clone)]
pub struct Sgd {
    alpha: f32,
    /// D_t = sqrt(t) / alpha of the prepared step.
    d_now: f32,
}

impl Sgd {
    pub fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            alpha: cfg.lr,
            d_now: 0.0,
        }
    }

    /// D at step `t`; one function for now and for a group's last step, so
    /// a lazily updated group sees exactly the D_prev it was updated with.
    #[inline]
    fn d_at(&self, t: u64) -> f32 {
        ((t as f64).sqrt() / f64::from(self.alpha)) as f32
    }
}

impl Rule for Sgd {
    const SLOTS: usize = 0;
    type Ctx = f32;

    fn prepare(&mut self, t: u64) {
        self.d_now = self.d_at(t);
    }

    #[inline]
    fn ctx(&self, last: u32) -> f32 {
        // d_at(0) = 0: a fresh group has D_prev = 0.
        self.d_at(u64::from(last))
    }

    #[inline(always)]
    fn advance(&self, d_prev: f32, g: &[f32], _h: &[f32], _cols: Columns<'_>, out: &mut Moments) {
        let n = g.len();
        out.m[..n].copy_from_slice(g);
        out.d[..n].fill(self.d_now);
        out.d_prev[..n].fill(d_prev);
    }
}
