//! The dense part of the CTR networks (docs/models.md): MLP, OPNN, DCN and logistic
//! regression, on candle.
//!
//! The embedding store (elsewhere) gathers each batch's embedding block and
//! scatters its gradient back; a model sees only that block (`Input::emb`)
//! and the dense features. Parameters are plain `Vec<f32>` owned here (the
//! optimizer updates them in place between steps); candle is a per-step
//! autodiff engine (see `net.rs`), with fused CPU ops for the element-wise
//! work (`ops.rs`).
//!
//! Files: `config` (the config section), `device` (`device = "cuda"`:
//! which candle device a network runs on), `net` (shared machinery), one file
//! per network, `ops` (custom candle ops), `alloc` (glibc malloc tuning),
//! `threads` (thread-count setup).

mod alloc;
mod config;
mod dcn;
mod device;
mod gemm;
mod lr;
mod mlp;
mod net;
mod opnn;
pub mod ops;
mod threads;

pub use alloc::tune_allocator;
pub use config::{ModelConfig, ModelKind};
pub use device::{DeviceSpec, DeviceSpecError};
pub use threads::{configure_threads, keep_pool_awake, spin_seconds, thread_cpu_nanos};

use candle_core::Device;

/// Errors of model construction and of a step.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An invalid config value (`key` is the config key).
    #[error("model.{key}: {msg}")]
    Config { key: &'static str, msg: String },
    /// Input slices of the wrong size or labels outside [0, 1].
    #[error("model input: {0}")]
    Input(String),
    /// The requested device is not available in this build or machine
    /// (the message names the device).
    #[error("{0}")]
    Device(String),
    /// An error inside candle (shapes, device, ...).
    #[error("candle")]
    Candle(#[from] candle_core::Error),
}

/// A dense parameter: a (rows, cols) row-major matrix. Weights are stored
/// (in, out), so a row holds one input unit's outgoing weights: an optimizer
/// group (docs/math.md). Biases are (1, out).
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

/// One batch as the model sees it.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub batch: usize,
    /// batch x (n_fields * embed_dim): sample-major, then field-major.
    pub emb: &'a [f32],
    /// batch x n_dense, row-major.
    pub dense: &'a [f32],
}

/// Gradients of one step; buffers are reused across steps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grads {
    /// One per parameter, same shape (row-major).
    pub params: Vec<Vec<f32>>,
    /// batch x (n_fields * embed_dim), the layout of `Input::emb`.
    pub emb: Vec<f32>,
}

/// A CTR network.
pub trait Model: Send {
    fn config(&self) -> &ModelConfig;
    fn params(&self) -> &[Param];
    fn params_mut(&mut self) -> &mut [Param];

    /// Training forward + backward (dropout on, seeded by `step_seed` so runs
    /// are reproducible): returns the mean BCE-with-logits loss over the
    /// batch; fills `grads` (resizing buffers as needed, reusing them across
    /// steps).
    fn forward_backward(
        &mut self,
        input: &Input,
        labels: &[f32],
        step_seed: u64,
        grads: &mut Grads,
    ) -> Result<f32, ModelError>;

    /// Inference (dropout off): writes `batch` logits into `out` (cleared
    /// first).
    fn logits(&self, input: &Input, out: &mut Vec<f32>) -> Result<(), ModelError>;

    /// The logits of the last `forward_backward` (with its dropout), e.g. for
    /// a training AUC without a second forward pass.
    fn train_logits(&self) -> &[f32];

    /// Use the fused custom ops (`true`, the default on CPU; ignored on other
    /// devices) or compose stock candle ops (`false`): same math, for
    /// cross-checking and diagnosis.
    fn set_fused_ops(&mut self, fused: bool);
}

/// Build the network of `cfg` for `n_fields` categorical fields and
/// `n_dense` dense features; dense weights are drawn from `seed`.
pub fn build(
    cfg: &ModelConfig,
    n_fields: usize,
    n_dense: usize,
    seed: u64,
    device: &Device,
) -> Result<Box<dyn Model>, ModelError> {
    cfg.check()?;
    if n_fields == 0 {
        return Err(ModelError::Config {
            key: "kind",
            msg: "the data has no categorical field".into(),
        });
    }
    let dims = net::Dims {
        n_fields,
        n_dense,
        dim: cfg.embed_dim,
    };
    Ok(match cfg.kind {
        ModelKind::Mlp => mlp::build(cfg, dims, seed, device),
        ModelKind::Opnn => opnn::build(cfg, dims, seed, device),
        ModelKind::Dcn => dcn::build(cfg, dims, seed, device),
        ModelKind::Lr => lr::build(cfg, dims, seed, device),
    })
}
