//! What a file holds, as far as a derived file (the encoded cache, the
//! frequent-key set, a checkpoint) needs to know it is still the same: its
//! identity (size, mtime, ctime, inode) and an xxh3-64 of its whole content.
//!
//! Size and mtime alone miss an edit that keeps both (`touch -d` restores
//! the mtime). Any write, and any `touch`, sets the ctime to the current
//! time, and nothing short of changing the clock sets it back; so an
//! identical identity means the content is the one hashed, and only a
//! changed identity costs a pass over the file (xxh3 is far faster than the
//! disk: the pass is I/O bound). Hashes are remembered for the life of the
//! process under the identity they were taken at, so the several opens of
//! one run hash each file once.

use super::error::DataError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Who a file is right now, from its metadata (no read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub ino: u64,
    pub dev: u64,
}

/// A file's identity and the xxh3-64 of its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub id: FileId,
    pub xxh3: u64,
}

/// The identity of `path` now.
pub fn file_id(path: &Path) -> Result<FileId, DataError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
    Ok(FileId {
        size: m.len(),
        mtime_ns: ns(m.mtime(), m.mtime_nsec()),
        ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        ino: m.ino(),
        dev: m.dev(),
    })
}

type Memo = HashMap<(PathBuf, FileId, u64), u64>;
static MEMO: Mutex<Option<Memo>> = Mutex::new(None);

/// xxh3-64 of the first `len` bytes of `path` (streamed, 1 MiB at a time).
/// Remembered under the file's identity; not remembered when the identity
/// moved while hashing (the hash then belongs to no single version).
pub fn hash_prefix(path: &Path, len: u64) -> Result<u64, DataError> {
    let before = file_id(path)?;
    let regular = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .is_file();
    if !regular {
        // A FIFO or a device: reading it here would consume it.
        return Ok(0);
    }
    let key = (path.to_path_buf(), before, len);
    if let Some(&h) = MEMO.lock().unwrap().as_ref().and_then(|m| m.get(&key)) {
        return Ok(h);
    }
    let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = f
            .read(&mut buf[..want])
            .map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            return Err(DataError::Changed {
                file: path.to_path_buf(),
                what: format!("ended after {} of {len} bytes", len - left),
            });
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    let digest = h.digest();
    if file_id(path)? == before {
        MEMO.lock()
            .unwrap()
            .get_or_insert_with(Default::default)
            .insert(key, digest);
    }
    Ok(digest)
}

/// The fingerprint of `path` now (a pass over it unless remembered).
pub fn fingerprint(path: &Path) -> Result<Fingerprint, DataError> {
    let id = file_id(path)?;
    Ok(Fingerprint {
        id,
        xxh3: hash_prefix(path, id.size)?,
    })
}

/// Whether `path` still holds what `fp` was taken of: the same identity
/// (no read), or else the same size and content hash (one pass).
pub fn unchanged(path: &Path, fp: &Fingerprint) -> Result<bool, DataError> {
    let id = file_id(path)?;
    if id == fp.id {
        return Ok(true);
    }
    Ok(id.size == fp.id.size && hash_prefix(path, id.size)? == fp.xxh3)
}

/// Fail when `path` is no longer the file whose identity was `before` (a
/// file changed while a run read it: the rows read mix two versions).
pub fn check_same(path: &Path, before: &FileId) -> Result<(), DataError> {
    let now = file_id(path)?;
    if now == *before {
        return Ok(());
    }
    let what = if now.size != before.size {
        format!("size {} -> {} bytes", before.size, now.size)
    } else if now.ino != before.ino || now.dev != before.dev {
        "replaced by another file".into()
    } else {
        "modified (same size)".into()
    };
    Err(DataError::Changed {
        file: path.to_path_buf(),
        what,
    })
}
