//! The experiment config of one run (`ctr-run train --config X.toml`),
//! parsed and validated once, with errors that name the key and suggest the
//! nearest valid one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::DataConfig;
use crate::model::{DeviceSpec, ModelConfig};
use crate::optim::{OptimizerConfig, OptimizerConfigError};

mod error;
pub use error::{
    CheckError, ConfigError, DottedKeyError, OverrideError, ParseError, PruneConfigError,
    RunDirError,
};

/// One training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run name: the folder under `output` (default: the config file's stem).
    #[serde(default)]
    pub name: String,
    /// Seed of everything random: embedding init, dense init, dropout, sampling.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Worker threads (rayon pool for the optimizer and matrix products).
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Parent folder of run folders.
    #[serde(default = "default_output")]
    pub output: PathBuf,
    /// Where the dense model computes: "cpu" | "cuda" | "cuda:N". Left out of
    /// written configs when "cpu", so CPU runs' config.toml are unchanged.
    #[serde(default, skip_serializing_if = "DeviceSpec::is_cpu")]
    pub device: DeviceSpec,
    pub data: DataConfig,
    pub model: ModelConfig,
    /// Optimizer of the embedding tables (the regularized ones).
    pub optimizer: OptimizerConfig,
    /// Optimizer of the dense layers; default: `optimizer` with every lambda 0 (docs/math.md).
    #[serde(default)]
    pub dense_optimizer: Option<OptimizerConfig>,
    #[serde(default)]
    pub train: TrainConfig,
    /// Present for a magnitude-pruning baseline run (docs/metrics.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneConfig>,
}

/// The training loop's own settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Samples per batch (docs/models.md: 512).
    pub batch_size: usize,
    /// Passes over the training stream (the paper: 1).
    pub epochs: usize,
    /// A training-curve point (loss, progressive AUC) every this many batches.
    pub log_every: usize,
    /// Write `predictions.csv` (label, score) for the test split.
    pub predictions: bool,
    /// Stop after this many batches (quick runs); 0 = no limit.
    pub max_batches: u64,
    /// Checkpoint every this many batches; 0 = off.
    pub checkpoint_every: u64,
    /// Save the final state (what `ctr-run export` reads) even with
    /// `checkpoint_every = 0`; with checkpoints on it is always saved.
    pub save_model: bool,
    /// Show a progress bar (only when stderr is a terminal anyway).
    pub progress: bool,
    /// With a validation split: evaluate on it every this many batches
    /// (0 = only at the end of each epoch, which is always evaluated).
    pub eval_every: u64,
    /// Stop after this many validation evaluations without a better
    /// validation logloss (0 = never stop early).
    pub patience: u64,
    /// Score the test split with the state of the best validation logloss
    /// rather than the last one.
    pub restore_best: bool,
    /// Write `features.csv` and `kept_features.csv` for a sparse run (one
    /// extra pass over the training file after training).
    pub feature_report: bool,
    /// Without a terminal (Slurm, nohup, a pipe): a progress line every this
    /// many seconds instead of the bar; 0 = none.
    pub log_seconds: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            batch_size: 512,
            epochs: 1,
            log_every: 100,
            predictions: false,
            max_batches: 0,
            checkpoint_every: 0,
            save_model: false,
            progress: true,
            eval_every: 0,
            patience: 0,
            restore_best: true,
            feature_report: true,
            log_seconds: 30.0,
        }
    }
}

/// The `[prune]` section of a run config: the magnitude-pruning baseline
/// (`experiment::prune` runs it; docs/metrics.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneConfig {
    /// Feature rate to reach: non-zero rows / rows seen, in (0, 1].
    pub target_rate: f64,
    /// Fractions r of the training stream kept for fine-tuning (paper: 0, 10%, 20%, 30%).
    pub finetune: Vec<f64>,
}

