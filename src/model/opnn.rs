//! OPNN (iPinYou, docs/models.md; Qu et al., PNN): the product layer's linear
//! signal z = x0 = [field embeddings | dense features] and its quadratic
//! signal p = f f^T with f the sum of the field embeddings (the PNN paper's
//! sum-pooled outer product, d x d instead of N^2 d x d);
//! l1 = relu(z W_z + vec(p) W_p + b) is the first hidden layer (paper: 512
//! wide), then the other hidden ReLU layers (256, 128) and 1 logit. Dropout
//! (paper: 0.5) follows every hidden ReLU during training, as in the PNN
//! code.
//!
//! Parameters, in order: `opnn.l1.w_z` (in, h0), `opnn.l1.w_p` (d*d, h0),
//! `opnn.l1.b` (1, h0); for each further hidden layer i (from 1)
//! `opnn.h{i}.w`, `opnn.h{i}.b`; then `opnn.out.w` (last, 1), `opnn.out.b`.
//! W_z and W_p feed the same units, so both are Glorot-initialized with the
//! fan-in of the whole l1 input (in + d*d).

use candle_core::{Device, Tensor};

use super::net::{Arch, Ctx, Dims, Net, ParamInit};
use super::ops;
use super::{Model, ModelConfig};

struct Opnn {
    dims: Dims,
    n_hidden: usize,
}

impl Arch for Opnn {
    fn forward(&self, p: &[Tensor], x0: &Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let (f, d) = (self.dims.n_fields, self.dims.dim);
        let z = ops::product_layer(x0, &p[0], &p[1], f, d, ctx.fused)?;
        let mut h = ctx.relu_layer(&z, &p[2])?;
        for i in 1..self.n_hidden {
            h = ctx.hidden(&h, &p[1 + 2 * i], &p[2 + 2 * i])?;
        }
        let k = 1 + 2 * self.n_hidden;
        ctx.linear(&h, &p[k], &p[k + 1])
    }
}

pub(super) fn build(cfg: &ModelConfig, dims: Dims, seed: u64, device: &Device) -> Box<dyn Model> {
    let hidden = cfg.hidden_sizes();
    let mut init = ParamInit::new(seed);
    let (z, q, h0) = (dims.input(), dims.dim * dims.dim, hidden[0]);
    init.glorot("opnn.l1.w_z".into(), z, h0, z + q, h0);
    init.glorot("opnn.l1.w_p".into(), q, h0, z + q, h0);
    init.bias("opnn.l1.b".into(), h0);
    let mut width = h0;
    for (i, &h) in hidden.iter().enumerate().skip(1) {
        init.weight(format!("opnn.h{i}.w"), width, h);
        init.bias(format!("opnn.h{i}.b"), h);
        width = h;
    }
    init.weight("opnn.out.w".into(), width, 1);
    init.bias("opnn.out.b".into(), 1);
    let arch = Opnn {
        dims,
        n_hidden: hidden.len(),
    };
    Box::new(Net::new(arch, cfg.clone(), dims, init.params, device))
}
