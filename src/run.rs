//! One whole run: stream the training split through the `Trainer` (with
//! checkpoints and signals), evaluate on the test split, write the run
//! folder (`metrics.json` last). Sits above `train` and `checkpoint`, which
//! it orchestrates.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::checkpoint::{self, Checkpointer, Position, SignalGuard};
use crate::config::RunConfig;
use crate::data::{self, Split};
use crate::io::{write_atomic, write_atomic_with};
use crate::metrics;
use crate::train::{
    evaluate, no_rows_error, progress_bar, train_window_with, CurvePoint, Evaluation, PhaseTimes,
    Progress, RowWindow, Trainer,
};

/// How a run is carried out, beyond its config.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Write nothing to disk (benchmarks).
    pub dry: bool,
    /// Force the progress bar off.
    pub quiet: bool,
    /// Continue from the newest valid checkpoint in the run folder.
    pub resume: bool,
}

/// Train and evaluate one config; write `results/<run>/` unless `opts.dry`.
pub fn run(cfg: &RunConfig, opts: &RunOptions) -> Result<RunMetrics> {
    let wall = Instant::now();
    let dir = cfg.run_dir();
    if !opts.dry {
        start_run_dir(cfg, &dir)?;
    }
    let mut trainer = Trainer::for_config(cfg)?;
    let total = data::count_rows(&cfg.data, Split::Train)
        .ok()
        .map(|n| n * cfg.train.epochs as u64);
    let pb = progress_bar(total, opts.quiet || !cfg.train.progress, "train");
    let mut progress = Progress::default();
    let mut start = Position::default();
    if opts.resume {
        match checkpoint::latest(&dir)? {
            Some(snap) => {
                eprintln!("resuming from {}", snap.path.display());
                start = snap.apply(cfg, &mut trainer, &mut progress)?;
                pb.inc(progress.samples);
            }
            None => eprintln!(
                "no checkpoint in {}: starting from the beginning",
                dir.display()
            ),
        }
    }
    if !opts.dry && !opts.resume {
        checkpoint::clear(&dir)?;
    }
    let ck = Checkpointer::new(cfg, (!opts.dry).then(|| dir.clone()));
    let signals = (!opts.dry).then(SignalGuard::install);
    for epoch in start.epoch..cfg.train.epochs {
        let skip = if epoch == start.epoch {
            start.rows_in_epoch
        } else {
            0
        };
        let window = RowWindow { skip, take: None };
        progress.epoch = epoch;
        let stopped = train_window_with(
            &mut trainer,
            cfg,
            window,
            &pb,
            &mut progress,
            &mut |t, p, rows| {
                let pos = Position {
                    epoch,
                    rows_in_epoch: skip + rows,
                };
                ck.after_batch(cfg, t, p, pos)
            },
        )?;
        if stopped {
            pb.finish_and_clear();
            anyhow::bail!(
                "interrupted after {} batches; checkpoint saved, continue with `ctr-run train --resume {}`",
                progress.batches,
                dir.display()
            );
        }
    }
    drop(signals);
    if progress.samples == 0 {
        return Err(no_rows_error(cfg, Split::Train, progress.bad_rows));
    }
    if !opts.dry && (ck.enabled() || cfg.train.save_model) {
        // The final state: what `ctr-run export` reads, and a resume after
        // a crash in evaluation goes straight to evaluating.
        let end = Position {
            epoch: cfg.train.epochs,
            rows_in_epoch: 0,
        };
        checkpoint::save(&dir, cfg, &trainer, &progress, end)?;
    }
    pb.finish_and_clear();
    let ev = evaluate(&mut trainer, cfg)?;
    let m = metrics_of(cfg, &trainer, &progress, &ev, wall);
    if !opts.dry {
        finish_run_dir(
            &dir,
            &m,
            &progress.curve,
            cfg.train.predictions.then_some(&ev),
        )?;
    }
    Ok(m)
}

/// Create the run folder and record the resolved config. A finished run is
/// marked by `metrics.json`; a stale one is removed first so a rerun that
/// dies midway is not mistaken for finished.
pub fn start_run_dir(cfg: &RunConfig, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating run folder {}", dir.display()))?;
    crate::io::remove_if_present(&dir.join("metrics.json"))?;
    // A run killed mid-write (SIGKILL, power loss) left partial temporaries.
    for d in [dir.to_path_buf(), checkpoint::dir_of(dir)] {
        crate::io::remove_stale_temporaries(&d)
            .with_context(|| format!("cleaning {}", d.display()))?;
    }
    write_atomic(&dir.join("config.toml"), cfg.to_toml().as_bytes())?;
    Ok(())
}

