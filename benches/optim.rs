//! Optimizer throughput (issue 2, item 7), one thread.
//!
//! - `optim/sparse_group_adam_1Mx16*`: lazy Group Adam updates of random
//!   rows of a 1,000,000 x 16 embedding table (weights + state z, m, v +
//!   last step: 260 MB, far beyond cache, as in training), 4,096 rows per
//!   step. Criterion's "elements" are rows: thrpt = rows/s; target 5M/s.
//!   Variants: plain; `_prefetch_blocks` hints the weights and state of
//!   the row 16 ahead (`core::prefetch`), `_prefetch` its last step too, as
//!   `EmbeddingStore::update` does;
//!   `_prefetch_hugepages` also backs the table with 2 MB pages. Random
//!   rows are bound by memory latency and TLB misses, not arithmetic.
//! - `optim_dense/*`: whole-tensor updates of a 1024 x 256 parameter
//!   (groups = rows); thrpt = parameters/s.
//!
//! Run: `cargo bench --bench optim`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ctr_run::embedding::advise_huge_pages;
use ctr_run::optim::core::prefetch;
use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName};
use ctr_run::rng::SplitMix64;
use std::hint::black_box;
use std::time::Duration;

const ROWS: usize = 1_000_000;
const DIM: usize = 16;
const BATCH_ROWS: usize = 4096;
const AHEAD: usize = 16;

/// A vector of `n` values from `f`, its pages marked MADV_HUGEPAGE before
/// first touch (the kernel here runs THP in `madvise` mode): 2 MB pages cut
/// the TLB misses of random row access. What an embedding store can do.
fn huge_vec<T>(n: usize, huge: bool, mut f: impl FnMut() -> T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    if huge {
        advise_huge_pages(&v);
    }
    v.extend((0..n).map(|_| f()));
    v
}

struct Table {
    w: Vec<f32>,
    state: Vec<f32>,
    last: Vec<u32>,
    sl: usize,
}

fn sparse(c: &mut Criterion) {
    let cfg = OptimizerConfig {
        lr: 1e-3,
        lambda1: 1e-4,
        lambda21: 1e-3,
        lambda2: 1e-5,
        ..OptimizerConfig::named(OptimizerName::GroupAdam)
    };
    let mut opt = Optimizer::new(&cfg.check().unwrap());
    let sl = opt.state_len(DIM);
    let mut rng = SplitMix64::new(1);
    let grads: Vec<f32> = (0..BATCH_ROWS * DIM)
        .map(|_| rng.normal() as f32 * 0.1)
        .collect();
    // A long pool of random row ids, walked batch by batch.
    let pool: Vec<usize> = (0..(1 << 20))
        .map(|_| rng.below(ROWS as u64) as usize)
        .collect();
    let mut cursor = 0usize;

    let mut group = c.benchmark_group("optim");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(BATCH_ROWS as u64));
    // (name suffix, rows ahead, hint the last step too, 2 MB pages)
    let variants = [
        ("", 0, false, false),
        ("_prefetch_blocks", AHEAD, false, false),
        ("_prefetch", AHEAD, true, false),
        ("_prefetch_hugepages", AHEAD, true, true),
    ];
    for (suffix, ahead, ahead_last, huge) in variants {
        let name = format!("sparse_group_adam_1Mx16{suffix}");
        let mut t = Table {
            w: huge_vec(ROWS * DIM, huge, || rng.normal() as f32 * 0.01),
            state: huge_vec(ROWS * sl, huge, || 0.0f32),
            last: huge_vec(ROWS, huge, || 0u32),
            sl,
        };
        group.bench_function(&name, |b| {
            b.iter(|| {
                opt.begin_step();
                let ids = &pool[cursor..cursor + BATCH_ROWS + AHEAD];
                cursor = (cursor + BATCH_ROWS) % (pool.len() - BATCH_ROWS - AHEAD);
                for k in 0..BATCH_ROWS {
                    if ahead > 0 {
                        let n = ids[k + ahead];
                        prefetch(&t.w[n * DIM..(n + 1) * DIM]);
                        prefetch(&t.state[n * t.sl..(n + 1) * t.sl]);
                        if ahead_last {
                            prefetch(std::slice::from_ref(&t.last[n]));
                        }
                    }
                    let r = ids[k];
                    opt.update_group(
                        &mut t.w[r * DIM..(r + 1) * DIM],
                        &mut t.state[r * t.sl..(r + 1) * t.sl],
                        &mut t.last[r],
                        &grads[k * DIM..(k + 1) * DIM],
                        None,
                    );
                }
                black_box(&t.w);
            })
        });
    }
    group.finish();
}

fn dense(c: &mut Criterion) {
    let (rows, d) = (1024usize, 256usize);
    let mut group = c.benchmark_group("optim_dense");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements((rows * d) as u64));
    for name in [
        OptimizerName::GroupAdam,
        OptimizerName::GroupAdagrad,
        OptimizerName::GroupMomentum,
        OptimizerName::GroupAmsgrad,
        OptimizerName::Adam,
        OptimizerName::Ftrl,
    ] {
        // l2,1 only where the optimizer uses it (elsewhere it is refused).
        let lambda21 = if name.is_group() { 1e-3 } else { 0.0 };
        let cfg = OptimizerConfig {
            lambda21,
            ..OptimizerConfig::named(name)
        };
        let mut opt = Optimizer::new(&cfg.check().unwrap());
        let mut rng = SplitMix64::new(2);
        let mut w: Vec<f32> = (0..rows * d).map(|_| rng.normal() as f32 * 0.01).collect();
        let mut state = vec![0.0f32; rows * opt.state_len(d)];
        let mut last = vec![0u32; rows];
        let g: Vec<f32> = (0..rows * d).map(|_| rng.normal() as f32 * 0.1).collect();
        group.bench_with_input(BenchmarkId::new("dense_1024x256", name), &name, |b, _| {
            b.iter(|| {
                opt.begin_step();
                opt.update_dense(d, &mut w, &mut state, &mut last, &g, None);
                black_box(&w);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sparse, dense);
criterion_main!(benches);
