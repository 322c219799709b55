//! The dynamic embedding store: one row per feature key, created the first
//! time the key is seen in training, holding the row's weights and its
//! optimizer state side by side.
//!
//! Why this shape:
//! - Rows live in fixed-size chunks, never reallocated, so the table grows
//!   without the 2x copy peak of a growing `Vec` and a row's address is stable.
//! - A row's weights and optimizer slots are adjacent (`[w | state]`): the
//!   sparse update is random-memory bound, and one cache-line run per row
//!   beats two or three scattered ones.
//! - A new row is initialized from `(seed, key)` alone, so results do not
//!   depend on arrival order or thread count.
//! - Per batch, touched rows are deduplicated by key (`data::DistinctKeys`,
//!   usually computed on the reader thread): gradients of every occurrence
//!   are summed per unique row (docs/math.md), then unique rows are updated
//!   in parallel without locks.

use rayon::prelude::*;

use crate::data::Batch;
use crate::optim::core::prefetch;
use crate::optim::Optimizer;
use crate::rng::SplitMix64;

mod huge;
mod index;
mod resolve;
pub use huge::advise_huge_pages;
pub use index::KeyIndex;
pub use resolve::{IndexView, Lookup, Touched};

/// Rows per storage chunk (2^16): large enough that chunk bookkeeping is
/// negligible, small enough that the last, partly used chunk costs little.
const CHUNK_ROWS_LOG2: u32 = 16;
pub const CHUNK_ROWS: usize = 1 << CHUNK_ROWS_LOG2;
const NO_SLOT: u32 = u32::MAX;

/// How new rows start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowInit {
    /// Standard deviation of the normal init; 0 starts rows at zero (LR / FTRL).
    pub std: f32,
    /// Run seed; a row's init depends only on (seed, key).
    pub seed: u64,
}

/// Saved rows that do not fit a store (`EmbeddingStore::restore`).
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("embedding rows: {keys} keys, {floats} floats (expected {expected}), {steps} steps")]
    Sizes {
        keys: usize,
        floats: usize,
        expected: usize,
        steps: usize,
    },
    #[error("embedding rows: key {key} appears twice")]
    Duplicate { key: u64 },
}

pub struct EmbeddingStore {
    dim: usize,
    stride: usize,
    init: RowInit,
    index: KeyIndex,
    chunks: Vec<Box<[f32]>>,
    last_step: Vec<u32>,
    n_rows: usize,
    /// Bumped by every change of the key index: a `Lookup` made at another
    /// version is stale.
    index_version: u64,
}

/// A raw pointer that may cross threads: every parallel user touches
/// disjoint elements (unique row ids), which is what makes the accesses sound.
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// Taking `self` makes closures capture the whole (Sync) wrapper rather
    /// than its raw-pointer field.
    #[inline]
    fn get(self) -> *mut T {
        self.0
    }
}

/// The start of a row: normal weights from `(seed, key)` (zeros when
/// `std` is 0), then the optimizer's initial state.
fn init_row(init: RowInit, key: u64, opt: &Optimizer, w: &mut [f32], s: &mut [f32]) {
    if init.std > 0.0 {
        let mut rng = SplitMix64::for_key(init.seed, key);
        for x in w.iter_mut() {
            *x = (rng.normal() * init.std as f64) as f32;
        }
    }
    opt.init_state(w, s);
}

/// Touched rows per parallel task of the sparse update.
const UPDATE_CHUNK: usize = 256;
/// Samples per parallel task of `gather`.
const GATHER_SAMPLES: usize = 64;
/// Fewest unique rows worth a parallel task of their own in `gather`'s copy.
const COPY_MIN_ROWS: usize = 256;
/// Fewest unique rows worth a task of its own in `scatter_grads`.
const SCATTER_MIN_SLOTS: usize = 512;

