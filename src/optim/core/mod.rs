//! Algorithm 1 of the Sparse Group Lasso paper, written once (docs/math.md).
//!
//! Every Group optimizer is this core plus a [`Rule`] that gives, for each
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
//! (`last_step` is a u32 and saturates at 2^32 - 1: exactness holds for the
//! first 4 billion batches.)
//!
//! State layout of a group of size d: `(1 + R::SLOTS) * d` floats, column
//! by column `[z[0..d], slot_1[0..d], ..]`, so every loop runs over
//! contiguous f32 columns and vectorizes. Groups are processed in chunks of
//! [`CHUNK`] parameters: the rule fills m_t, D_t, D_prev for a chunk into
//! stack arrays, then the core applies lines 6-10 (no allocation).

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

use super::row::{fits, stamp};
use super::{GroupNorm, GroupRule, GroupUpdate, LrDecay, OptimizerSpec};

/// Parameters per chunk of a group (the size of the stack buffers).
pub const CHUNK: usize = 64;

/// What a rule reports for a chunk of parameters at one step (the first
/// `n` entries of each array are used).
#[derive(Clone, Debug)]
pub struct Moments {
    /// First moment m_t (Algorithm 1, line 4).
    pub m: [f32; CHUNK],
    /// D_t = sqrt(V_t)/alpha_t (+ epsilon term), without the lr decay.
    pub d: [f32; CHUNK],
    /// D of the group's previous update (0 if never updated).
    pub d_prev: [f32; CHUNK],
}

impl Default for Moments {
    fn default() -> Self {
        Self {
            m: [0.0; CHUNK],
            d: [0.0; CHUNK],
            d_prev: [0.0; CHUNK],
        }
    }
}

/// One Group optimizer's rule for m_t and V_t (the table of docs/math.md).
pub trait Rule: Send + Sync + std::fmt::Debug + 'static {
    /// f32 state columns per group besides z.
    const SLOTS: usize;
    /// Whether `advance` reads the Hessian-diagonal estimate `h`.
    const NEEDS_HESSIAN: bool = false;
    /// Per-group values derived from the group's last-update step.
    type Ctx: Copy;
    /// Precompute per-step scalars for global step `t` (1-based).
    fn prepare(&mut self, t: u64);
    /// Per-group context for a group last updated at step `last` (0 = never).
    fn ctx(&self, last: u32) -> Self::Ctx;
    /// For a chunk of a group's parameters: advance their state columns
    /// `cols` with gradients `g` (curvatures `h`) and write m_t, D_t,
    /// D_prev into the first `g.len()` entries of `out`.
    fn advance(&self, ctx: Self::Ctx, g: &[f32], h: &[f32], cols: Columns<'_>, out: &mut Moments);
}

/// A rule's state columns (each of the group's size d, after z), seen
/// through the current chunk of parameters `lo..lo + len`.
pub struct Columns<'a> {
    slots: &'a mut [f32],
    d: usize,
    lo: usize,
}

impl<'a> Columns<'a> {
    /// The first `K` columns restricted to the chunk's `len` parameters.
    #[inline(always)]
    pub fn take<const K: usize>(self, len: usize) -> [&'a mut [f32]; K] {
        let lo = self.lo;
        let mut it = self.slots.chunks_exact_mut(self.d.max(1));
        // update_group checked the state length, so every column exists.
        std::array::from_fn(|_| match it.next() {
            Some(c) => &mut c[lo..lo + len],
            None => &mut [],
        })
    }
}

/// The regularization part of Algorithm 1, shared by every rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupPenalty {
    pub lambda1: f32,
    pub lambda21: f32,
    pub lambda2: f32,
    pub norm: GroupNorm,
}

