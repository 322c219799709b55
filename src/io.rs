//! Atomic file output, removal that tolerates absent files, and the
//! standard output of the commands (which a closed pipe does not stop).
//!
//! Every result file is written to a temporary sibling, flushed to disk and
//! renamed over the target, so a crash or a full disk mid-write never leaves
//! a truncated metrics file, table or checkpoint behind: readers see either
//! the old file or the complete new one.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Print a line on standard output, like `println!`, which panics when
/// stdout is closed (`ctr-run ... | head -1`). A closed pipe means nobody
/// reads the report any more, not that the work should stop: the rest of
/// the output is dropped quietly and the command finishes (exit status 0).
/// Any other write error is said once on stderr.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::io::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// What `outln!` writes with; see there.
pub fn write_stdout(args: std::fmt::Arguments) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLOSED: AtomicBool = AtomicBool::new(false);
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("warning: standard output: {e}; the rest of the report is not printed");
        }
    }
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Write `path` atomically from a closure that streams into a buffered
/// writer (for large outputs such as predictions).
pub fn write_atomic_with<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    let result = AtomicFile::create(path).and_then(|mut f| {
        fill(&mut f.w)?;
        f.commit()
    });
    result.map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
}

/// A file being written under its temporary sibling name. [`commit`]
/// flushes, fsyncs and renames it over the target; dropped without a
/// commit (an error, a panic) it removes the temporary, so the target is
/// either untouched or complete. Errors are the bare OS errors: the caller
/// names the file once, in its own error type.
///
/// [`commit`]: AtomicFile::commit
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    w: BufWriter<File>,
    committed: bool,
}

impl AtomicFile {
    /// Create the temporary beside `path` (the folder must exist).
    pub fn create(path: &Path) -> io::Result<Self> {
        let tmp = temp_sibling(path);
        let file = File::create(&tmp)?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            w: BufWriter::with_capacity(1 << 20, file),
            committed: false,
        })
    }

    /// Flush to disk and rename over the target.
    pub fn commit(mut self) -> io::Result<()> {
        self.w.flush()?;
        self.w.get_ref().sync_all()?;
        fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.w.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Remove a file, or a folder with everything in it; one that does not
/// exist is already removed, not an error.
pub fn remove_if_present(path: &Path) -> io::Result<()> {
    let removed = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match removed {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r.map_err(|e| io::Error::new(e.kind(), format!("removing {}: {e}", path.display()))),
    }
}

/// Remove the temporaries that killed processes left in `dir` (a SIGKILL
/// mid-write cannot clean up after itself); this process's own are kept.
pub fn remove_stale_temporaries(dir: &Path) -> io::Result<()> {
    let own = format!(".tmp-{}", std::process::id());
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_temporary = name.starts_with('.')
            && name
                .rsplit_once(".tmp-")
                .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if is_temporary && !name.ends_with(&own) {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// `dir/.name.N.tmp-PID`: same directory (so rename is atomic), hidden, and
/// unique per process and per call (N counts), so neither concurrent sweep
/// jobs nor two threads of one process ever share a temporary.
fn temp_sibling(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = N.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{n}.tmp-{}", std::process::id()))
}

/// Whether `a` and `b` are one file: same device and inode, so a symlink or
/// a hard link to a file counts as that file. False if either is missing.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_files_and_folders_and_accepts_absent_ones() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        let d = dir.path().join("sub");
        fs::write(&f, b"x").unwrap();
        fs::create_dir_all(d.join("deeper")).unwrap();
        fs::write(d.join("deeper/b.txt"), b"y").unwrap();
        remove_if_present(&f).unwrap();
        remove_if_present(&d).unwrap();
        assert!(!f.exists() && !d.exists());
        remove_if_present(&f).unwrap();
        remove_if_present(&d).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn replaces_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        write_atomic(&p, b"first version, long").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporaries_of_other_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let own = temp_sibling(&d.join("a.json"));
        for name in [".b.json.tmp-1", ".c.safetensors.tmp-424242"] {
            fs::write(d.join(name), b"partial").unwrap();
        }
        for name in ["keep.json", ".hidden", "x.tmp-12", ".y.tmp-12a"] {
            fs::write(d.join(name), b"kept").unwrap();
        }
        fs::write(&own, b"in progress").unwrap();
        remove_stale_temporaries(d).unwrap();
        let mut left: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let own_name = own.file_name().unwrap().to_str().unwrap().to_owned();
        let mut want = vec![".hidden", ".y.tmp-12a", "keep.json", "x.tmp-12", &own_name];
        want.sort();
        assert_eq!(left, want);
        // An absent folder is nothing to clean.
        remove_stale_temporaries(&d.join("absent")).unwrap();
    }

    #[test]
    fn failed_fill_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"));
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_file_dropped_uncommitted_leaves_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.bin");
        write_atomic(&p, b"old").unwrap();
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
