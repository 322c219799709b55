//! Result tables rendered three ways: Markdown (README, results/), LaTeX
//! (booktabs, for the paper) and CSV (spreadsheets, scripts).
//!
//! A [`Table`] holds already-formatted cells: formatting numbers is the
//! caller's choice, made with the helpers below ([`fmt_mean_std`],
//! [`fmt_p_value`], [`best_indices`]) so every table prints them alike.
//! Bold is a property of a cell, not of its text, so each format renders it
//! its own way (`**x**`, `\textbf{x}`, plain in CSV).

use std::fmt::Write as _;
use std::path::Path;

/// Why a table could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("row {row} has {got} cells but the table has {want} columns")]
    RowWidth { row: usize, got: usize, want: usize },
    #[error("csv")]
    Csv(#[from] csv::Error),
    #[error("writing {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Horizontal alignment of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    Center,
}

/// One table cell: text, optionally bold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub bold: bool,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            bold: false,
        }
    }

    pub fn bold(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            bold: true,
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::new(s)
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::new(s)
    }
}

/// A titled table with column headers, rows and notes (the notes name the
/// statistical test used, the number of repeats, what bold means...).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    /// One per column; the default is left for the first column, right for
    /// the others (labels, then numbers).
    pub align: Vec<Align>,
    pub rows: Vec<Vec<Cell>>,
    pub notes: Vec<String>,
    /// The numbers behind the cells, long and numeric: what `write_all`
    /// puts in the CSV when set (the formatted cells stay in md / tex).
    pub long: Option<LongCsv>,
}

/// A long CSV: one row per observation, numbers as numbers (empty where
/// undefined), for pandas / R rather than for reading.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LongCsv {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl LongCsv {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; it must have one value per column.
    pub fn push(&mut self, row: Vec<String>) -> Result<(), TableError> {
        check_width(self.rows.len(), row.len(), self.headers.len())?;
        self.rows.push(row);
        Ok(())
    }

    pub fn to_csv(&self) -> Result<String, TableError> {
        csv_text(
            &self.headers,
            self.rows.iter().map(|r| r.iter().map(String::as_str)),
        )
    }
}

