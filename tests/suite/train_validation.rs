//! The validation split and early stopping (docs/validation.md), through the
//! binary, on streams whose best evaluation is known by construction: one
//! categorical value `a` whose label is 1 for the first half of the
//! training stream and 0 for the second, validated on rows labelled 1, so
//! the validation logloss falls while the model learns "a -> 1" and rises
//! once it unlearns it; the best state is the one at the flip.

use std::path::{Path, PathBuf};

use crate::cli_common::{json, path, run_ok, TomlConfig};

/// Lines of `click,f`, every value `a`, with the given labels.
fn write_csv(path: &Path, labels: impl Iterator<Item = u8>) {
    let mut s = String::from("click,f\n");
    for y in labels {
        s += &format!("{y},a\n");
    }
    std::fs::write(path, s).unwrap();
}

fn write_config(dir: &Path, name: &str, train: &str) -> PathBuf {
    write_config_with(dir, name, train, "")
}

/// Logistic regression with SGD on `click,f` files in `dir`, validated on
/// `ones.csv`; `extra` in `[train]`.
fn write_config_with(dir: &Path, name: &str, train: &str, extra: &str) -> PathBuf {
    TomlConfig::new()
        .set("name", name)
        .set("seed", 3)
        .set("threads", 1)
        .set("output", path(dir))
        .set("data.format", "custom")
        .set("data.train", path(&dir.join(train)))
        .set("data.test", path(&dir.join("ones.csv")))
        .set("data.valid_path", path(&dir.join("ones.csv")))
        .set("data.cache", false)
        .set("data.schema.label", "click")
        .set("data.schema.categorical", vec!["f"])
        .set("model.kind", "lr")
        .optimizer("sgd", 0.05)
        .set("train.batch_size", 100)
        .set("train.log_every", 4)
        .raw("train", extra)
        .write(&dir.join(format!("{name}.toml")))
}

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // 20 batches of "a -> 1", then 20 of "a -> 0".
    write_csv(&d.join("flip.csv"), (0..4000).map(|i| (i < 2000) as u8));
    write_csv(&d.join("ones.csv"), std::iter::repeat_n(1, 300));
    write_csv(&d.join("zeros.csv"), std::iter::repeat_n(0, 1000));
    tmp
}

fn train(cfg: &Path) -> serde_json::Value {
    run_ok(&["train", "-q", "-c", cfg.to_str().unwrap()]);
    // The run folder is `output/name`, beside the config here.
    json(&cfg.with_extension("").join("metrics.json"))
}

#[test]
fn early_stopping_stops_patience_evaluations_after_the_planted_best_batch() {
    let tmp = setup();
    let d = tmp.path();
    let cfg = write_config_with(
        d,
        "flip",
        "flip.csv",
        "eval_every = 2\npatience = 3\nrestore_best = true",
    );
    let m = train(&cfg);
    // Evaluations at batches 2, 4, ..., 20 improve; 22, 24, 26 do not.
    assert_eq!(m["best_step"], 20);
    assert_eq!(m["stopped_early"], true);
    assert_eq!(m["train_batches"], 26);
    // The test file is the validation file: the restored best state scores
    // exactly the best validation logloss on it.
    assert_eq!(m["logloss"], m["valid_logloss"]);
    assert!(m["valid_auc"].is_null(), "one class: AUC undefined");
    let curve = std::fs::read_to_string(d.join("flip/curve.csv")).unwrap();
    let lines: Vec<&str> = curve.lines().collect();
    assert_eq!(
        lines[0],
        "batch,samples,loss,auc,seconds,epoch,valid_auc,valid_logloss"
    );
    // Batches 2..=26 every 2 (13) and 4..=24 every 4 (6, merged into 6 of them): 13 rows.
    assert_eq!(lines.len(), 1 + 13);
    let vloss: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(vloss[..10].windows(2).all(|w| w[1] < w[0]), "{vloss:?}");
    assert!(vloss[10..].iter().all(|&v| v > vloss[9]), "{vloss:?}");
    assert!(lines[10].starts_with("20,2000,"), "{}", lines[10]);

    // Without restore_best the test scores the last state, worse than the best.
    let last = write_config_with(
        d,
        "flip_last",
        "flip.csv",
        "eval_every = 2\npatience = 3\nrestore_best = false",
    );
    let m2 = train(&last);
    assert_eq!(m2["train_batches"], 26);
    assert_eq!(m2["logloss"], m2["valid_logloss"]);
    assert!(m2["logloss"].as_f64().unwrap() > m["logloss"].as_f64().unwrap());
}

