//! Thread counts for candle on CPU.
//!
//! Two knobs matter (docs/performance.md, measured on 2 cores): `RAYON_NUM_THREADS`
//! is read by candle before every matmul and sets gemm's parallelism on the
//! global rayon pool (which the rest of ctr-run shares); `CANDLE_NUM_THREADS`
//! sizes candle's spin-waiting pool for element-wise ops of >= 64k elements,
//! created once on first use. Best on 2 cores: rayon 2, candle 1 (the spin
//! pool then has no workers and cannot steal the cores gemm needs).

/// Use `n` threads for matmuls and the rayon global pool (unless
/// `RAYON_NUM_THREADS` is already set: a value in the environment wins, so
/// users can experiment), and 1 for candle's element-wise pool unless
/// `CANDLE_NUM_THREADS` is set. Call once at start-up, before any other
/// thread runs and before the first candle op (the environment is
/// process-global and candle's pool is created once). Returns the thread
/// count in effect; the one place threads are set up.
pub fn configure_threads(n: usize) -> usize {
    let from_env = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&t| t > 0);
    let n = from_env.unwrap_or(n.max(1));
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    // Fails only when the pool already exists (tests, repeated calls); then
    // it keeps its size.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    rayon::current_num_threads()
}
