//! Gradient checks: every model's backward (dL/dparam for every parameter
//! element and dL/demb for every embedding input) against central finite
//! differences of the loss its own inference forward implies, computed in
//! f64 from the f32 logits. Tiny instances with dense features, random
//! non-zero parameters, dropout off; run through both the fused CPU ops and
//! the stock candle ops.

mod model_common;

use ctr_run::model::{build, Grads, Model, ModelKind};
use ctr_run::rng::SplitMix64;
use model_common::{eval_loss, tiny, Batch};

const N_FIELDS: usize = 3;
const N_DENSE: usize = 2;
const BATCH: usize = 5;

/// Step for the central differences. The model computes in f32, so the
/// loss carries ~1e-7 relative rounding: eps = 1e-2 keeps that below
/// ~1e-5 in the quotient while the O(eps^2) truncation stays ~1e-5 too.
const EPS: f32 = 1e-2;

fn randomize(m: &mut dyn Model, seed: u64) {
    let mut r = SplitMix64::new(seed);
    for p in m.params_mut() {
        for v in &mut p.data {
            *v = (r.normal() * 0.5) as f32;
        }
    }
}

/// Central difference of the loss w.r.t. one value reached through `get`.
fn fd(m: &mut dyn Model, b: &mut Batch, at: (Option<usize>, usize)) -> f64 {
    let mut set = |m: &mut dyn Model, b: &mut Batch, delta: f32| match at {
        (Some(k), j) => m.params_mut()[k].data[j] += delta,
        (None, j) => b.emb[j] += delta,
    };
    let orig = match at {
        (Some(k), j) => m.params()[k].data[j],
        (None, j) => b.emb[j],
    };
    set(m, b, EPS);
    let up = eval_loss(m, b);
    let restore = |m: &mut dyn Model, b: &mut Batch| match at {
        (Some(k), j) => m.params_mut()[k].data[j] = orig,
        (None, j) => b.emb[j] = orig,
    };
    restore(m, b);
    set(m, b, -EPS);
    let down = eval_loss(m, b);
    restore(m, b);
    (up - down) / (2.0 * EPS as f64)
}

/// Checks every gradient; returns the largest |analytic - numeric|.
fn check(kind: ModelKind, fused: bool) -> f64 {
    let cfg = tiny(kind);
    let mut m = build(&cfg, N_FIELDS, N_DENSE, 11, &candle_core::Device::Cpu).unwrap();
    m.set_fused_ops(fused);
    randomize(m.as_mut(), 5);
    let mut b = Batch::random(3, BATCH, N_FIELDS, cfg.embed_dim, N_DENSE, 0.7);
    let mut g = Grads::default();
    m.forward_backward(&b.input(), &b.labels.clone(), 1, &mut g).unwrap();
    assert_eq!(g.params.len(), m.params().len());
    assert_eq!(g.emb.len(), b.emb.len());

    let mut worst: f64 = 0.0;
    let mut n_checked = 0;
    let mut cmp = |name: &str, an: f32, num: f64| {
        let err = (an as f64 - num).abs();
        // Numeric error ~1e-5 (see EPS); a wrong gradient is off by O(|g|).
        assert!(err <= 2e-4 + 1e-3 * num.abs(), "{kind} fused={fused} {name}: analytic {an} vs numeric {num}");
        worst = worst.max(err);
        n_checked += 1;
    };
    for k in 0..m.params().len() {
        let name = m.params()[k].name.clone();
        for j in 0..m.params()[k].data.len() {
            let num = fd(m.as_mut(), &mut b, (Some(k), j));
            cmp(&format!("{name}[{j}]"), g.params[k][j], num);
        }
    }
    for j in 0..b.emb.len() {
        let num = fd(m.as_mut(), &mut b, (None, j));
        cmp(&format!("emb[{j}]"), g.emb[j], num);
    }
    println!("{kind} fused={fused}: {n_checked} gradients, max |analytic - numeric| = {worst:.2e}");
    worst
}

#[test]
fn mlp_gradients_match_finite_differences() {
    check(ModelKind::Mlp, true);
    check(ModelKind::Mlp, false);
}

#[test]
fn opnn_gradients_match_finite_differences() {
    check(ModelKind::Opnn, true);
    check(ModelKind::Opnn, false);
}

#[test]
fn dcn_gradients_match_finite_differences() {
    check(ModelKind::Dcn, true);
    check(ModelKind::Dcn, false);
}

#[test]
fn lr_gradients_match_finite_differences() {
    check(ModelKind::Lr, true);
    check(ModelKind::Lr, false);
}
