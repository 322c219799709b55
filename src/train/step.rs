//! The training step and batch scoring, independent of where batches come
//! from (file, cache, test code) and of where results go.

use anyhow::{Context, Result};

use crate::config::RunConfig;
use crate::data::{Batch, SchemaInfo};
use crate::embedding::{EmbeddingStore, RowInit, StoreMemory, Touched};
use crate::metrics::Sparsity;
use crate::model::{self, Grads, Input, Model};
use crate::optim::Optimizer;
use crate::rng::{mix64, SplitMix64};
use crate::train::phases::{Phase, PhaseTimes};

/// Step of the finite-difference Hessian-vector product `Hz ~ (g(x + h z) -
/// g(x)) / h`: f32 gradients carry ~1e-7 relative rounding, so the rounding
/// error is ~1e-7/h and the truncation error ~h * |third derivative|; 1e-3
/// balances them for the curvatures of CTR models.
const HESSIAN_FD_STEP: f32 = 1e-3;

/// Optimizer state of one dense parameter.
struct DenseSlots {
    state: Vec<f32>,
    last_steps: Vec<u32>,
}

/// A model, its embedding store and both optimizers: everything one step needs.
pub struct Trainer {
    seed: u64,
    model: Box<dyn Model>,
    store: EmbeddingStore,
    emb_opt: Optimizer,
    dense_opt: Optimizer,
    dense_slots: Vec<DenseSlots>,
    // Reused buffers: nothing is allocated per batch once they have grown.
    touched: Touched,
    emb: Vec<f32>,
    grads: Grads,
    hess: HessianBuffers,
    pub times: PhaseTimes,
}

/// Logits of `batch` from `store` and `model`, creating no row (keys unseen
/// in training read as zeros). Evaluation and `ctr-run predict` both score
/// through this, which is what makes predict reproduce a run's scores.
pub fn score_known(
    model: &dyn Model,
    store: &mut EmbeddingStore,
    batch: &Batch,
    touched: &mut Touched,
    emb: &mut Vec<f32>,
    out: &mut Vec<f32>,
) -> Result<()> {
    store.gather_known(batch, touched, emb);
    let input = Input {
        batch: batch.len,
        emb,
        dense: &batch.dense,
    };
    model.logits(&input, out)?;
    Ok(())
}

#[derive(Default)]
struct HessianBuffers {
    z_rows: Vec<f32>,
    z_params: Vec<Vec<f32>>,
    saved_params: Vec<Vec<f32>>,
    emb: Vec<f32>,
    grads: Grads,
    touched_grads: Vec<f32>,
    rows: Vec<f32>,
    params: Vec<Vec<f32>>,
}

impl Trainer {
    pub fn new(cfg: &RunConfig, schema: &SchemaInfo, device: &candle_core::Device) -> Result<Self> {
        // Before the model's and the first embedding chunk's allocations.
        super::budget::check_memory(cfg, schema.n_fields(), schema.n_dense())?;
        let model = model::build(
            &cfg.model,
            schema.field_names.len(),
            schema.dense_names.len(),
            cfg.seed,
            device,
        )
        .context("building the model")?;
        let emb_opt = Optimizer::new(&cfg.optimizer.check().context("embedding optimizer")?);
        let dense_opt = Optimizer::new(&cfg.dense_optimizer().check().context("dense optimizer")?);
        let dim = cfg.model.embed_dim;
        let store = EmbeddingStore::new(
            dim,
            emb_opt.state_len(dim),
            RowInit {
                std: cfg.model.init_std,
                seed: cfg.seed,
            },
        );
        let dense_slots = model
            .params()
            .iter()
            .map(|p| {
                let sl = dense_opt.state_len(p.cols);
                let mut state = vec![0.0; p.rows * sl];
                for (w, s) in p
                    .data
                    .chunks_exact(p.cols)
                    .zip(state.chunks_exact_mut(sl.max(1)))
                {
                    dense_opt.init_state(w, &mut s[..sl]);
                }
                DenseSlots {
                    state,
                    last_steps: vec![0; p.rows],
                }
            })
            .collect();
        Ok(Self {
            seed: cfg.seed,
            model,
            store,
            emb_opt,
            dense_opt,
            dense_slots,
            touched: Touched::default(),
            emb: Vec::new(),
            grads: Grads::default(),
            hess: HessianBuffers::default(),
            times: PhaseTimes::default(),
        })
    }

