//! `ctr-run data inspect FILE --format F`: rows, click rate, distinct values
//! per field, how often values occur, and malformed rows of a raw file.

use anyhow::Context;
use ctr_run::data::inspect::FREQUENCY_THRESHOLDS;
use ctr_run::data::{dataset, inspect, CriteoIntegers, DataConfig, Format, SchemaConfig};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum DataCommand {
    /// Rows, click rate, distinct values per field and how often they occur
    /// (to choose `min_count`), malformed rows.
    Inspect(InspectArgs),
    /// Check a copy of a dataset before training: header, every row (or a
    /// sample) parses, and the row count matches the published file's.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The raw data file (plain or .gz), e.g. datasets/avazu/train.csv.
    pub file: PathBuf,
    /// The file's layout: avazu | criteo | criteo_csv | ipinyou | custom.
    #[arg(long)]
    pub format: Format,
    /// For --format custom: a TOML file holding the schema.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Parse only the first N rows (quick; the row count is then not checked).
    #[arg(long, value_name = "N")]
    pub sample: Option<u64>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct InspectArgs {
    /// The raw data file (plain or .gz).
    pub file: PathBuf,
    /// The file's layout: avazu | criteo | criteo_csv | ipinyou | custom.
    #[arg(long)]
    pub format: Format,
    /// For --format custom: a TOML file holding the schema (delimiter, header, label, ...).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Criteo integers: log1p | log2_bucket | log_plus3 (the default is
    /// `train`'s, `data.criteo_integers`).
    #[arg(long, default_value = "log1p")]
    pub criteo_integers: String,
    /// iPinYou: include the multi-valued usertag field.
    #[arg(long)]
    pub usertag: bool,
    /// Read at most this many rows (default: the whole file).
    #[arg(long)]
    pub max_rows: Option<u64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &DataArgs) -> anyhow::Result<()> {
    match &args.command {
        DataCommand::Inspect(a) => run_inspect(a),
        DataCommand::Verify(a) => run_verify(a),
    }
}

fn run_verify(a: &VerifyArgs) -> anyhow::Result<()> {
    let cfg = DataConfig {
        format: a.format,
        train: Some(a.file.clone()),
        test: Some(a.file.clone()),
        cache: false,
        schema: read_schema(&a.schema)?,
        ..DataConfig::default()
    };
    cfg.check()?;
    let v = ctr_run::data::verify::verify(&cfg, &a.file, a.sample).with_context(|| {
        format!(
            "{} is not a valid --format {} file",
            a.file.display(),
            a.format.as_str()
        )
    })?;
    let file = a.file.display();
    match (v.complete, v.expected_rows) {
        (true, Some(want)) if want != v.rows => anyhow::bail!(
            "{file}: {} rows parse, but the published file has {want} (see datasets/): incomplete or another file?",
            v.rows
        ),
        (true, Some(_)) => ctr_run::outln!("{file}: ok, {} rows, as published", v.rows),
        (true, None) => ctr_run::outln!("{file}: ok, {} rows parse (no published count to compare)", v.rows),
        (false, _) => ctr_run::outln!("{file}: ok, the first {} rows parse (row count not checked with --sample)", v.rows),
    }
    Ok(())
}

fn read_schema(path: &Option<PathBuf>) -> anyhow::Result<Option<SchemaConfig>> {
    Ok(match path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(toml::from_str(&text).with_context(|| format!("parsing schema {}", p.display()))?)
        }
        None => None,
    })
}

fn run_inspect(a: &InspectArgs) -> anyhow::Result<()> {
    let schema: Option<SchemaConfig> = match &a.schema {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(toml::from_str(&text).with_context(|| format!("parsing schema {}", p.display()))?)
        }
        None => None,
    };
    let criteo_integers: CriteoIntegers = serde_json::from_value(serde_json::Value::String(
        a.criteo_integers.clone(),
    ))
    .map_err(|_| anyhow::anyhow!("--criteo-integers: expected log1p | log2_bucket | log_plus3"))?;
    let cfg = DataConfig {
        format: a.format,
        train: Some(a.file.clone()),
        test: Some(a.file.clone()),
        max_rows: a.max_rows,
        // The flag has a default for every format; only Criteo reads it (a
        // data config refuses it elsewhere).
        criteo_integers: if dataset::reads_option(a.format, "criteo_integers") {
            criteo_integers
        } else {
            CriteoIntegers::default()
        },
        ipinyou_usertag: a.usertag,
        cache: false,
        schema,
        ..DataConfig::default()
    };
    cfg.check()?;
    let t = std::time::Instant::now();
    let r = inspect(&cfg, &a.file)?;
    if r.rows == 0 && r.bad_rows > 0 {
        anyhow::bail!(
            "{}: no row parses as --format {} ({} malformed rows; first: {}); is it another format?",
            a.file.display(),
            a.format.as_str(),
            r.bad_rows,
            r.first_errors.first().map_or("", String::as_str)
        );
    }
    if a.json {
        ctr_run::outln!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    ctr_run::outln!("file        {}", r.file);
    ctr_run::outln!("rows        {}", r.rows);
    ctr_run::outln!("clicks      {} (rate {:.4})", r.clicks, r.click_rate);
    ctr_run::outln!("bad rows    {}", r.bad_rows);
    for e in &r.first_errors {
        ctr_run::outln!("  {e}");
    }
    ctr_run::outln!("features    {} (distinct (field, value) pairs)", r.features);
    // Values of each field occurring at least k times: what `min_count = k` keeps.
    let mut head = format!("{:<18} {:>12}", "field", "distinct");
    for t in &FREQUENCY_THRESHOLDS[1..] {
        head.push_str(&format!(" {:>10}", format!(">={t}x")));
    }
    ctr_run::outln!("{head}");
    for (name, at_least) in &r.frequency {
        let mut line = format!("{name:<18}");
        for n in at_least {
            let width = if line.len() == 18 { 13 } else { 11 };
            line.push_str(&format!("{n:>width$}"));
        }
        ctr_run::outln!("{line}");
    }
    ctr_run::outln!(
        "(distinct = values seen; >=Kx = values seen at least K times, what min_count = K keeps)"
    );
    if dataset::paper_split(a.format) == dataset::PaperSplit::LastDay {
        ctr_run::outln!(
            "(hour: the raw value is YYMMDDHH; the feature is the hour of day HH, the day YYMMDD is what split = \"paper\" splits by)"
        );
    }
    if !r.dense.is_empty() {
        ctr_run::outln!("{:<18} {:>12} {:>12} {:>12}", "dense", "min", "max", "mean");
        for d in &r.dense {
            ctr_run::outln!(
                "{:<18} {:>12.4} {:>12.4} {:>12.4}",
                d.name,
                d.min,
                d.max,
                d.mean
            );
        }
    }
    eprintln!("({:.2}s)", t.elapsed().as_secs_f64());
    Ok(())
}
