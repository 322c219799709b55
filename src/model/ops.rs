//! Fused candle ops for the CTR networks, with stock-op fallbacks.
//!
//! Why custom ops (docs/performance.md, measured): candle's backward of
//! `broadcast_add(bias)` reduces with `sum_keepdim(0)`, a scalar loop with an
//! integer div/mod per element (~100x slower than a column sum), and ReLU's
//! backward takes several passes (compare, cast, multiply). Each op below does
//! its forward in one pass and returns its input gradients from one pass.
//!
//! Every public function takes `fused`: `true` runs the custom op (CPU only:
//! the ops implement `cpu_fwd` alone), `false` composes stock candle ops with
//! the same math, for CUDA and as an independent reference in tests.

use std::mem::MaybeUninit;
use std::sync::Arc;

use rayon::prelude::*;

use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, CustomOp3, Device, Layout, Result, Shape, Storage,
    Tensor,
};

use super::gemm;
use crate::rng::SplitMix64;

/// The contiguous f32 data of a CPU storage under `l`.
fn slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let v = match s {
        CpuStorage::F32(v) => v,
        _ => bail!("{op}: only f32 is supported"),
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{op}: needs a contiguous input"),
    }
}

/// Run `f` over the f32 data of a CPU tensor without copying it (only a
/// non-contiguous tensor is made contiguous first).
pub fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (s, l) = t.storage_and_layout();
    match &*s {
        Storage::Cpu(cs) => Ok(f(slice(cs, l, "with_f32")?)),
        _ => {
            drop(s);
            let v = t.flatten_all()?.to_vec1::<f32>()?;
            Ok(f(&v))
        }
    }
}

/// Copy a tensor's f32 data into `out` (cleared first, capacity reused).
pub fn copy_into(t: &Tensor, out: &mut Vec<f32>) -> Result<()> {
    with_f32(t, |s| {
        out.clear();
        out.extend_from_slice(s);
    })
}

fn dims2(l: &Layout, op: &str) -> Result<(usize, usize)> {
    match l.dims() {
        [r, c] => Ok((*r, *c)),
        d => bail!("{op}: expected a matrix, got shape {d:?}"),
    }
}

// Parallelism: row-wise work is split into blocks of whole rows, one task
// per block, each output written by one task; column sums are split by
// column ranges, each column summed over all rows in row order by one task.
// Either way every value is computed in the same order as by a serial loop,
// so results are the same bits at any thread count.

/// Values per parallel task of the row-wise loops (below it, one task).
const TASK_VALUES: usize = 16 * 1024;

/// Rows per parallel task for rows of `n` values.
fn rows_per_task(n: usize) -> usize {
    (TASK_VALUES / n.max(1)).max(1)
}

/// Column sums of a row-major (rows, n) matrix, each column summed in row
/// order (deterministic, independent of thread count).
fn col_sum(g: &[f32], n: usize) -> Vec<f32> {
    weighted_col_sum(g, None, n)
}

/// `sum_r w[r] * x[r, c]` per column c of a row-major (rows, n) matrix
/// (`w` = None: plain column sums), each column summed in row order.
fn weighted_col_sum(x: &[f32], w: Option<&[f32]>, n: usize) -> Vec<f32> {
    let mut acc = vec![0f32; n];
    if n == 0 {
        return acc;
    }
    let cols_per_task = if x.len() < 2 * TASK_VALUES {
        n
    } else {
        // Multiples of 16 columns keep each task's inner loop vectorized.
        n.div_ceil(rayon::current_num_threads())
            .next_multiple_of(16)
    };
    acc.par_chunks_mut(cols_per_task)
        .enumerate()
        .for_each(|(t, acc)| {
            let (c0, width) = (t * cols_per_task, acc.len());
            let rows = x.chunks_exact(n).map(|r| &r[c0..c0 + width]);
            match w {
                None => rows.for_each(|r| {
                    for (a, v) in acc.iter_mut().zip(r) {
                        *a += v;
                    }
                }),
                Some(w) => rows.zip(w).for_each(|(r, &s)| {
                    for (a, v) in acc.iter_mut().zip(r) {
                        *a += s * v;
                    }
                }),
            }
        });
    acc
}

/// `f(block_index, rows_out)` over blocks of whole output rows of width
/// `n` in parallel; `f` must write every slot of its block.
fn par_rows_uninit(
    out: &mut [MaybeUninit<f32>],
    n: usize,
    f: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync,
) {
    let per = rows_per_task(n) * n.max(1);
    out.par_chunks_mut(per)
        .enumerate()
        .for_each(|(t, o)| f(t * per, o));
}

/// An inverted-dropout mask over a (rows, cols) activation: entry i is kept
/// (multiplied by `1 / (1 - p)`, so the expected activation is unchanged)
/// iff bit i is set, dropped (zeroed) otherwise. Bits, not floats: the mask
/// of OPNN's hidden layers is 57 KB instead of 1.8 MB per step.
#[derive(Clone, Debug)]
pub struct DropoutMask {
    pub rows: usize,
    pub cols: usize,
    /// `1 / (1 - p)`.
    pub keep_scale: f32,
    bits: Arc<[u64]>,
}

