//! Gradient checks of every model's backward: dL/dparam for every parameter
//! element and dL/demb for every embedding input, on tiny instances with
//! dense features, random non-zero parameters and dropout off, through both
//! the fused CPU ops and the stock candle ops.
//!
//! Two numeric references:
//! 1. Central differences in f64 (eps 1e-6) of the loss of an independent
//!    f64 reference forward written from docs/models.md (tests/model_common): sharp,
//!    and no ReLU kink lies within 1e-6. That the model's own forward equals
//!    the reference is asserted in model_forward.rs.
//! 2. Central differences (eps 1e-3) of the loss implied by the model's own
//!    f32 inference forward: looser (f32 rounding), but needs no reference.

use crate::model_common;

use ctr_run::model::{build, Grads, Model, ModelKind};
use ctr_run::rng::SplitMix64;
use model_common::{eval_loss, ref_bce64, ref_forward, tiny, to_ref, Batch};

const N_FIELDS: usize = 3;
const N_DENSE: usize = 2;
const BATCH: usize = 5;

fn randomize(m: &mut dyn Model, seed: u64) {
    let mut r = SplitMix64::new(seed);
    for p in m.params_mut() {
        for v in &mut p.data {
            *v = (r.normal() * 0.5) as f32;
        }
    }
}

struct Case {
    m: Box<dyn Model>,
    b: Batch,
    g: Grads,
}

fn case(kind: ModelKind, fused: bool) -> Case {
    let cfg = tiny(kind);
    let mut m = build(&cfg, N_FIELDS, N_DENSE, 11, &candle_core::Device::Cpu).unwrap();
    m.set_fused_ops(fused);
    randomize(m.as_mut(), 5);
    let b = Batch::random(3, BATCH, N_FIELDS, cfg.embed_dim, N_DENSE, 0.7);
    let mut g = Grads::default();
    m.forward_backward(&b.input(), &b.labels, 1, &mut g)
        .unwrap();
    assert_eq!(g.params.len(), m.params().len());
    for (gp, p) in g.params.iter().zip(m.params()) {
        assert_eq!(gp.len(), p.rows * p.cols, "{}", p.name);
    }
    assert_eq!(g.emb.len(), b.emb.len());
    Case { m, b, g }
}

/// Every (param index or None for emb, element index) of a case.
fn coords(c: &Case) -> Vec<(Option<usize>, usize)> {
    let mut v = Vec::new();
    for (k, p) in c.m.params().iter().enumerate() {
        v.extend((0..p.data.len()).map(|j| (Some(k), j)));
    }
    v.extend((0..c.b.emb.len()).map(|j| (None, j)));
    v
}

fn name(c: &Case, at: (Option<usize>, usize)) -> String {
    match at {
        (Some(k), j) => format!("{}[{j}]", c.m.params()[k].name),
        (None, j) => format!("emb[{j}]"),
    }
}

fn analytic(c: &Case, at: (Option<usize>, usize)) -> f64 {
    match at {
        (Some(k), j) => c.g.params[k][j] as f64,
        (None, j) => c.g.emb[j] as f64,
    }
}

fn value(c: &Case, at: (Option<usize>, usize)) -> f32 {
    match at {
        (Some(k), j) => c.m.params()[k].data[j],
        (None, j) => c.b.emb[j],
    }
}

fn set(c: &mut Case, at: (Option<usize>, usize), v: f32) {
    match at {
        (Some(k), j) => c.m.params_mut()[k].data[j] = v,
        (None, j) => c.b.emb[j] = v,
    }
}

/// Check 1: f64 central differences of the reference loss.
fn check_f64(kind: ModelKind, fused: bool) {
    let c = case(kind, fused);
    let cfg = c.m.config().clone();
    let ps = to_ref(c.m.params());
    let emb: Vec<f64> = c.b.emb.iter().map(|&v| v as f64).collect();
    let dense: Vec<f64> = c.b.dense.iter().map(|&v| v as f64).collect();
    let loss = |ps: &[model_common::RefParam], emb: &[f64]| {
        ref_bce64(
            &ref_forward(&cfg, ps, emb, &dense, BATCH, N_FIELDS, N_DENSE),
            &c.b.labels,
        )
    };
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    let all = coords(&c);
    for &at in &all {
        let (mut p1, mut p2, mut e1, mut e2) = (ps.clone(), ps.clone(), emb.clone(), emb.clone());
        match at {
            (Some(k), j) => {
                p1[k].data[j] += h;
                p2[k].data[j] -= h;
            }
            (None, j) => {
                e1[j] += h;
                e2[j] -= h;
            }
        }
        let num = (loss(&p1, &e1) - loss(&p2, &e2)) / (2.0 * h);
        let an = analytic(&c, at);
        let err = (an - num).abs();
        // The backward runs in f32: ~1e-7 relative rounding per operation.
        assert!(
            err <= 1e-6 + 1e-4 * num.abs(),
            "{kind} fused={fused} {}: analytic {an} vs numeric {num}",
            name(&c, at)
        );
        worst = worst.max(err);
    }
    println!(
        "{kind} fused={fused}: {} gradients vs f64 differences, max error {worst:.2e}",
        all.len()
    );
}

/// Check 2: differences of the model's own f32 forward.
fn check_own(kind: ModelKind, fused: bool) {
    let mut c = case(kind, fused);
    const EPS: f32 = 1e-3;
    let mut worst: f64 = 0.0;
    let all = coords(&c);
    for &at in &all {
        let orig = value(&c, at);
        set(&mut c, at, orig + EPS);
        let up = eval_loss(c.m.as_ref(), &c.b);
        set(&mut c, at, orig - EPS);
        let down = eval_loss(c.m.as_ref(), &c.b);
        set(&mut c, at, orig);
        let num = (up - down) / (2.0 * EPS as f64);
        let an = analytic(&c, at);
        let err = (an - num).abs();
        // f32 logits round at ~1e-7; divided by 2 eps that is ~1e-4 at most.
        assert!(
            err <= 2e-4 + 1e-3 * num.abs(),
            "{kind} fused={fused} {}: analytic {an} vs numeric {num}",
            name(&c, at)
        );
        worst = worst.max(err);
    }
    println!(
        "{kind} fused={fused}: {} gradients vs own-forward differences, max error {worst:.2e}",
        all.len()
    );
}

fn check(kind: ModelKind) {
    for fused in [true, false] {
        check_f64(kind, fused);
        check_own(kind, fused);
    }
}

#[test]
fn mlp_gradients_match_finite_differences() {
    check(ModelKind::Mlp);
}

#[test]
fn opnn_gradients_match_finite_differences() {
    check(ModelKind::Opnn);
}

#[test]
fn dcn_gradients_match_finite_differences() {
    check(ModelKind::Dcn);
}

#[test]
fn lr_gradients_match_finite_differences() {
    check(ModelKind::Lr);
}
