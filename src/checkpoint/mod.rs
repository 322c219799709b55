//! Checkpoints of a training run, and resuming from them.
//!
//! A checkpoint is two files in `<run dir>/checkpoints/`:
//! - `checkpoint-<batches>.safetensors`: every tensor (embedding keys, row
//!   blocks `[weights | optimizer state]` and last steps; each dense
//!   parameter with its optimizer state; the open curve window);
//! - `checkpoint-<batches>.json`: counters, the reader position, a hash of
//!   the config, the size and xxh3 checksum of the tensor file, the
//!   fingerprint of each data file, and an xxh3 checksum of the sidecar's
//!   own fields.
//!
//! Both are written atomically, tensors first: a checkpoint counts only when
//! its sidecar exists and the tensor file matches the checksum, so a crash
//! at any moment leaves the previous checkpoints usable. The last `KEEP`
//! are kept. The trainer's randomness (dropout, Hessian probes) derives from
//! `(seed, global step)` and row inits from `(seed, key)`, so the optimizer
//! steps are the whole RNG state.

pub mod export;
mod signal;
pub mod tensors;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::data::fingerprint::Fingerprint;
use crate::train::{CurvePoint, EarlyStop, Progress, ProgressRecord, Trainer};
pub use signal::{interrupted, SignalGuard};
use tensors::{Data, Entry, Tensors, TensorsError};

/// Sub-folder of the run folder.
pub const DIR: &str = "checkpoints";
/// Checkpoints kept: the newest and one to fall back on.
pub const KEEP: usize = 2;
const FORMAT: u32 = 2;

