//! The passes of a run that pruning, benchmarks and the run itself share:
//! train on a window of the training stream (with the divergence check and
//! the training curve), score the test split.

use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde::Serialize;

use crate::config::RunConfig;
use crate::data::{self, Batch, BatchSource, Prefetch, Split};
use crate::metrics;
use crate::train::{Phase, Trainer};

/// Batches read ahead by the reader thread.
const READ_AHEAD: usize = 4;

/// Which rows of a stream to read: skip `skip`, then at most `take` (None = to the end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowWindow {
    pub skip: u64,
    pub take: Option<u64>,
}

/// The split's source with its reader thread, positioned at `skip`.
fn open_prefetched(cfg: &RunConfig, split: Split, skip: u64) -> Result<Prefetch> {
    let rows = match split {
        Split::Train => cfg.train.batch_size,
        _ => super::score::score_batch_size(cfg.train.batch_size),
    };
    let mut source = data::open(&cfg.data, split, rows)?;
    if skip > 0 {
        source.skip_rows(skip)?;
    }
    Ok(Prefetch::new(source, READ_AHEAD))
}

/// One point of the training curve.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    pub batch: u64,
    pub samples: u64,
    /// Mean training loss over the window since the previous point.
    pub loss: f64,
    /// Progressive-validation AUC over the window: each batch scored by the
    /// model before it trained on that batch.
    pub auc: Option<f64>,
    pub seconds: f64,
}

/// The training curve and running totals of a run.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    pub curve: Vec<CurvePoint>,
    pub samples: u64,
    pub batches: u64,
    pub loss_sum: f64,
    pub bad_rows: u64,
    pub seconds: f64,
    // The open curve window (checkpoints save it, through `to_record`, so a
    // resumed curve matches).
    win_loss: f64,
    win_batches: u64,
    win_logits: Vec<f32>,
    win_labels: Vec<f32>,
    /// The newest finite batch loss and its batch, for a divergence error
    /// (not checkpointed: a resumed run names only losses it saw).
    pub(crate) last_loss: Option<(u64, f64)>,
    /// The epoch being trained (0-based), for a divergence error.
    pub(crate) epoch: usize,
    /// Validation evaluations and early stopping (empty without a
    /// validation split).
    pub early: super::EarlyStop,
}

/// What a checkpoint keeps of a [`Progress`] (state as a record): `train`
/// owns the fields, `checkpoint` stores and gives back the record.
#[derive(Clone, Debug, Default)]
pub struct ProgressRecord {
    pub curve: Vec<CurvePoint>,
    pub samples: u64,
    pub batches: u64,
    pub bad_rows: u64,
    pub loss_sum: f64,
    pub seconds: f64,
    /// The open curve window: its loss sum, batches, logits and labels.
    pub win_loss: f64,
    pub win_batches: u64,
    pub win_logits: Vec<f32>,
    pub win_labels: Vec<f32>,
    pub early: super::EarlyStop,
}

impl Progress {
    /// The record a checkpoint saves.
    pub fn to_record(&self) -> ProgressRecord {
        ProgressRecord {
            curve: self.curve.clone(),
            samples: self.samples,
            batches: self.batches,
            bad_rows: self.bad_rows,
            loss_sum: self.loss_sum,
            seconds: self.seconds,
            win_loss: self.win_loss,
            win_batches: self.win_batches,
            win_logits: self.win_logits.clone(),
            win_labels: self.win_labels.clone(),
            early: self.early.clone(),
        }
    }

    /// Continue from a saved record (the divergence bookkeeping and the
    /// epoch start fresh: a resumed run names only losses it saw).
    pub fn restore(&mut self, r: ProgressRecord) {
        self.curve = r.curve;
        self.samples = r.samples;
        self.batches = r.batches;
        self.bad_rows = r.bad_rows;
        self.loss_sum = r.loss_sum;
        self.seconds = r.seconds;
        self.win_loss = r.win_loss;
        self.win_batches = r.win_batches;
        self.win_logits = r.win_logits;
        self.win_labels = r.win_labels;
        self.early = r.early;
    }
}

/// The largest batch loss a run accepts: the logloss of one row scored
/// with the clipped probability [`metrics::PROB_CLAMP`] on the wrong side,
/// `-ln(1e-7) ~= 16.12`. A batch mean above it means the average row is
/// predicted more confidently wrong than evaluation can even express
/// (a constant 0.5 scores 0.69); no sane training passes through it, and
/// an exploding model crosses it long before its loss overflows to inf.
pub fn max_batch_loss() -> f64 {
    -metrics::PROB_CLAMP.ln()
}

/// Scores of the test split.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub auc: Option<f64>,
    pub logloss: f64,
    pub labels: Vec<f32>,
    pub scores: Vec<f32>,
    pub bad_rows: u64,
}