impl DropoutMask {
    /// Draw the mask of layer `layer` at a step seeded by `step_seed`.
    ///
    /// Each decision reads a chunk of `w` random bits and keeps the entry iff
    /// chunk >= p * 2^w, with `w` the fewest bits in {1, 2, 4, 8, 16} that
    /// represent p exactly (p = 0.5: one bit per decision, 64 per draw,
    /// which keeps drawing OPNN's masks cheap); other rates use 16 bits and
    /// are rounded to a multiple of 2^-16.
    pub fn draw(step_seed: u64, layer: u64, rows: usize, cols: usize, p: f32) -> Self {
        let n = rows * cols;
        let p = p as f64;
        let (w, threshold) = [1u32, 2, 4, 8, 16]
            .iter()
            .find_map(|&w| {
                let t = p * (1u64 << w) as f64;
                (t.fract() == 0.0).then_some((w, t as u64))
            })
            .unwrap_or((16, (p * 65536.0).round() as u64));
        let per_draw = 64 / w;
        let chunk_mask = (1u64 << w) - 1;
        let mut rng = SplitMix64::for_key(step_seed, layer);
        let bits = (0..n.div_ceil(64))
            .map(|_| {
                if (w, threshold) == (1, 1) {
                    // p = 0.5: entry k is kept iff bit k of the draw is set,
                    // i.e. the word is the draw (what the loop below builds
                    // bit by bit; that loop was 4% of an OPNN step).
                    return rng.next_u64();
                }
                let mut word = 0u64;
                for q in 0..w {
                    let r = rng.next_u64();
                    for k in 0..per_draw {
                        let keep = ((r >> (w * k)) & chunk_mask) >= threshold;
                        word |= (keep as u64) << (q * per_draw + k);
                    }
                }
                word
            })
            .collect();
        DropoutMask {
            rows,
            cols,
            keep_scale: (1.0 / (1.0 - p)) as f32,
            bits,
        }
    }

    /// The mask of rows `range` alone: the same decision for every entry as
    /// in `self`, so a shard of a batch drops what the whole batch would.
    pub fn rows(&self, range: std::ops::Range<usize>) -> DropoutMask {
        let (start, n) = (range.start * self.cols, range.len() * self.cols);
        let (w0, shift) = (start / 64, start % 64);
        let word = |k: usize| self.bits.get(k).copied().unwrap_or(0);
        let bits = (0..n.div_ceil(64))
            .map(|k| match shift {
                0 => word(w0 + k),
                s => (word(w0 + k) >> s) | (word(w0 + k + 1) << (64 - s)),
            })
            .collect();
        DropoutMask {
            rows: range.len(),
            cols: self.cols,
            keep_scale: self.keep_scale,
            bits,
        }
    }

    /// Whether entry `i` (row-major) is kept.
    #[inline]
    pub fn kept(&self, i: usize) -> bool {
        (self.bits[i / 64] >> (i % 64)) & 1 == 1
    }

    /// The mask as multipliers: 0 or `keep_scale`, row-major.
    pub fn to_vec(&self) -> Vec<f32> {
        (0..self.rows * self.cols)
            .map(|i| if self.kept(i) { self.keep_scale } else { 0.0 })
            .collect()
    }

    /// `v[i] = kept(i) ? v[i] * keep_scale : 0` over a whole activation.
    ///
    /// Each byte of mask bits selects its 8 lanes' masks from a table
    /// (`BYTE_LANES`), so the loop is a load and an and per value, which
    /// vectorizes on baseline x86-64. Testing bit k with a per-lane shift
    /// does not (SSE2 has no variable shift): that loop was 4.5% of an
    /// OPNN step. The values are the same: `keep_if`'s and with all ones
    /// or zero.
    fn apply(&self, v: &mut [f32]) {
        let s = self.keep_scale;
        const WORDS: usize = TASK_VALUES / 64;
        v.par_chunks_mut(64 * WORDS)
            .zip(self.bits.par_chunks(WORDS))
            .for_each(|(v, bits)| {
                // Whole groups of 8 (fixed-length: the loop that
                // vectorizes), then the shorter last group, if any, whose
                // byte starts at bit `done` of the task's words.
                let done = v.len() / 8 * 8;
                let tail_byte = bits.get(done / 64).map_or(0, |w| (w >> (done % 64)) as u8);
                let mut eights = v.chunks_exact_mut(8);
                let bytes = bits.iter().flat_map(|w| w.to_le_bytes());
                for (x, byte) in (&mut eights).zip(bytes) {
                    apply_lanes(x, &BYTE_LANES[byte as usize], s);
                }
                apply_lanes(eights.into_remainder(), &BYTE_LANES[tail_byte as usize], s);
            });
    }

    fn tensor(&self, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(self.to_vec(), (self.rows, self.cols), device)
    }
}

// ---------------------------------------------------------------------------
// bias + activation (+ dropout), with one or two pre-activation inputs

/// `act(z1 [+ z2] + b) [* mask]` over (rows, n) with `b` of shape (1, n).
struct BiasAct {
    relu: bool,
    mask: Option<DropoutMask>,
}

