//! The on-disk format of the encoded cache: its constants, the meta, the
//! trailer and the chunk encoding.
//!
//! Layout (all little-endian): a sequence of chunks
//! `[b"CHNK", n_rows u32, n_keys u64, labels u8*n, days u32*n (if has_day),
//!   bag ends u32*(n*n_fields), keys u64*n_keys, dense f32*(n*n_dense),
//!   xxh3 u64]`
//! (`b"CHN1"` and no bag ends when every bag holds one key),
//! then the JSON [`CacheMeta`], then a 24-byte trailer
//! `[meta_len u64, meta xxh3 u64, MAGIC]`.
//! The meta is written last because it holds counts known only at the end;
//! the file is written under a temporary name and renamed, so a crash never
//! leaves a cache that looks complete.

use crate::data::fingerprint::Fingerprint;
use crate::data::Batch;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Chunk magics: with bag ends, and every bag one key (ends implicit).
pub(super) const CHUNK_MAGIC: &[u8; 4] = b"CHNK";
pub(super) const CHUNK_MAGIC_SINGLE: &[u8; 4] = b"CHN1";
pub(super) const MAGIC: &[u8; 8] = b"CTRCACH2";
/// The trailer of format 3 and earlier (no checksums).
const OLD_MAGIC: &[u8; 8] = b"CTRCACH1";
const TRAILER: u64 = 24;
pub(super) const CACHE_VERSION: u32 = 4;
pub(super) const CHUNK_ROWS: usize = 1 << 14;

/// What a cache file says about itself and its source.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CacheMeta {
    pub version: u32,
    pub source: String,
    /// The source file as it was when the cache was built.
    pub source_fp: Fingerprint,
    pub layout_hash: u64,
    pub field_names: Vec<String>,
    pub dense_names: Vec<String>,
    pub has_day: bool,
    /// Data lines of the source (header excluded, bad rows included).
    pub n_lines: u64,
    /// Rows stored (good rows).
    pub n_rows: u64,
    pub clicks: u64,
    /// Largest day tag seen (Avazu), else 0.
    pub last_day: u32,
    /// Rows per day tag, ascending by day (Avazu), for counting a split without a pass.
    pub day_rows: Vec<(u32, u64)>,
    /// Data-line indices of the malformed rows that were skipped.
    pub bad_idx: Vec<u64>,
    /// Byte length of the chunk region.
    pub data_bytes: u64,
    /// Chunks in the chunk region.
    pub chunks: u64,
    /// xxh3-64 of the chunk region.
    pub payload_xxh3: u64,
}

/// Why a cache cannot be used: absent (build it quietly) or bad (say why,
/// then rebuild).
#[derive(Debug)]
pub enum Unusable {
    Absent,
    Bad(BadCache),
}

/// What is wrong with a cache file (printed in the rebuild warning).
#[derive(Debug, thiserror::Error)]
pub enum BadCache {
    /// Printed in the message, not as a source: the warning shows it once.
    #[error("{0}")]
    Io(std::io::Error),
    #[error("shorter than its trailer")]
    Short,
    #[error("written by an older version")]
    OldVersion,
    #[error("no trailer: truncated, or not a cache")]
    NoTrailer,
    #[error("meta length runs past the file")]
    MetaLength,
    #[error("meta checksum mismatch")]
    MetaChecksum,
    #[error("meta unreadable: {0}")]
    MetaJson(serde_json::Error),
    #[error("data length does not match the meta")]
    DataLength,
}

/// The meta of a cache file, its trailer and checksum verified.
pub fn read_meta(path: &Path) -> Result<CacheMeta, Unusable> {
    let io = |e: std::io::Error| Unusable::Bad(BadCache::Io(e));
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Absent),
        Err(e) => return Err(io(e)),
    };
    let len = f.metadata().map_err(io)?.len();
    let mut t = [0u8; TRAILER as usize];
    if len < TRAILER {
        return Err(Unusable::Bad(BadCache::Short));
    }
    f.seek(SeekFrom::Start(len - TRAILER))
        .and_then(|_| f.read_exact(&mut t))
        .map_err(io)?;
    if &t[16..] != MAGIC {
        return Err(Unusable::Bad(if &t[16..] == OLD_MAGIC {
            BadCache::OldVersion
        } else {
            BadCache::NoTrailer
        }));
    }
    let ml = u64::from_le_bytes(t[..8].try_into().unwrap());
    if ml > len - TRAILER {
        return Err(Unusable::Bad(BadCache::MetaLength));
    }
    f.seek(SeekFrom::Start(len - TRAILER - ml)).map_err(io)?;
    let mut m = vec![0u8; ml as usize];
    f.read_exact(&mut m).map_err(io)?;
    if xxhash_rust::xxh3::xxh3_64(&m) != u64::from_le_bytes(t[8..16].try_into().unwrap()) {
        return Err(Unusable::Bad(BadCache::MetaChecksum));
    }
    let meta: CacheMeta =
        serde_json::from_slice(&m).map_err(|e| Unusable::Bad(BadCache::MetaJson(e)))?;
    if meta.data_bytes != len - TRAILER - ml {
        return Err(Unusable::Bad(BadCache::DataLength));
    }
    Ok(meta)
}

fn put_u32s(w: &mut Vec<u8>, v: impl Iterator<Item = u32>) {
    for x in v {
        w.extend_from_slice(&x.to_le_bytes());
    }
}

/// Chunk number `index` of `b` into `w` (cleared first), its checksum last.
pub(super) fn encode_chunk(w: &mut Vec<u8>, b: &Batch, days: &[u32], has_day: bool, index: u64) {
    w.clear();
    let single = b.offsets.iter().enumerate().all(|(j, &o)| o as usize == j);
    w.extend_from_slice(if single {
        CHUNK_MAGIC_SINGLE
    } else {
        CHUNK_MAGIC
    });
    w.extend_from_slice(&(b.len as u32).to_le_bytes());
    w.extend_from_slice(&(b.keys.len() as u64).to_le_bytes());
    w.extend(b.labels.iter().map(|&y| y as u8));
    if has_day {
        put_u32s(w, days.iter().copied());
    }
    if !single {
        put_u32s(w, b.offsets[1..].iter().copied());
    }
    for k in &b.keys {
        w.extend_from_slice(&k.to_le_bytes());
    }
    put_u32s(w, b.dense.iter().map(|v| v.to_bits()));
    let sum = xxhash_rust::xxh3::xxh3_64_with_seed(w, index);
    w.extend_from_slice(&sum.to_le_bytes());
}

pub(super) fn le_u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
}
