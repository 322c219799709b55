//! `ctr-run gen`: write a synthetic file in a raw format, with its ground truth.

use ctr_run::data::{generate, informative_keys, truth_path, Format, Knobs};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct GenArgs {
    /// avazu | criteo | criteo_csv | ipinyou
    #[arg(long)]
    pub format: Format,
    /// Data rows to write (the header, where the format has one, is extra).
    #[arg(long)]
    pub rows: u64,
    /// Seed of the ground truth (the planted model) and of the rows.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file; gzip-compressed when it ends in .gz. The ground truth goes to OUT.truth.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Target click rate (default: the real data's: Avazu 0.17, Criteo 0.25, iPinYou 0.001).
    #[arg(long)]
    pub click_rate: Option<f64>,
    /// Standard deviation of an informative value's logit weight.
    #[arg(long)]
    pub signal: Option<f64>,
    /// Number of fields that carry signal (default: a third of them).
    #[arg(long)]
    pub informative_fields: Option<usize>,
    /// In an informative field, this many most frequent values carry signal.
    #[arg(long)]
    pub informative_values: Option<u64>,
    /// Weight std of every value past rank K of an informative field (0 = the tail is noise).
    #[arg(long)]
    pub tail_signal: Option<f64>,
    /// Per-field signal factor exp(field_spread * N(0, 1)) of the informative fields.
    #[arg(long)]
    pub field_spread: Option<f64>,
    /// Zipf exponent of value frequencies (!= 1).
    #[arg(long)]
    pub zipf: Option<f64>,
    /// Multiplies every field's cardinality (1 = the real data's).
    #[arg(long)]
    pub cardinality_scale: Option<f64>,
    /// Avazu: days spanned by `hour`.
    #[arg(long)]
    pub days: Option<u32>,
    /// Another row stream from the same ground truth (e.g. a test file).
    #[arg(long)]
    pub stream: Option<u64>,
}

impl GenArgs {
    pub fn knobs(&self) -> Knobs {
        let d = Knobs::default();
        Knobs {
            click_rate: self.click_rate.or(d.click_rate),
            signal: self.signal.unwrap_or(d.signal),
            informative_fields: self.informative_fields.or(d.informative_fields),
            informative_values: self.informative_values.unwrap_or(d.informative_values),
            tail_signal: self.tail_signal.unwrap_or(d.tail_signal),
            field_spread: self.field_spread.unwrap_or(d.field_spread),
            zipf: self.zipf.unwrap_or(d.zipf),
            cardinality_scale: self.cardinality_scale.unwrap_or(d.cardinality_scale),
            days: self.days.unwrap_or(d.days),
            stream: self.stream.unwrap_or(d.stream),
        }
    }
}

pub fn run(args: &GenArgs) -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    let truth = generate(args.format, args.rows, args.seed, &args.out, &args.knobs())?;
    let informative: Vec<&str> = truth
        .fields
        .iter()
        .filter(|f| f.informative)
        .map(|f| f.name.as_str())
        .collect();
    ctr_run::outln!(
        "wrote {} rows ({} clicks, rate {:.4}; target {:.4}) to {} in {:.1}s",
        truth.rows,
        truth.clicks,
        truth.clicks as f64 / truth.rows as f64,
        truth.target_click_rate,
        args.out.display(),
        t.elapsed().as_secs_f64()
    );
    ctr_run::outln!("informative fields: {}", informative.join(", "));
    let dense: Vec<&str> = truth
        .dense
        .iter()
        .filter(|d| d.informative)
        .map(|d| d.name.as_str())
        .collect();
    if !dense.is_empty() {
        ctr_run::outln!("informative integer columns: {}", dense.join(", "));
    }
    let tail = if args.knobs().tail_signal > 0.0 {
        " (head values; every tail value of these fields carries weight too)"
    } else {
        ""
    };
    ctr_run::outln!(
        "informative features: {}{tail}; ground truth: {}",
        informative_keys(&truth).len(),
        truth_path(&args.out).display()
    );
    Ok(())
}
