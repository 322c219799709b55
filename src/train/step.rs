//! The training step and batch scoring, independent of where batches come
//! from (file, cache, test code) and of where results go.

use anyhow::{Context, Result};

use crate::config::RunConfig;
use crate::data::{Batch, SchemaInfo};
use crate::embedding::{EmbeddingStore, Lookup, RowInit, StoreMemory, Touched};
use crate::metrics::Sparsity;
use crate::model::{self, Grads, Input, Model};
use crate::optim::{hessian, Optimizer};
use crate::rng::mix64;
use crate::train::budget::MemoryEstimates;
use crate::train::phases::{LoopCpu, Phase, PhaseTimes};

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
    /// The next batch's lookup, made while this batch's rows are updated
    /// (`train_batch_ahead`).
    ahead: Lookup,
    emb: Vec<f32>,
    grads: Grads,
    hess: HessianBuffers,
    pub times: PhaseTimes,
    /// Categorical fields and dense features of the schema (for the memory estimate).
    schema_sizes: (usize, usize),
    /// CPU and wall time of the training loops (`train_window_with`).
    pub loop_cpu: LoopCpu,
}

/// The Hessian-diagonal estimate and its buffers. Coordinates are laid out
/// flat: the touched rows (`rows` values, in `Touched` order), then each
/// dense parameter in `params()` order.
#[derive(Default)]
struct HessianBuffers {
    rows: usize,
    g0: Vec<f32>,
    dz: Vec<f32>,
    g1: Vec<f32>,
    diag: Vec<f32>,
    at_offset: OffsetBuffers,
}

