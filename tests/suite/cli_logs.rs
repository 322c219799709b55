//! Logs without a terminal (the tests' stderr is a pipe): `train` prints a
//! progress line every `train.log_seconds`, a sweep one line per finished
//! job and a summary.

use std::path::Path;

use crate::cli_common::{bin, write_lambda21_sweep, write_lr_base};

fn base(dir: &Path) -> String {
    write_lr_base(dir, 200)
}

fn stderr_of(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("binary runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

/// `train: 400/1600 samples (25.0%), 5120 samples/s, loss 0.45120, ETA 2s`
fn check_line(line: &str) -> u64 {
    let rest = line
        .strip_prefix("train: ")
        .unwrap_or_else(|| panic!("{line}"));
    let parts: Vec<&str> = rest.split(", ").collect();
    assert_eq!(parts.len(), 4, "{line}");
    let (done, total) = parts[0]
        .split_once(" samples")
        .unwrap()
        .0
        .split_once('/')
        .unwrap();
    let (done, total): (u64, u64) = (done.parse().unwrap(), total.parse().unwrap());
    assert_eq!(total, 1600, "{line}"); // 80% of 2000 rows
    assert_eq!(done % 200, 0, "{line}");
    let pct = format!("({:.1}%)", 100.0 * done as f64 / total as f64);
    assert!(parts[0].ends_with(&pct), "{line}");
    let rate = parts[1].strip_suffix(" samples/s").unwrap();
    assert!(rate.parse::<u64>().is_ok(), "an integer rate: {line}");
    let loss: f64 = parts[2].strip_prefix("loss ").unwrap().parse().unwrap();
    assert!(loss > 0.0 && loss < 2.0, "{line}");
    assert!(
        parts[3].starts_with("ETA ") && parts[3].ends_with('s'),
        "{line}"
    );
    done
}

#[test]
fn train_without_a_terminal_prints_progress_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path());
    // The cache's meta gives the total (no pass over the rows for it).
    let err = stderr_of(&[
        "train",
        "--config",
        &cfg,
        "--set",
        "train.log_seconds=1e-9",
        "--set",
        "data.cache=true",
    ]);
    let done: Vec<u64> = err
        .lines()
        .filter(|l| l.starts_with("train: "))
        .map(check_line)
        .collect();
    // Every batch is past a 1 ns interval: one line per batch, in order.
    assert_eq!(done, (1..=8).map(|b| b * 200).collect::<Vec<_>>(), "{err}");
    // Without a cache the total is unknown (counting it would be a whole
    // extra pass): samples, rate and loss, no ETA.
    let err = stderr_of(&["train", "--config", &cfg, "--set", "train.log_seconds=1e-9"]);
    let plain: Vec<&str> = err.lines().filter(|l| l.starts_with("train: ")).collect();
    assert_eq!(plain.len(), 8, "{err}");
    for (i, line) in plain.iter().enumerate() {
        let parts: Vec<&str> = line["train: ".len()..].split(", ").collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[0], format!("{} samples", (i + 1) * 200), "{line}");
        assert!(
            parts[1]
                .strip_suffix(" samples/s")
                .unwrap()
                .parse::<u64>()
                .is_ok(),
            "{line}"
        );
        assert!(parts[2].starts_with("loss "), "{line}");
    }
    // Off with 0, and with --quiet.
    let err = stderr_of(&["train", "--config", &cfg, "--set", "train.log_seconds=0"]);
    assert!(!err.contains("train: "), "{err}");
    let err = stderr_of(&[
        "train",
        "--quiet",
        "--config",
        &cfg,
        "--set",
        "train.log_seconds=1e-9",
    ]);
    assert!(!err.contains("train: "), "{err}");
}

#[test]
fn sweep_without_a_terminal_prints_a_line_per_job_and_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    base(tmp.path());
    let sweep = write_lambda21_sweep(tmp.path(), "base.toml", "repeats = 1");
    let err = stderr_of(&["sweep", "--config", sweep.to_str().unwrap()]);
    let jobs: Vec<&str> = err.lines().filter(|l| l.starts_with("job ")).collect();
    assert_eq!(jobs.len(), 2, "{err}");
    for name in [
        "optimizer.lambda21=0.0,seed=1",
        "optimizer.lambda21=0.01,seed=1",
    ] {
        let line = jobs
            .iter()
            .find(|l| l.starts_with(&format!("job {name}: AUC ")))
            .unwrap();
        let m =
            crate::cli_common::json(&tmp.path().join("grid/runs").join(name).join("metrics.json"));
        let auc = format!(
            "AUC {:.5}, feature rate {:.4}, ",
            m["auc"].as_f64().unwrap(),
            m["feature_rate"].as_f64().unwrap()
        );
        assert!(line.contains(&auc), "{line} vs {auc}");
        assert!(line.ends_with('s'), "{line}");
    }
    assert!(
        err.contains("sweep: 2 finished, 0 failed, 0 skipped (already finished) in "),
        "{err}"
    );
    let again = stderr_of(&["sweep", "--config", sweep.to_str().unwrap()]);
    assert!(
        again.contains("sweep: 0 finished, 0 failed, 2 skipped (already finished) in "),
        "{again}"
    );
}
