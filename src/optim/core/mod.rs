//! Algorithm 1 of the Sparse Group Lasso paper, written once (SPEC 2).
//!
//! Every Group optimizer is this core plus a [`Rule`] that gives, for one
//! parameter, its first moment m_t and the diagonal D_t = sqrt(V_t)/alpha_t
//! (+ epsilon term) now and at the group's previous update (D_prev). The core
//! owns the dual accumulator z and does the rest: z update, l1 soft
//! threshold, l2,1 group shrinkage, l2 scaling.
//!
//! Lazy (sparse) updates stay exact because D_prev is recomputed from the
//! rule's slots *before* they advance and from the step of the group's last
//! update (`last_step`), with the very same per-step function that produced
//! D at that step, so it is bit-identical to the D then used. Between two
//! updates of a group neither x nor z changes, so the induction of the
//! paper's Appendix B carries over unchanged: with all lambdas 0 the update
//! is x <- x - m_t / D_t, the plain optimizer's lazy update at global step t.
//!
//! State layout of a group of size d: `(1 + R::SLOTS) * d` floats, one
//! interleaved record per parameter `[z, slot_1, .., slot_k]`, so the inner
//! loop walks one contiguous stream with no bounds checks.

mod adagrad;
mod adam;
mod amsgrad;
mod momentum;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use amsgrad::Amsgrad;
pub use momentum::Momentum;
pub use sgd::Sgd;

use super::{GroupNorm, GroupUpdate, LrDecay, OptimizerConfig, OptimizerName};

/// What a rule reports for one parameter at one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    /// First moment m_t (Algorithm 1, line 4).
    pub m: f32,
    /// D_t = sqrt(V_t)/alpha_t (+ epsilon term), without the lr decay.
    pub d: f32,
    /// D of the group's previous update (0 if never updated).
    pub d_prev: f32,
}

/// One Group optimizer's rule for m_t and V_t (the table of SPEC 2).
pub trait Rule: Send + Sync + std::fmt::Debug + 'static {
    /// f32 state slots per parameter besides z.
    const SLOTS: usize;
    /// Whether `advance` reads the Hessian-diagonal estimate `h`.
    const NEEDS_HESSIAN: bool = false;
    /// Per-group values derived from the group's last-update step.
    type Ctx: Copy;
    /// Precompute per-step scalars for global step `t` (1-based).
    fn prepare(&mut self, t: u64);
    /// Per-group context for a group last updated at step `last` (0 = never).
    fn ctx(&self, last: u32) -> Self::Ctx;
    /// Advance one parameter's `slots` (length `SLOTS`) with gradient `g`
    /// (and curvature `h`), returning m_t, D_t and D_prev.
    fn advance(&self, ctx: Self::Ctx, g: f32, h: f32, slots: &mut [f32]) -> Moments;
}

/// The regularization part of Algorithm 1, shared by every rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalty {
    pub lambda1: f32,
    pub lambda21: f32,
    pub lambda2: f32,
    pub norm: GroupNorm,
}

impl Penalty {
    pub fn from_config(cfg: &OptimizerConfig) -> Self {
        Self {
            lambda1: cfg.lambda1,
            lambda21: cfg.lambda21,
            lambda2: cfg.lambda2,
            norm: cfg.group_norm,
        }
    }
}

/// l1 soft threshold of Algorithm 1, line 8: `-sign(z) * max(|z| - l1, 0)`.
#[inline(always)]
pub fn soft_threshold(z: f32, lambda1: f32) -> f32 {
    let mag = (z.abs() - lambda1).max(0.0);
    if z > 0.0 {
        -mag
    } else {
        mag
    }
}

/// The l2,1 shrinkage factor `max(1 - sqrt(d)*lambda21/norm, 0)` given the
/// squared group norm (plain `||s||^2` or weighted `||s~||^2`).
#[inline]
pub fn group_scale(d: usize, lambda21: f32, norm_sq: f32) -> f32 {
    let threshold = (d as f32).sqrt() * lambda21;
    let norm = norm_sq.sqrt();
    if norm <= threshold {
        0.0
    } else {
        1.0 - threshold / norm
    }
}

/// The per-element contribution to the weighted norm `||s~||^2` of
/// Theorem 1, with s~_i = s_i / sqrt(D_i/2 + lambda2).
///
/// NOTE: SPEC 2.5 and the paper's Eq. (10) write s~ = s / (D/2 + lambda2);
/// the substitution y = A^(1/2) x of the paper's own proof (Eq. 28-29) gives
/// s~ = A^(-1/2) s with A = diag(D/2 + lambda2), i.e. the square root. Only
/// the square-root form makes the update the exact minimizer of Eq. (24)
/// (checked by tests/optim_theorem1.rs, which also shows the Eq. (10) form
/// is not), so that is what `weighted` computes.
#[inline(always)]
pub fn weighted_sq(s: f32, d: f32, lambda2: f32) -> f32 {
    s * s / (0.5 * d + lambda2).max(f32::MIN_POSITIVE)
}

