//! `open`: from a [`DataConfig`] and a split to a [`BatchSource`] — picks the
//! file, the split rule, the cache or the text reader, and the key mapping.

use super::cache::{self, CacheSource};
use super::config::{DataConfig, SplitKind};
use super::dataset::PaperSplit;
use super::daygate::{hour_day, last_line_day, DayGate};
use super::error::DataError;
use super::filter::{hash_threshold, Carve, Pre, RowCut, RowFilter, SplitRule};
use super::hash::KeySet;
use super::linecount::LineCounter;
use super::lines::LineReader;
use super::mincount::{frequent_keys, load_keys, save_keys, MappedSource};
use super::schema::{Layout, Role, SchemaInfo};
use super::source::{start_batch, BatchSource, Next, RawReader, TextSource};
use super::teststart::{self, Boundary, DayCell, TestStart, Watch};
use super::Batch;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which side of the split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Test,
    /// `[data] valid_fraction` of the training side, or `valid_path`.
    Valid,
}

/// The validation carve-out a split's filter applies.
fn carve_for(cfg: &DataConfig, split: Split) -> Carve {
    if cfg.valid_fraction <= 0.0 {
        return Carve::None;
    }
    let t = hash_threshold(cfg.valid_fraction);
    match split {
        Split::Train => Carve::Out(t),
        Split::Valid => Carve::Only(t),
        Split::Test => Carve::None,
    }
}

/// The input files in effect: the configured ones, or the synthetic ones
/// (generated into the cache directory on first use).
pub fn input_files(cfg: &DataConfig) -> Result<(PathBuf, Option<PathBuf>), DataError> {
    match (&cfg.train, &cfg.synthetic) {
        (Some(t), _) => Ok((t.clone(), cfg.test.clone())),
        (None, Some(s)) => super::synth::ensure_files(cfg.format, s, &cfg.cache_dir()),
        (None, None) => Err(DataError::Config(
            "set `train` (a file) or `[data.synthetic]`".into(),
        )),
    }
}

/// The ground truth of the train data when it is synthetic: generated from
/// `[data.synthetic]`, or a `train` file written by `ctr-run gen` (its
/// `FILE.truth.json` beside it). None for real data.
pub fn ground_truth(cfg: &DataConfig) -> Result<Option<super::synth::GroundTruth>, DataError> {
    let (train, _) = input_files(cfg)?;
    let p = super::synth::truth_path(&train);
    if p.exists() {
        Ok(Some(super::synth::load_truth(&p)?))
    } else {
        Ok(None)
    }
}

/// Whether the split is by file (train file = train, test file = test).
pub fn split_by_file(cfg: &DataConfig, test: &Option<PathBuf>) -> bool {
    test.is_some()
        || (cfg.split == SplitKind::Paper
            && super::dataset::paper_split(cfg.format) == PaperSplit::ByFile)
}

/// What the split rule needs to know about the whole file.
struct Plan {
    n_lines: u64,
    last_day: u32,
    /// `last_day` is the last line's: the readers check every line against it.
    from_tail: bool,
}

/// The row-order cut of a split that depends on the file's line count.
fn row_cut(cfg: &DataConfig) -> Option<RowCut> {
    match (cfg.split, super::dataset::paper_split(cfg.format)) {
        (SplitKind::Fraction, _) => Some(RowCut::Fraction(cfg.train_fraction)),
        (SplitKind::Paper, PaperSplit::Parts(parts)) => Some(RowCut::Parts(parts)),
        _ => None,
    }
}

fn rule_for(
    cfg: &DataConfig,
    split: Split,
    by_file: bool,
    plan: &dyn Fn() -> Result<Plan, DataError>,
) -> Result<SplitRule, DataError> {
    if by_file || (split == Split::Valid && cfg.valid_path.is_some()) {
        return Ok(SplitRule::All);
    }
    // A validation fraction is carved out of the training side.
    let split = if split == Split::Valid {
        Split::Train
    } else {
        split
    };
    let idx_rule = |b: u64| match split {
        Split::Train => SplitRule::IdxBelow(b),
        _ => SplitRule::IdxFrom(b),
    };
    if let Some(cut) = row_cut(cfg) {
        return Ok(idx_rule(cut.at(plan()?.n_lines)));
    }
    Ok(match (cfg.split, super::dataset::paper_split(cfg.format)) {
        (SplitKind::Hashed, _) => {
            let t = hash_threshold(cfg.train_fraction);
            match split {
                Split::Train => SplitRule::HashBelow(t),
                _ => SplitRule::HashFrom(t),
            }
        }
        (SplitKind::Paper, PaperSplit::LastDay) => {
            let d = plan()?.last_day;
            match split {
                Split::Train => SplitRule::DayBelow(d),
                _ => SplitRule::DayIs(d),
            }
        }
        (SplitKind::Fraction, _) | (SplitKind::Paper, PaperSplit::Parts(_)) => {
            unreachable!("a row-order cut, handled above")
        }
        (SplitKind::Paper, PaperSplit::ByFile) => {
            return Err(DataError::Config(
                "this format splits by file: set `test`".into(),
            ))
        }
    })
}

