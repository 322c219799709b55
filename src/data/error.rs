//! Typed errors of the data layer. Every error about an input names the file,
//! and the line when there is one, so a user can open the file and look.

use std::path::PathBuf;

/// What is wrong with one row of a raw file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowProblem {
    #[error("expected {expected} columns, found {found}")]
    ColumnCount { expected: usize, found: usize },
    /// A headerless file to score has neither column count.
    #[error("expected {labelled} columns (with the label) or {unlabelled} (without it, a file to score), found {found}")]
    ScoringColumnCount {
        labelled: usize,
        unlabelled: usize,
        found: usize,
    },
    #[error("label must be 0 or 1, found {found:?}")]
    Label { found: String },
    #[error("bytes that are not UTF-8 (column {column})")]
    NotUtf8 { column: usize },
    /// A custom line whose quotes the RFC-4180 reader refuses.
    #[error("{0}")]
    Quoting(QuotingError),
    /// A typed column whose text has the wrong shape (`what`: "an integer",
    /// "YYMMDDHH (8 digits)", ...).
    #[error("column {column}: expected {what}, found {found:?}")]
    Expected {
        column: String,
        what: &'static str,
        found: String,
    },
    /// A well-formed value outside its range (`what`: "month 13", "integer").
    #[error("column {column}: {what} out of range in {found:?}")]
    OutOfRange {
        column: String,
        what: String,
        found: String,
    },
}

/// A custom line (or header) whose quotes the RFC-4180 reader refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuotingError {
    /// The csv crate's message (its error is neither `Clone` nor `PartialEq`).
    #[error("bad quoting: {0}")]
    Csv(String),
    /// The reader ends a record at a bare `\r`: refused, not read as two rows.
    #[error("bad quoting: a carriage return inside the line")]
    CarriageReturn,
}

/// Every way reading or generating data can fail.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: file not found")]
    Missing { file: PathBuf },
    // The OS text is part of the message and deliberately not a `#[source]`:
    // printed through anyhow's `{:#}` chain it would appear twice.
    #[error("{file}: {err}")]
    Io { file: PathBuf, err: std::io::Error },
    /// Not a regular file (a FIFO, a device, a directory...).
    #[error("{file}: {why}")]
    NotAFile { file: PathBuf, why: &'static str },
    /// A compressed format that is not gzip.
    #[error("{file}: {kind}-compressed; decompress it or use gzip")]
    Compressed { file: PathBuf, kind: &'static str },
    #[error("{file}: empty file (no data rows)")]
    Empty { file: PathBuf },
    #[error("{file}: line {line}: corrupt or truncated gzip stream ({msg})")]
    Gzip {
        file: PathBuf,
        line: u64,
        msg: String,
    },
    #[error("{file}: line {line}: {problem}")]
    Row {
        file: PathBuf,
        line: u64,
        problem: RowProblem,
    },
    #[error("{file}: line 1: bad header: {problem}")]
    Header { file: PathBuf, problem: String },
    #[error("{file}: more than {max} bad rows (max_bad_rows); the last one: {last}")]
    TooManyBadRows {
        file: PathBuf,
        max: u64,
        last: Box<DataError>,
    },
    #[error("data config: {0}")]
    Config(String),
    #[error("{file}: cache: {msg}")]
    Cache { file: PathBuf, msg: String },
    /// Avazu's paper split without a cache takes the last line's day as
    /// the test day (docs/data.md "Splits"); a line has a later one.
    #[error("{file}: line {line}: day {day} comes after {last}, the day of the file's last line: without a cache, split = \"paper\" takes the last line's day as the test day and needs a file sorted by `hour`; sort it, or set `cache = true` (the cache's build pass finds the last day)")]
    AfterLastDay {
        file: PathBuf,
        line: u64,
        day: u32,
        last: u32,
    },
    /// The test split's start remembered from the training pass does not
    /// match the file's bytes (docs/data.md "Splits").
    #[error("{file}: line {line} (byte {byte}), the start of the test split noted by the training pass, {problem}")]
    TestStart {
        file: PathBuf,
        line: u64,
        byte: u64,
        problem: String,
    },
    #[error("{file}: changed while it was being read ({what}); rerun once nothing writes to it")]
    Changed { file: PathBuf, what: String },
}

impl DataError {
    pub(crate) fn io(file: &std::path::Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing {
                file: file.to_path_buf(),
            }
        } else {
            DataError::Io {
                file: file.to_path_buf(),
                err: source,
            }
        }
    }
}