#[test]
fn per_epoch_early_stopping_stops_after_the_planted_best_epoch() {
    let tmp = setup();
    let d = tmp.path();
    // Training on "a -> 0" makes the "a -> 1" validation worse every epoch:
    // the first epoch's end is the best; patience 2 stops after epoch 3.
    let cfg = write_config_with(d, "zeros", "zeros.csv", "epochs = 8\npatience = 2");
    let m = train(&cfg);
    assert_eq!(m["best_step"], 10);
    assert_eq!(m["stopped_early"], true);
    assert_eq!(m["train_batches"], 30);
    assert_eq!(m["logloss"], m["valid_logloss"]);
    let curve = std::fs::read_to_string(d.join("zeros/curve.csv")).unwrap();
    let epochs: Vec<&str> = curve
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (!f[7].is_empty()).then_some(f[5])
        })
        .collect();
    assert_eq!(epochs, ["1", "2", "3"]);
}

#[test]
fn without_validation_the_keys_are_null_and_the_curve_unchanged() {
    let tmp = setup();
    let d = tmp.path();
    let text = std::fs::read_to_string(write_config(d, "plain", "flip.csv"))
        .unwrap()
        .replace("valid_path", "# valid_path");
    std::fs::write(d.join("plain.toml"), text).unwrap();
    let m = train(&d.join("plain.toml"));
    assert!(m["valid_auc"].is_null() && m["valid_logloss"].is_null());
    assert!(m["best_step"].is_null());
    assert_eq!(m["stopped_early"], false);
    assert_eq!(m["train_batches"], 40);
    let curve = std::fs::read_to_string(d.join("plain/curve.csv")).unwrap();
    assert!(curve.starts_with("batch,samples,loss,auc,seconds\n"));
}

#[test]
fn patience_without_a_validation_split_is_refused() {
    let tmp = setup();
    let d = tmp.path();
    let text = std::fs::read_to_string(write_config_with(d, "bad", "flip.csv", "patience = 2"))
        .unwrap()
        .replace("valid_path", "# valid_path");
    std::fs::write(d.join("bad.toml"), text).unwrap();
    let out = crate::cli_common::bin()
        .args(["train", "-q", "-c", d.join("bad.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train.patience needs a validation split"),
        "{err}"
    );
}

/// `curve.csv` without its timing column (index 4).
fn curve_untimed(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("curve.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(4);
            f.join(",")
        })
        .collect()
}

#[test]
fn a_resumed_run_stops_at_the_same_batch_with_the_same_best_state() {
    let tmp = setup();
    let d = tmp.path();
    let extra = "eval_every = 2\npatience = 3\ncheckpoint_every = 5\npredictions = true";
    let reference = train(&write_config_with(d, "full", "flip.csv", extra));
    let cfg = write_config_with(d, "cut", "flip.csv", extra);
    train(&cfg);
    // Drop the final state and the outputs: the newest checkpoint left is
    // batch 25, with evaluations 22 and 24 since the best (20).
    let run = d.join("cut");
    let ck = run.join("checkpoints");
    let mut saved: Vec<_> = std::fs::read_dir(&ck)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    saved.sort();
    for p in saved
        .iter()
        .filter(|p| p.to_string_lossy().contains("checkpoint-0000000026"))
    {
        std::fs::remove_file(p).unwrap();
    }
    assert!(ck.join("checkpoint-0000000025.json").exists());
    for f in ["metrics.json", "curve.csv", "predictions.csv"] {
        std::fs::remove_file(run.join(f)).unwrap();
    }
    run_ok(&["train", "-q", "--resume", run.to_str().unwrap()]);
    let resumed = json(&run.join("metrics.json"));
    for key in [
        "logloss",
        "valid_logloss",
        "best_step",
        "stopped_early",
        "train_batches",
        "train_loss",
    ] {
        assert_eq!(reference[key], resumed[key], "metrics.json `{key}` differs");
    }
    assert_eq!(resumed["train_batches"], 26);
    assert_eq!(curve_untimed(&d.join("full")), curve_untimed(&run));
    assert_eq!(
        std::fs::read(d.join("full/predictions.csv")).unwrap(),
        std::fs::read(run.join("predictions.csv")).unwrap()
    );
}
