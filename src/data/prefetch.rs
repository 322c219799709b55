//! Overlap reading with training: a thread fills batches from a source while
//! the trainer works on the previous ones. Batches travel through a bounded
//! channel and their buffers come back for reuse (no allocation per batch
//! once warm).

use super::error::DataError;
use super::schema::SchemaInfo;
use super::source::BatchSource;
use super::Batch;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

type Msg = Result<(Batch, u64), DataError>;

struct Running {
    rx: Receiver<Msg>,
    recycle: SyncSender<Batch>,
    handle: Option<JoinHandle<()>>,
}

/// A [`BatchSource`] read ahead by a background thread, `depth` batches deep.
pub struct Prefetch {
    info: SchemaInfo,
    inner: Option<Box<dyn BatchSource>>,
    depth: usize,
    running: Option<Running>,
    rows: u64,
    bad: u64,
    done: bool,
    distinct_keys: bool,
}

impl Prefetch {
    pub fn new(inner: Box<dyn BatchSource>, depth: usize) -> Self {
        Self {
            info: inner.schema().clone(),
            inner: Some(inner),
            depth: depth.max(1),
            running: None,
            rows: 0,
            bad: 0,
            done: false,
            distinct_keys: false,
        }
    }

    /// Also deduplicate each batch's keys on the reader thread
    /// (`Batch::distinct`): the training step's per-batch deduplication,
    /// done while the trainer works on the previous batch.
    pub fn with_distinct_keys(mut self) -> Self {
        self.distinct_keys = true;
        self
    }

    fn start(&mut self) {
        let Some(mut src) = self.inner.take() else {
            return;
        };
        let (tx, rx) = sync_channel::<Msg>(self.depth);
        let (recycle, back) = sync_channel::<Batch>(self.depth + 2);
        let distinct_keys = self.distinct_keys;
        let handle = std::thread::spawn(move || loop {
            let mut b = back.try_recv().unwrap_or_default();
            match src.next_batch(&mut b) {
                Ok(true) => {
                    if distinct_keys {
                        let Batch { keys, distinct, .. } = &mut b;
                        distinct.compute(keys);
                    }
                    let bad = src.bad_rows();
                    if tx.send(Ok((b, bad))).is_err() {
                        return; // the consumer is gone
                    }
                }
                Ok(false) => {
                    let _ = tx.send(Ok((b, src.bad_rows())));
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        });
        self.running = Some(Running {
            rx,
            recycle,
            handle: Some(handle),
        });
    }
}

impl BatchSource for Prefetch {
    fn schema(&self) -> &SchemaInfo {
        &self.info
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, DataError> {
        if self.done {
            batch.clear();
            return Ok(false);
        }
        self.start();
        let run = self.running.as_mut().expect("started");
        match run.rx.recv() {
            Ok(Ok((mut b, bad))) => {
                std::mem::swap(batch, &mut b);
                let _ = run.recycle.try_send(b);
                self.bad = bad;
                self.rows += batch.len as u64;
                if batch.len == 0 {
                    self.done = true;
                }
                Ok(batch.len > 0)
            }
            Ok(Err(e)) => {
                self.done = true;
                Err(e)
            }
            Err(_) => {
                // The thread ended without a last message: it panicked.
                self.done = true;
                Err(DataError::Config(
                    "the reader thread stopped unexpectedly".into(),
                ))
            }
        }
    }

    fn rows_read(&self) -> u64 {
        self.inner.as_ref().map_or(self.rows, |s| s.rows_read())
    }

    /// Only before the first batch (resume positions the stream, then reads).
    fn skip_rows(&mut self, n: u64) -> Result<(), DataError> {
        match self.inner.as_mut() {
            Some(s) => {
                s.skip_rows(n)?;
                self.rows = s.rows_read();
                Ok(())
            }
            None => Err(DataError::Config(
                "skip_rows must come before the first batch of a prefetched source".into(),
            )),
        }
    }

    fn bad_rows(&self) -> u64 {
        self.inner.as_ref().map_or(self.bad, |s| s.bad_rows())
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Some(mut r) = self.running.take() {
            // Dropping the receiver makes the thread's next send fail, so it ends.
            drop(r.rx);
            if let Some(h) = r.handle.take() {
                let _ = h.join();
            }
        }
    }
}
