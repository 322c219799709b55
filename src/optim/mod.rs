//! Optimizers over groups of f32 parameters.
//!
//! A *group* is a contiguous slice of `d` parameters: one embedding row, or
//! one row of a dense weight matrix stored as (in, out) (docs/math.md). Every
//! optimizer here updates one group at a time through [`GroupUpdate`], so the
//! same code serves dense tensors (every row, every step) and lazily updated
//! embedding tables (only the rows a batch touched).
//!
//! Layout of the module:
//! - `core`: Algorithm 1 of the Sparse Group Lasso paper, written once, and
//!   the per-optimizer rules for m_t and V_t that feed it (`group_*`).
//! - `plain`: the plain optimizers (SGD, Momentum, Adagrad, Adam, AMSGrad,
//!   AdaHessian) and FTRL-Proximal, written independently of `core` so that
//!   tests compare two implementations that share no code.
//! - `prox`: ProxGen and its baselines (second paper).
//!
//! State of a group is a plain `&mut [f32]` of `state_len(d)` floats plus a
//! `u32` holding the global step of the group's last update (0 = never
//! updated), so checkpoints are byte copies and need no extra code.

mod config;
pub use config::{
    Family, GroupNorm, GroupRule, LrDecay, OptimizerConfig, OptimizerConfigError, OptimizerName,
    OptimizerSpec, PlainRule, ProxRule, Regularizer,
};

pub mod core;
pub mod hessian;
pub mod plain;
pub mod prox;
pub mod row;

/// One optimizer's rule for updating one group.
///
/// Implementations hold only hyperparameters and per-step scalars; all
/// per-parameter state lives in the caller's `state` slices.
pub trait GroupUpdate: Send + Sync + std::fmt::Debug {
    /// Number of f32 state values for a group of size `d`.
    fn state_len(&self, d: usize) -> usize;

    /// Initial state of a fresh group whose starting weights are `w`.
    fn init_state(&self, _w: &[f32], state: &mut [f32]) {
        state.fill(0.0);
    }

    /// Whether `update_group` needs a Hessian-diagonal estimate (AdaHessian).
    fn needs_hessian(&self) -> bool {
        false
    }

    /// Called once per global step `t` (1-based), before any `update_group`
    /// of that step: precompute bias corrections and other per-step scalars.
    fn prepare_step(&mut self, t: u64);

    /// Update one group in place at global step `t`.
    ///
    /// `g` is the gradient of the group (summed over every occurrence in the
    /// batch for embedding rows), `h` the Hessian-diagonal estimate when
    /// `needs_hessian()`. `last_step` is the global step of this group's
    /// previous update (0 if never updated); the implementation sets it to `t`
    /// with [`row::stamp`], after checking the slices with [`row::fits`].
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        state: &mut [f32],
        last_step: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    );
}

/// A validated optimizer with its global step counter (docs/math.md: one counter
/// per optimizer, counted in batches).
#[derive(Debug)]
pub struct Optimizer {
    step: u64,
    rule: Box<dyn GroupUpdate>,
}

/// Weights per parallel task of `Optimizer::update_dense`: enough work to
/// outweigh a task's hand-off, small enough to split the largest layers.
const DENSE_FLOATS_PER_TASK: usize = 16 * 1024;

impl Optimizer {
    /// Build the optimizer a checked config names.
    pub fn new(spec: &OptimizerSpec) -> Self {
        let rule: Box<dyn GroupUpdate> = match spec.family() {
            Family::Plain(r) => plain::build(r, spec),
            Family::Group(r) => core::build(r, spec),
            Family::Prox(r) => prox::build(r, spec),
        };
        Self { step: 0, rule }
    }

    /// The global step: number of `begin_step` calls so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Restore the global step (checkpoints).
    pub fn set_step(&mut self, t: u64) {
        self.step = t;
        if t > 0 {
            self.rule.prepare_step(t);
        }
    }

    /// Start a new global step; call once per batch before updating groups.
    pub fn begin_step(&mut self) {
        self.step += 1;
        self.rule.prepare_step(self.step);
    }

    pub fn state_len(&self, d: usize) -> usize {
        self.rule.state_len(d)
    }

    pub fn init_state(&self, w: &[f32], state: &mut [f32]) {
        self.rule.init_state(w, state)
    }

    pub fn needs_hessian(&self) -> bool {
        self.rule.needs_hessian()
    }

    /// Update one group at the current global step.
    #[inline]
    pub fn update_group(
        &self,
        w: &mut [f32],
        state: &mut [f32],
        last_step: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        debug_assert!(self.step > 0, "begin_step must be called before updates");
        self.rule.update_group(self.step, w, state, last_step, g, h)
    }

    /// Update a whole dense parameter of shape (rows, d), row-major, every
    /// row being a group. `state` holds `rows * state_len(d)` values and
    /// `last_steps` one entry per row. Blocks of rows are updated in
    /// parallel: each row by one task, so the bits do not depend on the
    /// thread count.
    pub fn update_dense(
        &self,
        d: usize,
        w: &mut [f32],
        state: &mut [f32],
        last_steps: &mut [u32],
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        let rows = last_steps.len();
        let sl = self.state_len(d);
        assert_eq!(w.len(), rows * d, "weights are not rows x d");
        assert_eq!(g.len(), rows * d, "gradient is not rows x d");
        assert_eq!(state.len(), rows * sl, "state is not rows x state_len");
        let rows_per_task = (DENSE_FLOATS_PER_TASK / d.max(1)).max(1);
        if rows <= rows_per_task || rayon::current_num_threads() == 1 {
            return self.update_rows(d, sl, w, state, last_steps, g, h);
        }
        rayon::scope(|scope| {
            let (mut w, mut state, mut last_steps, mut g, mut h) = (w, state, last_steps, g, h);
            while !last_steps.is_empty() {
                let n = rows_per_task.min(last_steps.len());
                let (w0, w1) = std::mem::take(&mut w).split_at_mut(n * d);
                let (s0, s1) = std::mem::take(&mut state).split_at_mut(n * sl);
                let (l0, l1) = std::mem::take(&mut last_steps).split_at_mut(n);
                let (g0, g1) = g.split_at(n * d);
                let (h0, h1) = match h {
                    Some(h) => {
                        let (a, b) = h.split_at(n * d);
                        (Some(a), Some(b))
                    }
                    None => (None, None),
                };
                scope.spawn(move |_| self.update_rows(d, sl, w0, s0, l0, g0, h0));
                (w, state, last_steps, g, h) = (w1, s1, l1, g1, h1);
            }
        });
    }

    /// `update_dense` on one block of rows, serially.
    #[allow(clippy::too_many_arguments)]
    fn update_rows(
        &self,
        d: usize,
        sl: usize,
        w: &mut [f32],
        state: &mut [f32],
        last_steps: &mut [u32],
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        for (r, last) in last_steps.iter_mut().enumerate() {
            let hr = h.map(|h| &h[r * d..(r + 1) * d]);
            self.update_group(
                &mut w[r * d..(r + 1) * d],
                &mut state[r * sl..(r + 1) * sl],
                last,
                &g[r * d..(r + 1) * d],
                hr,
            );
        }
    }
}
