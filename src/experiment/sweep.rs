//! Sweeps: a base run config, axes of values for any config key, and a
//! number of repeats (seeds). Each (point, seed) is a job with its own run
//! folder named from its settings; a job whose folder already holds
//! `metrics.json` is finished and skipped, so a stopped sweep restarts where
//! it stopped, and `--shard K/N` splits the jobs across machines with no
//! coordinator (job i belongs to shard i mod N).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use toml::Value;

use crate::config::{
    check_folder_name, check_inside, set_dotted, with_suggestion, DottedKeyError, Override,
    RunConfig,
};

/// A sweep file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Base run config, relative to the sweep file.
    pub base: PathBuf,
    /// Sweep name: the folder under `output` (default: the sweep file's stem).
    #[serde(default)]
    pub name: String,
    /// Parent folder (default: the base config's `output`).
    #[serde(default)]
    pub output: Option<PathBuf>,
    /// Runs per setting, with seeds `first_seed ..= first_seed + repeats - 1`.
    #[serde(default = "default_repeats")]
    pub repeats: u64,
    #[serde(default = "default_first_seed")]
    pub first_seed: u64,
    /// Runs at once on this machine.
    #[serde(default = "default_jobs")]
    pub jobs: usize,
    /// Threads of each run (overrides the base config's `threads`).
    #[serde(default)]
    pub threads_per_job: Option<usize>,
    /// Dotted config key -> values; the grid is their Cartesian product.
    #[serde(default)]
    pub axes: BTreeMap<String, Vec<Value>>,
    /// Extra settings outside the grid, each a map of dotted key -> value
    /// (e.g. the unregularized baseline of a lambda grid).
    #[serde(default)]
    pub points: Vec<BTreeMap<String, Value>>,
}

fn default_repeats() -> u64 {
    5
}
fn default_first_seed() -> u64 {
    1
}
fn default_jobs() -> usize {
    1
}

/// One run of a sweep.
#[derive(Clone, Debug)]
pub struct Job {
    /// Index in the sweep's full job list (shards split on it).
    pub index: usize,
    /// Folder name, from the settings: `optimizer.lambda21=0.001,seed=3`.
    pub name: String,
    pub settings: BTreeMap<String, Value>,
    pub config: RunConfig,
}

impl Job {
    pub fn dir(&self) -> PathBuf {
        self.config.run_dir()
    }

    /// Finished runs have `metrics.json` (written last and atomically) and
    /// were run with this job's config: after a sweep file or its base config
    /// changes, the affected jobs run again instead of keeping stale results.
    pub fn is_finished(&self) -> bool {
        self.dir().join("metrics.json").is_file() && self.has_same_config()
    }

    /// The job's folder holds a `config.toml` equal to this job's config.
    /// Compared after a parse, so a setting added in a later version
    /// (serialized with its default) does not invalidate old runs.
    pub fn has_same_config(&self) -> bool {
        std::fs::read_to_string(self.dir().join("config.toml"))
            .is_ok_and(|t| RunConfig::parse(&t).is_ok_and(|c| c == self.config))
    }
}

/// A shard `K/N` of a sweep (1-based K, as in nextest's `--partition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

/// A `--shard` argument that is not `K/N` with 1 <= K <= N.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("shard `{text}` is not K/N")]
    NotKN { text: String },
    #[error("shard `{text}`: {part} is not a number")]
    NotANumber { text: String, part: &'static str },
    #[error("shard `{text}`: need 1 <= K <= N")]
    Range { text: String },
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, ShardError> {
        let text = || s.to_string();
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| ShardError::NotKN { text: text() })?;
        let number = |v: &str, part| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| ShardError::NotANumber { text: text(), part })
        };
        let (k, n) = (number(k, "K")?, number(n, "N")?);
        if n == 0 || k == 0 || k > n {
            return Err(ShardError::Range { text: text() });
        }
        Ok(Shard { k, n })
    }
}

impl Shard {
    pub fn contains(&self, job_index: usize) -> bool {
        job_index % self.n == self.k - 1
    }
}

