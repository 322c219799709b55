//! The magnitude-pruning baseline (docs/metrics.md, paper Tables 2 and 8): train
//! with the plain optimizer on the first (1 - r) of the training stream
//! (rounded down to a whole batch),
//! keep the top-N embedding rows by L2 norm (N from the target feature
//! rate), fine-tune on the remaining r, prune again; for each r of the
//! schedule. The fractions share one training pass (see `run`), and a
//! killed pruning run resumes like any other.
//!
//! Which r is reported is not decided here: picking the best r of one
//! seed by its test AUC selects on the test set. A run keeps every
//! fraction (with its validation AUC when a validation split is
//! configured); `ctr-run tables` picks r once per setting by the mean
//! validation AUC over its seeds, or the mean test AUC without a
//! validation split ([`choose_fraction`], [`FractionRule`], docs/metrics.md).
//!
//! A run config with a `[prune]` section is a pruning run: `ctr-run train`
//! and sweeps run it like any other, so repeats and grids come for free.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::checkpoint::{self, Checkpointer, Position};
use crate::config::{PruneConfig, RunConfig};
use crate::data::{self, Split};
use crate::io::{remove_if_present, write_atomic, write_atomic_with};
use crate::run::RunMetrics;
use crate::train::{self, Progress, RowWindow, Trainer};

/// The result of one fine-tune fraction, as written to its folder.
#[derive(Clone, Debug)]
pub struct PruneOutcome {
    pub finetune: f64,
    pub metrics: RunMetrics,
}

/// Keep `rate` of the rows seen so far.
fn prune_trainer(trainer: &mut Trainer, rate: f64) {
    let seen = trainer.store().len() as f64;
    let keep = (rate * seen).round() as u64;
    trainer.store_mut().prune_to(keep);
}

/// Where fraction `r` of a pruning run keeps its `metrics.json` and
/// `curve.csv` (no `config.toml`, so run collection does not take it for a
/// run of its own).
pub fn fraction_dir(run_dir: &Path, r: f64) -> PathBuf {
    run_dir.join(format!("finetune-{r}"))
}

/// A fresh trainer and progress holding the newest checkpoint of `dir`, and
/// the stream position it was saved at (0 when there is none).
fn restore(cfg: &RunConfig, dir: &Path) -> Result<(Trainer, Progress, u64)> {
    let mut trainer = Trainer::for_config(cfg)?;
    let mut progress = Progress::default();
    let reached = match checkpoint::latest(dir)? {
        Some(snap) => snap.apply(cfg, &mut trainer, &mut progress)?.rows_in_epoch,
        None => 0,
    };
    Ok((trainer, progress, reached))
}