impl GroupPenalty {
    pub fn from_config(cfg: &OptimizerSpec) -> Self {
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
/// NOTE: the paper's Eq. (10) writes s~ = s / (D/2 + lambda2);
/// the substitution y = A^(1/2) x of the paper's own proof (Eq. 28-29) gives
/// s~ = A^(-1/2) s with A = diag(D/2 + lambda2), i.e. the square root. Only
/// the square-root form makes the update the exact minimizer of Eq. (24)
/// (checked by tests/suite/optim_theorem1.rs, which also shows the Eq. (10) form
/// is not), so that is what `weighted` computes.
#[inline(always)]
pub fn weighted_sq(s: f32, d: f32, lambda2: f32) -> f32 {
    s * s / (0.5 * d + lambda2).max(f32::MIN_POSITIVE)
}

/// The per-element contribution to `||s~||^2` with the paper's Eq. (10) as
/// printed, s~_i = s_i / (D_i/2 + lambda2) (no square root): the paper's
/// printed variant, not an exact minimizer (see [`weighted_sq`]).
#[inline(always)]
pub fn paper_eq10_sq(s: f32, d: f32, lambda2: f32) -> f32 {
    let s_tilde = s / (0.5 * d + lambda2).max(f32::MIN_POSITIVE);
    s_tilde * s_tilde
}

/// [`GroupNorm`] as a const generic for the fused loop.
const NORM_PLAIN: u8 = 0;
const NORM_WEIGHTED: u8 = 1;
const NORM_EQ10: u8 = 2;

/// One element's contribution to the squared group norm under `NORM`.
#[inline(always)]
fn norm_sq_of<const NORM: u8>(s: f32, d: f32, lambda2: f32) -> f32 {
    match NORM {
        NORM_WEIGHTED => weighted_sq(s, d, lambda2),
        NORM_EQ10 => paper_eq10_sq(s, d, lambda2),
        _ => s * s,
    }
}

/// The minimizer of Eq. (24) for one group given z_t and D_t (the closed
/// form of Theorem 1 / Algorithm 1 line 10), written into `x`. Exposed for
/// tests and tools; the optimizers run the fused loop in [`Group`].
pub fn closed_form(p: &GroupPenalty, z: &[f32], dd: &[f32], x: &mut [f32]) {
    let mut norm_sq = 0.0f32;
    for ((x, &z), &dd) in x.iter_mut().zip(z).zip(dd) {
        let s = soft_threshold(z, p.lambda1);
        norm_sq += match p.norm {
            GroupNorm::Plain => s * s,
            GroupNorm::Weighted => weighted_sq(s, dd, p.lambda2),
            GroupNorm::PaperEq10 => paper_eq10_sq(s, dd, p.lambda2),
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
    pub penalty: GroupPenalty,
    decay: LrDecay,
    /// `decay_divisor` of the prepared step.
    decay_now: f32,
}

impl<R: Rule> Group<R> {
    pub fn new(rule: R, penalty: GroupPenalty, decay: LrDecay) -> Self {
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
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.update_group_avx2(t, w, state, last_step, g, h) };
        }
        self.update_group_body(t, w, state, last_step, g, h)
    }
}

impl<R: Rule> Group<R> {
    /// `update_group` compiled for AVX2: 8-lane vectors instead of SSE2's 4
    /// (the build targets baseline x86-64). The values are the same bits:
    /// AVX2 does the same IEEE operations lane by lane, and without the
    /// `fma` feature no multiply and add are fused.
    ///
    /// The slices stay separate parameters, not one struct: only function
    /// parameters tell LLVM that `w`, `state` and `g` do not alias. Bundled
    /// in a struct they lost that, and the dense update ran 1.4-1.7x slower
    /// (measured 2026-12-07, 8M-row epoch).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn update_group_avx2(
        &self,
        t: u64,
        w: &mut [f32],
        state: &mut [f32],
        last_step: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        self.update_group_body(t, w, state, last_step, g, h)
    }

    /// Algorithm 1 on one group (`GroupUpdate::update_group`).
    #[inline(always)]
    fn update_group_body(
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
        // Without a Hessian estimate, AdaHessian falls back to g (= Adam).
        let h = if R::NEEDS_HESSIAN { h.unwrap_or(g) } else { g };
        let (z, slots) = state.split_at_mut(d.min(state.len()));
        let mut mo = Moments::default();
        let mut norm_sq = 0.0f32;
        let mut lo = 0;
        // Pass 1, chunk by chunk: the rule's m_t, D_t, D_prev, then lines
        // 6-8 and the unshrunk line 10 while accumulating the group norm.
        while lo < d {
            let hi = (lo + CHUNK).min(d);
            let cols = Columns {
                slots: &mut *slots,
                d,
                lo,
            };
            self.rule
                .advance(ctx, &g[lo..hi], &h[lo..hi], cols, &mut mo);
            let (x, z) = (&mut w[lo..hi], &mut z[lo..hi]);
            norm_sq += match p.norm {
                GroupNorm::Plain => apply::<NORM_PLAIN>(&p, dec_now, dec_prev, &mo, z, x),
                GroupNorm::Weighted => apply::<NORM_WEIGHTED>(&p, dec_now, dec_prev, &mo, z, x),
                GroupNorm::PaperEq10 => apply::<NORM_EQ10>(&p, dec_now, dec_prev, &mo, z, x),
            };
            lo = hi;
        }
        // Pass 2: the l2,1 shrinkage of the whole group (line 10).
        shrink(w, p.lambda21, norm_sq);
        stamp(last_step, t);
    }
}

/// Lanes of the norm accumulator: independent partial sums let the loop
/// vectorize without reassociating f32 additions (the result stays
/// deterministic).
const LANES: usize = 8;

/// Lines 6-8 of Algorithm 1 and the unshrunk line 10 for one chunk:
/// z += m - (D - D_prev) x; s = soft(z); x = s / (D + 2 lambda2). Returns
/// the chunk's squared group norm (as `NORM` measures it).
#[inline(always)]
fn apply<const NORM: u8>(
    p: &GroupPenalty,
    dec_now: f32,
    dec_prev: f32,
    mo: &Moments,
    z: &mut [f32],
    x: &mut [f32],
) -> f32 {
    let n = x.len().min(z.len()).min(CHUNK);
    let (x, z) = (&mut x[..n], &mut z[..n]);
    let (m, dn, dp) = (&mo.m[..n], &mo.d[..n], &mo.d_prev[..n]);
    let two_l2 = 2.0 * p.lambda2;
    let mut acc = [0.0f32; LANES];
    // Full lanes as fixed-size arrays: no bounds checks, so LLVM vectorizes.
    let mut xs = x.chunks_exact_mut(LANES);
    let mut zs = z.chunks_exact_mut(LANES);
    let (mut ms, mut dns, mut dps) = (
        m.chunks_exact(LANES),
        dn.chunks_exact(LANES),
        dp.chunks_exact(LANES),
    );
    for ((((x8, z8), m8), dn8), dp8) in (&mut xs)
        .zip(&mut zs)
        .zip(&mut ms)
        .zip(&mut dns)
        .zip(&mut dps)
    {
        let (Ok(x8), Ok(z8)) = (
            <&mut [f32; LANES]>::try_from(x8),
            <&mut [f32; LANES]>::try_from(z8),
        ) else {
            continue;
        };
        let (Ok(m8), Ok(dn8), Ok(dp8)) = (
            <&[f32; LANES]>::try_from(m8),
            <&[f32; LANES]>::try_from(dn8),
            <&[f32; LANES]>::try_from(dp8),
        ) else {
            continue;
        };
        for l in 0..LANES {
            acc[l] += element::<NORM>(
                p, two_l2, dec_now, dec_prev, m8[l], dn8[l], dp8[l], &mut z8[l], &mut x8[l],
            );
        }
    }
    let tail = xs.into_remainder().iter_mut().zip(zs.into_remainder());
    for ((((x, z), &m), &dn), &dp) in tail
        .zip(ms.remainder())
        .zip(dns.remainder())
        .zip(dps.remainder())
    {
        acc[0] += element::<NORM>(p, two_l2, dec_now, dec_prev, m, dn, dp, z, x);
    }
    acc.iter().sum()
}

/// One parameter of [`apply`]; returns its norm contribution.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn element<const NORM: u8>(
    p: &GroupPenalty,
    two_l2: f32,
    dec_now: f32,
    dec_prev: f32,
    m: f32,
    dn: f32,
    dp: f32,
    z: &mut f32,
    x: &mut f32,
) -> f32 {
    let d_now = dn * dec_now;
    let d_prev = dp * dec_prev;
    // x_t is read before it is overwritten by x_{t+1}.
    *z += m - (d_now - d_prev) * *x;
    let s = soft_threshold(*z, p.lambda1);
    *x = s / (d_now + two_l2).max(f32::MIN_POSITIVE);
    norm_sq_of::<NORM>(s, d_now, p.lambda2)
}

