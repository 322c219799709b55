//! The machinery every model shares: parameters as plain `Vec<f32>`, one
//! candle graph per step (weights wrapped as `Var`s, ~100 KB to 1 MB of
//! copies, negligible next to the matmuls), a hand-computed stable BCE
//! gradient seeded into backward, and gradients copied into reused buffers.
//!
//! A model is an [`Arch`]: its parameter list and its forward pass. [`Net`]
//! turns an `Arch` into a [`Model`].

use std::ops::Range;
use std::sync::Arc;

use candle_core::{Device, Tensor, Var};
use rayon::prelude::*;

use super::gemm::with_gemm_threads;
use super::ops::{self, DropoutMask, InputGrad};
use super::{Grads, Input, Model, ModelConfig, ModelError, Param};
use crate::rng::SplitMix64;

/// Salt that separates the dense-init streams from the embedding rows'
/// `(seed, key)` streams of the embedding store.
const INIT_SALT: u64 = 0x6465_6e73_655f_696e; // "dense_in"

/// What a forward pass needs besides the tensors: whether to use the fused
/// CPU ops, and the dropout plan of a training step.
pub(crate) struct Ctx {
    pub fused: bool,
    /// `(rate, step_seed)` during a training step with dropout; None otherwise.
    dropout: Option<(f32, u64)>,
    /// Index of the next dropout layer, so each layer draws its own mask.
    layer: u64,
    /// The rows of the batch this forward pass sees, and the batch's size:
    /// a shard draws the whole batch's masks and keeps its own rows.
    rows: Range<usize>,
    batch: usize,
    /// During a training step: where `input_hidden` leaves x0's gradient.
    input_grad: Option<InputGrad>,
}

impl Ctx {
    /// The first hidden layer, over x0, for a network in which nothing else
    /// reads x0 (the MLP): `hidden`, its backward leaving x0's gradient
    /// outside candle's gradient store (`ops::InputGrad`).
    pub fn input_hidden(
        &mut self,
        x0: &Tensor,
        w: &Tensor,
        b: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let mask = self.mask(&[x0.dim(0)?, w.dim(1)?])?;
        let sink = self.input_grad.take();
        ops::linear_act(x0, w, b, true, mask, self.fused, sink)
    }

    /// A hidden layer: `relu(x w + b)`, then dropout when training.
    pub fn hidden(&mut self, x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        let mask = self.mask(&[x.dim(0)?, w.dim(1)?])?;
        ops::linear_act(x, w, b, true, mask, self.fused, None)
    }

    /// A hidden layer's activation over a computed pre-activation `z`:
    /// `relu(z + b)`, then dropout when training (OPNN's l1).
    pub fn relu_layer(&mut self, z: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        let mask = self.mask(z.dims())?;
        ops::bias_act(z, b, true, mask, self.fused)
    }

    /// A linear layer `x w + b` (no activation, no dropout).
    pub fn linear(&mut self, x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        ops::bias_act(&ops::matmul(x, w, self.fused)?, b, false, None, self.fused)
    }

    fn mask(&mut self, dims: &[usize]) -> candle_core::Result<Option<DropoutMask>> {
        let Some((p, seed)) = self.dropout else {
            return Ok(None);
        };
        let &[rows, cols] = dims else {
            candle_core::bail!("dropout on a non-matrix of shape {dims:?}");
        };
        if rows != self.rows.len() {
            candle_core::bail!("dropout on {rows} rows of a {}-row shard", self.rows.len());
        }
        self.layer += 1;
        let whole = DropoutMask::draw(seed, self.layer, self.batch, cols, p);
        Ok(Some(if rows == self.batch {
            whole
        } else {
            whole.rows(self.rows.clone())
        }))
    }
}

/// One network: its parameters and its forward pass to logits (rows, 1).
pub(crate) trait Arch: Send + Sync + 'static {
    /// `p` holds the parameters in the order of the `Vec<Param>` the arch was
    /// built with; `x0` is (batch, in_width): each row the sample's field
    /// embeddings then its dense features.
    fn forward(&self, p: &[Tensor], x0: &Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor>;
}

/// Shapes shared by every model.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub n_fields: usize,
    pub n_dense: usize,
    pub dim: usize,
}

impl Dims {
    /// Width of the embedding block of one sample.
    pub fn emb(&self) -> usize {
        self.n_fields * self.dim
    }
    /// Width of x0 = [embeddings | dense features].
    pub fn input(&self) -> usize {
        self.emb() + self.n_dense
    }
}

