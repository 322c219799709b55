//! Every command that prints to stdout survives a closed stdout
//! (`ctr-run ... | head -1`): no panic, the work is done in full, exit 0.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::cli_common::{bin, ctr_run, path, write_lambda21_sweep, TomlConfig};

/// Run `ctr-run ARGS` with the read end of its stdout closed before it
/// prints anything.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

fn assert_quiet_success(args: &[&str]) {
    let out = with_closed_stdout(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "ctr-run {args:?}: {stderr}");
    assert!(
        !stderr.contains("Broken pipe"),
        "ctr-run {args:?}: {stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "ctr-run {args:?}: {stderr}");
}

fn write_config(dir: &Path, data: &Path) -> String {
    let p = TomlConfig::lr_on(&dir.join("results"), "run", data)
        .set("threads", 1)
        .optimizer("group_adam", 0.01)
        .set("optimizer.lambda21", 0.001)
        .set("train.batch_size", 256)
        .set("train.save_model", true)
        .write(&dir.join("run.toml"));
    write_lambda21_sweep(dir, "run.toml", "repeats = 1");
    path(&p)
}

#[test]
fn every_printing_command_survives_a_closed_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let data = d.join("a.csv");
    let data_s = data.to_str().unwrap();
    assert_quiet_success(&[
        "gen", "--format", "avazu", "--rows", "3000", "--seed", "1", "--out", data_s,
    ]);
    assert!(data.exists());
    assert_quiet_success(&["data", "inspect", data_s, "--format", "avazu"]);
    assert_quiet_success(&["data", "inspect", data_s, "--format", "avazu", "--json"]);
    let cfg = write_config(d, &data);
    assert_quiet_success(&["train", "-q", "--config", &cfg]);
    // The work behind the closed pipe was done in full.
    let run = d.join("results/run");
    assert!(run.join("metrics.json").exists());
    let run_s = run.to_str().unwrap();
    let model = d.join("m.safetensors");
    assert_quiet_success(&["export", "--run", run_s, "--out", model.to_str().unwrap()]);
    assert!(model.exists());
    let scores = d.join("s.csv");
    assert_quiet_success(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data_s,
        "--out",
        scores.to_str().unwrap(),
    ]);
    assert!(scores.exists());
    let sweep = d.join("sweep.toml");
    let sweep_s = sweep.to_str().unwrap();
    assert_quiet_success(&["sweep", "--config", sweep_s, "--dry-run"]);
    assert_quiet_success(&["sweep", "--quiet", "--config", sweep_s]);
    let listed = ctr_run(&["sweep", "--config", sweep_s, "--dry-run"]);
    assert_eq!(listed.matches("finished").count(), 2, "{listed}");
    let results = d.join("results");
    assert_quiet_success(&["tables", "--runs", results.to_str().unwrap()]);
    assert_quiet_success(&[
        "bench",
        "--model",
        "lr",
        "--optimizer",
        "adam",
        "--data",
        data_s,
        "--rows",
        "3000",
        "--threads",
        "1",
        "--batch",
        "256",
        "--repeat",
        "1",
    ]);
}
