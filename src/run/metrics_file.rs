//! `metrics.json`: one type that a run writes and reporting reads back
//! (`experiment::runs`, pruning's fractions). Field order is the file's key
//! order. Reading fills what an older or hand-written file lacks with its
//! default, except the metrics every table needs (`auc` may be null).

use serde::{Deserialize, Serialize};

use crate::metrics::PrecisionRecall;
use crate::train::budget::MemoryEstimates;
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
    /// The memory budget's estimates (train::budget): before training and
    /// at the features seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_estimate: Option<MemoryEstimates>,
    /// Process CPU seconds (user + system, all threads) over the training
    /// loop, and their ratio to its wall time: the cores it kept busy.
    /// A resumed run counts only its own process's part of the loop.
    #[serde(default)]
    pub train_cpu_seconds: f64,
    #[serde(default)]
    pub train_cores_busy: f64,
    /// The part of `train_cpu_seconds` that pool workers spent spin-waiting
    /// for a job between a step's phases, and the cores busy without it.
    #[serde(default)]
    pub train_spin_cpu_seconds: f64,
    #[serde(default)]
    pub train_cores_working: f64,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a run writes reads back into the same type and writes the same
    /// bytes, and a file holding only the metrics tables need still reads.
    #[test]
    fn metrics_json_round_trips_and_partial_files_read() {
        let m = RunMetrics {
            run: "r".into(),
            version: "0.1.0".into(),
            git_commit: Some("abc".into()),
            seed: 3,
            threads: 2,
            model: "mlp".into(),
            optimizer: "group_adam".into(),
            auc: Some(0.75),
            logloss: 0.45,
            valid_auc: None,
            valid_logloss: Some(0.5),
            best_step: Some(7),
            stopped_early: true,
            feature_rate: 0.25,
            nonzero_features: 10,
            seen_features: 40,
            train_samples: 800,
            test_samples: 200,
            train_batches: 2,
            train_loss: 0.5,
            bad_rows: 1,
            wall_seconds: 1.5,
            train_seconds: 1.0,
            train_samples_per_second: 800.0,
            peak_rss_bytes: None,
            embedding_rows: 40,
            embedding_needed_bytes: 1000,
            embedding_held_bytes: 2000,
            memory_estimate: None,
            train_cpu_seconds: 1.5,
            train_cores_busy: 1.5,
            train_spin_cpu_seconds: 0.25,
            train_cores_working: 1.25,
            phases: PhaseTimes {
                read: 0.25,
                ..Default::default()
            },
            informative: None,
            prune_finetune: Some(0.1),
            prune_target_rate: None,
        };
        let text = serde_json::to_string_pretty(&m).unwrap();
        let back: RunMetrics = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);
        assert!(!text.contains("informative") && !text.contains("prune_target_rate"));

        let partial = r#"{"auc": null, "logloss": 0.5, "feature_rate": 0.1,
            "nonzero_features": 1, "seen_features": 10, "train_samples": 8,
            "test_samples": 2, "wall_seconds": 1.0, "train_samples_per_second": 8.0}"#;
        let p: RunMetrics = serde_json::from_str(partial).unwrap();
        assert_eq!((p.auc, p.seen_features, p.prune_finetune), (None, 10, None));
        assert_eq!((p.version.as_str(), p.phases.read), ("", 0.0));
        // A file without a metric every table needs is refused, by name.
        let err = serde_json::from_str::<RunMetrics>(r#"{"auc": 0.5}"#).unwrap_err();
        assert!(err.to_string().contains("logloss"), "{err}");
    }
}
