//! `ctr-run bench --model mlp --optimizer group_adam`: end-to-end training
//! throughput on synthetic data in the model's dataset format, with where
//! the time goes (per phase) and what the embedding rows cost in memory.

use anyhow::Result;

use ctr_run::config::{RunConfig, TrainConfig};
use ctr_run::data::{DataConfig, SyntheticConfig};
use ctr_run::model::{DeviceSpec, ModelConfig, ModelKind};
use ctr_run::optim::{OptimizerConfig, OptimizerName};
use ctr_run::run::{self, RunOptions};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Model: mlp (Avazu format), opnn (iPinYou), dcn (Criteo), lr (Avazu).
    #[arg(long, default_value = "mlp")]
    pub model: String,
    /// Optimizer of the embeddings.
    #[arg(long, default_value = "group_adam")]
    pub optimizer: String,
    /// l2,1 strength (Group optimizers).
    #[arg(long, default_value_t = 0.0)]
    pub lambda21: f32,
    /// A raw data file in the model's format to train on (first 90%) instead
    /// of generated data; `scripts/bench_torch.py --data` reads the same file.
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Synthetic rows to generate (without --data).
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Worker threads (the rayon pool).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Samples per batch.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Where the dense model computes: cpu | cuda | cuda:N.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: DeviceSpec,
    /// Timed repetitions (after one warm-up run that also fills the cache).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| anyhow::anyhow!("unknown {what} `{s}`"))
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let kind: ModelKind = parse_enum("model", &args.model)?;
    let name: OptimizerName = parse_enum("optimizer", &args.optimizer)?;
    let format = ctr_run::data::dataset::bench_format(kind.as_str())
        .ok_or_else(|| anyhow::anyhow!("no bench dataset for model `{kind}`"))?;
    let cfg = RunConfig {
        name: format!("bench-{}-{}", args.model, args.optimizer),
        seed: 1,
        threads: args.threads,
        output: std::env::temp_dir(),
        device: args.device,
        data: DataConfig {
            split: ctr_run::data::SplitKind::Fraction,
            train_fraction: 0.9,
            ..match &args.data {
                Some(path) => DataConfig::for_file(format, path),
                None => DataConfig {
                    format,
                    synthetic: Some(SyntheticConfig {
                        rows: args.rows,
                        seed: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            }
        },
        model: ModelConfig::default_for(kind),
        optimizer: OptimizerConfig {
            name,
            lambda21: args.lambda21,
            ..OptimizerConfig::named(name)
        },
        dense_optimizer: None,
        train: TrainConfig {
            batch_size: args.batch,
            progress: false,
            ..Default::default()
        },
        prune: None,
    };
    cfg.check()?;
    super::init_threads(cfg.threads);
    let opts = RunOptions {
        dry: true,
        quiet: true,
        resume: false,
    };
    eprintln!("warm-up (generates the data and its cache on first use) ...");
    run::run(&cfg, &opts)?;
    let mut runs = Vec::new();
    for i in 0..args.repeat.max(1) {
        let m = run::run(&cfg, &opts)?;
        eprintln!("run {}: {:.0} samples/s", i + 1, m.train_samples_per_second);
        runs.push(m);
    }
    runs.sort_by(|a, b| {
        a.train_samples_per_second
            .total_cmp(&b.train_samples_per_second)
    });
    let m = &runs[runs.len() / 2];
    ctr_run::outln!(
        "{} + {} | {} | {} threads, batch {} | {} train samples",
        args.model,
        args.optimizer,
        args.device,
        args.threads,
        args.batch,
        m.train_samples
    );
    ctr_run::outln!(
        "throughput (median of {}): {:.0} samples/s",
        runs.len(),
        m.train_samples_per_second
    );
    ctr_run::outln!(
        "training loop: {:.2} s, CPU {:.2} s = {:.2} cores busy (of {} threads); less {:.2} s spin-waiting: {:.2} cores working",
        m.train_seconds,
        m.train_cpu_seconds,
        m.train_cores_busy,
        args.threads,
        m.train_spin_cpu_seconds,
        m.train_cores_working
    );
    ctr_run::outln!("per-phase time (us per sample):");
    let samples = m.train_samples.max(1) as f64;
    for (phase, secs) in m.phases.rows() {
        if phase != "evaluate" && secs > 0.0 {
            ctr_run::outln!("  {phase:<18} {:>8.3}", secs * 1e6 / samples);
        }
    }
    ctr_run::outln!(
        "test: AUC {}  logloss {:.5}  feature rate {:.4}",
        m.auc
            .map(|a| format!("{a:.5}"))
            .unwrap_or_else(|| "n/a".into()),
        m.logloss,
        m.feature_rate
    );
    let rows = m.embedding_rows.max(1) as f64;
    ctr_run::outln!(
        "embedding memory: {} rows, {:.1} B/row needed (weights + slots), {:.1} B/row held ({:.3}x); peak RSS {:.1} MiB",
        m.embedding_rows,
        m.embedding_needed_bytes as f64 / rows,
        m.embedding_held_bytes as f64 / rows,
        m.embedding_held_bytes as f64 / m.embedding_needed_bytes.max(1) as f64,
        m.peak_rss_bytes.unwrap_or(0) as f64 / (1 << 20) as f64
    );
    Ok(())
}
