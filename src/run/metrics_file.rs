//! `metrics.json`: one type that a run writes and reporting reads back
//! (`experiment::runs`, pruning's fractions). Field order is the file's key
//! order. Reading fills what an older or hand-written file lacks with its
//! default, except the metrics every table needs (`auc` may be null).

use serde::{Deserialize, Serialize};

use crate::metrics::PrecisionRecall;
use crate::train::PhaseTimes;

/// What `metrics.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunMetrics {
    #[serde(default)]
    pub run: String,
    #[serde(default)]
    pub version: String,
    /// The commit ctr-run was built from (build.rs; null outside a git
    /// checkout).
    #[serde(default)]
    pub git_commit: Option<String>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub threads: usize,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub optimizer: String,
    pub auc: Option<f64>,
    pub logloss: f64,
    /// On the validation split, for the state the test split scored
    /// (null without a validation split).
    #[serde(default)]
    pub valid_auc: Option<f64>,
    #[serde(default)]
    pub valid_logloss: Option<f64>,
    /// Batches trained at the best validation logloss (null without one).
    #[serde(default)]
    pub best_step: Option<u64>,
    /// Whether `[train] patience` ran out before the last epoch's end.
    #[serde(default)]
    pub stopped_early: bool,
    /// Non-zero embedding rows / rows seen in training.
    pub feature_rate: f64,
    pub nonzero_features: u64,
    pub seen_features: u64,
    pub train_samples: u64,
    pub test_samples: u64,
    #[serde(default)]
    pub train_batches: u64,
    #[serde(default)]
    pub train_loss: f64,
    #[serde(default)]
    pub bad_rows: u64,
    pub wall_seconds: f64,
    #[serde(default)]
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    #[serde(default)]
    pub embedding_rows: u64,
    /// Bytes the rows' weights and optimizer slots need.
    #[serde(default)]
    pub embedding_needed_bytes: u64,
    /// Bytes the store holds for them (chunks, index, per-row steps).
    #[serde(default)]
    pub embedding_held_bytes: u64,
    #[serde(default)]
    pub phases: PhaseTimes,
    /// On synthetic data with a planted model: kept (non-zero) features vs
    /// the truly informative ones seen in training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub informative: Option<PrecisionRecall>,
    /// Set by `ctr-run prune`: the fine-tune fraction these metrics are of
    /// (a pruning run's own `metrics.json`: its first configured fraction;
    /// tables choose r over all seeds, see `experiment::prune`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_finetune: Option<f64>,
    /// Set by `ctr-run prune`: the feature rate that was targeted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_target_rate: Option<f64>,
}
