//! Building a cache: parse the source to the end, write its chunks, then the
//! meta and trailer, all through one atomic file.

use super::format::{encode_chunk, CacheMeta, CACHE_VERSION, CHUNK_ROWS, MAGIC};
use crate::data::error::DataError;
use crate::data::filter::Pre;
use crate::data::fingerprint::{check_same, fingerprint};
use crate::data::schema::Layout;
use crate::data::source::{start_batch, Next, RawReader};
use crate::data::Batch;
use std::io::Write;
use std::path::Path;

/// Parse `raw` to the end and write its cache to `path` (atomically).
pub(super) fn build(
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