/// Entry b: the lane masks of a byte of dropout bits, lane k all ones iff
/// bit k of b is set.
static BYTE_LANES: [[u32; 8]; 256] = {
    let mut t = [[0u32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 8 {
            t[b][k] = (((b >> k) & 1) as u32).wrapping_neg();
            k += 1;
        }
        b += 1;
    }
    t
};

/// `x[k] = keep_if(lane k set, x[k] * s)`, the lanes from `BYTE_LANES`.
#[inline(always)]
fn apply_lanes(x: &mut [f32], lanes: &[u32; 8], s: f32) {
    for (x, &m) in x.iter_mut().zip(lanes) {
        *x = masked(*x * s, m);
    }
}

/// `v` if `keep`, else +0.0, by masking the bits: ReLU and dropout
/// patterns are random, so a branch here mispredicts half the time (this
/// was 15% of an MLP step); the mask form is branch-free and vectorizes.
#[inline(always)]
fn keep_if(keep: bool, v: f32) -> f32 {
    masked(v, (keep as u32).wrapping_neg())
}

/// `v`'s bits and-ed with `mask` (all ones keeps `v`, zero gives +0.0).
#[inline(always)]
fn masked(v: f32, mask: u32) -> f32 {
    f32::from_bits(v.to_bits() & mask)
}

/// ReLU as a select (not a branch), so the loops vectorize; NaN propagates.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

/// A vector of `n` values written by `fill` into uninitialized memory: no
/// zero-fill pass before the real one. `fill` must write every slot.
fn build_vec(n: usize, fill: impl FnOnce(&mut [std::mem::MaybeUninit<f32>])) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    fill(&mut v.spare_capacity_mut()[..n]);
    // SAFETY: the callers' loops write all n slots (zips over slices of
    // exactly n elements, asserted by the callers' shape checks).
    unsafe { v.set_len(n) };
    v
}

impl BiasAct {
    fn fwd(&self, z1: &[f32], z2: Option<&[f32]>, b: &[f32], n: usize) -> Vec<f32> {
        // One loop per case with the row's bias as a slice, so each inner
        // loop is branch-free and vectorizes.
        let mut out = build_vec(z1.len(), |out| {
            par_rows_uninit(out, n, |at, out| {
                let z1 = &z1[at..at + out.len()];
                let z2 = z2.map(|z2| &z2[at..at + out.len()]);
                self.fwd_rows(out, z1, z2, b, n)
            })
        });
        if let Some(m) = &self.mask {
            m.apply(&mut out);
        }
        out
    }

    /// The forward of whole rows: `out`, `z1` (and `z2`) of equal lengths.
    fn fwd_rows(
        &self,
        out: &mut [MaybeUninit<f32>],
        z1: &[f32],
        z2: Option<&[f32]>,
        b: &[f32],
        n: usize,
    ) {
        {
            let rows = out.chunks_exact_mut(n).zip(z1.chunks_exact(n));
            match (z2, self.relu) {
                (None, false) => rows.for_each(|(o, z)| {
                    for ((o, x), c) in o.iter_mut().zip(z).zip(b) {
                        o.write(x + c);
                    }
                }),
                (None, true) => rows.for_each(|(o, z)| {
                    for ((o, x), c) in o.iter_mut().zip(z).zip(b) {
                        o.write(relu(x + c));
                    }
                }),
                (Some(z2), false) => rows.zip(z2.chunks_exact(n)).for_each(|((o, z), z2)| {
                    for (((o, x), y), c) in o.iter_mut().zip(z).zip(z2).zip(b) {
                        o.write(x + y + c);
                    }
                }),
                (Some(z2), true) => rows.zip(z2.chunks_exact(n)).for_each(|((o, z), z2)| {
                    for (((o, x), y), c) in o.iter_mut().zip(z).zip(z2).zip(b) {
                        o.write(relu(x + y + c));
                    }
                }),
            }
        }
    }

    fn check(&self, rows: usize, n: usize, b_len: usize) -> Result<()> {
        if n == 0 || b_len != n {
            bail!("bias_act: bias has {b_len} entries, input has {n} columns");
        }
        if let Some(m) = &self.mask {
            if (m.rows, m.cols) != (rows, n) {
                bail!("bias_act: mask is {}x{}, input {rows}x{n}", m.rows, m.cols);
            }
        }
        Ok(())
    }

    /// Gradient w.r.t. the pre-activation and the bias, from one pass over
    /// the output gradient. With ReLU, `y` (the op's output) is > 0 exactly
    /// where the unit was active and kept, i.e. where the gradient flows, so
    /// the mask itself is not needed.
    fn bwd(&self, y: &Tensor, g: &Tensor, n: usize) -> Result<(Tensor, Tensor)> {
        if !self.relu && self.mask.is_none() {
            let gb = with_f32(g, |g| col_sum(g, n))?;
            return Ok((g.clone(), Tensor::from_vec(gb, (1, n), g.device())?));
        }
        let s = self.mask.as_ref().map_or(1.0, |m| m.keep_scale);
        let gz: Vec<f32> = with_f32(g, |g| match (&self.mask, self.relu) {
            (_, true) => with_f32(y, |y| {
                if y.len() != g.len() {
                    bail!("bias_act: gradient and output sizes differ");
                }
                Ok(build_vec(g.len(), |o| {
                    par_rows_uninit(o, n, |at, o| {
                        let (g, y) = (&g[at..at + o.len()], &y[at..at + o.len()]);
                        for ((o, g), y) in o.iter_mut().zip(g).zip(y) {
                            o.write(keep_if(*y > 0.0, g * s));
                        }
                    })
                }))
            })?,
            (Some(m), false) => {
                let mut gz = g.to_vec();
                m.apply(&mut gz);
                Ok(gz)
            }
            (None, false) => unreachable!("handled above"),
        })??;
        let gb = col_sum(&gz, n);
        let rows = gz.len() / n;
        Ok((
            Tensor::from_vec(gz, (rows, n), g.device())?,
            Tensor::from_vec(gb, (1, n), g.device())?,
        ))
    }
}

