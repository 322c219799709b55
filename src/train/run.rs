//! One whole run: stream the training split through the `Trainer` (a reader
//! thread feeding a bounded channel, so parsing and training overlap on the
//! two cores), evaluate on the test split, write the run folder.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::config::RunConfig;
use crate::data::{self, Batch, BatchSource, DataError, Split};
use crate::io::{write_atomic, write_atomic_with};
use crate::metrics;
use crate::train::{Phase, PhaseTimes, Trainer};

/// Batches in flight between the reader thread and the trainer.
const READ_AHEAD: usize = 4;

/// How a run is carried out, beyond its config.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Write nothing to disk (benchmarks).
    pub dry: bool,
    /// Force the progress bar off.
    pub quiet: bool,
}

/// One point of the training curve.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    pub batch: u64,
    pub samples: u64,
    /// Mean training loss over the window since the previous point.
    pub loss: f64,
    /// Progressive-validation AUC over the window: each batch scored before
    /// the model trained on it.
    pub auc: Option<f64>,
    pub seconds: f64,
}

/// What `metrics.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct RunMetrics {
    pub run: String,
    pub version: &'static str,
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
    pub embedding_needed_bytes: u64,
    pub embedding_held_bytes: u64,
    pub phases: PhaseTimes,
}

/// Batches from a reader thread. Empty batches go back to the reader to be
/// refilled, so the pipeline allocates only its first `READ_AHEAD + 2`.
struct Prefetch {
    full: Receiver<Result<Batch, DataError>>,
    empty: SyncSender<Batch>,
    handle: Option<JoinHandle<()>>,
}

