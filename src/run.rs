//! One whole run: stream the training split through the `Trainer` (with
//! checkpoints and signals), evaluate on the test split, write the run
//! folder (`metrics.json` last). Sits above `train` and `checkpoint`, which
//! it orchestrates.

pub mod features;
mod metrics_file;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::checkpoint::{self, Checkpointer, Position, SignalGuard};
use crate::config::RunConfig;
use crate::data::{self, Split};
use crate::io::{write_atomic, write_atomic_with};
use crate::metrics;
use crate::train::{
    evaluate, evaluate_split, no_rows_error, progress_bar, train_window_with, CurvePoint,
    EarlyStop, Evaluation, Progress, RowWindow, Trainer, ValidPoint,
};
pub use metrics_file::RunMetrics;

/// Sub-folder of the run folder holding the best-validation state
/// (`[train] restore_best`), as a checkpoint.
pub const BEST_DIR: &str = "best";

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
    // The cache's meta gives the bar its total; without one, no extra pass
    // over the data only to count it (the bar shows rows without a total).
    let total = data::known_rows(&cfg.data, Split::Train)
        .ok()
        .flatten()
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
        checkpoint::clear(&dir.join(BEST_DIR))?;
    }
    let validating = cfg.data.has_validation();
    let best_dir = (!opts.dry && validating && cfg.train.restore_best).then(|| dir.join(BEST_DIR));
    let ck = Checkpointer::new(cfg, (!opts.dry).then(|| dir.clone()));
    let signals = (!opts.dry).then(SignalGuard::install);
    let mut epoch = start.epoch;
    while epoch < cfg.train.epochs && !progress.early.stopped {
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
                let every = cfg.train.eval_every;
                if validating && every > 0 && p.batches % every == 0 {
                    validate(t, cfg, p, best_dir.as_deref(), pos)?;
                    if p.early.stopped {
                        return Ok(true);
                    }
                }
                ck.after_batch(cfg, t, p, pos)
            },
        )?;
        if progress.early.stopped {
            break;
        }
        if stopped {
            pb.finish_and_clear();
            anyhow::bail!(
                "interrupted after {} batches; checkpoint saved, continue with `ctr-run train --resume {}`",
                progress.batches,
                dir.display()
            );
        }
        if validating && progress.early.due(progress.batches) {
            // The epoch's end; the position is that of the next epoch, so a
            // checkpoint taken here resumes after it.
            let pos = Position {
                epoch: epoch + 1,
                rows_in_epoch: 0,
            };
            validate(&mut trainer, cfg, &mut progress, best_dir.as_deref(), pos)?;
        }
        epoch += 1;
    }
    drop(signals);
    if progress.samples == 0 {
        return Err(no_rows_error(cfg, Split::Train, progress.bad_rows));
    }
    if let Some(best) = &best_dir {
        trainer = restore_best(cfg, trainer, best)?;
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
    if !opts.dry && features::wanted(cfg, &trainer) {
        features::write(&dir, cfg, &trainer)?;
    }
    let m = metrics_of(cfg, &trainer, &progress, &ev, wall);
    if !opts.dry {
        finish_run_dir(
            &dir,
            &m,
            &progress.curve,
            &progress.early.points,
            cfg.train.predictions.then_some(&ev),
        )?;
    }
    Ok(m)
}

/// Score the validation split after `progress.batches` batches and record
/// it; a new best is saved to `best_dir` (when given) as a checkpoint at `pos`.
fn validate(
    trainer: &mut Trainer,
    cfg: &RunConfig,
    progress: &mut Progress,
    best_dir: Option<&Path>,
    pos: Position,
) -> Result<()> {
    let ev = evaluate_split(trainer, cfg, Split::Valid)?;
    let point = ValidPoint {
        batch: progress.batches,
        epoch: progress.epoch,
        samples: progress.samples,
        auc: ev.auc,
        logloss: ev.logloss,
    };
    if progress.early.record(point, cfg.train.patience) {
        if let Some(dir) = best_dir {
            checkpoint::save(dir, cfg, trainer, progress, pos)?;
        }
    }
    Ok(())
}

/// The trainer in the state of the best validation evaluation (saved by
/// [`validate`]); the phase times stay those of the whole run.
fn restore_best(cfg: &RunConfig, trainer: Trainer, best_dir: &Path) -> Result<Trainer> {
    let Some(snap) = checkpoint::latest(best_dir)? else {
        return Ok(trainer);
    };
    let mut best = Trainer::for_config(cfg)?;
    snap.apply(cfg, &mut best, &mut Progress::default())
        .with_context(|| format!("restoring the best state from {}", best_dir.display()))?;
    best.times = trainer.times.clone();
    Ok(best)
}