impl Default for PruneConfig {
    fn default() -> Self {
        Self {
            target_rate: 0.1,
            finetune: vec![0.0, 0.1, 0.2, 0.3],
        }
    }
}

impl PruneConfig {
    pub fn check(&self) -> Result<(), PruneConfigError> {
        if !(self.target_rate > 0.0 && self.target_rate <= 1.0) {
            return Err(PruneConfigError::TargetRate {
                value: self.target_rate,
            });
        }
        if self.finetune.is_empty() {
            return Err(PruneConfigError::NoFinetune);
        }
        if let Some(&value) = self.finetune.iter().find(|r| !(0.0..1.0).contains(*r)) {
            return Err(PruneConfigError::Finetune { value });
        }
        Ok(())
    }
}

fn default_seed() -> u64 {
    42
}
fn default_threads() -> usize {
    2
}
fn default_output() -> PathBuf {
    PathBuf::from("results")
}

impl RunConfig {
    /// Read, parse and validate a config file.
    // A `ConfigError` is large (it carries the file and the parser's
    // message) but is built once, when a run is refused: not worth a box.
    #[allow(clippy::result_large_err)]
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with(path, &[])
    }

    /// `load` with `--set key=value` overrides applied to the file's keys
    /// before parsing, so they are validated exactly like the file.
    #[allow(clippy::result_large_err)]
    pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parse_error = |error| ConfigError::Parse {
            path: path.to_path_buf(),
            error,
        };
        let text = apply_overrides(&text, overrides).map_err(parse_error)?;
        let mut cfg = Self::parse(&text).map_err(parse_error)?;
        if cfg.name.is_empty() {
            cfg.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into());
        }
        // Relative data paths are relative to the config file, so configs can
        // be run from any working directory.
        if let Some(dir) = path.parent() {
            resolve_data_paths(&mut cfg.data, dir);
        }
        cfg.check().map_err(|error| ConfigError::Invalid {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(cfg)
    }

    /// Parse TOML text; an unknown key gets the nearest valid key suggested.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if let Ok(table) = text.parse::<toml::Table>() {
            if table.contains_key("base") && !table.contains_key("data") {
                return Err(ParseError::SweepFile);
            }
        }
        let cfg = toml::from_str(text).map_err(toml_error)?;
        require_optimizer_names(text)?;
        Ok(cfg)
    }

    /// Every cross-field rule, once.
    pub fn check(&self) -> Result<(), CheckError> {
        self.optimizer.check().map_err(CheckError::Optimizer)?;
        if let Some(d) = &self.dense_optimizer {
            d.check().map_err(CheckError::DenseOptimizer)?;
        }
        self.data.check()?;
        self.model.check()?;
        for (key, value) in [
            ("train.batch_size", self.train.batch_size),
            ("train.epochs", self.train.epochs),
            ("train.log_every", self.train.log_every),
        ] {
            if value == 0 {
                return Err(CheckError::Zero { key });
            }
        }
        if !self.data.has_validation() {
            for (key, set) in [
                ("eval_every", self.train.eval_every > 0),
                ("patience", self.train.patience > 0),
            ] {
                if set {
                    return Err(CheckError::NeedsValidation { key });
                }
            }
        }
        if !(self.train.log_seconds >= 0.0 && self.train.log_seconds.is_finite()) {
            return Err(CheckError::LogSeconds {
                value: self.train.log_seconds,
            });
        }
        if let Some(p) = &self.prune {
            p.check()?;
            if self.optimizer.name.is_group() || self.optimizer.name.is_prox() {
                return Err(CheckError::PruneOptimizer {
                    name: self.optimizer.name,
                });
            }
            // Each fraction is scored on the validation split once, after its
            // last prune: there is no early stopping to configure.
            for (key, set) in [
                ("eval_every", self.train.eval_every > 0),
                ("patience", self.train.patience > 0),
            ] {
                if set {
                    return Err(CheckError::PruneEarlyStopping { key });
                }
            }
        }
        if self.threads == 0 {
            return Err(CheckError::Zero { key: "threads" });
        }
        check_folder_name("name", &self.name)?;
        Ok(())
    }

    /// The run folder, refused unless it lies inside `output` once symlinks
    /// are resolved (a run folder that is a symlink to elsewhere would write
    /// another place's results). `check` has already refused names with
    /// `..` or a root; this catches what only the file system knows.
    pub fn checked_run_dir(&self) -> Result<PathBuf, RunDirError> {
        let dir = self.run_dir();
        check_inside(&self.output, &dir)?;
        Ok(dir)
    }

    /// The dense layers' optimizer (docs/math.md).
    pub fn dense_optimizer(&self) -> OptimizerConfig {
        self.dense_optimizer
            .clone()
            .unwrap_or_else(|| self.optimizer.without_regularization())
    }

    /// One line naming both optimizers with every key they use, as they will
    /// run (`train` prints it, so a choice made by a default is visible).
    pub fn optimizers_line(&self) -> Result<String, OptimizerConfigError> {
        let emb = self.optimizer.check()?;
        let dense = self.dense_optimizer().check()?;
        Ok(format!(
            "optimizer: {} ; dense: {}",
            emb.describe(),
            dense.describe()
        ))
    }

    /// The folder of this run's outputs.
    pub fn run_dir(&self) -> PathBuf {
        self.output.join(&self.name)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a RunConfig always serializes")
    }
}