impl Prefetch {
    fn start(mut source: Box<dyn BatchSource>, max_batches: u64) -> Self {
        let (full_tx, full) = sync_channel::<Result<Batch, DataError>>(READ_AHEAD);
        let (empty, empty_rx) = sync_channel::<Batch>(READ_AHEAD + 2);
        for _ in 0..READ_AHEAD + 2 {
            empty.send(Batch::default()).expect("channel has room");
        }
        let handle = std::thread::spawn(move || {
            let mut sent = 0u64;
            while max_batches == 0 || sent < max_batches {
                let Ok(mut batch) = empty_rx.recv() else { return };
                match source.next_batch(&mut batch) {
                    Ok(true) => {
                        if full_tx.send(Ok(batch)).is_err() {
                            return;
                        }
                        sent += 1;
                    }
                    Ok(false) => return,
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        Self { full, empty, handle: Some(handle) }
    }

    fn next(&mut self) -> Option<Result<Batch, DataError>> {
        self.full.recv().ok()
    }

    fn recycle(&self, batch: Batch) {
        let _ = self.empty.try_send(batch);
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Unblock the reader (it may wait on `empty`) and wait for it.
        let (dummy, _) = sync_channel(1);
        let _ = std::mem::replace(&mut self.empty, dummy);
        while self.full.try_recv().is_ok() {}
        if let Some(h) = self.handle.take() {
            // The reader exits once its channels close.
            drop(std::mem::replace(&mut self.full, sync_channel(1).1));
            let _ = h.join();
        }
    }
}

fn progress_bar(total: Option<u64>, quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total.is_some() {
        "{prefix} [{bar:30}] {human_pos}/{human_len} samples {per_sec} {msg} ETA {eta}"
    } else {
        "{prefix} {spinner} {human_pos} samples {per_sec} {msg}"
    };
    pb.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
    pb.set_prefix(what.to_string());
    pb
}

/// Train and evaluate one config; write `results/<run>/` unless `opts.dry`.
pub fn run(cfg: &RunConfig, opts: &RunOptions) -> Result<RunMetrics> {
    let wall = Instant::now();
    let dir = cfg.run_dir();
    if !opts.dry {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating run folder {}", dir.display()))?;
        // A finished run is marked by metrics.json; remove a stale one first
        // so a rerun that dies midway is not mistaken for finished.
        let _ = std::fs::remove_file(dir.join("metrics.json"));
        write_atomic(&dir.join("config.toml"), cfg.to_toml().as_bytes())?;
    }
    let device = crate::model::device(false)?;
    let train_total = data::count_rows(&cfg.data, Split::Train).ok().map(|n| n * cfg.train.epochs as u64);
    let quiet = opts.quiet || !cfg.train.progress;

    let mut trainer: Option<Trainer> = None;
    let mut curve = Vec::new();
    let (mut samples, mut batches, mut loss_sum, mut bad_rows) = (0u64, 0u64, 0.0f64, 0u64);
    let (mut win_loss, mut win_batches) = (0.0f64, 0u64);
    let (mut win_scores, mut win_labels, mut logits) = (Vec::new(), Vec::new(), Vec::new());
    let pb = progress_bar(train_total, quiet, "train");
    let train_start = Instant::now();
    let mut read_time = std::time::Duration::ZERO;
    for _epoch in 0..cfg.train.epochs {
        let source = data::open(&cfg.data, Split::Train, cfg.train.batch_size)?;
        let t = trainer.get_or_insert_with_result(|| Trainer::new(cfg, source.schema(), &device))?;
        let budget = if cfg.train.max_batches > 0 { cfg.train.max_batches.saturating_sub(batches) } else { 0 };
        if cfg.train.max_batches > 0 && budget == 0 {
            break;
        }
        let mut prefetch = Prefetch::start(source, budget);
        loop {
            let t0 = Instant::now();
            let Some(next) = prefetch.next() else { break };
            read_time += t0.elapsed();
            let batch = next?;
            let loss = t.train_batch(&batch, Some(&mut logits))? as f64;
            samples += batch.len as u64;
            batches += 1;
            loss_sum += loss;
            win_loss += loss;
            win_batches += 1;
            win_scores.extend_from_slice(&logits);
            win_labels.extend_from_slice(&batch.labels);
            pb.inc(batch.len as u64);
            if batches % cfg.train.log_every as u64 == 0 {
                let point = CurvePoint {
                    batch: batches,
                    samples,
                    loss: win_loss / win_batches as f64,
                    auc: metrics::auc(&win_scores, &win_labels),
                    seconds: train_start.elapsed().as_secs_f64(),
                };
                pb.set_message(format!("loss {:.4}", point.loss));
                curve.push(point);
                (win_loss, win_batches) = (0.0, 0);
                win_scores.clear();
                win_labels.clear();
            }
            prefetch.recycle(batch);
        }
        bad_rows += 0;
    }
    pb.finish_and_clear();
    let train_seconds = train_start.elapsed().as_secs_f64();
    let mut trainer = trainer.context("no training data")?;
    trainer.times.add(Phase::Read, read_time);

    // Evaluation on the test split.
    let t0 = Instant::now();
    let mut source = data::open(&cfg.data, Split::Test, cfg.train.batch_size)?;
    let mut batch = Batch::default();
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    while source.next_batch(&mut batch)? {
        trainer.logits(&batch, &mut logits)?;
        scores.extend(logits.iter().map(|&x| sigmoid(x)));
        labels.extend_from_slice(&batch.labels);
    }
    bad_rows += source.bad_rows();
    trainer.times.add(Phase::Evaluate, t0.elapsed());

    let sparsity = trainer.sparsity();
    let memory = trainer.memory();
    let m = RunMetrics {
        run: cfg.name.clone(),
        version: env!("CARGO_PKG_VERSION"),
        seed: cfg.seed,
        threads: cfg.threads,
        model: format!("{:?}", cfg.model.kind).to_lowercase(),
        optimizer: cfg.optimizer.name.to_string(),
        auc: metrics::auc(&scores, &labels),
        logloss: metrics::logloss(&scores, &labels),
        feature_rate: sparsity.rate(),
        nonzero_features: sparsity.nonzero_features,
        seen_features: sparsity.seen_features,
        train_samples: samples,
        test_samples: labels.len() as u64,
        train_batches: batches,
        train_loss: if batches > 0 { loss_sum / batches as f64 } else { f64::NAN },
        bad_rows,
        wall_seconds: wall.elapsed().as_secs_f64(),
        train_seconds,
        train_samples_per_second: samples as f64 / train_seconds.max(1e-9),
        peak_rss_bytes: peak_rss_bytes(),
        embedding_rows: memory.rows,
        embedding_needed_bytes: memory.needed_bytes,
        embedding_held_bytes: memory.held_bytes,
        phases: trainer.times.clone(),
    };
    if !opts.dry {
        write_outputs(cfg, &dir, &m, &curve, cfg.train.predictions.then_some((&labels, &scores)))?;
    }
    Ok(m)
}

fn write_outputs(
    cfg: &RunConfig,
    dir: &std::path::Path,
    m: &RunMetrics,
    curve: &[CurvePoint],
    predictions: Option<(&Vec<f32>, &Vec<f32>)>,
) -> Result<()> {
    let _ = cfg;
    write_atomic_with(&dir.join("curve.csv"), |w| {
        writeln!(w, "batch,samples,loss,auc,seconds")?;
        for p in curve {
            let auc = p.auc.map(|a| format!("{a:.6}")).unwrap_or_default();
            writeln!(w, "{},{},{:.6},{},{:.3}", p.batch, p.samples, p.loss, auc, p.seconds)?;
        }
        Ok(())
    })?;
    if let Some((labels, scores)) = predictions {
        write_atomic_with(&dir.join("predictions.csv"), |w| {
            writeln!(w, "label,score")?;
            for (y, s) in labels.iter().zip(scores.iter()) {
                // 9 significant digits round-trip an f32 exactly.
                writeln!(w, "{},{:.9e}", *y as u8, s)?;
            }
            Ok(())
        })?;
    }
    // Last: metrics.json marks the run complete.
    write_atomic(&dir.join("metrics.json"), serde_json::to_string_pretty(m)?.as_bytes())?;
    Ok(())
}

#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Peak resident set size of this process (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

trait GetOrInsertResult<T> {
    fn get_or_insert_with_result(&mut self, f: impl FnOnce() -> Result<T>) -> Result<&mut T>;
}

impl<T> GetOrInsertResult<T> for Option<T> {
    fn get_or_insert_with_result(&mut self, f: impl FnOnce() -> Result<T>) -> Result<&mut T> {
        if self.is_none() {
            *self = Some(f()?);
        }
        Ok(self.as_mut().expect("just set"))
    }
}

#[allow(dead_code)]
fn _unused(_: PathBuf) {}
