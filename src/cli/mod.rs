//! One module per command; each parses its arguments and calls the library.

pub mod bench;
pub mod data;
pub mod export;
pub mod gen;
pub mod predict;
pub mod prune;
pub mod summarize;
pub mod sweep;
pub mod tables;
pub mod train;

/// Size the thread pools once, before any parallel work starts.
///
/// `RAYON_NUM_THREADS` sets the global rayon pool that both our sparse
/// optimizer and candle's matrix products use; candle's separate spin-waiting
/// pool for element-wise ops (`CANDLE_NUM_THREADS`) is best at 1 on small
/// machines (docs/performance.md: rayon 2 + candle 1 was fastest on 2 cores).
/// Values already in the environment win, so users can experiment.
pub fn init_threads(threads: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(w) = ctr_run::train::budget::threads_warning(threads, cores) {
        eprintln!("{w}");
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let n = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(threads);
    // Fails only if the pool was already built (tests, repeated calls): harmless.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
}