/// One `--set key=value` on the command line: a dotted config key and a
/// TOML value (`0.01`, `256`, `true`, `[0.1, 0.2]`); a value that is not
/// TOML is taken as a string (`--set optimizer.name=adam`).
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub key: String,
    pub value: toml::Value,
}

impl std::str::FromStr for Override {
    type Err = OverrideError;

    fn from_str(s: &str) -> Result<Self, OverrideError> {
        let (key, raw) = s.split_once('=').ok_or_else(|| OverrideError::NoEquals {
            text: s.to_string(),
        })?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(OverrideError::BadKey {
                text: s.to_string(),
                key: key.to_string(),
            });
        }
        let raw = raw.trim();
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        Ok(Self {
            key: key.to_string(),
            value,
        })
    }
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// Set `key` (dotted: `optimizer.lambda21`) in a TOML table, creating the
/// tables on the way.
pub fn set_dotted(root: &mut toml::Value, key: &str, v: toml::Value) -> Result<(), DottedKeyError> {
    let mut cur = root;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let table = cur.as_table_mut().ok_or_else(|| DottedKeyError {
            key: key.to_string(),
            part: part.to_string(),
        })?;
        if i + 1 == parts.len() {
            table.insert(part.to_string(), v);
            return Ok(());
        }
        cur = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    unreachable!("split yields at least one part")
}

/// The config text with `overrides` applied. When the file alone parses,
/// each override is checked as it is applied, so an unknown key or a wrong
/// type is reported with the `--set` that caused it.
fn apply_overrides(text: &str, overrides: &[Override]) -> Result<String, ParseError> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let mut value: toml::Value = toml::from_str(text).map_err(toml_error)?;
    let file_parses = value.clone().try_into::<RunConfig>().is_ok();
    for o in overrides {
        let fail = |error: ParseError| ParseError::Override {
            set: o.to_string(),
            error: Box::new(error),
        };
        set_dotted(&mut value, &o.key, o.value.clone()).map_err(|e| fail(e.into()))?;
        if file_parses {
            if let Err(e) = value.clone().try_into::<RunConfig>() {
                return Err(fail(toml_error(e)));
            }
        }
    }
    toml::to_string(&value).map_err(|e| ParseError::Toml(e.to_string()))
}

/// A TOML or serde message as a `ParseError`, with the nearest key suggested.
fn toml_error(e: toml::de::Error) -> ParseError {
    ParseError::Toml(with_suggestion(&e.to_string()))
}