/// Create the run folder and record the resolved config. A finished run is
/// marked by `metrics.json`; a stale one is removed first so a rerun that
/// dies midway is not mistaken for finished.
pub fn start_run_dir(cfg: &RunConfig, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating run folder {}", dir.display()))?;
    crate::io::remove_if_present(&dir.join("metrics.json"))?;
    // A run killed mid-write (SIGKILL, power loss) left partial temporaries.
    for d in [
        dir.to_path_buf(),
        checkpoint::dir_of(dir),
        checkpoint::dir_of(&dir.join(BEST_DIR)),
    ] {
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
    let scored = scored_point(cfg, &p.early);
    RunMetrics {
        run: cfg.name.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("CTR_RUN_GIT_COMMIT").map(str::to_string),
        seed: cfg.seed,
        threads: cfg.threads,
        model: cfg.model.kind.as_str().to_string(),
        optimizer: cfg.optimizer.name.to_string(),
        auc: ev.auc,
        logloss: ev.logloss,
        valid_auc: scored.and_then(|v| v.auc),
        valid_logloss: scored.map(|v| v.logloss),
        best_step: p.early.best_point().map(|v| v.batch),
        stopped_early: p.early.stopped,
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
        memory_estimate: trainer.memory_estimates(cfg).ok(),
        train_cpu_seconds: trainer.loop_cpu.cpu_seconds,
        train_cores_busy: trainer.loop_cpu.cores_busy(),
        train_spin_cpu_seconds: trainer.loop_cpu.spin_seconds,
        train_cores_working: trainer.loop_cpu.cores_working(),
        phases: trainer.times.clone(),
        informative: informative_report(cfg, trainer),
        prune_finetune: None,
        prune_target_rate: None,
    }
}

/// The validation evaluation of the state the test split scores: the best
/// one with `restore_best`, else the last.
fn scored_point<'a>(cfg: &RunConfig, early: &'a EarlyStop) -> Option<&'a ValidPoint> {
    if cfg.train.restore_best {
        early.best_point()
    } else {
        early.points.last()
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
    // With a long-tail signal every value of an informative field is
    // informative: there is no small planted support to recover.
    if truth.fields.iter().any(|f| f.tail_signal > 0.0) {
        return None;
    }
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
    valid: &[ValidPoint],
    predictions: Option<&Evaluation>,
) -> Result<()> {
    write_atomic_with(&dir.join("curve.csv"), |w| write_curve(w, curve, valid))?;
    if let Some(ev) = predictions {
        write_predictions(&dir.join("predictions.csv"), &ev.labels, &ev.scores)?;
    }
    write_atomic(
        &dir.join("metrics.json"),
        serde_json::to_string_pretty(m)?.as_bytes(),
    )?;
    Ok(())
}

/// `curve.csv`: one row per training-curve point, and with a validation
/// split three more columns and one row per evaluation (merged into the
/// training row of the same batch; empty cells where a row has no value).
fn write_curve(
    w: &mut dyn Write,
    curve: &[CurvePoint],
    valid: &[ValidPoint],
) -> std::io::Result<()> {
    let opt = |x: Option<f64>| x.map(|a| format!("{a:.6}")).unwrap_or_default();
    let mut c = csv::Writer::from_writer(w);
    let train_cells = |p: &CurvePoint| {
        [
            format!("{:.6}", p.loss),
            opt(p.auc),
            format!("{:.3}", p.seconds),
        ]
    };
    if valid.is_empty() {
        c.write_record(["batch", "samples", "loss", "auc", "seconds"])?;
        for p in curve {
            let [loss, auc, seconds] = train_cells(p);
            c.write_record([
                p.batch.to_string(),
                p.samples.to_string(),
                loss,
                auc,
                seconds,
            ])?;
        }
        return c.flush();
    }
    c.write_record([
        "batch",
        "samples",
        "loss",
        "auc",
        "seconds",
        "epoch",
        "valid_auc",
        "valid_logloss",
    ])?;
    let (mut cv, mut v) = (curve.iter().peekable(), valid.iter().peekable());
    loop {
        let cb = cv.peek().map(|p| p.batch);
        let vb = v.peek().map(|p| p.batch);
        let (tp, vp) = match (cb, vb) {
            (None, None) => break,
            (Some(a), Some(b)) if a == b => (cv.next(), v.next()),
            (Some(a), Some(b)) if a < b => (cv.next(), None),
            (Some(_), None) => (cv.next(), None),
            _ => (None, v.next()),
        };
        let [loss, auc, seconds] = tp.map(train_cells).unwrap_or_default();
        let samples = tp.map(|p| p.samples).or(vp.map(|p| p.samples)).unwrap_or(0);
        let batch = tp.map(|p| p.batch).or(vp.map(|p| p.batch)).unwrap_or(0);
        let [epoch, vauc, vloss] = vp
            .map(|p| {
                [
                    (p.epoch + 1).to_string(),
                    opt(p.auc),
                    format!("{:.6}", p.logloss),
                ]
            })
            .unwrap_or_default();
        c.write_record([
            batch.to_string(),
            samples.to_string(),
            loss,
            auc,
            seconds,
            epoch,
            vauc,
            vloss,
        ])?;
    }
    c.flush()
}

/// `label,score` rows, atomically (`predictions.csv`, and `ctr-run predict`
/// in the same format so the two compare byte for byte).
pub fn write_predictions(path: &Path, labels: &[f32], scores: &[f32]) -> std::io::Result<()> {
    write_atomic_with(path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["label", "score"])?;
        for (y, s) in labels.iter().zip(scores) {
            // 9 significant digits round-trip an f32 exactly.
            c.write_record([(*y as u8).to_string(), format!("{s:.8e}")])?;
        }
        c.flush()
    })
}

/// Scores of a file without labels: `id,score` (or `score` for a format
/// without an id column), one line per row in file order.
pub fn write_unlabelled_scores(path: &Path, ids: &[u64], scores: &[f32]) -> std::io::Result<()> {
    write_atomic_with(path, |w| {
        if ids.len() == scores.len() {
            writeln!(w, "id,score")?;
            for (id, s) in ids.iter().zip(scores) {
                writeln!(w, "{id},{s:.8e}")?;
            }
        } else {
            writeln!(w, "score")?;
            for s in scores {
                writeln!(w, "{s:.8e}")?;
            }
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