/// The split plan of a text file. Avazu's paper split takes the last
/// line's day, read from the file's end, when every line will be checked
/// against it: a plain file, `max_bad_rows = 0` (a bad last line must not
/// count), no `max_rows` (a pass that stops early checks only its lines).
/// Otherwise, and for a gzip file (no end to seek to: the pass pays its
/// decompression), one pass first.
fn text_plan(cfg: &DataConfig, file: &Path) -> Result<Plan, DataError> {
    let (raw, layout) = RawReader::open(cfg, file)?;
    let tail_ok = layout.has_day
        && cfg.split == SplitKind::Paper
        && cfg.max_bad_rows == 0
        && cfg.max_rows.is_none()
        && !raw.is_gzip();
    if let (true, Some(col)) = (tail_ok, hour_column(&layout)) {
        if let Some(d) = last_line_day(file, col, layout.delimiter, layout.header)? {
            return Ok(Plan {
                n_lines: 0,
                last_day: d,
                from_tail: true,
            });
        }
    }
    scan_plan(cfg, file)
}

/// The column of the `hour` cell, if the layout has one.
fn hour_column(layout: &Layout) -> Option<usize> {
    layout
        .roles
        .iter()
        .position(|r| matches!(r, Role::HourOfDay { .. }))
}

/// One pass over a text file for the split plan (line count; Avazu's last day).
fn scan_plan(cfg: &DataConfig, file: &Path) -> Result<Plan, DataError> {
    let (mut raw, layout) = RawReader::open(cfg, file)?;
    // Only the by-day rule needs days; the others only count lines.
    let need_day = layout.has_day && cfg.split == SplitKind::Paper;
    if need_day && cfg.max_bad_rows == 0 {
        return scan_days(&layout, file);
    }
    let mut b = Batch::default();
    start_batch(&mut b, &layout.info);
    let mut last_day = 0;
    loop {
        if b.len >= 4096 {
            start_batch(&mut b, &layout.info);
        }
        // Counting lines needs no parsing; the day does.
        match raw.next(&mut b, |_| if need_day { Pre::Parse } else { Pre::Skip })? {
            Next::Row { day, .. } => last_day = last_day.max(day),
            Next::Skipped => {}
            Next::End => break,
        }
    }
    Ok(Plan {
        n_lines: raw.lines_seen(),
        last_day,
        from_tail: false,
    })
}

/// The last day from the `hour` cells alone: no hashing, no other column
/// parsed, so the pass costs about a line split. Exact when no row is bad:
/// with `max_bad_rows = 0` a bad row stops the training pass anyway (with
/// its line), so a row skipped here never counts. `n_lines` is not needed
/// by the by-day rule.
fn scan_days(layout: &Layout, file: &Path) -> Result<Plan, DataError> {
    let Some(col) = hour_column(layout) else {
        return Ok(Plan {
            n_lines: 0,
            last_day: 0,
            from_tail: false,
        });
    };
    let mut lines = LineReader::open(file)?;
    if layout.header {
        lines.skip_line()?;
    }
    let mut last_day = 0;
    while let Some(line) = lines.next_line()? {
        if let Some(day) = hour_day(line, col, layout.delimiter) {
            last_day = last_day.max(day);
        }
    }
    Ok(Plan {
        n_lines: 0,
        last_day,
        from_tail: false,
    })
}

