//! The magnitude-pruning baseline through the binary (docs/metrics.md): every
//! fraction reaches the target feature rate; sharing one training pass
//! between the fractions gives exactly what each fraction gives alone; with
//! a validation split every fraction is scored on it too; and a pruning run
//! killed at a random point resumes to the same results.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli_common::{bin, json, run_capture, run_ok, TomlConfig};

/// A pruning run of an MLP with Adam on 60,000 synthetic Avazu rows
/// (48,000 train), checkpoints every 20 batches, dropout on.
fn write_config(dir: &Path, name: &str, finetune: &str) -> PathBuf {
    write_config_with(dir, name, finetune, "")
}

/// `write_config` with more `[data]` lines (`data`).
fn write_config_with(dir: &Path, name: &str, finetune: &str, data: &str) -> PathBuf {
    TomlConfig::on_synthetic(dir, 60000)
        .set("name", name)
        .set("seed", 5)
        .set("data.synthetic.seed", 3)
        .set("model.kind", "mlp")
        .set("model.hidden", vec![32, 16])
        .set("model.dropout", 0.1)
        .optimizer("adam", 0.003)
        .set("train.batch_size", 128)
        .set("train.log_every", 10)
        .set("train.checkpoint_every", 20)
        .set("prune.target_rate", 0.2)
        .set_raw("prune.finetune", finetune)
        .raw("data", data)
        .write(&dir.join(format!("{name}.toml")))
}

