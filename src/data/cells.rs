//! RFC-4180 cells of a custom file's line: a field in double quotes may hold
//! the delimiter, and `""` inside it is one quote. Presets never come here
//! (their raw files have no quoting; they are split at the delimiter byte),
//! and a custom line without a `"` takes the same byte split, so only lines
//! that quote pay for the `csv` crate. A quoted field cannot span lines.

use super::error::QuotingError;

/// Whether `line` of a file whose layout reads quotes needs the quoted split.
#[inline]
pub(crate) fn needs_unquoting(quoted: bool, line: &[u8]) -> bool {
    quoted && memchr::memchr(b'"', line).is_some()
}

/// The cells of one line (without its line end), unquoted.
pub(crate) fn split_quoted(line: &[u8], delimiter: u8) -> Result<csv::ByteRecord, QuotingError> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .buffer_capacity(line.len().max(64))
        .from_reader(line);
    let mut rec = csv::ByteRecord::new();
    match rd.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => rec.push_field(b""),
        Err(e) => return Err(QuotingError::Csv(e.to_string())),
    }
    // A second record means a bare `\r` inside the line (the reader ends
    // records there): refused rather than read as two rows.
    let mut rest = csv::ByteRecord::new();
    if matches!(rd.read_byte_record(&mut rest), Ok(true)) {
        return Err(QuotingError::CarriageReturn);
    }
    Ok(rec)
}

/// The column names of a header line: unquoted when `quoted`, else split at
/// the delimiter.
pub(crate) fn header_cells(
    line: &str,
    delimiter: u8,
    quoted: bool,
) -> Result<Vec<String>, QuotingError> {
    if needs_unquoting(quoted, line.as_bytes()) {
        let rec = split_quoted(line.as_bytes(), delimiter)?;
        Ok(rec
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect())
    } else {
        Ok(line.split(delimiter as char).map(str::to_string).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_delimiters_and_escaped_quotes() {
        let rec = split_quoted(br#"1,"a,b",c,"say ""hi""""#, b',').unwrap();
        let cells: Vec<&[u8]> = rec.iter().collect();
        assert_eq!(cells, vec![&b"1"[..], b"a,b", b"c", br#"say "hi""#]);
        let rec = split_quoted(b"x\t\"p\tq\"\t", b'\t').unwrap();
        assert_eq!(rec.len(), 3);
        assert_eq!(&rec[1], b"p\tq");
        assert_eq!(&rec[2], b"");
    }

    #[test]
    fn only_quoted_custom_lines_unquote() {
        assert!(needs_unquoting(true, br#"a,"b""#));
        assert!(!needs_unquoting(true, b"a,b"));
        assert!(!needs_unquoting(false, br#"a,"b""#));
    }
}
