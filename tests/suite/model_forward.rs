//! Forward passes, loss, dropout, determinism and input validation of the
//! models, against independent references (tests/model_common).

use crate::model_common;

use candle_core::Device;
use ctr_run::model::ops;
use ctr_run::model::{build, Grads, Model, ModelConfig, ModelError, ModelKind};
use model_common::{
    eval_loss, ref_bce, ref_bce64, ref_forward_masked, ref_logits, tiny, to_ref, Batch, RefParam,
};

/// The paper-size instance of each kind (docs/models.md / ModelConfig::default_for):
/// (config, n_fields, n_dense) as for Avazu, iPinYou, Criteo.
fn paper(kind: ModelKind) -> (ModelConfig, usize, usize) {
    let c = ModelConfig::default_for(kind);
    match kind {
        ModelKind::Mlp => (c, 22, 0),
        ModelKind::Opnn => (c, 16, 0),
        ModelKind::Dcn => (c, 26, 13),
        ModelKind::Lr => (c, 22, 3),
    }
}

fn model(cfg: &ModelConfig, f: usize, k: usize, seed: u64) -> Box<dyn Model> {
    build(cfg, f, k, seed, &Device::Cpu).unwrap()
}

#[test]
fn paper_sizes_have_the_documented_parameter_shapes() {
    let shapes = |kind| {
        let (c, f, k) = paper(kind);
        let m = model(&c, f, k, 1);
        m.params()
            .iter()
            .map(|p| (p.name.clone(), p.rows, p.cols))
            .collect::<Vec<_>>()
    };
    let s = |n: &str, r, c| (n.to_string(), r, c);
    assert_eq!(
        shapes(ModelKind::Mlp),
        vec![
            s("mlp.h0.w", 22 * 16, 64),
            s("mlp.h0.b", 1, 64),
            s("mlp.h1.w", 64, 32),
            s("mlp.h1.b", 1, 32),
            s("mlp.h2.w", 32, 16),
            s("mlp.h2.b", 1, 16),
            s("mlp.out.w", 16, 1),
            s("mlp.out.b", 1, 1),
        ]
    );
    assert_eq!(
        shapes(ModelKind::Opnn),
        vec![
            s("opnn.l1.w_z", 160, 512),
            s("opnn.l1.w_p", 100, 512),
            s("opnn.l1.b", 1, 512),
            s("opnn.h1.w", 512, 256),
            s("opnn.h1.b", 1, 256),
            s("opnn.h2.w", 256, 128),
            s("opnn.h2.b", 1, 128),
            s("opnn.out.w", 128, 1),
            s("opnn.out.b", 1, 1),
        ]
    );
    let d = 26 * 8 + 13;
    assert_eq!(
        shapes(ModelKind::Dcn),
        vec![
            s("dcn.cross0.w", d, 1),
            s("dcn.cross0.b", 1, d),
            s("dcn.cross1.w", d, 1),
            s("dcn.cross1.b", 1, d),
            s("dcn.deep0.w", d, 64),
            s("dcn.deep0.b", 1, 64),
            s("dcn.deep1.w", 64, 64),
            s("dcn.deep1.b", 1, 64),
            s("dcn.out.w", d + 64, 1),
            s("dcn.out.b", 1, 1),
        ]
    );
    assert_eq!(
        shapes(ModelKind::Lr),
        vec![s("lr.b", 1, 1), s("lr.dense.w", 3, 1)]
    );
}

#[test]
fn dense_init_is_glorot_uniform_with_zero_biases() {
    let (c, f, k) = paper(ModelKind::Opnn);
    let m = model(&c, f, k, 9);
    for p in m.params() {
        if p.name.ends_with(".b") {
            assert!(p.data.iter().all(|&v| v == 0.0), "{}", p.name);
            continue;
        }
        // W_z and W_p share the fan-in of the whole l1 input (160 + 100).
        let fan_in = if p.name.starts_with("opnn.l1") {
            260
        } else {
            p.rows
        };
        let a = (6.0 / (fan_in + p.cols) as f64).sqrt();
        assert!(p.data.iter().all(|&v| (v as f64).abs() <= a), "{}", p.name);
        let n = p.data.len() as f64;
        let mean = p.data.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = p
            .data
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        // U(-a, a): mean 0, variance a^2 / 3; n >= 128 draws here.
        let se = a * a / 3.0 * (0.8 / n).sqrt() * 4.0;
        assert!(
            (var - a * a / 3.0).abs() < se,
            "{} var {var} vs {}",
            p.name,
            a * a / 3.0
        );
        assert!(
            mean.abs() < 4.0 * a / (3.0 * n).sqrt(),
            "{} mean {mean}",
            p.name
        );
    }
    // LR starts from zero (FTRL's convention).
    let (c, f, k) = paper(ModelKind::Lr);
    assert!(model(&c, f, k, 9)
        .params()
        .iter()
        .all(|p| p.data.iter().all(|&v| v == 0.0)));
}

