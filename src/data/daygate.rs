//! Avazu's paper split without a pass over the file first: the test day is
//! the day of the file's last line (the published file is sorted by
//! `hour`), and every line read is checked against it, so an unsorted file
//! stops with its line rather than splitting silently differently
//! (docs/data.md "Splits"). The readers also use the `hour` cell to pass
//! over lines of the other side without parsing them.

use super::error::DataError;
use super::filter::SplitRule;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How far from the end the last line is looked for (a longer last line
/// falls back to the counting pass).
const TAIL_BYTES: u64 = 64 << 10;

/// The day tag (YYMMDD) of `line`'s `hour` cell (column `col`), when it
/// is 8 digits; the same value the row encoder gives a valid row.
#[inline]
pub fn hour_day(line: &[u8], col: usize, delimiter: u8) -> Option<u32> {
    let start = match col {
        0 => 0,
        c => memchr::memchr_iter(delimiter, line).nth(c - 1)? + 1,
    };
    let cell = &line[start..];
    let cell = &cell[..memchr::memchr(delimiter, cell).unwrap_or(cell.len())];
    if cell.len() == 8 && cell.iter().all(u8::is_ascii_digit) {
        Some(
            cell[..6]
                .iter()
                .fold(0u32, |v, d| v * 10 + u32::from(d - b'0')),
        )
    } else {
        None
    }
}

/// The day of the last line of a plain (not gzip) file, read from its
/// tail; None when that line is not a data row with a valid `hour` cell
/// (then the caller makes the counting pass).
pub fn last_line_day(
    file: &Path,
    col: usize,
    delimiter: u8,
    header: bool,
) -> Result<Option<u32>, DataError> {
    let io = |e| DataError::io(file, e);
    let mut f = std::fs::File::open(file).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let n = len.min(TAIL_BYTES);
    f.seek(SeekFrom::End(-(n as i64))).map_err(io)?;
    let mut buf = vec![0u8; n as usize];
    f.read_exact(&mut buf).map_err(io)?;
    let mut t = buf.as_slice();
    if let [rest @ .., b'\n'] = t {
        t = rest;
    }
    if let [rest @ .., b'\r'] = t {
        t = rest;
    }
    let line = match memchr::memrchr(b'\n', t) {
        Some(p) => &t[p + 1..],
        // One line in all: the header, or a file without one.
        None if n == len && !header => t,
        None => return Ok(None),
    };
    Ok(hour_day(line, col, delimiter))
}

/// The by-day rule checked from the `hour` cell before a line is parsed.
#[derive(Clone, Copy, Debug)]
pub struct DayGate {
    pub col: usize,
    pub delimiter: u8,
    pub rule: SplitRule,
    /// The test day taken from the last line: a line with a later day is an
    /// error (None: the day came from a pass over every line).
    pub last_line_day: Option<u32>,
}

impl DayGate {
    /// Whether the rule keeps a row of `day`.
    #[inline]
    pub fn keeps(&self, day: u32) -> bool {
        match self.rule {
            SplitRule::DayBelow(d) => day < d,
            SplitRule::DayIs(d) => day == d,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hour_cell_gives_the_day_and_the_tail_the_last_lines_day() {
        assert_eq!(hour_day(b"1,0,14102923,a", 2, b','), Some(141029));
        assert_eq!(hour_day(b"14102100,x", 0, b','), Some(141021));
        assert_eq!(hour_day(b"1,0,1410292,a", 2, b','), None);
        assert_eq!(hour_day(b"1,0", 2, b','), None);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.csv");
        std::fs::write(&f, "id,click,hour\n1,0,14102100\n2,1,14102205\r\n").unwrap();
        assert_eq!(last_line_day(&f, 2, b',', true).unwrap(), Some(141022));
        std::fs::write(&f, "id,click,hour\n1,0,14102100\n2,1,14102305").unwrap();
        assert_eq!(last_line_day(&f, 2, b',', true).unwrap(), Some(141023));
        // Only a header, or a trailing empty line: no day (the pass decides).
        std::fs::write(&f, "id,click,hour\n").unwrap();
        assert_eq!(last_line_day(&f, 2, b',', true).unwrap(), None);
        std::fs::write(&f, "id,click,hour\n1,0,14102100\n\n").unwrap();
        assert_eq!(last_line_day(&f, 2, b',', true).unwrap(), None);
    }
}
