//! Shared helpers of the model tests: random inputs, an independent stable
//! BCE, and reference forward passes in f64 written from docs/models.md and the
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
    pub fn random(
        seed: u64,
        batch: usize,
        n_fields: usize,
        dim: usize,
        n_dense: usize,
        scale: f64,
    ) -> Self {
        let mut r = SplitMix64::new(seed);
        let emb = (0..batch * n_fields * dim)
            .map(|_| (r.normal() * scale) as f32)
            .collect();
        let dense = (0..batch * n_dense).map(|_| r.next_f32()).collect();
        let labels = (0..batch).map(|i| (i % 2) as f32).collect();
        Batch {
            batch,
            emb,
            dense,
            labels,
        }
    }

    pub fn input(&self) -> Input<'_> {
        Input {
            batch: self.batch,
            emb: &self.emb,
            dense: &self.dense,
        }
    }
}

/// Mean BCE with logits in f64, stable form: log(1 + e^x) - x y computed
/// as softplus via the larger branch.
pub fn ref_bce(logits: &[f32], labels: &[f32]) -> f64 {
    let mut s = 0.0;
    for (&x, &y) in logits.iter().zip(labels) {
        let (x, y) = (x as f64, y as f64);
        let softplus = if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        };
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

/// A parameter in f64 (name, rows, cols, row-major data).
#[derive(Clone, Debug)]
pub struct RefParam {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

pub fn to_ref(ps: &[Param]) -> Vec<RefParam> {
    ps.iter()
        .map(|p| RefParam {
            name: p.name.clone(),
            rows: p.rows,
            cols: p.cols,
            data: p.data.iter().map(|&v| v as f64).collect(),
        })
        .collect()
}

/// y = x W + b (b optional), x (n) row vector, W (n, m).
fn affine(x: &[f64], w: &RefParam, b: Option<&RefParam>) -> Vec<f64> {
    assert_eq!(x.len(), w.rows, "{}", w.name);
    let mut y: Vec<f64> = match b {
        Some(b) => b.data.clone(),
        None => vec![0.0; w.cols],
    };
    for (i, xi) in x.iter().enumerate() {
        for (j, yj) in y.iter_mut().enumerate() {
            *yj += xi * w.data[i * w.cols + j];
        }
    }
    y
}

fn relu(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x.max(0.0)).collect()
}

fn by_name<'a>(ps: &'a [RefParam], name: &str) -> &'a RefParam {
    ps.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no param {name}"))
}

/// Reference logits (dropout off) in f64 of the network `cfg` with
/// parameters `ps`, for `batch` samples of `emb` / `dense`.
pub fn ref_forward(
    cfg: &ModelConfig,
    ps: &[RefParam],
    emb: &[f64],
    dense: &[f64],
    batch: usize,
    n_fields: usize,
    n_dense: usize,
) -> Vec<f64> {
    ref_forward_masked(cfg, ps, emb, dense, batch, n_fields, n_dense, &[])
}

/// As `ref_forward`, with dropout: `masks[l]` (batch x width of hidden
/// layer l, row-major) multiplies hidden layer l's ReLU output.
#[allow(clippy::too_many_arguments)]
pub fn ref_forward_masked(
    cfg: &ModelConfig,
    ps: &[RefParam],
    emb: &[f64],
    dense: &[f64],
    batch: usize,
    n_fields: usize,
    n_dense: usize,
    masks: &[Vec<f32>],
) -> Vec<f64> {
    let d = cfg.embed_dim;
    let drop = |l: usize, i: usize, h: Vec<f64>| -> Vec<f64> {
        match masks.get(l) {
            Some(m) => h
                .iter()
                .enumerate()
                .map(|(j, v)| v * m[i * h.len() + j] as f64)
                .collect(),
            None => h,
        }
    };
    let hidden = cfg
        .hidden
        .clone()
        .unwrap_or_else(|| cfg.kind.paper_hidden().to_vec());
    // Hidden layers `from..` of a tower (`mlp.h`, `opnn.h`, `dcn.deep`) on
    // row i: ReLU(h W + b), then its dropout mask.
    let tower = |mut h: Vec<f64>, i: usize, from: usize, prefix: &str| {
        for l in from..hidden.len() {
            let w = by_name(ps, &format!("{prefix}{l}.w"));
            let b = by_name(ps, &format!("{prefix}{l}.b"));
            h = drop(l, i, relu(affine(&h, w, Some(b))));
        }
        h
    };
    (0..batch)
        .map(|i| {
            let emb = &emb[i * n_fields * d..(i + 1) * n_fields * d];
            let dense = &dense[i * n_dense..(i + 1) * n_dense];
            let x0: Vec<f64> = emb.iter().chain(dense).copied().collect();
            match cfg.kind {
                ModelKind::Lr => {
                    let mut s = emb.iter().sum::<f64>() + by_name(ps, "lr.b").data[0];
                    if n_dense > 0 {
                        s += affine(dense, by_name(ps, "lr.dense.w"), None)[0];
                    }
                    s
                }
                ModelKind::Mlp => {
                    let h = tower(x0, i, 0, "mlp.h");
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
                    let lz = affine(
                        &x0,
                        by_name(ps, "opnn.l1.w_z"),
                        Some(by_name(ps, "opnn.l1.b")),
                    );
                    let lp = affine(&p, by_name(ps, "opnn.l1.w_p"), None);
                    let h = drop(0, i, relu(lz.iter().zip(&lp).map(|(a, b)| a + b).collect()));
                    let h = tower(h, i, 1, "opnn.h");
                    affine(
                        &h,
                        by_name(ps, "opnn.out.w"),
                        Some(by_name(ps, "opnn.out.b")),
                    )[0]
                }
                ModelKind::Dcn => {
                    let mut xl = x0.clone();
                    for l in 0..cfg.cross_layers {
                        let w = &by_name(ps, &format!("dcn.cross{l}.w")).data;
                        let bb = &by_name(ps, &format!("dcn.cross{l}.b")).data;
                        let s: f64 = xl.iter().zip(w).map(|(a, b)| a * b).sum();
                        xl = (0..x0.len()).map(|j| x0[j] * s + bb[j] + xl[j]).collect();
                    }
                    let h = tower(x0.clone(), i, 0, "dcn.deep");
                    let cat: Vec<f64> = if hidden.is_empty() {
                        xl
                    } else {
                        xl.into_iter().chain(h).collect()
                    };
                    affine(
                        &cat,
                        by_name(ps, "dcn.out.w"),
                        Some(by_name(ps, "dcn.out.b")),
                    )[0]
                }
            }
        })
        .collect()
}

/// Reference logits of model `m` for batch `b`.
pub fn ref_logits(m: &dyn Model, b: &Batch, n_fields: usize, n_dense: usize) -> Vec<f64> {
    let emb: Vec<f64> = b.emb.iter().map(|&v| v as f64).collect();
    let dense: Vec<f64> = b.dense.iter().map(|&v| v as f64).collect();
    ref_forward(
        m.config(),
        &to_ref(m.params()),
        &emb,
        &dense,
        b.batch,
        n_fields,
        n_dense,
    )
}

/// Mean BCE in f64 of f64 logits (same stable form as `ref_bce`).
pub fn ref_bce64(logits: &[f64], labels: &[f32]) -> f64 {
    let mut s = 0.0;
    for (&x, &y) in logits.iter().zip(labels) {
        let softplus = if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        };
        s += softplus - x * y as f64;
    }
    s / logits.len() as f64
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
