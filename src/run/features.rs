//! The feature report of a sparse run (docs/metrics.md, "Feature report"):
//! `features.csv` (per field: features seen in training, kept non-zero,
//! their rate) and `kept_features.csv` (every kept feature: field, value
//! text, key, row L2 norm; largest norm first). The value text comes from
//! one pass over the training file after training (`data::values`), so
//! training itself carries no text.

use std::path::Path;

use anyhow::{Context, Result};

use crate::config::RunConfig;
use crate::data::{self, values::NO_FIELD};
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
    let (train, _) = data::input_files(&cfg.data)?;
    // Looked up in the store's own index: a key's index is its row, and its
    // text is wanted when the row is kept (non-zero).
    let names = data::values::name_keys(&cfg.data, &train, store.len(), |k| {
        store
            .lookup(k)
            .map(|row| (row, store.weights(row).iter().any(|&x| x != 0.0)))
    })
    .with_context(|| format!("naming the kept features from {}", train.display()))?;
    let fields = trainer_fields(cfg)?;
    let mut seen = vec![0u64; fields.len() + 1];
    let mut kept = vec![0u64; fields.len() + 1];
    let unknown = fields.len();
    let mut rows: Vec<(u64, f64, u32)> = Vec::new();
    for (k, row) in store.keys() {
        let f = names.field[row as usize];
        let f = if f == NO_FIELD { unknown } else { f as usize };
        let n = row_norm(store.weights(row));
        seen[f] += 1;
        if n != 0.0 {
            kept[f] += 1;
            rows.push((k, n, row));
        }
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
    // Largest norm first; the key breaks ties so the file is deterministic.
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    write_atomic_with(&dir.join("kept_features.csv"), |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["field", "value", "key", "norm"])?;
        for &(k, n, row) in &rows {
            let f = names.field[row as usize];
            let field = if f == NO_FIELD {
                "?"
            } else {
                fields[f as usize].as_str()
            };
            let value = names.text.get(&row).map_or("", String::as_str);
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
