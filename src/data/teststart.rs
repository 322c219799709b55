//! Where the test split of a plain file starts, remembered from the
//! training pass so that the test pass seeks there instead of reading
//! again, and passing over, every training line (on Avazu's paper split,
//! nine lines of ten). The training pass reads the whole file anyway: it
//! notes the first line of the test side (the test day's first line, or
//! the line at the row-order cut) and, when it has read to the end (or to
//! the final cut), remembers its byte offset, line number and data-line
//! index under the file's identity (`fingerprint::FileId`: any write moves
//! it, so a changed file is never matched and the test pass streams).
//!
//! The record holds only where the test side begins: it is kept when the
//! test side is all of the lines from there on (a training line after the
//! first test-day line, in a file whose days are not sorted, drops it).
//! Before the test pass uses it, the bytes are checked: the offset starts a
//! line, and for a day split that line is on the test day and the one before
//! it is not. A record that fails is an error naming the file and line
//! (a bug, never a silently different split). Remembered for the life of
//! the process, like the fingerprint memo: the passes of one run share it.

use super::daygate::hour_day;
use super::error::DataError;
use super::filter::RowCut;
use super::fingerprint::FileId;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Mutex;

/// What decides the test side: the rule the record was taken under.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Boundary {
    /// Avazu's paper split: the lines of this day (YYMMDD) test.
    Day(u32),
    /// A row-order cut of the file's data lines (Criteo's paper split,
    /// `fraction`): the lines from the cut on test.
    Cut(RowCut),
}

/// The first line of the test side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestStart {
    /// Byte offset of the line in the file.
    pub byte: u64,
    /// Its 1-based line number (the header counts), for error messages.
    pub line_no: u64,
    /// Its data-line index (header excluded), which sampling hashes.
    pub idx: u64,
}

/// The cells of a day split's lines the check reads: (`hour` column, delimiter).
pub type DayCell = (usize, u8);

type Record = (FileId, Boundary, TestStart);
static STARTS: Mutex<Vec<Record>> = Mutex::new(Vec::new());

/// Remember that under `boundary` the test side of the file `id` starts at `start`.
pub fn remember(id: FileId, boundary: Boundary, start: TestStart) {
    let mut v = STARTS.lock().unwrap_or_else(|e| e.into_inner());
    v.retain(|r| !(r.0 == id && r.1 == boundary));
    v.push((id, boundary, start));
}

/// The remembered start of the test side of the file `id` under `boundary`.
pub fn recall(id: &FileId, boundary: Boundary) -> Option<TestStart> {
    let v = STARTS.lock().unwrap_or_else(|e| e.into_inner());
    v.iter()
        .find(|r| r.0 == *id && r.1 == boundary)
        .map(|r| r.2)
}

fn trim(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// How far around the offset the check reads (a longer line before it:
/// the record is not used and the test pass streams).
const WINDOW: u64 = 64 << 10;

/// Check `start` against the bytes of `file`: it begins a line (the byte
/// before is a newline), and for a day split that line's day is `day` and
/// the line before has another. Ok(false): the line before is too long
/// to read here (stream instead).
pub fn verify(
    file: &Path,
    start: TestStart,
    day: Option<(DayCell, u32)>,
) -> Result<bool, DataError> {
    let bad = |problem: String| DataError::TestStart {
        file: file.to_path_buf(),
        line: start.line_no,
        byte: start.byte,
        problem,
    };
    let io = |e| DataError::io(file, e);
    let mut f = std::fs::File::open(file).map_err(io)?;
    let from = start.byte.saturating_sub(WINDOW);
    f.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut buf = Vec::new();
    f.take(start.byte - from + WINDOW)
        .read_to_end(&mut buf)
        .map_err(io)?;
    let at = (start.byte - from) as usize;
    let (before, after) = buf.split_at(at.min(buf.len()));
    let Some((b'\n', before)) = before.split_last() else {
        return Err(bad("does not start a line".into()));
    };
    let Some(((col, delim), d)) = day else {
        return Ok(true);
    };
    let line = trim(&after[..memchr::memchr(b'\n', after).unwrap_or(after.len())]);
    if hour_day(line, col, delim) != Some(d) {
        return Err(bad(format!("is not on the test day {d}")));
    }
    let prev = match memchr::memrchr(b'\n', before) {
        Some(p) => &before[p + 1..],
        None if from == 0 => before,
        None => return Ok(false),
    };
    if hour_day(trim(prev), col, delim) == Some(d) {
        return Err(bad(format!(
            "is not the first line of the test day {d}: line {} is on it too",
            start.line_no - 1
        )));
    }
    Ok(true)
}

/// The first test-side line a training pass meets, and whether the test
/// side is still all of the lines from it on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watch {
    pub boundary: Boundary,
    first: Option<TestStart>,
    broken: bool,
}