impl CustomOp2 for BiasAct {
    fn name(&self) -> &'static str {
        "bias_act"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, n) = dims2(l1, "bias_act")?;
        let z = slice(s1, l1, "bias_act")?;
        let b = slice(s2, l2, "bias_act")?;
        self.check(rows, n, b.len())?;
        let out = self.fwd(z, None, b, n);
        Ok((CpuStorage::F32(out), Shape::from((rows, n))))
    }

    fn bwd(
        &self,
        z: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (gz, gb) = self.bwd(res, g, z.dim(1)?)?;
        Ok((Some(gz), Some(gb)))
    }
}

/// The two-input form: `act(z1 + z2 + b)`, saving the add node (and its
/// backward) where a layer sums two matmuls (OPNN's l1, DCN's output).
struct BiasAct2(BiasAct);

impl CustomOp3 for BiasAct2 {
    fn name(&self) -> &'static str {
        "bias_act2"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, n) = dims2(l1, "bias_act2")?;
        if l2.dims() != l1.dims() {
            bail!(
                "bias_act2: shapes {:?} and {:?} differ",
                l1.dims(),
                l2.dims()
            );
        }
        let z1 = slice(s1, l1, "bias_act2")?;
        let z2 = slice(s2, l2, "bias_act2")?;
        let b = slice(s3, l3, "bias_act2")?;
        self.0.check(rows, n, b.len())?;
        let out = self.0.fwd(z1, Some(z2), b, n);
        Ok((CpuStorage::F32(out), Shape::from((rows, n))))
    }

    fn bwd(
        &self,
        z1: &Tensor,
        _z2: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (gz, gb) = self.0.bwd(res, g, z1.dim(1)?)?;
        // Both summands receive the same gradient: share the tensor.
        Ok((Some(gz.clone()), Some(gz), Some(gb)))
    }
}

/// `act(z + b) [* mask]`; `b` has shape (1, n). `relu = false` is the
/// identity (an output layer's bias).
pub fn bias_act(
    z: &Tensor,
    b: &Tensor,
    relu: bool,
    mask: Option<DropoutMask>,
    fused: bool,
) -> Result<Tensor> {
    if fused {
        return z.apply_op2(b, BiasAct { relu, mask });
    }
    stock_act(z.broadcast_add(b)?, relu, mask)
}

/// `act(z1 + z2 + b) [* mask]`.
pub fn bias_act2(
    z1: &Tensor,
    z2: &Tensor,
    b: &Tensor,
    relu: bool,
    mask: Option<DropoutMask>,
    fused: bool,
) -> Result<Tensor> {
    if fused {
        return z1.apply_op3(z2, b, BiasAct2(BiasAct { relu, mask }));
    }
    stock_act((z1 + z2)?.broadcast_add(b)?, relu, mask)
}

/// `act(x w + b) [* mask]`: a hidden layer as one graph node.
///
/// Why: candle's backward gives every node's gradient its own buffer,
/// zero-filled and then added to (`GradStore::or_insert`), so a matmul
/// followed by `bias_act` paid a zero-fill and an add over the whole
/// pre-activation (OPNN: 512 x 256 and 512 x 128 per step). Here `x w` is
/// computed by candle's gemm call on detached inputs (`super::gemm`) and
/// the backward makes candle's matmul-backward products (the same calls) on
/// the pre-activation gradient, so values are the same bits as the two-node
/// form: that gradient never holds -0.0 (the output gradient comes from a
/// zero-initialised sum, scaled by >= 1 or masked to +0.0), so skipping
/// candle's `0 + g` changes nothing.
struct LinearAct {
    /// `x w`, computed at construction.
    z: Tensor,
    act: BiasAct,
    /// Where the backward leaves x's gradient instead of handing it to
    /// candle (`linear_act` with an `x_grad`); None: handed to candle.
    x_grad: Option<InputGrad>,
}

/// The gradient of a network's input x0, left by its one consumer's
/// backward (`linear_act` with an `x_grad`) outside candle's gradient
/// store. Why: the store zero-fills a buffer for every input and adds the
/// gradient into it (`GradStore::or_insert`), a (rows x width) fill, add
/// and allocation per shard that the embedding copy then reads again; the
/// MLP's input has one consumer, so its gradient needs no sum.
#[derive(Clone, Default)]
pub struct InputGrad(Arc<std::sync::OnceLock<Tensor>>);

