//! `ctr-run summarize RUNS... [--by k,...] [--baseline k=v] [--x X] [--y Y] [--out DIR]`

use std::path::PathBuf;

use anyhow::Result;

use ctr_run::experiment::summarize::{parse_baseline, summarize, Options};

#[derive(clap::Args, Debug)]
pub struct SummarizeArgs {
    /// Sweep folders or run folders (searched recursively for finished runs).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Group by these config keys, comma-separated (default: every key that
    /// varies across the runs, except seed).
    #[arg(long, value_delimiter = ',')]
    pub by: Option<Vec<String>>,
    /// The group the others are tested against (Welch), e.g.
    /// optimizer.name=adam or optimizer.name=adam,optimizer.lr=0.001.
    #[arg(long)]
    pub baseline: Option<String>,
    /// The plot's x axis: a grouping key or a metric.
    #[arg(long, default_value = "feature_rate")]
    pub x: String,
    /// The plot's y axis: a metric.
    #[arg(long, default_value = "auc")]
    pub y: String,
    /// Where to write summary.{md,tex,csv}, runs.csv and the plot
    /// (default: <first RUNS>/summary).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &SummarizeArgs) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.runs[0].join("summary"));
    let opts = Options {
        by: args.by.clone(),
        baseline: match &args.baseline {
            Some(b) => parse_baseline(b)?,
            None => Vec::new(),
        },
        x: args.x.clone(),
        y: args.y.clone(),
        out,
    };
    let s = summarize(&args.runs, &opts)?;
    ctr_run::outln!(
        "{} runs in {} groups by {}",
        s.runs,
        s.groups,
        if s.keys.is_empty() {
            "(nothing varies)".to_string()
        } else {
            s.keys.join(", ")
        }
    );
    ctr_run::outln!("table   {}.{{md,tex,csv}}", s.table.display());
    match &s.figure {
        Some(f) => ctr_run::outln!("figure  {}.{{svg,png}}", f.display()),
        None => ctr_run::outln!("figure  none: no group has both {} and {}", opts.y, opts.x),
    }
    if let Some(first) = s.stale.first() {
        ctr_run::outln!(
            "note: left out {} finished runs that their sweep's runs.csv no longer lists, e.g. {}",
            s.stale.len(),
            first.display()
        );
    }
    for f in &s.failed {
        ctr_run::outln!("failed  {}: {}", f.dir.display(), f.error);
    }
    Ok(())
}
