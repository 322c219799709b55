//! Theorem 2 of the Sparse Group Lasso paper: with lambda1 = lambda21 =
//! lambda2 = 0, every Group optimizer (Algorithm 1 + its rule) reproduces its
//! plain counterpart (written independently in `optim::plain`), step for
//! step, densely and under lazy sparse updates with a global step. And
//! Group Adagrad with lambda21 = 0 equals FTRL-Proximal from zero weights.

use crate::optim_support;
use ctr_run::optim::{LrDecay, Optimizer, OptimizerConfig, OptimizerName};
use optim_support::*;

const STEPS: usize = 1000;
const TOL: f64 = 1e-5;

/// Run the same stream through a Group optimizer and its plain counterpart
/// from the same (non-zero) start and return the relative error.
fn compare(
    group: &OptimizerConfig,
    plain: &OptimizerConfig,
    stream: &[Step],
    rows: usize,
    d: usize,
) -> (f64, f64) {
    let init = init_weights(11, rows * d, 0.3);
    let mut og = Optimizer::new(&group.check().unwrap());
    let mut op = Optimizer::new(&plain.check().unwrap());
    let mut tg = Table::new(&og, rows, d, &init);
    let mut tp = Table::new(&op, rows, d, &init);
    run(&mut og, &mut tg, stream);
    run(&mut op, &mut tp, stream);
    // The weights really moved, so agreement is not trivial.
    assert!(
        rel_err(&tp.w, &init) > 0.05,
        "{:?}: weights barely moved",
        plain.name
    );
    (
        rel_err(&tg.w, &tp.w),
        rel_err_elementwise(&tg.w, &tp.w, 1e-2),
    )
}

fn check_all(
    stream_of: impl Fn(u64) -> Vec<Step>,
    rows: usize,
    d: usize,
    decay: LrDecay,
    what: &str,
) {
    for (seed, (g, p)) in PAIRS.into_iter().enumerate() {
        let stream = stream_of(100 + seed as u64);
        let lr = lr_for(g);
        let gc = OptimizerConfig {
            lr_decay: decay,
            ..cfg(g, lr)
        };
        let pc = OptimizerConfig {
            lr_decay: decay,
            ..cfg(p, lr)
        };
        let (err, err_el) = compare(&gc, &pc, &stream, rows, d);
        println!("{what}: {g} vs {p}: max|diff|/max|w| = {err:.2e}, elementwise (floor 1e-2) = {err_el:.2e}");
        assert!(
            err <= TOL,
            "{what}: {g} vs {p}: relative error {err:e} > {TOL:e}"
        );
    }
}

#[test]
fn theorem2_group_equals_plain_dense_1000_steps() {
    check_all(
        |s| dense_stream(s, STEPS, 8, 4),
        8,
        4,
        LrDecay::Constant,
        "dense",
    );
}

#[test]
fn theorem2_group_equals_plain_sparse_lazy_1000_steps() {
    check_all(
        |s| sparse_stream(s, STEPS, 40, 4),
        40,
        4,
        LrDecay::Constant,
        "sparse",
    );
}

#[test]
fn theorem2_holds_with_inv_sqrt_lr_decay_sparse() {
    check_all(
        |s| sparse_stream(s, STEPS, 40, 4),
        40,
        4,
        LrDecay::InvSqrt,
        "sparse inv_sqrt",
    );
}

/// Groups wider than the core's chunk (64) and not a multiple of its lanes.
#[test]
fn theorem2_group_equals_plain_dense_wide_groups() {
    check_all(
        |s| dense_stream(s, 300, 3, 150),
        3,
        150,
        LrDecay::Constant,
        "dense d=150",
    );
}

/// The stream really is irregular: rows skip many steps between updates.
#[test]
fn sparse_stream_has_irregular_gaps() {
    let stream = sparse_stream(1, STEPS, 40, 4);
    let mut last = [0usize; 40];
    let mut max_gap = [0usize; 40];
    let mut empty_steps = 0;
    for (t, s) in stream.iter().enumerate() {
        empty_steps += usize::from(s.rows.is_empty());
        for &r in &s.rows {
            max_gap[r] = max_gap[r].max(t + 1 - last[r]);
            last[r] = t + 1;
        }
    }
    assert!(max_gap[0] > 100 && max_gap[39] < 30, "{max_gap:?}");
    assert!(empty_steps > 0);
}

fn ftrl_pair(l1: f32, l2: f32) -> (OptimizerConfig, OptimizerConfig) {
    let base = OptimizerConfig {
        lr: 0.1,
        lambda1: l1,
        lambda2: l2,
        initial_accumulator: 0.1,
        ..OptimizerConfig::named(OptimizerName::GroupAdagrad)
    };
    (
        base.clone(),
        OptimizerConfig {
            name: OptimizerName::Ftrl,
            ..base
        },
    )
}

fn ftrl_compare(stream: &[Step], rows: usize, d: usize) {
    let (gc, fc) = ftrl_pair(0.3, 0.05);
    let zeros = vec![0.0; rows * d];
    let mut og = Optimizer::new(&gc.check().unwrap());
    let mut of = Optimizer::new(&fc.check().unwrap());
    let mut tg = Table::new(&og, rows, d, &zeros);
    let mut tf = Table::new(&of, rows, d, &zeros);
    let mut worst: f64 = 0.0;
    let mut zeros_seen = 0;
    for step in stream {
        og.begin_step();
        of.begin_step();
        tg.update_rows(&og, &step.rows, &step.g, &step.h);
        tf.update_rows(&of, &step.rows, &step.g, &step.h);
        worst = worst.max(rel_err(&tg.w, &tf.w));
        zeros_seen += tf.w.iter().filter(|&&x| x == 0.0).count();
    }
    println!("group_adagrad (lambda21=0) vs ftrl: worst relative error over all steps {worst:.2e}");
    // lambda1 really produced exact zeros, and non-zeros exist too.
    assert!(zeros_seen > 0 && tf.w.iter().any(|&x| x != 0.0));
    assert!(worst <= TOL, "relative error {worst:e}");
}

#[test]
fn group_adagrad_equals_ftrl_proximal_from_zero_dense_1000_steps() {
    ftrl_compare(&dense_stream(7, STEPS, 8, 4), 8, 4);
}

#[test]
fn group_adagrad_equals_ftrl_proximal_from_zero_sparse_1000_steps() {
    ftrl_compare(&sparse_stream(8, STEPS, 40, 4), 40, 4);
}

/// From non-zero weights FTRL and Adagrad differ (docs/math.md): Group Adagrad
/// follows Adagrad, so it must not equal FTRL there.
#[test]
fn group_adagrad_differs_from_ftrl_from_nonzero_start() {
    let (gc, fc) = ftrl_pair(0.0, 0.0);
    let init = init_weights(3, 8 * 4, 0.5);
    let stream = dense_stream(9, 50, 8, 4);
    let (mut og, mut of) = (
        Optimizer::new(&gc.check().unwrap()),
        Optimizer::new(&fc.check().unwrap()),
    );
    let (mut tg, mut tf) = (Table::new(&og, 8, 4, &init), Table::new(&of, 8, 4, &init));
    run(&mut og, &mut tg, &stream);
    run(&mut of, &mut tf, &stream);
    assert!(rel_err(&tg.w, &tf.w) > 1e-2);
}