impl InputGrad {
    /// The gradient left by backward, None before (or if x0 took no part).
    pub fn get(&self) -> Option<&Tensor> {
        self.0.get()
    }
}

impl CustomOp3 for LinearAct {
    fn name(&self) -> &'static str {
        "linear_act"
    }

    fn cpu_fwd(
        &self,
        _s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, n) = self.z.dims2()?;
        match (l1.dims(), l2.dims()) {
            ([r, k], [k2, c]) if (*r, *c) == (rows, n) && k == k2 => {}
            (a, b) => bail!("linear_act: shapes {a:?} x {b:?} do not give {rows}x{n}"),
        }
        let b = slice(s3, l3, "linear_act")?;
        self.act.check(rows, n, b.len())?;
        let out = with_f32(&self.z, |z| self.act.fwd(z, None, b, n))?;
        Ok((CpuStorage::F32(out), Shape::from((rows, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (gz, gb) = self.act.bwd(res, g, self.z.dim(1)?)?;
        // candle's Matmul backward, the same calls on the same layouts.
        let gx = gemm::matmul(&gz, &w.t()?)?;
        let gw = gemm::matmul(&x.t()?, &gz)?;
        let gx = match &self.x_grad {
            Some(sink) => {
                if sink.0.set(gx).is_err() {
                    bail!("linear_act: the input gradient was left twice");
                }
                None
            }
            None => Some(gx),
        };
        Ok((gx, Some(gw), Some(gb)))
    }
}

/// `act(x w + b) [* mask]` (a hidden layer); `b` has shape (1, n). Fused,
/// its backward leaves x's gradient in `x_grad` where given (an input with
/// no other consumer) instead of candle's gradient store; unfused, or
/// without `x_grad`, the gradient goes to the store.
pub fn linear_act(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    relu: bool,
    mask: Option<DropoutMask>,
    fused: bool,
    x_grad: Option<InputGrad>,
) -> Result<Tensor> {
    if fused {
        let z = gemm::matmul(x, w)?;
        let act = BiasAct { relu, mask };
        return x.apply_op3(w, b, LinearAct { z, act, x_grad });
    }
    stock_act(x.matmul(w)?.broadcast_add(b)?, relu, mask)
}

fn stock_act(pre: Tensor, relu: bool, mask: Option<DropoutMask>) -> Result<Tensor> {
    // ReLU as pre * (pre > 0), not candle's relu(): its backward lets the
    // gradient through at pre == 0 exactly; the fused op (like PyTorch and
    // TensorFlow) uses relu'(0) = 0, and both paths must agree. Exact zeros
    // are common under dropout: a unit whose inputs were all dropped.
    let y = if relu {
        let on = pre.gt(0f64)?.to_dtype(pre.dtype())?;
        pre.mul(&on)?
    } else {
        pre
    };
    match mask {
        Some(m) => y.mul(&m.tensor(y.device())?),
        None => Ok(y),
    }
}

// ---------------------------------------------------------------------------
// DCN cross layer (without its bias, which bias_act adds)

/// `x0 * (xl . w) + xl` row by row; x0, xl (rows, D), w (D, 1).
struct Cross;

/// Dot product with 8 independent partial sums: a single running sum is a
/// chain of dependent adds that cannot vectorize (it was 20% of a DCN
/// step). The summation order is fixed, so results stay deterministic.
fn row_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

impl CustomOp3 for Cross {
    fn name(&self) -> &'static str {
        "cross"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, d) = dims2(l1, "cross")?;
        if l2.dims() != l1.dims() || l3.dims() != [d, 1] {
            bail!(
                "cross: shapes x0 {:?}, xl {:?}, w {:?}",
                l1.dims(),
                l2.dims(),
                l3.dims()
            );
        }
        let x0 = slice(s1, l1, "cross")?;
        let xl = slice(s2, l2, "cross")?;
        let w = slice(s3, l3, "cross")?;
        let out = build_vec(rows * d, |out| {
            par_rows_uninit(out, d, |at, out| {
                let (x0, xl) = (&x0[at..at + out.len()], &xl[at..at + out.len()]);
                for ((o, r0), rl) in out
                    .chunks_exact_mut(d)
                    .zip(x0.chunks_exact(d))
                    .zip(xl.chunks_exact(d))
                {
                    let s = row_dot(rl, w);
                    for ((o, a), b) in o.iter_mut().zip(r0).zip(rl) {
                        o.write(a * s + b);
                    }
                }
            })
        });
        Ok((CpuStorage::F32(out), Shape::from((rows, d))))
    }

    /// With s = xl.w and t = g.x0 per row: d/dx0 = g s, d/dxl = g + t w^T,
    /// d/dw = sum over rows of t xl.
    fn bwd(
        &self,
        x0: &Tensor,
        xl: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (rows, d) = x0.dims2()?;
        // In the first layer xl is x0 itself: return one summed gradient
        // instead of two that candle would add up in a further pass.
        let same = x0.id() == xl.id();
        let (gx0, gxl, gw) = with_f32(x0, |x0| {
            with_f32(xl, |xl| {
                with_f32(w, |w| {
                    with_f32(g, |g| {
                        // Per row: t = g.x0 and the input gradients (row
                        // blocks in parallel); then d/dw = sum_r t_r xl_r.
                        let mut ts = vec![0f32; rows];
                        let mut gx0 = vec![0f32; rows * d];
                        let mut gxl = vec![0f32; if same { 0 } else { rows * d }];
                        let per = rows_per_task(d);
                        let gxl_blocks: Vec<&mut [f32]> = if same {
                            Vec::new()
                        } else {
                            gxl.chunks_mut(per * d).collect()
                        };
                        let mut gxl_blocks: Vec<Option<&mut [f32]>> =
                            gxl_blocks.into_iter().map(Some).collect();
                        gxl_blocks.resize_with(rows.div_ceil(per), || None);
                        gx0.par_chunks_mut(per * d)
                            .zip(ts.par_chunks_mut(per))
                            .zip(gxl_blocks.into_par_iter())
                            .enumerate()
                            .for_each(|(b, ((gx0, ts), mut gxl))| {
                                let at = b * per * d;
                                let n = gx0.len();
                                let (x0, xl, g) =
                                    (&x0[at..at + n], &xl[at..at + n], &g[at..at + n]);
                                for (r, ((r0, rl), rg)) in x0
                                    .chunks_exact(d)
                                    .zip(xl.chunks_exact(d))
                                    .zip(g.chunks_exact(d))
                                    .enumerate()
                                {
                                    let s = row_dot(rl, w);
                                    let t = row_dot(rg, r0);
                                    ts[r] = t;
                                    let o0 = &mut gx0[r * d..(r + 1) * d];
                                    match gxl.as_deref_mut() {
                                        None => {
                                            for ((o, v), wi) in o0.iter_mut().zip(rg).zip(w) {
                                                *o = v * s + (v + t * wi);
                                            }
                                        }
                                        Some(gxl) => {
                                            let ol = &mut gxl[r * d..(r + 1) * d];
                                            for (((o, l), v), wi) in
                                                o0.iter_mut().zip(ol).zip(rg).zip(w)
                                            {
                                                *o = v * s;
                                                *l = v + t * wi;
                                            }
                                        }
                                    }
                                }
                            });
                        let gw = weighted_col_sum(xl, Some(&ts), d);
                        (gx0, gxl, gw)
                    })
                })
            })
        })????;
        let dev = g.device();
        let gxl = if same {
            None
        } else {
            Some(Tensor::from_vec(gxl, (rows, d), dev)?)
        };
        Ok((
            Some(Tensor::from_vec(gx0, (rows, d), dev)?),
            gxl,
            Some(Tensor::from_vec(gw, (d, 1), dev)?),
        ))
    }
}