/// Where the training stream stands: epoch, and rows of it already trained on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub epoch: usize,
    pub rows_in_epoch: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Sidecar {
    format: u32,
    batches: u64,
    position: Position,
    emb_step: u64,
    dense_step: u64,
    samples: u64,
    bad_rows: u64,
    win_batches: u64,
    config_hash: String,
    tensors_file: String,
    tensors_bytes: u64,
    xxh3: String,
    /// The data files the run reads (train, then test), as they were when
    /// it started: a resume on a changed file would mix two datasets.
    data: Vec<DataFile>,
    /// Validation evaluations and early stopping so far (absent without a
    /// validation split, so those sidecars are as before).
    #[serde(default, skip_serializing_if = "EarlyStop::is_empty")]
    early: EarlyStop,
    /// xxh3 of this sidecar's compact JSON with this field empty. Over the
    /// parsed fields, so any change of meaning is caught (not layout).
    checksum: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DataFile {
    path: PathBuf,
    fingerprint: Fingerprint,
}

impl Sidecar {
    fn checksum(&self) -> String {
        let mut plain = self.clone();
        plain.checksum.clear();
        let text = serde_json::to_string(&plain).expect("a sidecar serializes");
        format!("{:016x}", tensors::checksum(text.as_bytes()))
    }
}

/// The input files of `cfg` and their fingerprints now (one pass over each
/// the first time in a process; see `data::fingerprint`).
fn data_files(cfg: &RunConfig) -> Result<Vec<DataFile>> {
    let (train, test) = crate::data::input_files(&cfg.data)?;
    std::iter::once(train)
        .chain(test)
        .chain(cfg.data.valid_path.clone())
        .map(|path| {
            let fingerprint = crate::data::fingerprint::fingerprint(&path)?;
            Ok(DataFile { path, fingerprint })
        })
        .collect()
}

/// The checkpoint folder of a run folder.
pub fn dir_of(run_dir: &Path) -> PathBuf {
    run_dir.join(DIR)
}

fn stem(batches: u64) -> String {
    format!("checkpoint-{batches:010}")
}

/// A hash of everything in the config that shapes the trained state (not
/// the run's name, folder, threads, progress bar or checkpoint interval).
pub fn config_hash(cfg: &RunConfig) -> String {
    let mut c = cfg.clone();
    c.name.clear();
    c.output = PathBuf::new();
    c.threads = 1;
    c.train.progress = false;
    c.train.checkpoint_every = 0;
    format!("{:016x}", tensors::checksum(c.to_toml().as_bytes()))
}

/// Save the state after `progress.batches` batches at `pos`; drop all but
/// the newest `KEEP` checkpoints. Returns the sidecar's path.
pub fn save(
    run_dir: &Path,
    cfg: &RunConfig,
    trainer: &Trainer,
    progress: &Progress,
    pos: Position,
) -> Result<PathBuf> {
    let dir = dir_of(run_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = trainer.store();
    let n = store.len();
    let keys = store.keys_by_row();
    let mut entries = vec![
        Entry::new("emb.keys", vec![n], Data::U64(&keys)),
        Entry::new(
            "emb.blocks",
            vec![n, store.stride()],
            Data::F32(store.blocks().collect()),
        ),
        Entry::new("emb.last_step", vec![n], Data::U32(store.last_steps())),
    ];
    for (i, (p, state, last)) in trainer.dense_state().enumerate() {
        entries.push(Entry::new(
            format!("dense.{i}.weights"),
            vec![p.rows, p.cols],
            Data::F32(vec![&p.data]),
        ));
        entries.push(Entry::new(
            format!("dense.{i}.state"),
            vec![state.len()],
            Data::F32(vec![state]),
        ));
        entries.push(Entry::new(
            format!("dense.{i}.last_step"),
            vec![last.len()],
            Data::U32(last),
        ));
    }
    let progress = progress.to_record();
    let scalars = [progress.loss_sum, progress.seconds, progress.win_loss];
    let curve_u: Vec<u64> = progress
        .curve
        .iter()
        .flat_map(|c| [c.batch, c.samples])
        .collect();
    let curve_f: Vec<f64> = progress
        .curve
        .iter()
        .flat_map(|c| [c.loss, c.auc.unwrap_or(f64::NAN), c.seconds])
        .collect();
    let nc = progress.curve.len();
    entries.extend([
        Entry::new("progress.f64", vec![3], Data::F64(&scalars)),
        Entry::new(
            "progress.win_logits",
            vec![progress.win_logits.len()],
            Data::F32(vec![&progress.win_logits]),
        ),
        Entry::new(
            "progress.win_labels",
            vec![progress.win_labels.len()],
            Data::F32(vec![&progress.win_labels]),
        ),
        Entry::new("curve.u64", vec![nc, 2], Data::U64(&curve_u)),
        Entry::new("curve.f64", vec![nc, 3], Data::F64(&curve_f)),
    ]);
    let name = stem(progress.batches);
    let tensors_file = format!("{name}.safetensors");
    let (bytes, hash) = tensors::write(&dir.join(&tensors_file), &entries, &BTreeMap::new())?;
    let (emb_step, dense_step) = trainer.optimizer_steps();
    let mut side = Sidecar {
        format: FORMAT,
        batches: progress.batches,
        position: pos,
        emb_step,
        dense_step,
        samples: progress.samples,
        bad_rows: progress.bad_rows,
        win_batches: progress.win_batches,
        config_hash: config_hash(cfg),
        tensors_file,
        tensors_bytes: bytes,
        xxh3: format!("{hash:016x}"),
        data: data_files(cfg)?,
        early: progress.early,
        checksum: String::new(),
    };
    side.checksum = side.checksum();
    let side_path = dir.join(format!("{name}.json"));
    crate::io::write_atomic(&side_path, serde_json::to_string_pretty(&side)?.as_bytes())?;
    keep_last(&dir)?;
    Ok(side_path)
}

/// Remove the checkpoints of `run_dir` (a fresh run in a used folder: a
/// stale checkpoint with a higher batch number would otherwise outrank the
/// new ones).
pub fn clear(run_dir: &Path) -> Result<()> {
    Ok(crate::io::remove_if_present(&dir_of(run_dir))?)
}

/// Batch numbers of the checkpoint files in `dir` (either file), newest first.
pub fn list(dir: &Path) -> Vec<u64> {
    let mut found: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rest = name.strip_prefix("checkpoint-")?;
            let num = rest
                .strip_suffix(".json")
                .or_else(|| rest.strip_suffix(".safetensors"))?;
            num.parse().ok()
        })
        .collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    found.dedup();
    found
}