/// `prune.csv` rows: (finetune, auc, logloss, nonzero, seen), as text so
/// equality is exact.
fn rows(run: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(run.join("prune.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn every_fraction_reaches_the_target_and_the_shared_pass_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let all = write_config(tmp.path(), "all", "[0.0, 0.1, 0.3]");
    run_ok(&["train", "-q", "-c", all.to_str().unwrap()]);
    let run = tmp.path().join("all");
    let table = rows(&run);
    assert_eq!(table.len(), 3);
    let mut best = (f64::NEG_INFINITY, String::new());
    for (row, r) in table.iter().zip(["0", "0.1", "0.3"]) {
        assert_eq!(row[0], r, "prune.csv keeps the configured order");
        let m = json(&run.join(format!("finetune-{r}/metrics.json")));
        let (nonzero, seen) = (
            m["nonzero_features"].as_u64().unwrap(),
            m["seen_features"].as_u64().unwrap(),
        );
        // Pruned to round(0.2 * seen) rows after the fine-tune.
        assert_eq!(nonzero, (0.2 * seen as f64).round() as u64, "r={r}");
        assert!(seen > 1000, "r={r}: {seen} features seen");
        assert_eq!(row[5], nonzero.to_string());
        // No validation split: no validation columns.
        assert_eq!(row[7..], ["", ""], "r={r}");
        assert!(m["valid_auc"].is_null() && m["valid_logloss"].is_null());
        let auc: f64 = row[2].parse().unwrap();
        assert!(auc > 0.6, "r={r}: AUC {auc}");
        if auc > best.0 {
            best = (auc, r.to_string());
        }
        // Each fraction alone (its own training pass) gives the same
        // numbers, bit for bit.
        let name = format!("alone-{r}");
        let alone = write_config(tmp.path(), &name, &format!("[{r}]"));
        run_ok(&["train", "-q", "-c", alone.to_str().unwrap()]);
        let solo = rows(&tmp.path().join(&name));
        assert_eq!(solo.len(), 1);
        assert_eq!(solo[0], *row, "r={r}: shared pass vs alone");
    }
    // The run's own metrics are the first configured fraction's, not the
    // best by this seed's test AUC (that selects on the test set; tables
    // choose r over all seeds); its checkpoints (the unpruned state at a
    // boundary) are gone.
    assert_ne!(
        best.1, "0",
        "the test shows the best fraction is not reported"
    );
    let m = json(&run.join("metrics.json"));
    assert_eq!(m["prune_finetune"].as_f64(), Some(0.0));
    assert_eq!(m["prune_target_rate"].as_f64(), Some(0.2));
    assert!(!run.join("checkpoints").exists());
    assert_eq!(
        std::fs::read(run.join("curve.csv")).unwrap(),
        std::fs::read(run.join("finetune-0/curve.csv")).unwrap()
    );
}

#[test]
fn with_a_validation_split_every_fraction_records_its_validation_auc() {
    let tmp = tempfile::tempdir().unwrap();
    let valid = "valid_fraction = 0.1";
    let all = write_config_with(tmp.path(), "valid", "[0.0, 0.3]", valid);
    let out = run_ok(&[
        "prune",
        "-q",
        "-c",
        all.to_str().unwrap(),
        "--target-rate",
        "0.2",
        "--finetune",
        "0,0.3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("valid AUC 0.").count(), 2, "{stdout}");
    let run = tmp.path().join("valid");
    let table = rows(&run);
    let mut seen = Vec::new();
    for (row, r) in table.iter().zip(["0", "0.3"]) {
        let m = json(&run.join(format!("finetune-{r}/metrics.json")));
        let (auc, logloss) = (
            m["valid_auc"].as_f64().unwrap(),
            m["valid_logloss"].as_f64().unwrap(),
        );
        assert!(auc > 0.6 && auc < 1.0, "r={r}: validation AUC {auc}");
        assert!(
            logloss > 0.0 && logloss < 1.0,
            "r={r}: validation logloss {logloss}"
        );
        assert_ne!(
            Some(auc),
            m["auc"].as_f64(),
            "r={r}: validation is not the test split"
        );
        // prune.csv carries the same numbers, last.
        assert_eq!(row[7].parse::<f64>().unwrap(), auc, "r={r}");
        assert_eq!(row[8].parse::<f64>().unwrap(), logloss, "r={r}");
        seen.push(auc);
    }
    assert_ne!(
        seen[0], seen[1],
        "each fraction's own pruned state is scored"
    );
    assert_eq!(
        json(&run.join("metrics.json"))["valid_auc"].as_f64(),
        Some(seen[0])
    );
    // The shared pass scores each fraction as it would be scored alone.
    let alone = write_config_with(tmp.path(), "valid-alone", "[0.3]", valid);
    run_ok(&["train", "-q", "-c", alone.to_str().unwrap()]);
    assert_eq!(rows(&tmp.path().join("valid-alone"))[0], table[1]);
    // Early stopping has no place in a prune run: refused, not ignored.
    let (ok, _, err) = run_capture(&[
        "prune",
        "-q",
        "-c",
        all.to_str().unwrap(),
        "--target-rate",
        "0.2",
        "--set",
        "train.patience=2",
    ]);
    assert!(!ok);
    assert!(
        err.contains("train.patience has no effect in a prune run"),
        "{err}"
    );
}

#[test]
fn matching_group_runs_with_another_validation_split_is_refused() {
    // A finished Group Adam run that held 10% of its training rows out
    // for validation; the baseline (no validation split) would train on
    // more rows than it did.
    let tmp = tempfile::tempdir().unwrap();
    let group = tmp
        .path()
        .join("table2/runs/optimizer.lambda21=0.001,seed=1");
    std::fs::create_dir_all(&group).unwrap();
    std::fs::write(
        group.join("config.toml"),
        "name = \"g\"\n[data]\nformat = \"avazu\"\ntrain = \"x.csv\"\nvalid_fraction = 0.1\n[model]\nkind = \"lr\"\n[optimizer]\nname = \"group_adam\"\nlambda21 = 0.001\n",
    )
    .unwrap();
    std::fs::write(
        group.join("metrics.json"),
        r#"{"auc": 0.7, "logloss": 0.5, "feature_rate": 0.1, "nonzero_features": 10, "seen_features": 100,
"train_samples": 800, "test_samples": 200, "wall_seconds": 1.0, "train_samples_per_second": 800.0}"#,
    )
    .unwrap();
    let base = write_config(tmp.path(), "base", "[0.0]");
    let runs = tmp.path().join("table2/runs");
    let (ok, _, err) = run_capture(&[
        "prune",
        "-q",
        "-c",
        base.to_str().unwrap(),
        "--match-runs",
        runs.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("seed=1 has data.valid_fraction = 0.1, but ")
            && err.contains("base.toml has no validation split"),
        "{err}"
    );
    assert!(!tmp.path().join("base").exists(), "nothing ran");
}

#[test]
fn a_pruning_run_killed_at_a_random_point_resumes_to_the_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    let finetune = "[0.0, 0.2, 0.4]";
    let reference = write_config(tmp.path(), "reference", finetune);
    let t0 = Instant::now();
    run_ok(&["train", "-q", "-c", reference.to_str().unwrap()]);
    let took = t0.elapsed();

    let killed = write_config(tmp.path(), "killed", finetune);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    // After the first checkpoint (so there is a run to resume), then
    // somewhere in the next 80% of a full run's time.
    let delay = took.mul_f64((seed % 800) as f64 / 1000.0);
    let mut child = bin()
        .args(["train", "-q", "-c", killed.to_str().unwrap()])
        .spawn()
        .unwrap();
    let run = tmp.path().join("killed");
    while std::fs::read_dir(run.join("checkpoints")).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before its first checkpoint"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let done: Vec<bool> = ["0", "0.2", "0.4"]
        .iter()
        .map(|r| run.join(format!("finetune-{r}/metrics.json")).exists())
        .collect();
    eprintln!("killed after {delay:?} of {took:?}; fractions finished then: {done:?}");
    let wait = Instant::now();
    run_ok(&["train", "-q", "--resume", run.to_str().unwrap()]);
    assert!(wait.elapsed() < Duration::from_secs(600));
    assert_eq!(rows(&run), rows(&tmp.path().join("reference")));
    let (a, b) = (
        json(&run.join("metrics.json")),
        json(&tmp.path().join("reference/metrics.json")),
    );
    for key in [
        "auc",
        "logloss",
        "feature_rate",
        "train_samples",
        "prune_finetune",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
}
