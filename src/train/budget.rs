//! The memory a run needs, estimated from its config and data schema before
//! anything large is allocated, so that an impossible size is refused with
//! the estimate instead of an allocation abort halfway into a run.
//!
//! The estimate is a floor, not a forecast: what the first batch allocates
//! at once. Embedding rows come in chunks of `embedding::CHUNK_ROWS` rows of
//! `[weights | optimizer slots]`, and the first chunk is allocated in full
//! by the first batch; the dense model holds its weights, their gradients and
//! its optimizer slots; a batch holds each layer's activations and their
//! gradients.

use anyhow::Result;

use crate::config::RunConfig;
use crate::embedding::{KeyIndex, StoreMemory, CHUNK_ROWS};
use crate::model::{ModelConfig, ModelKind};
use crate::optim::Optimizer;

/// Bytes of the parts of a run, each at its first allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The first chunk of embedding rows and the key index.
    pub embedding: u64,
    /// Dense weights, their gradients and the dense optimizer's slots.
    pub dense: u64,
    /// One batch's activations and their gradients.
    pub activations: u64,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.embedding
            .saturating_add(self.dense)
            .saturating_add(self.activations)
    }
}

/// A run's estimates in bytes, for metrics.json: the one the check before
/// training made, and the one at the distinct features the run saw (the
/// figure to compare with its peak RSS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryEstimates {
    pub first_batch_bytes: u64,
    pub at_seen_bytes: u64,
}

/// The (rows, cols) of every dense parameter of `cfg`'s model, in the
/// order the model builders create them (a test checks them against
/// `model::build`).
pub fn dense_shapes(cfg: &ModelConfig, n_fields: usize, n_dense: usize) -> Vec<(usize, usize)> {
    let d = cfg.embed_dim;
    let input = n_fields.saturating_mul(d).saturating_add(n_dense);
    let hidden = cfg.hidden_sizes();
    let mut shapes = Vec::new();
    let layers = |shapes: &mut Vec<(usize, usize)>, mut width: usize, hs: &[usize]| {
        for &h in hs {
            shapes.push((width, h));
            shapes.push((1, h));
            width = h;
        }
        width
    };
    match cfg.kind {
        ModelKind::Mlp => {
            let width = layers(&mut shapes, input, hidden);
            shapes.extend([(width, 1), (1, 1)]);
        }
        ModelKind::Opnn => {
            let h0 = hidden[0];
            shapes.extend([(input, h0), (d.saturating_mul(d), h0), (1, h0)]);
            let width = layers(&mut shapes, h0, &hidden[1..]);
            shapes.extend([(width, 1), (1, 1)]);
        }
        ModelKind::Dcn => {
            for _ in 0..cfg.cross_layers {
                shapes.extend([(input, 1), (1, input)]);
            }
            let width = layers(&mut shapes, input, hidden);
            let out_in = if hidden.is_empty() {
                input
            } else {
                input.saturating_add(width)
            };
            shapes.extend([(out_in, 1), (1, 1)]);
        }
        ModelKind::Lr => {
            shapes.push((1, 1));
            if n_dense > 0 {
                shapes.push((n_dense, 1));
            }
        }
    }
    shapes
}

/// The estimate for `cfg` on data with `n_fields` categorical fields and
/// `n_dense` dense features, before any row exists: what the check before
/// training compares with the memory available.
pub fn estimate(cfg: &RunConfig, n_fields: usize, n_dense: usize) -> Result<MemoryEstimate> {
    estimate_at(cfg, n_fields, n_dense, 0)
}

