//! One raw row -> one encoded sample appended to a [`Batch`]. Parses bytes in
//! place (no String per field, no allocation per row); a bad row leaves the
//! batch exactly as it was.

use super::cells::{needs_unquoting, split_quoted};
use super::delims::Delimiters;
use super::error::RowProblem;
use super::hash::key_with_seed;
use super::schema::{Check, DenseTf, Layout, Role};
use super::Batch;

pub struct RowEncoder {
    delimiter: u8,
    /// Custom files: RFC-4180 quotes (see [`super::cells`]).
    quoted: bool,
    roles: Vec<Role>,
    checks: Vec<Option<Check>>,
    names: Vec<String>,
}

/// Why bytes are not an integer we can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IntError {
    NotInt,
    /// Below i64::MIN or above u64::MAX: the widest integers a raw file holds
    /// (Avazu ids exceed i64).
    OutOfRange,
}

/// A parsed decimal integer in i64::MIN..=u64::MAX.
#[inline]
fn parse_int(b: &[u8]) -> Result<i128, IntError> {
    let (neg, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() {
        return Err(IntError::NotInt);
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(IntError::NotInt);
        }
        // An overflow is remembered, not returned: a later non-digit still
        // makes the cell "not an integer" rather than "out of range".
        match v.checked_mul(10).and_then(|x| x.checked_add(d as u64)) {
            Some(x) => v = x,
            None => overflow = true,
        }
    }
    if overflow || (neg && v > 1 << 63) {
        return Err(IntError::OutOfRange);
    }
    Ok(if neg { -(v as i128) } else { v as i128 })
}

/// Days in `month` (1-12) of `year` (Gregorian).
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The decimal value of ASCII digits (the caller checked they are digits).
#[inline]
fn digits_value(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32)
}

/// Whether every byte of `cell` is an ASCII hex digit, as
/// `u8::is_ascii_hexdigit` on each, but without a branch per byte: hashed
/// ids mix digits and letters at random, so that test's digit-or-letter
/// branch mispredicts on about a third of the bytes. On Criteo's 26
/// hex columns it was 47% of a parse-only pass (docs/performance.md).
fn all_hex_digits(cell: &[u8]) -> bool {
    cell.iter().fold(true, |ok, &b| {
        let digit = b.wrapping_sub(b'0') < 10;
        let letter = (b | 0x20).wrapping_sub(b'a') < 6;
        ok & (digit | letter)
    })
}

/// The first field of a date or time out of range ("month 13").
#[derive(Debug, thiserror::Error)]
#[error("{name} {value:02}")]
struct DateField {
    name: &'static str,
    value: u32,
}

