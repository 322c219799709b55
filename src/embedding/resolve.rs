//! From a batch's keys to the store's rows: which rows a batch touches,
//! which of them are new, and where each key occurrence goes.
//!
//! Resolving has two halves.
//! - Looking up ([`IndexView::look_up`]) reads the key index and nothing
//!   else: each distinct key's row, and the start block of each key the
//!   index does not hold yet. It reads no row and changes no index, so
//!   the trainer runs it for the next batch while the current batch's rows
//!   are updated ([`EmbeddingStore::update`] hands it the view).
//! - Assigning ([`EmbeddingStore::resolve_looked_up`]) then gives unseen
//!   keys their rows and slots in first-occurrence order, serially, so row
//!   ids are the same at any thread count. It uses a lookup only when the
//!   lookup is exact for the batch now: the same distinct keys, and an
//!   index unchanged since (`index_version`). Otherwise it looks up again.
//!
//! Either way, the rows, slots and start values are those a lookup made
//! at that moment would give.

use super::{for_each_part, init_row, EmbeddingStore, KeyIndex, RowInit, NO_SLOT, PREFETCH_AHEAD};
use crate::data::{Batch, DistinctKeys};
use crate::optim::Optimizer;

/// Fewest distinct keys worth a parallel task of their own in `look_up`.
const MIN_KEYS_PER_TASK: usize = 512;
/// Fewest new rows worth a parallel task of their own in `look_up`.
const MIN_FRESH_PER_TASK: usize = 32;

/// The rows touched by one batch, and where each key occurrence goes.
#[derive(Debug, Default)]
pub struct Touched {
    /// Unique row ids, in first-occurrence order.
    pub rows: Vec<u32>,
    /// For each key occurrence of the batch (parallel to `batch.keys`), the
    /// index into `rows`; `NO_SLOT` for keys unknown at evaluation time.
    pub slot_of_key: Vec<u32>,
    /// Summed gradient per unique row, `rows.len() x dim`.
    pub grads: Vec<f32>,
    /// Scratch of `gather`: the weights of each unique row, `rows.len() x dim`.
    pub(super) weights: Vec<f32>,
    /// Scratch of `resolve`: the deduplication when the batch carries
    /// none, each distinct key's slot, and the lookup made on the spot.
    distinct: DistinctKeys,
    slot_of_distinct: Vec<u32>,
    lookup: Lookup,
}

/// What the index says of a batch's distinct keys at one moment (see the
/// module doc): made by `look_up`, used by `resolve_looked_up`.
#[derive(Debug, Default)]
pub struct Lookup {
    /// The distinct keys looked up, in first-occurrence order.
    keys: Vec<u64>,
    /// Each key's row, `NO_SLOT` when the index does not hold it.
    found: Vec<u32>,
    /// In training, the starting `[weights | state]` block of each key not
    /// found, in key order (stride floats each).
    fresh: Vec<f32>,
    /// Whether `fresh` was made (a training lookup).
    training: bool,
    /// The store's `index_version` when the lookup was made.
    version: u64,
    /// The deduplication when the batch carries none.
    distinct: DistinctKeys,
    /// Scratch: the keys not found, in order.
    unseen: Vec<u64>,
}

/// The batch's deduplication: the reader thread's when it is exact for
/// the batch's keys (checked, never trusted), else computed into `scratch`.
fn distinct_of<'a>(batch: &'a Batch, scratch: &'a mut DistinctKeys) -> &'a DistinctKeys {
    if batch.distinct.describes(&batch.keys) {
        &batch.distinct
    } else {
        scratch.compute(&batch.keys);
        scratch
    }
}

/// The part of a store that looking up reads: the key index and how rows
/// start. It holds no access to the rows, so it can be used while they are
/// being updated.
#[derive(Clone, Copy)]
pub struct IndexView<'a> {
    index: &'a KeyIndex,
    index_version: u64,
    dim: usize,
    stride: usize,
    init: RowInit,
}

impl EmbeddingStore {
    /// The index and row-start settings, without the rows.
    pub fn index_view(&self) -> IndexView<'_> {
        IndexView {
            index: &self.index,
            index_version: self.index_version,
            dim: self.dim,
            stride: self.stride,
            init: self.init,
        }
    }
}

