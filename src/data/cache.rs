//! The encoded cache: one binary file per (input file, encoding) holding every
//! row of the file already encoded (keys, bag ends, dense values, labels, day
//! tags), so that later runs skip parsing and hashing and read at memory speed.
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
//!
//! Verified by content, never trusted: the meta by its checksum; the source
//! by its [`Fingerprint`] (an edit that keeps size and mtime is caught); the
//! whole chunk region by `payload_xxh3` before the cache is used (once per
//! process), and each chunk again by its own checksum (seeded with its
//! index, so chunks cannot trade places) before any of its rows is handed
//! out. A cache that fails any check at open is rebuilt with a warning; a
//! chunk that fails while a run reads it stops the run.

use super::cache_feed::{ChunkFeed, ChunkShape, FeedError, CHUNK_MAGIC, CHUNK_MAGIC_SINGLE};
use super::config::DataConfig;
use super::error::DataError;
use super::filter::{Pre, RowFilter};
use super::fingerprint::{check_same, file_id, fingerprint, hash_prefix, unchanged};
use super::fingerprint::{FileId, Fingerprint};
use super::schema::{Layout, SchemaInfo};
use super::source::{skip_by_reading, start_batch, BatchSource, Next, RawReader, Resizable};
use super::Batch;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"CTRCACH2";
/// The trailer of format 3 and earlier (no checksums).
const OLD_MAGIC: &[u8; 8] = b"CTRCACH1";
const TRAILER: u64 = 24;
const CACHE_VERSION: u32 = 4;
const CHUNK_ROWS: usize = 1 << 14;

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

/// Where the cache of `file` under `layout` lives.
pub fn cache_path(dir: &Path, file: &Path, layout: &Layout) -> PathBuf {
    let canon = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let id = xxhash_rust::xxh3::xxh3_64_with_seed(canon.to_string_lossy().as_bytes(), layout.hash);
    let stem = file
        .file_name()
        .map_or("data".into(), |s| s.to_string_lossy().into_owned());
    dir.join(format!("{stem}-{id:016x}.ctrc"))
}

/// Why a cache cannot be used: absent (build it quietly) or bad (say why,
/// then rebuild).
#[derive(Debug, PartialEq)]
pub enum Unusable {
    Absent,
    Bad(String),
}

/// The meta of a cache file, its trailer and checksum verified.
pub fn read_meta(path: &Path) -> Result<CacheMeta, Unusable> {
    let bad = |m: &str| Unusable::Bad(m.to_string());
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Absent),
        Err(e) => return Err(Unusable::Bad(e.to_string())),
    };
    let len = f.metadata().map_err(|e| bad(&e.to_string()))?.len();
    let mut t = [0u8; TRAILER as usize];
    if len < TRAILER {
        return Err(bad("shorter than its trailer"));
    }
    f.seek(SeekFrom::Start(len - TRAILER))
        .and_then(|_| f.read_exact(&mut t))
        .map_err(|e| bad(&e.to_string()))?;
    if &t[16..] != MAGIC {
        return Err(bad(if &t[16..] == OLD_MAGIC {
            "written by an older version"
        } else {
            "no trailer: truncated, or not a cache"
        }));
    }
    let ml = u64::from_le_bytes(t[..8].try_into().unwrap());
    if ml > len - TRAILER {
        return Err(bad("meta length runs past the file"));
    }
    f.seek(SeekFrom::Start(len - TRAILER - ml))
        .map_err(|e| bad(&e.to_string()))?;
    let mut m = vec![0u8; ml as usize];
    f.read_exact(&mut m).map_err(|e| bad(&e.to_string()))?;
    if xxhash_rust::xxh3::xxh3_64(&m) != u64::from_le_bytes(t[8..16].try_into().unwrap()) {
        return Err(bad("meta checksum mismatch"));
    }
    let meta: CacheMeta =
        serde_json::from_slice(&m).map_err(|e| bad(&format!("meta unreadable: {e}")))?;
    if meta.data_bytes != len - TRAILER - ml {
        return Err(bad("data length does not match the meta"));
    }
    Ok(meta)
}

