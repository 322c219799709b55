//! The encoded cache: one binary file per (input file, encoding) holding every
//! row of the file already encoded (keys, bag ends, dense values, labels, day
//! tags), so that later runs skip parsing and hashing and read at memory speed.
//!
//! The file's layout is in `format`; `write` builds a cache (under a
//! temporary name, renamed when complete, so a crash never leaves a cache
//! that looks complete) and `read` hands its rows out as batches, the
//! chunks read and checked ahead by `feed`.
//!
//! Verified by content, never trusted: the meta by its checksum; the source
//! by its [`Fingerprint`](super::fingerprint::Fingerprint) (an edit that
//! keeps size and mtime is caught); the whole chunk region by `payload_xxh3` before the cache is used (once per
//! process), and each chunk again by its own checksum (seeded with its
//! index, so chunks cannot trade places) before any of its rows is handed
//! out. A cache that fails any check at open is rebuilt with a warning; a
//! chunk that fails while a run reads it stops the run.

mod feed;
mod format;
mod read;
mod write;

pub use format::{read_meta, BadCache, CacheMeta, Unusable};
pub use read::CacheSource;

use super::config::DataConfig;
use super::error::DataError;
use super::fingerprint::{hash_prefix, unchanged};
use super::schema::Layout;
use super::source::RawReader;
use format::CACHE_VERSION;
use std::path::{Path, PathBuf};

/// Where the cache of `file` under `layout` lives.
pub fn cache_path(dir: &Path, file: &Path, layout: &Layout) -> PathBuf {
    let canon = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let id = xxhash_rust::xxh3::xxh3_64_with_seed(canon.to_string_lossy().as_bytes(), layout.hash);
    let stem = file
        .file_name()
        .map_or("data".into(), |s| s.to_string_lossy().into_owned());
    dir.join(format!("{stem}-{id:016x}.ctrc"))
}

/// Why a cache no longer describes its file (`ensure` rebuilds it).
#[derive(Debug, thiserror::Error)]
enum Stale {
    #[error("version {found}, this build reads {CACHE_VERSION}")]
    Version { found: u32 },
    #[error("built for another layout")]
    Layout,
    #[error("inconsistent row counts")]
    RowCounts,
    #[error("{} changed since it was built", file.display())]
    SourceChanged { file: PathBuf },
    #[error("payload checksum mismatch")]
    Payload,
    /// Checking the file or the cache failed.
    #[error(transparent)]
    Check(#[from] DataError),
}

/// Check that `meta` (read from `path`) describes the current `file` under
/// `layout` and that the chunk region is intact; the reason when not.
fn verify(meta: &CacheMeta, path: &Path, file: &Path, layout: &Layout) -> Result<(), Stale> {
    if meta.version != CACHE_VERSION {
        return Err(Stale::Version {
            found: meta.version,
        });
    }
    if meta.layout_hash != layout.hash
        || meta.field_names != layout.info.field_names
        || meta.dense_names != layout.info.dense_names
        || meta.has_day != layout.has_day
    {
        return Err(Stale::Layout);
    }
    // The reader walks bad lines in order; a damaged list must not be trusted.
    if !(meta.bad_idx.windows(2).all(|w| w[0] < w[1])
        && meta.bad_idx.last().is_none_or(|&b| b < meta.n_lines)
        && meta.n_rows + meta.bad_idx.len() as u64 == meta.n_lines)
    {
        return Err(Stale::RowCounts);
    }
    if !unchanged(file, &meta.source_fp)? {
        return Err(Stale::SourceChanged {
            file: file.to_path_buf(),
        });
    }
    if hash_prefix(path, meta.data_bytes)? != meta.payload_xxh3 {
        return Err(Stale::Payload);
    }
    Ok(())
}

/// Open (building it first if needed) the cache of `file`. Returns the cache
/// path, its meta and the layout. A cache that fails a check is rebuilt,
/// with a warning on stderr naming it and the reason.
pub fn ensure(cfg: &DataConfig, file: &Path) -> Result<(PathBuf, CacheMeta, Layout), DataError> {
    let (raw, layout) = RawReader::open(cfg, file)?;
    let path = cache_path(&cfg.cache_dir(), file, &layout);
    if let Ok(meta) = usable(&path, file, &layout) {
        return Ok((path, meta, layout));
    }
    // Runs that start together (a sweep's jobs) would otherwise each build
    // the cache and rename theirs over the one another run has opened.
    let lock_path = path.with_extension("ctrc.lock");
    let meta = crate::lock::one_at_a_time(
        &lock_path,
        |e| DataError::io(&lock_path, e),
        || match usable(&path, file, &layout) {
            Ok(meta) => Ok(meta),
            Err(why) => {
                if let Some(why) = why {
                    eprintln!(
                        "warning: cache {} is unusable ({why}); rebuilding it",
                        path.display()
                    );
                }
                write::build(raw, &layout, file, &path)
            }
        },
    )?;
    Ok((path, meta, layout))
}

/// The meta of the cache at `path` if it is usable for `file` under
/// `layout`; else why not (`None`: there is no cache).
fn usable(path: &Path, file: &Path, layout: &Layout) -> Result<CacheMeta, Option<String>> {
    match read_meta(path) {
        Ok(meta) => match verify(&meta, path, file, layout) {
            Ok(()) => Ok(meta),
            Err(why) => Err(Some(why.to_string())),
        },
        Err(Unusable::Absent) => Err(None),
        Err(Unusable::Bad(why)) => Err(Some(why.to_string())),
    }
}