/// Builds the parameter list deterministically from the run seed.
pub(crate) struct ParamInit {
    seed: u64,
    pub params: Vec<Param>,
}

impl ParamInit {
    pub fn new(seed: u64) -> Self {
        ParamInit {
            seed,
            params: Vec::new(),
        }
    }

    /// A (rows, cols) weight, Glorot uniform with the given fans, drawn from
    /// its own stream `(seed, index of the param)`.
    pub fn glorot(
        &mut self,
        name: String,
        rows: usize,
        cols: usize,
        fan_in: usize,
        fan_out: usize,
    ) {
        let mut rng = SplitMix64::for_key(self.seed ^ INIT_SALT, self.params.len() as u64);
        let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
        let data = (0..rows * cols)
            .map(|_| ((2.0 * rng.next_f64() - 1.0) * a) as f32)
            .collect();
        self.params.push(Param {
            name,
            rows,
            cols,
            data,
        });
    }

    /// A (rows, cols) weight of a layer with that fan-in and fan-out.
    pub fn weight(&mut self, name: String, rows: usize, cols: usize) {
        self.glorot(name, rows, cols, rows, cols);
    }

    /// A zero bias of shape (1, n).
    pub fn bias(&mut self, name: String, n: usize) {
        self.params.push(Param {
            name,
            rows: 1,
            cols: n,
            data: vec![0.0; n],
        });
    }
}

/// A [`Model`] from an [`Arch`].
pub(crate) struct Net<A: Arch> {
    arch: A,
    cfg: ModelConfig,
    dims: Dims,
    params: Vec<Param>,
    device: Device,
    /// Custom ops run on CPU only; other devices compose stock ops.
    fused: bool,
    /// Logits of the last training forward.
    train_logits: Vec<f32>,
}

impl<A: Arch> Net<A> {
    pub fn new(arch: A, cfg: ModelConfig, dims: Dims, params: Vec<Param>, device: &Device) -> Self {
        Net {
            arch,
            cfg,
            dims,
            params,
            fused: device.is_cpu(),
            device: device.clone(),
            train_logits: Vec::new(),
        }
    }

    /// Force the stock-op path (tests compare it with the fused one).
    pub fn set_fused(&mut self, fused: bool) {
        self.fused = fused && self.device.is_cpu();
    }