/// The minimizer of Eq. (24) for one group given z_t and D_t (the closed
/// form of Theorem 1 / Algorithm 1 line 10), written into `x`. Exposed for
/// tests and tools; the optimizers run the fused loop in [`Group`].
pub fn closed_form(p: &Penalty, z: &[f32], dd: &[f32], x: &mut [f32]) {
    let mut norm_sq = 0.0f32;
    for ((x, &z), &dd) in x.iter_mut().zip(z).zip(dd) {
        let s = soft_threshold(z, p.lambda1);
        norm_sq += match p.norm {
            GroupNorm::Plain => s * s,
            GroupNorm::Weighted => weighted_sq(s, dd, p.lambda2),
        };
        *x = s / (dd + 2.0 * p.lambda2).max(f32::MIN_POSITIVE);
    }
    shrink(x, p.lambda21, norm_sq);
}

/// Apply the group shrinkage to the unshrunk `x = s / (D + 2 lambda2)`.
#[inline(always)]
fn shrink(x: &mut [f32], lambda21: f32, norm_sq: f32) {
    if lambda21 > 0.0 {
        let scale = group_scale(x.len(), lambda21, norm_sq);
        if scale == 0.0 {
            x.fill(0.0);
        } else {
            x.iter_mut().for_each(|x| *x *= scale);
        }
    }
}

/// `alpha_t = alpha * decay(t)`: the factor D is divided by, for step `t`.
/// Computed by this one function for the current step and for a group's
/// last step, so D_prev is bit-identical to the D used back then.
#[inline]
pub fn decay_divisor(decay: LrDecay, t: u64) -> f32 {
    match decay {
        LrDecay::Constant => 1.0,
        LrDecay::InvSqrt => (t as f64).sqrt() as f32,
    }
}

/// A Group optimizer: Algorithm 1 driven by rule `R`.
#[derive(Debug)]
pub struct Group<R: Rule> {
    pub rule: R,
    pub penalty: Penalty,
    decay: LrDecay,
    /// `decay_divisor` of the prepared step.
    decay_now: f32,
}

impl<R: Rule> Group<R> {
    pub fn new(rule: R, penalty: Penalty, decay: LrDecay) -> Self {
        Self {
            rule,
            penalty,
            decay,
            decay_now: 1.0,
        }
    }
}

impl<R: Rule> GroupUpdate for Group<R> {
    fn state_len(&self, d: usize) -> usize {
        (1 + R::SLOTS) * d
    }

    fn needs_hessian(&self) -> bool {
        R::NEEDS_HESSIAN
    }

    fn prepare_step(&mut self, t: u64) {
        self.rule.prepare(t);
        self.decay_now = decay_divisor(self.decay, t);
    }

    #[inline]
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        state: &mut [f32],
        last_step: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        debug_assert_eq!(w.len(), g.len());
        debug_assert_eq!(state.len(), self.state_len(w.len()));
        debug_assert!(!R::NEEDS_HESSIAN || h.is_some(), "Hessian estimate missing");
        let ctx = self.rule.ctx(*last_step);
        let (dec_now, dec_prev) = match self.decay {
            LrDecay::Constant => (1.0, 1.0),
            LrDecay::InvSqrt => (
                self.decay_now,
                decay_divisor(self.decay, u64::from(*last_step)),
            ),
        };
        let p = self.penalty;
        let two_l2 = 2.0 * p.lambda2;
        // Without a Hessian estimate, AdaHessian falls back to g (= Adam).
        let h = if R::NEEDS_HESSIAN { h.unwrap_or(g) } else { g };
        let mut norm_sq = 0.0f32;
        // Pass 1: advance the rule, z (line 6), s (line 8), and store the
        // unshrunk x = s / (D + 2 lambda2) in place; x_t is read first.
        let records = state.chunks_exact_mut(1 + R::SLOTS);
        for (((x, rec), &g), &h) in w.iter_mut().zip(records).zip(g).zip(h) {
            let Some((z, slots)) = rec.split_first_mut() else {
                continue;
            };
            let mo = self.rule.advance(ctx, g, h, slots);
            let d_now = mo.d * dec_now;
            let d_prev = mo.d_prev * dec_prev;
            *z += mo.m - (d_now - d_prev) * *x;
            let s = soft_threshold(*z, p.lambda1);
            norm_sq += match p.norm {
                GroupNorm::Plain => s * s,
                GroupNorm::Weighted => weighted_sq(s, d_now, p.lambda2),
            };
            *x = s / (d_now + two_l2).max(f32::MIN_POSITIVE);
        }
        // Pass 2: the l2,1 shrinkage of the whole group (line 10).
        shrink(w, p.lambda21, norm_sq);
        *last_step = u32::try_from(t).unwrap_or(u32::MAX);
    }
}

/// Build the Group optimizer `cfg` names (`cfg` is already checked).
pub fn build(cfg: &OptimizerConfig) -> Box<dyn GroupUpdate> {
    let pen = Penalty::from_config(cfg);
    let dec = cfg.lr_decay;
    match cfg.name {
        OptimizerName::GroupSgd => Box::new(Group::new(Sgd::new(cfg), pen, dec)),
        OptimizerName::GroupMomentum => Box::new(Group::new(Momentum::new(cfg), pen, dec)),
        OptimizerName::GroupAdagrad => Box::new(Group::new(Adagrad::new(cfg), pen, dec)),
        OptimizerName::GroupAdahessian => Box::new(Group::new(Adam::<true>::new(cfg), pen, dec)),
        OptimizerName::GroupAmsgrad => Box::new(Group::new(Amsgrad::new(cfg), pen, dec)),
        // group_adam, and the fallback for a name that is not a Group
        // optimizer (Optimizer::new never routes one here).
        _ => Box::new(Group::new(Adam::<false>::new(cfg), pen, dec)),
    }
}
