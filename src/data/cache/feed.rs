//! The encoded cache's chunks, read and checksum-verified on a thread of
//! their own.
//!
//! Verifying every chunk costs one hash pass over its bytes (xxh3, ~18 GB/s
//! in cache), about 12% of a reader that decodes at ~2.5 GB/s when both run
//! one after the other. Here the feed thread reads chunk k + 1 from the file
//! and checks it while the consumer decodes chunk k, so the check (and the
//! copy out of the page cache) overlap the decode instead of adding to it.
//! A chunk leaves the feed only after its checksum matched: nothing in a
//! damaged chunk is ever used.

use super::format::{CHUNK_MAGIC, CHUNK_MAGIC_SINGLE};
use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Chunks read ahead (each ~1-4 MB).
const AHEAD: usize = 2;

/// What the feed needs to know to find each chunk's length.
#[derive(Clone, Copy, Debug)]
pub struct ChunkShape {
    pub n_fields: u64,
    pub n_dense: u64,
    pub has_day: bool,
}

/// Why the feed stopped early.
#[derive(Debug)]
pub enum FeedError {
    /// The bytes are not a valid chunk (damaged or truncated cache).
    Corrupt(String),
    /// Reading the file failed.
    Io(std::io::Error),
}

/// One verified chunk: its bytes without the trailing checksum.
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub single: bool,
}

/// The receiving end; dropping it stops the thread at its next chunk. The
/// thread starts at the first `next`, so nothing is read before the reader
/// asks for rows.
pub struct ChunkFeed {
    state: State,
}

enum State {
    /// Benches only: today's reader before checksums, chunks read in the
    /// caller's thread and not verified (what the checked feed is compared to).
    Unchecked {
        r: BufReader<File>,
        left: u64,
        shape: ChunkShape,
        index: u64,
        spare: Vec<u8>,
    },
    NotStarted(Option<(BufReader<File>, u64, ChunkShape, bool)>),
    Running {
        rx: Receiver<Result<Chunk, FeedError>>,
        recycle: SyncSender<Vec<u8>>,
    },
}

impl ChunkFeed {
    /// A feed of `data_bytes` bytes of chunks from `r` (positioned at the
    /// first chunk). `checked = false` is the reader as it was before the
    /// checksums, read inline and unverified (benches only).
    pub fn new(r: BufReader<File>, data_bytes: u64, shape: ChunkShape, checked: bool) -> Self {
        let state = if checked {
            State::NotStarted(Some((r, data_bytes, shape, checked)))
        } else {
            State::Unchecked {
                r,
                left: data_bytes,
                shape,
                index: 0,
                spare: Vec::new(),
            }
        };
        Self { state }
    }

    /// The next verified chunk; `Ok(None)` once the chunk region is read.
    pub fn next(&mut self) -> Result<Option<Chunk>, FeedError> {
        if let State::Unchecked {
            r,
            left,
            shape,
            index,
            spare,
        } = &mut self.state
        {
            if *left == 0 {
                return Ok(None);
            }
            let mut bytes = std::mem::take(spare);
            let single = read_chunk(r, left, *shape, false, *index, &mut bytes)?;
            *index += 1;
            return Ok(Some(Chunk { bytes, single }));
        }
        if let State::NotStarted(args) = &mut self.state {
            let (r, data_bytes, shape, checked) = args.take().expect("started once");
            let (tx, rx) = sync_channel(AHEAD);
            let (recycle, spare) = sync_channel(AHEAD + 2);
            std::thread::Builder::new()
                .name("cache-feed".into())
                .spawn(move || feed(r, data_bytes, shape, checked, &tx, &spare))
                .map_err(FeedError::Io)?;
            self.state = State::Running { rx, recycle };
        }
        let State::Running { rx, .. } = &self.state else {
            unreachable!("started above")
        };
        match rx.recv() {
            Ok(Ok(chunk)) => Ok(Some(chunk)),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(None), // the thread ended after the last chunk
        }
    }

    /// Hand a consumed chunk's buffer back for reuse (no allocation per chunk).
    pub fn give_back(&mut self, bytes: Vec<u8>) {
        match &mut self.state {
            State::Running { recycle, .. } => {
                let _ = recycle.try_send(bytes);
            }
            State::Unchecked { spare, .. } => *spare = bytes,
            State::NotStarted(_) => {}
        }
    }
}

fn feed(
    mut r: BufReader<File>,
    mut left: u64,
    shape: ChunkShape,
    checked: bool,
    tx: &SyncSender<Result<Chunk, FeedError>>,
    spare: &Receiver<Vec<u8>>,
) {
    let mut index = 0u64;
    while left > 0 {
        let mut bytes = spare.try_recv().unwrap_or_default();
        let chunk = read_chunk(&mut r, &mut left, shape, checked, index, &mut bytes)
            .map(|single| Chunk { bytes, single });
        let failed = chunk.is_err();
        if tx.send(chunk).is_err() || failed {
            return; // the reader is gone, or the error is said
        }
        index += 1;
    }
}

/// Read chunk `index` into `bytes` and verify it; whether its bags are single.
fn read_chunk(
    r: &mut BufReader<File>,
    left: &mut u64,
    shape: ChunkShape,
    checked: bool,
    index: u64,
    bytes: &mut Vec<u8>,
) -> Result<bool, FeedError> {
    let corrupt = |msg: &str| FeedError::Corrupt(msg.into());
    bytes.clear();
    read_more(r, left, 16, bytes)?;
    let single = match &bytes[..4] {
        m if m == CHUNK_MAGIC => false,
        m if m == CHUNK_MAGIC_SINGLE => true,
        _ => return Err(corrupt("bad chunk magic")),
    };
    let n = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as u64;
    let nk = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
    let day_bytes = if shape.has_day { 4 * n } else { 0 };
    let end_bytes = if single { 0 } else { 4 * n * shape.n_fields };
    // Checked: a damaged count must not wrap into a plausible length.
    let body = nk
        .checked_mul(8)
        .and_then(|k| k.checked_add(n + day_bytes + end_bytes + 4 * n * shape.n_dense + 8))
        .ok_or_else(|| corrupt("chunk runs past the data"))?;
    read_more(r, left, body, bytes)?;
    let (data, sum) = bytes.split_at(bytes.len() - 8);
    if checked
        && xxhash_rust::xxh3::xxh3_64_with_seed(data, index)
            != u64::from_le_bytes(sum.try_into().unwrap())
    {
        return Err(corrupt(&format!("checksum mismatch in chunk {index}")));
    }
    bytes.truncate(bytes.len() - 8);
    Ok(single)
}

/// Append `n` more bytes of the chunk region to `bytes`.
fn read_more(
    r: &mut BufReader<File>,
    left: &mut u64,
    n: u64,
    bytes: &mut Vec<u8>,
) -> Result<(), FeedError> {
    if n > *left {
        return Err(FeedError::Corrupt("chunk runs past the data".into()));
    }
    let at = bytes.len();
    bytes.resize(at + n as usize, 0);
    r.read_exact(&mut bytes[at..]).map_err(FeedError::Io)?;
    *left -= n;
    Ok(())
}
