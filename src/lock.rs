//! Folder locks: one live writer per sweep folder and per run folder, and
//! one generator of a shared file at a time ([`wait_for_lock`]).
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
    // Opened without truncation: the holder's record must survive our open.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening lock {}", path.display()))?;
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

/// Take the lock file `path` (created if missing), waiting while another
/// process holds it: for work any process may do but only one should, such
/// as generating a shared input file. Released when dropped.
pub fn wait_for_lock(path: &Path) -> std::io::Result<FolderLock> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // SAFETY: flock on a descriptor we own; it touches no memory.
    while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(FolderLock {
        _file: file,
        path: path.to_path_buf(),
    })
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
