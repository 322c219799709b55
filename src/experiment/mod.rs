//! Experiments on top of single runs: sweeps, the pruning baseline, and the
//! paper's tables and figures. Tables and plots are functions of finished
//! run folders; nothing here reaches inside a run.

pub mod claims;
pub mod findings;
pub mod group;
pub mod lasso;
pub mod plot;
pub mod prune;
pub mod report;
pub mod runner;
pub mod runs;
pub mod summarize;
pub mod sweep;
pub mod table;

pub use lasso::{lasso_study, LassoConfig, LassoInit, LassoPoint, LassoRun, LassoTrace};
pub use plot::{line_chart, ChartSpec, LegendPosition, PlotError, Point, Series};
pub use table::{
    best_indices, fmt_fixed, fmt_mean_std, fmt_p_value, Align, Better, Cell, Table, TableError,
};
