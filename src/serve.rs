//! Scoring with an exported model (`ctr-run export` -> `ctr-run predict`).
//!
//! The scorer rebuilds exactly what the trainer's evaluation uses: an
//! embedding store (rows of weights only, no optimizer state), the same
//! network with the saved dense parameters, and the same scoring pipeline
//! (`train::score_stream`: parse, gather, logits), so with the run's
//! scoring batch size it reproduces the run's own test scores bit for bit.
//! Keys absent from the model read as zero vectors; with `min_count`,
//! features missing from the model's frequent-key list read as their
//! field's rare row, as in training.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::checkpoint::export::MODEL_FORMAT;
use crate::checkpoint::tensors::Tensors;
use crate::config::RunConfig;
use crate::data::{DataConfig, Format, KeySet, Split};
use crate::embedding::{EmbeddingStore, RowInit};
use crate::model::{self, DeviceSpec, Model};
use crate::train::{score_batch_size, score_stream, sigmoid};

/// A model loaded from an exported file.
pub struct ServingModel {
    /// The run's config (model, data schema, batch size).
    pub cfg: RunConfig,
    pub field_names: Vec<String>,
    pub dense_names: Vec<String>,
    store: EmbeddingStore,
    /// The run's frequent features when it used `data.min_count > 0`.
    frequent: Option<Arc<KeySet>>,
    model: Box<dyn Model>,
}

/// Scores of a data file.
#[derive(Debug, Default)]
pub struct Scores {
    /// Empty when the file has no label column.
    pub labels: Vec<f32>,
    /// Each row's id when the format has an id column (Avazu `id`, Criteo
    /// CSV `Id`); empty otherwise.
    pub ids: Vec<u64>,
    pub scores: Vec<f32>,
    pub bad_rows: u64,
}

impl Scores {
    /// The file had the label column.
    pub fn labelled(&self) -> bool {
        self.labels.len() == self.scores.len()
    }
}

impl ServingModel {
    /// Load an exported model onto `device` (default: the run's).
    pub fn load(path: &Path, device: Option<DeviceSpec>) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let t = Tensors::parse(&bytes)
            .with_context(|| format!("{} is not a safetensors file", path.display()))?;
        let ctx = || format!("{}: not a ctr-run model", path.display());
        if t.meta("format").with_context(ctx)? != MODEL_FORMAT {
            bail!("{}: format is not {MODEL_FORMAT}", path.display());
        }
        let mut cfg = RunConfig::parse(t.meta("config").with_context(ctx)?).with_context(ctx)?;
        if let Some(d) = device {
            cfg.device = d;
        }
        let device = cfg.device.open()?;
        let json = |k: &str| -> Result<Vec<String>> {
            serde_json::from_str(t.meta(k).with_context(ctx)?).with_context(ctx)
        };
        let (field_names, dense_names, names) =
            (json("field_names")?, json("dense_names")?, json("params")?);
        let keys = t.u64("keys").with_context(ctx)?;
        let (rows, shape) = t.f32("embeddings").with_context(ctx)?;
        let d = cfg.model.embed_dim;
        if shape != [keys.len(), d] {
            bail!(
                "{}: embeddings of shape {shape:?}, expected [{}, {d}]",
                path.display(),
                keys.len()
            );
        }
        let mut store = EmbeddingStore::new(
            d,
            0,
            RowInit {
                std: 0.0,
                seed: cfg.seed,
            },
        );
        store
            .restore(&keys, &rows, &vec![0; keys.len()])
            .with_context(ctx)?;
        let mut model = model::build(
            &cfg.model,
            field_names.len(),
            dense_names.len(),
            cfg.seed,
            &device,
        )?;
        let params = model.params_mut();
        if params.len() != names.len() {
            bail!(
                "{}: {} dense parameters, the model has {}",
                path.display(),
                names.len(),
                params.len()
            );
        }
        for (i, (p, name)) in params.iter_mut().zip(&names).enumerate() {
            let (w, shape) = t.f32(&format!("dense.{i}")).with_context(ctx)?;
            if *name != p.name || shape != [p.rows, p.cols] {
                bail!(
                    "{}: parameter {i} is {name} {shape:?}, the model expects {} [{}, {}]",
                    path.display(),
                    p.name,
                    p.rows,
                    p.cols
                );
            }
            p.data = w;
        }
        let frequent = if cfg.data.min_count > 0 {
            let keys = t.u64("frequent_keys").with_context(ctx)?;
            Some(Arc::new(keys.into_iter().collect()))
        } else {
            None
        };
        Ok(Self {
            cfg,
            field_names,
            dense_names,
            store,
            frequent,
            model,
        })
    }

    /// Rows (non-zero embeddings) held.
    pub fn rows(&self) -> usize {
        self.store.len()
    }

    /// The data config that reads every row of `file` with the run's schema
    /// (`format` overrides the run's format, e.g. criteo vs criteo_csv).
    pub fn data_config(&self, file: &Path, format: Option<Format>) -> Result<DataConfig> {
        let mut d = self.cfg.data.clone();
        if let Some(f) = format {
            d.format = f;
        }
        // A separate test file makes the split "by file": the test side is
        // the whole file.
        d.train = Some(file.to_path_buf());
        d.test = Some(file.to_path_buf());
        d.synthetic = None;
        d.max_rows = None;
        d.sample_rate = 1.0;
        d.cache = false;
        // Accept a file without the label column; keep the ids.
        d.scoring = true;
        Ok(d)
    }

    /// Score every row of `file`, `batch_size` rows at a time (None: the
    /// run's scoring batch size, which reproduces its test scores exactly).
    pub fn score_file(
        &self,
        file: &Path,
        format: Option<Format>,
        batch_size: Option<usize>,
    ) -> Result<Scores> {
        let data = self.data_config(file, format)?;
        let bs = batch_size
            .unwrap_or(score_batch_size(self.cfg.train.batch_size))
            .max(1);
        let mut src =
            crate::data::open_with_frequent(&data, Split::Test, bs, self.frequent.clone())?;
        let info = src.schema();
        if info.field_names != self.field_names || info.dense_names != self.dense_names {
            bail!(
                "{} has fields {:?} / dense {:?}; the model was trained on {:?} / {:?}",
                file.display(),
                info.field_names,
                info.dense_names,
                self.field_names,
                self.dense_names
            );
        }
        let mut out = Scores::default();
        score_stream(
            &*self.model,
            &self.store,
            &mut *src,
            &mut |batch, logits| {
                out.scores.extend(logits.iter().map(|&x| sigmoid(x)));
                out.labels.extend_from_slice(&batch.labels);
                out.ids.extend_from_slice(&batch.ids);
                Ok(())
            },
        )?;
        out.bad_rows = src.bad_rows();
        Ok(out)
    }
}