pub fn metrics_of(
    cfg: &RunConfig,
    trainer: &Trainer,
    p: &Progress,
    ev: &Evaluation,
    wall: Instant,
) -> RunMetrics {
    let sparsity = trainer.sparsity();
    let memory = trainer.memory();
    RunMetrics {
        run: cfg.name.clone(),
        version: env!("CARGO_PKG_VERSION"),
        git_commit: option_env!("CTR_RUN_GIT_COMMIT"),
        seed: cfg.seed,
        threads: cfg.threads,
        model: cfg.model.kind.as_str().to_string(),
        optimizer: cfg.optimizer.name.to_string(),
        auc: ev.auc,
        logloss: ev.logloss,
        feature_rate: sparsity.rate().unwrap_or(f64::NAN),
        nonzero_features: sparsity.nonzero_features,
        seen_features: sparsity.seen_features,
        train_samples: p.samples,
        test_samples: ev.labels.len() as u64,
        train_batches: p.batches,
        train_loss: if p.batches > 0 {
            p.loss_sum / p.batches as f64
        } else {
            f64::NAN
        },
        bad_rows: p.bad_rows + ev.bad_rows,
        wall_seconds: wall.elapsed().as_secs_f64(),
        train_seconds: p.seconds,
        train_samples_per_second: p.samples as f64 / p.seconds.max(1e-9),
        peak_rss_bytes: peak_rss_bytes(),
        embedding_rows: memory.rows,
        embedding_needed_bytes: memory.needed_bytes,
        embedding_held_bytes: memory.held_bytes,
        phases: trainer.times.clone(),
        informative: informative_report(cfg, trainer),
        prune_finetune: None,
        prune_target_rate: None,
    }
}

/// Precision and recall of the kept features against the generator's
/// planted informative features (docs/metrics.md: sparsity results can be judged).
/// None on real data, and when bucket folding or the rare-value rule change
/// keys away from the generator's.
fn informative_report(cfg: &RunConfig, trainer: &Trainer) -> Option<metrics::PrecisionRecall> {
    if cfg.data.buckets.is_some() || cfg.data.min_count > 0 {
        return None;
    }
    let truth = data::ground_truth(&cfg.data).ok()??;
    let store = trainer.store();
    let informative: std::collections::HashSet<u64> = data::informative_keys(&truth)
        .into_iter()
        .filter(|&k| store.lookup(k).is_some())
        .collect();
    let kept: std::collections::HashSet<u64> = store
        .keys()
        .filter(|&(_, row)| store.weights(row).iter().any(|&x| x != 0.0))
        .map(|(k, _)| k)
        .collect();
    Some(metrics::precision_recall(&kept, &informative))
}

/// Write the curve, the predictions if asked, and last `metrics.json`,
/// which marks the run complete.
pub fn finish_run_dir(
    dir: &Path,
    m: &RunMetrics,
    curve: &[CurvePoint],
    predictions: Option<&Evaluation>,
) -> Result<()> {
    write_atomic_with(&dir.join("curve.csv"), |w| {
        writeln!(w, "batch,samples,loss,auc,seconds")?;
        for p in curve {
            let auc = p.auc.map(|a| format!("{a:.6}")).unwrap_or_default();
            writeln!(
                w,
                "{},{},{:.6},{},{:.3}",
                p.batch, p.samples, p.loss, auc, p.seconds
            )?;
        }
        Ok(())
    })?;
    if let Some(ev) = predictions {
        write_predictions(&dir.join("predictions.csv"), &ev.labels, &ev.scores)?;
    }
    write_atomic(
        &dir.join("metrics.json"),
        serde_json::to_string_pretty(m)?.as_bytes(),
    )?;
    Ok(())
}

/// What `metrics.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct RunMetrics {
    pub run: String,
    pub version: &'static str,
    /// The commit ctr-run was built from (build.rs; null outside a git
    /// checkout).
    pub git_commit: Option<&'static str>,
    pub seed: u64,
    pub threads: usize,
    pub model: String,
    pub optimizer: String,
    pub auc: Option<f64>,
    pub logloss: f64,
    /// Non-zero embedding rows / rows seen in training.
    pub feature_rate: f64,
    pub nonzero_features: u64,
    pub seen_features: u64,
    pub train_samples: u64,
    pub test_samples: u64,
    pub train_batches: u64,
    pub train_loss: f64,
    pub bad_rows: u64,
    pub wall_seconds: f64,
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    pub peak_rss_bytes: Option<u64>,
    pub embedding_rows: u64,
    /// Bytes the rows' weights and optimizer slots need.
    pub embedding_needed_bytes: u64,
    /// Bytes the store holds for them (chunks, index, per-row steps).
    pub embedding_held_bytes: u64,
    pub phases: PhaseTimes,
    /// On synthetic data with a planted model: kept (non-zero) features vs
    /// the truly informative ones seen in training.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informative: Option<metrics::PrecisionRecall>,
    /// Set by `ctr-run prune`: the fine-tune fraction these metrics are of
    /// (a pruning run's own `metrics.json`: its first configured fraction;
    /// tables choose r over all seeds, see `experiment::prune`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune_finetune: Option<f64>,
    /// Set by `ctr-run prune`: the feature rate that was targeted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune_target_rate: Option<f64>,
}

/// `label,score` rows, atomically (`predictions.csv`, and `ctr-run predict`
/// in the same format so the two compare byte for byte).
pub fn write_predictions(path: &Path, labels: &[f32], scores: &[f32]) -> std::io::Result<()> {
    write_atomic_with(path, |w| {
        writeln!(w, "label,score")?;
        for (y, s) in labels.iter().zip(scores) {
            // 9 significant digits round-trip an f32 exactly.
            writeln!(w, "{},{:.8e}", *y as u8, s)?;
        }
        Ok(())
    })
}

/// Peak resident set size of this process (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