/// The estimate once training has seen `rows` distinct features: the
/// embedding part is then what the store holds for that many rows
/// (`StoreMemory::projected`: rows, per-row steps, key index), or the first
/// chunk, whichever is larger. Sizes are computed in u128, so an absurd
/// config gets an absurd number rather than an overflow.
pub fn estimate_at(
    cfg: &RunConfig,
    n_fields: usize,
    n_dense: usize,
    rows: u64,
) -> Result<MemoryEstimate> {
    let f = 4u128; // bytes per f32
    let d = cfg.model.embed_dim as u128;
    let emb_state = Optimizer::new(&cfg.optimizer.check()?).state_len(cfg.model.embed_dim);
    let stride = cfg.model.embed_dim + emb_state;
    let first_chunk = CHUNK_ROWS as u128 * stride as u128 * f + KeyIndex::default().bytes() as u128;
    let grown = usize::try_from(rows).map_or(u128::MAX, |rows| {
        StoreMemory::projected(stride, rows).held_bytes as u128
    });
    let embedding = first_chunk.max(grown);
    let dense_opt = Optimizer::new(&cfg.dense_optimizer().check()?);
    let dense: u128 = dense_shapes(&cfg.model, n_fields, n_dense)
        .into_iter()
        .map(|(rows, cols)| {
            let (r, c) = (rows as u128, cols as u128);
            (2 * r * c + r * dense_opt.state_len(cols) as u128) * f
        })
        .sum();
    let input = n_fields as u128 * d + n_dense as u128;
    let mut per_sample = input + cfg.model.hidden_sizes().iter().sum::<usize>() as u128 + 1;
    match cfg.model.kind {
        ModelKind::Opnn => per_sample += d * d,
        ModelKind::Dcn => per_sample += cfg.model.cross_layers as u128 * input,
        ModelKind::Mlp | ModelKind::Lr => {}
    }
    let activations = 2 * cfg.train.batch_size as u128 * per_sample * f;
    let clamp = |x: u128| u64::try_from(x).unwrap_or(u64::MAX);
    Ok(MemoryEstimate {
        embedding: clamp(embedding),
        dense: clamp(dense),
        activations: clamp(activations),
    })
}

/// Refuse an estimate above `available` bytes, naming the setting behind
/// the largest part.
pub fn check_estimate(cfg: &RunConfig, est: &MemoryEstimate, available: u64) -> Result<()> {
    if est.total() <= available {
        return Ok(());
    }
    let setting = if est.activations >= est.embedding.max(est.dense) {
        format!("train.batch_size = {}", cfg.train.batch_size)
    } else {
        format!("model.embed_dim = {}", cfg.model.embed_dim)
    };
    anyhow::bail!(
        "{setting}: the run needs at least {} (embedding rows {} at first allocation, dense model {}, batch activations {}), this machine has {} available",
        gb(est.total()),
        gb(est.embedding),
        gb(est.dense),
        gb(est.activations),
        gb(available)
    )
}

/// Estimate `cfg`'s memory and refuse it if this machine cannot hold it
/// (no check where the available memory is unknown).
pub fn check_memory(cfg: &RunConfig, n_fields: usize, n_dense: usize) -> Result<()> {
    let est = estimate(cfg, n_fields, n_dense)?;
    if let Some(available) = available_bytes() {
        check_estimate(cfg, &est, available)?;
    }
    Ok(())
}

