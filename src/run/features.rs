//! The feature report of a sparse run (docs/metrics.md, "Feature report"):
//! `features.csv` (per field: features seen in training, kept non-zero,
//! their rate) and `kept_features.csv` (every kept feature: field, value
//! text, key, row L2 norm; largest norm first). The value text comes from
//! one pass over the training file after training (`data::values`), so
//! training itself carries no text.

use std::path::Path;

use anyhow::{Context, Result};

use crate::config::RunConfig;
use crate::data::{self, hash::KeyMap};
use crate::io::write_atomic_with;
use crate::optim::Family;
use crate::train::Trainer;

/// Whether a run gets a feature report: `[train] feature_report` and a
/// sparse optimizer, or any zero row (FTRL's L1, pruning).
pub fn wanted(cfg: &RunConfig, trainer: &Trainer) -> bool {
    let s = trainer.sparsity();
    cfg.train.feature_report
        && (!matches!(cfg.optimizer.name.family(), Family::Plain(_))
            || s.nonzero_features < s.seen_features)
}

/// The L2 norm of a row's weights, in f64 (export and the report agree).
pub fn row_norm(w: &[f32]) -> f64 {
    w.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt()
}

/// Write both files into `dir`.
pub fn write(dir: &Path, cfg: &RunConfig, trainer: &Trainer) -> Result<()> {
    let store = trainer.store();
    let mut asked: KeyMap<bool> = KeyMap::default();
    let mut norms: KeyMap<f64> = KeyMap::default();
    for (k, row) in store.keys() {
        let n = row_norm(store.weights(row));
        asked.insert(k, n != 0.0);
        if n != 0.0 {
            norms.insert(k, n);
        }
    }
    let (train, _) = data::input_files(&cfg.data)?;
    let names = data::values::name_keys(&cfg.data, &train, &asked)
        .with_context(|| format!("naming the kept features from {}", train.display()))?;
    let fields = trainer_fields(cfg)?;
    let mut seen = vec![0u64; fields.len() + 1];
    let mut kept = vec![0u64; fields.len() + 1];
    let unknown = fields.len();
    for (k, &is_kept) in &asked {
        let f = names.get(k).map_or(unknown, |n| n.field);
        seen[f] += 1;
        kept[f] += is_kept as u64;
    }
    write_atomic_with(&dir.join("features.csv"), |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["field", "seen", "kept", "rate"])?;
        for (i, name) in fields.iter().map(String::as_str).chain(["?"]).enumerate() {
            if i == unknown && seen[i] == 0 {
                continue;
            }
            let rate = if seen[i] > 0 {
                format!("{:.6}", kept[i] as f64 / seen[i] as f64)
            } else {
                String::new()
            };
            c.write_record([name, &seen[i].to_string(), &kept[i].to_string(), &rate])?;
        }
        c.flush()?;
        Ok(())
    })?;
    let mut rows: Vec<(u64, f64)> = norms.into_iter().collect();
    // Largest norm first; the key breaks ties so the file is deterministic.
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    write_atomic_with(&dir.join("kept_features.csv"), |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["field", "value", "key", "norm"])?;
        for (k, n) in &rows {
            let name = names.get(k);
            let field = name.map_or("?", |n| fields[n.field].as_str());
            let value = name.and_then(|n| n.text.as_deref()).unwrap_or("");
            c.write_record([field, value, &format!("{k:016x}"), &format!("{n:.9e}")])?;
        }
        c.flush()?;
        Ok(())
    })?;
    Ok(())
}

/// The field names of the run's schema.
fn trainer_fields(cfg: &RunConfig) -> Result<Vec<String>> {
    let src = data::open(&cfg.data, data::Split::Train, 1).context("reading the data schema")?;
    Ok(src.schema().field_names.clone())
}