/// Run the pruning baseline of `cfg` (which must have a `[prune]` section)
/// and write the run folder: `finetune-<r>/` per fraction, `prune.csv`
/// (every fraction), and the first configured fraction's `metrics.json`
/// and `curve.csv` (see [`summarize`]).
///
/// The fractions share their training prefix. One trainer goes through the
/// stream once; at each fraction's boundary (1 - r of the rows) its state is
/// checkpointed, then pruned, fine-tuned on the rest, pruned again and
/// evaluated, and then restored from that checkpoint to go on. The paper's
/// four fractions cost 1.6 passes instead of 4. With `resume`, finished
/// fractions are kept and training continues from the newest checkpoint
/// (boundary or `checkpoint_every`).
pub fn run(cfg: &RunConfig, quiet: bool, resume: bool) -> Result<Vec<PruneOutcome>> {
    let Some(spec) = &cfg.prune else {
        bail!("{}: no [prune] section", cfg.name)
    };
    let wall = Instant::now();
    let dir = cfg.run_dir();
    crate::run::start_run_dir(cfg, &dir)?;
    if !resume {
        checkpoint::clear(&dir)?;
        for &r in &spec.finetune {
            remove_if_present(&fraction_dir(&dir, r))?;
        }
    }
    let total = data::count_rows(&cfg.data, Split::Train)?;
    if total == 0 {
        return Err(train::no_rows_error(cfg, Split::Train, 0));
    }
    // A boundary falls on a whole batch, so the shared pass cuts no batch
    // in two: each fraction trains exactly as it would alone.
    let bs = cfg.train.batch_size as u64;
    let boundary = |r: f64| {
        let rows = ((1.0 - r) * total as f64).round() as u64;
        if rows >= total {
            total
        } else {
            rows / bs * bs
        }
    };
    // Stream order: the largest fraction has the earliest boundary.
    let mut order = spec.finetune.clone();
    order.sort_by(|a, b| b.total_cmp(a));
    order.dedup();
    let todo: Vec<f64> = order
        .into_iter()
        .filter(|&r| !fraction_dir(&dir, r).join("metrics.json").is_file())
        .collect();
    let work = todo.last().map_or(0, |&r| boundary(r))
        + todo.iter().map(|&r| total - boundary(r)).sum::<u64>();
    let pb = train::progress_bar(Some(work), quiet || !cfg.train.progress, "prune");
    let (mut trainer, mut progress, mut reached) = if resume {
        restore(cfg, &dir)?
    } else {
        (Trainer::for_config(cfg)?, Progress::default(), 0)
    };
    pb.inc(reached.min(work));
    let ck = Checkpointer::new(cfg, Some(dir.clone()));
    for (i, &r) in todo.iter().enumerate() {
        let at = boundary(r);
        if reached > at {
            // Only when a finished fraction's folder was removed by hand.
            eprintln!("fraction {r} must be redone from the start of the stream");
            (trainer, progress, reached) = (Trainer::for_config(cfg)?, Progress::default(), 0);
        }
        if reached < at {
            let from = reached;
            train::train_window_with(
                &mut trainer,
                cfg,
                RowWindow {
                    skip: from,
                    take: Some(at - from),
                },
                &pb,
                &mut progress,
                &mut |t, p, rows| {
                    let pos = Position {
                        epoch: 0,
                        rows_in_epoch: from + rows,
                    };
                    ck.after_batch(cfg, t, p, pos)
                },
            )?;
            reached = at;
        }
        let pos = Position {
            epoch: 0,
            rows_in_epoch: at,
        };
        checkpoint::save(&dir, cfg, &trainer, &progress, pos)?;
        // Fine-tune the trainer itself (no second copy of the table in
        // memory), then restore the unpruned state from the checkpoint.
        let mut tuned = progress.clone();
        prune_trainer(&mut trainer, spec.target_rate);
        if at < total {
            let rest = RowWindow {
                skip: at,
                take: None,
            };
            train::train_window(&mut trainer, cfg, rest, &pb, &mut tuned)?;
            prune_trainer(&mut trainer, spec.target_rate);
        }
        // The pruned state on the validation split: what `tables` chooses
        // r on when one is configured.
        let valid = if cfg.data.has_validation() {
            Some(train::evaluate_split(&mut trainer, cfg, Split::Valid)?)
        } else {
            None
        };
        let ev = train::evaluate(&mut trainer, cfg)?;
        let mut m = crate::run::metrics_of(cfg, &trainer, &tuned, &ev, wall);
        m.valid_auc = valid.as_ref().and_then(|v| v.auc);
        m.valid_logloss = valid.as_ref().map(|v| v.logloss);
        m.prune_finetune = Some(r);
        m.prune_target_rate = Some(spec.target_rate);
        let out = fraction_dir(&dir, r);
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        crate::run::finish_run_dir(&out, &m, &tuned.curve, &tuned.early.points, None)?;
        if i + 1 < todo.len() {
            drop(trainer);
            (trainer, progress, reached) = restore(cfg, &dir)?;
        }
    }
    pb.finish_and_clear();
    let outcomes = summarize(&dir, spec, wall)?;
    // The checkpoints hold the unpruned state at a boundary: useless once
    // every fraction is done, and as large as the table.
    checkpoint::clear(&dir)?;
    Ok(outcomes)
}

