//! Rows per second of the ProxGen-family updates (one embedding row of d = 16
//! per `update_group`), per regularizer: the cost of the exact prox maps
//! next to the unregularized step.
//!
//! `cargo bench --bench prox`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName, Regularizer};
use ctr_run::rng::SplitMix64;

const ROWS: usize = 4096;
const D: usize = 16;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("prox_update_rows");
    group.throughput(Throughput::Elements(ROWS as u64));
    let cases = [
        (OptimizerName::ProxAdam, Regularizer::None, 0.0),
        (OptimizerName::ProxAdam, Regularizer::L1, 1e-3),
        (OptimizerName::ProxAdam, Regularizer::L0, 1e-5),
        (OptimizerName::ProxAdam, Regularizer::LHalf, 1e-4),
        (OptimizerName::ProxAdam, Regularizer::LTwoThirds, 1e-4),
        (OptimizerName::ProxAdam, Regularizer::Group, 1e-3),
        (OptimizerName::ProxAdam, Regularizer::Binary, 1e-3),
        (OptimizerName::ProxSgdMomentum, Regularizer::L1, 1e-3),
        (OptimizerName::ProxSgd, Regularizer::Group, 1e-3),
        (OptimizerName::Subgradient, Regularizer::L1, 1e-3),
    ];
    let mut rng = SplitMix64::new(1);
    let w0: Vec<f32> = (0..ROWS * D).map(|_| 0.05 * rng.normal() as f32).collect();
    let grads: Vec<f32> = (0..ROWS * D).map(|_| 0.01 * rng.normal() as f32).collect();
    for (name, reg, lambda) in cases {
        let cfg = OptimizerConfig {
            name,
            lr: 1e-3,
            lambda,
            regularizer: reg,
            q: 0.5,
            ..OptimizerConfig::named(name)
        };
        let mut opt = Optimizer::new(&cfg.check().unwrap());
        let sl = opt.state_len(D);
        let mut w = w0.clone();
        let mut state = vec![0.0f32; ROWS * sl];
        let mut last = vec![0u32; ROWS];
        group.bench_function(format!("{name}/{reg:?}"), |b| {
            b.iter(|| {
                opt.begin_step();
                for r in 0..ROWS {
                    opt.update_group(
                        &mut w[r * D..(r + 1) * D],
                        &mut state[r * sl..(r + 1) * sl],
                        &mut last[r],
                        black_box(&grads[r * D..(r + 1) * D]),
                        None,
                    );
                }
                // Keep the weights from collapsing to a fixed point of zeros
                // that would make the prox trivially cheap.
                w.copy_from_slice(&w0);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
