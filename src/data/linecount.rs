//! The line count of a row-order split (Criteo's paper split, `fraction`)
//! without a pass over the file first: a thread counts newlines (memchr,
//! GB/s) while the reader streams. A line below the cut of the lines
//! counted so far is below the file's cut for certain (the cut only grows
//! with the count), so the reader waits only when it catches up with the
//! counter (docs/data.md "Splits").

use super::error::DataError;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Bytes counted between two reports to the reader.
const CHUNK: usize = 4 << 20;

#[derive(Default)]
struct State {
    /// Data lines counted so far (all of them once `done`).
    lines: u64,
    done: bool,
    err: Option<DataError>,
}

struct Shared {
    state: Mutex<State>,
    more: Condvar,
    cancel: AtomicBool,
}

/// A thread counting the data lines of a plain file.
pub struct LineCounter {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl LineCounter {
    /// Count the lines of `file` (`header`: its first line is not data),
    /// as [`super::lines::LineReader`] splits them: one per `\n`, and a
    /// last one without it.
    pub fn spawn(file: &Path, header: bool) -> Result<Self, DataError> {
        let f = std::fs::File::open(file).map_err(|e| DataError::io(file, e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            more: Condvar::new(),
            cancel: AtomicBool::new(false),
        });
        let (s, path) = (shared.clone(), file.to_path_buf());
        let handle = std::thread::spawn(move || {
            let result = count(f, &path, u64::from(header), &s);
            let mut st = s.state.lock().expect("line counter lock");
            match result {
                Ok(Some(lines)) => (st.lines, st.done) = (lines, true),
                Ok(None) => {} // cancelled
                Err(e) => st.err = Some(e),
            }
            drop(st);
            s.more.notify_all();
        });
        Ok(Self {
            shared,
            handle: Some(handle),
        })
    }

    /// Wait until more than `have` lines are counted or the count is
    /// final; returns (lines counted, final).
    pub fn wait_past(&self, have: u64) -> Result<(u64, bool), DataError> {
        let mut st = self.shared.state.lock().expect("line counter lock");
        loop {
            if let Some(e) = st.err.take() {
                return Err(e);
            }
            if st.done || st.lines > have {
                return Ok((st.lines, st.done));
            }
            st = self.shared.more.wait(st).expect("line counter lock");
        }
    }
}

/// The data lines of `f`, reporting progress per chunk; None if cancelled.
fn count(
    mut f: std::fs::File,
    path: &Path,
    header: u64,
    s: &Shared,
) -> Result<Option<u64>, DataError> {
    let mut buf = vec![0u8; CHUNK];
    let (mut newlines, mut last) = (0u64, b'\n');
    loop {
        if s.cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DataError::io(path, e)),
        };
        newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        last = buf[n - 1];
        s.state.lock().expect("line counter lock").lines = newlines.saturating_sub(header);
        s.more.notify_all();
    }
    let lines = newlines + u64::from(last != b'\n');
    Ok(Some(lines.saturating_sub(header)))
}

impl Drop for LineCounter {
    fn drop(&mut self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn final_count(text: &[u8], header: bool) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.txt");
        std::fs::write(&f, text).unwrap();
        let c = LineCounter::spawn(&f, header).unwrap();
        let mut have = 0;
        loop {
            let (n, done) = c.wait_past(have).unwrap();
            if done {
                return n;
            }
            have = n;
        }
    }

    /// The count equals the line reader's data lines: empty lines count, a
    /// last line without a newline counts, the header does not.
    #[test]
    fn the_count_equals_the_line_readers() {
        assert_eq!(final_count(b"a\nb\n", false), 2);
        assert_eq!(final_count(b"a\nb", false), 2);
        assert_eq!(final_count(b"a\n\nb\r\n", false), 3);
        assert_eq!(final_count(b"h\na\nb", true), 2);
        assert_eq!(final_count(b"h\n", true), 0);
        assert_eq!(final_count(b"", false), 0);
        let big: Vec<u8> = (0..3 * CHUNK)
            .map(|i| if i % 7 == 0 { b'\n' } else { b'x' })
            .collect();
        let newlines = big.iter().filter(|&&b| b == b'\n').count() as u64;
        // The last byte is not a newline: one more line.
        assert_eq!(final_count(&big, false), newlines + 1);
    }
}