/// Reused buffers of `Trainer::gradient_at_offset`.
#[derive(Default)]
struct OffsetBuffers {
    saved_params: Vec<Vec<f32>>,
    emb: Vec<f32>,
    grads: Grads,
    touched_grads: Vec<f32>,
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
            ahead: Lookup::default(),
            emb: Vec::new(),
            grads: Grads::default(),
            hess: HessianBuffers::default(),
            times: PhaseTimes::default(),
            schema_sizes: (schema.n_fields(), schema.n_dense()),
            loop_cpu: LoopCpu::default(),
        })
    }

    /// A trainer for `cfg` on its device, with the data schema read from its
    /// training split.
    pub fn for_config(cfg: &RunConfig) -> Result<Self> {
        let device = cfg.device.open()?;
        // The header tells the schema: no source opened, no pass over rows.
        let schema = crate::data::schema_of(&cfg.data)?;
        Self::new(cfg, &schema, &device)
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
        self.train_batch_ahead(batch, None, logits_out)
    }

    /// `train_batch`, looking up the keys of `next` (the batch to train
    /// next, when known) while this batch's rows are updated. The lookup
    /// reads only the key index, which no update writes; the next step
    /// uses it if it is still exact (same keys, index unchanged), so the
    /// results are the same bits with or without it.
    pub fn train_batch_ahead(
        &mut self,
        batch: &Batch,
        next: Option<&Batch>,
        logits_out: Option<&mut Vec<f32>>,
    ) -> Result<f32> {
        // The whole step runs on a worker of the rayon pool: its parallel
        // phases (lookups, gather, scatter, fused ops, matmuls, row updates)
        // then split work by stealing instead of each handing its job from
        // this thread to the pool and sleeping until it is done (a wake-up
        // and a context switch per phase; with 1 thread, pure overhead).
        // The other workers spin for the step's length rather than falling
        // asleep in its serial joints (docs/performance.md).
        crate::model::keep_pool_awake(|| self.train_batch_on_pool(batch, next, logits_out))
    }

    fn train_batch_on_pool(
        &mut self,
        batch: &Batch,
        next: Option<&Batch>,
        logits_out: Option<&mut Vec<f32>>,
    ) -> Result<f32> {
        let step_seed = mix64(self.seed ^ mix64(self.emb_opt.step() + 1));
        let t = &mut self.times;
        t.time(Phase::Gather, || {
            self.store.resolve_looked_up(
                batch,
                Some(&self.emb_opt),
                &mut self.ahead,
                &mut self.touched,
            );
            self.store
                .gather(batch, &mut self.touched, None, &mut self.emb);
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
        // The dense and the sparse update touch disjoint state (the model's
        // parameters, the store's rows), so they run side by side: the dense
        // update (one task per parameter block) fills the second core while
        // the row updates split across the pool. The next batch's lookup
        // runs beside the row updates: it reads only the key index, which
        // no update writes. Each is timed on its own, so the phases overlap
        // in the loop's wall time (the lookup counts as gather).
        let Self {
            model,
            store,
            emb_opt,
            dense_opt,
            dense_slots,
            touched,
            grads,
            hess,
            ahead,
            ..
        } = self;
        let (dense_time, (sparse_time, lookup_time)) = rayon::join(
            || {
                let t0 = std::time::Instant::now();
                let dense_hessian = dense_opt.needs_hessian();
                let mut h_offset = hess.rows;
                for (i, (p, slots)) in model.params_mut().iter_mut().zip(dense_slots).enumerate() {
                    let h = if dense_hessian {
                        let h = &hess.diag[h_offset..h_offset + p.data.len()];
                        h_offset += p.data.len();
                        Some(h)
                    } else {
                        None
                    };
                    dense_opt.update_dense(
                        p.cols,
                        &mut p.data,
                        &mut slots.state,
                        &mut slots.last_steps,
                        &grads.params[i],
                        h,
                    );
                }
                t0.elapsed()
            },
            || {
                let t0 = std::time::Instant::now();
                let h_rows = emb_opt.needs_hessian().then(|| &hess.diag[..hess.rows]);
                let emb_opt = &*emb_opt;
                let lookup_time = store.update(emb_opt, touched, h_rows, |index| {
                    let t0 = std::time::Instant::now();
                    if let Some(next) = next {
                        index.look_up(next, Some(emb_opt), ahead);
                    }
                    t0.elapsed()
                });
                (t0.elapsed(), lookup_time)
            },
        );
        self.times.add(Phase::Gather, lookup_time);
        self.times.add(Phase::DenseUpdate, dense_time);
        self.times.add(Phase::SparseUpdate, sparse_time);
        Ok(loss)
    }

    /// AdaHessian's Hessian-diagonal estimate (`optim::hessian`, docs/math.md
    /// "AdaHessian's curvature") for the touched rows and every dense
    /// parameter, into `self.hess.diag`. g(x) is the step's own gradient,
    /// already in `self.touched.grads` / `self.grads`.
    fn hessian_diagonal(&mut self, batch: &Batch, step_seed: u64) -> Result<()> {
        let mut h = std::mem::take(&mut self.hess);
        h.rows = self.touched.rows.len() * self.store.dim();
        h.g0.clear();
        h.g0.extend_from_slice(&self.touched.grads[..h.rows]);
        for (p, g) in self.model.params().iter().zip(&self.grads.params) {
            h.g0.extend_from_slice(&g[..p.data.len()]);
        }
        let HessianBuffers {
            rows,
            g0,
            dz,
            g1,
            diag,
            at_offset,
        } = &mut h;
        let result = hessian::estimate_diag(
            &mut hessian::probe_rng(step_seed),
            g0,
            |dz, g1| self.gradient_at_offset(batch, step_seed, *rows, dz, at_offset, g1),
            dz,
            g1,
            diag,
        );
        self.hess = h;
        result
    }

    /// g(x + dz) in the layout of `HessianBuffers`: the batch's gradient with
    /// the touched rows offset by `dz[..rows]` and the dense parameters by the
    /// rest (restored afterwards), row gradients summed per unique row as in
    /// the step.
    fn gradient_at_offset(
        &mut self,
        batch: &Batch,
        step_seed: u64,
        rows: usize,
        dz: &[f32],
        bufs: &mut OffsetBuffers,
        g1: &mut Vec<f32>,
    ) -> Result<()> {
        let OffsetBuffers {
            saved_params,
            emb,
            grads,
            touched_grads,
        } = bufs;
        let (dz_rows, mut dz_params) = dz.split_at(rows);
        let params = self.model.params_mut();
        saved_params.resize_with(params.len(), Vec::new);
        for (p, saved) in params.iter_mut().zip(saved_params.iter_mut()) {
            saved.clear();
            saved.extend_from_slice(&p.data);
            let (dz, rest) = dz_params.split_at(p.data.len());
            dz_params = rest;
            for (x, dz) in p.data.iter_mut().zip(dz) {
                *x += dz;
            }
        }
        self.store
            .gather(batch, &mut self.touched, Some(dz_rows), emb);
        let input = Input {
            batch: batch.len,
            emb,
            dense: &batch.dense,
        };
        let result = self
            .model
            .forward_backward(&input, &batch.labels, step_seed, grads);
        for (p, saved) in self.model.params_mut().iter_mut().zip(saved_params.iter()) {
            p.data.copy_from_slice(saved);
        }
        result?;
        std::mem::swap(&mut self.touched.grads, touched_grads);
        self.store
            .scatter_grads(batch, &grads.emb, &mut self.touched);
        std::mem::swap(&mut self.touched.grads, touched_grads);
        g1.clear();
        g1.extend_from_slice(&touched_grads[..rows]);
        for (p, g) in self.model.params().iter().zip(&grads.params) {
            g1.extend_from_slice(&g[..p.data.len()]);
        }
        Ok(())
    }

    /// Logits of a batch without training; keys unseen in training read as zeros.
    pub fn logits(&mut self, batch: &Batch, out: &mut Vec<f32>) -> Result<()> {
        super::score::score_known(&*self.model, &self.store, batch, &mut self.emb, out)
    }

    /// Feature rate: non-zero rows over rows seen in training (docs/metrics.md).
    pub fn sparsity(&self) -> Sparsity {
        Sparsity {
            nonzero_features: self.store.nonzero_rows(),
            seen_features: self.store.len() as u64,
        }
    }

    pub fn memory(&self) -> StoreMemory {
        self.store.memory()
    }

    /// The budget estimate for `cfg` (this trainer's config): before
    /// training, as the check made it, and at the rows the store now holds.
    pub fn memory_estimates(&self, cfg: &RunConfig) -> Result<MemoryEstimates> {
        let (n_fields, n_dense) = self.schema_sizes;
        Ok(MemoryEstimates {
            first_batch_bytes: super::budget::estimate(cfg, n_fields, n_dense)?.total(),
            at_seen_bytes: super::budget::estimate_at(
                cfg,
                n_fields,
                n_dense,
                self.store.len() as u64,
            )?
            .total(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RunConfig {
        RunConfig::parse(
            r#"
name = "hessian-pin"
seed = 5
threads = 1
[data]
format = "avazu"
split = "paper"
[data.synthetic]
rows = 20000
seed = 7
[model]
kind = "mlp"
embed_dim = 4
[optimizer]
name = "adahessian"
[train]
batch_size = 64
"#,
        )
        .expect("valid config")
    }

    /// The schema comes from the header: a body that a pass would reject
    /// (a malformed last row, `max_bad_rows = 0`) does not stop `for_config`,
    /// so no pass over the rows happens before training starts.
    #[test]
    fn for_config_reads_the_header_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("train.csv");
        let header = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";
        let row = "1,0,14102100,1005,0,a,b,c,d,e,f,g,h,i,1,0,15706,320,50,1722,0,35,-1,79";
        std::fs::write(&file, format!("{header}\n{row}\nnot,a,row\n")).unwrap();
        let cfg = RunConfig::parse(&format!(
            r#"
name = "header-only"
[data]
format = "avazu"
split = "fraction"
cache = false
train = "{}"
[model]
kind = "lr"
[optimizer]
name = "adam"
"#,
            file.display()
        ))
        .expect("valid config");
        Trainer::for_config(&cfg).expect("the header is enough");
        let schema = crate::data::schema_of(&cfg.data).unwrap();
        assert_eq!((schema.n_fields(), schema.n_dense()), (22, 0));
    }

    /// Everything a trainer holds, as bits: rows by key, their blocks and
    /// steps, the dense weights and their state.
    fn state_bits(t: &Trainer) -> (Vec<u64>, Vec<u32>, Vec<u32>, Vec<u32>) {
        let s = t.store();
        let blocks = s.blocks().flatten().map(|x| x.to_bits()).collect();
        let dense = t
            .dense_state()
            .flat_map(|(p, state, _)| p.data.iter().chain(state))
            .map(|x| x.to_bits())
            .collect();
        (s.keys_by_row(), blocks, s.last_steps().to_vec(), dense)
    }

    /// A lookup made ahead changes no bit: a trainer told each next batch
    /// ends where one told none does. A stale lookup is redone, never
    /// used: the next batch not the one looked up, and the index changed
    /// between the lookup and its use (a row inserted by hand).
    #[test]
    fn a_lookup_made_ahead_changes_no_bit_and_a_stale_one_is_redone() {
        let cfg = config();
        let mut source =
            crate::data::open(&cfg.data, crate::data::Split::Train, cfg.train.batch_size).unwrap();
        let batches: Vec<Batch> = (0..6)
            .map(|_| {
                let mut b = Batch::default();
                assert!(source.next_batch(&mut b).unwrap());
                b
            })
            .collect();
        let mut plain = Trainer::for_config(&cfg).unwrap();
        let mut ahead = Trainer::for_config(&cfg).unwrap();
        let opt = Optimizer::new(&cfg.optimizer.check().unwrap());
        let mut losses = (Vec::new(), Vec::new());
        for (i, b) in batches.iter().enumerate() {
            if i == 4 {
                // Between the lookup of batch 4 and its use: a new row for
                // a key of batch 4, in both trainers alike.
                let key = *b
                    .keys
                    .iter()
                    .find(|&&k| plain.store().lookup(k).is_none())
                    .unwrap();
                plain.store_mut().lookup_or_insert(key, &opt);
                ahead.store_mut().lookup_or_insert(key, &opt);
            }
            // Batch 2 is told the wrong next batch (1 instead of 3).
            let next = match i {
                2 => Some(&batches[1]),
                _ => batches.get(i + 1),
            };
            losses.0.push(plain.train_batch(b, None).unwrap().to_bits());
            losses
                .1
                .push(ahead.train_batch_ahead(b, next, None).unwrap().to_bits());
        }
        assert_eq!(losses.0, losses.1);
        let (a, b) = (state_bits(&plain), state_bits(&ahead));
        assert_eq!(a.0, b.0, "keys by row");
        assert!(a.1 == b.1, "row blocks differ");
        assert_eq!(a.2, b.2, "row steps");
        assert!(a.3 == b.3, "dense weights or state differ");
    }

    /// The curvature a step hands AdaHessian is `optim::hessian::estimate_diag`
    /// (the function tests/suite/optim_hessian.rs checks against analytic
    /// Hessians) on the step's probe seed, the step's gradient as g(x), and the
    /// batch gradient at x + dz written here independently of the Trainer.
    #[test]
    fn step_curvature_is_estimate_diag_on_the_batch_gradient() {
        let cfg = config();
        let mut trained = Trainer::for_config(&cfg).unwrap();
        let mut manual = Trainer::for_config(&cfg).unwrap();
        let mut source =
            crate::data::open(&cfg.data, crate::data::Split::Train, cfg.train.batch_size).unwrap();
        let mut batch = Batch::default();
        // One step first, so the second sees non-initial weights and state.
        assert!(source.next_batch(&mut batch).unwrap());
        trained.train_batch(&batch, None).unwrap();
        manual.train_batch(&batch, None).unwrap();
        assert!(source.next_batch(&mut batch).unwrap());
        trained.train_batch(&batch, None).unwrap();

        let m = &mut manual;
        let step_seed = mix64(cfg.seed ^ mix64(m.step() + 1));
        let mut touched = Touched::default();
        m.store.resolve(&batch, Some(&m.emb_opt), &mut touched);
        let gradient = |model: &mut dyn Model, touched: &mut Touched, dz: &[f32]| {
            let rows = touched.rows.len() * m.store.dim();
            let saved: Vec<Vec<f32>> = model.params().iter().map(|p| p.data.clone()).collect();
            let mut off = rows;
            for p in model.params_mut() {
                let n = p.data.len();
                for (x, d) in p.data.iter_mut().zip(&dz[off..off + n]) {
                    *x += d;
                }
                off += n;
            }
            let mut emb = Vec::new();
            m.store.gather(&batch, touched, Some(&dz[..rows]), &mut emb);
            let input = Input {
                batch: batch.len,
                emb: &emb,
                dense: &batch.dense,
            };
            let mut grads = Grads::default();
            model
                .forward_backward(&input, &batch.labels, step_seed, &mut grads)
                .unwrap();
            for (p, s) in model.params_mut().iter_mut().zip(saved) {
                p.data = s;
            }
            m.store.scatter_grads(&batch, &grads.emb, touched);
            let mut g = touched.grads.clone();
            grads.params.iter().for_each(|p| g.extend_from_slice(p));
            g
        };
        // g(x): the same gradient with a zero offset (x + 0 is x exactly).
        let n = touched.rows.len() * m.store.dim()
            + m.model.params().iter().map(|p| p.data.len()).sum::<usize>();
        let g0 = gradient(m.model.as_mut(), &mut touched, &vec![0.0; n]);
        let (mut dz, mut g1, mut want) = (Vec::new(), Vec::new(), Vec::new());
        hessian::estimate_diag::<()>(
            &mut hessian::probe_rng(step_seed),
            &g0,
            |dz, g1| {
                *g1 = gradient(m.model.as_mut(), &mut touched, dz);
                Ok(())
            },
            &mut dz,
            &mut g1,
            &mut want,
        )
        .unwrap();
        assert_eq!(trained.hess.rows, touched.rows.len() * m.store.dim());
        assert_eq!(trained.hess.diag.len(), want.len());
        let differ = (trained.hess.diag.iter().zip(&want))
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(differ, 0, "of {} entries", want.len());
        assert!(
            want.iter().any(|&h| h != 0.0),
            "a zero estimate pins nothing"
        );
    }
}
