//! Finished runs on disk: every folder under a root that holds both
//! `config.toml` and `metrics.json`; and failed sweep jobs: `config.toml`
//! and [`FAILED_FILE`] without `metrics.json`. Tables, `runs.csv` and
//! pruning matches are functions of these records, never of a running
//! process.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::config::RunConfig;
use crate::io::write_atomic_with;

/// The parts of `metrics.json` that reporting reads.
#[derive(Clone, Debug, Deserialize)]
pub struct Metrics {
    pub auc: Option<f64>,
    pub logloss: f64,
    pub feature_rate: f64,
    pub nonzero_features: u64,
    pub seen_features: u64,
    pub train_samples: u64,
    pub test_samples: u64,
    pub wall_seconds: f64,
    pub train_samples_per_second: f64,
    /// Set by `ctr-run prune` runs: the fine-tune fraction r these metrics
    /// are of (the first configured one for the run's own metrics).
    #[serde(default)]
    pub prune_finetune: Option<f64>,
    /// Set by `ctr-run prune` runs: the feature rate that was targeted.
    #[serde(default)]
    pub prune_target_rate: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct RunRecord {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub metrics: Metrics,
}

/// Where a sweep records why a job failed (its error line); removed when
/// the job is run again.
pub const FAILED_FILE: &str = "failed.txt";

/// A sweep job that failed: no metrics, only the error the sweep recorded.
#[derive(Clone, Debug)]
pub struct FailedRun {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub error: String,
}

/// The runs found under a root.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub finished: Vec<RunRecord>,
    pub failed: Vec<FailedRun>,
}

/// Every finished run under `root` (searched recursively), sorted by folder.
pub fn collect(root: &Path) -> Result<Vec<RunRecord>> {
    Ok(collect_all(root)?.finished)
}

/// Every finished run and every failed sweep job under `root`, each sorted
/// by folder.
pub fn collect_all(root: &Path) -> Result<Found> {
    let mut out = Found::default();
    visit(root, &mut out)?;
    out.finished.sort_by(|a, b| a.dir.cmp(&b.dir));
    out.failed.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

fn read_config(config_path: &Path) -> Result<RunConfig> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    RunConfig::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))
}