/// Check that `year`/`month`/`day` and the times are a real date and time.
fn check_date(
    year: u32,
    month: u32,
    day: u32,
    hms: &[(&'static str, u32, u32)],
) -> Result<(), DateField> {
    if !(1..=12).contains(&month) {
        return Err(DateField {
            name: "month",
            value: month,
        });
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(DateField {
            name: "day",
            value: day,
        });
    }
    for &(name, value, max) in hms {
        if value > max {
            return Err(DateField { name, value });
        }
    }
    Ok(())
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
fn ln1p_small(x: i128) -> Option<f32> {
    use std::sync::OnceLock;
    const N: usize = 1 << 14;
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    let t = T.get_or_init(|| (0..N).map(|i| (i as f64).ln_1p() as f32).collect());
    t.get(usize::try_from(x).ok()?).copied()
}

/// ln(1 + max(x, 0)) as f32.
#[inline]
fn log1p_int(x: i128) -> f32 {
    let x = x.max(0);
    ln1p_small(x).unwrap_or_else(|| (x as f64).ln_1p() as f32)
}

/// ln(max(x + 3, 1)) as f32, computed as ln(1 + max(x + 2, 0)).
#[inline]
fn log_plus3_int(x: i128) -> f32 {
    let y = (x + 2).max(0);
    ln1p_small(y).unwrap_or_else(|| (y as f64).ln_1p() as f32)
}

/// The Kaggle winner's bucket of a Criteo integer: floor(ln(x)^2) for x > 2.
#[inline]
pub fn log2_bucket(x: i128) -> i128 {
    if x > 2 {
        let l = (x as f64).ln();
        (l * l).floor() as i128
    } else {
        x
    }
}

impl RowEncoder {
    pub fn new(layout: &Layout) -> Self {
        Self {
            delimiter: layout.delimiter,
            quoted: layout.quoted,
            roles: layout.roles.clone(),
            checks: layout.checks.clone(),
            names: layout.columns.clone(),
        }
    }

    pub fn n_columns(&self) -> usize {
        self.roles.len()
    }

    /// Append `line` to `batch`; returns the row's day tag (Avazu, else 0).
    pub fn encode(&self, line: &[u8], batch: &mut Batch) -> Result<u32, RowProblem> {
        let (nk, no, nd, nl, ni) = (
            batch.keys.len(),
            batch.offsets.len(),
            batch.dense.len(),
            batch.labels.len(),
            batch.ids.len(),
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
                batch.ids.truncate(ni);
                Err(p)
            }
        }
    }

    fn encode_inner(&self, line: &[u8], batch: &mut Batch) -> Result<u32, RowProblem> {
        // ASCII is valid UTF-8, and `is_ascii` checks a word at a time; the
        // full check (~7% of a parse-only pass) runs only on other lines.
        if let Err(e) = if line.is_ascii() {
            Ok("")
        } else {
            std::str::from_utf8(line)
        } {
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
            // A quoted line counted its cells already.
            Err(p) if needs_unquoting(self.quoted, line) => Err(p),
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
        if needs_unquoting(self.quoted, line) {
            return self.encode_quoted(line, batch);
        }
        let n_cols = self.roles.len();
        let mut day = 0u32;
        let mut start = 0usize;
        let mut col = 0usize;
        let mut ends = Delimiters::new(self.delimiter, line);
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
            self.encode_cell(col, cell, batch, &mut day)?;
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
        Ok(day)
    }

    /// A custom line with quotes: its RFC-4180 cells (see [`super::cells`]).
    fn encode_quoted(&self, line: &[u8], batch: &mut Batch) -> Result<u32, RowProblem> {
        let rec = split_quoted(line, self.delimiter).map_err(RowProblem::Quoting)?;
        if rec.len() != self.roles.len() {
            return Err(RowProblem::ColumnCount {
                expected: self.roles.len(),
                found: rec.len(),
            });
        }
        let mut day = 0u32;
        for (col, cell) in rec.iter().enumerate() {
            self.encode_cell(col, cell, batch, &mut day)?;
        }
        Ok(day)
    }

    /// Check and encode cell `col` of a row; `day` receives Avazu's day tag.
    #[inline(always)]
    fn encode_cell(
        &self,
        col: usize,
        cell: &[u8],
        batch: &mut Batch,
        day: &mut u32,
    ) -> Result<(), RowProblem> {
        if let Some(check) = self.checks[col] {
            self.check(col, check, cell)?;
        }
        match self.roles[col] {
            Role::Drop => {}
            Role::Id => {
                // The column's check (unsigned) has passed.
                let id = std::str::from_utf8(cell).ok().and_then(|s| s.parse().ok());
                batch
                    .ids
                    .push(id.ok_or_else(|| self.expected(col, "an unsigned integer id", cell))?);
            }
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
            }
            Role::Cat { seed } => {
                batch.keys.push(key_with_seed(seed, cell));
                batch.offsets.push(batch.keys.len() as u32);
            }
            Role::HourOfDay { seed } => {
                if cell.len() != 8 || !cell.iter().all(u8::is_ascii_digit) {
                    return Err(self.expected(col, "YYMMDDHH (8 digits)", cell));
                }
                // Avazu's YY is 20YY (the data is from 2014).
                check_date(
                    2000 + digits_value(&cell[..2]),
                    digits_value(&cell[2..4]),
                    digits_value(&cell[4..6]),
                    &[("hour", digits_value(&cell[6..]), 23)],
                )
                .map_err(|f| self.out_of_range(col, f.to_string(), cell))?;
                *day = digits_value(&cell[..6]);
                batch.keys.push(key_with_seed(seed, &cell[6..]));
                batch.offsets.push(batch.keys.len() as u32);
            }
            Role::IntBucket { seed } => {
                let key = if cell.is_empty() {
                    key_with_seed(seed, b"")
                } else {
                    let x = self.int(col, cell)?;
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
                            let x = self.int(col, cell)?;
                            log1p_int(x)
                        }
                        DenseTf::IntLogPlus3 => {
                            let x = self.int(col, cell)?;
                            log_plus3_int(x)
                        }
                        DenseTf::Float => {
                            // The line is valid UTF-8 and the cell is cut at ASCII bytes.
                            let s = std::str::from_utf8(cell).unwrap_or("");
                            match s.trim().parse::<f32>() {
                                Ok(v) if v.is_finite() => v,
                                _ => return Err(self.expected(col, "a number", cell)),
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
        Ok(())
    }

    fn int(&self, col: usize, cell: &[u8]) -> Result<i128, RowProblem> {
        parse_int(cell).map_err(|e| match e {
            IntError::NotInt => self.expected(col, "an integer", cell),
            IntError::OutOfRange => self.out_of_range(col, "integer".into(), cell),
        })
    }

    /// Whether `cell` follows the column's value rule.
    fn check(&self, col: usize, check: Check, cell: &[u8]) -> Result<(), RowProblem> {
        let unsigned = |cell: &[u8]| match cell.first() {
            Some(b'-') => Err(self.expected(col, "an unsigned integer", cell)),
            _ => self.int(col, cell).map(|_| ()),
        };
        match check {
            Check::Unsigned => unsigned(cell),
            Check::UnsignedOrNull if cell == b"null" => Ok(()),
            Check::UnsignedOrNull => unsigned(cell),
            Check::Small { lo, hi } => {
                if cell.is_empty() || cell.len() > 2 || !cell.iter().all(u8::is_ascii_digit) {
                    return Err(self.expected(col, "an integer of 1 or 2 digits", cell));
                }
                let v = digits_value(cell);
                if v < lo as u32 || v > hi as u32 {
                    let what = format!("{} {v}", self.names[col]);
                    return Err(self.out_of_range(col, what, cell));
                }
                Ok(())
            }
            Check::Timestamp => {
                if cell.len() != 17 || !cell.iter().all(u8::is_ascii_digit) {
                    return Err(self.expected(col, "YYYYMMDDHHMMSSmmm (17 digits)", cell));
                }
                let f = |r: std::ops::Range<usize>| digits_value(&cell[r]);
                // Seconds up to 60: a leap second is a real time.
                check_date(
                    f(0..4),
                    f(4..6),
                    f(6..8),
                    &[
                        ("hour", f(8..10), 23),
                        ("minute", f(10..12), 59),
                        ("second", f(12..14), 60),
                    ],
                )
                .map_err(|f| self.out_of_range(col, f.to_string(), cell))
            }
            Check::Hex8 => {
                if cell.is_empty() || (cell.len() == 8 && all_hex_digits(cell)) {
                    Ok(())
                } else {
                    Err(self.expected(col, "8 hex digits or empty", cell))
                }
            }
        }
    }

    fn expected(&self, col: usize, what: &'static str, cell: &[u8]) -> RowProblem {
        RowProblem::Expected {
            column: self.names[col].clone(),
            what,
            found: String::from_utf8_lossy(cell).into_owned(),
        }
    }

    fn out_of_range(&self, col: usize, what: String, cell: &[u8]) -> RowProblem {
        RowProblem::OutOfRange {
            column: self.names[col].clone(),
            what,
            found: String::from_utf8_lossy(cell).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::config::{DataConfig, Format};
    use crate::data::dataset::criteo::columns as criteo_columns;
    use crate::data::dataset::{
        avazu::COLUMNS as AVAZU_COLUMNS, ipinyou::COLUMNS as IPINYOU_COLUMNS,
    };
    use crate::data::schema::compile;

    /// A row of `format` with every column "1" but `column` = `value`
    /// (Criteo's C columns get 8 hex digits); the encoder's verdict as text.
    fn verdict(format: Format, column: &str, value: &str) -> String {
        let layout = compile(&DataConfig::for_file(format, "F"), None, "F".as_ref()).unwrap();
        let cells: Vec<String> = layout
            .columns
            .iter()
            .map(|c| match c.as_str() {
                c if c == column => value.to_string(),
                "hour" if format == Format::Avazu => "14102100".into(),
                "timestamp" => "20131021192300738".into(),
                c if layout.checks[layout.columns.iter().position(|x| x == c).unwrap()]
                    == Some(Check::Hex8) =>
                {
                    "68fd1e64".into()
                }
                _ => "1".into(),
            })
            .collect();
        let line = cells.join(&(layout.delimiter as char).to_string());
        let mut batch = Batch::default();
        match RowEncoder::new(&layout).encode(line.as_bytes(), &mut batch) {
            Ok(_) => "ok".into(),
            Err(p) => p.to_string(),
        }
    }

    #[test]
    fn avazu_hour_is_a_real_date_hour() {
        let v = |x| verdict(Format::Avazu, "hour", x);
        assert_eq!(v("14102123"), "ok");
        assert_eq!(v("16022900"), "ok"); // 2016 is a leap year
        assert_eq!(
            v("14132100"),
            r#"column hour: month 13 out of range in "14132100""#
        );
        assert_eq!(
            v("14002100"),
            r#"column hour: month 00 out of range in "14002100""#
        );
        assert_eq!(
            v("14103200"),
            r#"column hour: day 32 out of range in "14103200""#
        );
        assert_eq!(
            v("14022900"),
            r#"column hour: day 29 out of range in "14022900""#
        );
        assert_eq!(
            v("14043100"),
            r#"column hour: day 31 out of range in "14043100""#
        );
        assert_eq!(
            v("14100000"),
            r#"column hour: day 00 out of range in "14100000""#
        );
        assert_eq!(
            v("14102124"),
            r#"column hour: hour 24 out of range in "14102124""#
        );
        assert_eq!(
            v("1410210"),
            r#"column hour: expected YYMMDDHH (8 digits), found "1410210""#
        );
    }

    #[test]
    fn avazu_id_is_any_u64() {
        let v = |x| verdict(Format::Avazu, "id", x);
        assert_eq!(v("10000174058809263569"), "ok");
        assert_eq!(v("18446744073709551615"), "ok");
        assert_eq!(
            v("18446744073709551616"),
            r#"column id: integer out of range in "18446744073709551616""#
        );
        assert_eq!(
            v("-1"),
            r#"column id: expected an unsigned integer, found "-1""#
        );
        assert_eq!(v("a1"), r#"column id: expected an integer, found "a1""#);
    }

    #[test]
    fn criteo_integers_and_hex_columns() {
        for format in [Format::Criteo, Format::CriteoCsv] {
            let v = |c, x| verdict(format, c, x);
            assert_eq!(v("I1", "-2"), "ok"); // negative integers are real Criteo values
            assert_eq!(v("I1", ""), "ok");
            assert_eq!(v("I13", "18446744073709551615"), "ok");
            assert_eq!(
                v("I2", "18446744073709551616"),
                r#"column I2: integer out of range in "18446744073709551616""#
            );
            assert_eq!(
                v("I5", "1.5"),
                r#"column I5: expected an integer, found "1.5""#
            );
            assert_eq!(v("C1", ""), "ok");
            assert_eq!(v("C26", "0A1b2C3d"), "ok");
            assert_eq!(
                v("C3", "68fd1e6"),
                r#"column C3: expected 8 hex digits or empty, found "68fd1e6""#
            );
            assert_eq!(
                v("C3", "68fd1e6g"),
                r#"column C3: expected 8 hex digits or empty, found "68fd1e6g""#
            );
        }
        assert_eq!(
            verdict(Format::CriteoCsv, "Id", "x"),
            r#"column Id: expected an integer, found "x""#
        );
        assert_eq!(criteo_columns(true)[0], "Id");
    }

    /// The branch-free hex test is `is_ascii_hexdigit` on every byte: each
    /// of the 256 byte values at each of 8 positions of a hex cell, and
    /// cells of other lengths.
    #[test]
    fn hex_digits_are_the_standard_librarys() {
        for at in 0..8 {
            for b in 0..=255u8 {
                let mut cell = *b"0a1B2c3F";
                cell[at] = b;
                let want = cell.iter().all(u8::is_ascii_hexdigit);
                assert_eq!(all_hex_digits(&cell), want, "byte {b:#04x} at {at}");
            }
        }
        assert!(all_hex_digits(b""));
        assert!(all_hex_digits(b"fF09"));
        assert!(!all_hex_digits(b"fF0g"));
        assert!(!all_hex_digits(b"@`Gg/:"));
    }

    #[test]
    fn ipinyou_typed_columns() {
        let v = |c, x| verdict(Format::Ipinyou, c, x);
        assert_eq!(v("weekday", "0"), "ok");
        assert_eq!(v("weekday", "6"), "ok");
        assert_eq!(
            v("weekday", "7"),
            r#"column weekday: weekday 7 out of range in "7""#
        );
        assert_eq!(v("hour", "00"), "ok");
        assert_eq!(v("hour", "23"), "ok");
        assert_eq!(
            v("hour", "24"),
            r#"column hour: hour 24 out of range in "24""#
        );
        assert_eq!(
            v("hour", "123"),
            r#"column hour: expected an integer of 1 or 2 digits, found "123""#
        );
        assert_eq!(
            v("timestamp", "20130229000000000"),
            r#"column timestamp: day 29 out of range in "20130229000000000""#
        );
        assert_eq!(
            v("timestamp", "20131021246000000"),
            r#"column timestamp: hour 24 out of range in "20131021246000000""#
        );
        assert_eq!(
            v("timestamp", "20131021236000000"),
            r#"column timestamp: minute 60 out of range in "20131021236000000""#
        );
        assert_eq!(
            v("timestamp", "2013102119230073"),
            r#"column timestamp: expected YYYYMMDDHHMMSSmmm (17 digits), found "2013102119230073""#
        );
        for c in [
            "region",
            "city",
            "adexchange",
            "slotwidth",
            "slotheight",
            "slotprice",
            "bidprice",
            "payprice",
            "advertiser",
        ] {
            assert_eq!(v(c, "null"), "ok", "{c}");
            assert_eq!(v(c, "300"), "ok", "{c}");
            assert_eq!(
                v(c, "3x"),
                format!("column {c}: expected an integer, found \"3x\"")
            );
            assert_eq!(
                v(c, "-3"),
                format!("column {c}: expected an unsigned integer, found \"-3\"")
            );
        }
        assert_eq!(
            v("logtype", "null"),
            r#"column logtype: expected an integer, found "null""#
        );
        // Untyped columns take any text.
        assert_eq!(v("slotvisibility", "FirstView"), "ok");
        assert_eq!(v("creative", "77819d3e"), "ok");
        assert_eq!(IPINYOU_COLUMNS.len(), 27);
        assert_eq!(AVAZU_COLUMNS.len(), 24);
    }

    #[test]
    fn ints_and_buckets() {
        use IntError::*;
        assert_eq!(parse_int(b"-3"), Ok(-3));
        assert_eq!(parse_int(b"1382"), Ok(1382));
        assert_eq!(parse_int(b""), Err(NotInt));
        assert_eq!(parse_int(b"1.5"), Err(NotInt));
        assert_eq!(parse_int(b"-"), Err(NotInt));
        assert_eq!(parse_int(b"+5"), Err(NotInt));
        // 19 and 20 digits: an Avazu id, u64::MAX, i64::MIN; one past each end.
        assert_eq!(parse_int(b"10000174058809263569"), Ok(10000174058809263569));
        assert_eq!(parse_int(b"18446744073709551615"), Ok(u64::MAX as i128));
        assert_eq!(parse_int(b"-9223372036854775808"), Ok(i64::MIN as i128));
        assert_eq!(parse_int(b"18446744073709551616"), Err(OutOfRange));
        assert_eq!(parse_int(b"-9223372036854775809"), Err(OutOfRange));
        assert_eq!(parse_int(b"000000000000000000000000001"), Ok(1));
        assert_eq!(parse_int(b"99999999999999999999999999"), Err(OutOfRange));
        // floor(ln(1382)^2) = floor(7.2313^2) = floor(52.29) = 52 (python: int(math.log(1382)**2)).
        assert_eq!(log2_bucket(1382), 52);
        assert_eq!(log2_bucket(3), 1); // ln(3)^2 = 1.2069
        assert_eq!(log2_bucket(2), 2);
        assert_eq!(log2_bucket(-1), -1);
        let mut b = [0u8; 24];
        assert_eq!(write_int(0, &mut b), b"0");
        // Table and slow path agree bit for bit, on both sides of the table's end.
        for x in [
            -5i128,
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
