//! Training: the per-batch step (`Trainer`) and the whole run (`run`).
//!
//! One step: resolve the batch's keys to embedding rows, gather the pooled
//! embeddings, run the candle model's forward and backward, update the dense
//! layers with the dense optimizer and the touched embedding rows with the
//! embedding optimizer. No dense gradient over the whole table ever exists.

pub mod budget;
mod phases;
mod run;
mod step;

pub use phases::{Phase, PhaseTimes};
pub use run::{
    evaluate, finish_run_dir, max_batch_loss, metrics_of, no_rows_error, peak_rss_bytes,
    progress_bar, run, sigmoid, start_run_dir, train_window, train_window_with, write_predictions,
    CurvePoint, Evaluation, Progress, RowWindow, RunMetrics, RunOptions,
};
pub use step::{score_known, Trainer};
