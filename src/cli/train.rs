//! `ctr-run train --config X.toml`

use std::path::PathBuf;

use anyhow::Result;

use ctr_run::config::{Override, RunConfig};
use ctr_run::model::DeviceSpec;
use ctr_run::run::{self, RunOptions};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The experiment config (TOML).
    #[arg(long, short, required_unless_present = "resume")]
    pub config: Option<PathBuf>,
    /// Continue the run in this run folder from its newest valid checkpoint
    /// (its own config.toml is used).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "seed", "output", "device", "set"])]
    pub resume: Option<PathBuf>,
    /// Override the seed of the config.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the output folder of the config.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Override the config's device: cpu | cuda | cuda:N.
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<DeviceSpec>,
    /// Override a config key: `--set optimizer.lr=0.01` (dotted key, TOML
    /// value; repeatable). Checked like the file; recorded in the run's config.toml.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let mut cfg = match (&args.resume, &args.config) {
        (Some(dir), _) => {
            let mut cfg = RunConfig::load(&dir.join("config.toml"))?;
            // The run folder is DIR wherever the run was started from.
            cfg.name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(cfg.name);
            cfg.output = dir.parent().map(PathBuf::from).unwrap_or_default();
            cfg
        }
        (None, Some(c)) => RunConfig::load_with(c, &args.set)?,
        (None, None) => anyhow::bail!("give --config FILE or --resume DIR"),
    };
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    if let Some(out) = &args.output {
        cfg.output = out.clone();
    }
    if let Some(device) = args.device {
        cfg.device = device;
    }
    // Before the run folder is touched: a device that cannot open must not
    // cost a finished run its metrics.json.
    cfg.device.open()?;
    // One live writer per run folder (a second `train` into it, or a sweep
    // job and a hand-started run), held to the end of the run.
    let dir = cfg.checked_run_dir()?;
    let _lock = ctr_run::lock::lock_folder(&dir, ctr_run::lock::RUN_LOCK)?;
    super::init_threads(cfg.threads);
    if !args.quiet {
        eprintln!("{}", cfg.optimizers_line()?);
    }
    if cfg.prune.is_some() {
        ctr_run::experiment::prune::run(&cfg, args.quiet, args.resume.is_some())?;
        ctr_run::outln!("results in {}", cfg.run_dir().display());
        return Ok(());
    }
    let m = run::run(
        &cfg,
        &RunOptions {
            quiet: args.quiet,
            resume: args.resume.is_some(),
            ..Default::default()
        },
    )?;
    let auc = m
        .auc
        .map(|a| format!("{a:.5}"))
        .unwrap_or_else(|| "n/a (one class)".into());
    ctr_run::outln!(
        "{}: AUC {auc}  logloss {:.5}  feature rate {:.4} ({} of {} features)  {} train samples in {:.1}s ({:.0}/s)",
        m.run,
        m.logloss,
        m.feature_rate,
        m.nonzero_features,
        m.seen_features,
        m.train_samples,
        m.train_seconds,
        m.train_samples_per_second
    );
    if let Some(pr) = &m.informative {
        let pct = |x: Option<f64>| {
            x.map(|x| format!("{:.1}%", 100.0 * x))
                .unwrap_or_else(|| "n/a".into())
        };
        ctr_run::outln!(
            "planted model: {} of {} kept features are informative (precision {}), {} of {} informative features kept (recall {})",
            pr.true_positives,
            pr.kept,
            pct(pr.precision),
            pr.true_positives,
            pr.informative,
            pct(pr.recall)
        );
    }
    ctr_run::outln!("results in {}", cfg.run_dir().display());
    Ok(())
}