fn visit(dir: &Path, out: &mut Found) -> Result<()> {
    let metrics_path = dir.join("metrics.json");
    let config_path = dir.join("config.toml");
    let failed_path = dir.join(FAILED_FILE);
    if metrics_path.is_file() && config_path.is_file() {
        let config = read_config(&config_path)?;
        let metrics: Metrics = serde_json::from_slice(&std::fs::read(&metrics_path)?)
            .with_context(|| format!("reading {}", metrics_path.display()))?;
        out.finished.push(RunRecord {
            dir: dir.to_path_buf(),
            config,
            metrics,
        });
        return Ok(());
    }
    if failed_path.is_file() && config_path.is_file() {
        let error = std::fs::read_to_string(&failed_path)
            .with_context(|| format!("reading {}", failed_path.display()))?;
        out.failed.push(FailedRun {
            dir: dir.to_path_buf(),
            config: read_config(&config_path)?,
            error: error.trim().to_string(),
        });
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for d in subdirs {
        visit(&d, out)?;
    }
    Ok(())
}

/// Split `records` into the runs their sweep still lists and the stale ones.
/// A sweep keeps its runs in `<sweep>/runs/<job>/` and lists its current
/// jobs in `<sweep>/runs.csv`; a run there that the list lacks belongs to a
/// grid value or config the sweep no longer has. Runs outside a sweep's
/// layout are always current.
/// Failed jobs are kept to the current ones the same way (a job of an old
/// grid value that failed is no failure of today's sweep).
pub fn current_and_stale(found: Found) -> Result<(Found, Vec<PathBuf>)> {
    let mut lists = SweepLists::default();
    let mut current = Found::default();
    let mut stale = Vec::new();
    for r in found.finished {
        if lists.is_current(&r.dir)? {
            current.finished.push(r);
        } else {
            stale.push(r.dir);
        }
    }
    for f in found.failed {
        if lists.is_current(&f.dir)? {
            current.failed.push(f);
        }
    }
    Ok((current, stale))
}

/// The `runs.csv` lists of the sweeps met so far, read once each.
#[derive(Default)]
struct SweepLists(HashMap<PathBuf, Option<HashSet<PathBuf>>>);

impl SweepLists {
    fn is_current(&mut self, dir: &Path) -> Result<bool> {
        let sweep = dir
            .parent()
            .filter(|p| p.file_name().is_some_and(|n| n == "runs"))
            .and_then(Path::parent);
        let Some(s) = sweep else { return Ok(true) };
        let listed = match self.0.entry(s.to_path_buf()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(sweep_list(s)?),
        };
        Ok(listed.as_ref().is_none_or(|set| set.contains(dir)))
    }
}

/// The run folders a sweep's `runs.csv` lists (None without a `runs.csv`).
fn sweep_list(sweep: &Path) -> Result<Option<HashSet<PathBuf>>> {
    let path = sweep.join("runs.csv");
    if !path.is_file() {
        return Ok(None);
    }
    let mut rd =
        csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
    let col = rd
        .headers()
        .with_context(|| format!("reading {}", path.display()))?
        .iter()
        .position(|h| h == "run")
        .with_context(|| format!("{}: no `run` column", path.display()))?;
    let mut set = HashSet::new();
    for row in rd.records() {
        let row = row.with_context(|| format!("reading {}", path.display()))?;
        set.insert(sweep.join(&row[col]));
    }
    Ok(Some(set))
}

/// Why a finished run's AUC is empty in `runs.csv` and `n/a` in tables.
pub const ONE_CLASS_NOTE: &str = "one-class test set: AUC undefined (null)";

/// Write one CSV row per run: its settings and its metrics, `status`
/// `finished`; and per failed job its settings, empty metrics, `status`
/// `failed` and the error in `note`.
pub fn write_runs_csv(found: &Found, root: &Path, path: &Path) -> Result<()> {
    let rel = |dir: &Path| csv_field(&dir.strip_prefix(root).unwrap_or(dir).display().to_string());
    let settings = |c: &RunConfig| {
        let o = &c.optimizer;
        format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            snake(&c.model.kind),
            o.name,
            o.lr,
            o.lambda1,
            o.lambda21,
            o.lambda2,
            snake(&o.group_norm),
            snake(&o.regularizer),
            o.lambda,
            c.model.embed_dim,
            c.seed,
        )
    };
    write_atomic_with(path, |w| {
        writeln!(
            w,
            "run,model,optimizer,lr,lambda1,lambda21,lambda2,group_norm,regularizer,lambda,embed_dim,seed,\
             auc,logloss,feature_rate,nonzero_features,seen_features,train_samples,test_samples,wall_seconds,\
             samples_per_second,prune_finetune,status,note"
        )?;
        for r in &found.finished {
            let m = &r.metrics;
            let note = if m.auc.is_none() { ONE_CLASS_NOTE } else { "" };
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{},{:.3},{:.1},{},finished,{}",
                rel(&r.dir),
                settings(&r.config),
                m.auc.map(|a| a.to_string()).unwrap_or_default(),
                m.logloss,
                m.feature_rate,
                m.nonzero_features,
                m.seen_features,
                m.train_samples,
                m.test_samples,
                m.wall_seconds,
                m.train_samples_per_second,
                m.prune_finetune.map(|r| r.to_string()).unwrap_or_default(),
                note,
            )?;
        }
        for f in &found.failed {
            writeln!(
                w,
                "{},{},,,,,,,,,,,failed,{}",
                rel(&f.dir),
                settings(&f.config),
                csv_field(&f.error),
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The config spelling of an enum value (`mlp`, `weighted`, `l1`).
pub fn snake<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Quote a CSV field when it holds a comma or quote (run names hold commas).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
