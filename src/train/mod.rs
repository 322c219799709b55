//! Training: the per-batch step (`Trainer`) and the passes built on it
//! (`pass`); the whole run, with checkpoints and outputs, is `crate::run`.
//!
//! One step: resolve the batch's keys to embedding rows, gather the pooled
//! embeddings, run the candle model's forward and backward, update the dense
//! layers with the dense optimizer and the touched embedding rows with the
//! embedding optimizer. No dense gradient over the whole table ever exists.

pub mod budget;
mod pass;
mod phases;
pub mod score;
mod step;
pub mod textlog;
mod valid;

pub use pass::{
    evaluate, evaluate_split, max_batch_loss, no_rows_error, progress_bar, sigmoid, train_window,
    train_window_with, CurvePoint, Evaluation, Progress, ProgressRecord, RowWindow,
};
pub use phases::{process_cpu_seconds, LoopCpu, Phase, PhaseTimes};
pub use score::{score_batch_size, score_stream};
pub use step::Trainer;
pub use valid::{EarlyStop, ValidPoint};