/// Checkpoint rotation (not magnitude pruning): keeps the newest `KEEP`.
fn keep_last(dir: &Path) -> Result<()> {
    for b in list(dir).into_iter().skip(KEEP) {
        for ext in ["json", "safetensors"] {
            crate::io::remove_if_present(&dir.join(format!("{}.{ext}", stem(b))))?;
        }
    }
    Ok(())
}

/// A checkpoint read and verified, not yet applied.
pub struct Snapshot {
    pub batches: u64,
    pub position: Position,
    pub path: PathBuf,
    side: Sidecar,
    keys: Vec<u64>,
    blocks: Vec<f32>,
    last_step: Vec<u32>,
    dense: Vec<(Vec<f32>, Vec<f32>, Vec<u32>)>,
    scalars: Vec<f64>,
    win_logits: Vec<f32>,
    win_labels: Vec<f32>,
    curve: Vec<CurvePoint>,
}

/// Why a checkpoint cannot be used (`latest` prints it and falls back).
/// Inner errors are part of the message, not sources, so they print once.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("sidecar: {0}")]
    SidecarRead(std::io::Error),
    #[error("sidecar: {0}")]
    SidecarJson(serde_json::Error),
    #[error("format {found} (this build reads {FORMAT})")]
    Format { found: u64 },
    #[error("sidecar checksum {stored} does not match its content")]
    SidecarChecksum { stored: String },
    #[error("tensors: {0}")]
    TensorsRead(std::io::Error),
    #[error("tensor file has {found} bytes, expected {expected} (truncated?)")]
    TensorsSize { found: u64, expected: u64 },
    #[error("checksum {found} does not match {stored}")]
    Checksum { found: String, stored: String },
    #[error(transparent)]
    Tensors(#[from] TensorsError),
    #[error("progress.f64: expected 3 values")]
    Scalars,
    #[error("curve tensors disagree")]
    Curve,
}

/// Read and verify checkpoint `batches` in `dir` (checksum, sizes, format).
pub fn read(dir: &Path, batches: u64) -> Result<Snapshot, SnapshotError> {
    let side_path = dir.join(format!("{}.json", stem(batches)));
    let text = std::fs::read_to_string(&side_path).map_err(SnapshotError::SidecarRead)?;
    let format = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("format")?.as_u64());
    if let Some(found) = format.filter(|&f| f != FORMAT as u64) {
        return Err(SnapshotError::Format { found });
    }
    let side: Sidecar = serde_json::from_str(&text).map_err(SnapshotError::SidecarJson)?;
    if side.checksum() != side.checksum {
        return Err(SnapshotError::SidecarChecksum {
            stored: side.checksum.clone(),
        });
    }
    let bytes = std::fs::read(dir.join(&side.tensors_file)).map_err(SnapshotError::TensorsRead)?;
    if bytes.len() as u64 != side.tensors_bytes {
        return Err(SnapshotError::TensorsSize {
            found: bytes.len() as u64,
            expected: side.tensors_bytes,
        });
    }
    let hash = format!("{:016x}", tensors::checksum(&bytes));
    if hash != side.xxh3 {
        return Err(SnapshotError::Checksum {
            found: hash,
            stored: side.xxh3.clone(),
        });
    }
    let t = Tensors::parse(&bytes)?;
    let keys = t.u64("emb.keys")?;
    let (blocks, _) = t.f32("emb.blocks")?;
    let last_step = t.u32("emb.last_step")?;
    let mut dense = Vec::new();
    while let Ok((w, _)) = t.f32(&format!("dense.{}.weights", dense.len())) {
        let i = dense.len();
        dense.push((
            w,
            t.f32(&format!("dense.{i}.state"))?.0,
            t.u32(&format!("dense.{i}.last_step"))?,
        ));
    }
    let scalars = t.f64("progress.f64")?;
    if scalars.len() != 3 {
        return Err(SnapshotError::Scalars);
    }
    let cu = t.u64("curve.u64")?;
    let cf = t.f64("curve.f64")?;
    if cu.len() / 2 != cf.len() / 3 {
        return Err(SnapshotError::Curve);
    }
    let curve = cu
        .chunks_exact(2)
        .zip(cf.chunks_exact(3))
        .map(|(u, f)| CurvePoint {
            batch: u[0],
            samples: u[1],
            loss: f[0],
            auc: (!f[1].is_nan()).then_some(f[1]),
            seconds: f[2],
        })
        .collect();
    Ok(Snapshot {
        batches: side.batches,
        position: side.position,
        path: side_path,
        keys,
        blocks,
        last_step,
        dense,
        scalars,
        win_logits: t.f32("progress.win_logits")?.0,
        win_labels: t.f32("progress.win_labels")?.0,
        curve,
        side,
    })
}

