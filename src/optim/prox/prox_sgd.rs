//! Prox-SGD (Yang et al., ICLR 2020), the two-stage baseline of the ProxGen
//! paper (its eqs. 5-6), with the same moments as prox_adam:
//!
//! ```text
//! m = rho*m + (1 - rho)*g,  v = beta*v + (1 - beta)*g^2,  c = sqrt(v) + delta
//! w_hat = argmin_x lambda*R(x) + sum_i c_i/2 (x_i - (w_i - m_i/c_i))^2   (no alpha)
//! w_new = w + alpha * (w_hat - w)                                          (alpha in (0, 1])
//! ```
//!
//! Unlike ProxGen, `w_new` is exactly zero only if `w` already was (or
//! alpha = 1): a weight that the prox zeroes decays geometrically instead.
//! Lazy-update semantics as in `proxgen` (no dependence on the global step).

use std::cell::Cell;

use super::moments::AdamMoments;
use super::penalty::ProxPenalty;
use crate::optim::row::{fits, stamp};
use crate::optim::{GroupUpdate, OptimizerSpec};

#[derive(Clone, Debug)]
pub struct ProxSgd {
    lr: f32,
    moments: AdamMoments,
    penalty: ProxPenalty,
}

impl ProxSgd {
    pub fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            lr: cfg.lr,
            moments: AdamMoments::from_config(cfg),
            penalty: ProxPenalty::from_config(cfg),
        }
    }
}

impl GroupUpdate for ProxSgd {
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
        for i in 0..d {
            self.moments.advance(&mut m[i], &mut v[i], g[i]);
        }
        let (m, v): (&[f32], &[f32]) = (m, v);
        let delta = self.moments.delta;
        let c = |i: usize| v[i].sqrt() + delta;
        let cells = Cell::from_mut(w).as_slice_of_cells();
        // Stage 1 target z = w - m/c (no learning rate; m = 0 when c = 0).
        let z = |i: usize| {
            let ci = c(i);
            if ci > 0.0 {
                cells[i].get() - m[i] / ci
            } else {
                cells[i].get()
            }
        };
        let lr = self.lr;
        // Stage 2: move a fraction alpha of the way to w_hat.
        self.penalty.apply(
            d,
            z,
            |i| 1.0 / c(i),
            |i, x| {
                let wi = cells[i].get();
                cells[i].set(wi + lr * (x - wi));
            },
        );
        stamp(last_step, t);
    }
}