fn file_for(cfg: &DataConfig, split: Split) -> Result<(PathBuf, bool), DataError> {
    let (train, test) = input_files(cfg)?;
    let by_file = split_by_file(cfg, &test);
    let file = match (split, by_file) {
        (Split::Valid, _) if cfg.valid_path.is_some() => {
            cfg.valid_path.clone().expect("checked by the guard")
        }
        (Split::Test, true) => {
            test.ok_or_else(|| DataError::Config("the split is by file: set `test`".into()))?
        }
        _ => train,
    };
    // Before anything looks at it (cache identity, schema probe): a pipe
    // would block or be consumed by the first of several passes.
    super::lines::check_regular(&file)?;
    Ok((file, by_file))
}

/// A source without the min_count / bucket mapping.
fn open_plain(
    cfg: &DataConfig,
    split: Split,
    batch_size: usize,
) -> Result<Box<dyn BatchSource>, DataError> {
    let (file, by_file) = file_for(cfg, split)?;
    if cfg.cache {
        match cache::ensure(cfg, &file) {
            Ok((path, meta, _layout)) => {
                let plan = || {
                    Ok(Plan {
                        n_lines: meta.n_lines,
                        last_day: meta.last_day,
                        from_tail: false,
                    })
                };
                let rule = rule_for(cfg, split, by_file, &plan)?;
                let filter = RowFilter::new(rule, cfg.sample_rate, cfg.max_rows)
                    .with_carve(carve_for(cfg, split));
                return Ok(Box::new(CacheSource::open(
                    &path, meta, filter, batch_size,
                )?));
            }
            // A cache that cannot be written (read-only disk, ...) must not stop
            // a run: say so and read the text.
            Err(e @ DataError::Cache { .. }) => eprintln!("warning: {e}; reading without a cache"),
            Err(e) => return Err(e),
        }
    }
    let (mut raw, layout) = RawReader::open(cfg, &file)?;
    let filter = |rule| {
        RowFilter::new(rule, cfg.sample_rate, cfg.max_rows).with_carve(carve_for(cfg, split))
    };
    // A row-order cut of a plain file: the lines are counted while the
    // reader streams (a gzip file is counted in a pass first: its
    // decompression, once more).
    let whole_file = by_file || (split == Split::Valid && cfg.valid_path.is_some());
    if let (false, Some(cut), false) = (whole_file, row_cut(cfg), raw.is_gzip()) {
        let train_side = split != Split::Test;
        if !train_side {
            // The training pass found the cut: no count, no lines before it.
            if let Some(start) = seek_test_start(&mut raw, Boundary::Cut(cut), None)? {
                let rule = SplitRule::IdxFrom(start.idx);
                return Ok(Box::new(TextSource::new(
                    raw,
                    &layout,
                    filter(rule),
                    batch_size,
                )));
            }
        }
        let counter = LineCounter::spawn(&file, layout.header)?;
        let src = TextSource::new(raw, &layout, filter(SplitRule::All), batch_size)
            .with_line_cut(counter, cut, train_side);
        return Ok(Box::new(src));
    }
    let from_tail = std::cell::Cell::new(false);
    let plan = || {
        let p = text_plan(cfg, &file)?;
        from_tail.set(p.from_tail);
        Ok(p)
    };
    let rule = rule_for(cfg, split, by_file, &plan)?;
    if let (SplitRule::DayBelow(d) | SplitRule::DayIs(d), Some(col), 0) =
        (rule, hour_column(&layout), cfg.max_bad_rows)
    {
        raw.day_gate = Some(DayGate {
            col,
            delimiter: layout.delimiter,
            rule,
            last_line_day: from_tail.get().then_some(d),
        });
        if let SplitRule::DayBelow(_) = rule {
            raw.watch = Some(Watch::new(Boundary::Day(d)));
        } else {
            let cell = ((col, layout.delimiter), d);
            seek_test_start(&mut raw, Boundary::Day(d), Some(cell))?;
        }
    }
    Ok(Box::new(TextSource::new(
        raw,
        &layout,
        filter(rule),
        batch_size,
    )))
}

/// Move `raw` to the start of the test side that a training pass over the
/// same, unchanged plain file noted under `boundary` (checked against the
/// bytes first, `day`: the test day's line and the one before it), if any.
fn seek_test_start(
    raw: &mut RawReader,
    boundary: Boundary,
    day: Option<(DayCell, u32)>,
) -> Result<Option<TestStart>, DataError> {
    if raw.is_gzip() {
        return Ok(None); // no offset to seek to: the test pass streams
    }
    let Some(start) = teststart::recall(raw.opened(), boundary) else {
        return Ok(None);
    };
    if !teststart::verify(raw.file(), start, day)? {
        return Ok(None);
    }
    raw.seek(start)?;
    Ok(Some(start))
}

