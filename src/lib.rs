//! ctr-run: an experiment runner for click-through-rate prediction with
//! sparsity-inducing optimizers (Group Lasso adaptive optimizers and ProxGen).
//!
//! The library holds all the work; the binary (`src/main.rs` with its
//! `src/cli/` modules, not part of the library) is a thin command-line edge
//! over it. See `ARCHITECTURE.md` for the picture.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod embedding;
pub mod experiment;
pub mod io;
pub mod lock;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod rng;
pub mod run;
pub mod serve;
pub mod stats;
pub mod train;
