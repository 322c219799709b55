//! `ctr-run export --run DIR [--out FILE]`

use std::path::PathBuf;

use anyhow::Result;

use ctr_run::checkpoint::export::export;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The run folder (trained with train.save_model = true or
    /// train.checkpoint_every > 0).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// The model file to write (default: DIR/model.safetensors).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &ExportArgs) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("model.safetensors"));
    refuse_own_inputs(&args.run, &out)?;
    let r = export(&args.run, &out)?;
    if !r.finished {
        eprintln!(
            "warning: {} has not finished (no metrics.json): exported its checkpoint after {} batches",
            args.run.display(),
            r.batches
        );
    }
    ctr_run::outln!(
        "{}: {} of {} embedding rows kept (non-zero), {} bytes",
        out.display(),
        r.kept_rows,
        r.seen_rows,
        r.bytes
    );
    ctr_run::outln!(
        "dense model (every row): {} bytes; the sparse model is {:.1}% of it ({:.2}x smaller)",
        r.dense_bytes,
        100.0 * r.bytes as f64 / r.dense_bytes.max(1) as f64,
        r.dense_bytes as f64 / r.bytes.max(1) as f64
    );
    Ok(())
}

/// The model file must not be one of the files the export reads: the run's
/// checkpoints, its config or its metrics (compared as files, so a symlink
/// or hard link to one of them is refused too).
fn refuse_own_inputs(run: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let checkpoints = std::fs::read_dir(ctr_run::checkpoint::dir_of(run))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path());
    let inputs = checkpoints.chain([run.join("config.toml"), run.join("metrics.json")]);
    for input in inputs {
        if ctr_run::io::same_file(out, &input) {
            anyhow::bail!(
                "--out {} is {} (same file), which the export reads: choose another --out",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}