/// Open one split of the data as a stream of batches of `batch_size` samples
/// (the last one shorter).
pub fn open(
    cfg: &DataConfig,
    split: Split,
    batch_size: usize,
) -> Result<Box<dyn BatchSource>, DataError> {
    cfg.check()?;
    let frequent = if cfg.min_count > 0 {
        Some(Arc::new(frequent_set(cfg)?))
    } else {
        None
    };
    open_checked(cfg, split, batch_size, frequent)
}

/// `open` with the `min_count` rule's frequent keys given rather than
/// counted from the train split (a served model carries its own), or None
/// for no rare-feature mapping.
pub fn open_with_frequent(
    cfg: &DataConfig,
    split: Split,
    batch_size: usize,
    frequent: Option<Arc<KeySet>>,
) -> Result<Box<dyn BatchSource>, DataError> {
    cfg.check()?;
    open_checked(cfg, split, batch_size, frequent)
}

/// `open_with_frequent` on a config already checked (checked once per open).
fn open_checked(
    cfg: &DataConfig,
    split: Split,
    batch_size: usize,
    frequent: Option<Arc<KeySet>>,
) -> Result<Box<dyn BatchSource>, DataError> {
    let src = open_plain(cfg, split, batch_size)?;
    if frequent.is_none() && cfg.buckets.is_none() {
        return Ok(src);
    }
    Ok(Box::new(MappedSource::new(src, frequent, cfg.buckets)))
}

/// The keys seen at least `min_count` times in the train split (cached).
pub fn frequent_set(cfg: &DataConfig) -> Result<KeySet, DataError> {
    let (file, by_file) = file_for(cfg, Split::Train)?;
    // The content, not size and mtime: an edit that keeps both must not
    // reuse the keys counted from the old file.
    let content = super::fingerprint::fingerprint(&file)?.xxh3;
    let canon = std::fs::canonicalize(&file).unwrap_or(file.clone());
    // Everything that changes which train rows are counted, or how they are encoded.
    let id = format!(
        "{}|{content:016x}|{:?}|{:?}|{:?}|{}|{by_file}|{:?}|{}|{:?}|{}|{:?}|{}",
        canon.display(),
        cfg.format,
        cfg.split,
        cfg.criteo_integers,
        cfg.ipinyou_usertag,
        cfg.schema,
        cfg.train_fraction,
        cfg.max_rows,
        cfg.sample_rate,
        cfg.min_count,
        cfg.valid_fraction,
    );
    let path = cfg.cache_dir().join(format!(
        "mincount-{:016x}.keys",
        xxhash_rust::xxh3::xxh3_64(id.as_bytes())
    ));
    if cfg.cache {
        if let Some(k) = load_keys(&path) {
            return Ok(k);
        }
    }
    let mut src = open_plain(cfg, Split::Train, 1 << 16)?;
    let keys = frequent_keys(src.as_mut(), cfg.min_count)?;
    if cfg.cache {
        if let Err(e) = save_keys(&path, &keys) {
            eprintln!("warning: {e}");
        }
    }
    Ok(keys)
}

/// What the model sees of the train data, from the config and the train
/// file's header alone: no pass over the rows, no cache build.
pub fn schema_of(cfg: &DataConfig) -> Result<SchemaInfo, DataError> {
    cfg.check()?;
    let (file, _) = file_for(cfg, Split::Train)?;
    let (_, layout) = RawReader::open(cfg, &file)?;
    Ok(layout.info)
}

