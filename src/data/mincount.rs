//! Key post-processing shared by every source: the `min_count` rare-feature
//! rule and bucket folding. The counts come from one pass over the train
//! split; the resulting set of frequent keys is cached next to the data cache.

use super::error::DataError;
use super::hash::{fold_key, rare_key, KeyMap, KeySet};
use super::schema::SchemaInfo;
use super::source::BatchSource;
use super::Batch;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

/// Count every key of `src` and return those seen at least `min_count` times.
pub fn frequent_keys(src: &mut dyn BatchSource, min_count: u32) -> Result<KeySet, DataError> {
    let mut counts: KeyMap<u32> = KeyMap::default();
    let mut b = Batch::default();
    while src.next_batch(&mut b)? {
        for &k in &b.keys {
            *counts.entry(k).or_insert(0) += 1;
        }
    }
    Ok(counts
        .into_iter()
        .filter(|&(_, c)| c >= min_count)
        .map(|(k, _)| k)
        .collect())
}

/// Save a key set (sorted, little-endian u64s, then their xxh3) atomically.
pub fn save_keys(path: &Path, keys: &KeySet) -> Result<(), DataError> {
    let mut v: Vec<u64> = keys.iter().copied().collect();
    v.sort_unstable();
    let io = |e| DataError::Cache {
        file: path.to_path_buf(),
        msg: format!("{e}"),
    };
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    let write = || -> std::io::Result<()> {
        let mut w = crate::io::AtomicFile::create(path)?;
        let mut sum = xxhash_rust::xxh3::Xxh3::new();
        w.write_all(&(v.len() as u64).to_le_bytes())?;
        for k in &v {
            w.write_all(&k.to_le_bytes())?;
            sum.update(&k.to_le_bytes());
        }
        w.write_all(&sum.digest().to_le_bytes())?;
        w.commit()
    };
    write().map_err(io)
}

/// Load a key set saved by [`save_keys`]; None if absent or damaged (then
/// it is counted again).
pub fn load_keys(path: &Path) -> Option<KeySet> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .read_to_end(&mut bytes)
        .ok()?;
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    if n.checked_mul(8).and_then(|b| b.checked_add(16)) != Some(bytes.len() as u64) {
        return None;
    }
    let (keys, sum) = bytes[8..].split_at(bytes.len() - 16);
    if xxhash_rust::xxh3::xxh3_64(keys) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    Some(
        keys.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
    )
}

/// A source whose keys go through the rare rule and the bucket fold.
pub struct MappedSource {
    inner: Box<dyn BatchSource>,
    frequent: Option<Arc<KeySet>>,
    rare: Vec<u64>,
    buckets: Option<u64>,
}

impl MappedSource {
    pub fn new(
        inner: Box<dyn BatchSource>,
        frequent: Option<Arc<KeySet>>,
        buckets: Option<u64>,
    ) -> Self {
        let rare = inner
            .schema()
            .field_names
            .iter()
            .map(|f| rare_key(f))
            .collect();
        Self {
            inner,
            frequent,
            rare,
            buckets,
        }
    }

    fn map(&self, b: &mut Batch) {
        let nf = b.n_fields;
        if let Some(freq) = &self.frequent {
            for j in 0..b.len * nf {
                let f = j % nf;
                let (s, e) = (b.offsets[j] as usize, b.offsets[j + 1] as usize);
                for k in &mut b.keys[s..e] {
                    if !freq.contains(k) {
                        *k = self.rare[f];
                    }
                }
            }
        }
        if let Some(n) = self.buckets {
            for k in &mut b.keys {
                *k = fold_key(*k, n);
            }
        }
    }
}

impl BatchSource for MappedSource {
    fn schema(&self) -> &SchemaInfo {
        self.inner.schema()
    }
    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, DataError> {
        let more = self.inner.next_batch(batch)?;
        self.map(batch);
        Ok(more)
    }
    fn rows_read(&self) -> u64 {
        self.inner.rows_read()
    }
    fn skip_rows(&mut self, n: u64) -> Result<(), DataError> {
        self.inner.skip_rows(n)
    }
    fn bad_rows(&self) -> u64 {
        self.inner.bad_rows()
    }
}
