//! The `ctr-run` command line: a thin edge over the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
mod cli;

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
    /// Any sweep or set of runs: mean, std, n and Welch p-values per group, a tidy CSV and a plot.
    Summarize(cli::summarize::SummarizeArgs),
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
        Command::Summarize(a) => cli::summarize::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Predict(a) => cli::predict::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            // The shell's status for "stopped by SIGINT/SIGTERM": a run or
            // sweep that caught the signal to checkpoint first still says so.
            if ctr_run::checkpoint::interrupted() {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes, `outer: inner: ...`, each text once: a message
/// that already ends with its cause's text (an error type that prints its
/// source) does not get it again.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.ends_with(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}
