//! `ctr-run tables --runs DIR [--out DIR]`

use std::path::PathBuf;

use anyhow::Result;

use crate::experiment::report::write_report;

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
        crate::outln!("table   {}.{{md,tex,csv}}", t.display());
    }
    for f in &r.figures {
        crate::outln!("figure  {}.{{svg,png}}", f.display());
    }
    for c in &r.claims {
        crate::outln!("claim   {c}");
    }
    if let Some(first) = r.stale.first() {
        crate::outln!(
            "note: left out {} finished runs that their sweep's runs.csv no longer lists (an old grid value or config), e.g. {}",
            r.stale.len(),
            first.display()
        );
    }
    for f in &r.failed {
        println!("failed  {}: {}", f.dir.display(), f.error);
    }
    if r.tables.is_empty() && r.figures.is_empty() {
        crate::outln!(
            "no finished runs in the expected sweep folders under {}",
            args.runs.display()
        );
    }
    Ok(())
}
