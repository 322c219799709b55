//! `data inspect`: rows, click rate, distinct values per field and malformed
//! rows of one raw file, read straight from the text (never from a cache),
//! and how often each field's values occur (to choose `min_count`).

use super::config::DataConfig;
use super::error::DataError;
use super::hash::KeyMap;
use super::open::open_text_all;
use super::source::BatchSource;
use super::Batch;
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DenseStats {
    pub name: String,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Inspection {
    pub file: String,
    pub rows: u64,
    pub clicks: u64,
    pub click_rate: f64,
    pub bad_rows: u64,
    pub first_errors: Vec<String>,
    /// (field, distinct values) in field order; a multi-valued field counts distinct members.
    pub distinct: Vec<(String, u64)>,
    /// Every (field, value) pair: the number of features a model would see.
    pub features: u64,
    /// (field, values occurring at least [`FREQUENCY_THRESHOLDS`] times):
    /// `min_count = k` keeps the values counted at threshold k.
    pub frequency: Vec<(String, Vec<u64>)>,
    pub dense: Vec<DenseStats>,
}

/// The occurrence counts the frequency summary reports.
pub const FREQUENCY_THRESHOLDS: [u32; 4] = [1, 2, 5, 10];

/// Inspect `file` under `cfg`'s format and schema. Malformed rows are counted
/// (up to `cfg.max_bad_rows`, or without limit when it is 0).
pub fn inspect(cfg: &DataConfig, file: &Path) -> Result<Inspection, DataError> {
    let mut cfg = cfg.clone();
    if cfg.max_bad_rows == 0 {
        cfg.max_bad_rows = u64::MAX;
    }
    let mut src = open_text_all(&cfg, file, 1 << 14)?;
    let info = src.schema().clone();
    let mut counts: Vec<KeyMap<u32>> = vec![KeyMap::default(); info.n_fields()];
    let nd = info.n_dense();
    let mut dmin = vec![f64::INFINITY; nd];
    let mut dmax = vec![f64::NEG_INFINITY; nd];
    let mut dsum = vec![0.0f64; nd];
    let mut clicks = 0u64;
    let mut b = Batch::default();
    while src.next_batch(&mut b)? {
        clicks += b.labels.iter().filter(|&&y| y > 0.5).count() as u64;
        for i in 0..b.len {
            for (f, count) in counts.iter_mut().enumerate() {
                for &k in b.bag(i, f) {
                    *count.entry(k).or_insert(0) += 1;
                }
            }
            for d in 0..nd {
                let v = b.dense[i * nd + d] as f64;
                dmin[d] = dmin[d].min(v);
                dmax[d] = dmax[d].max(v);
                dsum[d] += v;
            }
        }
    }
    let rows = src.rows_read();
    let distinct: Vec<(String, u64)> = info
        .field_names
        .iter()
        .zip(&counts)
        .map(|(n, c)| (n.clone(), c.len() as u64))
        .collect();
    let frequency = info
        .field_names
        .iter()
        .zip(&counts)
        .map(|(n, c)| {
            let at_least = FREQUENCY_THRESHOLDS
                .iter()
                .map(|&t| c.values().filter(|&&k| k >= t).count() as u64)
                .collect();
            (n.clone(), at_least)
        })
        .collect();
    Ok(Inspection {
        file: file.display().to_string(),
        rows,
        clicks,
        click_rate: if rows > 0 {
            clicks as f64 / rows as f64
        } else {
            0.0
        },
        bad_rows: src.bad_rows(),
        first_errors: src.first_errors().to_vec(),
        features: distinct.iter().map(|d| d.1).sum(),
        distinct,
        frequency,
        dense: (0..nd)
            .map(|d| DenseStats {
                name: info.dense_names[d].clone(),
                min: dmin[d],
                max: dmax[d],
                mean: if rows > 0 { dsum[d] / rows as f64 } else { 0.0 },
            })
            .collect(),
    })
}
