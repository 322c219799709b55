//! Wall time per phase of the training step, for `ctr-run bench` and
//! `metrics.json`: where the time goes is the first question of any
//! performance work.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the reader thread's next batch.
    Read,
    /// Resolving keys to rows and pooling their embeddings.
    Gather,
    /// Model forward and backward (candle).
    ForwardBackward,
    /// Hessian-vector products (AdaHessian only).
    Hessian,
    /// Dense-layer optimizer update.
    DenseUpdate,
    /// Scattering embedding gradients to rows and updating them.
    SparseUpdate,
    /// Scoring the test split.
    Evaluate,
}

/// Accumulated seconds per phase.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PhaseTimes {
    pub read: f64,
    pub gather: f64,
    pub forward_backward: f64,
    pub hessian: f64,
    pub dense_update: f64,
    pub sparse_update: f64,
    pub evaluate: f64,
}

impl PhaseTimes {
    pub fn add(&mut self, phase: Phase, d: Duration) {
        let s = d.as_secs_f64();
        match phase {
            Phase::Read => self.read += s,
            Phase::Gather => self.gather += s,
            Phase::ForwardBackward => self.forward_backward += s,
            Phase::Hessian => self.hessian += s,
            Phase::DenseUpdate => self.dense_update += s,
            Phase::SparseUpdate => self.sparse_update += s,
            Phase::Evaluate => self.evaluate += s,
        }
    }

    /// Time `f` and charge it to `phase`.
    #[inline]
    pub fn time<T>(&mut self, phase: Phase, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = f();
        self.add(phase, t0.elapsed());
        out
    }

    /// (name, seconds) pairs in step order, for printing.
    pub fn rows(&self) -> [(&'static str, f64); 7] {
        [
            ("read", self.read),
            ("gather", self.gather),
            ("forward+backward", self.forward_backward),
            ("hessian", self.hessian),
            ("dense update", self.dense_update),
            ("sparse update", self.sparse_update),
            ("evaluate", self.evaluate),
        ]
    }
}