/// `x0 * (xl . w) + xl` (DCN's cross layer before its bias).
pub fn cross(x0: &Tensor, xl: &Tensor, w: &Tensor, fused: bool) -> Result<Tensor> {
    if fused {
        return x0.apply_op3(xl, w, Cross);
    }
    x0.broadcast_mul(&xl.matmul(w)?)? + xl
}

// ---------------------------------------------------------------------------
// Matrix times a column: an output layer with one unit

/// `x w` for x (rows, D), w (D, 1): one dot product per row. gemm pays its
/// packing and dispatch for such a skinny product (and again for both
/// backward products); these loops do not.
struct MatVec;

impl CustomOp2 for MatVec {
    fn name(&self) -> &'static str {
        "matvec"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, d) = dims2(l1, "matvec")?;
        if l2.dims() != [d, 1] || d == 0 {
            bail!("matvec: shapes {:?} and {:?}", l1.dims(), l2.dims());
        }
        let x = slice(s1, l1, "matvec")?;
        let w = slice(s2, l2, "matvec")?;
        let mut out = vec![0f32; rows];
        let per = rows_per_task(d);
        out.par_chunks_mut(per)
            .zip(x.par_chunks(per * d))
            .for_each(|(o, x)| {
                for (o, r) in o.iter_mut().zip(x.chunks_exact(d)) {
                    *o = row_dot(r, w);
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((rows, 1))))
    }

    /// d/dx = g w^T (row i: g_i w), d/dw = sum over rows of g_i x_i.
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (rows, d) = x.dims2()?;
        let (gx, gw) = with_f32(x, |x| {
            with_f32(w, |w| {
                with_f32(g, |g| {
                    let gx = build_vec(rows * d, |gx| {
                        par_rows_uninit(gx, d, |at, gx| {
                            for (o, gi) in gx.chunks_exact_mut(d).zip(&g[at / d..]) {
                                for (o, wj) in o.iter_mut().zip(w) {
                                    o.write(gi * wj);
                                }
                            }
                        })
                    });
                    (gx, weighted_col_sum(x, Some(g), d))
                })
            })
        })???;
        let dev = g.device();
        Ok((
            Some(Tensor::from_vec(gx, (rows, d), dev)?),
            Some(Tensor::from_vec(gw, (d, 1), dev)?),
        ))
    }
}

/// `x w`, with the matrix-vector op when `w` is a column.
pub fn matmul(x: &Tensor, w: &Tensor, fused: bool) -> Result<Tensor> {
    if fused && w.rank() == 2 && w.dim(1)? == 1 {
        return x.apply_op2(w, MatVec);
    }
    x.matmul(w)
}