impl Watch {
    pub fn new(boundary: Boundary) -> Self {
        Self {
            boundary,
            first: None,
            broken: false,
        }
    }

    /// A day split's line: on the test day or not.
    #[inline]
    pub fn see(&mut self, test: bool, at: impl FnOnce() -> TestStart) {
        match (test, self.first) {
            (true, None) => self.first = Some(at()),
            (false, Some(_)) => self.broken = true,
            _ => {}
        }
    }

    /// Remember the start, once the pass has read every line of file `id`.
    pub fn finish(self, id: FileId) {
        if let (Some(start), false) = (self.first, self.broken) {
            remember(id, self.boundary, start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fingerprint::file_id;
    use crate::data::{Batch, DataConfig, Format, Split, SplitKind};
    use std::path::PathBuf;

    const AVAZU_HEADER: &str = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";

    /// An Avazu file, one row per entry of `days` (at hour 05; clicks and
    /// C1 vary so that rows are told apart), written beside and renamed
    /// over `name` (a new file, never the old one rewritten in place).
    /// Returns the file and the byte offset of each line.
    fn avazu_file(dir: &Path, name: &str, days: &[u32]) -> (PathBuf, Vec<u64>) {
        let mut text = format!("{AVAZU_HEADER}\n");
        let mut offsets = vec![0];
        for (i, d) in days.iter().enumerate() {
            offsets.push(text.len() as u64);
            text += &format!(
                "{i},{},{d}05,1{i:03},0,a,b,c,d,e,f,g,h,i,1,0,15706,320,50,1722,0,35,-1,79\n",
                (i * 7 / 3) % 2
            );
        }
        let (tmp, file) = (dir.join("tmp.csv"), dir.join(name));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
        (file, offsets)
    }

    fn read_all(cfg: &DataConfig, split: Split) -> Result<Vec<Batch>, DataError> {
        crate::data::open::read_batches(cfg, split, 3)
    }

    fn rows(batches: &[Batch]) -> usize {
        batches.iter().map(|b| b.len).sum()
    }

    /// Days 141021..141023, the last one on lines 42.. (data lines 40..):
    /// the training pass notes where it starts, and the test pass that
    /// seeks there gives exactly the rows of the pass that streams (with
    /// sampling too, which hashes the data-line index).
    #[test]
    fn the_test_pass_seeks_to_the_last_day_and_gives_the_streamed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let days: Vec<u32> = (0..60)
            .map(|i| 141021 + (i >= 25) as u32 + (i >= 40) as u32)
            .collect();
        for sample_rate in [1.0, 0.5] {
            // A file of its own: the first pass must find no record.
            let (file, offsets) = avazu_file(dir.path(), &format!("{sample_rate}.csv"), &days);
            let mut cfg = DataConfig::for_file(Format::Avazu, &file);
            (cfg.cache, cfg.sample_rate) = (false, sample_rate);
            let streamed = read_all(&cfg, Split::Test).unwrap();
            assert_eq!(
                recall(&file_id(&file).unwrap(), Boundary::Day(141023)),
                None
            );
            read_all(&cfg, Split::Train).unwrap();
            let start = TestStart {
                byte: offsets[41],
                line_no: 42,
                idx: 40,
            };
            assert_eq!(
                recall(&file_id(&file).unwrap(), Boundary::Day(141023)),
                Some(start)
            );
            let seeked = read_all(&cfg, Split::Test).unwrap();
            assert_eq!(seeked, streamed, "sample_rate {sample_rate}");
            let n = rows(&seeked);
            assert!(
                if sample_rate == 1.0 {
                    n == 20
                } else {
                    n > 0 && n < 20
                },
                "{n}"
            );
        }
    }

    /// A start that is not the test day's first line stops the test pass
    /// with the file and line; a file changed since the training pass
    /// (renamed over: another identity) is not matched, and streams.
    #[test]
    fn a_wrong_start_stops_and_a_changed_file_streams() {
        let dir = tempfile::tempdir().unwrap();
        let days = [141021, 141021, 141022, 141022, 141022, 141022];
        let (file, offsets) = avazu_file(dir.path(), "t.csv", &days);
        let mut cfg = DataConfig::for_file(Format::Avazu, &file);
        cfg.cache = false;
        let id = file_id(&file).unwrap();
        let at = |line: usize, byte: u64| TestStart {
            byte,
            line_no: line as u64,
            idx: line as u64 - 2,
        };
        let shown = file.display();
        for (start, problem) in [
            (
                at(5, offsets[4]),
                "is not the first line of the test day 141022: line 4 is on it too".to_string(),
            ),
            (at(4, offsets[3] + 1), "does not start a line".to_string()),
            (
                at(3, offsets[2]),
                "is not on the test day 141022".to_string(),
            ),
        ] {
            remember(id, Boundary::Day(141022), start);
            let e = read_all(&cfg, Split::Test).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("{shown}: line {} (byte {}), the start of the test split noted by the training pass, {problem}", start.line_no, start.byte)
            );
        }
        // The same layout with the test day from line 3 on: the old
        // record (line 4, the one before it now on the test day too)
        // belongs to the old identity and is not used.
        remember(id, Boundary::Day(141022), at(4, offsets[3]));
        let (file, _) = avazu_file(
            dir.path(),
            "t.csv",
            &[141021, 141022, 141022, 141022, 141022, 141022],
        );
        assert_ne!(file_id(&file).unwrap(), id);
        let test = read_all(&cfg, Split::Test).unwrap();
        assert_eq!(rows(&test), 5);
    }

    /// A row-order cut (Criteo's paper split, `fraction`): the training
    /// pass stops at the final cut and notes it; the test pass seeks there
    /// (no line count) and gives the streamed rows.
    #[test]
    fn the_test_pass_seeks_to_a_row_order_cut() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.txt");
        let lines: Vec<String> = (0..50)
            .map(|i| {
                let ints = (0..13).map(|j| (i * j % 5).to_string());
                let cats = (0..26).map(|j| format!("{:08x}", i * 31 + j));
                std::iter::once(((i * 7 / 3) % 2).to_string())
                    .chain(ints)
                    .chain(cats)
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect();
        std::fs::write(&file, lines.join("\n")).unwrap();
        let offset = |n: usize| lines[..n].iter().map(|l| l.len() as u64 + 1).sum::<u64>();
        for (split, fraction, cut, sample_rate) in [
            (SplitKind::Paper, 0.8, 42, 1.0), // floor(50 * 6 / 7)
            (SplitKind::Fraction, 0.5, 25, 0.5),
        ] {
            let mut cfg = DataConfig::for_file(Format::Criteo, &file);
            (cfg.cache, cfg.split, cfg.train_fraction) = (false, split, fraction);
            cfg.sample_rate = sample_rate;
            let streamed = read_all(&cfg, Split::Test).unwrap();
            read_all(&cfg, Split::Train).unwrap();
            let b = match split {
                SplitKind::Paper => Boundary::Cut(RowCut::Parts(7)),
                _ => Boundary::Cut(RowCut::Fraction(fraction)),
            };
            let start = TestStart {
                byte: offset(cut),
                line_no: cut as u64 + 1,
                idx: cut as u64,
            };
            assert_eq!(
                recall(&file_id(&file).unwrap(), b),
                Some(start),
                "{split:?}"
            );
            assert_eq!(read_all(&cfg, Split::Test).unwrap(), streamed, "{split:?}");
            assert!(rows(&streamed) > 0);
        }
    }
}