impl EmbeddingStore {
    /// A store of `dim`-wide rows whose optimizer needs `state_len` floats per row.
    pub fn new(dim: usize, state_len: usize, init: RowInit) -> Self {
        assert!(dim > 0, "embedding dim must be > 0");
        Self {
            dim,
            stride: dim + state_len,
            init,
            index: KeyIndex::default(),
            chunks: Vec::new(),
            last_step: Vec::new(),
            n_rows: 0,
            index_version: 0,
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows: distinct features seen in training.
    pub fn len(&self) -> usize {
        self.n_rows
    }

    pub fn is_empty(&self) -> bool {
        self.n_rows == 0
    }

    #[inline]
    fn row_ptr(&self, row: u32) -> *const f32 {
        let r = row as usize;
        // SAFETY: row < n_rows, so its chunk exists and the offset is in bounds.
        unsafe {
            self.chunks[r >> CHUNK_ROWS_LOG2]
                .as_ptr()
                .add((r & (CHUNK_ROWS - 1)) * self.stride)
        }
    }

    /// The whole `[weights | state]` block of a row (for prefetching).
    #[inline]
    fn block(&self, row: u32) -> &[f32] {
        // SAFETY: row < n_rows, so the stride-wide block is in bounds.
        unsafe { std::slice::from_raw_parts(self.row_ptr(row), self.stride) }
    }

    /// The weights of row `row`.
    #[inline]
    pub fn weights(&self, row: u32) -> &[f32] {
        debug_assert!((row as usize) < self.n_rows);
        unsafe { std::slice::from_raw_parts(self.row_ptr(row), self.dim) }
    }

    /// Weights and optimizer state of row `row`.
    pub fn row_mut(&mut self, row: u32) -> (&mut [f32], &mut [f32], &mut u32) {
        assert!((row as usize) < self.n_rows);
        let p = self.row_ptr(row) as *mut f32;
        // SAFETY: the row's stride-wide block is in bounds and borrowed mutably once.
        let block = unsafe { std::slice::from_raw_parts_mut(p, self.stride) };
        let (w, s) = block.split_at_mut(self.dim);
        (w, s, &mut self.last_step[row as usize])
    }

    /// The row of `key`, if it has been seen in training.
    pub fn lookup(&self, key: u64) -> Option<u32> {
        self.index.get(key)
    }

    /// The row of `key`, created (and initialized) if new.
    pub fn lookup_or_insert(&mut self, key: u64, opt: &Optimizer) -> u32 {
        if let Some(row) = self.index.get(key) {
            return row;
        }
        let row = self.push_row(key);
        let init = self.init;
        let (w, s, _) = self.row_mut(row);
        init_row(init, key, opt, w, s);
        row
    }

    /// Give new key `key` the next row id (zeroed, not yet initialized).
    fn push_row(&mut self, key: u64) -> u32 {
        let row = self.n_rows as u32;
        if self.n_rows == self.chunks.len() * CHUNK_ROWS {
            self.chunks.push(new_chunk(CHUNK_ROWS * self.stride));
        }
        self.n_rows += 1;
        // Huge pages: each row update reads and stamps a random entry.
        huge::push(&mut self.last_step, 0);
        self.index.insert_new(key, row);
        self.index_version += 1;
        row
    }

    /// Pool the embeddings of `batch` for scoring: keys unseen in training
    /// read as zero vectors (docs/data.md); no row is created. Through
    /// `&self`, its samples spread over the rayon pool, so a stream is
    /// gathered while the model scores the batch before (`train::score`).
    /// Each bag sums its known keys' rows in key order, as `gather` does,
    /// so the values are the training gather's bits at any thread count.
    pub fn gather_known(&self, batch: &Batch, out: &mut Vec<f32>) {
        let d = self.dim;
        let per_sample = batch.n_fields * d;
        // Every value is written below (`sum_rows_into`): no zero-fill.
        out.resize(batch.len * per_sample, 0.0);
        if per_sample == 0 {
            return;
        }
        // Blocks of samples: each looks up its keys first, their buckets
        // prefetched ahead, then sums with rows prefetched ahead (index
        // buckets and rows are random memory: the misses, not the adds,
        // are the cost; unprefetched lookups were ~15% of evaluation).
        const BLOCK: usize = 64;
        out.par_chunks_mut(per_sample * BLOCK)
            .enumerate()
            .for_each_init(Vec::new, |rows, (b, block)| {
                let bag0 = b * BLOCK * batch.n_fields;
                let n_bags = block.len() / d;
                let (k0, k1) = (
                    batch.offsets[bag0] as usize,
                    batch.offsets[bag0 + n_bags] as usize,
                );
                let keys = &batch.keys[k0..k1];
                rows.clear();
                rows.extend(keys.iter().enumerate().map(|(j, &k)| {
                    if let Some(&ahead) = keys.get(j + PREFETCH_AHEAD) {
                        self.index.prefetch(ahead);
                    }
                    self.lookup(k).unwrap_or(NO_SLOT)
                }));
                for (bag, dst) in block.chunks_exact_mut(d).enumerate() {
                    let (lo, hi) = (
                        batch.offsets[bag0 + bag] as usize - k0,
                        batch.offsets[bag0 + bag + 1] as usize - k0,
                    );
                    if let Some(&ahead) = rows.get(hi + PREFETCH_AHEAD) {
                        if ahead != NO_SLOT {
                            prefetch(self.weights(ahead));
                        }
                    }
                    let known = rows[lo..hi].iter().filter(|&&r| r != NO_SLOT);
                    sum_rows_into(dst, known.map(|&r| self.weights(r)));
                }
            });
    }

    /// Sum-pool the embeddings of each (sample, field) bag into `out`
    /// (`batch.len x n_fields x dim`, sample-major then field-major).
    /// `perturb`, when given (`touched.rows.len() x dim`), is added to each
    /// touched row first (Hessian-vector products by finite differences).
    pub fn gather(
        &self,
        batch: &Batch,
        touched: &mut Touched,
        perturb: Option<&[f32]>,
        out: &mut Vec<f32>,
    ) {
        let d = self.dim;
        let Touched {
            rows,
            slot_of_key,
            weights,
            ..
        } = touched;
        // First each unique row's weights, copied once into a compact
        // buffer: the rows are random memory and their misses are the
        // cost, so they are paid once per row rather than once per key
        // occurrence (a batch repeats its rows ~4x). The copy is exact, so
        // the sums below are the same bits as summing from the rows.
        // Every value is overwritten below: resized, not zero-filled.
        weights.resize(rows.len() * d, 0.0);
        for_each_part(rows, weights, d, COPY_MIN_ROWS, |rows, dst| {
            for (j, (&row, dst)) in rows.iter().zip(dst.chunks_exact_mut(d)).enumerate() {
                if let Some(&ahead) = rows.get(j + PREFETCH_AHEAD) {
                    prefetch(self.weights(ahead));
                }
                dst.copy_from_slice(self.weights(row));
            }
        });
        let weights = &weights[..];
        let slot_of_key = &slot_of_key[..];
        let n_bags = batch.len * batch.n_fields;
        // Every value is written below (`sum_rows_into`): no zero-fill.
        out.resize(n_bags * d, 0.0);
        // Blocks of whole samples in parallel: each output value is written
        // by one task, summing its bag in key order, as a serial loop would.
        let per_task = (GATHER_SAMPLES * batch.n_fields).max(1);
        let task = |(t, block): (usize, &mut [f32])| {
            for (j, dst) in block.chunks_exact_mut(d).enumerate() {
                let bag = t * per_task + j;
                let (lo, hi) = (batch.offsets[bag] as usize, batch.offsets[bag + 1] as usize);
                let slots = slot_of_key[lo..hi].iter().filter(|&&s| s != NO_SLOT);
                // Each key's row, then its perturbation where given.
                let terms = slots.flat_map(|&s| {
                    let r = s as usize * d..(s as usize + 1) * d;
                    std::iter::once(&weights[r.clone()]).chain(perturb.map(|p| &p[r]))
                });
                sum_rows_into(dst, terms);
            }
        };
        if n_bags <= per_task {
            task((0, out));
        } else {
            out.par_chunks_mut(per_task * d).enumerate().for_each(task);
        }
    }

    /// Sum the gradient of every bag (`d_emb`, same layout as `gather`'s
    /// output) into one gradient per unique row: `touched.grads`.
    pub fn scatter_grads(&self, batch: &Batch, d_emb: &[f32], touched: &mut Touched) {
        let d = self.dim;
        let n_slots = touched.rows.len();
        // Zeroed by each task below, in parallel: resized only here.
        touched.grads.resize(n_slots * d, 0.0);
        // Each task owns a range of slots and scans every key for them, so
        // a row's gradient is summed in key order by one task: the same
        // bits at any thread count. The scan of the slot ids is cheap next
        // to the row-wide adds it splits.
        let per_task = part_len(n_slots, SCATTER_MIN_SLOTS);
        let n_bags = batch.len * batch.n_fields;
        let (offsets, slot_of_key) = (&batch.offsets, &touched.slot_of_key);
        touched
            .grads
            .par_chunks_mut(per_task * d)
            .enumerate()
            .for_each(|(t, grads)| {
                grads.fill(0.0);
                let first = (t * per_task) as u32;
                let n = (grads.len() / d) as u32;
                for (bag, src) in d_emb.chunks_exact(d).enumerate().take(n_bags) {
                    let (lo, hi) = (offsets[bag] as usize, offsets[bag + 1] as usize);
                    for &slot in &slot_of_key[lo..hi] {
                        // Wrapping: slots below `first` (and NO_SLOT) fall outside.
                        let s = slot.wrapping_sub(first);
                        if s < n {
                            let g = &mut grads[s as usize * d..(s as usize + 1) * d];
                            for (a, b) in g.iter_mut().zip(src) {
                                *a += b;
                            }
                        }
                    }
                }
            });
    }

    /// Apply `opt` (after its `begin_step`) to every touched row, in
    /// parallel, running `side` on the index meanwhile (the next batch's
    /// lookup): the update writes rows and their steps, never the index,
    /// and the view gives no access to the rows. `hess`, when the
    /// optimizer needs it, is laid out like `touched.grads`.
    pub fn update<R: Send>(
        &mut self,
        opt: &Optimizer,
        touched: &Touched,
        hess: Option<&[f32]>,
        side: impl FnOnce(IndexView<'_>) -> R + Send,
    ) -> R {
        let (d, stride) = (self.dim, self.stride);
        let last = SendPtr(self.last_step.as_mut_ptr());
        let view = self.index_view();
        let this = &*self;
        let update = || {
            touched
                .rows
                .par_chunks(UPDATE_CHUNK)
                .enumerate()
                .for_each(|(c, rows)| {
                    for (j, &row) in rows.iter().enumerate() {
                        if let Some(&ahead) = rows.get(j + PREFETCH_AHEAD) {
                            prefetch(this.block(ahead));
                            // Its step too, read first: on a rarely seen row
                            // an unhinted miss (`benches/optim.rs`, random
                            // rows: 1.13-1.17x; no gain measured per epoch,
                            // docs/performance.md item 17).
                            // SAFETY: `ahead` is a row of this task's chunk,
                            // so no other task touches its step.
                            prefetch(unsafe {
                                std::slice::from_raw_parts(last.get().add(ahead as usize), 1)
                            });
                        }
                        let p = this.row_ptr(row) as *mut f32;
                        // SAFETY: `touched.rows` holds unique row ids, so each
                        // task owns a disjoint row block and a disjoint
                        // last_step entry; nothing else accesses the rows or
                        // the steps during the update (`side` sees the index).
                        let (w, s, ls) = unsafe {
                            let block = std::slice::from_raw_parts_mut(p, stride);
                            let (w, s) = block.split_at_mut(d);
                            (w, s, &mut *last.get().add(row as usize))
                        };
                        let u = c * UPDATE_CHUNK + j;
                        let g = &touched.grads[u * d..(u + 1) * d];
                        let h = hess.map(|h| &h[u * d..(u + 1) * d]);
                        opt.update_group(w, s, ls, g, h);
                    }
                })
        };
        rayon::join(update, || side(view)).1
    }

    /// Rows whose weights are not all zero.
    pub fn nonzero_rows(&self) -> u64 {
        (0..self.n_rows as u32)
            .filter(|&r| self.weights(r).iter().any(|&x| x != 0.0))
            .count() as u64
    }

    /// Magnitude pruning (docs/metrics.md): keep the `keep` rows of largest L2 norm
    /// and zero the weights of every other row. Optimizer state is kept, so
    /// fine-tuning continues the same optimizer. Ties break by row id, so the
    /// result is deterministic. Returns the number of rows zeroed.
    pub fn prune_to(&mut self, keep: u64) -> u64 {
        let mut norms: Vec<(f32, u32)> = (0..self.n_rows as u32)
            .map(|r| (self.weights(r).iter().map(|x| x * x).sum::<f32>(), r))
            .filter(|&(n, _)| n > 0.0)
            .collect();
        if norms.len() as u64 <= keep {
            return 0;
        }
        let by_norm_desc = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        norms.select_nth_unstable_by(keep as usize, by_norm_desc);
        let zeroed = norms.len() as u64 - keep;
        for &(_, row) in &norms[keep as usize..] {
            self.row_mut(row).0.fill(0.0);
        }
        zeroed
    }

    /// Iterate `(key, row)` over every row.
    pub fn keys(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.index.iter()
    }

    /// Width of a row block: weights then optimizer state.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The key of every row, in row order (checkpoints keep row ids stable,
    /// so a restored store updates rows in the same order as the original).
    pub fn keys_by_row(&self) -> Vec<u64> {
        let mut keys = vec![0u64; self.n_rows];
        for (k, r) in self.index.iter() {
            keys[r as usize] = k;
        }
        keys
    }

    /// The `[weights | state]` blocks of all rows, in row order, as
    /// contiguous pieces (one per chunk): `len() * stride()` floats in all.
    pub fn blocks(&self) -> impl Iterator<Item = &[f32]> + '_ {
        let mut left = self.n_rows * self.stride;
        self.chunks.iter().map(move |c| {
            let n = left.min(c.len());
            left -= n;
            &c[..n]
        })
    }

    /// The global step of each row's last update, in row order.
    pub fn last_steps(&self) -> &[u32] {
        &self.last_step
    }

    /// Replace every row with `keys[i]` -> row `i` holding
    /// `blocks[i * stride .. (i + 1) * stride]` and `last_step[i]`
    /// (the inverse of `keys_by_row` / `blocks` / `last_steps`).
    pub fn restore(
        &mut self,
        keys: &[u64],
        blocks: &[f32],
        last_step: &[u32],
    ) -> Result<(), RestoreError> {
        let n = keys.len();
        if blocks.len() != n * self.stride || last_step.len() != n {
            return Err(RestoreError::Sizes {
                keys: n,
                floats: blocks.len(),
                expected: n * self.stride,
                steps: last_step.len(),
            });
        }
        let mut index = KeyIndex::default();
        for (r, &k) in keys.iter().enumerate() {
            if index.get(k).is_some() {
                return Err(RestoreError::Duplicate { key: k });
            }
            index.insert_new(k, r as u32);
        }
        self.index = index;
        self.index_version += 1;
        let per_chunk = CHUNK_ROWS * self.stride;
        self.chunks = blocks
            .chunks(per_chunk)
            .map(|src| {
                let mut c = new_chunk(per_chunk);
                c[..src.len()].copy_from_slice(src);
                c
            })
            .collect();
        self.last_step = huge::copied(last_step);
        self.n_rows = n;
        Ok(())
    }

    /// Bytes of the weights and optimizer slots the rows need (the floor any
    /// implementation must pay), and bytes actually held (chunks, step and
    /// scratch arrays, hash index), for the memory report.
    pub fn memory(&self) -> StoreMemory {
        StoreMemory::of(
            self.stride,
            self.n_rows,
            self.last_step.capacity(),
            self.index.bytes(),
        )
    }
}

impl StoreMemory {
    /// The memory of `rows` rows of `stride` floats, with the per-row step
    /// array at `step_capacity` entries and the key index at `index_bytes`.
    fn of(stride: usize, rows: usize, step_capacity: usize, index_bytes: usize) -> Self {
        let needed = rows * stride * 4;
        // Chunk pages are touched only as rows are written (calloc'd), so
        // the rows in use cost their bytes rounded up to one huge page.
        const HUGE: usize = 1 << 21;
        let rows_bytes = needed.div_ceil(HUGE) * HUGE;
        let held = rows_bytes + step_capacity * std::mem::size_of::<u32>() + index_bytes;
        StoreMemory {
            rows: rows as u64,
            needed_bytes: needed as u64,
            held_bytes: held.max(needed) as u64,
        }
    }

    /// What `EmbeddingStore::memory` reports once training has created
    /// `rows` rows of `stride` floats (the memory estimate's formula): the
    /// step array grown by pushes (capacity a power of two, at least 4) and
    /// the key index grown by inserts.
    pub fn projected(stride: usize, rows: usize) -> Self {
        let step_capacity = if rows == 0 {
            0
        } else {
            rows.next_power_of_two().max(4)
        };
        Self::of(stride, rows, step_capacity, KeyIndex::bytes_for(rows))
    }
}

/// A zeroed chunk of `n` floats on transparent huge pages where the kernel
/// offers them on request: row updates hit random rows, and 2 MiB pages cut
/// the TLB misses that otherwise dominate (optimizer bench: 6 -> 10 M rows/s).
fn new_chunk(n: usize) -> Box<[f32]> {
    // Untouched until rows are written, so a partly used chunk costs only
    // its used pages.
    huge::zeroed(n).into_boxed_slice()
}

/// The length of each part when `n` items split into equal contiguous
/// parallel tasks: one per pool thread at most, none shorter than `min`.
fn part_len(n: usize, min: usize) -> usize {
    let tasks = rayon::current_num_threads()
        .min(n.div_ceil(min.max(1)))
        .max(1);
    n.div_ceil(tasks).max(1)
}

/// `f` over `a` and `b` cut into matching parts (`b_per_a` items of `b`
/// for each item of `a`, `part_len` items of `a` a part). A single part
/// runs on the calling thread, with no hand-off to the pool.
fn for_each_part<A: Sync, B: Send>(
    a: &[A],
    b: &mut [B],
    b_per_a: usize,
    min: usize,
    f: impl Fn(&[A], &mut [B]) + Sync + Send,
) {
    let per_task = part_len(a.len(), min);
    if per_task >= a.len() {
        f(a, b);
    } else {
        a.par_chunks(per_task)
            .zip(b.par_chunks_mut(per_task * b_per_a))
            .for_each(|(a, b)| f(a, b));
    }
}

/// `dst = 0; dst += s` for each row `s` of `terms` in order, writing `dst`
/// once for the first row instead of zero-filling it first: `s + 0.0` is
/// `0.0 + s` to the bit (addition commutes; both turn -0.0 into +0.0), so
/// the sums are the same bits. No rows: zeros.
#[inline]
fn sum_rows_into<'a>(dst: &mut [f32], mut terms: impl Iterator<Item = &'a [f32]>) {
    let Some(first) = terms.next() else {
        dst.fill(0.0);
        return;
    };
    for (o, x) in dst.iter_mut().zip(first) {
        *o = x + 0.0;
    }
    for row in terms {
        for (o, x) in dst.iter_mut().zip(row) {
            *o += x;
        }
    }
}

/// Rows ahead whose memory is requested before they are updated or read:
/// far enough to hide a DRAM miss behind the work on the rows in between.
const PREFETCH_AHEAD: usize = 16;

/// Memory of the embedding store.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct StoreMemory {
    pub rows: u64,
    pub needed_bytes: u64,
    pub held_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{OptimizerConfig, OptimizerName};

