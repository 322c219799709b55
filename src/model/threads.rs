//! Thread counts for candle on CPU.
//!
//! Two knobs matter (docs/performance.md, measured on 2 cores): `RAYON_NUM_THREADS`
//! is read by candle before every matmul and sets gemm's parallelism on the
//! global rayon pool (which the rest of ctr-run shares); `CANDLE_NUM_THREADS`
//! sizes candle's spin-waiting pool for element-wise ops of >= 64k elements,
//! created once on first use. Best on 2 cores: rayon 2, candle 1 (the spin
//! pool then has no workers and cannot steal the cores gemm needs).

/// Use `n` threads for matmuls and the rayon global pool, and 1 for candle's
/// element-wise pool unless `CANDLE_NUM_THREADS` is already set. Call once
/// at start-up, before any other thread runs and before the first candle op
/// (the environment is process-global and candle's pool is created once).
/// Returns false if the rayon global pool already existed with another size.
pub fn configure_threads(n: usize) -> bool {
    let n = n.max(1);
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .is_ok();
    built || rayon::current_num_threads() == n
}
