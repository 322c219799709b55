//! The encoded cache: one binary file per (input file, encoding) holding every
//! row of the file already encoded (keys, bag ends, dense values, labels, day
//! tags), so that later runs skip parsing and hashing and read at memory speed.
//!
//! Layout (all little-endian): a sequence of chunks
//! `[b"CHNK", n_rows u32, n_keys u64, labels u8*n, days u32*n (if has_day),
//!   bag ends u32*(n*n_fields), keys u64*n_keys, dense f32*(n*n_dense)]`
//! (`b"CHN1"` and no bag ends when every bag holds one key),
//! then the JSON [`CacheMeta`], then a 16-byte trailer `[meta_len u64, MAGIC]`.
//! The meta is written last because it holds counts known only at the end;
//! the file is written under a temporary name and renamed, so a crash never
//! leaves a cache that looks complete.

use super::config::DataConfig;
use super::error::DataError;
use super::filter::{Pre, RowFilter};
use super::schema::{Layout, SchemaInfo};
use super::source::{skip_by_reading, start_batch, BatchSource, Next, RawReader, Resizable};
use super::Batch;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"CTRCACH1";
const CHUNK_MAGIC: &[u8; 4] = b"CHNK";
/// A chunk in which every bag holds exactly one key (every Avazu and Criteo
/// chunk): the bag ends are implicit and not stored, a third of the bytes.
const CHUNK_MAGIC_SINGLE: &[u8; 4] = b"CHN1";
const CACHE_VERSION: u32 = 3;
const CHUNK_ROWS: usize = 1 << 14;

/// What a cache file says about itself and its source.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CacheMeta {
    pub version: u32,
    pub source: String,
    pub size: u64,
    pub mtime_ns: u64,
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
}

