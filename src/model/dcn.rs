//! DCN (Criteo, docs/models.md; Wang et al., Deep & Cross Network): x0 =
//! [field embeddings | dense features]; cross layers
//! x_{l+1} = x0 (x_l . w_l) + b_l + x_l (paper: 2); a deep part of ReLU
//! layers over x0 (paper: 64, 64); the logit is a linear layer over
//! [cross output | deep output].
//!
//! Parameters, in order: for each cross layer l `dcn.cross{l}.w` (D, 1) and
//! `dcn.cross{l}.b` (1, D) (D = width of x0); for each deep layer i
//! `dcn.deep{i}.w`, `dcn.deep{i}.b`; then `dcn.out.w` (D + last deep, 1)
//! and `dcn.out.b` (1, 1). Cross weights are Glorot over (D, 1), as
//! TensorFlow's DCN; biases start at zero.

use candle_core::{Device, Tensor};

use super::net::{Arch, Ctx, Dims, Net, ParamInit};
use super::ops;
use super::{Model, ModelConfig};

struct Dcn {
    width: usize,
    n_cross: usize,
    n_deep: usize,
}

impl Arch for Dcn {
    fn forward(&self, p: &[Tensor], x0: &Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let mut xl = x0.clone();
        for l in 0..self.n_cross {
            let c = ops::cross(x0, &xl, &p[2 * l], ctx.fused)?;
            xl = ops::bias_act(&c, &p[2 * l + 1], false, None, ctx.fused)?;
        }
        let mut h = x0.clone();
        let k = 2 * self.n_cross;
        for i in 0..self.n_deep {
            h = ctx.hidden(&h, &p[k + 2 * i], &p[k + 2 * i + 1])?;
        }
        let (w, b) = (&p[k + 2 * self.n_deep], &p[k + 2 * self.n_deep + 1]);
        if self.n_deep == 0 {
            return ctx.linear(&xl, w, b);
        }
        // [xl | h] w = xl w[..D] + h w[D..]: narrowing the small weight
        // instead of concatenating the (batch, D + H) activations.
        let wc = w.narrow(0, 0, self.width)?;
        let wd = w.narrow(0, self.width, h.dim(1)?)?;
        let zc = ops::matmul(&xl, &wc, ctx.fused)?;
        let zd = ops::matmul(&h, &wd, ctx.fused)?;
        ops::bias_act2(&zc, &zd, b, false, None, ctx.fused)
    }
}

pub(super) fn build(cfg: &ModelConfig, dims: Dims, seed: u64, device: &Device) -> Box<dyn Model> {
    let d = dims.input();
    let mut init = ParamInit::new(seed);
    for l in 0..cfg.cross_layers {
        init.weight(format!("dcn.cross{l}.w"), d, 1);
        init.bias(format!("dcn.cross{l}.b"), d);
    }
    let mut width = d;
    for (i, &h) in cfg.hidden_sizes().iter().enumerate() {
        init.weight(format!("dcn.deep{i}.w"), width, h);
        init.bias(format!("dcn.deep{i}.b"), h);
        width = h;
    }
    let out_in = if cfg.hidden_sizes().is_empty() {
        d
    } else {
        d + width
    };
    init.weight("dcn.out.w".into(), out_in, 1);
    init.bias("dcn.out.b".into(), 1);
    let arch = Dcn {
        width: d,
        n_cross: cfg.cross_layers,
        n_deep: cfg.hidden_sizes().len(),
    };
    Box::new(Net::new(arch, cfg.clone(), dims, init.params, device))
}