pub fn progress_bar(total: Option<u64>, quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{prefix} [{bar:30}] {human_pos}/{human_len} samples {rate} {msg} ETA {eta}"
    } else {
        "{prefix} {spinner} {human_pos} samples {rate} {msg}"
    };
    pb.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            // Whole samples per second (indicatif's {per_sec} prints 123456.789/s).
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", s.per_sec());
            })
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// Train on `window` of the training split, appending to `progress`.
pub fn train_window(
    trainer: &mut Trainer,
    cfg: &RunConfig,
    window: RowWindow,
    pb: &ProgressBar,
    progress: &mut Progress,
) -> Result<()> {
    train_window_with(trainer, cfg, window, pb, progress, &mut |_, _, _| Ok(false)).map(|_| ())
}

/// `train_window` with `after_batch(trainer, progress, rows of the window
/// done)` called after every batch; it returns true to stop early
/// (checkpoints, interrupts). Returns whether it was stopped.
pub fn train_window_with(
    trainer: &mut Trainer,
    cfg: &RunConfig,
    window: RowWindow,
    pb: &ProgressBar,
    progress: &mut Progress,
    after_batch: &mut dyn FnMut(&mut Trainer, &mut Progress, u64) -> Result<bool>,
) -> Result<bool> {
    let mut stopped = false;
    let mut source = open_prefetched(cfg, Split::Train, window.skip)?.with_distinct_keys();
    let start = Instant::now();
    let clock = super::LoopCpu::start();
    let (mut batch, mut logits, mut rows) = (Batch::default(), Vec::new(), 0u64);
    let mut read = std::time::Duration::ZERO;
    let mut text_log = super::textlog::TextLog::new(cfg.train.log_seconds, pb);
    // The loop reads one batch ahead, so the step can look up the next
    // batch's keys while it trains this one (`Trainer::train_batch_ahead`).
    // A read that fails is reported after the batch before it has
    // trained (and `after_batch` has run), as without the look-ahead.
    let limit_reached = |batches: u64, rows: u64| {
        (cfg.train.max_batches > 0 && batches >= cfg.train.max_batches)
            || window.take.is_some_and(|t| rows >= t)
    };
    let mut next = Batch::default();
    let mut ahead: Result<bool, data::DataError> = Ok(false);
    if !limit_reached(progress.batches, rows) {
        let t0 = Instant::now();
        ahead = source.next_batch(&mut next);
        read += t0.elapsed();
    }
    // Bad rows up to the batch being trained: a loop stopped after it has
    // read ahead past rows no batch trained on.
    let mut bad_rows = 0;
    while ahead? {
        std::mem::swap(&mut batch, &mut next);
        if let Some(t) = window.take {
            batch.truncate((t - rows) as usize);
        }
        rows += batch.len as u64;
        bad_rows = source.bad_rows();
        ahead = Ok(false);
        if !limit_reached(progress.batches + 1, rows) {
            let t0 = Instant::now();
            ahead = source.next_batch(&mut next);
            read += t0.elapsed();
        }
        let upcoming = matches!(ahead, Ok(true)).then_some(&next);
        let loss = trainer.train_batch_ahead(&batch, upcoming, Some(&mut logits))? as f64;
        check_loss(cfg, progress, loss)?;
        progress.record(cfg, &batch, loss, &logits, start.elapsed().as_secs_f64());
        pb.inc(batch.len as u64);
        if let Some(t) = &mut text_log {
            t.after_batch(pb, loss);
        }
        if let Some(p) = progress.curve.last() {
            pb.set_message(format!("loss {:.4}", p.loss));
        }
        if after_batch(trainer, progress, rows)? {
            stopped = true;
            break;
        }
    }
    // Not stopped, the loop read to the end of the stream or of the window
    // (a stream's trailing bad rows count, as they always did).
    progress.bad_rows += if stopped { bad_rows } else { source.bad_rows() };
    trainer.times.add(Phase::Read, read);
    progress.seconds += start.elapsed().as_secs_f64();
    clock.stop(&mut trainer.loop_cpu);
    Ok(stopped)
}

/// Stop a run whose batch loss is not finite or above [`max_batch_loss`]
/// (non-finite weights after an update show up here, in the next batch's
/// loss, or in the test logits).
fn check_loss(cfg: &RunConfig, p: &Progress, loss: f64) -> Result<()> {
    let max = max_batch_loss();
    if loss.is_finite() && loss <= max {
        return Ok(());
    }
    let epoch = if cfg.train.epochs > 1 {
        format!(" (epoch {})", p.epoch + 1)
    } else {
        String::new()
    };
    let why = if loss.is_finite() {
        format!("loss {loss:.4e} is above {max:.4}, the largest logloss of one row (-ln 1e-7)")
    } else {
        format!("loss is {loss}")
    };
    let last = match p.last_loss {
        Some((b, l)) => format!("last finite loss {l:.6} at batch {b}"),
        None => "no finite loss before it".into(),
    };
    anyhow::bail!(
        "training diverged at batch {}{epoch}: {why}; {last}; lower the learning rate",
        p.batches + 1
    )
}

