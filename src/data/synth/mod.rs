//! The synthetic generator: files in the exact raw formats with realistic
//! structure (Zipf-distributed values, real cardinalities and missing rates)
//! and a planted logistic click model whose informative features are known.
//!
//! The model: logit = b0 + sum over informative fields f of w_f(value) (+ for
//! Criteo, sum over informative integer columns of beta_j * (ln(1+x) - mu_j)).
//! In an informative field only the `informative_values` most frequent values
//! (ranks 0..K) have a weight, drawn N(0, signal^2); every other value, and
//! every value of the other fields, has weight 0. b0 is calibrated so that the
//! click rate matches the target.
//!
//! Two knobs (both off by default, leaving the files above byte for byte)
//! give the regime of real CTR data, where rare values carry signal too and
//! removing features costs accuracy (docs/data.md "Long-tail regime"):
//! - `tail_signal`: every value past rank K of an informative field has a
//!   weight N(0, tail_signal^2), computed from (seed, field, rank) so that
//!   millions of weights need no table.
//! - `field_spread`: informative field f's weights (head and tail) are scaled
//!   by a_f = exp(field_spread * g_f), g_f ~ N(0, 1) drawn per field.

pub(in crate::data) mod fields;

use super::config::{Format, Knobs, SyntheticConfig};
use super::dataset::{self, PaperSplit, Preset};
use super::error::DataError;
use super::hash::feature_key;
use crate::rng::SplitMix64;
use fields::{value_text, Col, Shape, Spec};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The ground truth of a generated file (written to `FILE.truth.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GroundTruth {
    pub format: Format,
    pub seed: u64,
    pub rows: u64,
    pub knobs: Knobs,
    pub target_click_rate: f64,
    pub intercept: f64,
    /// Clicks actually drawn.
    pub clicks: u64,
    /// The categorical feature fields of the reader's preset, in column order.
    pub fields: Vec<FieldTruth>,
    /// Criteo integer columns.
    pub dense: Vec<DenseTruth>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FieldTruth {
    pub name: String,
    /// Values the field can take (ranks 0..cardinality).
    pub cardinality: u64,
    pub informative: bool,
    /// Ranks 0..informative_values carry weight (0 when not informative).
    pub informative_values: u64,
    /// The logit weight of ranks 0..informative_values (a_f included).
    pub weights: Vec<f64>,
    /// The field's signal factor a_f (`field_spread`; 1 when off).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub signal_factor: f64,
    /// Weight std of the ranks past informative_values (`tail_signal` * a_f;
    /// 0 = they have weight 0). Their weights are not listed: see `tail_weight`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tail_signal: f64,
}

fn one() -> f64 {
    1.0
}
fn is_one(x: &f64) -> bool {
    *x == 1.0
}
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DenseTruth {
    pub name: String,
    pub informative: bool,
    pub weight: f64,
}

/// Default click rate of a format (the real data's).
pub fn default_click_rate(format: Format) -> f64 {
    dataset::preset(format).map_or(0.001, |p| p.click_rate())
}

/// The synthetic columns of a format (none for a custom schema).
fn columns(format: Format) -> Vec<Col> {
    dataset::preset(format).map_or_else(Vec::new, |p| p.synthetic_columns())
}

/// `FILE.truth.json` beside `out`.
pub fn truth_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".truth.json");
    PathBuf::from(s)
}

pub fn load_truth(path: &Path) -> Result<GroundTruth, DataError> {
    let b = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_slice(&b).map_err(|e| DataError::Config(format!("{}: {e}", path.display())))
}

/// The salt of a column's value texts (from its name: the same in every file).
fn salt_of(name: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(name.as_bytes())
}

/// The Zipf exponent and cardinality of a column under the knobs.
fn scaled(spec: &Spec, k: &Knobs) -> u64 {
    match spec.shape {
        Shape::List(l) => l.len() as u64,
        _ => ((spec.card as f64 * k.cardinality_scale).round() as u64).max(1),
    }
}

/// Ranks 0..v with P(rank r) roughly proportional to (r + 1)^-s (continuous
/// inverse-CDF approximation of Zipf; exact enough for a realistic head and tail).
#[derive(Clone, Copy, Debug)]
struct Zipf {
    a: f64,
    inv: f64,
    v: u64,
}

impl Zipf {
    fn new(v: u64, s: f64) -> Self {
        Self {
            a: ((v + 1) as f64).powf(1.0 - s) - 1.0,
            inv: 1.0 / (1.0 - s),
            v,
        }
    }
    #[inline]
    fn sample(&self, u: f64) -> u64 {
        if self.v <= 1 {
            return 0;
        }
        let x = (1.0 + u * self.a).powf(self.inv) - 1.0;
        (x as u64).min(self.v - 1)
    }
}

/// Everything derived from (format, seed, knobs) alone: the same for every stream.
struct Model {
    cols: Vec<Col>,
    /// Per column: Zipf sampler (Zipf columns).
    zipf: Vec<Option<Zipf>>,
    /// Per column: weights of ranks 0..K (empty = not informative).
    weights: Vec<Vec<f64>>,
    /// Per column: signal factor a_f (1 = off or not informative).
    factor: Vec<f64>,
    /// Per column: weight std of ranks >= K (0 = none).
    tail: Vec<f64>,
    /// Per column: the key of its tail weights' stream.
    tail_key: Vec<u64>,
    /// Per column: Criteo integer weight (0 = not informative).
    beta: Vec<f64>,
    salts: Vec<u64>,
    intercept: f64,
    target: f64,
    tags: Zipf,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    fn new(format: Format, seed: u64, k: &Knobs) -> Self {
        let cols = columns(format);
        let mut rng = SplitMix64::for_key(seed, 0x7275_7468); // "ruth"
        let zipf: Vec<Option<Zipf>> = cols
            .iter()
            .map(|c| match c {
                Col::Zipf(s) => Some(Zipf::new(scaled(s, k), k.zipf)),
                _ => None,
            })
            .collect();
        let salts: Vec<u64> = cols
            .iter()
            .map(|c| match c {
                Col::Zipf(s) => salt_of(s.name),
                _ => 0,
            })
            .collect();
        // Informative fields: a seeded choice among the feature fields.
        let eligible: Vec<usize> = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, Col::Zipf(s) if s.feature))
            .map(|(i, _)| i)
            .collect();
        let n_inf = k
            .informative_fields
            .unwrap_or(eligible.len().div_ceil(3))
            .min(eligible.len());
        let mut order = eligible.clone();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut weights = vec![Vec::new(); cols.len()];
        // Own streams for the long-tail knobs: `rng` draws what it always did.
        let mut factor_rng = SplitMix64::for_key(seed, 0x66_6965_6c64); // "field"
        let mut factor = vec![1.0; cols.len()];
        let mut tail = vec![0.0; cols.len()];
        for &c in &order[..n_inf] {
            if k.field_spread > 0.0 {
                factor[c] = (k.field_spread * factor_rng.normal()).exp();
            }
            let v = zipf[c].unwrap().v;
            let kk = k.informative_values.min(v);
            weights[c] = (0..kk)
                .map(|_| k.signal * rng.normal() * factor[c])
                .collect();
            if kk < v {
                tail[c] = k.tail_signal * factor[c];
            }
        }
        let tail_key = salts
            .iter()
            .map(|&salt| crate::rng::mix64(seed ^ salt ^ 0x7461_696c)) // "tail"
            .collect();
        let ints: Vec<usize> = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, Col::Int { .. }))
            .map(|(i, _)| i)
            .collect();
        let mut beta = vec![0.0; cols.len()];
        let n_dense_inf = ints.len().div_ceil(3);
        let mut int_order = ints.clone();
        for i in (1..int_order.len()).rev() {
            int_order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for &c in &int_order[..n_dense_inf] {
            beta[c] = 0.5 * k.signal * rng.normal();
        }
        let target = k.click_rate.unwrap_or(default_click_rate(format));
        let mut m = Model {
            cols,
            zipf,
            weights,
            factor,
            tail,
            tail_key,
            beta,
            salts,
            intercept: 0.0,
            target,
            tags: Zipf::new(70, k.zipf),
        };
        m.intercept = m.calibrate(seed);
        m
    }

    /// The intercept whose mean click probability over a sample of rows is the target.
    fn calibrate(&self, seed: u64) -> f64 {
        let mut rng = SplitMix64::for_key(seed, 0xCA11_B8A7);
        let mut ranks = vec![0u64; self.cols.len()];
        let mut ints = vec![None; self.cols.len()];
        let zs: Vec<f64> = (0..20_000)
            .map(|_| {
                self.draw(&mut rng, &mut ranks, &mut ints);
                self.logit_wo_intercept(&ranks, &ints)
            })
            .collect();
        let mean_p = |b: f64| zs.iter().map(|z| sigmoid(b + z)).sum::<f64>() / zs.len() as f64;
        let (mut lo, mut hi) = (-40.0, 40.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if mean_p(mid) < self.target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// Draw the random columns of one row: ranks (u64::MAX = empty) and integers.
    fn draw(&self, rng: &mut SplitMix64, ranks: &mut [u64], ints: &mut [Option<i64>]) {
        for (c, col) in self.cols.iter().enumerate() {
            match col {
                Col::Zipf(s) => {
                    ranks[c] = if s.empty > 0.0 && rng.next_f64() < s.empty {
                        u64::MAX
                    } else {
                        self.zipf[c].unwrap().sample(rng.next_f64())
                    };
                }
                Col::Int {
                    j, mu, sd, empty, ..
                } => {
                    ints[c] = if *empty > 0.0 && rng.next_f64() < *empty {
                        None
                    } else if *j == 1 && rng.next_f64() < 0.08 {
                        // Criteo I2 has small negative values (-1 most often, down to -3).
                        Some(-1 - (rng.below(10) / 8) as i64 - (rng.below(30) / 29) as i64)
                    } else {
                        Some(((mu + sd * rng.normal()).exp() - 1.0).clamp(0.0, 1e12) as i64)
                    };
                }
                _ => {}
            }
        }
    }

    /// The weight of tail value `rank` (>= K) of column `c`: N(0, tail[c]^2),
    /// the same for every stream of the ground truth.
    #[inline]
    fn tail_weight(&self, c: usize, rank: u64) -> f64 {
        self.tail[c] * SplitMix64::for_key(self.tail_key[c], rank).normal()
    }

    fn logit_wo_intercept(&self, ranks: &[u64], ints: &[Option<i64>]) -> f64 {
        let mut z = 0.0;
        for (c, w) in self.weights.iter().enumerate() {
            if let Some(&wv) = w.get(ranks[c] as usize) {
                z += wv;
            } else if self.tail[c] > 0.0 && ranks[c] != u64::MAX {
                z += self.tail_weight(c, ranks[c]);
            }
        }
        for (c, &b) in self.beta.iter().enumerate() {
            if b != 0.0 {
                if let (Some(x), Col::Int { mu, .. }) = (ints[c], &self.cols[c]) {
                    z += b * ((x.max(0) as f64).ln_1p() - mu);
                }
            }
        }
        z
    }

    fn truth(
        &self,
        format: Format,
        seed: u64,
        rows: u64,
        knobs: &Knobs,
        clicks: u64,
    ) -> GroundTruth {
        let mut fields = Vec::new();
        let mut dense = Vec::new();
        for (c, col) in self.cols.iter().enumerate() {
            match col {
                Col::Zipf(s) if s.feature => fields.push(FieldTruth {
                    name: s.name.to_string(),
                    cardinality: self.zipf[c].unwrap().v,
                    informative: !self.weights[c].is_empty(),
                    informative_values: self.weights[c].len() as u64,
                    weights: self.weights[c].clone(),
                    signal_factor: self.factor[c],
                    tail_signal: self.tail[c],
                }),
                Col::Int { name, .. } => dense.push(DenseTruth {
                    name: name.to_string(),
                    informative: self.beta[c] != 0.0,
                    weight: self.beta[c],
                }),
                Col::AvazuHour | Col::IpHour => fields.push(FieldTruth {
                    name: "hour".into(),
                    cardinality: 24,
                    informative: false,
                    informative_values: 0,
                    weights: Vec::new(),
                    signal_factor: 1.0,
                    tail_signal: 0.0,
                }),
                Col::IpWeekday => fields.push(FieldTruth {
                    name: "weekday".into(),
                    cardinality: 7,
                    informative: false,
                    informative_values: 0,
                    weights: Vec::new(),
                    signal_factor: 1.0,
                    tail_signal: 0.0,
                }),
                _ => {}
            }
        }
        GroundTruth {
            format,
            seed,
            rows,
            knobs: knobs.clone(),
            target_click_rate: self.target,
            intercept: self.intercept,
            clicks,
            fields,
            dense,
        }
    }
}

/// The text of value `rank` of field `field` in a generated file of `format`
/// (None if the format has no such Zipf field).
pub fn value_of(format: Format, field: &str, rank: u64) -> Option<String> {
    let spec = columns(format).into_iter().find_map(|c| match c {
        Col::Zipf(s) if s.name == field => Some(s),
        _ => None,
    })?;
    let mut buf = Vec::new();
    value_text(&spec, salt_of(spec.name), rank, &mut buf);
    String::from_utf8(buf).ok()
}

/// The keys (as the encoder hashes them, before any `buckets` fold or
/// `min_count` rule) of every informative head feature (ranks 0..K) of a
/// generated file; with `tail_signal` the tail values are informative too
/// and are not listed.
pub fn informative_keys(truth: &GroundTruth) -> Vec<u64> {
    let cols = columns(truth.format);
    let mut keys = Vec::new();
    let mut buf = Vec::new();
    for f in truth.fields.iter().filter(|f| f.informative) {
        let Some(spec) = cols.iter().find_map(|c| match c {
            Col::Zipf(s) if s.name == f.name => Some(*s),
            _ => None,
        }) else {
            continue;
        };
        let salt = salt_of(spec.name);
        for r in 0..f.informative_values {
            buf.clear();
            value_text(&spec, salt, r, &mut buf);
            keys.push(feature_key(
                &f.name,
                std::str::from_utf8(&buf).unwrap_or(""),
            ));
        }
    }
    keys
}

/// Write `rows` rows of `format` to `out` (gzip when the name ends in `.gz`)
/// and the ground truth to `out.truth.json`. The same arguments give
/// byte-identical files.
pub fn generate(
    format: Format,
    rows: u64,
    seed: u64,
    out: &Path,
    knobs: &Knobs,
) -> Result<GroundTruth, DataError> {
    super::config::check_knobs(knobs)?;
    if rows == 0 {
        return Err(DataError::Config("rows must be >= 1".into()));
    }
    let csv = format == Format::CriteoCsv;
    let Some(preset) = dataset::preset(format) else {
        return Err(DataError::Config(
            "no synthetic data for format custom".into(),
        ));
    };
    let model = Model::new(format, seed, knobs);
    if let Some(d) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(|e| DataError::io(d, e))?;
    }
    let gz = out.extension().is_some_and(|e| e == "gz");
    let write = || -> std::io::Result<u64> {
        let mut file = crate::io::AtomicFile::create(out)?;
        let clicks = if gz {
            // flate2 writes a header with mtime 0 and no name: byte-identical output.
            let mut z = flate2::write::GzEncoder::new(&mut file, flate2::Compression::new(6));
            let c = write_rows(&model, preset, csv, rows, seed, knobs, &mut z)?;
            z.finish()?;
            c
        } else {
            write_rows(&model, preset, csv, rows, seed, knobs, &mut file)?
        };
        file.commit()?;
        Ok(clicks)
    };
    let clicks = write().map_err(|e| DataError::io(out, e))?;
    let truth = model.truth(format, seed, rows, knobs, clicks);
    let tp = truth_path(out);
    let json = serde_json::to_vec_pretty(&truth).map_err(|e| DataError::Config(e.to_string()))?;
    // Atomic too: the truth file marks the data as complete (see ensure_files).
    let mut t = crate::io::AtomicFile::create(&tp).map_err(|e| DataError::io(&tp, e))?;
    t.write_all(&json)
        .and_then(|()| t.commit())
        .map_err(|e| DataError::io(&tp, e))?;
    Ok(truth)
}

fn write_rows(
    m: &Model,
    preset: &dyn Preset,
    csv: bool,
    rows: u64,
    seed: u64,
    k: &Knobs,
    w: &mut dyn Write,
) -> std::io::Result<u64> {
    let delim = preset.delimiter();
    if preset.header() {
        writeln!(w, "{}", preset.columns().join(&(delim as char).to_string()))?;
    }
    let mut rng = SplitMix64::for_key(seed, 1 + k.stream);
    let n = m.cols.len();
    let mut ranks = vec![0u64; n];
    let mut ints = vec![None; n];
    let mut line: Vec<u8> = Vec::with_capacity(1024);
    let mut clicks = 0;
    let hours = k.days as u64 * 24;
    for i in 0..rows {
        m.draw(&mut rng, &mut ranks, &mut ints);
        let p = sigmoid(m.intercept + m.logit_wo_intercept(&ranks, &ints));
        let y = rng.next_f64() < p;
        clicks += y as u64;
        line.clear();
        if csv {
            write!(line, "{},", 10_000_000 + i)?;
        }
        // Position in time: rows are in chronological order like the real files.
        let h_avazu = (i as u128 * hours as u128 / rows as u128) as u64;
        let h_week = (i as u128 * 168 / rows as u128) as u64;
        for (c, col) in m.cols.iter().enumerate() {
            if c > 0 {
                line.push(delim);
            }
            match col {
                Col::Label => line.push(if y { b'1' } else { b'0' }),
                Col::Zipf(s) => {
                    if ranks[c] != u64::MAX {
                        value_text(s, m.salts[c], ranks[c], &mut line);
                    }
                }
                Col::Int { .. } => {
                    if let Some(x) = ints[c] {
                        write!(line, "{x}")?;
                    }
                }
                Col::AvazuId => write!(line, "{}", rng.next_u64())?,
                Col::AvazuHour => write!(
                    line,
                    "{:06}{:02}",
                    dataset::avazu::day((h_avazu / 24) as u32),
                    h_avazu % 24
                )?,
                Col::IpWeekday => write!(line, "{}", (1 + h_week / 24) % 7)?,
                Col::IpHour => write!(line, "{:02}", h_week % 24)?,
                Col::IpBidid => write!(line, "{:016x}{:016x}", rng.next_u64(), rng.next_u64())?,
                Col::IpTimestamp => write!(
                    line,
                    "201310{:02}{:02}{:02}{:02}{:03}",
                    21 + h_week / 24,
                    h_week % 24,
                    rng.below(60),
                    rng.below(60),
                    rng.below(1000)
                )?,
                Col::Const(s) => line.extend_from_slice(s.as_bytes()),
                Col::IpBidprice => line.extend_from_slice(b"300"),
                Col::IpPayprice => write!(line, "{}", rng.below(300))?,
                Col::Usertag => {
                    let n_tags = rng.below(26);
                    for t in 0..n_tags {
                        if t > 0 {
                            line.push(b',');
                        }
                        let r = m.tags.sample(rng.next_f64());
                        write!(line, "{}", 10000 + (r * 37) % 7000)?;
                    }
                }
            }
        }
        line.push(b'\n');
        w.write_all(&line)?;
    }
    Ok(clicks)
}

/// The synthetic input files of a config, generated into `dir` on first use
/// (named by a hash of the synthetic settings). Returns (train, test file);
/// the test file exists for iPinYou (split by file).
pub fn ensure_files(
    format: Format,
    s: &SyntheticConfig,
    dir: &Path,
) -> Result<(PathBuf, Option<PathBuf>), DataError> {
    let id = format!(
        "{}|{}",
        format.as_str(),
        serde_json::to_string(s).unwrap_or_default()
    );
    let h = xxhash_rust::xxh3::xxh3_64(id.as_bytes());
    let ext = dataset::preset(format).map_or("txt", |p| p.file_ext());
    let make = |name: String, rows: u64, knobs: &Knobs| -> Result<PathBuf, DataError> {
        let p = dir.join(name);
        // The truth file is written last, so its presence means the data is complete.
        let complete = |p: &Path| truth_path(p).exists() && p.exists();
        if !complete(&p) {
            // Runs that start together (a sweep's jobs) would otherwise each
            // generate the file and rename theirs over the one another run
            // is already reading.
            let lock_path = p.with_extension(format!("{ext}.lock"));
            crate::lock::one_at_a_time(
                &lock_path,
                |e| DataError::io(&lock_path, e),
                || {
                    if complete(&p) {
                        return Ok(());
                    }
                    generate(format, rows, s.seed, &p, knobs).map(drop)
                },
            )?;
        }
        Ok(p)
    };
    let train = make(
        format!("synth-{}-{h:016x}.{ext}", format.as_str()),
        s.rows,
        &s.knobs,
    )?;
    let test = if dataset::paper_split(format) == PaperSplit::ByFile {
        let mut k = s.knobs.clone();
        k.stream += 1_000_003;
        let rows = s.test_rows.unwrap_or((s.rows / 4).max(1));
        Some(make(
            format!("synth-{}-{h:016x}.test.{ext}", format.as_str()),
            rows,
            &k,
        )?)
    } else {
        None
    };
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Runs that start together (a sweep's jobs) share one generated file:
    /// each finds the file the first one wrote, still in place (the same
    /// inode) when it starts reading. Each used to generate its own and
    /// rename it over the file another run had already opened, which that
    /// run then stopped on as "changed while it was being read".
    #[test]
    fn runs_starting_together_generate_the_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SyntheticConfig {
            rows: 20_000,
            ..SyntheticConfig::default()
        };
        let n = 4;
        let start = std::sync::Barrier::new(n);
        let inodes: Vec<u64> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..n)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        let (train, _) = ensure_files(Format::Avazu, &cfg, dir.path()).unwrap();
                        std::fs::metadata(&train).unwrap().ino()
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let (train, _) = ensure_files(Format::Avazu, &cfg, dir.path()).unwrap();
        let now = std::fs::metadata(&train).unwrap().ino();
        assert_eq!(
            inodes,
            vec![now; n],
            "every run read the one file left in place"
        );
    }
}
