//! The `[data]` section of a run config, validated once by [`DataConfig::check`].
//!
//! Every key, with its default where it has one (the example is parsed by a
//! test below, so it stays true):
//!
//! ```toml
//! format = "criteo"            # avazu | criteo | criteo_csv | ipinyou | custom
//! train = "data/criteo/train.txt"   # plain or gzip (detected by content)
//! # test = "..."               # a separate test file: split by file
//! split = "paper"              # paper | fraction | hashed
//! train_fraction = 0.8         # fraction: first 80% of the rows train; hashed: each row with p = 0.8
//! valid_fraction = 0.0        # this share of the training side (by line hash) validates (0 = none)
//! # valid_path = "..."         # or a separate validation file in the same format
//! max_rows = 100000            # at most this many rows per split (default: all)
//! sample_rate = 1.0            # keep each row with this probability (by row number)
//! min_count = 0                # rarer train features -> the field's rare key (0 = off)
//! buckets = 1000000            # fold keys into this many buckets (default: no folding)
//! criteo_integers = "log1p"    # log1p | log2_bucket | log_plus3
//! ipinyou_usertag = false      # iPinYou: add usertag as a 17th, multi-valued field
//! max_bad_rows = 0             # skip and count up to this many malformed rows
//! cache = true                 # encoded cache of each input file
//! cache_dir = ".cache/ctr-run"
//!
//! [schema]                     # format = "custom" only
//! delimiter = "\t"
//! header = true
//! label = "click"
//! categorical = ["site", "ad"]
//! numeric = ["price"]
//! multi_valued = [{ column = "tags", separator = "," }]
//! drop = ["id"]
//!
//! [synthetic]                  # used when `train` is absent
//! rows = 100000
//! seed = 1
//! test_rows = 25000            # iPinYou's separate test file (default rows / 4)
//! [synthetic.knobs]
//! click_rate = 0.25            # default: the real data's
//! signal = 1.0
//! informative_fields = 9       # default: a third of the fields
//! informative_values = 100
//! zipf = 1.1
//! cardinality_scale = 1.0
//! days = 10
//! stream = 0
//! ```

use super::error::DataError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The raw layout of the input file(s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Avazu `train.csv`: header `id,click,hour,C1,...,C21`.
    #[default]
    Avazu,
    /// Criteo Kaggle `train.txt`: TSV, no header, label, I1..I13, C1..C26.
    Criteo,
    /// The Kaggle CSV variant: header `Id,Label,I1..I13,C1..C26`.
    CriteoCsv,
    /// make-ipinyou-data `train.log.txt` / `test.log.txt`: TSV with header.
    Ipinyou,
    /// A schema declared in the config (`[data.schema]`).
    Custom,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Avazu => "avazu",
            Format::Criteo => "criteo",
            Format::CriteoCsv => "criteo_csv",
            Format::Ipinyou => "ipinyou",
            Format::Custom => "custom",
        }
    }
}

/// A `--format` value that names no format.
#[derive(Debug, thiserror::Error)]
#[error("unknown format {text:?} (avazu | criteo | criteo_csv | ipinyou | custom)")]
pub struct UnknownFormat {
    pub text: String,
}

impl std::str::FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        match s {
            "avazu" => Ok(Format::Avazu),
            "criteo" => Ok(Format::Criteo),
            "criteo_csv" => Ok(Format::CriteoCsv),
            "ipinyou" => Ok(Format::Ipinyou),
            "custom" => Ok(Format::Custom),
            _ => Err(UnknownFormat {
                text: s.to_string(),
            }),
        }
    }
}

/// How rows are divided into train and test when no separate `test` file is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// The paper's split: Avazu by day of `hour` (last day = test), Criteo
    /// 7 row-order parts (last = test), iPinYou and custom by file.
    #[default]
    Paper,
    /// The first `train_fraction` of the rows (row order) train, the rest test.
    Fraction,
    /// Each row trains with probability `train_fraction`, by a fixed hash of
    /// its line index: order-free (for files sorted by time or label) and
    /// the same rows for every run and seed.
    Hashed,
}

/// How Criteo's integer columns I1..I13 become features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriteoIntegers {
    /// Dense: ln(1 + max(x, 0)); empty = 0.
    #[default]
    Log1p,
    /// Categorical (13 more fields): floor(ln(x)^2) for x > 2, else x itself
    /// (the Kaggle winner's rule); empty is a value of its own.
    Log2Bucket,
    /// Dense: ln(max(x + 3, 1)); empty = 0.
    LogPlus3,
}

/// A multi-valued column (a bag of values in one cell), e.g. iPinYou `usertag`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiValued {
    pub column: String,
    /// One byte, e.g. ",".
    pub separator: String,
}

