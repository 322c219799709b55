//! `ctr-run predict --model M --data FILE [--format F] [--out scores.csv]`

use std::path::PathBuf;

use anyhow::Result;

use ctr_run::data::Format;
use ctr_run::model::DeviceSpec;
use ctr_run::serve::ServingModel;

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// A model written by `ctr-run export`.
    #[arg(long)]
    pub model: PathBuf,
    /// The file to score (every row), in the run's format unless --format.
    #[arg(long)]
    pub data: PathBuf,
    /// avazu | criteo | criteo_csv | ipinyou | custom (default: the run's).
    #[arg(long)]
    pub format: Option<Format>,
    /// Output CSV (default: scores.csv): `label,score`, or for a file
    /// without the label column `id,score` (`score` without an id column).
    #[arg(long, default_value = "scores.csv")]
    pub out: PathBuf,
    /// Rows per batch (default: the run's scoring batch, its batch size or
    /// 4096 if larger, which reproduces its test scores bit for bit).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Where the dense model computes: cpu | cuda | cuda:N (default: the
    /// run's device).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<DeviceSpec>,
}

pub fn run(args: &PredictArgs) -> Result<()> {
    for (what, input) in [("model", &args.model), ("data", &args.data)] {
        if ctr_run::io::same_file(&args.out, input) {
            anyhow::bail!(
                "--out {} is the {what} file {} (same file): writing the scores would destroy it; choose another --out",
                args.out.display(),
                input.display()
            );
        }
    }
    let m = ServingModel::load(&args.model, args.device)?;
    super::init_threads(m.cfg.threads);
    let s = m.score_file(&args.data, args.format, args.batch_size)?;
    let bad = if s.bad_rows > 0 {
        format!(" ({} bad rows skipped)", s.bad_rows)
    } else {
        String::new()
    };
    if !s.labelled() {
        ctr_run::run::write_unlabelled_scores(&args.out, &s.ids, &s.scores)?;
        ctr_run::outln!(
            "{} rows scored with {} embedding rows (no label column){bad} -> {}",
            s.scores.len(),
            m.rows(),
            args.out.display()
        );
        return Ok(());
    }
    ctr_run::run::write_predictions(&args.out, &s.labels, &s.scores)?;
    let auc = ctr_run::metrics::auc(&s.scores, &s.labels)
        .map(|a| format!("{a:.5}"))
        .unwrap_or_else(|| "n/a".into());
    ctr_run::outln!(
        "{} rows scored with {} embedding rows: AUC {auc}  logloss {:.5}{bad} -> {}",
        s.scores.len(),
        m.rows(),
        ctr_run::metrics::logloss(&s.scores, &s.labels),
        args.out.display()
    );
    Ok(())
}