    /// The projected memory of n rows is what a store that created n rows
    /// reports: the step array's and the index's growth included.
    #[test]
    fn projected_memory_is_what_a_grown_store_reports() {
        let opt = Optimizer::new(&OptimizerConfig::named(OptimizerName::Adam).check().unwrap());
        let mut store = EmbeddingStore::new(3, opt.state_len(3), RowInit { std: 0.1, seed: 1 });
        assert_eq!(store.memory(), StoreMemory::projected(9, 0));
        for key in 0..70_000u64 {
            store.lookup_or_insert(key * 13, &opt);
            let n = store.len();
            if n.is_power_of_two() || n % 9_999 == 0 || n == 70_000 {
                assert_eq!(store.memory(), StoreMemory::projected(9, n), "{n} rows");
            }
        }
        // 70000 rows x 9 floats x 4 bytes = 2.52 MB, two huge pages; steps
        // 131072 x 4; index 131072 buckets x 12 (70000 > 3/4 of 65536).
        let m = StoreMemory::projected(9, 70_000);
        assert_eq!(m.needed_bytes, 2_520_000);
        assert_eq!(m.held_bytes, 2 * (1 << 21) + 131_072 * 4 + 131_072 * 12);
    }

    /// Rows and slots come in first-occurrence order, new rows numbered as
    /// their keys first appear, whether the batch carries the reader's
    /// deduplication, none, or a stale one (keys changed after it was
    /// computed: recomputed, not trusted). At evaluation unknown keys get
    /// no slot and the known ones compact slots.
    #[test]
    fn resolve_numbers_rows_and_slots_by_first_occurrence() {
        let opt = Optimizer::new(&OptimizerConfig::named(OptimizerName::Adam).check().unwrap());
        let store = || {
            let mut s = EmbeddingStore::new(3, opt.state_len(3), RowInit { std: 0.1, seed: 2 });
            for key in 100..110u64 {
                s.lookup_or_insert(key, &opt); // key 100 + i -> row i
            }
            s
        };
        let batch_of = |keys: &[u64]| {
            let mut b = Batch {
                len: keys.len(),
                n_fields: 1,
                keys: keys.to_vec(),
                offsets: (0..=keys.len() as u32).collect(),
                ..Batch::default()
            };
            b.labels.resize(keys.len(), 0.0);
            b
        };
        let resolved = |batch: &Batch, insert: Option<&Optimizer>| {
            let (mut s, mut t) = (store(), Touched::default());
            s.resolve(batch, insert, &mut t);
            (t.rows, t.slot_of_key, s.len())
        };
        let keys = [105u64, 7, 105, 100, 7, 9, 100, 42];
        let want = (vec![5, 10, 0, 11, 12], vec![0, 1, 0, 2, 1, 3, 2, 4], 13);
        let plain = batch_of(&keys);
        let mut carried = batch_of(&keys);
        carried.distinct.compute(&carried.keys);
        assert!(carried.distinct.describes(&carried.keys));
        assert_eq!(resolved(&plain, Some(&opt)), want);
        assert_eq!(resolved(&carried, Some(&opt)), want);
        // Stale: key 3 (100) becomes 9 after the deduplication was computed.
        let mut stale = carried;
        stale.keys[3] = 9;
        let want_stale = (vec![5, 10, 11, 0, 12], vec![0, 1, 0, 2, 1, 2, 3, 4], 13);
        assert_eq!(resolved(&batch_of(&stale.keys), Some(&opt)), want_stale);
        assert_eq!(resolved(&stale, Some(&opt)), want_stale);
        // Evaluation: no row is created.
        let eval = batch_of(&[105, 7, 100, 105]);
        assert_eq!(
            resolved(&eval, None),
            (vec![5, 0], vec![0, NO_SLOT, 1, 0], 10)
        );
    }

