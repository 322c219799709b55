//! `ctr-run sweep --config S.toml [--shard K/N] [--jobs J] [--dry-run]`

use std::path::PathBuf;

use anyhow::Result;

use ctr_run::config::Override;
use ctr_run::experiment::runner::run_jobs;
use ctr_run::experiment::sweep::{Shard, SweepConfig};

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The sweep file (TOML): base config, axes, repeats.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Run only shard K of N (1-based): job i belongs to shard (i mod N) + 1.
    /// With a Slurm array: `--shard $((SLURM_ARRAY_TASK_ID + 1))/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long, default_value = "1/1")]
    pub shard: Shard,
    /// Runs at once (overrides the sweep file's `jobs`).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// List the jobs and whether each is finished; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Override a key of the base run config: `--set train.batch_size=256`
    /// (repeatable); refused for a key the sweep sets (an axis, seed, ...).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &SweepArgs) -> Result<()> {
    let (cfg, base) = SweepConfig::load(&args.config)?;
    let jobs = cfg.jobs_with(&base, &args.set)?;
    let sweep_dir = jobs
        .first()
        .map(|j| {
            j.config
                .output
                .parent()
                .unwrap_or(&j.config.output)
                .to_path_buf()
        })
        .unwrap_or_default();
    if args.dry_run {
        for j in jobs.iter().filter(|j| args.shard.contains(j.index)) {
            let state = if j.is_finished() {
                "finished"
            } else {
                "to run"
            };
            ctr_run::outln!("{:>4}  {:<8}  {}", j.index, state, j.dir().display());
        }
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let parallel = args.jobs.unwrap_or(cfg.jobs);
    // A signal stops the sweep between jobs (see run_jobs), and main exits 130.
    let signals = ctr_run::checkpoint::SignalGuard::install();
    let r = run_jobs(&jobs, args.shard, parallel, &exe, &sweep_dir, args.quiet)?;
    drop(signals);
    if ctr_run::checkpoint::interrupted() {
        anyhow::bail!(
            "sweep interrupted: {} jobs ran, {} failed or stopped; run it again to continue",
            r.ran.len(),
            r.failed.len()
        );
    }
    ctr_run::outln!(
        "sweep {}: {} jobs, {} in shard {}/{}, {} already finished, {} ran, {} failed; runs.csv in {}",
        cfg.name,
        r.total,
        r.in_shard,
        args.shard.k,
        args.shard.n,
        r.skipped_finished,
        r.ran.len(),
        r.failed.len(),
        sweep_dir.display()
    );
    r.conclude(&sweep_dir)
}
