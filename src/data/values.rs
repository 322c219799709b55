//! The text behind feature keys, for the feature report: one pass over the
//! training file after training, hashing each categorical cell as the
//! encoder does and keeping the field (and, for wanted keys, the value
//! text) of the keys asked about. The hot path keeps only keys; this pass
//! costs one read of the file, once per run.

use std::path::Path;

use super::cells::{needs_unquoting, split_quoted};
use super::config::DataConfig;
use super::error::DataError;
use super::hash::{fold_key, key_with_seed, rare_key};
use super::lines::LineReader;
use super::schema::Role;
use super::source::RawReader;

/// What the pass learned of the asked-about keys, by the index the
/// caller's lookup gave each (the embedding row: no per-key table beside
/// the store's own index, which at Criteo scale, 32M keys, would cost more
/// than 3 GB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyNames {
    /// Per index: the field (an index into the schema's field names) of the
    /// first cell that produced the key; `NO_FIELD` if none did.
    pub field: Vec<u32>,
    /// Per index whose text was wanted and found: the value bytes the key
    /// hashes (for a `buckets` fold: the first value seen in the bucket;
    /// `<rare>` for a field's rare key).
    pub text: std::collections::HashMap<u32, String, super::hash::KeyBuild>,
}

/// `KeyNames::field` of a key the file never produces.
pub const NO_FIELD: u32 = u32::MAX;

/// The field and, where wanted, the text of every key that `lookup` knows
/// (it gives the key's index below `n` and whether its text is wanted),
/// from the lines of `file`.
pub fn name_keys(
    cfg: &DataConfig,
    file: &Path,
    n: usize,
    lookup: impl Fn(u64) -> Option<(u32, bool)>,
) -> Result<KeyNames, DataError> {
    let (_, layout) = RawReader::open(cfg, file)?;
    let mut lines = LineReader::open(file)?;
    if layout.header {
        lines.next_line()?;
    }
    let fold = |k: u64| cfg.buckets.map_or(k, |b| fold_key(k, b));
    let mut out = KeyNames {
        field: vec![NO_FIELD; n],
        text: Default::default(),
    };
    // Each categorical column is one field, in column order.
    let mut field_of_col = vec![None; layout.roles.len()];
    let mut f = 0;
    for (c, role) in layout.roles.iter().enumerate() {
        if matches!(
            role,
            Role::Cat { .. } | Role::HourOfDay { .. } | Role::IntBucket { .. } | Role::Multi { .. }
        ) {
            field_of_col[c] = Some(f);
            f += 1;
        }
    }
    // The first cell that produces a key names it; a field's rare key is
    // named before any cell (where folded rare keys share a bucket, by the
    // last such field).
    let name =
        |field: usize, key: u64, text: &dyn Fn() -> String, rare: bool, out: &mut KeyNames| {
            if let Some((i, want)) = lookup(fold(key)) {
                let slot = &mut out.field[i as usize];
                if *slot == NO_FIELD || rare {
                    *slot = field as u32;
                    if want {
                        out.text.insert(i, text());
                    }
                }
            }
        };
    for (i, field_name) in layout.info.field_names.iter().enumerate() {
        name(
            i,
            rare_key(field_name),
            &|| "<rare>".to_string(),
            true,
            &mut out,
        );
    }
    let note = |field: usize, value: &[u8], out: &mut KeyNames, seed: u64| {
        name(
            field,
            key_with_seed(seed, value),
            &|| String::from_utf8_lossy(value).into_owned(),
            false,
            out,
        )
    };
    let delim = layout.delimiter;
    let mut quoted_cells;
    while let Some(line) = lines.next_line()? {
        // Cells as the encoder cuts them (a custom line may quote).
        let cells: Box<dyn Iterator<Item = &[u8]>> = if needs_unquoting(layout.quoted, line) {
            quoted_cells = match split_quoted(line, delim) {
                Ok(r) => r,
                // The encoder refused this row too: it has no keys.
                Err(_) => continue,
            };
            Box::new(quoted_cells.iter())
        } else {
            Box::new(line.split(move |&b| b == delim))
        };
        for (c, cell) in cells.enumerate() {
            let (Some(field), Some(role)) =
                (field_of_col.get(c).copied().flatten(), layout.roles.get(c))
            else {
                continue;
            };
            match *role {
                Role::Cat { seed } => note(field, cell, &mut out, seed),
                // The feature is the hour of day, HH of YYMMDDHH.
                Role::HourOfDay { seed } if cell.len() == 8 => {
                    note(field, &cell[6..], &mut out, seed)
                }
                Role::IntBucket { seed } => {
                    let text = bucket_text(cell);
                    note(field, text.as_bytes(), &mut out, seed)
                }
                Role::Multi { seed, sep } => {
                    for v in cell.split(|&b| b == sep).filter(|v| !v.is_empty()) {
                        note(field, v, &mut out, seed);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The value text a Criteo integer has under `log2_bucket` (as the encoder
/// hashes it: the raw text up to 2, else the bucket number).
fn bucket_text(cell: &[u8]) -> String {
    let s = String::from_utf8_lossy(cell);
    match s.parse::<i128>() {
        Ok(x) => {
            let b = super::encode::log2_bucket(x);
            if b < 0 {
                s.into_owned()
            } else {
                b.to_string()
            }
        }
        Err(_) => s.into_owned(),
    }
}
