//! Key-index lookups at Avazu scale (issue 14; docs/performance.md, item 14).
//!
//! - `key_index/9M_keys_prefetch16`: 4,096 lookups per iteration into a
//!   `KeyIndex` holding 9M keys (2^24 buckets, 192 MB: the 40M-row Avazu
//!   file's features), half of them absent (test keys unseen in training),
//!   each bucket prefetched 16 lookups ahead as the store's lookups do.
//!   Criterion's "elements" are lookups: thrpt = lookups/s. Bound by memory
//!   latency and TLB misses: the index lives on transparent huge pages.
//!
//! Run: `cargo bench --bench index`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctr_run::embedding::KeyIndex;
use ctr_run::rng::{mix64, SplitMix64};
use std::hint::black_box;
use std::time::Duration;

const KEYS: u64 = 9_000_000;
const LOOKUPS: usize = 4096;
const AHEAD: usize = 16;

fn bench(c: &mut Criterion) {
    let mut index = KeyIndex::default();
    for k in 0..KEYS {
        index.insert_new(mix64(2 * k), k as u32);
    }
    let mut rng = SplitMix64::new(7);
    // Even k: present; odd k: absent.
    let queries: Vec<u64> = (0..1 << 20)
        .map(|_| mix64(rng.next_u64() % (2 * KEYS)))
        .collect();
    let mut g = c.benchmark_group("key_index");
    g.throughput(Throughput::Elements(LOOKUPS as u64))
        .measurement_time(Duration::from_secs(5));
    let mut at = 0;
    g.bench_function("9M_keys_prefetch16", |b| {
        b.iter(|| {
            at = (at + LOOKUPS) % (queries.len() - LOOKUPS - AHEAD);
            let q = &queries[at..at + LOOKUPS + AHEAD];
            let mut found = 0u64;
            for (j, &key) in q[..LOOKUPS].iter().enumerate() {
                index.prefetch(q[j + AHEAD]);
                found += index.get(key).map_or(0, u64::from);
            }
            black_box(found)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
