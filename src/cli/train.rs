//! `ctr-run train --config X.toml`

use std::path::PathBuf;

use anyhow::Result;

use crate::config::RunConfig;
use crate::train::{self, RunOptions};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The experiment config (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Override the seed of the config.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the output folder of the config.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let mut cfg = RunConfig::load(&args.config)?;
    if let Some(seed) = args.seed {
        cfg.seed = seed;
    }
    if let Some(out) = &args.output {
        cfg.output = out.clone();
    }
    super::init_threads(cfg.threads);
    if cfg.prune.is_some() {
        crate::experiment::prune::run(&cfg, args.quiet)?;
        println!("results in {}", cfg.run_dir().display());
        return Ok(());
    }
    let m = train::run(
        &cfg,
        &RunOptions {
            quiet: args.quiet,
            ..Default::default()
        },
    )?;
    let auc = m
        .auc
        .map(|a| format!("{a:.5}"))
        .unwrap_or_else(|| "n/a (one class)".into());
    println!(
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
        println!(
            "planted model: {} of {} kept features are informative (precision {}), {} of {} informative features kept (recall {})",
            pr.true_positives,
            pr.kept,
            pct(pr.precision),
            pr.true_positives,
            pr.informative,
            pct(pr.recall)
        );
    }
    println!("results in {}", cfg.run_dir().display());
    Ok(())
}
