//! glibc malloc tuning for candle's allocation pattern.
//!
//! Every candle op allocates its output and backward adds a zero tensor per
//! gradient, so a training step allocates and frees dozens of 100 KB - 1 MB
//! buffers. With glibc's defaults those come from fresh `mmap`s (threshold
//! 128 KiB, raised only dynamically) and freed memory is trimmed back to the
//! OS, so their pages fault in again every step (measured, docs/performance.md): 37%
//! of DCN's time in page faults, and DCN's backward going from 5.3 ms to 2.3
//! ms per step with raised thresholds.

/// Wanted mmap threshold: buffers below it are served from the heap, whose
/// pages stay mapped between steps.
const MMAP_THRESHOLD: usize = 256 << 20;
/// glibc refuses mmap thresholds above HEAP_MAX_SIZE / 2 (32 MiB on 64-bit
/// builds); the fallback when the wanted value is refused. Every per-step
/// buffer of the models here is far smaller.
const MMAP_THRESHOLD_FALLBACK: usize = 32 << 20;
/// Free heap memory is returned to the OS only above this much.
const TRIM_THRESHOLD: usize = 1 << 30;

/// Raise glibc's mmap and trim thresholds (once per process; later calls do
/// nothing). Returns the mmap threshold in effect, or None where the
/// allocator is not glibc's (then nothing is changed).
pub fn tune_allocator() -> Option<usize> {
    static APPLIED: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *APPLIED.get_or_init(apply)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> Option<usize> {
    // SAFETY: mallopt only sets allocator parameters; it is called before
    // the big allocations of a run and is thread-safe in glibc.
    unsafe {
        if libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int) == 0 {
            return None;
        }
        for t in [MMAP_THRESHOLD, MMAP_THRESHOLD_FALLBACK] {
            if libc::mallopt(libc::M_MMAP_THRESHOLD, t as libc::c_int) == 1 {
                return Some(t);
            }
        }
    }
    None
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> Option<usize> {
    None
}
