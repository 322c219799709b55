//! The `ctr-run` command line: a thin edge over the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ctr_run::cli;

#[derive(Parser)]
#[command(
    name = "ctr-run",
    version,
    about = "CTR prediction experiments with sparsity-inducing optimizers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one model from a TOML experiment config, then evaluate it.
    Train(cli::train::TrainArgs),
    /// Training throughput on synthetic data, with a per-phase breakdown.
    Bench(cli::bench::BenchArgs),
    /// Generate synthetic data in a dataset's exact raw format.
    Gen(cli::gen::GenArgs),
    /// Look at a data file.
    Data(cli::data::DataArgs),
    /// Run a grid of configs with repeats (seeds), restartable and shardable.
    Sweep(cli::sweep::SweepArgs),
    /// The magnitude-pruning baseline.
    Prune(cli::prune::PruneArgs),
    /// Regenerate the paper's tables and figures from finished runs.
    Tables(cli::tables::TablesArgs),
    /// Write a trained run's model with only its non-zero embedding rows.
    Export(cli::export::ExportArgs),
    /// Score a data file with an exported model.
    Predict(cli::predict::PredictArgs),
}

fn main() -> ExitCode {
    ctr_run::model::tune_allocator();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(a) => cli::train::run(a),
        Command::Bench(a) => cli::bench::run(a),
        Command::Gen(a) => cli::gen::run(a),
        Command::Data(a) => cli::data::run(a),
        Command::Sweep(a) => cli::sweep::run(a),
        Command::Prune(a) => cli::prune::run(a),
        Command::Tables(a) => cli::tables::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Predict(a) => cli::predict::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
