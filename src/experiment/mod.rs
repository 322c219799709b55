//! Experiments on top of single runs: sweeps, the pruning baseline, and the
//! paper's tables and figures from finished run folders.

pub mod prune;
pub mod runner;
pub mod runs;
pub mod sweep;