#[test]
fn logits_equal_the_f64_reference_forward_at_paper_sizes() {
    for kind in ModelKind::ALL {
        let (c, f, k) = paper(kind);
        let mut m = model(&c, f, k, 4);
        // Non-zero biases and LR weights so every term is exercised.
        for (i, p) in m.params_mut().iter_mut().enumerate() {
            if p.name.ends_with(".b") || p.name.starts_with("lr.") {
                for (j, v) in p.data.iter_mut().enumerate() {
                    *v = 0.01 * ((i * 7 + j * 3) % 11) as f32 - 0.05;
                }
            }
        }
        let b = Batch::random(8, 16, f, c.embed_dim, k, 0.3);
        let want = ref_logits(m.as_ref(), &b, f, k);
        for fused in [true, false] {
            m.set_fused_ops(fused);
            let mut got = Vec::new();
            m.logits(&b.input(), &mut got).unwrap();
            assert_eq!(got.len(), b.batch);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (*g as f64 - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{kind} fused={fused} sample {i}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn training_forward_equals_inference_and_loss_equals_independent_bce() {
    for kind in ModelKind::ALL {
        let (mut c, f, k) = paper(kind);
        c.dropout = Some(0.0);
        let mut m = model(&c, f, k, 6);
        let b = Batch::random(2, 32, f, c.embed_dim, k, 0.5);
        let mut g = Grads::default();
        let loss = m
            .forward_backward(&b.input(), &b.labels, 3, &mut g)
            .unwrap();
        let mut inf = Vec::new();
        m.logits(&b.input(), &mut inf).unwrap();
        // Same graph, same kernels: bit-identical logits.
        assert_eq!(m.train_logits(), &inf[..], "{kind}");
        let want = ref_bce(&inf, &b.labels);
        assert!(
            (loss as f64 - want).abs() <= 1e-6 * want.max(1.0),
            "{kind}: loss {loss} vs {want}"
        );
    }
}

#[test]
fn loss_and_gradient_are_stable_at_extreme_logits() {
    // LR with 1-d embeddings of +-60 over 3 fields: logits of +-180 with the
    // wrong labels. Naive BCE (log of sigmoid) gives inf; the stable form
    // gives |x| per sample and the gradient (sigmoid(x) - y) / B = +-1/B.
    let c = ModelConfig::default_for(ModelKind::Lr);
    let mut m = model(&c, 3, 0, 1);
    let b = Batch {
        batch: 4,
        emb: vec![
            60.0, 60.0, 60.0, -60.0, -60.0, -60.0, 60.0, 60.0, 60.0, 1.0, -2.0, 0.5,
        ],
        dense: vec![],
        labels: vec![0.0, 1.0, 1.0, 1.0],
    };
    let mut g = Grads::default();
    let loss = m
        .forward_backward(&b.input(), &b.labels, 0, &mut g)
        .unwrap();
    let x3: f64 = -0.5;
    let want = (180.0 + 180.0 + 0.0 + (1.0 + (-x3).exp()).ln()) / 4.0;
    // At x = 180, y = 1 the loss is ln(1 + e^-180) ~ 7e-79: zero in f32.
    assert!(loss.is_finite());
    assert!((loss as f64 - want).abs() < 1e-5, "{loss} vs {want}");
    assert!((loss as f64 - eval_loss(m.as_ref(), &b)).abs() < 1e-5);
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let want_g = [0.25, -0.25, 0.0, (sig(x3) - 1.0) / 4.0];
    for (i, w) in want_g.iter().enumerate() {
        for fl in 0..3 {
            assert!(
                (g.emb[i * 3 + fl] as f64 - w).abs() < 1e-7,
                "sample {i}: {} vs {w}",
                g.emb[i * 3 + fl]
            );
        }
    }
    assert!((g.params[0][0] as f64 - want_g.iter().sum::<f64>()).abs() < 1e-7);
}

#[test]
fn same_seed_gives_identical_params_losses_and_gradients() {
    for kind in ModelKind::ALL {
        let (c, f, k) = paper(kind);
        let b = Batch::random(5, 64, f, c.embed_dim, k, 0.2);
        let run = |seed: u64, step_seed: u64| {
            let mut m = model(&c, f, k, seed);
            let params: Vec<Vec<u32>> = m
                .params()
                .iter()
                .map(|p| p.data.iter().map(|v| v.to_bits()).collect())
                .collect();
            let mut g = Grads::default();
            let loss = m
                .forward_backward(&b.input(), &b.labels, step_seed, &mut g)
                .unwrap();
            // A second step on the same model reuses the buffers and must
            // give the same result again.
            let ptrs: Vec<*const f32> = g.params.iter().map(|v| v.as_ptr()).collect();
            let loss2 = m
                .forward_backward(&b.input(), &b.labels, step_seed, &mut g)
                .unwrap();
            assert_eq!(loss.to_bits(), loss2.to_bits());
            let ptrs2: Vec<*const f32> = g.params.iter().map(|v| v.as_ptr()).collect();
            assert_eq!(ptrs, ptrs2, "gradient buffers are reused");
            let mut out = Vec::new();
            m.logits(&b.input(), &mut out).unwrap();
            (params, loss.to_bits(), g, out)
        };
        let a = run(42, 7);
        let b2 = run(42, 7);
        assert_eq!(a.0, b2.0, "{kind} params");
        assert_eq!(a.1, b2.1, "{kind} loss");
        assert_eq!(a.2, b2.2, "{kind} grads");
        assert_eq!(a.3, b2.3, "{kind} logits");
        if kind != ModelKind::Lr {
            // (LR starts from zeros whatever the seed.)
            assert_ne!(a.0, run(43, 7).0, "{kind}: another seed, other params");
        }
        if kind == ModelKind::Opnn {
            // Dropout 0.5: another step seed draws other masks.
            assert_ne!(a.1, run(42, 8).1, "opnn: another step seed, another loss");
        }
    }
}

#[test]
fn dropout_is_seeded_and_its_gradient_matches_the_training_loss() {
    let mut c = tiny(ModelKind::Opnn);
    c.dropout = Some(0.5);
    let (f, k) = (3, 2);
    let mut m = model(&c, f, k, 2);
    // Non-zero biases: with zero biases a unit whose inputs were all dropped
    // sits exactly on ReLU's kink, where differences cannot check anything.
    let mut r = ctr_run::rng::SplitMix64::new(8);
    for p in m.params_mut() {
        for v in &mut p.data {
            *v = (r.normal() * 0.5) as f32;
        }
    }
    let b = Batch::random(1, 6, f, c.embed_dim, k, 0.8);
    let mut g = Grads::default();
    let loss = m
        .forward_backward(&b.input(), &b.labels, 99, &mut g)
        .unwrap();
    let inference = eval_loss(m.as_ref(), &b);
    assert!(
        (loss as f64 - inference).abs() > 1e-4,
        "dropout changes the training loss"
    );
    let train = m.train_logits().to_vec();

    // The stock path draws the same masks: same logits and gradients.
    m.set_fused_ops(false);
    let mut g2 = Grads::default();
    let loss2 = m
        .forward_backward(&b.input(), &b.labels, 99, &mut g2)
        .unwrap();
    assert!((loss - loss2).abs() < 1e-6);
    for (a, b) in m.train_logits().iter().zip(&train) {
        assert!((a - b).abs() < 1e-5);
    }
    for (pa, pb) in g.params.iter().zip(&g2.params) {
        for (a, b) in pa.iter().zip(pb) {
            assert!(
                (a - b).abs() < 1e-6,
                "{a} vs {b} (param of {} values)",
                pa.len()
            );
        }
    }
    m.set_fused_ops(true);

    // An f64 reference forward with the same masks. Masks are drawn per
    // hidden layer, numbered from 1 in forward order (src/model/net.rs).
    let widths = c.hidden.clone().unwrap();
    let masks: Vec<Vec<f32>> = widths
        .iter()
        .enumerate()
        .map(|(l, &w)| ops::DropoutMask::draw(99, l as u64 + 1, b.batch, w, 0.5).to_vec())
        .collect();
    for mk in &masks {
        assert!(mk.iter().all(|&v| v == 0.0 || v == 2.0));
    }
    let ps = to_ref(m.params());
    let emb: Vec<f64> = b.emb.iter().map(|&v| v as f64).collect();
    let dense: Vec<f64> = b.dense.iter().map(|&v| v as f64).collect();
    let loss_of = |ps: &[RefParam], emb: &[f64]| {
        ref_bce64(
            &ref_forward_masked(&c, ps, emb, &dense, b.batch, f, k, &masks),
            &b.labels,
        )
    };
    let want = loss_of(&ps, &emb);
    assert!(
        (loss as f64 - want).abs() < 1e-6,
        "training loss {loss} vs masked reference {want}"
    );

    // Central differences in f64 of the masked reference loss, for every
    // parameter and embedding input.
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    for kk in 0..ps.len() {
        for j in 0..ps[kk].data.len() {
            let (mut p1, mut p2) = (ps.clone(), ps.clone());
            p1[kk].data[j] += h;
            p2[kk].data[j] -= h;
            let num = (loss_of(&p1, &emb) - loss_of(&p2, &emb)) / (2.0 * h);
            let an = g.params[kk][j] as f64;
            assert!(
                (an - num).abs() <= 1e-6 + 1e-4 * num.abs(),
                "{}[{j}]: {an} vs {num}",
                ps[kk].name
            );
            worst = worst.max((an - num).abs());
        }
    }
    for j in 0..emb.len() {
        let (mut e1, mut e2) = (emb.clone(), emb.clone());
        e1[j] += h;
        e2[j] -= h;
        let num = (loss_of(&ps, &e1) - loss_of(&ps, &e2)) / (2.0 * h);
        let an = g.emb[j] as f64;
        assert!(
            (an - num).abs() <= 1e-6 + 1e-4 * num.abs(),
            "emb[{j}]: {an} vs {num}"
        );
        worst = worst.max((an - num).abs());
    }
    println!("dropout gradient check: max error {worst:.2e}");
}

fn is_input<T>(r: Result<T, ModelError>) -> bool {
    matches!(r, Err(ModelError::Input(_)))
}

#[test]
fn bad_inputs_are_typed_errors() {
    let c = tiny(ModelKind::Mlp);
    let mut m = model(&c, 3, 2, 1);
    let b = Batch::random(1, 4, 3, c.embed_dim, 2, 0.5);
    let mut g = Grads::default();
    let mut out = vec![1.0];
    let input = |emb, dense| ctr_run::model::Input {
        batch: 4,
        emb,
        dense,
    };
    assert!(is_input(m.forward_backward(
        &input(&b.emb[1..], &b.dense),
        &b.labels,
        0,
        &mut g
    )));
    assert!(is_input(m.forward_backward(
        &input(&b.emb, &b.dense[1..]),
        &b.labels,
        0,
        &mut g
    )));
    assert!(is_input(m.forward_backward(
        &b.input(),
        &b.labels[1..],
        0,
        &mut g
    )));
    assert!(is_input(m.forward_backward(
        &b.input(),
        &[0.0, 1.0, 2.0, 0.0],
        0,
        &mut g
    )));
    assert!(is_input(m.forward_backward(
        &b.input(),
        &[0.0, 1.0, f32::NAN, 0.0],
        0,
        &mut g
    )));
    assert!(is_input(m.logits(&input(&b.emb[1..], &b.dense), &mut out)));
    let empty = ctr_run::model::Input {
        batch: 0,
        emb: &[],
        dense: &[],
    };
    assert!(is_input(m.forward_backward(&empty, &[], 0, &mut g)));
    m.logits(&empty, &mut out).unwrap();
    assert!(out.is_empty());
    // Shapes of a 0-field dataset are refused at build time.
    assert!(matches!(
        build(&c, 0, 2, 1, &Device::Cpu),
        Err(ModelError::Config { .. })
    ));
}