    fn check_input(&self, input: &Input, labels: Option<&[f32]>) -> Result<(), ModelError> {
        let b = input.batch;
        let want = |what: &'static str, got: usize, expected: usize| {
            if got == expected {
                Ok(())
            } else {
                Err(ModelError::Input(format!(
                    "{what} has {got} values, expected {expected} (batch {b})"
                )))
            }
        };
        want("emb", input.emb.len(), b * self.dims.emb())?;
        want("dense", input.dense.len(), b * self.dims.n_dense)?;
        if let Some(y) = labels {
            want("labels", y.len(), b)?;
            if let Some(v) = y.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(ModelError::Input(format!("label {v} is not in [0, 1]")));
            }
        }
        Ok(())
    }

    /// x0 = [embeddings | dense] of rows `rows`, as one owned buffer (candle
    /// takes ownership without a copy).
    fn x0(&self, input: &Input, rows: &Range<usize>) -> Vec<f32> {
        let (e, k) = (self.dims.emb(), self.dims.n_dense);
        let emb = &input.emb[rows.start * e..rows.end * e];
        if k == 0 {
            return emb.to_vec();
        }
        let dense = &input.dense[rows.start * k..rows.end * k];
        let mut x = Vec::with_capacity(rows.len() * (e + k));
        for (er, dr) in emb.chunks_exact(e).zip(dense.chunks_exact(k)) {
            x.extend_from_slice(er);
            x.extend_from_slice(dr);
        }
        x
    }

    /// The forward pass of rows `rows` of the batch, given their `x0`, to
    /// their logits. Training passes x0 as a `Var` (its gradient is the
    /// embeddings'); inference as a plain tensor, so no graph is recorded.
    fn forward_rows(
        &self,
        tensors: &[Tensor],
        x0: &Tensor,
        rows: Range<usize>,
        batch: usize,
        dropout: Option<(f32, u64)>,
        input_grad: Option<InputGrad>,
    ) -> candle_core::Result<Tensor> {
        let mut ctx = Ctx {
            fused: self.fused,
            dropout,
            layer: 0,
            rows,
            batch,
            input_grad,
        };
        self.arch.forward(tensors, x0, &mut ctx)
    }

    /// The body of `Model::logits`.
    fn logits_on_pool(&self, input: &Input, out: &mut Vec<f32>) -> Result<(), ModelError> {
        self.check_input(input, None)?;
        out.clear();
        if input.batch == 0 {
            return Ok(());
        }
        let dev = &self.device;
        let tensors = self
            .params
            .iter()
            .map(|p| Tensor::from_slice(&p.data, (p.rows, p.cols), dev))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let shards = shards(input.batch);
        let gemm_threads = gemm_threads_per_shard(shards.len());
        let logits = shards
            .into_par_iter()
            .map(|rows| {
                with_gemm_threads(gemm_threads, || {
                    let x0 = Tensor::from_vec(
                        self.x0(input, &rows),
                        (rows.len(), self.dims.input()),
                        dev,
                    )?;
                    Ok(self.forward_rows(&tensors, &x0, rows, input.batch, None, None)?)
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        for l in &logits {
            ops::with_f32(l, |l| out.extend_from_slice(l))?;
        }
        Ok(())
    }
}

/// Rows below which a batch is not split (each shard's graph has a fixed
/// cost of a few microseconds per op).
const MIN_SHARD_ROWS: usize = 64;

/// The shards of a batch of `n` rows: its two halves (one when it is
/// small). Each shard's forward and backward is one task, so a step forks
/// twice (forward, backward) instead of at every op, which left the second
/// core mostly waking up (docs/performance.md). The split depends on `n`
/// alone, never on the thread count: the gradient, summed over the shards
/// in their order, is the same bits on any number of threads.
// One shard is one range (the whole batch), not the rows 0..n as a list.
#[allow(clippy::single_range_in_vec_init)]
fn shards(n: usize) -> Vec<Range<usize>> {
    if n < 2 * MIN_SHARD_ROWS {
        return vec![0..n];
    }
    let half = n.div_ceil(2);
    vec![0..half, half..n]
}

/// gemm threads for each of `n_shards` shards running at once: the pool's
/// threads divided among them, so two shards on two threads each make
/// their products on one core instead of each forking every product across
/// both (`super::gemm`). The thread count never changes a value.
fn gemm_threads_per_shard(n_shards: usize) -> usize {
    (rayon::current_num_threads() / n_shards.max(1)).max(1)
}

/// `buf`, (batch, width) row-major, split into the disjoint row blocks of
/// `shards` (contiguous and in order, as [`shards`] makes them).
fn shard_rows_mut<'a>(
    mut buf: &'a mut [f32],
    shards: &[Range<usize>],
    width: usize,
) -> Vec<&'a mut [f32]> {
    shards
        .iter()
        .map(|rows| {
            let (head, tail) = std::mem::take(&mut buf).split_at_mut(rows.len() * width);
            buf = tail;
            head
        })
        .collect()
}

/// Stable BCE with logits: loss = max(x, 0) - x y + ln(1 + e^-|x|), its mean
/// over the batch in f64, and dL/dx = (sigmoid(x) - y) / B.
fn bce(logits: &[f32], labels: &[f32]) -> (f64, Vec<f32>) {
    let n = logits.len() as f64;
    let mut total = 0.0;
    let mut g = Vec::with_capacity(logits.len());
    for (&x, &y) in logits.iter().zip(labels) {
        let (x, y) = (x as f64, y as f64);
        let e = (-x.abs()).exp();
        total += x.max(0.0) - x * y + e.ln_1p();
        let sig = if x >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        g.push(((sig - y) / n) as f32);
    }
    (total / n, g)
}

impl<A: Arch> Model for Net<A> {
    fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    fn params(&self) -> &[Param] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }

    fn forward_backward(
        &mut self,
        input: &Input,
        labels: &[f32],
        step_seed: u64,
        grads: &mut Grads,
    ) -> Result<f32, ModelError> {
        self.check_input(input, Some(labels))?;
        if input.batch == 0 {
            return Err(ModelError::Input("empty batch".into()));
        }
        let dev = &self.device;
        let vars = self
            .params
            .iter()
            .map(|p| Var::from_slice(&p.data, (p.rows, p.cols), dev))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let p = self.cfg.dropout_rate();
        let dropout = (p > 0.0).then_some((p, step_seed));
        let shards = shards(input.batch);
        let gemm_threads = gemm_threads_per_shard(shards.len());
        let forwards = shards
            .par_iter()
            .map(|rows| {
                with_gemm_threads(gemm_threads, || {
                    let x0 =
                        Var::from_vec(self.x0(input, rows), (rows.len(), self.dims.input()), dev)?;
                    let x0_grad = InputGrad::default();
                    let logits = self.forward_rows(
                        &tensors,
                        &x0,
                        rows.clone(),
                        input.batch,
                        dropout,
                        Some(x0_grad.clone()),
                    )?;
                    Ok((x0, x0_grad, logits))
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        self.train_logits.clear();
        for (_, _, l) in &forwards {
            ops::with_f32(l, |l| self.train_logits.extend_from_slice(l))?;
        }
        // The loss and its gradient over the whole batch (the mean's 1 / B).
        let (loss, g) = bce(&self.train_logits, labels);
        let fused = self.fused;
        // Each shard's backward copies its rows' embedding gradients (the
        // first `e` columns of x0's) into its own slice of grads.emb, on
        // its own thread: done serially after backward, this copy was 2% of
        // an epoch on the main thread (docs/performance.md).
        let (e, w) = (self.dims.emb(), self.dims.input());
        grads.emb.resize(input.batch * e, 0.0); // every value is written below
        let stores = forwards
            .par_iter()
            .zip(&shards)
            .zip(shard_rows_mut(&mut grads.emb, &shards, e))
            .map(|(((x0, x0_grad, logits), rows), emb)| {
                with_gemm_threads(gemm_threads, || {
                    let gs =
                        ops::seed_grad(logits, Arc::from(&g[rows.clone()]), fused)?.backward()?;
                    // x0's gradient: left outside the store by its one consumer
                    // (the MLP's first layer), or summed in the store.
                    match x0_grad.get().or_else(|| gs.get(x0.as_tensor())) {
                        // `+ 0.0` turns -0.0 into +0.0 and keeps every other
                        // value: the store's sum starts from +0.0, so both
                        // routes give the same bits.
                        Some(t) => ops::with_f32(t, |gx| {
                            for (dst, row) in emb.chunks_exact_mut(e).zip(gx.chunks_exact(w)) {
                                for (d, &v) in dst.iter_mut().zip(&row[..e]) {
                                    *d = v + 0.0;
                                }
                            }
                        })?,
                        None => emb.fill(0.0),
                    }
                    Ok(gs)
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;

        // Parameter gradients: the shards' sums, added in shard order.
        grads.params.resize_with(self.params.len(), Vec::new);
        for ((v, p), out) in vars.iter().zip(&self.params).zip(grads.params.iter_mut()) {
            let mut reached = false;
            for gs in &stores {
                if let Some(t) = gs.get(v.as_tensor()) {
                    ops::with_f32(t, |t| {
                        if reached {
                            out.iter_mut().zip(t).for_each(|(o, x)| *o += x);
                        } else {
                            out.clear();
                            out.extend_from_slice(t);
                        }
                    })?;
                    reached = true;
                }
            }
            if !reached {
                // A parameter the graph did not reach has a zero gradient.
                out.clear();
                out.resize(p.rows * p.cols, 0.0);
            }
        }
        Ok(loss as f32)
    }

    fn logits(&self, input: &Input, out: &mut Vec<f32>) -> Result<(), ModelError> {
        // On a pool worker, as a training step (Trainer::train_batch): the
        // fused ops' parallel loops then need no hand-off from this thread.
        rayon::scope(|_| self.logits_on_pool(input, out))
    }

    fn train_logits(&self) -> &[f32] {
        &self.train_logits
    }

    fn set_fused_ops(&mut self, fused: bool) {
        self.set_fused(fused);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bce_is_stable_and_matches_the_naive_form_where_that_is_exact() {
        let (l, g) = bce(&[0.3, -1.2], &[1.0, 0.0]);
        let s = |x: f64| 1.0 / (1.0 + (-x).exp());
        let naive = (-(s(0.3f32 as f64)).ln() - (1.0 - s(-1.2f32 as f64)).ln()) / 2.0;
        assert!((l - naive).abs() < 1e-12, "{l} vs {naive}");
        assert!((g[0] as f64 - (s(0.3f32 as f64) - 1.0) / 2.0).abs() < 1e-7);
        // Extreme logits: the naive form gives inf / NaN, the stable one x.
        let (l, g) = bce(&[200.0, -200.0], &[0.0, 1.0]);
        assert!((l - 200.0).abs() < 1e-9, "{l}");
        assert_eq!(g, vec![0.5, -0.5]);
    }
}