/// Every fraction's metrics of a pruning run, read back from its
/// `finetune-<r>/` folders, in the configured order.
pub fn read_fractions(dir: &Path, spec: &PruneConfig) -> Result<Vec<PruneOutcome>> {
    spec.finetune
        .iter()
        .map(|&r| {
            let path = fraction_dir(dir, r).join("metrics.json");
            let metrics: RunMetrics = serde_json::from_slice(
                &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
            )
            .with_context(|| format!("parsing {}", path.display()))?;
            Ok(PruneOutcome {
                finetune: r,
                metrics,
            })
        })
        .collect()
}

/// What chooses the fine-tune fraction a pruning setting reports
/// (docs/metrics.md, "The magnitude-pruning baseline").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FractionRule {
    /// The best mean validation AUC over the seeds: the runs have a
    /// validation split, so the test split chooses nothing.
    ValidAuc,
    /// The best mean test AUC over the seeds (the paper's Table 8 bolds
    /// the best mean): no validation split is configured.
    TestAuc,
}

impl FractionRule {
    /// The rule for the runs of `cfg`: validation whenever it is configured.
    pub fn for_config(cfg: &RunConfig) -> Self {
        if cfg.data.has_validation() {
            FractionRule::ValidAuc
        } else {
            FractionRule::TestAuc
        }
    }

    /// The AUC this rule compares.
    pub fn auc(self, m: &RunMetrics) -> Option<f64> {
        match self {
            FractionRule::ValidAuc => m.valid_auc,
            FractionRule::TestAuc => m.auc,
        }
    }

    /// For table notes: "validation AUC" or "test AUC".
    pub fn metric(self) -> &'static str {
        match self {
            FractionRule::ValidAuc => "validation AUC",
            FractionRule::TestAuc => "test AUC",
        }
    }
}

/// The fine-tune fraction a setting reports (docs/metrics.md): the one with the
/// best mean AUC of `rule` over all its seeds' runs, the first in the
/// configured order on ties (as the paper's Table 8 bolds the best mean).
/// A fraction missing from a seed, or with a null AUC there (a one-class
/// split, or no validation AUC recorded), is not eligible; None when no
/// fraction is. Under [`FractionRule::ValidAuc`] the test AUC is never
/// read.
pub fn choose_fraction(seeds: &[Vec<PruneOutcome>], rule: FractionRule) -> Option<f64> {
    let first = seeds.first()?;
    let mut best: Option<(f64, f64)> = None;
    for r in first.iter().map(|o| o.finetune) {
        let aucs: Option<Vec<f64>> = seeds
            .iter()
            .map(|seed| rule.auc(&seed.iter().find(|o| o.finetune == r)?.metrics))
            .collect();
        let Some(aucs) = aucs else { continue };
        let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
        if best.is_none_or(|(_, b)| mean > b) {
            best = Some((r, mean));
        }
    }
    best.map(|(r, _)| r)
}

