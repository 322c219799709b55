//! Wall time per phase of the training step, for `ctr-run bench` and
//! `metrics.json`: where the time goes is the first question of any
//! performance work. `LoopCpu` says how many cores the loop kept busy.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the reader thread's next batch.
    Read,
    /// Resolving keys to rows and pooling their embeddings.
    Gather,
    /// Model forward and backward (candle).
    ForwardBackward,
    /// Hessian-vector products (AdaHessian only).
    Hessian,
    /// Dense-layer optimizer update.
    DenseUpdate,
    /// Scattering embedding gradients to rows and updating them.
    SparseUpdate,
    /// Scoring the test split.
    Evaluate,
}

/// Accumulated seconds per phase.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PhaseTimes {
    pub read: f64,
    pub gather: f64,
    pub forward_backward: f64,
    pub hessian: f64,
    pub dense_update: f64,
    pub sparse_update: f64,
    pub evaluate: f64,
}

impl PhaseTimes {
    pub fn add(&mut self, phase: Phase, d: Duration) {
        let s = d.as_secs_f64();
        match phase {
            Phase::Read => self.read += s,
            Phase::Gather => self.gather += s,
            Phase::ForwardBackward => self.forward_backward += s,
            Phase::Hessian => self.hessian += s,
            Phase::DenseUpdate => self.dense_update += s,
            Phase::SparseUpdate => self.sparse_update += s,
            Phase::Evaluate => self.evaluate += s,
        }
    }

    /// Time `f` and charge it to `phase`.
    #[inline]
    pub fn time<T>(&mut self, phase: Phase, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = f();
        self.add(phase, t0.elapsed());
        out
    }

    /// (name, seconds) pairs in step order, for printing.
    pub fn rows(&self) -> [(&'static str, f64); 7] {
        [
            ("read", self.read),
            ("gather", self.gather),
            ("forward+backward", self.forward_backward),
            ("hessian", self.hessian),
            ("dense update", self.dense_update),
            ("sparse update", self.sparse_update),
            ("evaluate", self.evaluate),
        ]
    }
}

/// Process CPU time (user + system, every thread: the reader's parsing
/// included) against wall time, summed over training windows: "cores
/// busy" is their ratio. A resumed run counts only its own process's part.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoopCpu {
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    /// The part of `cpu_seconds` that workers spent spin-waiting for a job
    /// (`model::keep_pool_awake`): busy, but not working.
    pub spin_seconds: f64,
}

impl LoopCpu {
    /// Average cores busy over the timed windows (0 before any).
    pub fn cores_busy(&self) -> f64 {
        self.cores(self.cpu_seconds)
    }

    /// Average cores working (busy, less spin-waiting) over the windows.
    pub fn cores_working(&self) -> f64 {
        self.cores((self.cpu_seconds - self.spin_seconds).max(0.0))
    }

    /// `cpu_seconds` per second of the windows' wall time (0 before any).
    fn cores(&self, cpu_seconds: f64) -> f64 {
        if self.wall_seconds > 0.0 {
            cpu_seconds / self.wall_seconds
        } else {
            0.0
        }
    }

    /// Start timing a window; `LoopClock::stop` adds it to `self`.
    pub fn start() -> LoopClock {
        LoopClock {
            wall: Instant::now(),
            cpu: process_cpu_seconds(),
            spin: crate::model::spin_seconds(),
        }
    }
}

/// A running window of [`LoopCpu`].
pub struct LoopClock {
    wall: Instant,
    cpu: f64,
    spin: f64,
}

impl LoopClock {
    pub fn stop(self, into: &mut LoopCpu) {
        into.wall_seconds += self.wall.elapsed().as_secs_f64();
        into.cpu_seconds += (process_cpu_seconds() - self.cpu).max(0.0);
        into.spin_seconds += (crate::model::spin_seconds() - self.spin).max(0.0);
    }
}

/// User + system CPU seconds of this process so far, all threads
/// (getrusage(RUSAGE_SELF)); 0 where the call fails.
pub fn process_cpu_seconds() -> f64 {
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    // SAFETY: getrusage writes a plain struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    tv(u.ru_utime) + tv(u.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPU seconds of the calling thread alone.
    fn thread_cpu_seconds() -> f64 {
        crate::model::thread_cpu_nanos() as f64 * 1e-9
    }

    /// Spin for ~`secs` of this thread's CPU; returns the CPU seconds spent.
    fn burn(secs: f64) -> f64 {
        let t0 = thread_cpu_seconds();
        let mut x = 0u64;
        while thread_cpu_seconds() - t0 < secs {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        thread_cpu_seconds() - t0
    }

    /// A window counts the CPU of every thread of the process, not only the
    /// caller's: at least what the two spinning threads spent by their own
    /// clocks (other tests of this binary may add to it, never subtract).
    #[test]
    fn loop_cpu_counts_the_cpu_of_every_thread() {
        let mut used = LoopCpu::default();
        let clock = LoopCpu::start();
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| burn(0.15));
            (burn(0.15), other.join().unwrap())
        });
        clock.stop(&mut used);
        assert!(a >= 0.15 && b >= 0.15, "{a} {b}");
        assert!(
            used.cpu_seconds >= (a + b) * 0.98,
            "{used:?}, threads {a} + {b}"
        );
        assert!(used.wall_seconds > 0.0);
        assert_eq!(used.cores_busy(), used.cpu_seconds / used.wall_seconds);
        assert_eq!(LoopCpu::default().cores_busy(), 0.0);
    }
}