impl Progress {
    fn record(&mut self, cfg: &RunConfig, batch: &Batch, loss: f64, logits: &[f32], elapsed: f64) {
        self.samples += batch.len as u64;
        self.batches += 1;
        self.last_loss = Some((self.batches, loss));
        self.loss_sum += loss;
        self.win_loss += loss;
        self.win_batches += 1;
        self.win_logits.extend_from_slice(logits);
        self.win_labels.extend_from_slice(&batch.labels);
        if self.batches % cfg.train.log_every as u64 == 0 {
            self.curve.push(CurvePoint {
                batch: self.batches,
                samples: self.samples,
                loss: self.win_loss / self.win_batches as f64,
                auc: metrics::auc(&self.win_logits, &self.win_labels),
                seconds: self.seconds + elapsed,
            });
            (self.win_loss, self.win_batches) = (0.0, 0);
            self.win_logits.clear();
            self.win_labels.clear();
        }
    }
}

/// Score the test split.
pub fn evaluate(trainer: &mut Trainer, cfg: &RunConfig) -> Result<Evaluation> {
    evaluate_split(trainer, cfg, Split::Test)
}

/// Score a split (the test split, or the validation split during training).
pub fn evaluate_split(trainer: &mut Trainer, cfg: &RunConfig, split: Split) -> Result<Evaluation> {
    let t0 = Instant::now();
    let what = match split {
        Split::Valid => "validation",
        _ => "test",
    };
    let mut source = open_prefetched(cfg, split, 0)?;
    let mut ev = Evaluation::default();
    let mut n = 0u64;
    let (model, store) = (trainer.model(), trainer.store());
    super::score::score_stream(model, store, &mut source, &mut |batch, logits| {
        n += 1;
        if let Some((i, x)) = logits.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            anyhow::bail!(
                "evaluation: {what} batch {n}, row {}: the score is {x}; the trained model's weights are not finite (training diverged)",
                ev.labels.len() + i + 1
            );
        }
        ev.scores.extend(logits.iter().map(|&x| sigmoid(x)));
        ev.labels.extend_from_slice(&batch.labels);
        Ok(())
    })?;
    ev.bad_rows = source.bad_rows();
    if ev.labels.is_empty() {
        return Err(no_rows_error(cfg, split, ev.bad_rows));
    }
    ev.auc = metrics::auc(&ev.scores, &ev.labels);
    if ev.auc.is_none() && split == Split::Test {
        let positives = ev.labels.iter().filter(|&&y| y == 1.0).count();
        eprintln!(
            "warning: the test split holds one class ({positives} clicks in {} rows): AUC is undefined and recorded as null",
            ev.labels.len()
        );
    }
    ev.logloss = metrics::logloss(&ev.scores, &ev.labels);
    trainer.times.add(Phase::Evaluate, t0.elapsed());
    Ok(ev)
}

/// The error of a split that yielded no rows, naming the file, the split
/// rule and the bad rows skipped: a run on nothing never reads as finished.
pub fn no_rows_error(cfg: &RunConfig, split: Split, bad_rows: u64) -> anyhow::Error {
    use crate::data::SplitKind;
    let d = &cfg.data;
    let (train, test) = match data::input_files(d) {
        Ok(files) => files,
        Err(e) => return e.into(),
    };
    let by_file = data::open::split_by_file(d, &test);
    let file = match (split, test) {
        (Split::Valid, _) if d.valid_path.is_some() => d.valid_path.clone().unwrap(),
        (Split::Test, Some(t)) => t,
        _ => train,
    };
    let file = file.display();
    let paper_days = d.split == SplitKind::Paper
        && data::dataset::paper_split(d.format) == data::dataset::PaperSplit::LastDay
        && !by_file;
    if paper_days && split == Split::Train && bad_rows == 0 {
        // The train side is the days before the last: empty means one day.
        return anyhow::anyhow!(
            "split = \"paper\": {file} holds a single day (every row is on its last day); the paper split trains on the days before the last and needs at least two days"
        );
    }
    let mut rule = if split == Split::Valid && d.valid_path.is_some() {
        "the whole file (valid_path)".to_string()
    } else if by_file {
        "the whole file".to_string()
    } else {
        match d.split {
            SplitKind::Paper if paper_days => "split = \"paper\" (the last day tests)".into(),
            SplitKind::Paper => "split = \"paper\" (the last 1/7 of the lines tests)".into(),
            SplitKind::Fraction => format!(
                "split = \"fraction\", train_fraction = {}",
                d.train_fraction
            ),
            SplitKind::Hashed => {
                format!("split = \"hashed\", train_fraction = {}", d.train_fraction)
            }
        }
    };
    if let Some(m) = d.max_rows {
        rule += &format!(", max_rows = {m}");
    }
    if d.sample_rate < 1.0 {
        rule += &format!(", sample_rate = {}", d.sample_rate);
    }
    if d.valid_fraction > 0.0 && split != Split::Test {
        rule += &format!(", valid_fraction = {}", d.valid_fraction);
    }
    let side = match split {
        Split::Train => "training",
        Split::Test => "test",
        Split::Valid => "validation",
    };
    let bad = if bad_rows > 0 {
        format!("; every one of its {bad_rows} rows is malformed")
    } else {
        String::new()
    };
    anyhow::anyhow!("no {side} rows: {file} gives none under {rule}{bad}")
}

