//! The distinct keys of a batch, in first-occurrence order, and for each key
//! occurrence its index among them: the per-batch deduplication the
//! training step needs, computed on the reader thread (`Prefetch`) while
//! the trainer works on the previous batch, so the step's serial part is
//! a pass over distinct keys instead of a hash probe per occurrence.

use crate::rng::mix64;

const EMPTY: u32 = u32::MAX;

/// Distinct keys of one key sequence. Only [`DistinctKeys::compute`] fills
/// it, so `keys()` never repeats a key; [`DistinctKeys::describes`] tells
/// whether it is still that of a given sequence (a batch changed after the
/// reader computed it is recomputed, never trusted).
#[derive(Clone, Debug, Default)]
pub struct DistinctKeys {
    keys: Vec<u64>,
    of_key: Vec<u32>,
    /// Open-addressing scratch: index into `keys`, or EMPTY.
    table: Vec<u32>,
}

/// A derived cache of the batch's keys, not part of its value: batches
/// that hold the same data are equal whether or not it was computed.
impl PartialEq for DistinctKeys {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl DistinctKeys {
    /// The distinct keys, in order of first occurrence.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// For each occurrence of the sequence, its index into `keys()`.
    pub fn of_key(&self) -> &[u32] {
        &self.of_key
    }

    pub fn clear(&mut self) {
        self.keys.clear();
        self.of_key.clear();
    }

    /// Deduplicate `seq` (reusing the buffers).
    pub fn compute(&mut self, seq: &[u64]) {
        self.clear();
        self.of_key.reserve(seq.len());
        // At most half full: probes stay short.
        let buckets = (seq.len() * 2).next_power_of_two().max(16);
        self.table.clear();
        self.table.resize(buckets, EMPTY);
        let mask = buckets - 1;
        for &key in seq {
            let mut b = mix64(key) as usize & mask;
            let idx = loop {
                match self.table[b] {
                    EMPTY => {
                        let idx = self.keys.len() as u32;
                        self.table[b] = idx;
                        self.keys.push(key);
                        break idx;
                    }
                    i if self.keys[i as usize] == key => break i,
                    _ => b = (b + 1) & mask,
                }
            };
            self.of_key.push(idx);
        }
    }

    /// Whether this is the deduplication of `seq`: one index per
    /// occurrence, naming a key equal to it, new indices appearing in
    /// order 0, 1, 2, ... (first occurrence), every key used. One
    /// sequential pass, no hashing.
    pub fn describes(&self, seq: &[u64]) -> bool {
        if self.of_key.len() != seq.len() {
            return false;
        }
        let mut next = 0u32;
        for (&key, &i) in seq.iter().zip(&self.of_key) {
            if i == next {
                next += 1;
            } else if i > next {
                return false;
            }
            if self.keys[i as usize] != key {
                return false;
            }
        }
        next as usize == self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_in_first_occurrence_order() {
        let seq = [7u64, 3, 7, 9, 3, 3, 11, 7];
        let mut d = DistinctKeys::default();
        d.compute(&seq);
        assert_eq!(d.keys(), &[7, 3, 9, 11]);
        assert_eq!(d.of_key(), &[0, 1, 0, 2, 1, 1, 3, 0]);
        assert!(d.describes(&seq));
        // Another sequence, a shorter one, a changed key: not described.
        assert!(!d.describes(&seq[..7]));
        let mut changed = seq;
        changed[4] = 9;
        assert!(!d.describes(&changed));
        // Reuse: a larger sequence with many collisions in a small table.
        let long: Vec<u64> = (0..5000u64).map(|i| (i * 7919) % 1237).collect();
        d.compute(&long);
        assert_eq!(d.keys().len(), 1237);
        assert!(d.describes(&long));
        let firsts: Vec<u64> = {
            let mut seen = std::collections::HashSet::new();
            long.iter().copied().filter(|k| seen.insert(*k)).collect()
        };
        assert_eq!(d.keys(), &firsts[..]);
        d.compute(&[]);
        assert!(d.keys().is_empty() && d.describes(&[]));
    }
}
