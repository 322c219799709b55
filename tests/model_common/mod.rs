//! Shared helpers of the model tests: random inputs, an independent stable
//! BCE, and reference forward passes in f64 written from SPEC 4 and the
//! parameter layouts documented in `src/model/*.rs` (no code shared with
//! the library).
#![allow(dead_code)]

use ctr_run::model::{Input, Model, ModelConfig, ModelKind, Param};
use ctr_run::rng::SplitMix64;

/// A batch of random inputs with owned buffers.
pub struct Batch {
    pub batch: usize,
    pub emb: Vec<f32>,
    pub dense: Vec<f32>,
    pub labels: Vec<f32>,
}

impl Batch {
    pub fn random(seed: u64, batch: usize, n_fields: usize, dim: usize, n_dense: usize, scale: f64) -> Self {
        let mut r = SplitMix64::new(seed);
        let emb = (0..batch * n_fields * dim).map(|_| (r.normal() * scale) as f32).collect();
        let dense = (0..batch * n_dense).map(|_| r.next_f32()).collect();
        let labels = (0..batch).map(|i| (i % 2) as f32).collect();
        Batch { batch, emb, dense, labels }
    }

    pub fn input(&self) -> Input<'_> {
        Input { batch: self.batch, emb: &self.emb, dense: &self.dense }
    }
}

/// Mean BCE with logits in f64, stable form: log(1 + e^x) - x y computed
/// as softplus via the larger branch.
pub fn ref_bce(logits: &[f32], labels: &[f32]) -> f64 {
    let mut s = 0.0;
    for (&x, &y) in logits.iter().zip(labels) {
        let (x, y) = (x as f64, y as f64);
        let softplus = if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() };
        s += softplus - x * y;
    }
    s / logits.len() as f64
}

/// The loss the model's inference forward implies, in f64.
pub fn eval_loss(m: &dyn Model, b: &Batch) -> f64 {
    let mut out = Vec::new();
    m.logits(&b.input(), &mut out).unwrap();
    ref_bce(&out, &b.labels)
}

fn mat(p: &Param) -> (usize, usize, Vec<f64>) {
    (p.rows, p.cols, p.data.iter().map(|&v| v as f64).collect())
}

/// y = x W + b (b optional), x (n) row vector, W (n, m).
fn affine(x: &[f64], w: &Param, b: Option<&Param>) -> Vec<f64> {
    let (rows, cols, wd) = mat(w);
    assert_eq!(x.len(), rows, "{}", w.name);
    let mut y: Vec<f64> = match b {
        Some(b) => b.data.iter().map(|&v| v as f64).collect(),
        None => vec![0.0; cols],
    };
    for (i, xi) in x.iter().enumerate() {
        for (j, yj) in y.iter_mut().enumerate() {
            *yj += xi * wd[i * cols + j];
        }
    }
    y
}

fn relu(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x.max(0.0)).collect()
}

fn by_name<'a>(ps: &'a [Param], name: &str) -> &'a Param {
    ps.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no param {name}"))
}

/// Reference logits of `m` for batch `b` (dropout off), in f64.
pub fn ref_logits(m: &dyn Model, b: &Batch, n_fields: usize, n_dense: usize) -> Vec<f64> {
    let cfg: &ModelConfig = m.config();
    let d = cfg.embed_dim;
    let ps = m.params();
    let hidden = cfg.hidden.clone().unwrap_or_else(|| cfg.kind.paper_hidden().to_vec());
    (0..b.batch)
        .map(|i| {
            let emb: Vec<f64> = b.emb[i * n_fields * d..(i + 1) * n_fields * d].iter().map(|&v| v as f64).collect();
            let dense: Vec<f64> = b.dense[i * n_dense..(i + 1) * n_dense].iter().map(|&v| v as f64).collect();
            let x0: Vec<f64> = emb.iter().chain(&dense).copied().collect();
            match cfg.kind {
                ModelKind::Lr => {
                    let mut s = emb.iter().sum::<f64>() + by_name(ps, "lr.b").data[0] as f64;
                    if n_dense > 0 {
                        s += affine(&dense, by_name(ps, "lr.dense.w"), None)[0];
                    }
                    s
                }
                ModelKind::Mlp => {
                    let mut h = x0;
                    for l in 0..hidden.len() {
                        h = relu(affine(&h, by_name(ps, &format!("mlp.h{l}.w")), Some(by_name(ps, &format!("mlp.h{l}.b")))));
                    }
                    affine(&h, by_name(ps, "mlp.out.w"), Some(by_name(ps, "mlp.out.b")))[0]
                }
                ModelKind::Opnn => {
                    let mut f = vec![0.0; d];
                    for fl in 0..n_fields {
                        for a in 0..d {
                            f[a] += emb[fl * d + a];
                        }
                    }
                    let p: Vec<f64> = (0..d * d).map(|k| f[k / d] * f[k % d]).collect();
                    let lz = affine(&x0, by_name(ps, "opnn.l1.w_z"), Some(by_name(ps, "opnn.l1.b")));
                    let lp = affine(&p, by_name(ps, "opnn.l1.w_p"), None);
                    let mut h = relu(lz.iter().zip(&lp).map(|(a, b)| a + b).collect());
                    for l in 1..hidden.len() {
                        h = relu(affine(&h, by_name(ps, &format!("opnn.h{l}.w")), Some(by_name(ps, &format!("opnn.h{l}.b")))));
                    }
                    affine(&h, by_name(ps, "opnn.out.w"), Some(by_name(ps, "opnn.out.b")))[0]
                }
                ModelKind::Dcn => {
                    let mut xl = x0.clone();
                    for l in 0..cfg.cross_layers {
                        let w: Vec<f64> = by_name(ps, &format!("dcn.cross{l}.w")).data.iter().map(|&v| v as f64).collect();
                        let bb = by_name(ps, &format!("dcn.cross{l}.b"));
                        let s: f64 = xl.iter().zip(&w).map(|(a, b)| a * b).sum();
                        xl = (0..x0.len()).map(|j| x0[j] * s + bb.data[j] as f64 + xl[j]).collect();
                    }
                    let mut h = x0.clone();
                    for l in 0..hidden.len() {
                        h = relu(affine(&h, by_name(ps, &format!("dcn.deep{l}.w")), Some(by_name(ps, &format!("dcn.deep{l}.b")))));
                    }
                    let cat: Vec<f64> = if hidden.is_empty() { xl } else { xl.into_iter().chain(h).collect() };
                    affine(&cat, by_name(ps, "dcn.out.w"), Some(by_name(ps, "dcn.out.b")))[0]
                }
            }
        })
        .collect()
}

/// A tiny config of each kind for gradient checks (dropout off).
pub fn tiny(kind: ModelKind) -> ModelConfig {
    let mut c = ModelConfig::default_for(kind);
    match kind {
        ModelKind::Mlp => {
            c.embed_dim = 3;
            c.hidden = Some(vec![6, 5, 4]);
        }
        ModelKind::Opnn => {
            c.embed_dim = 3;
            c.hidden = Some(vec![6, 5, 4]);
        }
        ModelKind::Dcn => {
            c.embed_dim = 3;
            c.hidden = Some(vec![5, 4]);
        }
        ModelKind::Lr => {}
    }
    c.dropout = Some(0.0);
    c
}