impl Snapshot {
    /// Put the saved state into a fresh `trainer` and `progress`.
    pub fn apply(
        self,
        cfg: &RunConfig,
        trainer: &mut Trainer,
        progress: &mut Progress,
    ) -> Result<Position> {
        if self.side.config_hash != config_hash(cfg) {
            bail!(
                "{} was saved with a different config; resume needs the run's own config.toml",
                self.path.display()
            );
        }
        for d in &self.side.data {
            let same = crate::data::fingerprint::unchanged(&d.path, &d.fingerprint).with_context(
                || {
                    format!(
                        "checking {} against {}",
                        d.path.display(),
                        self.path.display()
                    )
                },
            )?;
            if !same {
                bail!(
                    "{} changed since {} was saved (different size or content); resume needs the data the run was trained on",
                    d.path.display(),
                    self.path.display()
                );
            }
        }
        let ctx = || format!("restoring {}", self.path.display());
        trainer
            .store_mut()
            .restore(&self.keys, &self.blocks, &self.last_step)
            .with_context(ctx)?;
        trainer
            .restore_state((self.side.emb_step, self.side.dense_step), self.dense)
            .with_context(ctx)?;
        progress.restore(ProgressRecord {
            curve: self.curve,
            samples: self.side.samples,
            batches: self.side.batches,
            bad_rows: self.side.bad_rows,
            loss_sum: self.scalars[0],
            seconds: self.scalars[1],
            win_loss: self.scalars[2],
            win_batches: self.side.win_batches,
            win_logits: self.win_logits,
            win_labels: self.win_labels,
            early: self.side.early,
        });
        Ok(self.position)
    }
}

/// The newest checkpoint of `run_dir` that verifies; a bad one is reported
/// on stderr and the previous one tried. `Ok(None)` when there is none at
/// all; an error when there are some but none verifies.
pub fn latest(run_dir: &Path) -> Result<Option<Snapshot>> {
    let dir = dir_of(run_dir);
    let found = list(&dir);
    if found.is_empty() {
        return Ok(None);
    }
    for &b in &found {
        match read(&dir, b) {
            Ok(s) => return Ok(Some(s)),
            Err(e) => eprintln!(
                "warning: checkpoint {} in {} is unusable ({e}); falling back to the previous one",
                stem(b),
                dir.display()
            ),
        }
    }
    bail!(
        "no usable checkpoint in {} (tried {})",
        dir.display(),
        found.len()
    )
}

/// What the training loop does after each batch: checkpoint when due or
/// when interrupted. Costs one modulo and one atomic load per batch.
pub struct Checkpointer {
    run_dir: Option<PathBuf>,
    every: u64,
}

impl Checkpointer {
    /// `run_dir` None writes nothing (dry runs).
    pub fn new(cfg: &RunConfig, run_dir: Option<PathBuf>) -> Self {
        Self {
            run_dir,
            every: cfg.train.checkpoint_every,
        }
    }

    pub fn enabled(&self) -> bool {
        self.run_dir.is_some() && self.every > 0
    }