    /// A trainer for `cfg` on its device, with the data schema read from its
    /// training split.
    pub fn for_config(cfg: &RunConfig) -> Result<Self> {
        let device = cfg.device.open()?;
        let source = crate::data::open(&cfg.data, crate::data::Split::Train, cfg.train.batch_size)?;
        Self::new(cfg, source.schema(), &device)
    }

    pub fn model(&self) -> &dyn Model {
        self.model.as_ref()
    }

    pub fn store(&self) -> &EmbeddingStore {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut EmbeddingStore {
        &mut self.store
    }

    /// Global step of the embedding optimizer (batches trained).
    pub fn step(&self) -> u64 {
        self.emb_opt.step()
    }

    /// Global steps of the embedding and the dense optimizer (checkpoints).
    pub fn optimizer_steps(&self) -> (u64, u64) {
        (self.emb_opt.step(), self.dense_opt.step())
    }

    /// Each dense parameter with its optimizer state and per-row last steps.
    pub fn dense_state(&self) -> impl Iterator<Item = (&model::Param, &[f32], &[u32])> + '_ {
        self.model
            .params()
            .iter()
            .zip(&self.dense_slots)
            .map(|(p, s)| (p, s.state.as_slice(), s.last_steps.as_slice()))
    }

    /// Restore what `optimizer_steps` and `dense_state` exported: `dense[i]`
    /// is (weights, state, last steps) of parameter `i`, sizes checked.
    pub fn restore_state(
        &mut self,
        steps: (u64, u64),
        dense: Vec<(Vec<f32>, Vec<f32>, Vec<u32>)>,
    ) -> Result<()> {
        let params = self.model.params_mut();
        if dense.len() != params.len() {
            anyhow::bail!(
                "{} dense parameters saved, the model has {}",
                dense.len(),
                params.len()
            );
        }
        for ((p, slots), (w, state, last)) in
            params.iter_mut().zip(&mut self.dense_slots).zip(dense)
        {
            if w.len() != p.data.len()
                || state.len() != slots.state.len()
                || last.len() != slots.last_steps.len()
            {
                anyhow::bail!("dense parameter {}: saved sizes differ", p.name);
            }
            p.data = w;
            slots.state = state;
            slots.last_steps = last;
        }
        self.emb_opt.set_step(steps.0);
        self.dense_opt.set_step(steps.1);
        Ok(())
    }

    /// Train on one batch; returns the batch's mean loss. `logits_out`, when
    /// given, receives the logits computed before the update (progressive
    /// validation: the model's prediction on data it has not yet trained on).
    pub fn train_batch(&mut self, batch: &Batch, logits_out: Option<&mut Vec<f32>>) -> Result<f32> {
        let step_seed = mix64(self.seed ^ mix64(self.emb_opt.step() + 1));
        let t = &mut self.times;
        t.time(Phase::Gather, || {
            self.store
                .resolve(batch, Some(&self.emb_opt), &mut self.touched);
            self.store.gather(batch, &self.touched, None, &mut self.emb);
        });
        let input = Input {
            batch: batch.len,
            emb: &self.emb,
            dense: &batch.dense,
        };
        let loss = t.time(Phase::ForwardBackward, || {
            self.model
                .forward_backward(&input, &batch.labels, step_seed, &mut self.grads)
        })?;
        if let Some(out) = logits_out {
            out.clear();
            out.extend_from_slice(self.model.train_logits());
        }
        t.time(Phase::SparseUpdate, || {
            self.store
                .scatter_grads(batch, &self.grads.emb, &mut self.touched)
        });
        let need_hessian = self.emb_opt.needs_hessian() || self.dense_opt.needs_hessian();
        if need_hessian {
            let t0 = std::time::Instant::now();
            self.hessian_diagonal(batch, step_seed)?;
            self.times.add(Phase::Hessian, t0.elapsed());
        }
        self.emb_opt.begin_step();
        self.dense_opt.begin_step();
        let t0 = std::time::Instant::now();
        let h_params = if self.dense_opt.needs_hessian() {
            Some(&self.hess.params)
        } else {
            None
        };
        for (i, (p, slots)) in self
            .model
            .params_mut()
            .iter_mut()
            .zip(&mut self.dense_slots)
            .enumerate()
        {
            self.dense_opt.update_dense(
                p.cols,
                &mut p.data,
                &mut slots.state,
                &mut slots.last_steps,
                &self.grads.params[i],
                h_params.map(|h| h[i].as_slice()),
            );
        }
        self.times.add(Phase::DenseUpdate, t0.elapsed());
        let t0 = std::time::Instant::now();
        let h_rows = if self.emb_opt.needs_hessian() {
            Some(self.hess.rows.as_slice())
        } else {
            None
        };
        self.store.update(&self.emb_opt, &self.touched, h_rows);
        self.times.add(Phase::SparseUpdate, t0.elapsed());
        Ok(loss)
    }

