//! Scoring a stream of batches, forward only, in a pipeline: the reader
//! thread parses (`Prefetch`), a gather thread pools the embeddings of the
//! next batch (over the rayon pool), and the calling thread runs the model
//! on the current one. Each batch is scored whole, by the same ops as
//! [`super::score_known`], so the logits are bit-identical to it (and so
//! to `ctr-run predict`) at any thread count.

use std::sync::mpsc::sync_channel;

use anyhow::Result;

use crate::data::{Batch, BatchSource};
use crate::embedding::EmbeddingStore;
use crate::model::{Input, Model};

/// Gathered batches queued ahead of the model.
const GATHER_AHEAD: usize = 2;

/// Score every batch of `source`, calling `each(batch, logits)` in order.
pub fn score_stream(
    model: &dyn Model,
    store: &EmbeddingStore,
    source: &mut dyn BatchSource,
    each: &mut dyn FnMut(&Batch, &[f32]) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Result<(Batch, Vec<f32>)>>(GATHER_AHEAD);
        let (recycle, back) = sync_channel::<(Batch, Vec<f32>)>(GATHER_AHEAD + 2);
        s.spawn(move || loop {
            let (mut batch, mut emb) = back.try_recv().unwrap_or_default();
            match source.next_batch(&mut batch) {
                Ok(true) => {
                    store.gather_known_shared(&batch, &mut emb);
                    if tx.send(Ok((batch, emb))).is_err() {
                        return; // the scorer stopped (an error)
                    }
                }
                Ok(false) => return,
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                    return;
                }
            }
        });
        // `rx` is owned here: an early return drops it, which ends the
        // gather thread's next send, so the scope can join it.
        let rx = rx;
        let mut logits = Vec::new();
        for msg in rx.iter() {
            let (batch, emb) = msg?;
            let input = Input {
                batch: batch.len,
                emb: &emb,
                dense: &batch.dense,
            };
            model.logits(&input, &mut logits)?;
            each(&batch, &logits)?;
            let _ = recycle.try_send((batch, emb));
        }
        Ok(())
    })
}
