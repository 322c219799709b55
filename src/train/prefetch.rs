//! A reader thread feeding a bounded channel, so parsing and training
//! overlap on two cores. Empty batches go back to the reader to be refilled:
//! the pipeline allocates only its first few batches.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::data::{Batch, BatchSource, DataError};

/// Batches in flight between the reader thread and the trainer.
const READ_AHEAD: usize = 4;

/// Which rows of a stream to read: skip `skip`, then at most `take` (None = to the end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowWindow {
    pub skip: u64,
    pub take: Option<u64>,
}

/// What the reader saw, returned when it finishes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadStats {
    pub rows: u64,
    pub bad_rows: u64,
}

pub struct Prefetch {
    full: Option<Receiver<Result<Batch, DataError>>>,
    empty: Option<SyncSender<Batch>>,
    handle: Option<JoinHandle<ReadStats>>,
}

impl Prefetch {
    pub fn start(mut source: Box<dyn BatchSource>, window: RowWindow) -> Self {
        let (full_tx, full) = sync_channel::<Result<Batch, DataError>>(READ_AHEAD);
        let (empty, empty_rx) = sync_channel::<Batch>(READ_AHEAD + 2);
        for _ in 0..READ_AHEAD + 2 {
            empty.send(Batch::default()).expect("channel has room");
        }
        let handle = std::thread::spawn(move || {
            let mut rows = 0u64;
            let finish = |source: &dyn BatchSource, rows| ReadStats {
                rows,
                bad_rows: source.bad_rows(),
            };
            if window.skip > 0 {
                if let Err(e) = source.skip_rows(window.skip) {
                    let _ = full_tx.send(Err(e));
                    return finish(source.as_ref(), rows);
                }
            }
            loop {
                if window.take.is_some_and(|t| rows >= t) {
                    break;
                }
                let Ok(mut batch) = empty_rx.recv() else {
                    break;
                };
                match source.next_batch(&mut batch) {
                    Ok(true) => {
                        if let Some(t) = window.take {
                            batch.truncate((t - rows) as usize);
                        }
                        rows += batch.len as u64;
                        if full_tx.send(Ok(batch)).is_err() {
                            break;
                        }
                    }
                    Ok(false) => break,
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        break;
                    }
                }
            }
            finish(source.as_ref(), rows)
        });
        Self {
            full: Some(full),
            empty: Some(empty),
            handle: Some(handle),
        }
    }

    /// The next batch; None at the end of the window.
    pub fn next(&mut self) -> Option<Result<Batch, DataError>> {
        self.full.as_ref()?.recv().ok()
    }

    /// Hand a consumed batch back for refilling.
    pub fn recycle(&self, batch: Batch) {
        if let Some(e) = &self.empty {
            let _ = e.try_send(batch);
        }
    }

    /// Stop the reader and return what it read.
    pub fn finish(mut self) -> ReadStats {
        self.shutdown()
    }

    fn shutdown(&mut self) -> ReadStats {
        // Closing both channels unblocks the reader wherever it waits.
        self.empty.take();
        self.full.take();
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.shutdown();
    }
}
