//! Folder locks: one live writer per sweep folder and per run folder, and
//! one maker of a shared file at a time ([`one_at_a_time`]).
//!
//! A lock is flock(2) on a file inside the folder, held as long as the
//! returned [`FolderLock`] lives. The kernel drops it when its holder exits,
//! however it exits (SIGKILL included), so a killed sweep never leaves a
//! lock to clean up by hand. The file records the holder's pid, command
//! and start time, for the refusal message of the next process.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

/// The lock file of a run folder.
pub const RUN_LOCK: &str = ".run.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
    pub path: PathBuf,
}

/// Take the lock file `name` in `dir` (created if missing), or refuse with
/// "DIR is in use by COMMAND pid PID (started N s ago)" if a live process
/// holds it.
pub fn lock_folder(dir: &Path, name: &str) -> Result<FolderLock> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    let mut file =
        open_lock_file(&path).with_context(|| format!("opening lock {}", path.display()))?;
    // SAFETY: flock on a descriptor we own; it touches no memory.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(err).with_context(|| format!("locking {}", path.display()));
        }
        let mut record = String::new();
        let _ = file.read_to_string(&mut record);
        bail!(
            "{} is in use by {}",
            dir.display(),
            describe_holder(&record)
        );
    }
    let command = std::env::args().nth(1).unwrap_or_else(|| "ctr-run".into());
    let record = format!("{} {command} {}\n", std::process::id(), unix_seconds());
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(record.as_bytes())
        .with_context(|| format!("writing lock {}", path.display()))?;
    Ok(FolderLock { _file: file, path })
}

/// Run `work` one process at a time, on the lock file `lock_path`: for a
/// shared file any run may make but only one should (a synthetic input, an
/// encoded cache), when runs start together (a sweep's jobs). `work` checks
/// whether the file is already there and makes it if not; whoever waited
/// then finds it made. Once `work` succeeds the lock file is removed while
/// still held: a run that opens the path later makes a new one and finds
/// the file made. After a failure it stays, so the waiting runs still take
/// turns. The folder is created if missing.
pub fn one_at_a_time<T, E>(
    lock_path: &Path,
    lock_error: impl FnOnce(std::io::Error) -> E,
    work: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let _lock = wait_for_lock(lock_path).map_err(lock_error)?;
    let done = work();
    if done.is_ok() {
        let _ = std::fs::remove_file(lock_path);
    }
    done
}

/// Take the lock file `path` (created, and its folder, if missing), waiting
/// while another process holds it. Released when dropped.
fn wait_for_lock(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = open_lock_file(path)?;
    // SAFETY: flock on a descriptor we own; it touches no memory.
    while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(file)
}

/// A lock file opened for flock, created if missing. Never truncated: a
/// folder lock's holder record must survive another process's open.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// "sweep pid 1234 (started 5 s ago)" from the record "1234 sweep 1700000000".
fn describe_holder(record: &str) -> String {
    let mut parts = record.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(pid), Some(command), Some(started)) => {
            let ago = started
                .parse::<u64>()
                .map(|t| format!("started {} s ago", unix_seconds().saturating_sub(t)))
                .unwrap_or_else(|_| format!("started at {started}"));
            format!("{command} pid {pid} ({ago})")
        }
        // The holder has the lock but has not written its record yet.
        _ => "another ctr-run process (starting up)".into(),
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_record_is_described() {
        let now = unix_seconds();
        assert_eq!(
            describe_holder(&format!("1234 sweep {}\n", now - 7)),
            "sweep pid 1234 (started 7 s ago)"
        );
        assert_eq!(describe_holder(""), "another ctr-run process (starting up)");
    }

    #[test]
    fn a_second_lock_on_one_folder_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_folder(dir.path(), ".lock").unwrap();
        // flock locks belong to the open file description: a second open in
        // the same process conflicts just as another process would.
        let err = lock_folder(dir.path(), ".lock").unwrap_err().to_string();
        let pid = std::process::id();
        assert!(
            err.starts_with(&format!("{} is in use by ", dir.path().display()))
                && err.contains(&format!(" pid {pid} (started ")),
            "{err}"
        );
        drop(first);
        lock_folder(dir.path(), ".lock").unwrap();
    }
}
