//! The text behind feature keys, for the feature report: one pass over the
//! training file after training, hashing each categorical cell as the
//! encoder does and keeping the field (and, for wanted keys, the value
//! text) of the keys asked about. The hot path keeps only keys; this pass
//! costs one read of the file, once per run.

use std::path::Path;

use super::cells::{needs_unquoting, split_quoted};
use super::config::DataConfig;
use super::error::DataError;
use super::hash::{fold_key, key_with_seed, rare_key, KeyMap};
use super::lines::LineReader;
use super::schema::Role;
use super::source::RawReader;

/// What the pass learned of one asked-about key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyName {
    /// Index into the schema's field names.
    pub field: usize,
    /// The value bytes the key hashes (for a `buckets` fold: the first
    /// value seen in the bucket; `<rare>` for a field's rare key). None when
    /// the text was not asked for.
    pub text: Option<String>,
}

/// For every key of `keys` (true = its text is wanted too), its field and
/// text, from the lines of `file`. Keys the file never produces are absent.
pub fn name_keys(
    cfg: &DataConfig,
    file: &Path,
    keys: &KeyMap<bool>,
) -> Result<KeyMap<KeyName>, DataError> {
    let (_, layout) = RawReader::open(cfg, file)?;
    let mut lines = LineReader::open(file)?;
    if layout.header {
        lines.next_line()?;
    }
    let fold = |k: u64| cfg.buckets.map_or(k, |b| fold_key(k, b));
    let mut out: KeyMap<KeyName> = KeyMap::default();
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
    for (i, name) in layout.info.field_names.iter().enumerate() {
        let k = fold(rare_key(name));
        if let Some(&want) = keys.get(&k) {
            out.insert(
                k,
                KeyName {
                    field: i,
                    text: want.then(|| "<rare>".to_string()),
                },
            );
        }
    }
    let note = |field: usize, value: &[u8], out: &mut KeyMap<KeyName>, seed: u64| {
        let k = fold(key_with_seed(seed, value));
        if let Some(&want) = keys.get(&k) {
            out.entry(k).or_insert_with(|| KeyName {
                field,
                text: want.then(|| String::from_utf8_lossy(value).into_owned()),
            });
        }
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