/// A generic schema for `format = "custom"`. Every column of the file must be
/// named in exactly one of `label`, `categorical`, `numeric`, `multi_valued`,
/// `drop`, so that a typo is an error rather than a silently ignored column.
/// Cells follow RFC-4180 quoting (a quoted field may hold the delimiter;
/// `""` is a quote), within one line; docs/data.md "Custom files".
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaConfig {
    /// One byte; "\t" for TSV.
    pub delimiter: String,
    /// Whether the first line names the columns.
    pub header: bool,
    /// Column names when there is no header (in file order).
    pub columns: Vec<String>,
    pub label: String,
    pub categorical: Vec<String>,
    /// Dense columns, read as f32 (empty = 0).
    pub numeric: Vec<String>,
    pub multi_valued: Vec<MultiValued>,
    pub drop: Vec<String>,
}

impl Default for SchemaConfig {
    fn default() -> Self {
        Self {
            delimiter: ",".into(),
            header: true,
            columns: Vec::new(),
            label: "click".into(),
            categorical: Vec::new(),
            numeric: Vec::new(),
            multi_valued: Vec::new(),
            drop: Vec::new(),
        }
    }
}

/// Knobs of the synthetic generator (all have realistic defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Knobs {
    /// Target click rate; `None` = the real data's (Avazu 0.17, Criteo 0.25, iPinYou 0.001).
    pub click_rate: Option<f64>,
    /// Standard deviation of an informative value's logit weight.
    pub signal: f64,
    /// How many fields carry signal; `None` = about a third of them.
    pub informative_fields: Option<usize>,
    /// In an informative field, the `informative_values` most frequent values carry signal.
    pub informative_values: u64,
    /// Zipf exponent of the value frequencies (> 1 = heavy head, long rare tail).
    pub zipf: f64,
    /// Multiplies every field's cardinality (1.0 = the real data's, millions for the big fields).
    pub cardinality_scale: f64,
    /// Avazu: number of days spanned by `hour` (the last one is the paper's test day).
    pub days: u32,
    /// Row stream: the same seed with another stream gives other rows from the
    /// same ground truth (e.g. an iPinYou test file).
    pub stream: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            click_rate: None,
            signal: 1.0,
            informative_fields: None,
            informative_values: 100,
            zipf: 1.1,
            cardinality_scale: 1.0,
            days: 10,
            stream: 0,
        }
    }
}

/// Synthetic data generated on the fly when no `train` file is given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticConfig {
    pub rows: u64,
    /// iPinYou only (split by file): rows of the separate test file; default rows / 4.
    pub test_rows: Option<u64>,
    pub seed: u64,
    pub knobs: Knobs,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            rows: 100_000,
            test_rows: None,
            seed: 1,
            knobs: Knobs::default(),
        }
    }
}

/// The `[data]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    pub format: Format,
    /// The training file (or the whole file when the split divides one file).
    pub train: Option<PathBuf>,
    /// A separate test file (iPinYou style); when set, the split is by file.
    pub test: Option<PathBuf>,
    pub split: SplitKind,
    /// For `split = "fraction"` and `"hashed"`.
    pub train_fraction: f64,
    /// This share of the training side's lines, chosen by a fixed line
    /// hash, is the validation split instead (0 = none).
    pub valid_fraction: f64,
    /// A separate validation file in the same format (instead of
    /// `valid_fraction`).
    pub valid_path: Option<PathBuf>,
    /// At most this many rows per split (the first ones of the split).
    pub max_rows: Option<u64>,
    /// Keep each row of a split with this probability (deterministic by row number).
    pub sample_rate: f64,
    /// A feature seen fewer than `min_count` times in the train split maps to
    /// its field's "rare" key (0 = off).
    pub min_count: u32,
    /// Fold keys into this many buckets (the hashing trick); `None` = no folding.
    pub buckets: Option<u64>,
    pub criteo_integers: CriteoIntegers,
    /// iPinYou: add the multi-valued `usertag` as a 17th field (the paper uses 16).
    pub ipinyou_usertag: bool,
    /// Skip (and count) up to this many malformed rows; 0 = the first one is an error.
    pub max_bad_rows: u64,
    /// Keep an encoded cache of each input file (much faster re-reads).
    pub cache: bool,
    /// Where caches (and generated synthetic files) live; default `./.cache/ctr-run`.
    pub cache_dir: Option<PathBuf>,
    pub schema: Option<SchemaConfig>,
    pub synthetic: Option<SyntheticConfig>,
    /// Set only by the scorer (`ctr-run predict`), never read from a file:
    /// accept a file without the label column and keep each row's id.
    #[serde(skip)]
    pub scoring: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            format: Format::Avazu,
            train: None,
            test: None,
            split: SplitKind::Paper,
            train_fraction: 0.8,
            valid_fraction: 0.0,
            valid_path: None,
            max_rows: None,
            sample_rate: 1.0,
            min_count: 0,
            buckets: None,
            criteo_integers: CriteoIntegers::Log1p,
            ipinyou_usertag: false,
            max_bad_rows: 0,
            cache: true,
            cache_dir: None,
            schema: None,
            synthetic: None,
            scoring: false,
        }
    }
}

