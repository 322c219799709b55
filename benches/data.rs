//! Data throughput on one core: parse + encode of a 1,000,000-row synthetic
//! file of each format (plain and gzip), and reads from the encoded cache.
//!
//! `cargo bench --bench data` (set CTR_BENCH_ROWS to change the row count).
//! A plain harness (no criterion): each measurement is one full pass over
//! 1M rows, so the best of 3 passes is reported, in rows/s and MB/s of the
//! file (compressed bytes for gzip; the uncompressed MB/s are given too).
//!
//! The cache's content checks, side by side in the same run: reads with the
//! per-chunk checksums off (the reader as it was before them) and on, best
//! of 5 each, interleaved so that both see the same machine; and the
//! one-pass costs paid when a cache is opened in a fresh process (xxh3 of
//! the source file: its fingerprint; xxh3 of the chunk region).

use ctr_run::data::cache::{self, CacheSource};
use ctr_run::data::filter::{RowFilter, SplitRule};
use ctr_run::data::{generate, open, Batch, BatchSource, DataConfig, Format, Knobs, Split};
use std::io::Read;
use std::path::Path;
use std::time::Instant;

/// Read every batch of `src`, touching its keys so the pass is not optimised away.
fn drain(src: &mut dyn BatchSource) {
    let mut b = Batch::default();
    let mut keys = 0u64;
    while src.next_batch(&mut b).expect("read") {
        keys += b.keys.len() as u64;
    }
    std::hint::black_box(keys);
}

/// One pass over every row of the cache at `path`, checks on or off.
fn cache_pass(path: &Path, meta: &cache::CacheMeta, checked: bool) -> (u64, f64) {
    let t = Instant::now();
    let filter = RowFilter::new(SplitRule::All, 1.0, None);
    let mut src = if checked {
        CacheSource::open(path, meta.clone(), filter, 512)
    } else {
        CacheSource::open_unchecked_for_bench(path, meta.clone(), filter, 512)
    }
    .expect("open");
    drain(&mut src);
    (src.rows_read(), t.elapsed().as_secs_f64())
}

/// Seconds for an xxh3 pass over the first `len` bytes of `path`.
fn hash_pass(path: &Path, len: u64) -> f64 {
    let t = Instant::now();
    let mut f = std::fs::File::open(path).unwrap().take(len);
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    std::hint::black_box(h.digest());
    t.elapsed().as_secs_f64()
}

fn pass(cfg: &DataConfig) -> (u64, f64) {
    let t = Instant::now();
    let mut src = open(cfg, Split::Train, 512).expect("open");
    drain(src.as_mut());
    (src.rows_read(), t.elapsed().as_secs_f64())
}

fn best_of(n: usize, cfg: &DataConfig) -> (u64, f64) {
    (0..n)
        .map(|_| pass(cfg))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

fn main() {
    // `cargo bench` passes --bench; a plain run with a filter is not supported.
    let rows: u64 = std::env::var("CTR_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "{:<32} {:>10} {:>8} {:>12} {:>10} {:>12}",
        "input", "rows", "secs", "rows/s", "MB/s", "MB/s(raw)"
    );
    for (format, name) in [
        (Format::Avazu, "avazu"),
        (Format::Criteo, "criteo"),
        (Format::Ipinyou, "ipinyou"),
    ] {
        let plain = dir.join(format!("{name}-{rows}.txt"));
        let gz = dir.join(format!("{name}-{rows}.txt.gz"));
        for f in [&plain, &gz] {
            if !f.exists() {
                let t = Instant::now();
                generate(format, rows, 1, f, &Knobs::default()).expect("generate");
                eprintln!(
                    "generated {} in {:.1}s",
                    f.display(),
                    t.elapsed().as_secs_f64()
                );
            }
        }
        let raw_bytes = std::fs::metadata(&plain).unwrap().len() as f64;
        for (label, f) in [("plain", &plain), ("gzip", &gz)] {
            // Split by file (test = the same file): every row, straight from the text.
            let cfg = DataConfig {
                cache: false,
                test: Some(f.to_path_buf()),
                ..DataConfig::for_file(format, f)
            };
            let (n, secs) = best_of(3, &cfg);
            let bytes = std::fs::metadata(f).unwrap().len() as f64;
            println!(
                "{:<32} {:>10} {:>8.3} {:>12.0} {:>10.1} {:>12.1}",
                format!("{name} {label} parse+encode"),
                n,
                secs,
                n as f64 / secs,
                bytes / secs / 1e6,
                raw_bytes / secs / 1e6
            );
        }
        let cache_dir = dir.join("cache");
        let cfg = DataConfig {
            cache: true,
            cache_dir: Some(cache_dir.clone()),
            test: Some(plain.clone()),
            ..DataConfig::for_file(format, &plain)
        };
        let t = Instant::now();
        pass(&cfg); // builds the cache if absent
        eprintln!("cache ready in {:.1}s", t.elapsed().as_secs_f64());
        let (n, secs) = best_of(3, &cfg);
        let cache_bytes: u64 = std::fs::read_dir(&cache_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{name}-{rows}.txt-"))
            })
            .map(|e| e.metadata().unwrap().len())
            .sum();
        println!(
            "{:<32} {:>10} {:>8.3} {:>12.0} {:>10.1} {:>12.1}",
            format!("{name} cache read"),
            n,
            secs,
            n as f64 / secs,
            cache_bytes as f64 / secs / 1e6,
            raw_bytes / secs / 1e6
        );
        let (cpath, meta, _) = cache::ensure(&cfg, &plain).expect("cache");
        let (mut off, mut on) = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            off = off.min(cache_pass(&cpath, &meta, false).1);
            on = on.min(cache_pass(&cpath, &meta, true).1);
        }
        for (label, secs) in [("unchecked (before)", off), ("verified (after)", on)] {
            println!(
                "{:<32} {:>10} {:>8.3} {:>12.0} {:>10.1} {:>12.1}",
                format!("{name} cache {label}"),
                meta.n_rows,
                secs,
                meta.n_rows as f64 / secs,
                meta.data_bytes as f64 / secs / 1e6,
                raw_bytes / secs / 1e6
            );
        }
        println!(
            "{:<32} on/off rows/s = {:.3}",
            format!("{name} cache checks"),
            off / on
        );
        let src = (0..3)
            .map(|_| hash_pass(&plain, u64::MAX))
            .fold(f64::MAX, f64::min);
        let pay = (0..3)
            .map(|_| hash_pass(&cpath, meta.data_bytes))
            .fold(f64::MAX, f64::min);
        for (label, secs, bytes) in [
            ("source xxh3", src, raw_bytes),
            ("payload xxh3", pay, meta.data_bytes as f64),
        ] {
            println!(
                "{:<32} {:>10} {:>8.3} {:>12.0} {:>10.1}",
                format!("{name} {label}"),
                meta.n_rows,
                secs,
                meta.n_rows as f64 / secs,
                bytes / secs / 1e6
            );
        }
    }
}