/// Numerically stable logistic function.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(epochs: usize) -> RunConfig {
        let text = format!(
            "name = \"x\"\n[data]\nformat = \"avazu\"\ntrain = \"x.csv\"\n[model]\nkind = \"lr\"\n[optimizer]\nname = \"adam\"\n[train]\nepochs = {epochs}\n"
        );
        RunConfig::parse(&text).unwrap()
    }

    /// The loop reads one batch ahead; a batch read but never trained
    /// (the loop stopped after the one before) adds none of its bad rows.
    #[test]
    fn bad_rows_of_a_batch_read_ahead_but_not_trained_are_not_counted() {
        let dir = tempfile::tempdir().unwrap();
        let header = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";
        let mut text = format!("{header}\n");
        for i in 0..300 {
            // Lines 256..260 (inside batch 3 of 128) have a bad label.
            let label = if (256..260).contains(&i) {
                "x"
            } else {
                ["0", "1"][i % 2]
            };
            text += &format!("{i},{label},14102100,1005,0,s{},b,c,d,e,f,g,h,i,1,0,15706,320,50,1722,0,35,-1,79\n", i % 7);
        }
        let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
        std::fs::write(&train, &text).unwrap();
        std::fs::write(&test, &text).unwrap();
        let cfg = RunConfig::parse(&format!(
            "name = \"x\"\n[data]\nformat = \"avazu\"\ncache = false\nmax_bad_rows = 10\ntrain = \"{}\"\ntest = \"{}\"\n[model]\nkind = \"lr\"\n[optimizer]\nname = \"adam\"\n[train]\nbatch_size = 128\n",
            train.display(),
            test.display()
        ))
        .unwrap();
        let pb = ProgressBar::hidden();
        for (stop_after, stopped, batches, bad) in
            [(2, true, 2, 0), (3, true, 3, 4), (0, false, 3, 4)]
        {
            let mut trainer = Trainer::for_config(&cfg).unwrap();
            let mut p = Progress::default();
            let window = RowWindow::default();
            let stop = &mut |_: &mut Trainer, p: &mut Progress, _| Ok(p.batches == stop_after);
            let was_stopped =
                train_window_with(&mut trainer, &cfg, window, &pb, &mut p, stop).unwrap();
            assert_eq!(
                (was_stopped, p.batches, p.bad_rows),
                (stopped, batches, bad),
                "stop after {stop_after}"
            );
        }
    }

    #[test]
    fn a_loss_up_to_the_largest_logloss_of_one_row_passes() {
        let p = Progress::default();
        assert!(check_loss(&config(1), &p, max_batch_loss()).is_ok());
        assert!(check_loss(&config(1), &p, 0.0).is_ok());
        let err = check_loss(&config(1), &p, f64::INFINITY).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training diverged at batch 1: loss is inf; no finite loss before it; lower the learning rate"
        );
    }

    #[test]
    fn a_divergence_in_a_later_epoch_names_the_epoch_and_the_global_batch() {
        let p = Progress {
            batches: 40,
            last_loss: Some((40, 0.4375)),
            epoch: 1,
            ..Progress::default()
        };
        let err = check_loss(&config(3), &p, f64::NAN).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training diverged at batch 41 (epoch 2): loss is NaN; last finite loss 0.437500 at batch 40; lower the learning rate"
        );
        let err = check_loss(&config(3), &p, 16.2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training diverged at batch 41 (epoch 2): loss 1.6200e1 is above 16.1181, the largest logloss of one row (-ln 1e-7); last finite loss 0.437500 at batch 40; lower the learning rate"
        );
    }
}
