//! `ctr-run export`: the final state of a run as a serving model, holding
//! only the non-zero embedding rows (with their keys) and the dense layers.
//! The optimizer state, last steps and zero rows are dropped: a zero row
//! and an absent key both read as a zero vector (docs/data.md), so scores do not
//! change. A run with `data.min_count > 0` also carries its frequent-key
//! list, which scoring needs to map rare features as training did.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::tensors::{self, Data, Entry};
use crate::config::RunConfig;

/// Format tag in the file's metadata.
pub const MODEL_FORMAT: &str = "ctr-run-model/1";

/// What an export wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportReport {
    /// Batches the exported state was trained on.
    pub batches: u64,
    /// Rows seen in training, and non-zero rows kept.
    pub seen_rows: u64,
    pub kept_rows: u64,
    /// Size of the written file.
    pub bytes: u64,
    /// Size the same file would have with every seen row (the dense model).
    pub dense_bytes: u64,
    /// Whether the run had finished (metrics.json present).
    pub finished: bool,
}

/// Export the newest valid checkpoint of `run_dir` to `out`.
pub fn export(run_dir: &Path, out: &Path) -> Result<ExportReport> {
    let cfg = RunConfig::load(&run_dir.join("config.toml"))?;
    let Some(snap) = super::latest(run_dir)? else {
        bail!(
            "{} has no checkpoint: train it with train.save_model = true (or train.checkpoint_every > 0)",
            run_dir.display()
        );
    };
    let finished = run_dir.join("metrics.json").exists();
    let schema = {
        let src = crate::data::open(&cfg.data, crate::data::Split::Train, 1)
            .context("reading the data schema of the run")?;
        src.schema().clone()
    };
    let d = cfg.model.embed_dim;
    let stride = if snap.keys.is_empty() {
        d
    } else {
        snap.blocks.len() / snap.keys.len()
    };
    // Keep row order (the order rows were created in), so exports are
    // deterministic.
    let (mut keys, mut rows) = (Vec::new(), Vec::new());
    for (k, block) in snap.keys.iter().zip(snap.blocks.chunks_exact(stride)) {
        let w = &block[..d];
        if w.iter().any(|&x| x != 0.0) {
            keys.push(*k);
            rows.extend_from_slice(w);
        }
    }
    let model = crate::model::build(
        &cfg.model,
        schema.n_fields(),
        schema.n_dense(),
        cfg.seed,
        &candle_core::Device::Cpu,
    )?;
    let params = model.params();
    if params.len() != snap.dense.len() {
        bail!(
            "the checkpoint holds {} dense parameters, the model {}",
            snap.dense.len(),
            params.len()
        );
    }
    // With the min_count rule, scoring must know which raw features were
    // frequent in training (the rest map to their field's rare row).
    let frequent: Option<Vec<u64>> = if cfg.data.min_count > 0 {
        let set = crate::data::frequent_set(&cfg.data)
            .context("counting the run's frequent features (data.min_count)")?;
        let mut v: Vec<u64> = set.into_iter().collect();
        v.sort_unstable();
        Some(v)
    } else {
        None
    };
    let mut entries = vec![
        Entry::new("keys", vec![keys.len()], Data::U64(&keys)),
        Entry::new("embeddings", vec![keys.len(), d], Data::F32(vec![&rows])),
    ];
    if let Some(f) = &frequent {
        entries.push(Entry::new("frequent_keys", vec![f.len()], Data::U64(f)));
    }
    for (i, (p, (w, _, _))) in params.iter().zip(&snap.dense).enumerate() {
        if w.len() != p.rows * p.cols {
            bail!(
                "dense parameter {}: {} values saved, shape {}x{}",
                p.name,
                w.len(),
                p.rows,
                p.cols
            );
        }
        entries.push(Entry::new(
            format!("dense.{i}"),
            vec![p.rows, p.cols],
            Data::F32(vec![w]),
        ));
    }
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    let mut meta = BTreeMap::new();
    meta.insert("format".into(), MODEL_FORMAT.into());
    meta.insert("config".into(), cfg.to_toml());
    meta.insert("params".into(), serde_json::to_string(&names)?);
    meta.insert(
        "field_names".into(),
        serde_json::to_string(&schema.field_names)?,
    );
    meta.insert(
        "dense_names".into(),
        serde_json::to_string(&schema.dense_names)?,
    );
    meta.insert("batches".into(), snap.batches.to_string());
    meta.insert("seen_rows".into(), snap.keys.len().to_string());
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let (bytes, _) = tensors::write(out, &entries, &meta)?;
    // The dense model: the same file with every seen row and its key; the
    // header differs only in a few shape digits.
    let dropped = (snap.keys.len() - keys.len()) as u64;
    let dense_bytes = bytes + dropped * (8 + 4 * d as u64);
    Ok(ExportReport {
        batches: snap.batches,
        seen_rows: snap.keys.len() as u64,
        kept_rows: keys.len() as u64,
        bytes,
        dense_bytes,
        finished,
    })
}
