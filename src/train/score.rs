//! Scoring a stream of batches, forward only, in a pipeline: the reader
//! thread parses (`Prefetch`), a gather thread pools the embeddings of the
//! next batch (over the rayon pool), and the calling thread runs the model
//! on the current one. Each batch is scored whole, by the same ops as
//! [`score_known`], so the logits are bit-identical to it at any thread
//! count.

use std::sync::mpsc::sync_channel;

use anyhow::Result;

use crate::data::{Batch, BatchSource};
use crate::embedding::EmbeddingStore;
use crate::model::{Input, Model};

/// Gathered batches queued ahead of the model.
const GATHER_AHEAD: usize = 2;

/// The fewest rows per batch when scoring (evaluation, validation,
/// `ctr-run predict`). Scoring keeps no graph, so a batch of 4096 rows costs
/// a few MB of activations, and each op's fixed cost (candle's dispatch, a
/// fork per fused op) is paid 8x less often than at a training batch of 512:
/// evaluation ran 1.08-1.15x faster, the same AUC and logloss to every digit
/// (docs/performance.md, item 13).
const SCORE_BATCH_ROWS: usize = 4096;

/// Rows per batch when scoring a model trained with `train_batch` rows per
/// batch. Evaluation and `predict` both use it, so `predict`'s default
/// reproduces a run's test scores bit for bit.
pub fn score_batch_size(train_batch: usize) -> usize {
    train_batch.max(SCORE_BATCH_ROWS)
}

/// Logits of `batch` from `store` and `model`, creating no row (keys unseen
/// in training read as zeros).
pub fn score_known(
    model: &dyn Model,
    store: &EmbeddingStore,
    batch: &Batch,
    emb: &mut Vec<f32>,
    out: &mut Vec<f32>,
) -> Result<()> {
    store.gather_known(batch, emb);
    logits_of(model, batch, emb, out)
}

/// The model's logits of `batch` from its gathered embeddings `emb`.
fn logits_of(model: &dyn Model, batch: &Batch, emb: &[f32], out: &mut Vec<f32>) -> Result<()> {
    let input = Input {
        batch: batch.len,
        emb,
        dense: &batch.dense,
    };
    model.logits(&input, out)?;
    Ok(())
}

/// Score every batch of `source`, calling `each(batch, logits)` in order.
/// Evaluation, validation and `ctr-run predict` all score through this,
/// which is what makes predict reproduce a run's test scores.
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
                    store.gather_known(&batch, &mut emb);
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
            logits_of(model, &batch, &emb, &mut logits)?;
            each(&batch, &logits)?;
            let _ = recycle.try_send((batch, emb));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_batches_hold_4096_rows_unless_training_ones_are_larger() {
        assert_eq!(score_batch_size(1), 4096);
        assert_eq!(score_batch_size(512), 4096);
        assert_eq!(score_batch_size(4096), 4096);
        assert_eq!(score_batch_size(10_000), 10_000);
    }
}
