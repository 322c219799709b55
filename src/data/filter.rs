//! Which rows of a file belong to a split: the split rule (row order, day or
//! line hash),
//! the sample rate and the row limit. The text reader and the cache reader
//! apply this same filter, so both give the same rows.

use crate::rng::mix64;

/// A part of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitRule {
    /// Every row (split by file, or `data inspect`).
    All,
    /// Data lines with index < n (row-order split, train side).
    IdxBelow(u64),
    /// Data lines with index >= n (row-order split, test side).
    IdxFrom(u64),
    /// Rows whose day < d (Avazu train).
    DayBelow(u32),
    /// Rows whose day == d (Avazu test).
    DayIs(u32),
    /// Lines whose split hash is below the threshold (hashed split, train).
    HashBelow(u64),
    /// Lines whose split hash is at or above it (hashed split, test).
    HashFrom(u64),
}

/// A row-order split's cut as a function of the file's data lines `n`:
/// the first `at(n)` lines train. It never decreases as `n` grows, so the
/// cut of a partial count is a lower bound of the file's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowCut {
    /// `split = "fraction"`: floor(n * train_fraction).
    Fraction(f64),
    /// A paper split of `parts` row-order parts, all but the last train
    /// (Criteo: 7). Integer math: exact and the same on every machine.
    Parts(u64),
}

impl RowCut {
    #[inline]
    pub fn at(self, n: u64) -> u64 {
        match self {
            RowCut::Fraction(f) => (n as f64 * f).floor() as u64,
            RowCut::Parts(p) => (n as u128 * (p as u128 - 1) / p as u128) as u64,
        }
    }
}

/// What to do with a data line, known from its index alone (before parsing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pre {
    Parse,
    Skip,
    /// No later line can belong to the split.
    Stop,
}

/// The salt of the sampling hash (fixed: the same rows for every run).
const SAMPLE_SALT: u64 = 0x5a4d_504c_455f_5254;
/// The salt of the hashed split: independent of the sampling hash, so a
/// sampled run keeps the split's proportions.
const SPLIT_SALT: u64 = 0x5350_4c49_545f_4b59;

/// The salt of the validation hash (`[data] valid_fraction`): independent
/// of the split and sampling hashes, so validation rows are a uniform
/// share of the training side.
const VALID_SALT: u64 = 0x5641_4c49_445f_5354;

/// The validation carve-out of the training side, by line hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carve {
    /// No validation rows taken out.
    None,
    /// Training: skip the lines whose validation hash is below the threshold.
    Out(u64),
    /// Validation: keep only those lines.
    Only(u64),
}

/// The threshold of a hash that keeps a fraction `p` of lines.
pub fn hash_threshold(p: f64) -> u64 {
    (p * 2f64.powi(64)) as u64
}

#[derive(Clone, Debug)]
pub struct RowFilter {
    pub rule: SplitRule,
    /// Keep a line when mix64(idx ^ salt) < threshold; None = keep all.
    threshold: Option<u64>,
    pub max_rows: Option<u64>,
    carve: Carve,
}

impl RowFilter {
    pub fn new(rule: SplitRule, sample_rate: f64, max_rows: Option<u64>) -> Self {
        let threshold = (sample_rate < 1.0).then(|| hash_threshold(sample_rate));
        Self {
            rule,
            threshold,
            max_rows,
            carve: Carve::None,
        }
    }

    /// With the validation carve-out applied before sampling.
    pub fn with_carve(mut self, carve: Carve) -> Self {
        self.carve = carve;
        self
    }

    pub fn carve(&self) -> Carve {
        self.carve
    }

    #[inline]
    pub fn pre(&self, idx: u64) -> Pre {
        match self.rule {
            SplitRule::IdxBelow(n) if idx >= n => return Pre::Stop,
            SplitRule::IdxFrom(n) if idx < n => return Pre::Skip,
            SplitRule::HashBelow(t) if mix64(idx ^ SPLIT_SALT) >= t => return Pre::Skip,
            SplitRule::HashFrom(t) if mix64(idx ^ SPLIT_SALT) < t => return Pre::Skip,
            _ => {}
        }
        match self.carve {
            Carve::Out(t) if mix64(idx ^ VALID_SALT) < t => return Pre::Skip,
            Carve::Only(t) if mix64(idx ^ VALID_SALT) >= t => return Pre::Skip,
            _ => {}
        }
        match self.threshold {
            Some(t) if mix64(idx ^ SAMPLE_SALT) >= t => Pre::Skip,
            _ => Pre::Parse,
        }
    }

    /// How many consecutive lines from `idx` on pass the index rule and the
    /// sampling for sure (0 = decide line by line). Lets the cache reader copy
    /// whole runs of rows at once.
    #[inline]
    pub fn run_from(&self, idx: u64) -> u64 {
        if self.threshold.is_some() || self.carve != Carve::None {
            return 0;
        }
        match self.rule {
            SplitRule::IdxBelow(n) => n.saturating_sub(idx),
            SplitRule::IdxFrom(n) if idx < n => 0,
            SplitRule::HashBelow(_) | SplitRule::HashFrom(_) => 0,
            _ => u64::MAX,
        }
    }

    #[inline]
    pub fn day_ok(&self, day: u32) -> bool {
        match self.rule {
            SplitRule::DayBelow(d) => day < d,
            SplitRule::DayIs(d) => day == d,
            _ => true,
        }
    }

    /// Whether the rows kept so far reach the limit.
    #[inline]
    pub fn full(&self, kept: u64) -> bool {
        self.max_rows.is_some_and(|m| kept >= m)
    }
}
