//! ProxGen and its baselines (the second paper, docs/proxgen.md).
//!
//! - `maps`: the exact proximal maps (l1, l0, l_1/2, l_2/3, binary, and the
//!   preconditioned group l2,1 norm via a 1-D root find).
//! - `penalty`: applies `lambda*R` to a group through closures (no buffers).
//! - `proxgen`: `prox_adam` and `prox_sgd_momentum` (ProxGen, Algorithm 1).
//! - `prox_sgd`: the two-stage Prox-SGD baseline.
//! - `subgradient`: Adam on the loss gradient plus a penalty subgradient.
//!
//! The penalty applies per group: elementwise regularizers to each element,
//! `group` to the whole group (embedding row) as `lambda * ||x_g||_2`
//! (no sqrt(d) factor, unlike Algorithm 1's l2,1 term). A row whose weights
//! are all exactly zero is a removed feature, counted by the trainer exactly
//! as for the Group optimizers; ProxGen produces exact zeros, the baselines
//! do not.
//!
//! State of a group of size d (checkpoints copy it as bytes):
//! `prox_adam`, `prox_sgd`, `subgradient`: `[m; d]` then `[v; d]`;
//! `prox_sgd_momentum`: `[m; d]`. All start at zero.
//!
//! Lazy updates: none of these updates depends on the global step (no bias
//! correction, docs/proxgen.md; constant alpha), so a row that a batch does not touch
//! keeps its weights and moments, and resumes from them when it is touched
//! again: Adam run per row on the steps that touched it (LazyAdam /
//! SparseAdam semantics, without their bias correction).

pub mod maps;
mod moments;
mod penalty;
mod prox_sgd;
mod proxgen;
mod subgradient;

pub use penalty::ProxPenalty;
pub use prox_sgd::ProxSgd;
pub use proxgen::{Preconditioner, ProxGen};
pub use subgradient::Subgradient;

use super::{GroupUpdate, OptimizerSpec, ProxRule};

/// Build the ProxGen-family optimizer `rule` names.
pub fn build(rule: ProxRule, spec: &OptimizerSpec) -> Box<dyn GroupUpdate> {
    match rule {
        ProxRule::Adam => Box::new(ProxGen::adam(spec)),
        ProxRule::SgdMomentum => Box::new(ProxGen::sgd_momentum(spec)),
        ProxRule::Sgd => Box::new(ProxSgd::new(spec)),
        ProxRule::Subgradient => Box::new(Subgradient::new(spec)),
    }
}
