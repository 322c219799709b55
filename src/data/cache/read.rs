//! Reading a cache back: [`CacheSource`] decodes the verified chunks that
//! its feed hands over into batches.

use super::feed::{ChunkFeed, ChunkShape, FeedError};
use super::format::{le_u32s, CacheMeta};
use crate::data::error::DataError;
use crate::data::filter::{Pre, RowFilter};
use crate::data::fingerprint::{check_same, file_id, FileId};
use crate::data::schema::SchemaInfo;
use crate::data::source::{skip_by_reading, start_batch, BatchSource, Resizable};
use crate::data::Batch;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

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
