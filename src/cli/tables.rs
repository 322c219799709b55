//! `ctr-run tables --runs DIR [--out DIR]`

use std::path::PathBuf;

use anyhow::Result;

use ctr_run::experiment::report::write_report;
use ctr_run::experiment::summarize::{summarize, Options};

/// The folders `tables` reads, for its messages.
const PAPER_SWEEPS: &str = "<dataset>_table2, <dataset>_adam_prune, <dataset>_table3, \
     <dataset>_table5_lr, <dataset>_table6_search, <dataset>_table7_search, criteo_table4, \
     criteo_fig2, criteo_fig3, avazu_proxgen";

#[derive(clap::Args, Debug)]
pub struct TablesArgs {
    /// Folder holding the sweep folders (e.g. results/quick).
    #[arg(long)]
    pub runs: PathBuf,
    /// Where to write tables and figures (default: <runs>/tables).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &TablesArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.runs.join("tables"));
    let r = write_report(&args.runs, &out)?;
    for t in &r.tables {
        ctr_run::outln!("table   {}.{{md,tex,csv}}", t.display());
    }
    for f in &r.figures {
        ctr_run::outln!("figure  {}.{{svg,png}}", f.display());
    }
    for c in &r.claims {
        ctr_run::outln!("claim   {c}");
    }
    if let Some(first) = r.stale.first() {
        ctr_run::outln!(
            "note: left out {} finished runs that their sweep's runs.csv no longer lists (an old grid value or config), e.g. {}",
            r.stale.len(),
            first.display()
        );
    }
    for f in &r.failed {
        println!("failed  {}: {}", f.dir.display(), f.error);
    }
    if r.tables.is_empty() && r.figures.is_empty() {
        if r.finished == 0 {
            anyhow::bail!(
                "no finished runs (folders holding config.toml and metrics.json) under {}; \
                 the paper's tables read the sweep folders {}",
                args.runs.display(),
                PAPER_SWEEPS
            );
        }
        // Runs, but none in the paper's sweep folders: a sweep of the
        // user's own gets the generic summary instead of nothing.
        let opts = Options {
            by: None,
            baseline: Vec::new(),
            x: "feature_rate".into(),
            y: "auc".into(),
            out: out.clone(),
        };
        let s = summarize(std::slice::from_ref(&args.runs), &opts)?;
        ctr_run::outln!(
            "note: none of {} runs is in the paper's sweep folders ({}); wrote the generic summary \
             (`ctr-run summarize`) instead",
            r.finished,
            PAPER_SWEEPS
        );
        ctr_run::outln!("table   {}.{{md,tex,csv}}", s.table.display());
        if let Some(f) = &s.figure {
            ctr_run::outln!("figure  {}.{{svg,png}}", f.display());
        }
    }
    Ok(())
}
