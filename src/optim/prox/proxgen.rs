//! ProxGen (Algorithm 1 of the ProxGen paper, docs/proxgen.md) with a diagonal
//! preconditioner:
//!
//! ```text
//! m     = rho*m + (1 - rho)*g
//! c     = sqrt(v) + delta, v = beta*v + (1 - beta)*g^2      (prox_adam)
//!       = 1                                                  (prox_sgd_momentum)
//! z     = w - alpha * m / c
//! w_new = argmin_x lambda*R(x) + sum_i c_i/(2 alpha) (x_i - z_i)^2
//!       = prox of R with per-coordinate threshold tau_i = alpha*lambda/c_i
//! ```
//!
//! No bias correction (docs/proxgen.md), and alpha is constant, so the update of a
//! group is a function of (w, m, v, g) only: it does not depend on the global
//! step t. Under lazy embedding updates a row that the batch did not touch
//! keeps its weights *and* its moments (they are not decayed for the skipped
//! steps), i.e. the semantics of TensorFlow's LazyAdam / PyTorch's SparseAdam
//! without bias correction: a row sees Adam run on the subsequence of steps
//! that touched it. `last_step` is still recorded for the trainer.

use std::cell::Cell;

use super::moments::AdamMoments;
use super::penalty::ProxPenalty;
use crate::optim::row::{fits, stamp};
use crate::optim::{GroupUpdate, OptimizerSpec};

/// How ProxGen builds its diagonal preconditioner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Preconditioner {
    /// `C = sqrt(EMA of g^2)` with decay beta, plus delta (prox_adam).
    Adam { beta: f32, delta: f32 },
    /// `C = I` (prox_sgd_momentum: vanilla proximal SGD with momentum).
    Identity,
}

#[derive(Clone, Debug)]
pub struct ProxGen {
    lr: f32,
    rho: f32,
    precond: Preconditioner,
    penalty: ProxPenalty,
}

impl ProxGen {
    pub fn adam(cfg: &OptimizerSpec) -> Self {
        Self {
            lr: cfg.lr,
            rho: cfg.beta1,
            precond: Preconditioner::Adam {
                beta: cfg.beta2,
                delta: cfg.eps,
            },
            penalty: ProxPenalty::from_config(cfg),
        }
    }

    pub fn sgd_momentum(cfg: &OptimizerSpec) -> Self {
        Self {
            lr: cfg.lr,
            rho: cfg.beta1,
            precond: Preconditioner::Identity,
            penalty: ProxPenalty::from_config(cfg),
        }
    }
}

impl GroupUpdate for ProxGen {
    fn state_len(&self, d: usize) -> usize {
        match self.precond {
            Preconditioner::Adam { .. } => 2 * d,
            Preconditioner::Identity => d,
        }
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
        let (rho, lr) = (self.rho, self.lr);
        let (m, v) = state.split_at_mut(d);
        // Pass 1: moments and the gradient step z = w - alpha*m/c, in place.
        match self.precond {
            Preconditioner::Adam { beta, delta } => {
                let moments = AdamMoments { rho, beta, delta };
                for i in 0..d {
                    let c = moments.advance(&mut m[i], &mut v[i], g[i]);
                    // c = 0 only if delta = 0 and every gradient seen was 0,
                    // hence m = 0 too: no step.
                    if c > 0.0 {
                        w[i] -= lr * m[i] / c;
                    }
                }
            }
            Preconditioner::Identity => {
                for i in 0..d {
                    m[i] = rho * m[i] + (1.0 - rho) * g[i];
                    w[i] -= lr * m[i];
                }
            }
        }
        // Pass 2: the exact preconditioned prox, tau_i = alpha*lambda/c_i.
        if !self.penalty.is_none() {
            let cells = Cell::from_mut(w).as_slice_of_cells();
            let v: &[f32] = v;
            match self.precond {
                Preconditioner::Adam { delta, .. } => self.penalty.apply(
                    d,
                    |i| cells[i].get(),
                    // 1/0 = inf: zero curvature, the penalty wins (x = 0).
                    |i| lr / (v[i].sqrt() + delta),
                    |i, x| cells[i].set(x),
                ),
                Preconditioner::Identity => {
                    self.penalty
                        .apply(d, |i| cells[i].get(), |_| lr, |i, x| cells[i].set(x))
                }
            }
        }
        stamp(last_step, t);
    }
}