// ---------------------------------------------------------------------------
// OPNN: sum-pooled outer product

/// From x (rows, W) whose first `n_fields * dim` columns are the field
/// embeddings: f = sum of the fields' embeddings, output vec(f f^T)
/// (rows, dim * dim). Columns past the embeddings (dense features) are
/// ignored and get a zero gradient.
struct OuterPool {
    n_fields: usize,
    dim: usize,
}

impl OuterPool {
    fn pool(&self, row: &[f32], f: &mut [f32]) {
        f.fill(0.0);
        for e in row[..self.n_fields * self.dim].chunks_exact(self.dim) {
            for (a, v) in f.iter_mut().zip(e) {
                *a += v;
            }
        }
    }
}

impl CustomOp1 for OuterPool {
    fn name(&self) -> &'static str {
        "outer_pool"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (rows, w) = dims2(l, "outer_pool")?;
        let d = self.dim;
        if w < self.n_fields * d {
            bail!(
                "outer_pool: {w} columns < {} fields x dim {d}",
                self.n_fields
            );
        }
        let x = slice(s, l, "outer_pool")?;
        let per = rows_per_task(w);
        let out = build_vec(rows * d * d, |out| {
            out.par_chunks_mut(per * d * d)
                .zip(x.par_chunks(per * w))
                .for_each(|(out, x)| {
                    let mut f = vec![0f32; d];
                    for (o, row) in out.chunks_exact_mut(d * d).zip(x.chunks_exact(w)) {
                        self.pool(row, &mut f);
                        for (o, a) in o.chunks_exact_mut(d).zip(&f) {
                            for (o, b) in o.iter_mut().zip(&f) {
                                o.write(a * b);
                            }
                        }
                    }
                })
        });
        Ok((CpuStorage::F32(out), Shape::from((rows, d * d))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(self.grad(x, g)?))
    }
}

impl OuterPool {
    /// dL/dx from g = dL/dvec(f f^T): dL/df = (G + G^T) f per row, and
    /// every field's embedding receives it.
    fn grad(&self, x: &Tensor, g: &Tensor) -> Result<Tensor> {
        let (rows, w) = x.dims2()?;
        let d = self.dim;
        let emb = self.n_fields * d;
        let gx = with_f32(x, |x| {
            with_f32(g, |g| {
                let per = rows_per_task(w);
                build_vec(rows * w, |gx| {
                    gx.par_chunks_mut(per * w)
                        .zip(x.par_chunks(per * w))
                        .zip(g.par_chunks(per * d * d))
                        .for_each(|((gx, x), g)| {
                            let mut f = vec![0f32; d];
                            let mut gf = vec![0f32; d];
                            for ((o, row), gr) in gx
                                .chunks_exact_mut(w)
                                .zip(x.chunks_exact(w))
                                .zip(g.chunks_exact(d * d))
                            {
                                self.pool(row, &mut f);
                                for (a, gfa) in gf.iter_mut().enumerate() {
                                    let mut s = 0f32;
                                    for (b, fb) in f.iter().enumerate() {
                                        s += (gr[a * d + b] + gr[b * d + a]) * fb;
                                    }
                                    *gfa = s;
                                }
                                let (embs, dense) = o.split_at_mut(emb);
                                for e in embs.chunks_exact_mut(d) {
                                    for (o, v) in e.iter_mut().zip(&gf) {
                                        o.write(*v);
                                    }
                                }
                                // Dense columns past the embeddings: zero.
                                for o in dense {
                                    o.write(0.0);
                                }
                            }
                        })
                })
            })
        })??;
        Tensor::from_vec(gx, (rows, w), g.device())
    }
}

/// vec(f f^T) with f the sum of the first `n_fields` embeddings of size
/// `dim` in each row of `x`.
pub fn outer_pool(x: &Tensor, n_fields: usize, dim: usize, fused: bool) -> Result<Tensor> {
    if fused {
        return x.apply_op1(OuterPool { n_fields, dim });
    }
    let rows = x.dim(0)?;
    let f = x
        .narrow(1, 0, n_fields * dim)?
        .reshape((rows, n_fields, dim))?
        .sum(1)?;
    f.unsqueeze(2)?
        .broadcast_mul(&f.unsqueeze(1)?)?
        .reshape((rows, dim * dim))
}

/// OPNN's product layer before its bias: `x w_z + vec(f f^T) w_p` as one
/// graph node (inputs x, w_z, w_p). Both products and the outer product are
/// computed by candle's gemm call (`super::gemm`) and `OuterPool` on
/// detached inputs at construction; the forward adds them. Why: in the
/// composed form candle's backward zero-fills and adds a gradient buffer for
/// each summand (512 x 512 each) and for the outer product
/// (docs/performance.md). The backward below makes candle's
/// matmul-backward calls (the same products), so the values
/// are the same bits: the incoming gradient holds no -0.0 (see
/// `LinearAct`), the outer-product backward sums from +0.0 (insensitive to
/// the sign of a zero), and x's two contributions are added once (x + y =
/// y + x, and 0 + (a + b) equals (0 + a) + b in every case of signed zeros).
struct ProductLayer {
    pool: OuterPool,
    /// vec(f f^T), (rows, dim * dim).
    prod: Tensor,
    /// `x w_z` and `prod w_p`, each (rows, h).
    z1: Tensor,
    z2: Tensor,
}