    /// Hutchinson's estimate `z * Hz` (z Rademacher) of the Hessian diagonal
    /// for the touched rows and every dense parameter, with Hz from a finite
    /// difference of gradients (SPEC 2 allows it; the error bound is in
    /// `HESSIAN_FD_STEP`'s comment). Uses the gradients already in
    /// `self.grads` / `self.touched.grads` as g(x).
    fn hessian_diagonal(&mut self, batch: &Batch, step_seed: u64) -> Result<()> {
        let h = &mut self.hess;
        let mut rng = SplitMix64::new(mix64(step_seed ^ 0x4845_5353));
        let d = self.store.dim();
        h.z_rows.clear();
        h.z_rows
            .extend((0..self.touched.rows.len() * d).map(|_| rng.rademacher() * HESSIAN_FD_STEP));
        let params = self.model.params_mut();
        h.z_params.resize_with(params.len(), Vec::new);
        h.saved_params.resize_with(params.len(), Vec::new);
        for ((p, z), saved) in params
            .iter_mut()
            .zip(&mut h.z_params)
            .zip(&mut h.saved_params)
        {
            z.clear();
            z.extend((0..p.data.len()).map(|_| rng.rademacher() * HESSIAN_FD_STEP));
            saved.clear();
            saved.extend_from_slice(&p.data);
            for (x, dz) in p.data.iter_mut().zip(z.iter()) {
                *x += dz;
            }
        }
        self.store
            .gather(batch, &self.touched, Some(&h.z_rows), &mut h.emb);
        let input = Input {
            batch: batch.len,
            emb: &h.emb,
            dense: &batch.dense,
        };
        let result = self
            .model
            .forward_backward(&input, &batch.labels, step_seed, &mut h.grads);
        for (p, saved) in self.model.params_mut().iter_mut().zip(&h.saved_params) {
            p.data.copy_from_slice(saved);
        }
        result?;
        // Row gradients at the perturbed point, summed per unique row as in the step.
        std::mem::swap(&mut self.touched.grads, &mut h.touched_grads);
        self.store
            .scatter_grads(batch, &h.grads.emb, &mut self.touched);
        std::mem::swap(&mut self.touched.grads, &mut h.touched_grads);
        // z * Hz = z * (g(x + h z) - g(x)) / h with z = dz / h, i.e. dz * dg / h^2.
        let inv = 1.0 / (HESSIAN_FD_STEP * HESSIAN_FD_STEP);
        h.rows.clear();
        h.rows.extend(
            h.z_rows
                .iter()
                .zip(h.touched_grads.iter().zip(&self.touched.grads))
                .map(|(dz, (g1, g0))| dz * (g1 - g0) * inv),
        );
        h.params.resize_with(h.z_params.len(), Vec::new);
        for (i, out) in h.params.iter_mut().enumerate() {
            out.clear();
            out.extend(
                h.z_params[i]
                    .iter()
                    .zip(h.grads.params[i].iter().zip(&self.grads.params[i]))
                    .map(|(dz, (g1, g0))| dz * (g1 - g0) * inv),
            );
        }
        Ok(())
    }

    /// Logits of a batch without training; keys unseen in training read as zeros.
    pub fn logits(&mut self, batch: &Batch, out: &mut Vec<f32>) -> Result<()> {
        score_known(
            &*self.model,
            &mut self.store,
            batch,
            &mut self.touched,
            &mut self.emb,
            out,
        )
    }

    /// Feature rate: non-zero rows over rows seen in training (SPEC 6).
    pub fn sparsity(&self) -> Sparsity {
        Sparsity {
            nonzero_features: self.store.nonzero_rows(),
            seen_features: self.store.len() as u64,
        }
    }

    pub fn memory(&self) -> StoreMemory {
        self.store.memory()
    }
}