impl DataConfig {
    /// A config reading `train` in `format` with every other setting at its default.
    pub fn for_file(format: Format, train: impl Into<PathBuf>) -> Self {
        Self {
            format,
            train: Some(train.into()),
            ..Self::default()
        }
    }

    /// The cache directory in effect.
    /// Whether a validation split is configured.
    pub fn has_validation(&self) -> bool {
        self.valid_fraction > 0.0 || self.valid_path.is_some()
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".cache/ctr-run"))
    }

    /// Validate once; every message names the key and the rule.
    pub fn check(&self) -> Result<(), DataError> {
        let err = |m: String| Err(DataError::Config(m));
        if self.train.is_none() && self.synthetic.is_none() {
            return err("set `train` (a file) or `[data.synthetic]`".into());
        }
        if self.test.is_some() && self.train.is_none() {
            return err("`test` needs `train` too".into());
        }
        if !(self.train_fraction > 0.0 && self.train_fraction < 1.0) {
            return err(format!(
                "train_fraction must be in (0, 1), got {}",
                self.train_fraction
            ));
        }
        if !(self.sample_rate > 0.0 && self.sample_rate <= 1.0) {
            return err(format!(
                "sample_rate must be in (0, 1], got {}",
                self.sample_rate
            ));
        }
        if !(0.0..1.0).contains(&self.valid_fraction) {
            return err(format!(
                "valid_fraction must be in [0, 1), got {}",
                self.valid_fraction
            ));
        }
        if self.valid_fraction > 0.0 && self.valid_path.is_some() {
            return err("set valid_fraction or valid_path, not both".into());
        }
        if self.max_rows == Some(0) {
            return err("max_rows must be >= 1 (omit it for no limit)".into());
        }
        if self.buckets == Some(0) {
            return err("buckets must be >= 1 (omit it for no folding)".into());
        }
        let by_file_needed = matches!(self.format, Format::Ipinyou | Format::Custom)
            && self.split == SplitKind::Paper;
        if by_file_needed && self.test.is_none() && self.synthetic.is_none() {
            return err(format!(
                "format {} splits by file under split = \"paper\": set `test`, or use split = \"hashed\" (or \"fraction\")",
                self.format.as_str()
            ));
        }
        match (&self.schema, self.format) {
            (None, Format::Custom) => return err("format = \"custom\" needs [data.schema]".into()),
            (Some(_), f) if f != Format::Custom => {
                return err(format!(
                    "[data.schema] is only for format = \"custom\", not {}",
                    f.as_str()
                ))
            }
            (Some(s), _) => check_schema(s)?,
            _ => {}
        }
        self.check_unused()?;
        if let Some(s) = &self.synthetic {
            if self.format == Format::Custom {
                return err(
                    "synthetic data exists for avazu, criteo, criteo_csv and ipinyou, not custom"
                        .into(),
                );
            }
            check_synthetic(s)?;
        }
        Ok(())
    }
}

impl DataConfig {
    /// Settings that the chosen format or split would ignore are refused
    /// (compared with the default by value: stored configs carry every key).
    fn check_unused(&self) -> Result<(), DataError> {
        let d = Self::default();
        let unused = |key: &str, by: String, used: &str| {
            Err(DataError::Config(format!(
                "{key} is not used by {by} (it is used by {used})"
            )))
        };
        let by_file = self.test.is_some();
        if self.train_fraction != d.train_fraction && (by_file || self.split == SplitKind::Paper) {
            let by = if by_file {
                "a separate `test` file".to_string()
            } else {
                "split = \"paper\"".to_string()
            };
            return unused("train_fraction", by, "split = \"fraction\" and \"hashed\"");
        }
        if self.criteo_integers != d.criteo_integers
            && !matches!(self.format, Format::Criteo | Format::CriteoCsv)
        {
            let by = format!("format = \"{}\"", self.format.as_str());
            return unused(
                "criteo_integers",
                by,
                "format = \"criteo\" and \"criteo_csv\"",
            );
        }
        if self.ipinyou_usertag != d.ipinyou_usertag && self.format != Format::Ipinyou {
            let by = format!("format = \"{}\"", self.format.as_str());
            return unused("ipinyou_usertag", by, "format = \"ipinyou\"");
        }
        Ok(())
    }
}

