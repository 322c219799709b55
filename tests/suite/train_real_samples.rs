//! Issue 4, point 3: on the real samples (80% train, 20% test: row order on
//! Avazu and Criteo, by line hash on iPinYou) every
//! model beats a constant predictor's AUC of 0.5 clearly, with Adam and with
//! Group Adam. Prints the AUC / logloss table that the README quotes.
//! (`cargo test --test suite train_real_samples -- --nocapture`)

use ctr_run::config::RunConfig;
use ctr_run::run::{self, RunOptions};

const DATASETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/datasets");

/// One real-sample case: a model on a dataset sample, with its split and
/// training settings.
struct Case {
    model: &'static str,
    format: &'static str,
    file: &'static str,
    split: &'static str,
    batch: usize,
    epochs: usize,
    lr: f64,
}

const CASES: [Case; 5] = [
    Case {
        model: "lr",
        format: "avazu",
        file: "avazu/avazu_train8k.csv",
        split: "fraction",
        batch: 128,
        epochs: 3,
        lr: 0.05,
    },
    Case {
        model: "mlp",
        format: "avazu",
        file: "avazu/avazu_train8k.csv",
        split: "fraction",
        batch: 128,
        epochs: 3,
        lr: 0.002,
    },
    Case {
        model: "dcn",
        format: "criteo",
        file: "criteo/criteo_train_head2k.txt",
        split: "fraction",
        batch: 64,
        epochs: 5,
        lr: 0.002,
    },
    // OPNN on the Avazu sample: the 10k-row iPinYou sample is too small for
    // the paper's OPNN (AUC 0.60 at 3 epochs, 0.63 at 8).
    Case {
        model: "opnn",
        format: "avazu",
        file: "avazu/avazu_train8k.csv",
        split: "fraction",
        batch: 128,
        epochs: 3,
        lr: 0.002,
    },
    // The iPinYou sample appends its 439 click-log rows at the end (440 of
    // its 442 clicks are in the last 20%): a row-order split would leave 2
    // clicks to train on, so it is split by line hash.
    Case {
        model: "lr",
        format: "ipinyou",
        file: "ipinyou/ipinyou_2821_train_log_10k.txt",
        split: "hashed",
        batch: 128,
        epochs: 5,
        lr: 0.01,
    },
];

fn config(c: &Case, optimizer: &str) -> RunConfig {
    // Adam does not use lambda21 (setting it is refused): 0 is what it ran with.
    let lambda21 = match (optimizer, c.model) {
        ("adam", _) => 0.0,
        (_, "lr") => 1e-4,
        _ => 1e-5,
    };
    let text = format!(
        r#"
name = "{model}-{optimizer}"
seed = 1
threads = 1
[data]
format = "{format}"
train = "{DATASETS}/{file}"
split = "{split}"
train_fraction = 0.8
cache = false
[model]
kind = "{model}"
[optimizer]
name = "{optimizer}"
lr = {lr}
lambda21 = {lambda21}
[train]
batch_size = {batch}
epochs = {epochs}
progress = false
"#,
        model = c.model,
        format = c.format,
        file = c.file,
        split = c.split,
        lr = c.lr,
        batch = c.batch,
        epochs = c.epochs,
    );
    RunConfig::parse(&text).unwrap()
}

#[test]
fn every_model_beats_a_constant_predictor_on_the_real_samples() {
    if !std::path::Path::new(DATASETS).exists() {
        eprintln!("skipped: {DATASETS} not found");
        return;
    }
    println!("| model | data (split) | optimizer | AUC | logloss | feature rate |");
    println!("|---|---|---|---|---|---|");
    for case in &CASES {
        let (model, data) = (case.model, format!("{} ({})", case.format, case.split));
        for optimizer in ["adam", "group_adam"] {
            let cfg = config(case, optimizer);
            let m = run::run(
                &cfg,
                &RunOptions {
                    dry: true,
                    quiet: true,
                    ..Default::default()
                },
            )
            .unwrap();
            let auc = m.auc.unwrap();
            println!(
                "| {model} | {data} | {optimizer} | {auc:.4} | {:.4} | {:.3} |",
                m.logloss, m.feature_rate
            );
            assert!(
                auc > 0.6,
                "{model} on {data} + {optimizer}: AUC {auc} does not clearly beat 0.5"
            );
            assert!(m.logloss.is_finite());
        }
    }
}
