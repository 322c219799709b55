//! The fused CPU ops' matrix products: the gemm call candle's matmul makes,
//! with its thread count chosen per shard.
//!
//! Why: a step runs its two shards as two tasks (`net::shards`), and
//! candle's matmul hands every product to gemm with the whole pool
//! (`RAYON_NUM_THREADS`). On 2 threads each shard's gemm then split its
//! 256-row products again across both cores, a fork-join per product that
//! the other shard was already filling (docs/performance.md item 16). Here
//! a shard's products get the pool's threads divided among the shards
//! (`with_gemm_threads`): 1 each on 2 threads, 8 each on 16.
//!
//! The call is candle's (`MatMul::f` in candle-core's CPU backend): the same
//! m, n, k, strides, alpha and beta, so the values are the same bits. gemm
//! splits a product by output blocks, never along k, so its thread count
//! does not change a value either (`tests/suite/model_ops.rs` checks both).
//! The output buffer is not zero-filled first: with `read_dst = false`
//! gemm writes every value.

use std::cell::Cell;

use candle_core::{bail, Device, Result, Storage, Tensor};
use gemm::Parallelism;

thread_local! {
    /// gemm threads for products made on this thread; 0 = the whole pool.
    static GEMM_THREADS: Cell<usize> = const { Cell::new(0) };
}

/// Run `f` with this thread's products limited to `threads` gemm threads
/// (0 = the whole pool). The previous setting is restored after `f`, also
/// when it panics.
pub fn with_gemm_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            GEMM_THREADS.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(GEMM_THREADS.with(|c| c.replace(threads)));
    f()
}

fn parallelism() -> Parallelism {
    let threads = match GEMM_THREADS.with(Cell::get) {
        0 => rayon::current_num_threads(),
        n => n,
    };
    if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `a b` of two f32 CPU matrices (any strides, e.g. a transpose), recorded
/// in no graph: the callers are fused ops computing on detached inputs.
/// Other devices and dtypes go through candle's matmul.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (a, b) = (a.detach(), b.detach());
    if !matches!(a.device(), Device::Cpu) || a.dtype() != candle_core::DType::F32 {
        return a.matmul(&b);
    }
    let ((m, k), (k2, n)) = (a.dims2()?, b.dims2()?);
    if k != k2 {
        bail!("matmul: shapes ({m}, {k}) x ({k2}, {n}) do not chain");
    }
    let (sa, la) = a.storage_and_layout();
    let (sb, lb) = b.storage_and_layout();
    let (Storage::Cpu(ca), Storage::Cpu(cb)) = (&*sa, &*sb) else {
        bail!("matmul: expected CPU storage");
    };
    let (lhs, rhs) = (ca.as_slice::<f32>()?, cb.as_slice::<f32>()?);
    let (lhs, rhs) = (&lhs[la.start_offset()..], &rhs[lb.start_offset()..]);
    let (ls, rs) = (la.stride(), lb.stride());
    // The last element each operand reads must be inside its buffer.
    let reach = |s: &[usize], rows: usize, cols: usize| {
        (rows.max(1) - 1) * s[0] + (cols.max(1) - 1) * s[1] + 1
    };
    if (m * k > 0 && reach(ls, m, k) > lhs.len()) || (k * n > 0 && reach(rs, k, n) > rhs.len()) {
        bail!("matmul: a layout reaches past its storage");
    }
    let len = m * n;
    let mut dst: Vec<f32> = Vec::with_capacity(len);
    if k == 0 {
        dst.resize(len, 0.0);
    } else if len > 0 {
        // SAFETY: the pointers and strides stay inside `lhs`, `rhs` (checked
        // above) and `dst` (m x n, row-major, capacity m * n); with
        // `read_dst = false` and k > 0 gemm writes all m * n values of dst
        // and reads none, so they are initialised when the length is set.
        // The arguments are candle's MatMul::f for a rank-2 product.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
                1,
                n as isize,
                false,
                lhs.as_ptr(),
                ls[1] as isize,
                ls[0] as isize,
                rhs.as_ptr(),
                rs[1] as isize,
                rs[0] as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism(),
            );
            dst.set_len(len);
        }
    }
    drop((sa, sb));
    Tensor::from_vec(dst, (m, n), &Device::Cpu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn random(rows: usize, cols: usize, seed: u64) -> Tensor {
        let mut r = SplitMix64::new(seed);
        let v: Vec<f32> = (0..rows * cols).map(|_| r.normal() as f32).collect();
        Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    }

    /// The products of the fused ops (x w, g w^T, x^T g, at the MLP's and
    /// OPNN's shapes, a gemv and an empty k) are candle's matmul to the
    /// bit, at 1, 2 and 3 gemm threads and on a narrowed (offset) input.
    #[test]
    fn products_are_candles_matmul_bits_at_any_gemm_thread_count() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let shapes = [
            (256, 352, 64),
            (256, 64, 32),
            (1, 352, 64),
            (300, 100, 512),
            (5, 0, 7),
        ];
        for (i, &(m, k, n)) in shapes.iter().enumerate() {
            let (x, w) = (random(m, k, i as u64), random(k, n, 100 + i as u64));
            let g = random(m, n, 200 + i as u64);
            let cases = [
                (x.clone(), w.clone()),
                (g.clone(), w.t().unwrap()),
                (x.t().unwrap(), g.clone()),
            ];
            for (a, b) in &cases {
                let want = bits(&a.matmul(b).unwrap());
                for threads in [1, 2, 3] {
                    let got = pool.install(|| with_gemm_threads(threads, || matmul(a, b)));
                    assert_eq!(
                        bits(&got.unwrap()),
                        want,
                        "{m}x{k}x{n} at {threads} threads"
                    );
                }
            }
        }
        let big = random(10, 352, 9);
        let (a, w) = (big.narrow(0, 3, 6).unwrap(), random(352, 64, 10));
        assert_eq!(bits(&matmul(&a, &w).unwrap()), bits(&a.matmul(&w).unwrap()));
        assert!(matmul(&random(2, 3, 1), &random(4, 2, 2)).is_err());
    }

    /// The setting applies inside `f` only, and is restored after a panic.
    #[test]
    fn gemm_threads_are_scoped_to_the_call() {
        let threads = |p: Parallelism| match p {
            Parallelism::None => 1,
            Parallelism::Rayon(n) => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        pool.install(|| {
            assert_eq!(threads(parallelism()), 4);
            assert_eq!(with_gemm_threads(1, || threads(parallelism())), 1);
            assert_eq!(
                with_gemm_threads(2, || with_gemm_threads(0, || threads(parallelism()))),
                4
            );
            let r = std::panic::catch_unwind(|| with_gemm_threads(1, || panic!("in f")));
            assert!(r.is_err());
            assert_eq!(threads(parallelism()), 4);
        });
    }
}