/// Check that `meta` (read from `path`) describes the current `file` under
/// `layout` and that the chunk region is intact; the reason when not.
fn verify(meta: &CacheMeta, path: &Path, file: &Path, layout: &Layout) -> Result<(), String> {
    if meta.version != CACHE_VERSION {
        return Err(format!(
            "version {}, this build reads {CACHE_VERSION}",
            meta.version
        ));
    }
    if meta.layout_hash != layout.hash
        || meta.field_names != layout.info.field_names
        || meta.dense_names != layout.info.dense_names
        || meta.has_day != layout.has_day
    {
        return Err("built for another layout".into());
    }
    // The reader walks bad lines in order; a damaged list must not be trusted.
    if !(meta.bad_idx.windows(2).all(|w| w[0] < w[1])
        && meta.bad_idx.last().is_none_or(|&b| b < meta.n_lines)
        && meta.n_rows + meta.bad_idx.len() as u64 == meta.n_lines)
    {
        return Err("inconsistent row counts".into());
    }
    if !unchanged(file, &meta.source_fp).map_err(|e| e.to_string())? {
        return Err(format!("{} changed since it was built", file.display()));
    }
    if hash_prefix(path, meta.data_bytes).map_err(|e| e.to_string())? != meta.payload_xxh3 {
        return Err("payload checksum mismatch".into());
    }
    Ok(())
}

fn put_u32s(w: &mut Vec<u8>, v: impl Iterator<Item = u32>) {
    for x in v {
        w.extend_from_slice(&x.to_le_bytes());
    }
}

/// Chunk number `index` of `b` into `w` (cleared first), its checksum last.
fn encode_chunk(w: &mut Vec<u8>, b: &Batch, days: &[u32], has_day: bool, index: u64) {
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

/// Parse `raw` to the end and write its cache to `path` (atomically).
fn build(
    mut raw: RawReader,
    layout: &Layout,
    file: &Path,
    path: &Path,
) -> Result<CacheMeta, DataError> {
    // Hashed before the parse, checked unchanged after it: the cache holds
    // the version of the file that the fingerprint names.
    let source_fp = fingerprint(file)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let cerr = |e: std::io::Error| DataError::Cache {
        file: path.to_path_buf(),
        msg: e.to_string(),
    };
    // Dropped on an error, it removes its temporary.
    let mut w = crate::io::AtomicFile::create(path).map_err(cerr)?;
    let mut batch = Batch::default();
    start_batch(&mut batch, &layout.info);
    let mut days: Vec<u32> = Vec::with_capacity(CHUNK_ROWS);
    let (mut n_rows, mut clicks, mut last_day, mut data_bytes) = (0u64, 0u64, 0u32, 0u64);
    let mut chunks = 0u64;
    let mut payload = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = Vec::new();
    let mut day_rows: std::collections::BTreeMap<u32, u64> = Default::default();
    let result = (|| -> Result<(), DataError> {
        loop {
            let end = match raw.next(&mut batch, |_| Pre::Parse)? {
                Next::Row { day, .. } => {
                    days.push(day);
                    last_day = last_day.max(day);
                    *day_rows.entry(day).or_default() += 1;
                    false
                }
                Next::Skipped => false,
                Next::End => true,
            };
            if batch.len == CHUNK_ROWS || (end && batch.len > 0) {
                n_rows += batch.len as u64;
                clicks += batch.labels.iter().filter(|&&y| y > 0.5).count() as u64;
                encode_chunk(&mut buf, &batch, &days, layout.has_day, chunks);
                payload.update(&buf);
                w.write_all(&buf).map_err(cerr)?;
                data_bytes += buf.len() as u64;
                chunks += 1;
                start_batch(&mut batch, &layout.info);
                days.clear();
            }
            if end {
                return check_same(file, &source_fp.id);
            }
        }
    })();
    result?;
    let meta = CacheMeta {
        version: CACHE_VERSION,
        source: file.to_string_lossy().into_owned(),
        source_fp,
        layout_hash: layout.hash,
        field_names: layout.info.field_names.clone(),
        dense_names: layout.info.dense_names.clone(),
        has_day: layout.has_day,
        n_lines: raw.lines_seen(),
        n_rows,
        clicks,
        last_day,
        day_rows: day_rows.into_iter().collect(),
        bad_idx: raw.bad_idx.clone(),
        data_bytes,
        chunks,
        payload_xxh3: payload.digest(),
    };
    let finish = (|| -> std::io::Result<()> {
        let m = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
        w.write_all(&m)?;
        w.write_all(&(m.len() as u64).to_le_bytes())?;
        w.write_all(&xxhash_rust::xxh3::xxh3_64(&m).to_le_bytes())?;
        w.write_all(MAGIC)?;
        w.commit()
    })();
    finish.map_err(cerr)?;
    Ok(meta)
}

/// Open (building it first if needed) the cache of `file`. Returns the cache
/// path, its meta and the layout. A cache that fails a check is rebuilt,
/// with a warning on stderr naming it and the reason.
pub fn ensure(cfg: &DataConfig, file: &Path) -> Result<(PathBuf, CacheMeta, Layout), DataError> {
    let (raw, layout) = RawReader::open(cfg, file)?;
    let path = cache_path(&cfg.cache_dir(), file, &layout);
    let why = match read_meta(&path) {
        Ok(meta) => match verify(&meta, &path, file, &layout) {
            Ok(()) => return Ok((path, meta, layout)),
            Err(why) => Some(why),
        },
        Err(Unusable::Absent) => None,
        Err(Unusable::Bad(why)) => Some(why),
    };
    if let Some(why) = why {
        eprintln!(
            "warning: cache {} is unusable ({why}); rebuilding it",
            path.display()
        );
    }
    let meta = build(raw, &layout, file, &path)?;
    Ok((path, meta, layout))
}

fn le_u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
}

