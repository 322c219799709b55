//! One raw row -> one encoded sample appended to a [`Batch`]. Parses bytes in
//! place (no String per field, no allocation per row); a bad row leaves the
//! batch exactly as it was.

use super::error::RowProblem;
use super::hash::key_with_seed;
use super::schema::{DenseTf, Layout, Role};
use super::Batch;

pub struct RowEncoder {
    delimiter: u8,
    roles: Vec<Role>,
    names: Vec<String>,
}

/// A parsed decimal integer, or None when the bytes are not one.
#[inline]
fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as i64;
    }
    Some(if neg { -v } else { v })
}

/// Decimal text of `v` in `buf`, returned as a slice of it.
#[inline]
fn write_int(mut v: u64, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// ln(1 + x) as f32 for small x: most Criteo integers are small, and a
/// table lookup is several times cheaper than `ln_1p`. The table holds
/// exactly what the slow path computes, so results are bit-identical.
fn ln1p_small(x: i64) -> Option<f32> {
    use std::sync::OnceLock;
    const N: usize = 1 << 14;
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    let t = T.get_or_init(|| (0..N).map(|i| (i as f64).ln_1p() as f32).collect());
    t.get(usize::try_from(x).ok()?).copied()
}

/// ln(1 + max(x, 0)) as f32.
#[inline]
fn log1p_int(x: i64) -> f32 {
    let x = x.max(0);
    ln1p_small(x).unwrap_or_else(|| (x as f64).ln_1p() as f32)
}

/// ln(max(x + 3, 1)) as f32, computed as ln(1 + max(x + 2, 0)).
#[inline]
fn log_plus3_int(x: i64) -> f32 {
    let y = x.saturating_add(2).max(0);
    ln1p_small(y).unwrap_or_else(|| (y as f64).ln_1p() as f32)
}

/// The Kaggle winner's bucket of a Criteo integer: floor(ln(x)^2) for x > 2.
#[inline]
pub fn log2_bucket(x: i64) -> i64 {
    if x > 2 {
        let l = (x as f64).ln();
        (l * l).floor() as i64
    } else {
        x
    }
}

impl RowEncoder {
    pub fn new(layout: &Layout) -> Self {
        Self {
            delimiter: layout.delimiter,
            roles: layout.roles.clone(),
            names: layout.columns.clone(),
        }
    }

    pub fn n_columns(&self) -> usize {
        self.roles.len()
    }

    /// Append `line` to `batch`; returns the row's day tag (Avazu, else 0).
    pub fn encode(&self, line: &[u8], batch: &mut Batch) -> Result<u32, RowProblem> {
        let (nk, no, nd, nl) = (
            batch.keys.len(),
            batch.offsets.len(),
            batch.dense.len(),
            batch.labels.len(),
        );
        match self.encode_inner(line, batch) {
            Ok(day) => {
                batch.len += 1;
                Ok(day)
            }
            Err(p) => {
                batch.keys.truncate(nk);
                batch.offsets.truncate(no);
                batch.dense.truncate(nd);
                batch.labels.truncate(nl);
                Err(p)
            }
        }
    }

    fn encode_inner(&self, line: &[u8], batch: &mut Batch) -> Result<u32, RowProblem> {
        if let Err(e) = std::str::from_utf8(line) {
            let column = 1 + line[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == self.delimiter)
                .count();
            return Err(RowProblem::NotUtf8 { column });
        }
        match self.encode_cells(line, batch) {
            Ok(day) => Ok(day),
            // A wrong column count explains any cell error (a blank line's
            // "label" is empty), so it is reported first; counting only on
            // the error path keeps the hot path to one pass over the bytes.
            Err(p) => {
                let found = 1 + memchr::memchr_iter(self.delimiter, line).count();
                if found != self.roles.len() {
                    Err(RowProblem::ColumnCount {
                        expected: self.roles.len(),
                        found,
                    })
                } else {
                    Err(p)
                }
            }
        }
    }

    fn encode_cells(&self, line: &[u8], batch: &mut Batch) -> Result<u32, RowProblem> {
        let n_cols = self.roles.len();
        let mut day = 0u32;
        let mut start = 0usize;
        let mut col = 0usize;
        let mut label_seen = false;
        let mut ends = memchr::memchr_iter(self.delimiter, line);
        loop {
            let end = ends.next();
            let cell = &line[start..end.unwrap_or(line.len())];
            if col == n_cols {
                // More columns than the schema (the caller counts them).
                return Err(RowProblem::ColumnCount {
                    expected: n_cols,
                    found: col + 1,
                });
            }
            match self.roles[col] {
                Role::Drop => {}
                Role::Label => {
                    let y = match cell {
                        b"0" => 0.0,
                        b"1" => 1.0,
                        _ => {
                            return Err(RowProblem::Label {
                                found: String::from_utf8_lossy(cell).into_owned(),
                            })
                        }
                    };
                    batch.labels.push(y);
                    label_seen = true;
                }
                Role::Cat { seed } => {
                    batch.keys.push(key_with_seed(seed, cell));
                    batch.offsets.push(batch.keys.len() as u32);
                }
                Role::HourOfDay { seed } => {
                    if cell.len() != 8 || !cell.iter().all(u8::is_ascii_digit) {
                        return Err(RowProblem::BadHour {
                            found: String::from_utf8_lossy(cell).into_owned(),
                        });
                    }
                    // All 8 bytes are digits, so this cannot fail or overflow.
                    day = cell[..6]
                        .iter()
                        .fold(0u32, |a, &c| a * 10 + (c - b'0') as u32);
                    batch.keys.push(key_with_seed(seed, &cell[6..]));
                    batch.offsets.push(batch.keys.len() as u32);
                }
                Role::IntBucket { seed } => {
                    let key = if cell.is_empty() {
                        key_with_seed(seed, b"")
                    } else {
                        let x = parse_int(cell).ok_or_else(|| self.not_int(col, cell))?;
                        let b = log2_bucket(x);
                        let mut buf = [0u8; 24];
                        if b < 0 {
                            // Only raw values <= 2 stay as they are; keep their text.
                            key_with_seed(seed, cell)
                        } else {
                            key_with_seed(seed, write_int(b as u64, &mut buf))
                        }
                    };
                    batch.keys.push(key);
                    batch.offsets.push(batch.keys.len() as u32);
                }
                Role::Dense { tf } => {
                    let v = if cell.is_empty() {
                        0.0
                    } else {
                        match tf {
                            DenseTf::IntLog1p => {
                                let x = parse_int(cell).ok_or_else(|| self.not_int(col, cell))?;
                                log1p_int(x)
                            }
                            DenseTf::IntLogPlus3 => {
                                let x = parse_int(cell).ok_or_else(|| self.not_int(col, cell))?;
                                log_plus3_int(x)
                            }
                            DenseTf::Float => {
                                // The line is valid UTF-8 and the cell is cut at ASCII bytes.
                                let s = std::str::from_utf8(cell).unwrap_or("");
                                match s.trim().parse::<f32>() {
                                    Ok(v) if v.is_finite() => v,
                                    _ => {
                                        return Err(RowProblem::NotNumber {
                                            column: self.names[col].clone(),
                                            found: s.to_string(),
                                        })
                                    }
                                }
                            }
                        }
                    };
                    batch.dense.push(v);
                }
                Role::Multi { seed, sep } => {
                    for v in cell.split(|&b| b == sep) {
                        if !v.is_empty() {
                            batch.keys.push(key_with_seed(seed, v));
                        }
                    }
                    batch.offsets.push(batch.keys.len() as u32);
                }
            }
            col += 1;
            match end {
                Some(e) => start = e + 1,
                None => break,
            }
        }
        if col != n_cols {
            return Err(RowProblem::ColumnCount {
                expected: n_cols,
                found: col,
            });
        }
        debug_assert!(label_seen);
        Ok(day)
    }

    fn not_int(&self, col: usize, cell: &[u8]) -> RowProblem {
        RowProblem::NotInteger {
            column: self.names[col].clone(),
            found: String::from_utf8_lossy(cell).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_buckets() {
        assert_eq!(parse_int(b"-3"), Some(-3));
        assert_eq!(parse_int(b"1382"), Some(1382));
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"1.5"), None);
        assert_eq!(parse_int(b"-"), None);
        // floor(ln(1382)^2) = floor(7.2313^2) = floor(52.29) = 52 (python: int(math.log(1382)**2)).
        assert_eq!(log2_bucket(1382), 52);
        assert_eq!(log2_bucket(3), 1); // ln(3)^2 = 1.2069
        assert_eq!(log2_bucket(2), 2);
        assert_eq!(log2_bucket(-1), -1);
        let mut b = [0u8; 24];
        assert_eq!(write_int(0, &mut b), b"0");
        // Table and slow path agree bit for bit, on both sides of the table's end.
        for x in [
            -5i64,
            -3,
            -2,
            -1,
            0,
            1,
            2,
            100,
            16381,
            16382,
            16383,
            16384,
            16385,
            1 << 40,
        ] {
            assert_eq!(
                log1p_int(x).to_bits(),
                ((x.max(0) as f64).ln_1p() as f32).to_bits(),
                "{x}"
            );
            let slow = ((x + 3).max(1) as f64).ln() as f32;
            assert!(
                (log_plus3_int(x) - slow).abs() <= f32::EPSILON * slow.abs().max(1.0),
                "{x}"
            );
        }
        assert_eq!(write_int(52, &mut b), b"52");
    }
}
