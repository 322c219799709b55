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

/// CPU nanoseconds the spinners of `keep_pool_awake` spent finding no job.
static SPIN_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// CPU seconds spent spin-waiting by `keep_pool_awake`, all threads, so far.
pub fn spin_seconds() -> f64 {
    SPIN_NANOS.load(std::sync::atomic::Ordering::Relaxed) as f64 * 1e-9
}

/// The calling thread's CPU time in nanoseconds (0 where unsupported).
pub fn thread_cpu_nanos() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes a plain struct we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

thread_local! {
    /// Whether this thread is running a spinner of `keep_pool_awake`.
    static SPINNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` on a worker of the global pool while every other worker stays
/// awake until it returns, taking each job the moment one is queued.
///
/// Why: a rayon worker that finds no job spins a few dozen rounds, then
/// sleeps, and the next job queued wakes it through the kernel (futex
/// wake-up, then scheduling). A training step alternates parallel phases
/// with short serial joints (assigning rows, the loss, merging shards),
/// each long enough for the other worker to fall asleep, so before this a
/// step paid a wake-up at nearly every phase: 27 futex calls and 16
/// context switches per batch, ~11% of the CPU in the kernel, and phases
/// that started on one core (docs/performance.md, item 12).
///
/// How: one spinner job per other worker. A spinner runs queued jobs
/// (`rayon::yield_now`) and, when there is none, yields the core to the
/// OS (so the reader thread still runs) until `f` is done. A spinner
/// never runs on `f`'s own thread or inside another spinner, so no job
/// ever waits on a spinner: it returns as soon as `f` has. What runs where
/// changes nothing computed (every parallel op splits by data, not by
/// thread). Its cost: the spinning is busy CPU. It is measured, by each
/// spinner's own CPU clock around its idle rounds, into [`spin_seconds`],
/// so "cores busy" can be told apart from cores working.
pub fn keep_pool_awake<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = AtomicBool::new(false);
    rayon::scope(|s| {
        let origin = rayon::current_thread_index();
        for _ in 1..rayon::current_num_threads() {
            let done = &done;
            s.spawn(move |_| {
                if rayon::current_thread_index() == origin || SPINNING.get() {
                    return;
                }
                SPINNING.set(true);
                // One clock read per round: a round ends where the next
                // begins (the clock is a system call taking the scheduler's
                // lock, and two per idle round were ~3% of an epoch's CPU).
                let mut round_start = thread_cpu_nanos();
                while !done.load(Ordering::Acquire) {
                    let executed = rayon::yield_now() == Some(rayon::Yield::Executed);
                    if !executed {
                        std::thread::yield_now();
                    }
                    let now = thread_cpu_nanos();
                    if !executed {
                        SPIN_NANOS.fetch_add(now.saturating_sub(round_start), Ordering::Relaxed);
                    }
                    round_start = now;
                }
                SPINNING.set(false);
            });
        }
        // The spinners stop on return and on unwind alike: the scope waits
        // for them, so a panic in `f` would otherwise hang the process.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let _stop = Stop(&done);
        f()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f`'s value comes back; calls nest, and calls from several threads
    /// at once share the pool, without waiting on each other's spinners.
    #[test]
    fn keep_pool_awake_returns_and_never_waits_on_a_spinner() {
        use rayon::prelude::*;
        let sum = |n: u64| (0..n).into_par_iter().map(|i| i * i).sum::<u64>();
        let want = sum(100_000);
        assert_eq!(keep_pool_awake(|| sum(100_000)), want);
        assert_eq!(keep_pool_awake(|| keep_pool_awake(|| sum(100_000))), want);
        let got: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..50).map(|_| keep_pool_awake(|| sum(10_000))).sum()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(got, vec![50 * sum(10_000); 4]);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(pool.install(|| keep_pool_awake(|| sum(1000))), sum(1000));
    }

    /// A panic in `f` reaches the caller; it used to leave the spinners
    /// waiting for a `done` that never came, and the call hung.
    #[test]
    fn a_panic_in_f_reaches_the_caller_instead_of_hanging() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| keep_pool_awake(|| panic!("a failing step")))
        }));
        assert!(caught.is_err());
        // The pool still works afterwards.
        assert_eq!(pool.install(|| keep_pool_awake(|| 7)), 7);
    }
}