    /// After a batch at `pos`; returns true when the run must stop (signal).
    pub fn after_batch(
        &self,
        cfg: &RunConfig,
        trainer: &Trainer,
        progress: &Progress,
        pos: Position,
    ) -> Result<bool> {
        let Some(dir) = &self.run_dir else {
            return Ok(false);
        };
        let stop = interrupted();
        if stop || (self.every > 0 && progress.batches % self.every == 0) {
            save(dir, cfg, trainer, progress, pos)?;
        }
        Ok(stop)
    }
}

#[cfg(test)]
mod tests {
    use crate::embedding::{EmbeddingStore, RowInit};
    use crate::optim::{Optimizer, OptimizerConfig};

    /// The store's export (`keys_by_row`, `blocks`, `last_steps`) restored
    /// into a fresh store gives the same rows, ids, state and steps, across
    /// a chunk boundary (2^16 rows per chunk).
    #[test]
    fn store_round_trips_through_its_parts() {
        let opt = Optimizer::new(&OptimizerConfig::default().check().unwrap());
        let init = RowInit { std: 0.1, seed: 7 };
        let d = 3;
        let mut a = EmbeddingStore::new(d, opt.state_len(d), init);
        let n = 70_000u64;
        for k in 0..n {
            let row = a.lookup_or_insert(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), &opt);
            let (_, s, last) = a.row_mut(row);
            s.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = (k as usize * 7 + i) as f32);
            *last = (k % 13) as u32;
        }
        let keys = a.keys_by_row();
        let blocks: Vec<f32> = a.blocks().flatten().copied().collect();
        assert_eq!(blocks.len(), n as usize * a.stride());
        let mut b = EmbeddingStore::new(d, opt.state_len(d), init);
        b.restore(&keys, &blocks, a.last_steps()).unwrap();
        assert_eq!(b.len(), a.len());
        for k in (0..n).step_by(997).chain([n - 1]) {
            let key = k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let (ra, rb) = (a.lookup(key).unwrap(), b.lookup(key).unwrap());
            assert_eq!(ra, rb);
            let (wa, sa, la) = a.row_mut(ra);
            let (wa, sa, la) = (wa.to_vec(), sa.to_vec(), *la);
            let (wb, sb, lb) = b.row_mut(rb);
            assert_eq!((wa.as_slice(), sa.as_slice(), la), (&*wb, &*sb, *lb));
        }
        // Inconsistent parts are refused, not half-applied.
        assert!(b.restore(&keys, &blocks[1..], a.last_steps()).is_err());
        assert!(b.restore(&[1, 1], &[0.0; 2 * 9], &[0, 0]).is_err());
        assert_eq!(b.len(), n as usize);
        assert_eq!(b.keys_by_row(), keys);
    }

    /// A sidecar written by a validation run reads back with its checksum
    /// intact: the checksum covers the parsed fields, so every f64 (here
    /// the validation AUC 0.749237567407637) must parse back to the bits it
    /// was printed from. serde_json's default float parser is off by one
    /// ulp for some values; the `float_roundtrip` feature makes it exact.
    #[test]
    fn a_sidecar_with_validation_points_keeps_its_checksum() {
        let text = r#"{"format":2,"batches":316,"position":{"epoch":1,"rows_in_epoch":0},"emb_step":316,"dense_step":316,"samples":161728,"bad_rows":0,"win_batches":16,"config_hash":"66ce6778a72d84fe","tensors_file":"checkpoint-0000000316.safetensors","tensors_bytes":1601332,"xxh3":"f1f09b32c747835e","data":[{"path":".cache/ctr-run/synth-avazu-952e08357835f879.csv","fingerprint":{"id":{"size":29794866,"mtime_ns":1796228931765656434,"ctime_ns":1796228931785656433,"ino":6111883,"dev":65024},"xxh3":13423603966165231589}}],"early":{"points":[{"batch":316,"epoch":0,"samples":161728,"auc":0.749237567407637,"logloss":0.39839274528422003}],"best":0,"since_best":0,"stopped":false},"checksum":"b4014703f271a9ae"}"#;
        let side: super::Sidecar = serde_json::from_str(text).unwrap();
        assert_eq!(side.checksum(), side.checksum);
        assert_eq!(side.checksum, "b4014703f271a9ae");
    }
}
