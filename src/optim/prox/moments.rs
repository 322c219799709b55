//! The moments of the ProxGen family (docs/proxgen.md), without bias correction:
//! `m = rho*m + (1 - rho)*g`, `v = beta*v + (1 - beta)*g^2`,
//! `c = sqrt(v) + delta`. prox_adam, Prox-SGD and the subgradient baseline
//! share them, so the three differ only in how the penalty enters.

use crate::optim::OptimizerSpec;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamMoments {
    pub rho: f32,
    pub beta: f32,
    pub delta: f32,
}

impl AdamMoments {
    pub fn from_config(cfg: &OptimizerSpec) -> Self {
        Self {
            rho: cfg.beta1,
            beta: cfg.beta2,
            delta: cfg.eps,
        }
    }

    /// Advance one coordinate's `m` and `v` with gradient `g`; returns the
    /// preconditioner `c`.
    #[inline(always)]
    pub fn advance(self, m: &mut f32, v: &mut f32, g: f32) -> f32 {
        *m = self.rho * *m + (1.0 - self.rho) * g;
        *v = self.beta * *v + (1.0 - self.beta) * g * g;
        v.sqrt() + self.delta
    }
}
