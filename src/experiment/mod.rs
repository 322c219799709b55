//! Experiments on top of single runs: result tables and plots (and, later,
//! sweeps and the pruning baseline). Everything here is a function of result
//! files; nothing reaches inside a run.

pub mod plot;
pub mod table;

pub use plot::{line_chart, ChartSpec, LegendPosition, PlotError, Point, Series};
pub use table::{
    best_indices, fmt_fixed, fmt_mean_std, fmt_p_value, Align, Better, Cell, Table, TableError,
};
