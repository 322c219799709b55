//! A streaming line reader over a plain or gzip file, detected by content
//! (the gzip magic bytes), never by name. Lines are handed out as byte slices
//! of one reused buffer: nothing is allocated per line. Inputs it cannot
//! read correctly are refused at open: pipes and devices (read more than
//! once, they would hang or differ), and the other compressed formats.

use super::error::DataError;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const BUF_BYTES: usize = 1 << 20;
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Refuse what is not a regular file, before opening it: opening a FIFO
/// blocks until a writer comes, and every input is read more than once
/// (schema, split plan, cache, passes), which a pipe or device cannot give.
pub fn check_regular(path: &Path) -> Result<(), DataError> {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .file_type();
    let why = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "is a directory, not a data file"
    } else if t.is_fifo() {
        "is a FIFO/pipe; ctr-run reads its input more than once (schema, split, passes): write it to a file first"
    } else if t.is_socket() {
        "is a socket; ctr-run reads its input more than once (schema, split, passes): write it to a file first"
    } else if t.is_char_device() || t.is_block_device() {
        "is a device; ctr-run reads its input more than once (schema, split, passes): write it to a file first"
    } else {
        "is not a regular file"
    };
    Err(DataError::NotAFile {
        file: path.to_path_buf(),
        why,
    })
}

/// The compressed format whose magic bytes start `head`, other than gzip.
fn other_compression(head: &[u8]) -> Option<&'static str> {
    const MAGICS: [(&[u8], &str); 8] = [
        (b"\xfd7zXZ\x00", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"PK\x03\x04", "zip"),
        (b"PK\x05\x06", "zip"),
        (b"PK\x07\x08", "zip"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"\x04\x22\x4d\x18", "lz4"),
        (b"\x02\x21\x4c\x18", "lz4"),
    ];
    if let Some((_, kind)) = MAGICS.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(kind);
    }
    // bzip2: "BZh", the block size digit, then the magic of a block (pi) or
    // of the end of the stream (sqrt pi); six bytes, so a text line that
    // merely starts with "BZh" is not taken for it.
    match head {
        [b'B', b'Z', b'h', b'1'..=b'9', rest @ ..]
            if rest.starts_with(b"\x31\x41\x59\x26\x53\x59")
                || rest.starts_with(b"\x17\x72\x45\x38\x50\x90") =>
        {
            Some("bzip2")
        }
        _ => None,
    }
}

pub struct LineReader {
    file: PathBuf,
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    gz: bool,
    /// 1-based number of the last line handed out (0 before the first).
    pub line_no: u64,
    /// Byte offset in the (decompressed) stream of `buf[0]`.
    buf_pos: u64,
}

impl LineReader {
    pub fn open(path: &Path) -> Result<Self, DataError> {
        Self::open_at(path, 0, 0)
    }