/// The optimizer is the experiment: a section without `name` would train
/// the struct's default (adam) without a word, so the name is required.
/// (Serde fills it for the programmatic `OptimizerConfig::default`; the
/// file is checked here, after it parsed.)
fn require_optimizer_names(text: &str) -> Result<(), ParseError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ParseError::Toml(e.to_string()))?;
    for section in ["optimizer", "dense_optimizer"] {
        if let Some(t) = table.get(section).and_then(toml::Value::as_table) {
            if !t.contains_key("name") {
                return Err(ParseError::MissingName { section });
            }
        }
    }
    Ok(())
}

/// A run or sweep name is a relative path of plain folder names under
/// `output`: no `..`, no root, not `.` or empty, so that it can never
/// name a folder outside `output`.
pub fn check_folder_name(key: &str, name: &str) -> Result<(), RunDirError> {
    use std::path::Component;
    let bad = |why: &'static str| {
        Err(RunDirError::BadName {
            key: key.to_string(),
            name: name.to_string(),
            why,
        })
    };
    let mut normal = 0;
    for c in Path::new(name).components() {
        match c {
            Component::Normal(_) => normal += 1,
            Component::CurDir => {}
            Component::ParentDir => return bad("`..` would leave the output folder"),
            Component::RootDir | Component::Prefix(_) => {
                return bad("an absolute path would leave the output folder")
            }
        }
    }
    if normal == 0 {
        return bad("names no folder under the output folder");
    }
    Ok(())
}

/// `path` is inside `root` after resolving symlinks in the part of each
/// that exists (either may not exist yet).
pub fn check_inside(root: &Path, path: &Path) -> Result<(), RunDirError> {
    let root_real = resolve_existing_prefix(root);
    let real = resolve_existing_prefix(path);
    if real.starts_with(&root_real) && real != root_real {
        Ok(())
    } else {
        Err(RunDirError::Outside {
            path: path.to_path_buf(),
            real,
            root: root_real,
        })
    }
}

/// The canonical form of the longest existing ancestor of `path`, with the
/// rest of `path` appended.
fn resolve_existing_prefix(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(cur) {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// Make the data paths of a config absolute, taking relative ones as
/// relative to the config file's folder. Absolute paths survive copying the
/// resolved config into a run folder (sweeps do), so every copy reads the
/// same files.
fn resolve_data_paths(data: &mut DataConfig, config_dir: &Path) {
    // `Path::parent` of a bare file name is "", which `absolute` refuses.
    let dir = if config_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        config_dir
    };
    let base = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    for p in [&mut data.train, &mut data.test, &mut data.cache_dir]
        .into_iter()
        .flatten()
    {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
}

/// serde lists every valid key after an unknown one; pick the nearest
/// (Jaro-Winkler similarity) and say it first, so a typo reads as a typo.
pub(crate) fn with_suggestion(message: &str) -> String {
    let rest = message
        .split("unknown field `")
        .nth(1)
        .or_else(|| message.split("unknown variant `").nth(1));
    let Some(rest) = rest else {
        return message.to_string();
    };
    let Some((unknown, rest)) = rest.split_once('`') else {
        return message.to_string();
    };
    let candidates: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(unknown, c), *c))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, key)) if score > 0.7 => format!("{message}\ndid you mean `{key}`?"),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_names_the_nearest_key() {
        let msg = "unknown field `lamda21`, expected one of `name`, `lr`, `lambda1`, `lambda21`, `lambda2`";
        assert!(
            with_suggestion(msg).ends_with("did you mean `lambda21`?"),
            "{}",
            with_suggestion(msg)
        );
        let far = "unknown field `zzzz`, expected one of `name`, `lr`";
        assert_eq!(with_suggestion(far), far);
        let variant =
            "unknown variant `grup_adam`, expected one of `adam`, `group_adam`, `group_adagrad`";
        assert!(with_suggestion(variant).ends_with("did you mean `group_adam`?"));
    }
}