/// A temporary name beside `path`, unique across processes and threads, for
/// write-then-rename.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut s = path.as_os_str().to_owned();
    s.push(format!(
        ".tmp{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    PathBuf::from(s)
}

/// Size and modification time (ns since the epoch) of a file.
pub fn file_identity(file: &Path) -> Result<(u64, u64), DataError> {
    let m = std::fs::metadata(file).map_err(|e| DataError::io(file, e))?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    Ok((m.len(), mtime))
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

/// The meta of a cache file, or None if it is absent or unreadable.
pub fn read_meta(path: &Path) -> Option<CacheMeta> {
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if len < 16 {
        return None;
    }
    f.seek(SeekFrom::Start(len - 16)).ok()?;
    let mut t = [0u8; 16];
    f.read_exact(&mut t).ok()?;
    if &t[8..] != MAGIC {
        return None;
    }
    let ml = u64::from_le_bytes(t[..8].try_into().ok()?);
    if ml > len - 16 {
        return None;
    }
    f.seek(SeekFrom::Start(len - 16 - ml)).ok()?;
    let mut m = vec![0u8; ml as usize];
    f.read_exact(&mut m).ok()?;
    let meta: CacheMeta = serde_json::from_slice(&m).ok()?;
    (meta.data_bytes == len - 16 - ml).then_some(meta)
}

/// Whether `meta` describes the current `file` under `layout`.
fn valid(meta: &CacheMeta, file: &Path, layout: &Layout) -> bool {
    matches!(file_identity(file), Ok((s, t)) if s == meta.size && t == meta.mtime_ns)
        && meta.version == CACHE_VERSION
        && meta.layout_hash == layout.hash
        && meta.field_names == layout.info.field_names
        && meta.dense_names == layout.info.dense_names
        // The reader walks bad lines in order; a damaged list must not be trusted.
        && meta.bad_idx.windows(2).all(|w| w[0] < w[1])
        && meta.bad_idx.last().is_none_or(|&b| b < meta.n_lines)
        && meta.n_rows + meta.bad_idx.len() as u64 == meta.n_lines
}

fn put_u32s(w: &mut impl Write, v: impl Iterator<Item = u32>) -> std::io::Result<()> {
    for x in v {
        w.write_all(&x.to_le_bytes())?;
    }
    Ok(())
}

fn write_chunk(w: &mut impl Write, b: &Batch, days: &[u32], has_day: bool) -> std::io::Result<u64> {
    let mut bytes = 16u64;
    let single = b.offsets.iter().enumerate().all(|(j, &o)| o as usize == j);
    w.write_all(if single {
        CHUNK_MAGIC_SINGLE
    } else {
        CHUNK_MAGIC
    })?;
    w.write_all(&(b.len as u32).to_le_bytes())?;
    w.write_all(&(b.keys.len() as u64).to_le_bytes())?;
    let labels: Vec<u8> = b.labels.iter().map(|&y| y as u8).collect();
    w.write_all(&labels)?;
    bytes += labels.len() as u64;
    if has_day {
        put_u32s(w, days.iter().copied())?;
        bytes += 4 * days.len() as u64;
    }
    if !single {
        put_u32s(w, b.offsets[1..].iter().copied())?;
        bytes += 4 * (b.offsets.len() as u64 - 1);
    }
    for k in &b.keys {
        w.write_all(&k.to_le_bytes())?;
    }
    bytes += 8 * b.keys.len() as u64;
    put_u32s(w, b.dense.iter().map(|v| v.to_bits()))?;
    bytes += 4 * b.dense.len() as u64;
    Ok(bytes)
}

/// Parse `raw` to the end and write its cache to `path` (atomically).
fn build(
    mut raw: RawReader,
    layout: &Layout,
    file: &Path,
    path: &Path,
) -> Result<CacheMeta, DataError> {
    let (size, mtime_ns) = file_identity(file)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let tmp = tmp_path(path);
    let cerr = |e: std::io::Error| DataError::Cache {
        file: tmp.clone(),
        msg: e.to_string(),
    };
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(cerr)?);
    let mut batch = Batch::default();
    start_batch(&mut batch, &layout.info);
    let mut days: Vec<u32> = Vec::with_capacity(CHUNK_ROWS);
    let (mut n_rows, mut clicks, mut last_day, mut data_bytes) = (0u64, 0u64, 0u32, 0u64);
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
                data_bytes += write_chunk(&mut w, &batch, &days, layout.has_day).map_err(cerr)?;
                start_batch(&mut batch, &layout.info);
                days.clear();
            }
            if end {
                return Ok(());
            }
        }
    })();
    if let Err(e) = result {
        drop(w);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let meta = CacheMeta {
        version: CACHE_VERSION,
        source: file.to_string_lossy().into_owned(),
        size,
        mtime_ns,
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
    };
    let finish = (|| -> std::io::Result<()> {
        let m = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
        w.write_all(&m)?;
        w.write_all(&(m.len() as u64).to_le_bytes())?;
        w.write_all(MAGIC)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = finish {
        let _ = std::fs::remove_file(&tmp);
        return Err(cerr(e));
    }
    Ok(meta)
}

/// Open (building it first if needed) the cache of `file`. Returns the cache
/// path, its meta and the layout.
pub fn ensure(cfg: &DataConfig, file: &Path) -> Result<(PathBuf, CacheMeta, Layout), DataError> {
    let (raw, layout) = RawReader::open(cfg, file)?;
    let path = cache_path(&cfg.cache_dir(), file, &layout);
    if let Some(meta) = read_meta(&path) {
        if valid(&meta, file, &layout) {
            return Ok((path, meta, layout));
        }
    }
    let meta = build(raw, &layout, file, &path)?;
    Ok((path, meta, layout))
}

/// Batches read back from a cache file.
pub struct CacheSource {
    path: PathBuf,
    r: BufReader<File>,
    meta: CacheMeta,
    info: SchemaInfo,
    filter: RowFilter,
    batch_size: usize,
    kept: u64,
    done: bool,
    data_left: u64,
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
        let f = File::open(path).map_err(|e| DataError::io(path, e))?;
        let info = SchemaInfo {
            field_names: meta.field_names.clone(),
            dense_names: meta.dense_names.clone(),
        };
        Ok(Self {
            path: path.to_path_buf(),
            r: BufReader::with_capacity(1 << 20, f),
            data_left: meta.data_bytes,
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

    fn read_bytes(&mut self, n: usize) -> Result<(), DataError> {
        if n as u64 > self.data_left {
            return Err(self.corrupt("chunk runs past the data"));
        }
        self.bytes.resize(n, 0);
        let path = self.path.clone();
        self.r
            .read_exact(&mut self.bytes)
            .map_err(|e| DataError::Cache {
                file: path,
                msg: e.to_string(),
            })?;
        self.data_left -= n as u64;
        Ok(())
    }

    /// Load the next chunk; false at the end of the data.
    fn load_chunk(&mut self) -> Result<bool, DataError> {
        if self.data_left == 0 {
            return Ok(false);
        }
        self.read_bytes(16)?;
        let single = match &self.bytes[..4] {
            m if m == CHUNK_MAGIC => false,
            m if m == CHUNK_MAGIC_SINGLE => true,
            _ => return Err(self.corrupt("bad chunk magic")),
        };
        let n = u32::from_le_bytes(self.bytes[4..8].try_into().unwrap()) as usize;
        let nk = u64::from_le_bytes(self.bytes[8..16].try_into().unwrap()) as usize;
        let (nf, nd) = (self.info.n_fields(), self.info.n_dense());
        self.read_bytes(n)?;
        self.labels.clear();
        self.labels.extend_from_slice(&self.bytes);
        self.days.clear();
        if self.meta.has_day {
            self.read_bytes(4 * n)?;
            self.days.extend(
                self.bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap())),
            );
        }
        self.ends.clear();
        if single {
            self.ends.extend(1..=(n * nf) as u32);
        } else {
            self.read_bytes(4 * n * nf)?;
            self.ends.extend(
                self.bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap())),
            );
        }
        self.read_bytes(8 * nk)?;
        self.keys.clear();
        self.keys.extend(
            self.bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap())),
        );
        self.read_bytes(4 * n * nd)?;
        self.dense.clear();
        self.dense.extend(
            self.bytes
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
