//! MLP (Avazu, docs/models.md): x0 = [field embeddings | dense features] ->
//! hidden ReLU layers (paper: 64, 32, 16) -> 1 logit.
//!
//! Parameters, in order: for each hidden layer i (from 0) `mlp.h{i}.w`
//! (in, out) and `mlp.h{i}.b` (1, out); then `mlp.out.w` (last, 1) and
//! `mlp.out.b` (1, 1).

use candle_core::{Device, Tensor};

use super::net::{Arch, Ctx, Dims, Net, ParamInit};
use super::{Model, ModelConfig};

struct Mlp {
    n_hidden: usize,
}

impl Arch for Mlp {
    fn forward(&self, p: &[Tensor], x0: &Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let mut h = x0.clone();
        for i in 0..self.n_hidden {
            // x0 has no other reader: its gradient can skip candle's store.
            h = if i == 0 {
                ctx.input_hidden(&h, &p[0], &p[1])?
            } else {
                ctx.hidden(&h, &p[2 * i], &p[2 * i + 1])?
            };
        }
        let k = 2 * self.n_hidden;
        ctx.linear(&h, &p[k], &p[k + 1])
    }
}

pub(super) fn build(cfg: &ModelConfig, dims: Dims, seed: u64, device: &Device) -> Box<dyn Model> {
    let mut init = ParamInit::new(seed);
    let mut width = dims.input();
    for (i, &h) in cfg.hidden_sizes().iter().enumerate() {
        init.weight(format!("mlp.h{i}.w"), width, h);
        init.bias(format!("mlp.h{i}.b"), h);
        width = h;
    }
    init.weight("mlp.out.w".into(), width, 1);
    init.bias("mlp.out.b".into(), 1);
    let arch = Mlp {
        n_hidden: cfg.hidden_sizes().len(),
    };
    Box::new(Net::new(arch, cfg.clone(), dims, init.params, device))
}