    /// Scoring's gather equals the training path's (resolve, then gather
    /// each unique row once) bit for bit: bags of several keys (summation
    /// order matters), unknown keys, empty bags.
    #[test]
    fn the_scoring_gather_is_bit_identical_to_the_training_gather() {
        let opt = Optimizer::new(&OptimizerConfig::named(OptimizerName::Adam).check().unwrap());
        let mut store = EmbeddingStore::new(5, opt.state_len(5), RowInit { std: 0.37, seed: 9 });
        for key in 0..300u64 {
            store.lookup_or_insert(key * 7, &opt);
        }
        let (n_fields, len) = (3, 1000);
        let mut batch = Batch {
            len,
            n_fields,
            ..Batch::default()
        };
        batch.offsets.push(0);
        for i in 0..len * n_fields {
            // 0..=3 keys per bag, a quarter of them unknown (not multiples of 7).
            for j in 0..(i % 4) {
                let k = (i * 31 + j * 17) as u64 % 2500;
                batch
                    .keys
                    .push(if k % 4 == 0 { k + 1 } else { (k % 300) * 7 });
            }
            batch.offsets.push(batch.keys.len() as u32);
        }
        let (mut touched, mut a, mut b) = (Touched::default(), Vec::new(), Vec::new());
        store.resolve(&batch, None, &mut touched);
        store.gather(&batch, &mut touched, None, &mut a);
        store.gather_known(&batch, &mut b);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(a.len(), len * n_fields * 5);
        assert_eq!(bits(&a), bits(&b));
        assert!(a.iter().filter(|x| **x != 0.0).count() > a.len() / 2);
    }
}