/// Number of samples the split yields, when the cache's meta answers it
/// without a pass over the rows (a cache on, no sampling); None otherwise.
/// Builds the cache when it is missing: the pass `open` would make anyway.
pub fn known_rows(cfg: &DataConfig, split: Split) -> Result<Option<u64>, DataError> {
    // A validation carve-out drops lines by hash: only a pass counts them.
    if !(cfg.cache && cfg.sample_rate >= 1.0 && carve_for(cfg, split) == Carve::None) {
        return Ok(None);
    }
    let (file, by_file) = file_for(cfg, split)?;
    let Ok((_, meta, _)) = cache::ensure(cfg, &file) else {
        return Ok(None);
    };
    let plan = || {
        Ok(Plan {
            n_lines: meta.n_lines,
            last_day: meta.last_day,
            from_tail: false,
        })
    };
    let rule = rule_for(cfg, split, by_file, &plan)?;
    let bad_below = |b: u64| meta.bad_idx.partition_point(|&i| i < b) as u64;
    let n = match rule {
        SplitRule::All => meta.n_rows,
        SplitRule::IdxBelow(b) => b.min(meta.n_lines) - bad_below(b),
        SplitRule::IdxFrom(b) => meta.n_rows - (b.min(meta.n_lines) - bad_below(b)),
        SplitRule::DayBelow(d) => meta.day_rows.iter().filter(|x| x.0 < d).map(|x| x.1).sum(),
        SplitRule::DayIs(d) => meta.day_rows.iter().filter(|x| x.0 == d).map(|x| x.1).sum(),
        SplitRule::HashBelow(_) | SplitRule::HashFrom(_) => {
            // One hash per line: ~20 ms per million lines.
            let f = RowFilter::new(rule, 1.0, None);
            let kept = |i: &u64| f.pre(*i) == Pre::Parse;
            let lines = (0..meta.n_lines).filter(kept).count();
            (lines - meta.bad_idx.iter().filter(|i| kept(i)).count()) as u64
        }
    };
    Ok(Some(cfg.max_rows.map_or(n, |m| n.min(m))))
}

/// Number of samples the split yields (exact; the cache's meta when it
/// answers, else a pass over the rows).
pub fn count_rows(cfg: &DataConfig, split: Split) -> Result<u64, DataError> {
    cfg.check()?;
    if let Some(n) = known_rows(cfg, split)? {
        return Ok(n);
    }
    let mut src = open_plain(cfg, split, 1 << 16)?;
    let mut b = Batch::default();
    while src.next_batch(&mut b)? {}
    Ok(src.rows_read())
}

/// Every row of `file` straight from the text (for `data inspect`).
pub fn open_text_all(
    cfg: &DataConfig,
    file: &Path,
    batch_size: usize,
) -> Result<TextSource, DataError> {
    let (raw, layout) = RawReader::open(cfg, file)?;
    Ok(TextSource::new(
        raw,
        &layout,
        RowFilter::new(SplitRule::All, 1.0, cfg.max_rows),
        batch_size,
    ))
}

