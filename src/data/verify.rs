//! `data verify`: check a user's copy of a dataset before hours of
//! training: the header, that rows parse (every row, or the first
//! `sample`), and the row count against the known one (datasets/).

use super::config::DataConfig;
use super::error::DataError;
use super::open::open_text_all;
use super::source::BatchSource;
use super::{Batch, Format};
use std::path::Path;

/// What a verification found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Verification {
    /// Rows read and parsed (all of them unless a sample was asked for).
    pub rows: u64,
    /// Whether `rows` is the whole file.
    pub complete: bool,
    /// The row count of the known file of this name (datasets/*/README.md).
    pub expected_rows: Option<u64>,
}

/// The row counts of the published files (without the header line).
pub fn expected_rows(format: Format, file_name: &str) -> Option<u64> {
    let stem = file_name.trim_end_matches(".gz");
    super::dataset::preset(format)?.published_rows(stem)
}

/// Parse `file` under `cfg` with no malformed row allowed (the first one
/// is the error, naming its line); stop after `sample` rows when given.
pub fn verify(
    cfg: &DataConfig,
    file: &Path,
    sample: Option<u64>,
) -> Result<Verification, DataError> {
    let mut cfg = cfg.clone();
    cfg.max_bad_rows = 0;
    cfg.max_rows = sample;
    let mut src = open_text_all(&cfg, file, 1 << 14)?;
    let mut b = Batch::default();
    while src.next_batch(&mut b)? {}
    let rows = src.rows_read();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Verification {
        rows,
        complete: sample.is_none_or(|s| rows < s),
        expected_rows: expected_rows(cfg.format, &name),
    })
}