    /// Open a plain file at byte `pos`, the start of line `line_no + 1`
    /// (the caller knows both: [`super::teststart`]); `pos` 0 is the start.
    pub fn open_at(path: &Path, pos: u64, line_no: u64) -> Result<Self, DataError> {
        use std::io::{Seek, SeekFrom};
        check_regular(path)?;
        let mut f = File::open(path).map_err(|e| DataError::io(path, e))?;
        if pos > 0 {
            f.seek(SeekFrom::Start(pos))
                .map_err(|e| DataError::io(path, e))?;
        }
        let mut br = BufReader::with_capacity(256 << 10, f);
        let head = br.fill_buf().map_err(|e| DataError::io(path, e))?;
        // Mid-file the head is a line of a plain file (the caller checked).
        if let Some(kind) = other_compression(head).filter(|_| pos == 0) {
            return Err(DataError::Compressed {
                file: path.to_path_buf(),
                kind,
            });
        }
        let gz = pos == 0 && head.len() >= 2 && head[..2] == GZIP_MAGIC;
        let inner: Box<dyn Read + Send> = if gz {
            Box::new(MultiGzDecoder::new(br))
        } else {
            Box::new(br)
        };
        Ok(Self {
            file: path.to_path_buf(),
            inner,
            buf: vec![0; BUF_BYTES],
            start: 0,
            end: 0,
            eof: false,
            gz,
            line_no,
            buf_pos: pos,
        })
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn is_gzip(&self) -> bool {
        self.gz
    }

    fn fill(&mut self) -> Result<(), DataError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.buf_pos += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // A line longer than the buffer: grow (rare; amortized).
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if self.gz => {
                    return Err(DataError::Gzip {
                        file: self.file.clone(),
                        line: self.line_no + 1,
                        msg: e.to_string(),
                    })
                }
                Err(e) => return Err(DataError::io(&self.file, e)),
            }
        }
    }

    /// The next line without its `\n` (and `\r`), or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, DataError> {
        let range = loop {
            if let Some(p) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let r = self.start..self.start + p;
                self.start += p + 1;
                break r;
            }
            if self.eof {
                if self.start < self.end {
                    // Last line without a final newline.
                    let r = self.start..self.end;
                    self.start = self.end;
                    break r;
                }
                return Ok(None);
            }
            self.fill()?;
        };
        self.line_no += 1;
        let mut line = &self.buf[range];
        if self.line_no == 1 {
            // A UTF-8 byte order mark (editors on Windows write one) is not
            // part of the first column's name or value.
            line = line.strip_prefix(UTF8_BOM).unwrap_or(line);
        }
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        Ok(Some(line))
    }

    /// Byte offset of the next line, in the decompressed stream (the
    /// file's own offset for a plain file).
    #[inline]
    pub fn next_pos(&self) -> u64 {
        self.buf_pos + self.start as u64
    }

    /// Skip the next line without looking at it; false at the end.
    pub fn skip_line(&mut self) -> Result<bool, DataError> {
        Ok(self.next_line()?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_formats_by_magic() {
        assert_eq!(other_compression(b"BZh91AY&SYxx"), Some("bzip2"));
        assert_eq!(
            other_compression(b"BZh9\x17\x72\x45\x38\x50\x90"),
            Some("bzip2")
        );
        assert_eq!(other_compression(b"BZh9,x\n"), None);
        assert_eq!(other_compression(b"BZh"), None);
        assert_eq!(other_compression(b"\xfd7zXZ\x00\x00"), Some("xz"));
        assert_eq!(other_compression(b"\x28\xb5\x2f\xfd"), Some("zstd"));
        assert_eq!(other_compression(b"PK\x03\x04"), Some("zip"));
        assert_eq!(other_compression(b"7z\xbc\xaf\x27\x1c"), Some("7z"));
        assert_eq!(other_compression(b"\x04\x22\x4d\x18"), Some("lz4"));
        assert_eq!(other_compression(b"\x1f\x8b\x08"), None);
        assert_eq!(other_compression(b"id,click,hour"), None);
        assert_eq!(other_compression(b""), None);
    }

    #[test]
    fn bom_is_skipped_on_the_first_line_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.csv");
        std::fs::write(&p, b"\xef\xbb\xbfa,b\r\n\xef\xbb\xbfc\n").unwrap();
        let mut r = LineReader::open(&p).unwrap();
        assert_eq!(r.next_line().unwrap(), Some(&b"a,b"[..]));
        assert_eq!(r.next_line().unwrap(), Some(&b"\xef\xbb\xbfc"[..]));
        assert_eq!(r.next_line().unwrap(), None);
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            check_regular(dir.path()).unwrap_err().to_string(),
            format!("{}: is a directory, not a data file", dir.path().display())
        );
        assert!(check_regular(Path::new("/dev/null"))
            .unwrap_err()
            .to_string()
            .ends_with("/dev/null: is a device; ctr-run reads its input more than once (schema, split, passes): write it to a file first"));
        assert_eq!(
            check_regular(&dir.path().join("absent"))
                .unwrap_err()
                .to_string(),
            format!("{}: file not found", dir.path().join("absent").display())
        );
    }
}