/// Batches read back from a cache file.
pub struct CacheSource {
    path: PathBuf,
    /// The chunks, read and verified ahead on their own thread.
    feed: ChunkFeed,
    meta: CacheMeta,
    info: SchemaInfo,
    filter: RowFilter,
    batch_size: usize,
    kept: u64,
    done: bool,
    /// Chunks and rows loaded so far.
    chunk: u64,
    rows_loaded: u64,
    /// The source's identity at open: a source that changes while the run
    /// reads the cache would leave the run's splits on two versions.
    source_id: FileId,
    // The current chunk.
    n: usize,
    pos: usize,
    labels: Vec<u8>,
    days: Vec<u32>,
    ends: Vec<u32>,
    keys: Vec<u64>,
    dense: Vec<f32>,
    bytes: Vec<u8>,
    // Data-line bookkeeping, so the filter sees the same indices as the text reader.
    line: u64,
    bad_ptr: usize,
    bad_rows: u64,
}

impl CacheSource {
    pub fn open(
        path: &Path,
        meta: CacheMeta,
        filter: RowFilter,
        batch_size: usize,
    ) -> Result<Self, DataError> {
        Self::open_with(path, meta, filter, batch_size, true)
    }

    /// `open` without the per-chunk checksums, only for `benches/data.rs`
    /// to measure what they cost; never for a run.
    #[doc(hidden)]
    pub fn open_unchecked_for_bench(
        path: &Path,
        meta: CacheMeta,
        filter: RowFilter,
        batch_size: usize,
    ) -> Result<Self, DataError> {
        Self::open_with(path, meta, filter, batch_size, false)
    }

    fn open_with(
        path: &Path,
        meta: CacheMeta,
        filter: RowFilter,
        batch_size: usize,
        checked: bool,
    ) -> Result<Self, DataError> {
        let source_id = file_id(Path::new(&meta.source))?;
        let f = File::open(path).map_err(|e| DataError::io(path, e))?;
        let shape = ChunkShape {
            n_fields: meta.field_names.len() as u64,
            n_dense: meta.dense_names.len() as u64,
            has_day: meta.has_day,
        };
        let feed = ChunkFeed::new(
            BufReader::with_capacity(1 << 20, f),
            meta.data_bytes,
            shape,
            checked,
        );
        let info = SchemaInfo {
            field_names: meta.field_names.clone(),
            dense_names: meta.dense_names.clone(),
        };
        Ok(Self {
            path: path.to_path_buf(),
            feed,
            chunk: 0,
            rows_loaded: 0,
            source_id,
            meta,
            info,
            filter,
            batch_size: batch_size.max(1),
            kept: 0,
            done: false,
            n: 0,
            pos: 0,
            labels: Vec::new(),
            days: Vec::new(),
            ends: Vec::new(),
            keys: Vec::new(),
            dense: Vec::new(),
            bytes: Vec::new(),
            line: 0,
            bad_ptr: 0,
            bad_rows: 0,
        })
    }

