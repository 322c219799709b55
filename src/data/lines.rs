//! A streaming line reader over a plain or gzip file, detected by content
//! (the gzip magic bytes), never by name. Lines are handed out as byte slices
//! of one reused buffer: nothing is allocated per line.

use super::error::DataError;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const BUF_BYTES: usize = 1 << 20;

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
}

impl LineReader {
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let f = File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut br = BufReader::with_capacity(256 << 10, f);
        let head = br.fill_buf().map_err(|e| DataError::io(path, e))?;
        let gz = head.len() >= 2 && head[..2] == GZIP_MAGIC;
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
            line_no: 0,
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
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        Ok(Some(line))
    }

    /// Skip the next line without looking at it; false at the end.
    pub fn skip_line(&mut self) -> Result<bool, DataError> {
        Ok(self.next_line()?.is_some())
    }
}
