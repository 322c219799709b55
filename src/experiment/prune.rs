//! The magnitude-pruning baseline (SPEC 6, paper Tables 2 and 8): train
//! with the plain optimizer on the first (1 - r) of the training stream,
//! keep the top-N embedding rows by L2 norm (N from the target feature
//! rate), fine-tune on the remaining r, prune again; for each r of the
//! schedule, and report the best r.
//!
//! A run config with a `[prune]` section is a pruning run: `ctr-run train`
//! and sweeps run it like any other, so repeats and grids come for free.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::data::{self, Split};
use crate::io::write_atomic_with;
use crate::train::{self, Progress, RowWindow, RunMetrics, Trainer};

/// The `[prune]` section of a run config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneConfig {
    /// Feature rate to reach: non-zero rows / rows seen, in (0, 1].
    pub target_rate: f64,
    /// Fractions r of the training stream kept for fine-tuning (paper: 0, 10%, 20%, 30%).
    pub finetune: Vec<f64>,
}

impl Default for PruneConfig {
    fn default() -> Self {
        Self {
            target_rate: 0.1,
            finetune: vec![0.0, 0.1, 0.2, 0.3],
        }
    }
}

impl PruneConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(self.target_rate > 0.0 && self.target_rate <= 1.0) {
            return Err(format!(
                "prune.target_rate must be in (0, 1], got {}",
                self.target_rate
            ));
        }
        if self.finetune.is_empty() {
            return Err("prune.finetune must list at least one fraction".into());
        }
        if let Some(r) = self.finetune.iter().find(|r| !(0.0..1.0).contains(*r)) {
            return Err(format!(
                "prune.finetune fractions must be in [0, 1), got {r}"
            ));
        }
        Ok(())
    }
}

/// The result of one fine-tune fraction.
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

/// Run the pruning baseline of `cfg` (which must have a `[prune]` section):
/// one training per fine-tune fraction; write the run folder with
/// `prune.csv` (every fraction) and the best fraction's `metrics.json`.
pub fn run(cfg: &RunConfig, quiet: bool) -> Result<Vec<PruneOutcome>> {
    let Some(spec) = &cfg.prune else {
        bail!("{}: no [prune] section", cfg.name)
    };
    let wall = Instant::now();
    let dir = cfg.run_dir();
    train::start_run_dir(cfg, &dir)?;
    let total = data::count_rows(&cfg.data, Split::Train)?;
    let mut outcomes = Vec::new();
    let mut curves = Vec::new();
    for &r in &spec.finetune {
        let mut trainer = Trainer::for_config(cfg)?;
        let first = ((1.0 - r) * total as f64).round() as u64;
        let pb = train::progress_bar(
            Some(total),
            quiet || !cfg.train.progress,
            &format!("prune r={r}"),
        );
        let mut progress = Progress::default();
        train::train_window(
            &mut trainer,
            cfg,
            RowWindow {
                skip: 0,
                take: Some(first),
            },
            &pb,
            &mut progress,
        )?;
        prune_trainer(&mut trainer, spec.target_rate);
        if first < total {
            train::train_window(
                &mut trainer,
                cfg,
                RowWindow {
                    skip: first,
                    take: None,
                },
                &pb,
                &mut progress,
            )?;
            prune_trainer(&mut trainer, spec.target_rate);
        }
        pb.finish_and_clear();
        let ev = train::evaluate(&mut trainer, cfg)?;
        let mut m = train::metrics_of(cfg, &trainer, &progress, &ev, wall);
        m.prune_finetune = Some(r);
        m.prune_target_rate = Some(spec.target_rate);
        outcomes.push(PruneOutcome {
            finetune: r,
            metrics: m,
        });
        curves.push(progress.curve);
    }
    write_atomic_with(&dir.join("prune.csv"), |w| {
        writeln!(
            w,
            "finetune,target_rate,auc,logloss,feature_rate,nonzero_features,seen_features"
        )?;
        for o in &outcomes {
            let m = &o.metrics;
            let auc = m.auc.map(|a| a.to_string()).unwrap_or_default();
            writeln!(
                w,
                "{},{},{},{},{},{},{}",
                o.finetune,
                spec.target_rate,
                auc,
                m.logloss,
                m.feature_rate,
                m.nonzero_features,
                m.seen_features
            )?;
        }
        Ok(())
    })?;
    // The best fraction by test AUC, as the paper reports it (first on ties).
    let best = (0..outcomes.len())
        .max_by(|&a, &b| {
            let auc = |i: usize| outcomes[i].metrics.auc.unwrap_or(f64::NEG_INFINITY);
            auc(a).total_cmp(&auc(b)).then(b.cmp(&a))
        })
        .expect("at least one fraction");
    let mut m = outcomes[best].metrics.clone();
    m.wall_seconds = wall.elapsed().as_secs_f64();
    train::finish_run_dir(&dir, &m, &curves[best], None)?;
    Ok(outcomes)
}
