//! The [`BatchSource`] trait and the text reader behind it: raw lines ->
//! filter -> encoder -> batches.

use super::daygate::{hour_day, DayGate};
use super::encode::RowEncoder;
use super::error::DataError;
use super::filter::{Pre, RowCut, RowFilter, SplitRule};
use super::linecount::LineCounter;
use super::lines::LineReader;
use super::schema::{Layout, SchemaInfo};
use super::teststart::{Boundary, TestStart, Watch};
use super::Batch;
use std::path::{Path, PathBuf};

/// A stream of encoded batches (one split of one dataset).
pub trait BatchSource: Send {
    fn schema(&self) -> &SchemaInfo;
    /// Fill `batch` with the next samples (up to the batch size); false when
    /// the stream is over (then `batch.len == 0`).
    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, DataError>;
    /// Samples handed out so far.
    fn rows_read(&self) -> u64;
    /// Drop the next `n` samples (resume from a checkpoint).
    fn skip_rows(&mut self, n: u64) -> Result<(), DataError>;
    /// Malformed rows skipped so far (only with `max_bad_rows` > 0).
    fn bad_rows(&self) -> u64;
}

/// A source whose batch size can be changed, so that skipping can read
/// exactly `n` rows (reading them keeps the accounting of bad rows and
/// `rows_read` identical to a run that really read them).
pub(crate) trait Resizable: BatchSource {
    fn batch_size_mut(&mut self) -> &mut usize;
}