fn one_byte(what: &str, s: &str) -> Result<u8, DataError> {
    let s = if s == "\\t" { "\t" } else { s };
    match s.as_bytes() {
        [b] if *b != b'\n' && *b != b'\r' => Ok(*b),
        _ => Err(DataError::Config(format!(
            "{what} must be exactly one byte, got {s:?}"
        ))),
    }
}

pub(crate) fn schema_delimiter(s: &SchemaConfig) -> Result<u8, DataError> {
    one_byte("schema.delimiter", &s.delimiter)
}

pub(crate) fn multi_separator(m: &MultiValued) -> Result<u8, DataError> {
    one_byte("schema.multi_valued.separator", &m.separator)
}

fn check_schema(s: &SchemaConfig) -> Result<(), DataError> {
    schema_delimiter(s)?;
    for m in &s.multi_valued {
        multi_separator(m)?;
    }
    if !s.header && s.columns.is_empty() {
        return Err(DataError::Config(
            "schema.header = false needs schema.columns (the column names)".into(),
        ));
    }
    if s.categorical.is_empty() && s.multi_valued.is_empty() {
        return Err(DataError::Config(
            "schema needs at least one categorical or multi_valued column".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let all = std::iter::once(&s.label)
        .chain(&s.categorical)
        .chain(&s.numeric)
        .chain(s.multi_valued.iter().map(|m| &m.column))
        .chain(&s.drop);
    for c in all {
        if !seen.insert(c) {
            return Err(DataError::Config(format!(
                "schema: column {c:?} is named twice"
            )));
        }
    }
    Ok(())
}

fn check_synthetic(s: &SyntheticConfig) -> Result<(), DataError> {
    let err = |m: String| Err(DataError::Config(m));
    let k = &s.knobs;
    if s.rows == 0 {
        return err("synthetic.rows must be >= 1".into());
    }
    if let Some(c) = k.click_rate {
        if !(c > 0.0 && c < 1.0) {
            return err(format!(
                "synthetic.knobs.click_rate must be in (0, 1), got {c}"
            ));
        }
    }
    if !(k.signal.is_finite() && k.signal >= 0.0) {
        return err(format!(
            "synthetic.knobs.signal must be finite and >= 0, got {}",
            k.signal
        ));
    }
    if !(k.zipf.is_finite() && k.zipf > 0.0 && (k.zipf - 1.0).abs() > 1e-6) {
        return err(format!(
            "synthetic.knobs.zipf must be > 0 and != 1, got {}",
            k.zipf
        ));
    }
    if !(k.cardinality_scale.is_finite() && k.cardinality_scale > 0.0) {
        return err(format!(
            "synthetic.knobs.cardinality_scale must be > 0, got {}",
            k.cardinality_scale
        ));
    }
    if !(1..=60).contains(&k.days) {
        return err(format!(
            "synthetic.knobs.days must be in 1..=60, got {}",
            k.days
        ));
    }
    Ok(())
}

/// Check the knobs alone (for `ctr-run gen`).
pub fn check_knobs(k: &Knobs) -> Result<(), DataError> {
    check_synthetic(&SyntheticConfig {
        rows: 1,
        test_rows: None,
        seed: 0,
        knobs: k.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_parses_with_every_key() {
        let doc: String = include_str!("config.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n");
        let c: DataConfig = toml::from_str(&doc).unwrap();
        assert_eq!(c.format, Format::Criteo);
        assert_eq!(c.max_rows, Some(100_000));
        assert_eq!(c.buckets, Some(1_000_000));
        let s = c.schema.as_ref().unwrap();
        assert_eq!(s.delimiter, "\t"); // TOML "\t" is a tab
        assert_eq!(
            s.multi_valued[0],
            MultiValued {
                column: "tags".into(),
                separator: ",".into()
            }
        );
        let syn = c.synthetic.as_ref().unwrap();
        assert_eq!(
            (syn.rows, syn.test_rows, syn.knobs.click_rate),
            (100_000, Some(25_000), Some(0.25))
        );
        // The schema is for custom formats only: check() says so.
        assert!(c
            .check()
            .unwrap_err()
            .to_string()
            .contains("only for format = \"custom\""));
        let c = DataConfig {
            format: Format::Custom,
            test: Some("t".into()),
            synthetic: None,
            ..c
        };
        c.check().unwrap();
        assert_eq!(schema_delimiter(c.schema.as_ref().unwrap()).unwrap(), b'\t');
    }
}
