//! A run whose loss or test scores stop being finite, or whose loss
//! explodes past the largest logloss of one row, stops with an error naming
//! the batch and the last finite loss and leaves no `metrics.json`; a sweep
//! lists such a job as failed in `runs.csv`, and `tables` names it in its
//! notes instead of averaging it in.

use std::path::{Path, PathBuf};

use crate::cli_common::{bin, have_avazu_sample, TomlConfig};

/// An MLP on the Avazu sample with Adam at learning rate `lr`.
fn write_config(dir: &Path, name: &str, lr: &str, extra_train: &str) -> PathBuf {
    TomlConfig::on_avazu_sample(dir, name)
        .set("model.kind", "mlp")
        .set("optimizer.name", "adam")
        .set_raw("optimizer.lr", lr)
        .raw("train", extra_train)
        .write(&dir.join(format!("{name}.toml")))
}

/// `ctr-run train -q -c CONFIG`, which must fail; its standard error.
fn train_fails(config: &Path) -> String {
    let out = bin()
        .args(["train", "-q", "-c", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a diverged run exited 0");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_nan_loss_stops_the_run_at_its_batch_with_the_last_finite_loss() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "nan", "1e30", "");
    let err = train_fails(&cfg);
    assert_eq!(
        err,
        "error: training diverged at batch 2: loss is NaN; last finite loss 0.692423 at batch 1; lower the learning rate\n"
    );
    assert!(!tmp.path().join("nan/metrics.json").exists());
    assert!(tmp.path().join("nan/config.toml").exists());
}

#[test]
fn a_loss_above_the_largest_logloss_of_one_row_stops_the_run_naming_the_epoch() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "explode", "0.3", "epochs = 3");
    let err = train_fails(&cfg);
    assert_eq!(
        err,
        "error: training diverged at batch 2 (epoch 1): loss 4.4001e1 is above 16.1181, the largest logloss of one row (-ln 1e-7); last finite loss 0.692423 at batch 1; lower the learning rate\n"
    );
    assert!(!tmp.path().join("explode/metrics.json").exists());
}

#[test]
fn a_sweep_lists_a_diverged_job_as_failed_and_tables_leave_it_out() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = write_config(tmp.path(), "base", "0.001", "");
    let out_dir = tmp.path().join("sw");
    // The base's name and output are the sweep's business.
    let text = std::fs::read_to_string(&base)
        .unwrap()
        .replace("name = \"base\"\n", "")
        .replace(
            &format!("output = \"{}\"", tmp.path().display()),
            &format!("output = \"{}\"", out_dir.display()),
        );
    std::fs::write(&base, text).unwrap();
    // Table 4's folder: every setting of it becomes a row.
    let sweep = tmp.path().join("sweep.toml");
    std::fs::write(
        &sweep,
        "base = \"base.toml\"\nname = \"criteo_table4\"\nrepeats = 1\n[axes]\n\"optimizer.lr\" = [0.001, 1e30]\n",
    )
    .unwrap();
    let out = bin()
        .args(["sweep", "--quiet", "--config", sweep.to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success());
    assert!(
        stdout.contains("2 jobs, 2 in shard 1/1, 0 already finished, 1 ran, 1 failed"),
        "{stdout}"
    );
    assert!(stderr.ends_with("error: 1 of 2 runs failed\n"), "{stderr}");
    let failed_job = "optimizer.lr=1000000000000000000000000000000.0,seed=1";
    let job_dir = out_dir.join("criteo_table4/runs").join(failed_job);
    assert!(!job_dir.join("metrics.json").exists());
    let error = format!(
        "exit status: 1: error: training diverged at batch 2: loss is NaN; last finite loss 0.692754 at batch 1; lower the learning rate (see {})",
        job_dir.join("log.txt").display()
    );

    // runs.csv: the finished job with its numbers, the failed one without.
    let mut rd = csv::Reader::from_path(out_dir.join("criteo_table4/runs.csv")).unwrap();
    let head = rd.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][col("run")], "runs/optimizer.lr=0.001,seed=1");
    assert_eq!(&rows[0][col("status")], "finished");
    assert!(rows[0][col("auc")].parse::<f64>().unwrap() > 0.5);
    assert_eq!(&rows[1][col("run")], &format!("runs/{failed_job}"));
    assert_eq!(&rows[1][col("status")], "failed");
    assert_eq!(&rows[1][col("note")], error);
    for metric in [
        "auc",
        "logloss",
        "feature_rate",
        "train_samples",
        "test_samples",
    ] {
        assert_eq!(&rows[1][col(metric)], "", "{metric}");
    }

    // tables: one row (the finished job), the failed job in the notes and
    // in the command's output.
    let tables = tmp.path().join("tables");
    let out = bin()
        .args([
            "tables",
            "--runs",
            out_dir.to_str().unwrap(),
            "--out",
            tables.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("failed  {}: {error}\n", job_dir.display())),
        "{stdout}"
    );
    let md = std::fs::read_to_string(tables.join("table4.md")).unwrap();
    assert_eq!(md.matches("| adam |").count(), 1, "{md}");
    assert!(
        md.contains(&format!(
            "FAILED, left out: criteo_table4/{failed_job}: {error}"
        )),
        "{md}"
    );
    let mut rd = csv::Reader::from_path(tables.join("runs.csv")).unwrap();
    let statuses: Vec<String> = rd
        .records()
        .map(|r| r.unwrap()[col("status")].to_string())
        .collect();
    assert_eq!(statuses, ["finished", "failed"]);
}

#[test]
fn weights_blown_up_by_the_last_update_stop_the_evaluation_at_its_batch() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // One batch: its loss is finite, the update after it is not.
    let cfg = write_config(tmp.path(), "eval", "1e30", "max_batches = 1");
    let err = train_fails(&cfg);
    assert_eq!(
        err,
        "error: evaluation: test batch 1, row 1: the score is NaN; the trained model's weights are not finite (training diverged)\n"
    );
    assert!(!tmp.path().join("eval/metrics.json").exists());
}

#[test]
fn a_diverged_pruning_run_stops_the_same_way() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "prune", "1e30", "");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text += "[prune]\ntarget_rate = 0.2\nfinetune = [0.0, 0.1]\n";
    std::fs::write(&cfg, text).unwrap();
    let err = train_fails(&cfg);
    assert_eq!(
        err,
        "error: training diverged at batch 2: loss is NaN; last finite loss 0.692423 at batch 1; lower the learning rate\n"
    );
    let run = tmp.path().join("prune");
    assert!(!run.join("metrics.json").exists());
    assert!(!run.join("finetune-0/metrics.json").exists());
    assert!(!run.join("finetune-0.1/metrics.json").exists());
}
