//! The key index of the embedding store.
//!
//! `KeyIndex` maps a feature key to its row for the whole run: open
//! addressing with linear probing over two parallel arrays, 12 bytes a
//! bucket (a `HashMap<u64, u32>` pays 17: entries pad to 16 bytes, plus a
//! control byte), because at 128-256 bytes of weights and slots per row the
//! index is most of the per-row overhead.
//!
//! (A batch's rows are deduplicated by key, `data::DistinctKeys`, on the
//! reader thread.)

use crate::rng::mix64;

const EMPTY: u32 = u32::MAX;

/// Grow when more than 3/4 of the buckets are used: linear probing stays at
/// a few probes per lookup up to that load.
#[inline]
fn too_full(len: usize, capacity: usize) -> bool {
    len * 4 > capacity * 3
}

/// Feature key -> row id.
#[derive(Clone, Debug)]
pub struct KeyIndex {
    keys: Vec<u64>,
    rows: Vec<u32>,
    len: usize,
}

/// Buckets of a new index.
const INITIAL_BUCKETS: usize = 1024;
/// A bucket: the key and its row, in two parallel arrays.
const BUCKET_BYTES: usize = std::mem::size_of::<u64>() + std::mem::size_of::<u32>();

impl Default for KeyIndex {
    fn default() -> Self {
        Self::with_buckets(INITIAL_BUCKETS)
    }
}

impl KeyIndex {
    fn with_buckets(n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        // Huge pages: every lookup probes a random bucket of both arrays
        // (docs/performance.md, item 14).
        Self {
            keys: super::huge::zeroed(n),
            rows: super::huge::filled(n, EMPTY),
            len: 0,
        }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.rows.len() - 1
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the buckets.
    pub fn bytes(&self) -> usize {
        self.rows.len() * BUCKET_BYTES
    }

    /// Bytes the buckets of an index grown to `len` keys by `insert_new`
    /// hold (what `bytes` then returns): the memory estimate's formula.
    pub fn bytes_for(len: usize) -> usize {
        let mut buckets = INITIAL_BUCKETS;
        while too_full(len, buckets) {
            buckets *= 2;
        }
        buckets * BUCKET_BYTES
    }

    /// Request the memory of `key`'s home bucket (a hint: lookups of a
    /// batch's keys are independent cache misses, so they can overlap).
    #[inline]
    pub fn prefetch(&self, key: u64) {
        let i = mix64(key) as usize & self.mask();
        crate::optim::core::prefetch(&self.keys[i..i + 1]);
        crate::optim::core::prefetch(&self.rows[i..i + 1]);
    }

    #[inline]
    pub fn get(&self, key: u64) -> Option<u32> {
        let mask = self.mask();
        let mut i = mix64(key) as usize & mask;
        loop {
            let r = self.rows[i];
            if r == EMPTY {
                return None;
            }
            if self.keys[i] == key {
                return Some(r);
            }
            i = (i + 1) & mask;
        }
    }

    /// Insert a key known to be absent.
    pub fn insert_new(&mut self, key: u64, row: u32) {
        debug_assert!(row != EMPTY && self.get(key).is_none());
        if too_full(self.len + 1, self.rows.len()) {
            self.grow();
        }
        self.place(key, row);
        self.len += 1;
    }

    #[inline]
    fn place(&mut self, key: u64, row: u32) {
        let mask = self.mask();
        let mut i = mix64(key) as usize & mask;
        while self.rows[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.keys[i] = key;
        self.rows[i] = row;
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Self::with_buckets(self.rows.len() * 2));
        self.len = old.len;
        for (k, r) in old.iter() {
            self.place(k, r);
        }
    }

    /// Every (key, row), in bucket order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.keys
            .iter()
            .zip(&self.rows)
            .filter(|(_, &r)| r != EMPTY)
            .map(|(&k, &r)| (k, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn key_index_agrees_with_hashmap_through_growth() {
        let mut idx = KeyIndex::default();
        let mut reference = HashMap::new();
        let mut rng = crate::rng::SplitMix64::new(4);
        for row in 0..50_000u32 {
            // Small integer keys too (bucketed features) and key 0.
            let key = if row % 3 == 0 {
                row as u64 / 3
            } else {
                rng.next_u64()
            };
            if reference.contains_key(&key) {
                continue;
            }
            idx.insert_new(key, row);
            reference.insert(key, row);
        }
        assert_eq!(idx.len(), reference.len());
        for (&k, &r) in &reference {
            assert_eq!(idx.get(k), Some(r));
        }
        assert_eq!(idx.get(u64::MAX - 7), None);
        let mut all: Vec<(u64, u32)> = idx.iter().collect();
        all.sort();
        let mut want: Vec<(u64, u32)> = reference.into_iter().collect();
        want.sort();
        assert_eq!(all, want);
        assert!(!too_full(idx.len(), idx.rows.len()));
    }

    /// `bytes_for` predicts what an index grown by inserts holds, at and
    /// around each growth point.
    #[test]
    fn bytes_for_matches_a_grown_index() {
        let mut idx = KeyIndex::default();
        assert_eq!(KeyIndex::bytes_for(0), idx.bytes());
        for row in 0..20_000u32 {
            idx.insert_new(row as u64 * 7919, row);
            assert_eq!(
                KeyIndex::bytes_for(idx.len()),
                idx.bytes(),
                "{} keys",
                idx.len()
            );
        }
        // 768 keys fill 1024 buckets to 3/4; 769 need 2048.
        assert_eq!(KeyIndex::bytes_for(768), 1024 * 12);
        assert_eq!(KeyIndex::bytes_for(769), 2048 * 12);
        // Criteo-scale: 32M keys need 2^26 buckets (load 0.48).
        assert_eq!(KeyIndex::bytes_for(32_000_000), (1 << 26) * 12);
    }
}
