//! `ctr-run train` end to end through the binary: the run folder, the AUC in
//! `metrics.json` against an independent AUC from `predictions.csv`,
//! bad-config errors, and determinism (same config and seed twice, and
//! 1 vs 2 threads).

use crate::cli_common::{bin, have_avazu_sample, TomlConfig};
use std::path::{Path, PathBuf};

/// `ctr-run ARGS`, successful or not (the bad-config tests expect failures).
fn ctr_run(args: &[&str]) -> std::process::Output {
    bin().args(args).output().expect("binary runs")
}

/// An MLP with Group Adam on the Avazu sample, predictions written.
fn write_config(dir: &Path, name: &str, threads: u32) -> PathBuf {
    TomlConfig::on_avazu_sample(dir, name)
        .set("threads", threads)
        .set("model.kind", "mlp")
        .optimizer("group_adam", 0.002)
        .set("optimizer.lambda21", 0.0005)
        .set("train.log_every", 10)
        .set("train.predictions", true)
        .write(&dir.join(format!("{name}.toml")))
}

fn metrics(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(name).join("metrics.json")).unwrap()).unwrap()
}

/// Pair-counting AUC (ties half), O(n^2): independent of ctr_run::metrics.
fn brute_auc(rows: &[(u8, f64)]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for &(yp, sp) in rows.iter().filter(|r| r.0 == 1) {
        for &(_, sn) in rows.iter().filter(|r| r.0 == 0) {
            den += 1.0;
            num += if sp > sn {
                1.0
            } else if sp == sn {
                0.5
            } else {
                0.0
            };
        }
        let _ = yp;
    }
    num / den
}

#[test]
fn train_writes_a_complete_run_folder_with_consistent_auc() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "run", 1);
    let out = ctr_run(&["train", "--quiet", "--config", cfg.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = tmp.path().join("run");
    for f in [
        "config.toml",
        "metrics.json",
        "curve.csv",
        "predictions.csv",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let m = metrics(tmp.path(), "run");
    let preds = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let rows: Vec<(u8, f64)> = preds
        .lines()
        .skip(1)
        .map(|l| {
            let (y, s) = l.split_once(',').unwrap();
            (y.parse().unwrap(), s.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len() as u64, m["test_samples"].as_u64().unwrap());
    let auc = m["auc"].as_f64().unwrap();
    assert!(
        (auc - brute_auc(&rows)).abs() < 1e-9,
        "metrics AUC {auc} vs predictions.csv {}",
        brute_auc(&rows)
    );
    assert!(
        auc > 0.6,
        "MLP on the Avazu sample should beat 0.5 clearly, got {auc}"
    );
    let seen = m["seen_features"].as_u64().unwrap();
    let nonzero = m["nonzero_features"].as_u64().unwrap();
    assert!(seen > 1000 && nonzero <= seen);
    assert!((m["feature_rate"].as_f64().unwrap() - nonzero as f64 / seen as f64).abs() < 1e-12);
    let curve = std::fs::read_to_string(run.join("curve.csv")).unwrap();
    assert!(curve.starts_with("batch,samples,loss,auc,seconds\n"));
    assert!(curve.lines().count() >= 4, "{curve}");
}

#[test]
fn same_config_twice_and_one_vs_two_threads_give_identical_metrics() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut got = Vec::new();
    for (name, threads) in [("a", 1), ("b", 1), ("c", 2)] {
        let cfg = write_config(tmp.path(), name, threads);
        let out = ctr_run(&["train", "--quiet", "--config", cfg.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let m = metrics(tmp.path(), name);
        got.push((
            m["auc"].as_f64().unwrap(),
            m["logloss"].as_f64().unwrap(),
            m["nonzero_features"].as_u64().unwrap(),
        ));
    }
    assert_eq!(got[0], got[1], "same config, same seed, same threads");
    assert_eq!(got[0], got[2], "1 vs 2 threads");
}

#[test]
fn bad_configs_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "[optimizer]\nname = \"group_adam\"\nlamda21 = 0.1\n",
            "did you mean `lambda21`?",
        ),
        (
            "[optimizer]\nname = \"group_adam\"\nlambda21 = -1.0\n",
            "optimizer.lambda21 must be finite and >= 0, got -1",
        ),
        (
            "[optimizer]\nname = \"grup_adam\"\n",
            "unknown variant `grup_adam`",
        ),
        (
            "[optimizer]\nname = \"adam\"\nlr = \"fast\"\n",
            "invalid type",
        ),
        ("[train]\nbatch_size = 0\n", "train.batch_size must be > 0"),
    ];
    for (i, (body, expected)) in cases.iter().enumerate() {
        let base =
            "[data]\nformat = \"avazu\"\n[data.synthetic]\nrows = 1000\n[model]\nkind = \"mlp\"\n";
        let body = if body.contains("[optimizer]") {
            format!("{base}{body}")
        } else {
            format!("{base}[optimizer]\nname = \"adam\"\n{body}")
        };
        let p = tmp.path().join(format!("bad{i}.toml"));
        std::fs::write(&p, body).unwrap();
        let out = ctr_run(&["train", "--quiet", "--config", p.to_str().unwrap()]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expected),
            "case {i}: expected `{expected}` in:\n{err}"
        );
        assert!(
            err.contains(&format!("bad{i}.toml")),
            "case {i}: error should name the file:\n{err}"
        );
        assert!(!err.contains("panicked"), "case {i} panicked:\n{err}");
    }
    let out = ctr_run(&["train", "--config", "/nonexistent/x.toml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot read config /nonexistent/x.toml: No such file or directory"));
}