pub(crate) fn skip_by_reading<S: Resizable>(src: &mut S, n: u64) -> Result<(), DataError> {
    let orig = *src.batch_size_mut();
    let mut scratch = Batch::default();
    let mut left = n;
    let mut result = Ok(());
    while left > 0 {
        *src.batch_size_mut() = left.min(1 << 16) as usize;
        match src.next_batch(&mut scratch) {
            Ok(true) => left -= scratch.len as u64,
            Ok(false) => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    *src.batch_size_mut() = orig;
    result
}

pub(crate) fn start_batch(batch: &mut Batch, info: &SchemaInfo) {
    batch.clear();
    batch.n_fields = info.n_fields();
    batch.n_dense = info.n_dense();
}

/// Saved lengths of a batch, to drop the last row again.
#[derive(Clone, Copy)]
pub(crate) struct Mark(usize, usize, usize, usize, usize, usize);

impl Mark {
    pub fn of(b: &Batch) -> Self {
        Mark(
            b.len,
            b.keys.len(),
            b.offsets.len(),
            b.dense.len(),
            b.labels.len(),
            b.ids.len(),
        )
    }
    pub fn restore(self, b: &mut Batch) {
        b.len = self.0;
        b.keys.truncate(self.1);
        b.offsets.truncate(self.2);
        b.dense.truncate(self.3);
        b.labels.truncate(self.4);
        b.ids.truncate(self.5);
    }
}

/// What [`RawReader::next`] found.
pub(crate) enum Next {
    /// A row was appended to the batch.
    Row {
        day: u32,
    },
    /// A line was passed over (filtered out before parsing, or malformed and skipped).
    Skipped,
    End,
}

/// Data lines of one file, parsed and encoded; bad rows are skipped and
/// recorded up to `max_bad`.
pub(crate) struct RawReader {
    lines: LineReader,
    enc: RowEncoder,
    /// Index of the next data line (0-based, header excluded, bad rows included).
    pub idx: u64,
    pub bad_count: u64,
    /// Data-line indices of the bad rows (for the cache).
    pub bad_idx: Vec<u64>,
    /// The first few bad-row errors, for reports.
    pub first_errors: Vec<String>,
    max_bad: u64,
    /// The file's identity at open, checked again at its end.
    opened: super::fingerprint::FileId,
    /// The by-day rule decided from the `hour` cell before parsing.
    pub day_gate: Option<DayGate>,
    /// A training pass of a day split: where the test day starts.
    pub(crate) watch: Option<Watch>,
    /// The line a row-order cut stopped the pass before ([`Pre::Stop`]).
    pub stopped_before: Option<TestStart>,
}

impl RawReader {
    /// Open `file`, check its header; returns the reader and its layout.
    pub fn open(cfg: &super::config::DataConfig, file: &Path) -> Result<(Self, Layout), DataError> {
        let mut lines = LineReader::open(file)?;
        let opened = super::fingerprint::file_id(file)?;
        let wants_header = match super::dataset::preset(cfg.format) {
            Some(p) => p.header(),
            None => cfg.schema.as_ref().is_some_and(|s| s.header),
        };
        let layout = if wants_header {
            let h = match lines.next_line()? {
                Some(h) => std::str::from_utf8(h)
                    .map_err(|_| DataError::Header {
                        file: file.to_path_buf(),
                        problem: "bytes that are not UTF-8".into(),
                    })?
                    .to_string(),
                None => {
                    return Err(DataError::Empty {
                        file: file.to_path_buf(),
                    })
                }
            };
            header_layout(cfg, &h, file)?
        } else if cfg.scoring {
            headerless_layout(cfg, file)?
        } else {
            super::schema::compile(cfg, None, file)?
        };
        let enc = RowEncoder::new(&layout);
        Ok((
            Self {
                lines,
                enc,
                idx: 0,
                bad_count: 0,
                bad_idx: Vec::new(),
                first_errors: Vec::new(),
                max_bad: cfg.max_bad_rows,
                opened,
                day_gate: None,
                watch: None,
                stopped_before: None,
            },
            layout,
        ))
    }

    pub fn file(&self) -> &Path {
        self.lines.file()
    }

    /// Data lines seen so far.
    pub fn lines_seen(&self) -> u64 {
        self.idx
    }

    pub fn is_gzip(&self) -> bool {
        self.lines.is_gzip()
    }

    /// The file's identity when it was opened.
    pub fn opened(&self) -> &super::fingerprint::FileId {
        &self.opened
    }

    /// Continue at `start` of a plain file (checked by the caller with
    /// [`super::teststart::verify`]), as if the lines before were read.
    pub fn seek(&mut self, start: TestStart) -> Result<(), DataError> {
        let file = self.lines.file().to_path_buf();
        self.lines = LineReader::open_at(&file, start.byte, start.line_no - 1)?;
        super::fingerprint::check_same(&file, &self.opened)?;
        self.idx = start.idx;
        Ok(())
    }

    /// Read the next data line; `pre` decides from its index whether to parse it.
    pub fn next(&mut self, batch: &mut Batch, pre: impl Fn(u64) -> Pre) -> Result<Next, DataError> {
        let at = (self.lines.next_pos(), self.lines.line_no + 1);
        let Some(line) = self.lines.next_line()? else {
            if self.idx == 0 {
                return Err(DataError::Empty {
                    file: self.lines.file().to_path_buf(),
                });
            }
            // Rows read from a file that was appended to, cut or rewritten
            // meanwhile mix two versions of it.
            super::fingerprint::check_same(self.lines.file(), &self.opened)?;
            if let (Some(w), false) = (self.watch.take(), self.is_gzip()) {
                w.finish(self.opened);
            }
            return Ok(Next::End);
        };
        let idx = self.idx;
        self.idx += 1;
        let start = || TestStart {
            byte: at.0,
            line_no: at.1,
            idx,
        };
        // Every line is checked against the last line's day, those of other
        // splits included: a later day anywhere would move the split.
        let day = match &self.day_gate {
            Some(g) => {
                let day = hour_day(line, g.col, g.delimiter);
                if let (Some(day), Some(last)) = (day, g.last_line_day) {
                    if day > last {
                        return Err(DataError::AfterLastDay {
                            file: self.lines.file().to_path_buf(),
                            line: self.lines.line_no,
                            day,
                            last,
                        });
                    }
                }
                if let Some(w) = &mut self.watch {
                    w.see(day.is_some_and(|d| !g.keeps(d)), start);
                }
                day.map(|d| g.keeps(d))
            }
            None => None,
        };
        match pre(idx) {
            Pre::Skip => return Ok(Next::Skipped),
            Pre::Stop => {
                self.stopped_before = Some(start());
                return Ok(Next::End);
            }
            Pre::Parse => {}
        }
        // A row of the other side is passed over unparsed (the gate is only
        // set with max_bad_rows = 0: a bad row there is parsed, and stops,
        // in that side's pass).
        if day == Some(false) {
            return Ok(Next::Skipped);
        }
        match self.enc.encode(line, batch) {
            Ok(day) => Ok(Next::Row { day }),
            Err(problem) => {
                let err = DataError::Row {
                    file: self.lines.file().to_path_buf(),
                    line: self.lines.line_no,
                    problem,
                };
                if self.max_bad == 0 {
                    return Err(err);
                }
                self.bad_count += 1;
                if self.bad_count > self.max_bad {
                    return Err(DataError::TooManyBadRows {
                        file: self.lines.file().to_path_buf(),
                        max: self.max_bad,
                        last: Box::new(err),
                    });
                }
                self.bad_idx.push(idx);
                if self.first_errors.len() < 5 {
                    self.first_errors.push(err.to_string());
                }
                Ok(Next::Skipped)
            }
        }
    }
}

/// The layout whose columns `header` names: the labelled one, or when
/// scoring the one without the label column; an error names the header's
/// columns and every layout tried.
fn header_layout(
    cfg: &super::config::DataConfig,
    header: &str,
    file: &Path,
) -> Result<Layout, DataError> {
    let labelled = super::schema::compile(cfg, Some(header), file)?;
    match labelled.check_header(header, file) {
        Ok(()) => return Ok(labelled),
        Err(e) if !cfg.scoring => return Err(e),
        Err(_) => {}
    }
    let unlabelled = super::schema::compile_as(cfg, Some(header), file, false)?;
    if unlabelled.check_header(header, file).is_ok() {
        return Ok(unlabelled);
    }
    Err(DataError::Header {
        file: file.to_path_buf(),
        problem: format!(
            "the header's {} columns ({}) match no {} layout; tried with the label column ({} columns: {}) and without it ({} columns: {})",
            header.split(labelled.delimiter as char).count(),
            header,
            cfg.format.as_str(),
            labelled.columns.len(),
            labelled.columns.join(","),
            unlabelled.columns.len(),
            unlabelled.columns.join(","),
        ),
    })
}

/// A file without a header (Criteo's TSV) when scoring: the first line's
/// column count says whether it has the label column.
fn headerless_layout(cfg: &super::config::DataConfig, file: &Path) -> Result<Layout, DataError> {
    let labelled = super::schema::compile(cfg, None, file)?;
    let unlabelled = super::schema::compile_as(cfg, None, file, false)?;
    let mut lines = LineReader::open(file)?;
    let Some(first) = lines.next_line()? else {
        return Err(DataError::Empty {
            file: file.to_path_buf(),
        });
    };
    let n = 1 + memchr::memchr_iter(labelled.delimiter, first).count();
    if n == labelled.columns.len() {
        Ok(labelled)
    } else if n == unlabelled.columns.len() {
        Ok(unlabelled)
    } else {
        Err(DataError::Row {
            file: file.to_path_buf(),
            line: 1,
            problem: super::error::RowProblem::ScoringColumnCount {
                labelled: labelled.columns.len(),
                unlabelled: unlabelled.columns.len(),
                found: n,
            },
        })
    }
}

/// Batches straight from a raw text file.
pub struct TextSource {
    raw: RawReader,
    info: SchemaInfo,
    filter: RowFilter,
    batch_size: usize,
    kept: u64,
    done: bool,
    /// A row-order cut whose line count is still being counted.
    line_cut: Option<LineCut>,
    /// The training side of a row-order cut: where it stops is where the
    /// test side starts ([`super::teststart`]).
    cut_boundary: Option<Boundary>,
}

/// A row-order cut decided while streaming (`linecount`): `filter.rule`
/// holds the cut of the lines counted so far, a lower bound of the file's.
struct LineCut {
    counter: LineCounter,
    cut: RowCut,
    train_side: bool,
    /// Lines counted so far, and whether that is all of them.
    lines: u64,
    done: bool,
}

impl LineCut {
    fn rule(&self) -> SplitRule {
        let c = self.cut.at(self.lines);
        if self.train_side {
            SplitRule::IdxBelow(c)
        } else {
            SplitRule::IdxFrom(c)
        }
    }
}

impl TextSource {
    pub(crate) fn new(
        raw: RawReader,
        layout: &Layout,
        filter: RowFilter,
        batch_size: usize,
    ) -> Self {
        Self {
            raw,
            info: layout.info.clone(),
            filter,
            batch_size: batch_size.max(1),
            kept: 0,
            done: false,
            line_cut: None,
            cut_boundary: None,
        }
    }

    /// Split by `cut` of the file's data lines, counted by `counter` while
    /// the rows stream (the train side below the cut, else the test side).
    pub(crate) fn with_line_cut(
        mut self,
        counter: LineCounter,
        cut: RowCut,
        train_side: bool,
    ) -> Self {
        let lc = LineCut {
            counter,
            cut,
            train_side,
            lines: 0,
            done: false,
        };
        self.filter.rule = lc.rule();
        self.line_cut = Some(lc);
        self.cut_boundary = train_side.then_some(Boundary::Cut(cut));
        self
    }

    /// At the end of a training pass of a row-order cut: the line it
    /// stopped before, at the final cut, starts the test side.
    fn note_test_start(&self) {
        let (Some(b), None, Some(s), SplitRule::IdxBelow(c)) = (
            self.cut_boundary,
            &self.line_cut,
            self.raw.stopped_before,
            self.filter.rule,
        ) else {
            return;
        };
        if s.idx == c && !self.raw.is_gzip() {
            super::teststart::remember(*self.raw.opened(), b, s);
        }
    }

    /// Before line `raw.idx`: make the rule exact for it. A line below the
    /// cut of the lines counted so far is below the file's cut; otherwise
    /// wait for more of the count (at its end, the rule is final).
    fn settle_cut(&mut self) -> Result<(), DataError> {
        let Some(lc) = &mut self.line_cut else {
            return Ok(());
        };
        while !lc.done && self.raw.idx >= lc.cut.at(lc.lines) {
            (lc.lines, lc.done) = lc.counter.wait_past(lc.lines)?;
            self.filter.rule = lc.rule();
        }
        if lc.done {
            self.line_cut = None;
        }
        Ok(())
    }

    pub fn file(&self) -> PathBuf {
        self.raw.file().to_path_buf()
    }

    /// The first few bad-row errors met (with `max_bad_rows` > 0).
    pub fn first_errors(&self) -> &[String] {
        &self.raw.first_errors
    }

    /// Data lines read so far (bad ones included).
    pub fn lines_seen(&self) -> u64 {
        self.raw.lines_seen()
    }
}

impl BatchSource for TextSource {
    fn schema(&self) -> &SchemaInfo {
        &self.info
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, DataError> {
        start_batch(batch, &self.info);
        while !self.done && batch.len < self.batch_size {
            if self.filter.full(self.kept) {
                self.done = true;
                break;
            }
            self.settle_cut()?;
            let mark = Mark::of(batch);
            let filter = &self.filter;
            match self.raw.next(batch, |i| filter.pre(i))? {
                Next::Row { day, .. } => {
                    if self.filter.day_ok(day) {
                        self.kept += 1;
                    } else {
                        mark.restore(batch);
                    }
                }
                Next::Skipped => {}
                Next::End => {
                    self.done = true;
                    self.note_test_start();
                }
            }
        }
        Ok(batch.len > 0)
    }

    fn rows_read(&self) -> u64 {
        self.kept
    }

    fn skip_rows(&mut self, n: u64) -> Result<(), DataError> {
        skip_by_reading(self, n)
    }

    fn bad_rows(&self) -> u64 {
        self.raw.bad_count
    }
}

impl Resizable for TextSource {
    fn batch_size_mut(&mut self) -> &mut usize {
        &mut self.batch_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::config::{DataConfig, Format};
    use crate::data::filter::Pre;

    /// A Criteo TSV file of one row with `n` columns (label 1 first when
    /// `n` = 40), opened for scoring.
    fn open_criteo(n: usize) -> Result<(Layout, Batch), DataError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.txt");
        let mut cells: Vec<String> = Vec::new();
        let ints = if n == 40 { 14 } else { 13 };
        cells.extend((0..ints).map(|i| {
            if n == 40 && i == 0 {
                "1".into()
            } else {
                "2".into()
            }
        }));
        cells.extend((ints..n).map(|_| "68fd1e64".to_string()));
        std::fs::write(&file, cells.join("\t") + "\n").unwrap();
        let mut cfg = DataConfig::for_file(Format::Criteo, &file);
        cfg.scoring = true;
        let (mut raw, layout) = RawReader::open(&cfg, &file)?;
        let mut batch = Batch::default();
        start_batch(&mut batch, &layout.info);
        assert!(matches!(
            raw.next(&mut batch, |_| Pre::Parse)?,
            Next::Row { .. }
        ));
        Ok((layout, batch))
    }

    #[test]
    fn headerless_criteo_to_score_is_told_apart_by_its_column_count() {
        let (l, b) = open_criteo(40).unwrap();
        assert_eq!(l.columns.len(), 40);
        assert_eq!(b.labels, [1.0]);
        let (l, b) = open_criteo(39).unwrap();
        assert_eq!(l.columns.len(), 39);
        assert!(!l.columns.iter().any(|c| c == "label"));
        assert_eq!((b.len, b.labels.len()), (1, 0));
        assert_eq!(l.info.field_names.len(), 26);
        assert_eq!(l.info.dense_names.len(), 13);
        let e = open_criteo(38).unwrap_err().to_string();
        assert!(
            e.ends_with("t.txt: line 1: expected 40 columns (with the label) or 39 (without it, a file to score), found 38"),
            "{e}"
        );
    }
}