impl SweepConfig {
    pub fn load(path: &Path) -> Result<(Self, PathBuf)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading sweep {}", path.display()))?;
        if let Ok(table) = text.parse::<toml::Table>() {
            if !table.contains_key("base") && table.contains_key("data") {
                bail!(
                    "{}: this is a run config (it has [data]), not a sweep file: run it with `ctr-run train --config {}`",
                    path.display(),
                    path.display()
                );
            }
        }
        let mut cfg: SweepConfig =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if cfg.name.is_empty() {
            cfg.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into());
        }
        if cfg.repeats == 0 {
            bail!("{}: repeats must be >= 1", path.display());
        }
        if cfg.first_seed.checked_add(cfg.repeats - 1).is_none() {
            bail!(
                "{}: first_seed = {} with repeats = {} runs past the largest seed",
                path.display(),
                cfg.first_seed,
                cfg.repeats
            );
        }
        if cfg.jobs == 0 {
            bail!("{}: jobs must be >= 1", path.display());
        }
        check_folder_name("name", &cfg.name)
            .map_err(|e| anyhow::anyhow!("{}: sweep {e}", path.display()))?;
        cfg.check_keys()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(".")).join(&cfg.base);
        Ok((cfg, base))
    }

    /// Refuse axes and points the jobs could not honour: an empty axis
    /// (no jobs), and keys that the sweep itself sets for every job, which
    /// would be silently overwritten.
    fn check_keys(&self) -> Result<()> {
        for (key, values) in &self.axes {
            if values.is_empty() {
                bail!("sweep axis {key} is empty");
            }
            self.check_settable(&format!("sweep axis {key}"), key)?;
        }
        for (i, point) in self.points.iter().enumerate() {
            for key in point.keys() {
                self.check_settable(&format!("sweep point {} key {key}", i + 1), key)?;
            }
        }
        Ok(())
    }

    fn check_settable(&self, what: &str, key: &str) -> Result<()> {
        match key {
            "seed" => bail!(
                "{what}: the seeds of a sweep come from `repeats` and `first_seed` (seeds first_seed ..= first_seed + repeats - 1); set those instead"
            ),
            "name" | "output" => bail!(
                "{what}: each job's folder is output/<sweep name>/runs/<its settings>; set the sweep's own `name` / `output` instead"
            ),
            "threads" if self.threads_per_job.is_some() => bail!(
                "{what}: `threads_per_job` sets every job's threads; remove one of the two"
            ),
            _ => Ok(()),
        }
    }

    /// Every job of the sweep, in a fixed order: points of the grid (axes in
    /// key order, last axis fastest), then extra points, each with every seed.
    /// Each job's config is parsed and checked here, and no two jobs may share
    /// a folder, so a bad grid point fails before any job runs.
    pub fn jobs(&self, base_path: &Path) -> Result<Vec<Job>> {
        self.jobs_with(base_path, &[])
    }

    /// `jobs` with `--set` overrides applied to the base config. An
    /// override of a key the sweep itself sets (an axis, a point's key,
    /// seed, name, output) is refused: it would be overwritten in every job.
    pub fn jobs_with(&self, base_path: &Path, overrides: &[Override]) -> Result<Vec<Job>> {
        for o in overrides {
            let what = format!("--set {o}");
            if self.axes.contains_key(&o.key) {
                bail!("{what}: `{}` is an axis of this sweep; change the axis's values in the sweep file instead", o.key);
            }
            if self.points.iter().any(|p| p.contains_key(&o.key)) {
                bail!("{what}: `{}` is set by this sweep's points; change them in the sweep file instead", o.key);
            }
            self.check_settable(&what, &o.key)?;
        }
        let base = RunConfig::load_with(base_path, overrides)?;
        let base_value = Value::try_from(&base).context("base config to TOML")?;
        let root = self.output.clone().unwrap_or_else(|| base.output.clone());
        let output = root.join(&self.name).join("runs");
        // No axes: the base config alone is the grid, unless explicit points
        // are given (then the points are the whole sweep).
        let mut settings_list = if self.axes.is_empty() && !self.points.is_empty() {
            Vec::new()
        } else {
            grid(&self.axes)
        };
        settings_list.extend(self.points.iter().cloned());
        let mut jobs: Vec<Job> = Vec::new();
        let mut folders: HashMap<PathBuf, usize> = HashMap::new();
        for settings in settings_list {
            for r in 0..self.repeats {
                let seed = self.first_seed + r;
                let name = job_name(&settings, seed);
                let fail = |e: &dyn std::fmt::Display| {
                    anyhow::anyhow!(
                        "sweep job {} ({}): {e}",
                        jobs.len(),
                        describe(&settings, seed)
                    )
                };
                let mut config = resolve(&base_value, &settings).map_err(|e| {
                    // Name the one setting at fault when a setting alone fails.
                    let culprit = settings.iter().find_map(|(k, v)| {
                        let one = BTreeMap::from([(k.clone(), v.clone())]);
                        resolve(&base_value, &one).err().map(|e| (k, e))
                    });
                    match culprit {
                        Some((key, e)) => fail(&format!("axis {key}: {e}")),
                        None => fail(&e),
                    }
                })?;
                config.seed = seed;
                config.output = output.clone();
                config.name = name.clone();
                if let Some(t) = self.threads_per_job {
                    config.threads = t;
                }
                config.check().map_err(|e| fail(&e))?;
                let dir = config.run_dir();
                check_inside(&root, &dir).map_err(|e| fail(&e))?;
                if let Some(&other) = folders.get(&dir) {
                    let o = &jobs[other];
                    bail!(
                        "sweep jobs {other} ({}) and {} ({}) both map to the folder {}: give each job distinct settings",
                        describe(&o.settings, o.config.seed),
                        jobs.len(),
                        describe(&settings, seed),
                        dir.display()
                    );
                }
                folders.insert(dir, jobs.len());
                jobs.push(Job {
                    index: jobs.len(),
                    name,
                    settings: settings.clone(),
                    config,
                });
            }
        }
        Ok(jobs)
    }
}