/// MemAvailable of /proc/meminfo: what can be allocated without swapping.
fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// "threads = 8 but this machine has 2 cores: ..." when `threads` exceeds
/// `cores`: oversubscribed pools spin against each other, and timings no
/// longer compare with other runs.
pub fn threads_warning(threads: usize, cores: usize) -> Option<String> {
    (threads > cores).then(|| {
        format!(
            "warning: threads = {threads} but this machine has {cores} cores: the thread pools will compete for them (slower, and timings not comparable)"
        )
    })
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> RunConfig {
        let base = "name = \"t\"\n[data]\nformat = \"avazu\"\n[data.synthetic]\nrows = 10\n";
        RunConfig::parse(&format!("{base}{text}")).unwrap()
    }

    #[test]
    fn estimate_matches_a_hand_computation() {
        let cfg = config(
            "[model]\nkind = \"mlp\"\nembed_dim = 4\nhidden = [8, 4]\n[optimizer]\nname = \"adam\"\n[train]\nbatch_size = 16\n",
        );
        let est = estimate(&cfg, 3, 0).unwrap();
        // Embedding: 65536 rows x (4 weights + 8 Adam slots) x 4 bytes, plus
        // the 1024-bucket key index at 12 bytes a bucket.
        assert_eq!(est.embedding, 65536 * 12 * 4 + 1024 * 12);
        // Dense: shapes (12,8) (1,8) (8,4) (1,4) (4,1) (1,1) hold 145
        // floats; each has a weight, a gradient and 2 Adam slots: 16 bytes.
        assert_eq!(est.dense, 145 * 16);
        // Activations: 12 inputs + 8 + 4 hidden + 1 logit, values and
        // gradients, 16 samples, 4 bytes.
        assert_eq!(est.activations, 25 * 2 * 16 * 4);
        assert_eq!(est.total(), 3_158_016 + 2320 + 3200);
    }

    /// The paper's Criteo run (DCN, d = 8, Group Adam, 26 fields + 13
    /// dense, batch 512) at 32,221,480 distinct features, about what the
    /// training part of scripts/criteo_memory.sh's file holds.
    #[test]
    fn estimate_at_criteo_scale_matches_a_hand_computation() {
        let cfg = RunConfig::parse(
            "name = \"t\"\n[data]\nformat = \"criteo\"\n[data.synthetic]\nrows = 10\n[model]\nkind = \"dcn\"\nembed_dim = 8\n[optimizer]\nname = \"group_adam\"\nlambda21 = 5e-4\n[train]\nbatch_size = 512\n",
        )
        .unwrap();
        let rows = 32_221_480u64;
        let est = estimate_at(&cfg, 26, 13, rows).unwrap();
        // Rows: 8 weights + 3 x 8 Group Adam slots = 32 floats = 128 bytes,
        // rounded up to a 2 MiB page: 4,124,349,440 -> 1967 pages.
        let rows_bytes = 1967u64 << 21;
        assert!(rows_bytes >= rows * 128 && rows_bytes - rows * 128 < 1 << 21);
        // Steps: a u32 each, capacity 2^25; index: 2^26 buckets of 12 bytes
        // (32.2M keys are more than 3/4 of 2^25).
        let steps = (1u64 << 25) * 4;
        let index = (1u64 << 26) * 12;
        assert_eq!(est.embedding, rows_bytes + steps + index);
        assert_eq!(est.embedding, 5_064_622_080);
        // The dense part and the activations do not depend on the rows.
        let floor = estimate(&cfg, 26, 13).unwrap();
        assert_eq!(
            (est.dense, est.activations),
            (floor.dense, floor.activations)
        );
        // Before any row: the first chunk (65536 rows x 128 bytes) and the
        // 1024-bucket index, as the check before training sees it.
        assert_eq!(floor.embedding, 65536 * 128 + 1024 * 12);
        assert_eq!(estimate_at(&cfg, 26, 13, 1000).unwrap(), floor);
    }

    #[test]
    fn dense_shapes_are_those_the_models_build() {
        let device = candle_core::Device::Cpu;
        for kind in ModelKind::ALL {
            for n_dense in [0, 3] {
                let mut m = ModelConfig::default_for(kind);
                if kind == ModelKind::Dcn {
                    m.hidden = Some(vec![5, 7]);
                }
                let built = crate::model::build(&m, 4, n_dense, 1, &device).unwrap();
                let shapes: Vec<(usize, usize)> =
                    built.params().iter().map(|p| (p.rows, p.cols)).collect();
                assert_eq!(
                    dense_shapes(&m, 4, n_dense),
                    shapes,
                    "{kind} n_dense {n_dense}"
                );
            }
        }
    }

    #[test]
    fn an_impossible_size_is_refused_with_the_estimate() {
        let cfg =
            config("[model]\nkind = \"mlp\"\nembed_dim = 100000\n[optimizer]\nname = \"adam\"\n");
        let est = MemoryEstimate {
            embedding: 78_643_212_288,
            dense: 563_200_000,
            activations: 100_000_000,
        };
        assert_eq!(
            check_estimate(&cfg, &est, 23_400_000_000)
                .unwrap_err()
                .to_string(),
            "model.embed_dim = 100000: the run needs at least 79.3 GB (embedding rows 78.6 GB at first allocation, dense model 0.6 GB, batch activations 0.1 GB), this machine has 23.4 GB available"
        );
        assert!(check_estimate(&cfg, &est, 80_000_000_000).is_ok());
        // The real estimate of this config: the first chunk alone is
        // 65536 x 300000 x 4 bytes.
        assert_eq!(
            estimate(&cfg, 22, 0).unwrap().embedding,
            78_643_200_000 + 12_288
        );
    }

    #[test]
    fn threads_above_the_cores_warn() {
        assert_eq!(threads_warning(2, 2), None);
        assert_eq!(
            threads_warning(8, 2).unwrap(),
            "warning: threads = 8 but this machine has 2 cores: the thread pools will compete for them (slower, and timings not comparable)"
        );
    }
}