/// Ask the CPU to start loading `data` into cache (one hint per 64-byte
/// line). Updating randomly chosen embedding rows is bound by memory
/// latency, not arithmetic; a caller that knows the next rows (an embedding
/// store walking a batch's touched rows) prefetches a few rows ahead so the
/// loads overlap. A no-op off x86_64.
#[inline(always)]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of_val(data);
        let base = data.as_ptr().cast::<i8>();
        let mut off = 0;
        while off < bytes {
            // SAFETY: a prefetch is only a hint, never faults and never
            // dereferences; the address is inside `data` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(off)) };
            off += 64;
        }
        if bytes > 0 {
            // SAFETY: as above; the last byte covers a straddled line.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(bytes - 1)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Build the Group optimizer `rule` names.
pub fn build(rule: GroupRule, spec: &OptimizerSpec) -> Box<dyn GroupUpdate> {
    let pen = GroupPenalty::from_config(spec);
    let dec = spec.lr_decay;
    match rule {
        GroupRule::Sgd => Box::new(Group::new(Sgd::new(spec), pen, dec)),
        GroupRule::Momentum => Box::new(Group::new(Momentum::new(spec), pen, dec)),
        GroupRule::Adagrad => Box::new(Group::new(Adagrad::new(spec), pen, dec)),
        GroupRule::Adam => Box::new(Group::new(Adam::<false>::new(spec), pen, dec)),
        GroupRule::Amsgrad => Box::new(Group::new(Amsgrad::new(spec), pen, dec)),
        GroupRule::Adahessian => Box::new(Group::new(Adam::<true>::new(spec), pen, dec)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 build of Algorithm 1 is the baseline build to the bit, for
    /// every rule, norm and decay, on groups shorter than, equal to and
    /// longer than a chunk, over steps that shrink some groups to zero.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_update_is_the_baseline_update_to_the_bit() {
        use crate::optim::config::OptimizerConfig;
        use crate::rng::SplitMix64;
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        fn compare<R: Rule>(make: impl Fn() -> Group<R>, what: &str) {
            let (mut avx, mut base) = (make(), make());
            let mut r = SplitMix64::new(3);
            for d in [3, 16, 64, 100] {
                let sl = base.state_len(d);
                let mut w: Vec<f32> = (0..d).map(|_| r.normal() as f32 * 0.1).collect();
                let mut s = vec![0.0f32; sl];
                base.init_state(&w, &mut s);
                let (mut w2, mut s2) = (w.clone(), s.clone());
                let (mut last, mut last2) = (0u32, 0u32);
                for t in 1..=6u64 {
                    avx.prepare_step(t);
                    base.prepare_step(t);
                    let scale = if t % 3 == 0 { 1e-4 } else { 1.0 };
                    let g: Vec<f32> = (0..d).map(|_| r.normal() as f32 * scale).collect();
                    let h: Vec<f32> = g.iter().map(|x| x.abs() + 0.01).collect();
                    // SAFETY: the CPU has AVX2 (checked above).
                    unsafe { avx.update_group_avx2(t, &mut w, &mut s, &mut last, &g, Some(&h)) };
                    base.update_group_body(t, &mut w2, &mut s2, &mut last2, &g, Some(&h));
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&w), bits(&w2), "{what}, d {d}, step {t}: weights");
                    assert_eq!(bits(&s), bits(&s2), "{what}, d {d}, step {t}: state");
                    assert_eq!(last, last2);
                }
            }
        }
        for norm in ["plain", "weighted", "paper_eq10"] {
            for decay in ["constant", "inv_sqrt"] {
                let spec = |name: &str| {
                    let text = format!(
                        "name = \"{name}\"\nlr = 0.05\nlambda1 = 1e-3\nlambda21 = 2e-2\n\
                         lambda2 = 1e-4\ngroup_norm = \"{norm}\"\nlr_decay = \"{decay}\"\n"
                    );
                    toml::from_str::<OptimizerConfig>(&text)
                        .unwrap()
                        .check()
                        .unwrap()
                };
                let what = |name: &str| format!("{name}, {norm}, {decay}");
                macro_rules! check {
                    ($name:literal, $rule:expr) => {
                        let s = spec($name);
                        let make = || {
                            let rule = $rule(&s);
                            Group::new(rule, GroupPenalty::from_config(&s), s.lr_decay)
                        };
                        compare(make, &what($name));
                    };
                }
                check!("group_sgd", Sgd::new);
                check!("group_momentum", Momentum::new);
                check!("group_adagrad", Adagrad::new);
                check!("group_adam", Adam::<false>::new);
                check!("group_amsgrad", Amsgrad::new);
                check!("group_adahessian", Adam::<true>::new);
            }
        }
    }

    #[test]
    fn soft_threshold_is_minus_sign_times_shrunk_magnitude() {
        assert_eq!(soft_threshold(3.0, 1.0), -2.0);
        assert_eq!(soft_threshold(-3.0, 1.0), 2.0);
        assert_eq!(soft_threshold(0.5, 1.0), 0.0);
        assert_eq!(soft_threshold(-1.0, 1.0), 0.0);
        assert_eq!(soft_threshold(2.5, 0.0), -2.5);
    }

    /// Algorithm 1 line 10 by hand: z = (-3, 4, 0.5), D = (2, 2, 2),
    /// lambda1 = 1, lambda21 = 1, lambda2 = 0.5, d = 3:
    /// s = (2, -3, 0), |s| = sqrt(13), factor 1 - sqrt(3)/sqrt(13),
    /// x = factor * s / (D + 1).
    #[test]
    fn closed_form_plain_matches_hand_computation() {
        let p = GroupPenalty {
            lambda1: 1.0,
            lambda21: 1.0,
            lambda2: 0.5,
            norm: GroupNorm::Plain,
        };
        let mut x = [0.0f32; 3];
        closed_form(&p, &[-3.0, 4.0, 0.5], &[2.0, 2.0, 2.0], &mut x);
        let f = 1.0 - (3.0f64 / 13.0).sqrt();
        let want = [f * 2.0 / 3.0, f * -3.0 / 3.0, 0.0];
        for (a, b) in x.iter().zip(want) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{x:?} vs {want:?}");
        }
        // a threshold above |s| zeroes the group
        let p0 = GroupPenalty { lambda21: 2.1, ..p };
        closed_form(&p0, &[-3.0, 4.0, 0.5], &[2.0, 2.0, 2.0], &mut x);
        assert_eq!(x, [0.0; 3]);
    }

    #[test]
    fn group_scale_is_zero_at_or_below_threshold() {
        assert_eq!(group_scale(4, 1.0, 4.0), 0.0); // |s| = 2 = sqrt(4) * 1
        assert!((group_scale(4, 1.0, 16.0) - 0.5).abs() < 1e-7);
        assert_eq!(group_scale(4, 0.0, 0.0), 0.0);
    }
}