/// Read every fraction back from its folder, write `prune.csv`, and make
/// the first configured fraction the run's own `metrics.json` and
/// `curve.csv` (with `prune_finetune` saying which it is). Not the best
/// by this seed's test AUC: that would select on the test set; tables
/// choose r over all seeds with [`choose_fraction`]. `prune.csv` has the
/// validation AUC and logloss last (empty without a validation split).
fn summarize(dir: &Path, spec: &PruneConfig, wall: Instant) -> Result<Vec<PruneOutcome>> {
    let outcomes = read_fractions(dir, spec)?;
    write_atomic_with(&dir.join("prune.csv"), |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record([
            "finetune",
            "target_rate",
            "auc",
            "logloss",
            "feature_rate",
            "nonzero_features",
            "seen_features",
            "valid_auc",
            "valid_logloss",
        ])?;
        for o in &outcomes {
            let m = &o.metrics;
            c.write_record([
                o.finetune.to_string(),
                spec.target_rate.to_string(),
                m.auc.map(|a| a.to_string()).unwrap_or_default(),
                m.logloss.to_string(),
                m.feature_rate.to_string(),
                m.nonzero_features.to_string(),
                m.seen_features.to_string(),
                m.valid_auc.map(|a| a.to_string()).unwrap_or_default(),
                m.valid_logloss.map(|l| l.to_string()).unwrap_or_default(),
            ])?;
        }
        c.flush()
    })?;
    let from = fraction_dir(dir, spec.finetune[0]);
    let curve = std::fs::read(from.join("curve.csv"))
        .with_context(|| format!("reading {}", from.join("curve.csv").display()))?;
    write_atomic(&dir.join("curve.csv"), &curve)?;
    // The first fraction's metrics, with the whole run's wall time.
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(from.join("metrics.json"))?)?;
    m["wall_seconds"] = wall.elapsed().as_secs_f64().into();
    write_atomic(
        &dir.join("metrics.json"),
        serde_json::to_string_pretty(&m)?.as_bytes(),
    )?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One seed's fractions: (r, test AUC).
    fn seed(aucs: &[(f64, Option<f64>)]) -> Vec<PruneOutcome> {
        let none: Vec<_> = aucs.iter().map(|&(r, a)| (r, a, None)).collect();
        seed_valid(&none)
    }

    /// One seed's fractions: (r, test AUC, validation AUC).
    fn seed_valid(aucs: &[(f64, Option<f64>, Option<f64>)]) -> Vec<PruneOutcome> {
        aucs.iter()
            .map(|&(r, auc, valid)| PruneOutcome {
                finetune: r,
                metrics: serde_json::from_value(serde_json::json!({
                    "auc": auc, "valid_auc": valid, "logloss": 0.5, "feature_rate": 0.1,
                    "nonzero_features": 1, "seen_features": 10, "train_samples": 8,
                    "test_samples": 2, "wall_seconds": 1.0, "train_samples_per_second": 8.0,
                }))
                .unwrap(),
            })
            .collect()
    }

    #[test]
    fn r_is_chosen_by_the_mean_over_seeds_not_by_each_seeds_best() {
        // Seed 1 is best at r = 0.1, seed 2 at r = 0; the means are 0.725
        // (r = 0) and 0.70 (r = 0.1).
        let seeds = [
            seed(&[(0.0, Some(0.70)), (0.1, Some(0.80))]),
            seed(&[(0.0, Some(0.75)), (0.1, Some(0.60))]),
        ];
        assert_eq!(choose_fraction(&seeds, FractionRule::TestAuc), Some(0.0));
        assert_eq!(
            choose_fraction(&seeds[..1], FractionRule::TestAuc),
            Some(0.1)
        );
    }

    #[test]
    fn ties_take_the_first_configured_fraction_and_null_aucs_are_not_eligible() {
        let tie = [seed(&[(0.2, Some(0.7)), (0.0, Some(0.7))])];
        assert_eq!(choose_fraction(&tie, FractionRule::TestAuc), Some(0.2));
        let one_class = [
            seed(&[(0.0, Some(0.70)), (0.1, Some(0.90))]),
            seed(&[(0.0, Some(0.70)), (0.1, None)]),
        ];
        assert_eq!(
            choose_fraction(&one_class, FractionRule::TestAuc),
            Some(0.0)
        );
        assert_eq!(
            choose_fraction(&[seed(&[(0.0, None)])], FractionRule::TestAuc),
            None
        );
        assert_eq!(choose_fraction(&[], FractionRule::TestAuc), None);
    }

    #[test]
    fn with_validation_r_is_chosen_by_the_mean_validation_auc_never_the_test_auc() {
        // Test AUC is best at r = 0.1 (mean 0.80 vs 0.70), validation AUC
        // at r = 0 (mean 0.74 vs 0.71).
        let seeds = [
            seed_valid(&[(0.0, Some(0.70), Some(0.75)), (0.1, Some(0.85), Some(0.70))]),
            seed_valid(&[(0.0, Some(0.70), Some(0.73)), (0.1, Some(0.75), Some(0.72))]),
        ];
        assert_eq!(choose_fraction(&seeds, FractionRule::ValidAuc), Some(0.0));
        assert_eq!(choose_fraction(&seeds, FractionRule::TestAuc), Some(0.1));
        // No validation AUC recorded: nothing is chosen, the test AUC is
        // no fallback.
        let unscored = [seed(&[(0.0, Some(0.7)), (0.1, Some(0.8))])];
        assert_eq!(choose_fraction(&unscored, FractionRule::ValidAuc), None);
    }
}
