//! Training: the per-batch step (`Trainer`), the reader thread
//! (`prefetch`) and the whole run (`run`).
//!
//! One step: resolve the batch's keys to embedding rows, gather the pooled
//! embeddings, run the candle model's forward and backward, update the dense
//! layers with the dense optimizer and the touched embedding rows with the
//! embedding optimizer. No dense gradient over the whole table ever exists.

mod phases;
pub mod prefetch;
mod run;
mod step;

pub use phases::{Phase, PhaseTimes};
pub use prefetch::RowWindow;
pub use run::{
    evaluate, finish_run_dir, metrics_of, peak_rss_bytes, progress_bar, run, sigmoid,
    start_run_dir, train_window, CurvePoint, Evaluation, Progress, RunMetrics, RunOptions,
};
pub use step::Trainer;