    pub fn meta(&self) -> &CacheMeta {
        &self.meta
    }

    fn corrupt(&self, msg: &str) -> DataError {
        DataError::Cache {
            file: self.path.clone(),
            msg: format!("corrupt cache ({msg}); delete it to rebuild"),
        }
    }

    /// Load the next chunk (verified by the feed before it arrives); false
    /// at the end of the data (which must hold every chunk).
    fn load_chunk(&mut self) -> Result<bool, DataError> {
        let chunk = match self.feed.next() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                if self.chunk != self.meta.chunks || self.rows_loaded != self.meta.n_rows {
                    return Err(self.corrupt("fewer chunks than the meta says"));
                }
                let source = PathBuf::from(&self.meta.source);
                check_same(&source, &self.source_id)?;
                return Ok(false);
            }
            Err(FeedError::Corrupt(msg)) => return Err(self.corrupt(&msg)),
            Err(FeedError::Io(e)) => {
                return Err(DataError::Cache {
                    file: self.path.clone(),
                    msg: e.to_string(),
                })
            }
        };
        self.feed
            .give_back(std::mem::replace(&mut self.bytes, chunk.bytes));
        let single = chunk.single;
        let data = &self.bytes[..];
        let n = u32::from_le_bytes(data[4..8].try_into().unwrap()) as u64;
        let nk = u64::from_le_bytes(data[8..16].try_into().unwrap());
        let (nf, nd) = (self.info.n_fields() as u64, self.info.n_dense() as u64);
        let (n, nk, nf, nd) = (n as usize, nk as usize, nf as usize, nd as usize);
        let mut at = 16;
        let mut take = |len: usize| {
            at += len;
            &data[at - len..at]
        };
        self.labels.clear();
        self.labels.extend_from_slice(take(n));
        self.days.clear();
        if self.meta.has_day {
            self.days.extend(le_u32s(take(4 * n)));
        }
        self.ends.clear();
        if single {
            self.ends.extend(1..=(n * nf) as u32);
        } else {
            self.ends.extend(le_u32s(take(4 * n * nf)));
        }
        self.keys.clear();
        self.keys.extend(
            take(8 * nk)
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap())),
        );
        self.dense.clear();
        self.dense.extend(
            take(4 * n * nd)
                .chunks_exact(4)
                .map(|c| f32::from_bits(u32::from_le_bytes(c.try_into().unwrap()))),
        );
        if self.ends.last().is_some_and(|&e| e as usize != nk)
            || self.ends.windows(2).any(|w| w[0] > w[1])
        {
            return Err(self.corrupt("bag ends out of order"));
        }
        self.n = n;
        self.pos = 0;
        self.chunk += 1;
        self.rows_loaded += n as u64;
        Ok(true)
    }

    /// Pass over the bad lines that come before the next stored row (or all
    /// remaining ones at the end), counting those the text reader would have
    /// parsed. Returns Stop if the filter ends the split among them.
    fn pass_bad_lines(&mut self, to_end: bool) -> Pre {
        while self.bad_ptr < self.meta.bad_idx.len()
            && (to_end || self.meta.bad_idx[self.bad_ptr] == self.line)
        {
            let idx = self.meta.bad_idx[self.bad_ptr];
            self.line = idx;
            match self.filter.pre(idx) {
                Pre::Stop => return Pre::Stop,
                Pre::Parse => self.bad_rows += 1,
                Pre::Skip => {}
            }
            self.bad_ptr += 1;
            self.line += 1;
        }
        Pre::Parse
    }

    /// Copy rows `r0..r1` of the chunk into the batch in bulk.
    fn copy_rows(&self, r0: usize, r1: usize, batch: &mut Batch) {
        let nf = self.info.n_fields();
        let nd = self.info.n_dense();
        let start = if r0 == 0 {
            0
        } else {
            self.ends[r0 * nf - 1] as usize
        };
        let ends = &self.ends[r0 * nf..r1 * nf];
        let end = ends.last().map_or(start, |&e| e as usize);
        let base = (batch.keys.len() as u32).wrapping_sub(start as u32);
        batch
            .offsets
            .extend(ends.iter().map(|&e| base.wrapping_add(e)));
        batch.keys.extend_from_slice(&self.keys[start..end]);
        batch.dense.extend_from_slice(&self.dense[r0 * nd..r1 * nd]);
        batch
            .labels
            .extend(self.labels[r0..r1].iter().map(|&y| y as f32));
        batch.len += r1 - r0;
    }

    #[inline]
    fn copy_row(&self, r: usize, batch: &mut Batch) {
        let nf = self.info.n_fields();
        let nd = self.info.n_dense();
        let row_start = if r == 0 {
            0
        } else {
            self.ends[r * nf - 1] as usize
        };
        let ends = &self.ends[r * nf..(r + 1) * nf];
        let row_end = ends.last().map_or(row_start, |&e| e as usize);
        // offset = keys already in the batch + (end - row_start); wrapping
        // arithmetic lets the subtraction be hoisted out of the loop.
        let base = (batch.keys.len() as u32).wrapping_sub(row_start as u32);
        batch
            .offsets
            .extend(ends.iter().map(|&e| base.wrapping_add(e)));
        batch.keys.extend_from_slice(&self.keys[row_start..row_end]);
        batch
            .dense
            .extend_from_slice(&self.dense[r * nd..(r + 1) * nd]);
        batch.labels.push(self.labels[r] as f32);
        batch.len += 1;
    }
}

