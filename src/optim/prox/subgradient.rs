//! The subgradient baseline of the ProxGen paper: what TensorFlow / PyTorch
//! do when the penalty is added to the loss. The gradient of the loss plus a
//! subgradient of `lambda*R` at the current weights (see
//! `ProxPenalty::subgradient` for the choice at kinks) is fed to Adam without
//! bias correction, with the same rho / beta / delta as prox_adam, so the
//! two differ only in how the penalty enters. Weights reach exact zero only
//! by accident. Lazy-update semantics as in `proxgen`.

use super::maps::group_norm;
use super::moments::AdamMoments;
use super::penalty::ProxPenalty;
use crate::optim::row::{fits, stamp};
use crate::optim::{GroupUpdate, OptimizerSpec, Regularizer};

#[derive(Clone, Debug)]
pub struct Subgradient {
    lr: f32,
    moments: AdamMoments,
    penalty: ProxPenalty,
}

impl Subgradient {
    pub fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            lr: cfg.lr,
            moments: AdamMoments::from_config(cfg),
            penalty: ProxPenalty::from_config(cfg),
        }
    }
}

impl GroupUpdate for Subgradient {
    fn state_len(&self, d: usize) -> usize {
        2 * d
    }

    fn prepare_step(&mut self, _t: u64) {}

    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        state: &mut [f32],
        last_step: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        let d = w.len();
        if !fits(w, g, h, state, self.state_len(d)) {
            return;
        }
        let (m, v) = state.split_at_mut(d);
        // The group subgradient needs the norm before any weight moves.
        let norm = if self.penalty.reg == Regularizer::Group {
            group_norm(w)
        } else {
            0.0
        };
        for i in 0..d {
            let gi = g[i] + self.penalty.subgradient(w[i], norm);
            let c = self.moments.advance(&mut m[i], &mut v[i], gi);
            if c > 0.0 {
                w[i] -= self.lr * m[i] / c;
            }
        }
        stamp(last_step, t);
    }
}
