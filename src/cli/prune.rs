//! `ctr-run prune`: the magnitude-pruning baseline (docs/metrics.md).
//!
//! `--target-rate R` runs one pruning baseline; `--match-runs DIR` reads the
//! finished Group runs in DIR, and for the mean feature rate of each of
//! their settings runs the baseline `--repeats` times (Table 2: Adam +
//! pruning vs Group Adam at equal sparsity).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use toml::Value;

use ctr_run::config::PruneConfig;
use ctr_run::config::{Override, RunConfig};
use ctr_run::data::DataConfig;
use ctr_run::experiment::prune;
use ctr_run::experiment::runner::run_jobs;
use ctr_run::experiment::runs;
use ctr_run::experiment::sweep::{Job, Shard};

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// Run config with the plain optimizer (e.g. adam).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Feature rate to reach.
    #[arg(long, conflicts_with = "match_runs")]
    pub target_rate: Option<f64>,
    /// Match the feature rates of the finished Group runs under this folder.
    #[arg(long)]
    pub match_runs: Option<PathBuf>,
    /// Fine-tune fractions r (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [0.0, 0.1, 0.2, 0.3])]
    pub finetune: Vec<f64>,
    /// Seeds per matched rate (with --match-runs).
    #[arg(long, default_value_t = 5)]
    pub repeats: u64,
    /// Runs at once (with --match-runs).
    #[arg(long, short, default_value_t = 1)]
    pub jobs: usize,
    /// Run only shard K of N (with --match-runs).
    #[arg(long, default_value = "1/1")]
    pub shard: Shard,
    /// Override a key of the run config: `--set optimizer.lr=0.01` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &PruneArgs) -> Result<()> {
    let base = RunConfig::load_with(&args.config, &args.set)?;
    if let Some(rate) = args.target_rate {
        let mut cfg = base;
        cfg.prune = Some(PruneConfig {
            target_rate: rate,
            finetune: args.finetune.clone(),
        });
        cfg.check()?;
        let dir = cfg.checked_run_dir()?;
        let _lock = ctr_run::lock::lock_folder(&dir, ctr_run::lock::RUN_LOCK)?;
        super::init_threads(cfg.threads);
        let outcomes = prune::run(&cfg, args.quiet, false)?;
        for o in &outcomes {
            let m = &o.metrics;
            let auc = |a: Option<f64>| a.map_or_else(|| "n/a".into(), |a| format!("{a:.5}"));
            let valid = match m.valid_logloss {
                Some(l) => format!("  valid AUC {}  valid logloss {l:.5}", auc(m.valid_auc)),
                None => String::new(),
            };
            ctr_run::outln!(
                "r={:<4} AUC {}  logloss {:.5}  feature rate {:.4}{valid}",
                o.finetune,
                auc(m.auc),
                m.logloss,
                m.feature_rate
            );
        }
        ctr_run::outln!("results in {}", cfg.run_dir().display());
        return Ok(());
    }
    let Some(dir) = &args.match_runs else {
        bail!("give --target-rate R or --match-runs DIR")
    };
    let records = runs::collect(dir)?;
    // Mean feature rate per setting (the run name without its seed).
    let mut rates: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.config.optimizer.name.is_group())
    {
        let name = r
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Table 2 compares on the same rows (docs/metrics.md): a validation
        // split takes its rows out of training, so both sides need the same.
        let (theirs, ours) = (&r.config.data, &base.data);
        if (theirs.valid_fraction, &theirs.valid_path) != (ours.valid_fraction, &ours.valid_path) {
            bail!(
                "{} has {}, but {} has {}: set the same validation split in both, so the baseline trains on the same rows",
                r.dir.display(),
                validation_split(theirs),
                args.config.display(),
                validation_split(ours)
            );
        }
        let setting = name.split(",seed=").next().unwrap_or(&name).to_string();
        let e = rates.entry(setting).or_insert((0.0, 0));
        e.0 += r.metrics.feature_rate;
        e.1 += 1;
    }
    if rates.is_empty() {
        bail!("no finished Group-optimizer runs under {}", dir.display());
    }
    let output = base.output.join(&base.name).join("runs");
    let mut jobs = Vec::new();
    for (setting, (sum, n)) in &rates {
        let rate = sum / *n as f64;
        for seed in 1..=args.repeats {
            let mut cfg = base.clone();
            cfg.prune = Some(PruneConfig {
                target_rate: rate,
                finetune: args.finetune.clone(),
            });
            cfg.seed = seed;
            cfg.output = output.clone();
            cfg.name = format!("match={setting},seed={seed}");
            cfg.check()?;
            let mut settings = BTreeMap::new();
            settings.insert("prune.target_rate".to_string(), Value::Float(rate));
            jobs.push(Job {
                index: jobs.len(),
                name: cfg.name.clone(),
                settings,
                config: cfg,
            });
        }
    }
    let sweep_dir = output.parent().unwrap_or(&output).to_path_buf();
    let exe = std::env::current_exe()?;
    let r = run_jobs(&jobs, args.shard, args.jobs, &exe, &sweep_dir, args.quiet)?;
    ctr_run::outln!(
        "prune: {} matched settings, {} jobs ({} already finished, {} ran, {} failed); runs.csv in {}",
        rates.len(),
        r.in_shard,
        r.skipped_finished,
        r.ran.len(),
        r.failed.len(),
        sweep_dir.display()
    );
    r.conclude(&sweep_dir)
}

/// A run's validation split, for messages.
fn validation_split(d: &DataConfig) -> String {
    match &d.valid_path {
        Some(p) => format!("data.valid_path = {:?}", p.display().to_string()),
        None if d.valid_fraction > 0.0 => format!("data.valid_fraction = {}", d.valid_fraction),
        None => "no validation split".into(),
    }
}