/// Header then rows, RFC 4180 quoting via the csv crate, `\n` line ends.
fn csv_text<'a, R, I>(headers: &[String], rows: R) -> Result<String, TableError>
where
    R: Iterator<Item = I>,
    I: Iterator<Item = &'a str>,
{
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(headers)?;
    for row in rows {
        w.write_record(row)?;
    }
    let bytes = w.into_inner().map_err(|e| TableError::Io {
        path: "<memory>".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    // Every input was a &str, so the output is valid UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl Table {
    pub fn new<S: Into<String>>(
        title: impl Into<String>,
        headers: impl IntoIterator<Item = S>,
    ) -> Self {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let align = (0..headers.len())
            .map(|i| if i == 0 { Align::Left } else { Align::Right })
            .collect();
        Self {
            title: title.into(),
            headers,
            align,
            rows: Vec::new(),
            notes: Vec::new(),
            long: None,
        }
    }

    /// Appends a row; it must have one cell per column.
    pub fn push_row<C: Into<Cell>>(
        &mut self,
        cells: impl IntoIterator<Item = C>,
    ) -> Result<(), TableError> {
        let row: Vec<Cell> = cells.into_iter().map(Into::into).collect();
        check_width(self.rows.len(), row.len(), self.headers.len())?;
        self.rows.push(row);
        Ok(())
    }

    pub fn push_note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// GitHub-flavoured Markdown: a `###` title, the table, then the notes
    /// as paragraphs.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        if !self.title.is_empty() {
            let _ = writeln!(out, "### {}\n", md_escape(&self.title));
        }
        let header: Vec<String> = self.headers.iter().map(|h| md_escape(h)).collect();
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let rule: Vec<&str> = self
            .align
            .iter()
            .map(|a| match a {
                Align::Left => ":---",
                Align::Right => "---:",
                Align::Center => ":---:",
            })
            .collect();
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| {
                    let t = md_escape(&c.text);
                    if c.bold && !t.is_empty() {
                        format!("**{t}**")
                    } else {
                        t
                    }
                })
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        for note in &self.notes {
            let _ = write!(out, "\n{}\n", md_escape(note));
        }
        out
    }

    /// A LaTeX `table` float with a booktabs `tabular` (needs
    /// `\usepackage{booktabs}`); the title is the caption, notes follow the
    /// tabular in footnote size.
    pub fn to_latex(&self) -> String {
        let mut out = String::new();
        let spec: String = self
            .align
            .iter()
            .map(|a| match a {
                Align::Left => 'l',
                Align::Right => 'r',
                Align::Center => 'c',
            })
            .collect();
        out.push_str("\\begin{table}[ht]\n\\centering\n");
        if !self.title.is_empty() {
            let _ = writeln!(out, "\\caption{{{}}}", latex_escape(&self.title));
        }
        let _ = writeln!(out, "\\begin{{tabular}}{{{spec}}}");
        out.push_str("\\toprule\n");
        let header: Vec<String> = self.headers.iter().map(|h| latex_escape(h)).collect();
        let _ = writeln!(out, "{} \\\\", header.join(" & "));
        out.push_str("\\midrule\n");
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| {
                    let t = latex_escape(&c.text);
                    if c.bold && !t.is_empty() {
                        format!("\\textbf{{{t}}}")
                    } else {
                        t
                    }
                })
                .collect();
            let _ = writeln!(out, "{} \\\\", cells.join(" & "));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        for note in &self.notes {
            let _ = writeln!(
                out,
                "\\par\\smallskip{{\\footnotesize {}}}",
                latex_escape(note)
            );
        }
        out.push_str("\\end{table}\n");
        out
    }

    /// CSV: the header row then the data rows, quoted where needed (RFC
    /// 4180, via the csv crate). Title, notes and bold have no place in CSV
    /// and are left out.
    pub fn to_csv(&self) -> Result<String, TableError> {
        csv_text(
            &self.headers,
            self.rows.iter().map(|r| r.iter().map(|c| c.text.as_str())),
        )
    }

    /// Writes `stem.md`, `stem.tex` and `stem.csv` (atomically); the CSV
    /// is the long numeric one when set, else the cells.
    pub fn write_all(&self, stem: &Path) -> Result<(), TableError> {
        let csv = match &self.long {
            Some(long) => long.to_csv()?,
            None => self.to_csv()?,
        };
        for (ext, text) in [
            ("md", self.to_markdown()),
            ("tex", self.to_latex()),
            ("csv", csv),
        ] {
            let path = with_extension(stem, ext);
            crate::io::write_atomic(&path, text.as_bytes()).map_err(|source| TableError::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}

/// `stem` + `.ext`, keeping any dots already in the stem (`lambda_1e-3`
/// style names must not lose their tail to `Path::with_extension`).
pub(crate) fn with_extension(stem: &Path, ext: &str) -> std::path::PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    s.into()
}

/// Escapes what Markdown table cells cannot hold raw: `|` (a column break),
/// `\` and newlines.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Escapes LaTeX's special characters (`\ { } $ & % # _ ~ ^`) in text mode,
/// and writes `±` as `$\pm$` so mean ± std cells compile without inputenc
/// tricks.
pub fn latex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '$' => out.push_str("\\$"),
            '&' => out.push_str("\\&"),
            '%' => out.push_str("\\%"),
            '#' => out.push_str("\\#"),
            '_' => out.push_str("\\_"),
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '±' => out.push_str("$\\pm$"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// `x` with `decimals` digits after the point; non-finite values print as
/// `n/a` (a missing run must not show up as a number).
pub fn fmt_fixed(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        // A tiny negative value that rounds to zero prints "0.000", not "-0.000".
        let r = format!("{x:.decimals$}");
        if r.starts_with('-') && r[1..].chars().all(|c| c == '0' || c == '.') {
            r[1..].to_string()
        } else {
            r
        }
    } else {
        "n/a".to_string()
    }
}

/// `mean ± std` with fixed decimals, e.g. `0.7812 ± 0.0003`; without a std
/// (a single run) just the mean.
pub fn fmt_mean_std(mean: f64, std: Option<f64>, decimals: usize) -> String {
    match std {
        Some(s) => format!("{} ± {}", fmt_fixed(mean, decimals), fmt_fixed(s, decimals)),
        None => fmt_fixed(mean, decimals),
    }
}

/// p-values: three decimals from 0.001 up (`0.045`, `1.000`), scientific
/// with two significant digits below (`3.2e-5`), `0` for an exact zero (the
/// zero-variance case), `n/a` for NaN.
pub fn fmt_p_value(p: f64) -> String {
    if p.is_nan() {
        "n/a".to_string()
    } else if p == 0.0 {
        "0".to_string()
    } else if p >= 1e-3 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

/// Which value is best?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// Indices of the best values (all of them when tied), NaN ignored; empty
/// when there is no finite value. Compare the raw numbers, not the rounded
/// text: callers that want "best as printed" round first.
pub fn best_indices(values: &[f64], better: Better) -> Vec<usize> {
    let best = values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .reduce(|a, b| match better {
            Better::Higher => a.max(b),
            Better::Lower => a.min(b),
        });
    match best {
        Some(b) => (0..values.len()).filter(|&i| values[i] == b).collect(),
        None => Vec::new(),
    }
}

/// A row (number `row`) must have one value per column.
fn check_width(row: usize, got: usize, want: usize) -> Result<(), TableError> {
    if got == want {
        Ok(())
    } else {
        Err(TableError::RowWidth { row, got, want })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(fmt_fixed(0.78125, 4), "0.7812"); // round-half-even on the binary value
        assert_eq!(fmt_fixed(-0.00001, 3), "0.000");
        assert_eq!(fmt_fixed(f64::NAN, 3), "n/a");
        assert_eq!(fmt_mean_std(0.78123, Some(0.000345), 4), "0.7812 ± 0.0003");
        assert_eq!(fmt_mean_std(0.5, None, 2), "0.50");
        assert_eq!(fmt_p_value(0.04499), "0.045");
        assert_eq!(fmt_p_value(1.0), "1.000");
        assert_eq!(fmt_p_value(0.001), "0.001");
        assert_eq!(fmt_p_value(0.000_749_317_6), "7.5e-4");
        assert_eq!(fmt_p_value(3.33e-28), "3.3e-28");
        assert_eq!(fmt_p_value(0.0), "0");
        assert_eq!(fmt_p_value(f64::NAN), "n/a");
        assert_eq!(
            best_indices(&[0.7, f64::NAN, 0.8, 0.8], Better::Higher),
            vec![2, 3]
        );
        assert_eq!(best_indices(&[0.7, 0.2, 0.8], Better::Lower), vec![1]);
        assert!(best_indices(&[f64::NAN], Better::Lower).is_empty());
    }
}
