//! Finished runs on disk: every folder under a root that holds both
//! `config.toml` and `metrics.json`; and failed sweep jobs: `config.toml`
//! and [`FAILED_FILE`] without `metrics.json`. Tables, `runs.csv` and
//! pruning matches are functions of these records, never of a running
//! process.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::config::RunConfig;
use crate::experiment::group::{flat_config, flatten_json, varying_keys, Value};
use crate::io::write_atomic;
use crate::run::RunMetrics;

#[derive(Clone, Debug)]
pub struct RunRecord {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub metrics: RunMetrics,
    /// Every leaf of `metrics.json` as dotted keys (`valid_auc`,
    /// `informative.precision`): what `summarize` and `runs.csv` read, so a
    /// metric added to the file needs no change here.
    pub all_metrics: BTreeMap<String, Value>,
    /// When `metrics.json` was written (the run's end).
    pub finished_at: Option<SystemTime>,
}

impl RunRecord {
    /// A numeric metric of `metrics.json` by its dotted key; None when
    /// absent, null or text.
    pub fn value(&self, metric: &str) -> Option<f64> {
        self.all_metrics.get(metric).and_then(Value::as_f64)
    }
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
        let bytes = std::fs::read(&metrics_path)
            .with_context(|| format!("reading {}", metrics_path.display()))?;
        let metrics: RunMetrics = serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {}", metrics_path.display()))?;
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {}", metrics_path.display()))?;
        let mut all_metrics = BTreeMap::new();
        flatten_json(&json, "", &mut all_metrics);
        out.finished.push(RunRecord {
            dir: dir.to_path_buf(),
            config,
            metrics,
            all_metrics,
            finished_at: std::fs::metadata(&metrics_path)
                .and_then(|m| m.modified())
                .ok(),
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

/// Settings every `runs.csv` has, varying or not: what a reader looks for
/// first. Every other config key that varies across the runs follows.
const HEADLINE_KEYS: [&str; 11] = [
    "model.kind",
    "optimizer.name",
    "optimizer.lr",
    "optimizer.lambda1",
    "optimizer.lambda21",
    "optimizer.lambda2",
    "optimizer.group_norm",
    "optimizer.regularizer",
    "optimizer.lambda",
    "model.embed_dim",
    "seed",
];

/// Metric columns: (column, `metrics.json` key).
const METRIC_COLUMNS: [(&str, &str); 20] = [
    ("auc", "auc"),
    ("logloss", "logloss"),
    ("valid_auc", "valid_auc"),
    ("valid_logloss", "valid_logloss"),
    ("train_loss", "train_loss"),
    ("feature_rate", "feature_rate"),
    ("nonzero_features", "nonzero_features"),
    ("seen_features", "seen_features"),
    ("train_samples", "train_samples"),
    ("test_samples", "test_samples"),
    ("wall_seconds", "wall_seconds"),
    ("train_seconds", "train_seconds"),
    ("samples_per_second", "train_samples_per_second"),
    ("peak_rss_bytes", "peak_rss_bytes"),
    ("precision", "informative.precision"),
    ("recall", "informative.recall"),
    ("prune_finetune", "prune_finetune"),
    ("prune_target_rate", "prune_target_rate"),
    ("version", "version"),
    ("git_commit", "git_commit"),
];

/// Write one CSV row per run (tidy: one column per setting, numbers as
/// numbers): `run`, the headline settings and every other config key that
/// varies across the runs (dotted names, `data.min_count`), the metrics,
/// the ctr-run version and commit that ran it (empty when unknown), when it
/// finished, `status` `finished` and `note`; per failed job its settings,
/// empty metrics, `status` `failed` and the error in `note`.
pub fn write_runs_csv(found: &Found, root: &Path, path: &Path) -> Result<()> {
    let rel = |dir: &Path| dir.strip_prefix(root).unwrap_or(dir).display().to_string();
    let flat: Vec<BTreeMap<String, Value>> = found
        .finished
        .iter()
        .map(|r| flat_config(&r.config))
        .chain(found.failed.iter().map(|f| flat_config(&f.config)))
        .collect();
    let mut keys: Vec<String> = HEADLINE_KEYS.iter().map(|k| k.to_string()).collect();
    for k in varying_keys(&flat) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut header: Vec<&str> = vec!["run"];
    header.extend(keys.iter().map(String::as_str));
    header.extend(METRIC_COLUMNS.iter().map(|(c, _)| *c));
    header.extend(["finished_at", "status", "note"]);
    let setting_cells = |c: &BTreeMap<String, Value>| -> Vec<String> {
        keys.iter()
            .map(|k| c.get(k).map(|v| v.to_string()).unwrap_or_default())
            .collect()
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(&header)?;
    for (r, c) in found.finished.iter().zip(&flat) {
        let mut row = vec![rel(&r.dir)];
        row.extend(setting_cells(c));
        row.extend(METRIC_COLUMNS.iter().map(|(_, k)| {
            r.all_metrics
                .get(*k)
                .map(|v| v.to_string())
                .unwrap_or_default()
        }));
        row.push(r.finished_at.map(rfc3339_utc).unwrap_or_default());
        row.push("finished".into());
        let note = if r.metrics.auc.is_none() {
            ONE_CLASS_NOTE
        } else {
            ""
        };
        row.push(note.into());
        w.write_record(&row)?;
    }
    for (f, c) in found.failed.iter().zip(&flat[found.finished.len()..]) {
        let mut row = vec![rel(&f.dir)];
        row.extend(setting_cells(c));
        row.extend(METRIC_COLUMNS.iter().map(|_| String::new()));
        row.extend([String::new(), "failed".into(), f.error.clone()]);
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    write_atomic(path, &bytes)?;
    Ok(())
}

/// `2026-12-02T13:05:09Z` (UTC, whole seconds).
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        let at = |s: u64| rfc3339_utc(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1709251199`: a leap day.
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_796_216_709), "2026-12-02T13:05:09Z");
    }
}
