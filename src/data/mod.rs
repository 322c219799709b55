//! Data: schemas of the raw CTR formats, streaming readers (plain or gzip),
//! hashing encoders, splits, the encoded cache and the synthetic generator.
//!
//! Everything downstream sees only [`Batch`]es from a [`BatchSource`].
//!
//! Flow: `open(cfg, split)` -> input files (or synthetic ones, generated once)
//! -> encoded cache (built on first read) or text reader -> split filter ->
//! optional min_count / bucket mapping -> batches.
//!
//! Presets (one file per dataset in [`dataset`], compiled by [`schema`]):
//! - `avazu`: 22 fields (`hour` as hour of day HH, C1 ... C21); `id` dropped;
//!   the day YYMMDD tags each row for the by-day split.
//! - `criteo` / `criteo_csv`: C1..C26 (empty is a value), plus I1..I13 as 13
//!   dense features (`log1p`, `log_plus3`) or 13 more fields (`log2_bucket`).
//! - `ipinyou`: the 16 fields of make-ipinyou-data (weekday, hour, useragent,
//!   IP, region, city, adexchange, domain, slotid, slotwidth, slotheight,
//!   slotvisibility, slotformat, slotprice, creative, advertiser), raw values;
//!   `ipinyou_usertag = true` adds `usertag` as a multi-valued 17th field.
//!   bidprice / payprice (label leaks) and per-row ids are never features.
//! - `custom`: declared in `[data.schema]`.
//!
//! Splits ([`filter`]): a data line's index counts every line after the
//! header, malformed ones included, so the text reader and the cache agree.
//! `max_rows` limits each split to its first rows; `sample_rate` keeps a line
//! when a hash of its index falls below the rate (the same lines every run).
//!
//! Keys ([`hash`]): xxh3(value bytes, seed = xxh3(field name, fixed seed)).

pub mod cache;
mod cells;
pub mod config;
pub mod dataset;
pub mod daygate;
mod delims;
pub mod distinct;
pub mod encode;
pub mod error;
pub mod filter;
pub mod fingerprint;
pub mod hash;
pub mod inspect;
pub mod linecount;
pub mod lines;
pub mod mincount;
pub mod open;
pub mod prefetch;
mod role;
pub mod schema;
pub mod source;
pub mod synth;
pub mod teststart;
pub mod values;
pub mod verify;

pub use config::{
    CriteoIntegers, DataConfig, Format, Knobs, MultiValued, SchemaConfig, SplitKind,
    SyntheticConfig,
};
pub use distinct::DistinctKeys;
pub use error::{DataError, QuotingError, RowProblem};
pub use hash::{feature_key, fold_key, rare_key, KeySet};
pub use inspect::{inspect, Inspection};
pub use open::{
    count_rows, frequent_set, ground_truth, input_files, known_rows, open, open_with_frequent,
    schema_of, Split,
};
pub use prefetch::Prefetch;
pub use schema::SchemaInfo;
pub use source::BatchSource;
pub use synth::{generate, informative_keys, load_truth, truth_path, value_of, GroundTruth};

/// A batch of encoded samples.
///
/// Categorical features are stored as bags in CSR form so that multi-valued
/// fields (iPinYou's `usertag`) and single-valued fields share one layout:
/// the keys of sample `i`, field `f` are
/// `keys[offsets[i * n_fields + f] as usize .. offsets[i * n_fields + f + 1] as usize]`.
/// A single-valued field has exactly one key; an empty bag (no tags) has none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Number of samples.
    pub len: usize,
    /// Number of categorical fields per sample.
    pub n_fields: usize,
    /// Number of dense (numeric) features per sample.
    pub n_dense: usize,
    /// Feature keys: 64-bit hashes of (field, value).
    pub keys: Vec<u64>,
    /// `len * n_fields + 1` offsets into `keys`.
    pub offsets: Vec<u32>,
    /// `len * n_dense` dense values, row-major.
    pub dense: Vec<f32>,
    /// `len` labels, 0.0 or 1.0.
    pub labels: Vec<f32>,
    /// Each row's id (Avazu `id`, Criteo CSV `Id`), only when scoring;
    /// empty otherwise.
    pub ids: Vec<u64>,
    /// The distinct keys, when the reader thread computed them (training
    /// only; `Prefetch::with_distinct_keys`). Checked before use.
    pub distinct: DistinctKeys,
}

impl Batch {
    /// Empty the batch, keeping its buffers (no allocation per batch).
    pub fn clear(&mut self) {
        self.len = 0;
        self.keys.clear();
        self.offsets.clear();
        self.offsets.push(0);
        self.dense.clear();
        self.labels.clear();
        self.ids.clear();
        self.distinct.clear();
    }

    /// The keys of sample `i`, field `f`.
    #[inline]
    pub fn bag(&self, i: usize, f: usize) -> &[u64] {
        let j = i * self.n_fields + f;
        &self.keys[self.offsets[j] as usize..self.offsets[j + 1] as usize]
    }
}

impl Batch {
    /// Keep only the first `n` samples (a row window ending mid-batch).
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len {
            return;
        }
        let bags = n * self.n_fields;
        self.keys.truncate(self.offsets[bags] as usize);
        self.offsets.truncate(bags + 1);
        self.dense.truncate(n * self.n_dense);
        self.labels.truncate(n);
        self.ids.truncate(n);
        self.distinct.clear();
        self.len = n;
    }
}
