//! Logistic regression (the classic FTRL baseline): with 1-d embeddings the
//! logit is the sum of the sample's field weights, plus a linear term over
//! the dense features (if any), plus a bias.
//!
//! Parameters, in order: `lr.b` (1, 1); then `lr.dense.w` (n_dense, 1) when
//! n_dense > 0. Both start at zero, as FTRL's weights do.

use candle_core::{Device, Tensor};

use super::net::{Arch, Ctx, Dims, Net, ParamInit};
use super::{Model, ModelConfig};

struct Lr {
    n_fields: usize,
    n_dense: usize,
}

impl Arch for Lr {
    fn forward(&self, p: &[Tensor], x0: &Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        // x0 (B, F + K) times [1 ... 1 | w_dense]: the ones sum the field
        // weights and are constants, so only w_dense gets a gradient.
        let ones = Tensor::ones((self.n_fields, 1), x0.dtype(), x0.device())?;
        let v = if self.n_dense > 0 {
            Tensor::cat(&[&ones, &p[1]], 0)?
        } else {
            ones
        };
        ctx.linear(x0, &v, &p[0])
    }
}

pub(super) fn build(cfg: &ModelConfig, dims: Dims, seed: u64, device: &Device) -> Box<dyn Model> {
    let mut init = ParamInit::new(seed);
    init.bias("lr.b".into(), 1);
    if dims.n_dense > 0 {
        // Zero, not Glorot: LR starts from zero like FTRL (docs/math.md).
        init.params.push(super::Param {
            name: "lr.dense.w".into(),
            rows: dims.n_dense,
            cols: 1,
            data: vec![0.0; dims.n_dense],
        });
    }
    let arch = Lr {
        n_fields: dims.n_fields,
        n_dense: dims.n_dense,
    };
    Box::new(Net::new(arch, cfg.clone(), dims, init.params, device))
}