/// Why a job's settings do not make a run config.
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error("sweep {0}")]
    Key(DottedKeyError),
    /// serde's message, with the nearest key suggested.
    #[error("{0}")]
    Toml(String),
}

/// The base config with `settings` applied, parsed as a run config.
fn resolve(base: &Value, settings: &BTreeMap<String, Value>) -> Result<RunConfig, ResolveError> {
    let mut value = base.clone();
    for (key, v) in settings {
        set_dotted(&mut value, key, v.clone()).map_err(ResolveError::Key)?;
    }
    value
        .try_into()
        .map_err(|e: toml::de::Error| ResolveError::Toml(with_suggestion(&e.to_string())))
}

/// `optimizer.lambda21 = 0.001, seed = 3`: a job's settings as written.
fn describe(settings: &BTreeMap<String, Value>, seed: u64) -> String {
    settings
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .chain(std::iter::once(format!("seed = {seed}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Cartesian product of the axes (one empty setting if there are none).
fn grid(axes: &BTreeMap<String, Vec<Value>>) -> Vec<BTreeMap<String, Value>> {
    let mut out = vec![BTreeMap::new()];
    for (key, values) in axes {
        out = out
            .into_iter()
            .flat_map(|s| {
                values.iter().map(move |v| {
                    let mut s = s.clone();
                    s.insert(key.clone(), v.clone());
                    s
                })
            })
            .collect();
    }
    out
}

/// `optimizer.lambda21=0.001,seed=3`: readable and unique per job.
fn job_name(settings: &BTreeMap<String, Value>, seed: u64) -> String {
    let mut parts: Vec<String> = settings
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{k}={v}")
        })
        .collect();
    parts.push(format!("seed={seed}"));
    parts
        .join(",")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._=,-+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_cartesian_product_in_key_order() {
        let mut axes = BTreeMap::new();
        axes.insert("b".to_string(), vec![Value::Integer(1), Value::Integer(2)]);
        axes.insert(
            "a".to_string(),
            vec![Value::String("x".into()), Value::String("y".into())],
        );
        let g = grid(&axes);
        assert_eq!(g.len(), 4);
        let names: Vec<String> = g.iter().map(|s| job_name(s, 1)).collect();
        assert_eq!(
            names,
            [
                "a=x,b=1,seed=1",
                "a=x,b=2,seed=1",
                "a=y,b=1,seed=1",
                "a=y,b=2,seed=1"
            ]
        );
    }

    #[test]
    fn shards_partition_the_jobs() {
        for n in 1..6 {
            for i in 0..50 {
                let owners: Vec<usize> = (1..=n).filter(|&k| Shard { k, n }.contains(i)).collect();
                assert_eq!(owners.len(), 1, "job {i} of {n} shards");
            }
        }
        assert_eq!("2/3".parse::<Shard>().unwrap(), Shard { k: 2, n: 3 });
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn points_without_axes_are_the_whole_sweep() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            "[data]\nformat = \"avazu\"\n[data.synthetic]\nrows = 100\n[model]\nkind = \"lr\"\n[optimizer]\nname = \"adam\"\n",
        )
        .unwrap();
        let job_names = |text: &str| -> Vec<String> {
            std::fs::write(dir.path().join("s.toml"), text).unwrap();
            let (cfg, base) = SweepConfig::load(&dir.path().join("s.toml")).unwrap();
            cfg.jobs(&base)
                .unwrap()
                .into_iter()
                .map(|j| j.name)
                .collect()
        };
        let text = "base = \"base.toml\"\nrepeats = 2\n[[points]]\n\"optimizer.lr\" = 0.5\n";
        assert_eq!(
            job_names(text),
            ["optimizer.lr=0.5,seed=1", "optimizer.lr=0.5,seed=2"]
        );
        let no_points = "base = \"base.toml\"\nrepeats = 1\n";
        assert_eq!(job_names(no_points), ["seed=1"]);
    }

    #[test]
    fn dotted_keys_set_nested_values() {
        let mut v: Value = toml::from_str("[optimizer]\nname = \"adam\"\n").unwrap();
        set_dotted(&mut v, "optimizer.lambda21", Value::Float(0.5)).unwrap();
        set_dotted(&mut v, "model.embed_dim", Value::Integer(8)).unwrap();
        assert_eq!(v["optimizer"]["lambda21"].as_float(), Some(0.5));
        assert_eq!(v["model"]["embed_dim"].as_integer(), Some(8));
        assert!(set_dotted(&mut v, "optimizer.name.x", Value::Integer(1)).is_err());
    }
}