impl BatchSource for CacheSource {
    fn schema(&self) -> &SchemaInfo {
        &self.info
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, DataError> {
        start_batch(batch, &self.info);
        while !self.done && batch.len < self.batch_size {
            if self.filter.full(self.kept) {
                self.done = true;
                break;
            }
            if self.pos == self.n && !self.load_chunk()? {
                self.pass_bad_lines(true);
                self.done = true;
                break;
            }
            if self.pass_bad_lines(false) == Pre::Stop {
                self.done = true;
                break;
            }
            // Fast path: a run of rows that all pass the index rule and the
            // sampling, with no bad line inside, copied at once.
            let mut run = self
                .filter
                .run_from(self.line)
                .min((self.n - self.pos) as u64);
            run = run.min((self.batch_size - batch.len) as u64);
            if let Some(m) = self.filter.max_rows {
                run = run.min(m - self.kept);
            }
            if let Some(&b) = self.meta.bad_idx.get(self.bad_ptr) {
                run = run.min(b.saturating_sub(self.line));
            }
            if self.meta.has_day {
                let r0 = self.pos;
                run = self.days[r0..r0 + run as usize]
                    .iter()
                    .take_while(|&&d| self.filter.day_ok(d))
                    .count() as u64;
            }
            if run > 1 {
                let (r0, r1) = (self.pos, self.pos + run as usize);
                self.copy_rows(r0, r1, batch);
                self.pos = r1;
                self.line += run;
                self.kept += run;
                continue;
            }
            let r = self.pos;
            self.pos += 1;
            let idx = self.line;
            self.line += 1;
            match self.filter.pre(idx) {
                Pre::Stop => self.done = true,
                Pre::Skip => {}
                Pre::Parse => {
                    let day = if self.meta.has_day { self.days[r] } else { 0 };
                    if self.filter.day_ok(day) {
                        self.copy_row(r, batch);
                        self.kept += 1;
                    }
                }
            }
        }
        Ok(batch.len > 0)
    }

    fn rows_read(&self) -> u64 {
        self.kept
    }

    fn skip_rows(&mut self, n: u64) -> Result<(), DataError> {
        skip_by_reading(self, n)
    }

    fn bad_rows(&self) -> u64 {
        self.bad_rows
    }
}

impl Resizable for CacheSource {
    fn batch_size_mut(&mut self) -> &mut usize {
        &mut self.batch_size
    }
}
