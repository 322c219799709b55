//! Throughput of one training step of the dense networks (forward + backward
//! through `Model::forward_backward`) at batch 512 on random inputs, in
//! samples/s, on pools of 1 and 2 threads, fused CPU ops vs stock candle ops.
//!
//! Sizes (docs/models.md): MLP 22 fields x 16 -> 64-32-16-1 (Avazu); OPNN 16 x 10,
//! l1 512 -> 256 -> 128 -> 1, dropout 0.5 (iPinYou); DCN 26 x 8 + 13 dense,
//! 2 cross layers, deep 64-64 (Criteo); LR 22 x 1.
//!
//! Run: `cargo bench --bench models` (optionally a filter: `-- mlp`).
//! Threads follow docs/performance.md: a rayon pool of 1 or 2 threads (the
//! fused ops' gemm threads follow it, stock candle's matmul follows
//! RAYON_NUM_THREADS, set to the same), candle's element-wise pool 1; the
//! allocator is tuned as the trainer does at start-up.

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctr_run::model::{
    build, configure_threads, tune_allocator, Grads, Input, ModelConfig, ModelKind,
};
use ctr_run::rng::SplitMix64;

const BATCH: usize = 512;

fn shape(kind: ModelKind) -> (usize, usize) {
    match kind {
        ModelKind::Mlp => (22, 0),
        ModelKind::Opnn => (16, 0),
        ModelKind::Dcn => (26, 13),
        ModelKind::Lr => (22, 0),
    }
}

fn bench(c: &mut Criterion) {
    tune_allocator();
    configure_threads(2);
    let mut g = c.benchmark_group("forward_backward");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(4));
    g.warm_up_time(std::time::Duration::from_secs(1));
    for kind in ModelKind::ALL {
        let cfg = ModelConfig::default_for(kind);
        let (f, k) = shape(kind);
        let mut r = SplitMix64::new(1);
        let emb: Vec<f32> = (0..BATCH * f * cfg.embed_dim)
            .map(|_| (r.normal() * 0.01) as f32)
            .collect();
        let dense: Vec<f32> = (0..BATCH * k).map(|_| r.next_f32()).collect();
        let labels: Vec<f32> = (0..BATCH)
            .map(|_| (r.next_f32() < 0.2) as u8 as f32)
            .collect();
        let input = Input {
            batch: BATCH,
            emb: &emb,
            dense: &dense,
        };
        for fused in [true, false] {
            let mut m = build(&cfg, f, k, 7, &Device::Cpu).unwrap();
            m.set_fused_ops(fused);
            let mut grads = Grads::default();
            for threads in [1, 2] {
                let ops = if fused { "fused" } else { "stock" };
                // A pool of that size: the shards and the fused ops'
                // products split its threads (model::gemm); stock candle's
                // matmul reads RAYON_NUM_THREADS.
                std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                g.bench_function(format!("{kind}/{threads}thr/{ops}"), |b| {
                    let mut step = 0u64;
                    b.iter(|| {
                        step += 1;
                        pool.install(|| m.forward_backward(&input, &labels, step, &mut grads))
                            .unwrap()
                    })
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