/// Every batch of `split`, read to the end (tests of the split rules).
#[cfg(test)]
pub(crate) fn read_batches(
    cfg: &DataConfig,
    split: Split,
    batch_size: usize,
) -> Result<Vec<Batch>, DataError> {
    let mut src = open(cfg, split, batch_size)?;
    let mut out = Vec::new();
    let mut b = Batch::default();
    while src.next_batch(&mut b)? {
        out.push(b.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Format;

    /// The hour-only scan finds the same last day as the full parse, on a
    /// file whose days are out of order (the maximum sits mid-file), with a
    /// CRLF line and a row without a final newline.
    #[test]
    fn day_scan_equals_the_full_parse() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("train.csv");
        let header = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";
        let row = |hour: &str| {
            format!("1,0,{hour},1005,0,a,b,c,d,e,f,g,h,i,1,0,15706,320,50,1722,0,35,-1,79")
        };
        let text = format!(
            "{header}\n{}\n{}\r\n{}\n{}",
            row("14102100"),
            row("14102923"),
            row("14102205"),
            row("14102301")
        );
        std::fs::write(&file, text).unwrap();
        let mut cfg = DataConfig::for_file(crate::data::Format::Avazu, &file);
        cfg.cache = false;
        let fast = scan_plan(&cfg, &file).unwrap();
        // max_bad_rows > 0 takes the full parse.
        cfg.max_bad_rows = 1;
        let full = scan_plan(&cfg, &file).unwrap();
        assert_eq!((fast.last_day, full.last_day), (141029, 141029));
    }

    /// An Avazu file of one row per `hours` entry (clicks and C1 vary, so
    /// rows are told apart).
    fn avazu_file(dir: &Path, hours: &[&str]) -> PathBuf {
        let file = dir.join("t.csv");
        let mut text = String::from("id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21\n");
        for (i, h) in hours.iter().enumerate() {
            text += &format!(
                "{i},{},{h},100{i},0,a,b,c,d,e,f,g,h,i,1,0,15706,320,50,1722,0,35,-1,79\n",
                i % 2
            );
        }
        std::fs::write(&file, text).unwrap();
        file
    }

    fn read_all(cfg: &DataConfig, split: Split) -> Result<Vec<Batch>, DataError> {
        read_batches(cfg, split, 2)
    }

    /// Without a cache the last line's day places the split; on a file
    /// whose last-day rows are spread through it (not only at the end),
    /// both sides hold exactly the rows of the old rule (the maximum day
    /// over every row, as the cache's build pass finds it).
    #[test]
    fn the_last_lines_day_splits_as_the_maximum_day_does() {
        let dir = tempfile::tempdir().unwrap();
        let hours = [
            "14102100", "14102301", "14102205", "14102323", "14102100", "14102302",
        ];
        let file = avazu_file(dir.path(), &hours);
        let mut text = DataConfig::for_file(Format::Avazu, &file);
        text.cache = false;
        let mut cached = text.clone();
        cached.cache = true;
        cached.cache_dir = Some(dir.path().join("cache"));
        for split in [Split::Train, Split::Test] {
            let (a, b) = (
                read_all(&text, split).unwrap(),
                read_all(&cached, split).unwrap(),
            );
            assert_eq!(a, b, "{split:?}");
            let n: usize = a.iter().map(|b| b.len).sum();
            assert_eq!(n, 3, "{split:?}");
        }
        let test = read_all(&text, Split::Test).unwrap();
        assert_eq!(test[0].labels, [1.0, 1.0]); // rows 1 and 3
        assert_eq!(test[1].labels, [1.0]); // row 5
    }

    /// A file whose last line is not on its last day stops, naming the
    /// line with the later day, in the training pass and the test pass;
    /// with a cache it splits by the maximum day.
    #[test]
    fn an_unsorted_file_stops_at_a_day_after_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let hours = ["14102100", "14102923", "14102205", "14102301"];
        let file = avazu_file(dir.path(), &hours);
        let mut cfg = DataConfig::for_file(Format::Avazu, &file);
        cfg.cache = false;
        for split in [Split::Train, Split::Test] {
            let e = read_all(&cfg, split).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "{}: line 3: day 141029 comes after 141023, the day of the file's last line",
                    file.display()
                )),
                "{e}"
            );
        }
        cfg.cache = true;
        cfg.cache_dir = Some(dir.path().join("cache"));
        let test = read_all(&cfg, Split::Test).unwrap();
        assert_eq!(test.iter().map(|b| b.len).sum::<usize>(), 1);
    }

    /// The row-order cuts decided while a thread counts the lines (Criteo's
    /// paper split, `fraction`) give each side exactly the rows of the cut
    /// of the whole count (the cache's meta answers that one), the last
    /// line without its newline included.
    #[test]
    fn a_cut_counted_while_streaming_equals_the_cut_of_the_whole_count() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.txt");
        let rows: Vec<String> = (0..23)
            .map(|i| {
                let ints = (0..13).map(|j| (i * j % 5).to_string());
                let cats = (0..26).map(|j| format!("{:08x}", i * 31 + j));
                std::iter::once((i % 2).to_string())
                    .chain(ints)
                    .chain(cats)
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect();
        std::fs::write(&file, rows.join("\n")).unwrap();
        for (split, fraction, n_train) in [
            (SplitKind::Paper, None, 19), // floor(23 * 6 / 7)
            (SplitKind::Fraction, Some(0.5), 11),
        ] {
            let mut text = DataConfig::for_file(Format::Criteo, &file);
            (text.cache, text.split) = (false, split);
            if let Some(f) = fraction {
                text.train_fraction = f;
            }
            let mut cached = text.clone();
            cached.cache = true;
            cached.cache_dir = Some(dir.path().join("cache"));
            for (side, n) in [(Split::Train, n_train), (Split::Test, 23 - n_train)] {
                let a = read_all(&text, side).unwrap();
                assert_eq!(a, read_all(&cached, side).unwrap(), "{split:?} {side:?}");
                assert_eq!(
                    a.iter().map(|b| b.len).sum::<usize>(),
                    n,
                    "{split:?} {side:?}"
                );
            }
        }
    }
}