impl CustomOp3 for ProductLayer {
    fn name(&self) -> &'static str {
        "product_layer"
    }

    fn cpu_fwd(
        &self,
        _s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        _l2: &Layout,
        _s3: &CpuStorage,
        _l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, n) = self.z1.dims2()?;
        if l1.dims()[0] != rows {
            bail!("product_layer: {} rows, products of {rows}", l1.dims()[0]);
        }
        let out = with_f32(&self.z1, |z1| {
            with_f32(&self.z2, |z2| {
                build_vec(rows * n, |out| {
                    par_rows_uninit(out, n, |at, out| {
                        let (z1, z2) = (&z1[at..at + out.len()], &z2[at..at + out.len()]);
                        for ((o, a), b) in out.iter_mut().zip(z1).zip(z2) {
                            o.write(a + b);
                        }
                    })
                })
            })
        })??;
        Ok((CpuStorage::F32(out), Shape::from((rows, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        wz: &Tensor,
        wp: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // candle's Matmul backward of both products, the same calls.
        let gx_lin = gemm::matmul(g, &wz.t()?)?;
        let gwz = gemm::matmul(&x.t()?, g)?;
        let gprod = gemm::matmul(g, &wp.t()?)?;
        let gwp = gemm::matmul(&self.prod.t()?, g)?;
        let gx = (gx_lin + self.pool.grad(x, &gprod)?)?;
        Ok((Some(gx), Some(gwz), Some(gwp)))
    }
}

/// `x w_z + vec(f f^T) w_p` with f the sum of the first `n_fields`
/// embeddings of size `dim` in each row of `x` (OPNN's l1 before its bias).
pub fn product_layer(
    x: &Tensor,
    wz: &Tensor,
    wp: &Tensor,
    n_fields: usize,
    dim: usize,
    fused: bool,
) -> Result<Tensor> {
    if fused {
        let xd = x.detach();
        let pool = OuterPool { n_fields, dim };
        let prod = xd.apply_op1(OuterPool { n_fields, dim })?;
        let z1 = gemm::matmul(&xd, wz)?;
        let z2 = gemm::matmul(&prod, wp)?;
        let op = ProductLayer { pool, prod, z1, z2 };
        return x.apply_op3(wz, wp, op);
    }
    x.matmul(wz)? + outer_pool(x, n_fields, dim, false)?.matmul(wp)?
}

// ---------------------------------------------------------------------------
// The loss seed: backpropagate a hand-computed dL/dlogit

/// Forward: sum(x * g) (a scalar); backward: g. With g = dL/dlogits,
/// `seed_grad(logits, g).backward()` yields exactly dL/dparams while the loss
/// itself is computed stably on the side (docs/performance.md: candle_nn's BCE is
/// unstable).
struct SeedGrad {
    g: Arc<[f32]>,
}

impl CustomOp1 for SeedGrad {
    fn name(&self) -> &'static str {
        "seed_grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice(s, l, "seed_grad")?;
        if x.len() != self.g.len() {
            bail!("seed_grad: {} logits, {} gradients", x.len(), self.g.len());
        }
        let v: f64 = x
            .iter()
            .zip(self.g.iter())
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum();
        Ok((CpuStorage::F32(vec![v as f32]), Shape::from(())))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        let scale = with_f32(g, |s| s[0])?;
        let v: Vec<f32> = self.g.iter().map(|v| v * scale).collect();
        Ok(Some(Tensor::from_vec(v, x.shape(), x.device())?))
    }
}

/// A scalar whose gradient w.r.t. `logits` is `g` (same element count).
pub fn seed_grad(logits: &Tensor, g: Arc<[f32]>, fused: bool) -> Result<Tensor> {
    if fused {
        return logits.apply_op1(SeedGrad { g });
    }
    let gt = Tensor::from_slice(&g, logits.shape(), logits.device())?;
    logits.mul(&gt)?.sum_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table-driven mask is the bit-by-bit `keep_if` to the bit: rates
    /// with 1 and 16 bits per decision, sizes that end inside a byte and
    /// inside a word, and more than one parallel task.
    #[test]
    fn applied_masks_are_the_bitwise_selection() {
        for (rows, cols, p) in [
            (37, 13, 0.5),
            (512, 512, 0.5),
            (3, 5, 0.3),
            (64, 400, 0.2),
            (1, 7, 0.5),
        ] {
            let m = DropoutMask::draw(11, 2, rows, cols, p);
            let mut r = SplitMix64::new(rows as u64);
            let v: Vec<f32> = (0..rows * cols).map(|_| r.normal() as f32).collect();
            let mut got = v.clone();
            m.apply(&mut got);
            let want: Vec<u32> = v
                .iter()
                .enumerate()
                .map(|(i, x)| keep_if(m.kept(i), x * m.keep_scale).to_bits())
                .collect();
            let got: Vec<u32> = got.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, want, "{rows}x{cols} p {p}");
        }
    }
}
