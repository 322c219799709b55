//! One module per command; each parses its arguments and calls the library.

pub mod bench;
pub mod data;
pub mod export;
pub mod gen;
pub mod predict;
pub mod prune;
pub mod summarize;
pub mod sweep;
pub mod tables;
pub mod train;

/// Size the thread pools once, before any parallel work starts
/// (`model::configure_threads`, the one place; values already in the
/// environment win), warning when `threads` exceeds the machine's cores.
pub fn init_threads(threads: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(w) = ctr_run::train::budget::threads_warning(threads, cores) {
        eprintln!("{w}");
    }
    ctr_run::model::configure_threads(threads);
}
