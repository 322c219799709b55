//! Optimizer state save/restore is bit-exact: run N steps, copy weights,
//! state, last steps and the global step, then continue the original and a
//! fresh optimizer restored with `Optimizer::set_step` on the same stream;
//! every bit of weights, state and last steps must agree.

use crate::optim_support;
use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName};
use optim_support::*;

#[test]
fn state_save_restore_is_bit_exact_for_every_group_and_plain_optimizer() {
    let (rows, d) = (30, 5);
    let stream = sparse_stream(21, 240, rows, d);
    let (first, rest) = stream.split_at(120);
    for name in OptimizerName::ALL.into_iter().filter(|n| !n.is_prox()) {
        // Each penalty where the optimizer uses it (elsewhere it is refused,
        // and the plain rules never read it).
        let base = cfg(name, lr_for(name));
        let uses = |key: &str| name.keys().contains(&key);
        let cfg = OptimizerConfig {
            lambda1: if uses("lambda1") { 0.01 } else { base.lambda1 },
            lambda21: if uses("lambda21") {
                0.05
            } else {
                base.lambda21
            },
            lambda2: if uses("lambda2") { 0.01 } else { base.lambda2 },
            ..base
        };
        let mut original = Optimizer::new(&cfg.check().unwrap());
        let mut table = Table::new(&original, rows, d, &init_weights(2, rows * d, 0.2));
        run(&mut original, &mut table, first);
        // the checkpoint: plain copies
        let saved_table = table.clone();
        let saved_step = original.step();
        let mut restored = Optimizer::new(&cfg.check().unwrap());
        restored.set_step(saved_step);
        let mut restored_table = saved_table;
        run(&mut original, &mut table, rest);
        run(&mut restored, &mut restored_table, rest);
        assert_eq!(original.step(), restored.step());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&table.w),
            bits(&restored_table.w),
            "{name}: weights differ"
        );
        assert_eq!(
            bits(&table.state),
            bits(&restored_table.state),
            "{name}: state differs"
        );
        assert_eq!(table.last, restored_table.last, "{name}: last steps differ");
        assert!(
            table.w != saved_table_w(&stream, &cfg, rows, d),
            "{name}: the continuation did nothing"
        );
    }
}

/// Weights after only the first half (to check the second half changed them).
fn saved_table_w(stream: &[Step], cfg: &OptimizerConfig, rows: usize, d: usize) -> Vec<f32> {
    let mut opt = Optimizer::new(&cfg.check().unwrap());
    let mut t = Table::new(&opt, rows, d, &init_weights(2, rows * d, 0.2));
    run(&mut opt, &mut t, &stream[..120]);
    t.w
}

/// A restored optimizer that skipped `set_step` would restart bias
/// corrections at t = 1: the test above would catch it (sanity check that
/// the comparison is sensitive).
#[test]
fn restore_without_set_step_differs() {
    let (rows, d) = (10, 4);
    let stream = sparse_stream(3, 100, rows, d);
    let cfg = cfg(OptimizerName::GroupAdam, 0.01);
    let mut a = Optimizer::new(&cfg.check().unwrap());
    let mut ta = Table::new(&a, rows, d, &init_weights(2, rows * d, 0.2));
    run(&mut a, &mut ta, &stream[..50]);
    let mut tb = ta.clone();
    let mut b = Optimizer::new(&cfg.check().unwrap());
    run(&mut a, &mut ta, &stream[50..]);
    run(&mut b, &mut tb, &stream[50..]);
    assert_ne!(ta.w, tb.w);
}
