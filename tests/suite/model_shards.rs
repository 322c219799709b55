//! A training step splits a batch of >= 128 rows into two shards, each
//! forward and backward one task (src/model/net.rs, docs/performance.md).
//! The split must not change the mathematics: the batch gradient is the
//! shards' gradients summed in order, and a sample's dropout units are the
//! ones the whole batch's mask gives it.

use crate::model_common;

use candle_core::Device;
use ctr_run::model::ops::DropoutMask;
use ctr_run::model::{build, Grads, ModelConfig, ModelKind};
use model_common::{ref_bce64, ref_forward_masked, tiny, to_ref, Batch};

/// The rows of `b` in `range` as a batch of their own.
fn rows_of(b: &Batch, range: std::ops::Range<usize>, e: usize, k: usize) -> Batch {
    Batch {
        batch: range.len(),
        emb: b.emb[range.start * e..range.end * e].to_vec(),
        dense: b.dense[range.start * k..range.end * k].to_vec(),
        labels: b.labels[range.clone()].to_vec(),
    }
}

/// Without dropout, a 200-row step's gradient is, to the bit, half the
/// 100-row gradients of its two halves summed: the BCE seed (sigma - y) / B
/// halves exactly when B doubles and every later product scales exactly by
/// 1/2, so only the order of the sum could differ, and the step sums shard
/// 0 then shard 1. One matmul over all 200 rows (the unsharded step) rounds
/// differently.
#[test]
fn a_batch_gradient_is_the_sum_of_its_halves_to_the_bit() {
    let sizes = [
        (ModelKind::Mlp, 22, 0),
        (ModelKind::Opnn, 16, 0),
        (ModelKind::Dcn, 26, 13),
    ];
    for (kind, f, k) in sizes {
        let mut c = ModelConfig::default_for(kind);
        c.dropout = Some(0.0);
        let e = f * c.embed_dim;
        let mut m = build(&c, f, k, 3, &Device::Cpu).unwrap();
        let b = Batch::random(11, 200, f, c.embed_dim, k, 0.4);
        let mut whole = Grads::default();
        m.forward_backward(&b.input(), &b.labels, 5, &mut whole)
            .unwrap();
        let whole_logits = m.train_logits().to_vec();
        let mut halves = Vec::new();
        let mut logits = Vec::new();
        for range in [0..100, 100..200] {
            let h = rows_of(&b, range, e, k);
            let mut g = Grads::default();
            m.forward_backward(&h.input(), &h.labels, 5, &mut g)
                .unwrap();
            logits.extend_from_slice(m.train_logits());
            halves.push(g);
        }
        assert_eq!(whole_logits, logits, "{kind}: logits");
        for (i, p) in m.params().iter().enumerate() {
            let want: Vec<f32> = (halves[0].params[i].iter().zip(&halves[1].params[i]))
                .map(|(a, b)| 0.5 * a + 0.5 * b)
                .collect();
            let differ = (whole.params[i].iter().zip(&want))
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(differ, 0, "{kind} {}: of {} values", p.name, want.len());
        }
        let want: Vec<f32> = (halves[0].emb.iter().chain(&halves[1].emb))
            .map(|g| 0.5 * g)
            .collect();
        assert_eq!(whole.emb, want, "{kind}: embedding gradient");
    }
}

/// With dropout, the training loss of a 200-row (two-shard) step equals an
/// f64 reference forward that applies the whole batch's masks, drawn as one
/// (200, width) mask per hidden layer.
#[test]
fn shards_drop_the_units_of_the_whole_batch_mask() {
    let mut c = tiny(ModelKind::Mlp);
    c.dropout = Some(0.5);
    let (f, k) = (3, 2);
    let mut m = build(&c, f, k, 2, &Device::Cpu).unwrap();
    let b = Batch::random(4, 200, f, c.embed_dim, k, 0.8);
    let mut g = Grads::default();
    let loss = m
        .forward_backward(&b.input(), &b.labels, 99, &mut g)
        .unwrap();
    let masks: Vec<Vec<f32>> = (c.hidden.clone().unwrap().iter().enumerate())
        .map(|(l, &w)| DropoutMask::draw(99, l as u64 + 1, b.batch, w, 0.5).to_vec())
        .collect();
    let emb: Vec<f64> = b.emb.iter().map(|&v| v as f64).collect();
    let dense: Vec<f64> = b.dense.iter().map(|&v| v as f64).collect();
    let ps = to_ref(m.params());
    let logits = ref_forward_masked(&c, &ps, &emb, &dense, b.batch, f, k, &masks);
    let want = ref_bce64(&logits, &b.labels);
    assert!(
        (loss as f64 - want).abs() < 1e-6,
        "training loss {loss} vs masked reference {want}"
    );
    for (i, (got, want)) in m.train_logits().iter().zip(&logits).enumerate() {
        assert!(
            (*got as f64 - want).abs() < 1e-5,
            "sample {i}: {got} vs {want}"
        );
    }
}

/// `DropoutMask::rows` keeps each entry's decision at every row offset,
/// word-aligned or not.
#[test]
fn a_mask_of_some_rows_is_the_slice_of_the_whole_mask() {
    for (rows, cols) in [(200, 64), (37, 13), (9, 100)] {
        let whole = DropoutMask::draw(7, 2, rows, cols, 0.5).to_vec();
        let m = DropoutMask::draw(7, 2, rows, cols, 0.5);
        for range in [0..rows / 2, rows / 2..rows, 1..rows - 1, 3..4] {
            let part = m.rows(range.clone());
            assert_eq!((part.rows, part.cols), (range.len(), cols));
            assert_eq!(
                part.to_vec(),
                whole[range.start * cols..range.end * cols],
                "rows {range:?} of ({rows}, {cols})"
            );
        }
    }
}

/// A step and a scoring pass are the same bits on pools of 1, 2 and 4
/// threads, for a sharded batch (512 rows) and an unsharded one (100): the
/// shards run as 1 or 2 tasks, and gemm gets the pool's threads divided
/// among them (none, 1 or 2 per shard; 4 for the unsharded batch on 4),
/// while gemm splits its output into tiles per thread but sums every value
/// over k in one order, and the fused ops split rows (and column sums by
/// columns) so that every value is still summed in one fixed order.
#[test]
fn steps_are_the_same_bits_on_pools_of_1_2_and_4_threads() {
    for kind in ModelKind::ALL {
        let cfg = ModelConfig::default_for(kind);
        let (f, k) = match kind {
            ModelKind::Dcn => (26, 13),
            ModelKind::Opnn => (16, 0),
            _ => (22, 0),
        };
        for rows in [512, 100] {
            let b = Batch::random(4, rows, f, cfg.embed_dim, k, 0.1);
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    let mut m = build(&cfg, f, k, 3, &Device::Cpu).unwrap();
                    let mut g = Grads::default();
                    let loss = m
                        .forward_backward(&b.input(), &b.labels, 5, &mut g)
                        .unwrap();
                    let mut out = Vec::new();
                    m.logits(&b.input(), &mut out).unwrap();
                    (loss.to_bits(), g, out)
                })
            };
            let one = run(1);
            for threads in [2, 4] {
                let other = run(threads);
                let what = format!("{kind}, {rows} rows, {threads} threads");
                assert_eq!(one.0, other.0, "{what}: loss");
                assert_eq!(one.2, other.2, "{what}: logits");
                assert_eq!(one.1, other.1, "{what}: gradients");
            }
        }
    }
}
