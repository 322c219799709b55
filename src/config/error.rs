//! The errors of a run config: reading, parsing, `--set` overrides and the
//! cross-field checks. Each message names the key at fault; `ConfigError`
//! adds the file.

use std::path::PathBuf;

use crate::data::DataError;
use crate::model::ModelError;
use crate::optim::{OptimizerConfigError, OptimizerName};

/// A run folder that could name a place outside `output`.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("{key} = {name:?}: {why}")]
    BadName {
        key: String,
        name: String,
        why: &'static str,
    },
    #[error("{} resolves to {}, outside the output folder {}", path.display(), real.display(), root.display())]
    Outside {
        path: PathBuf,
        real: PathBuf,
        root: PathBuf,
    },
}

/// A config file that cannot be used. The inner error is printed in the
/// message and not as a source, so a chain shows it once.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {error}")]
    Parse { path: PathBuf, error: ParseError },
    #[error("{path}: {error}")]
    Invalid { path: PathBuf, error: CheckError },
}

/// Config text that does not parse as a run config.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("this is a sweep file (it has `base`), not a run config: run it with `ctr-run sweep --config FILE`")]
    SweepFile,
    /// The TOML or serde message, with the nearest valid key suggested.
    #[error("{0}")]
    Toml(String),
    #[error("[{section}] needs `name` (one of: {})", OptimizerName::list())]
    MissingName { section: &'static str },
    #[error(transparent)]
    Key(#[from] DottedKeyError),
    /// A `--set` that breaks the file (`set`: the override as given).
    #[error("--set {set}: {error}")]
    Override { set: String, error: Box<ParseError> },
}

/// A dotted key that passes through a value that is not a table.
#[derive(Debug, thiserror::Error)]
#[error("key `{key}`: `{part}` is not inside a table")]
pub struct DottedKeyError {
    pub key: String,
    pub part: String,
}

/// A `--set` argument that is not `key=value`.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error("`{text}`: expected key=value (e.g. optimizer.lr=0.01)")]
    NoEquals { text: String },
    #[error("`{text}`: `{key}` is not a dotted config key")]
    BadKey { text: String, key: String },
}

/// A parsed config whose values do not work together.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Optimizer(OptimizerConfigError),
    /// The dense optimizer's error, its keys named `dense_optimizer.*`.
    #[error("{}", .0.to_string().replace("optimizer.", "dense_optimizer."))]
    DenseOptimizer(OptimizerConfigError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{key} must be > 0")]
    Zero { key: &'static str },
    #[error("train.{key} needs a validation split: set data.valid_fraction or data.valid_path")]
    NeedsValidation { key: &'static str },
    #[error("train.log_seconds must be >= 0 (0 = no progress lines), got {value}")]
    LogSeconds { value: f64 },
    #[error(transparent)]
    Prune(#[from] PruneConfigError),
    #[error("prune runs train with a plain optimizer, got optimizer.name = \"{name}\"")]
    PruneOptimizer { name: OptimizerName },
    #[error("train.{key} has no effect in a prune run (each fraction is scored on the validation split once, after pruning): remove it")]
    PruneEarlyStopping { key: &'static str },
    #[error(transparent)]
    RunDir(#[from] RunDirError),
}

/// A `[prune]` section out of range.
#[derive(Debug, thiserror::Error)]
pub enum PruneConfigError {
    #[error("prune.target_rate must be in (0, 1], got {value}")]
    TargetRate { value: f64 },
    #[error("prune.finetune must list at least one fraction")]
    NoFinetune,
    #[error("prune.finetune fractions must be in [0, 1), got {value}")]
    Finetune { value: f64 },
}