impl IndexView<'_> {
    /// Look up `batch`'s distinct keys into `out` (see the module doc). In
    /// training (`insert` = the optimizer whose state starts new rows),
    /// also compute the starting block of every key not found.
    pub fn look_up(&self, batch: &Batch, insert: Option<&Optimizer>, out: &mut Lookup) {
        let distinct = distinct_of(batch, &mut out.distinct);
        out.keys.clear();
        out.keys.extend_from_slice(distinct.keys());
        self.look_up_keys(insert, out);
    }

    /// `look_up` of the keys already in `out.keys`.
    fn look_up_keys(&self, insert: Option<&Optimizer>, out: &mut Lookup) {
        let Lookup {
            keys,
            found,
            fresh,
            training,
            version,
            unseen,
            ..
        } = out;
        // Lookups miss the cache most of the time: split over the pool in
        // equal parts, each prefetching its keys' buckets ahead.
        found.clear();
        found.resize(keys.len(), NO_SLOT);
        let index = self.index;
        // One part runs on the calling thread: no hand-off to the pool
        // (evaluation calls this from outside it).
        for_each_part(keys, found, 1, MIN_KEYS_PER_TASK, |keys, found| {
            for (j, (&key, f)) in keys.iter().zip(found.iter_mut()).enumerate() {
                if let Some(&ahead) = keys.get(j + PREFETCH_AHEAD) {
                    index.prefetch(ahead);
                }
                *f = index.get(key).unwrap_or(NO_SLOT);
            }
        });
        // A new row starts from (seed, key) alone: its block can be made
        // before it has a row.
        fresh.clear();
        *training = insert.is_some();
        *version = self.index_version;
        let Some(opt) = insert else { return };
        unseen.clear();
        unseen.extend(
            (keys.iter().zip(found.iter()))
                .filter(|(_, &f)| f == NO_SLOT)
                .map(|(&k, _)| k),
        );
        let (d, stride, init) = (self.dim, self.stride, self.init);
        fresh.resize(unseen.len() * stride, 0.0);
        for_each_part(unseen, fresh, stride, MIN_FRESH_PER_TASK, |keys, blocks| {
            for (&key, block) in keys.iter().zip(blocks.chunks_exact_mut(stride)) {
                let (w, s) = block.split_at_mut(d);
                init_row(init, key, opt, w, s);
            }
        });
    }
}

impl EmbeddingStore {
    /// Resolve the rows of every key of `batch` into `touched`. In training
    /// (`insert` = the optimizer that initializes new rows' state), unseen
    /// keys get new rows; at evaluation (`None`) they stay unknown and read
    /// as zero vectors (docs/data.md).
    pub fn resolve(&mut self, batch: &Batch, insert: Option<&Optimizer>, touched: &mut Touched) {
        // The lookup of the previous call is used only if still exact.
        let mut lookup = std::mem::take(&mut touched.lookup);
        self.resolve_looked_up(batch, insert, &mut lookup, touched);
        touched.lookup = lookup;
    }

    /// `resolve` with `lookup`, made earlier by `look_up` with the same
    /// `insert`, if it is still exact for `batch` (else looked up again).
    pub fn resolve_looked_up(
        &mut self,
        batch: &Batch,
        insert: Option<&Optimizer>,
        lookup: &mut Lookup,
        touched: &mut Touched,
    ) {
        // Rows are deduplicated by key: a key has one row and a row one key,
        // so the distinct keys in first-occurrence order give the unique
        // rows in first-occurrence order.
        let Touched {
            rows,
            slot_of_key,
            distinct,
            slot_of_distinct,
            ..
        } = touched;
        let distinct = distinct_of(batch, distinct);
        let exact = lookup.version == self.index_version
            && lookup.training == insert.is_some()
            && lookup.keys == distinct.keys();
        if !exact {
            lookup.keys.clear();
            lookup.keys.extend_from_slice(distinct.keys());
            self.index_view().look_up_keys(insert, lookup);
        }
        rows.clear();
        slot_of_distinct.clear();
        let mut fresh = lookup.fresh.chunks_exact(self.stride);
        for (&key, &known) in lookup.keys.iter().zip(&lookup.found) {
            let row = match (known, insert) {
                (NO_SLOT, Some(_)) => {
                    // Distinct keys: a key unknown to the lookups is new.
                    let row = self.push_row(key);
                    let start = fresh.next().expect("a start per unseen key");
                    let (w, s, _) = self.row_mut(row);
                    let (start_w, start_s) = start.split_at(w.len());
                    w.copy_from_slice(start_w);
                    s.copy_from_slice(start_s);
                    row
                }
                (NO_SLOT, None) => {
                    slot_of_distinct.push(NO_SLOT);
                    continue;
                }
                (row, _) => row,
            };
            slot_of_distinct.push(rows.len() as u32);
            rows.push(row);
        }
        slot_of_key.clear();
        slot_of_key.extend(
            distinct
                .of_key()
                .iter()
                .map(|&u| slot_of_distinct[u as usize]),
        );
    }
}
