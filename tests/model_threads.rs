//! One and two gemm threads give bit-identical steps (issue 4, item 5):
//! gemm splits its output into tiles per thread but sums every output over
//! k in the same order, and the fused ops split rows (and column sums by
//! columns) so that every value is still summed in one fixed order.
//!
//! Alone in its own test binary because it flips RAYON_NUM_THREADS, which
//! candle reads before every matmul.

#[path = "suite/model_common.rs"]
mod model_common;

use candle_core::Device;
use ctr_run::model::{build, Grads, ModelConfig, ModelKind};
use model_common::Batch;

#[test]
fn one_and_two_threads_give_identical_steps() {
    for kind in ModelKind::ALL {
        let cfg = ModelConfig::default_for(kind);
        let (f, k) = match kind {
            ModelKind::Dcn => (26, 13),
            ModelKind::Opnn => (16, 0),
            _ => (22, 0),
        };
        let b = Batch::random(4, 512, f, cfg.embed_dim, k, 0.1);
        let run = |threads: &str| {
            std::env::set_var("RAYON_NUM_THREADS", threads);
            let mut m = build(&cfg, f, k, 3, &Device::Cpu).unwrap();
            let mut g = Grads::default();
            let loss = m
                .forward_backward(&b.input(), &b.labels, 5, &mut g)
                .unwrap();
            let mut out = Vec::new();
            m.logits(&b.input(), &mut out).unwrap();
            (loss.to_bits(), g, out)
        };
        let one = run("1");
        let two = run("2");
        assert_eq!(one.0, two.0, "{kind}: loss");
        assert_eq!(one.2, two.2, "{kind}: logits");
        assert_eq!(one.1, two.1, "{kind}: gradients");
    }
}
