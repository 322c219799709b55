//! `--set key=value` on `train`, `sweep` and `prune`: applied before the
//! config is checked, validated like the file (nearest-key suggestion, the
//! key named on a wrong type), and recorded in the run's `config.toml`.

use std::path::Path;

use crate::cli_common::{run_capture as run, write_lambda21_sweep, write_lr_base};

fn base(dir: &Path) -> String {
    write_lr_base(dir, 256)
}

#[test]
fn train_set_is_applied_and_recorded_in_config_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path());
    let (ok, _, err) = run(&[
        "train",
        "--quiet",
        "--config",
        &cfg,
        "--set",
        "optimizer.lr=0.01",
        "--set",
        "train.batch_size=100",
        "--set",
        "optimizer.name=adam",
    ]);
    assert!(ok, "{err}");
    let written: toml::Table = std::fs::read_to_string(tmp.path().join("base/config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(written["optimizer"]["lr"].as_float(), Some(0.01));
    assert_eq!(written["optimizer"]["name"].as_str(), Some("adam"));
    assert_eq!(written["train"]["batch_size"].as_integer(), Some(100));
    // 2000 rows, 80% train: 1600 rows in batches of 100.
    let m = crate::cli_common::json(&tmp.path().join("base/metrics.json"));
    assert_eq!(m["train_batches"].as_u64(), Some(16), "{m}");
}

#[test]
fn train_set_unknown_key_suggests_the_nearest() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path());
    let (ok, _, err) = run(&[
        "train",
        "--quiet",
        "--config",
        &cfg,
        "--set",
        "optimizer.lamda21=0.1",
    ]);
    assert!(!ok);
    assert!(err.contains("--set optimizer.lamda21=0.1"), "{err}");
    assert!(err.contains("did you mean `lambda21`?"), "{err}");
    assert!(
        !tmp.path().join("base").exists(),
        "nothing is written for a bad override"
    );
}

#[test]
fn train_set_wrong_type_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path());
    let (ok, _, err) = run(&[
        "train",
        "--quiet",
        "--config",
        &cfg,
        "--set",
        "train.batch_size=big",
    ]);
    assert!(!ok);
    assert!(err.contains("--set train.batch_size=\"big\""), "{err}");
    assert!(err.contains("invalid type"), "{err}");
    let (ok, _, err) = run(&["train", "--quiet", "--config", &cfg, "--set", "nokey"]);
    assert!(!ok);
    assert!(err.contains("expected key=value"), "{err}");
    // A valid type but an invalid value is refused by the same checks as the file.
    let (ok, _, err) = run(&[
        "train",
        "--quiet",
        "--config",
        &cfg,
        "--set",
        "train.batch_size=0",
    ]);
    assert!(!ok);
    assert!(err.contains("train.batch_size must be > 0"), "{err}");
}

#[test]
fn sweep_set_applies_to_the_base_and_refuses_an_axis() {
    let tmp = tempfile::tempdir().unwrap();
    base(tmp.path());
    let sweep = write_lambda21_sweep(tmp.path(), "base.toml", "repeats = 1");
    let sweep = sweep.display().to_string();
    let (ok, _, err) = run(&[
        "sweep",
        "--quiet",
        "--config",
        &sweep,
        "--set",
        "optimizer.lambda21=0.5",
    ]);
    assert!(!ok);
    assert!(
        err.contains("`optimizer.lambda21` is an axis of this sweep"),
        "{err}"
    );
    let (ok, _, err) = run(&["sweep", "--quiet", "--config", &sweep, "--set", "seed=3"]);
    assert!(!ok);
    assert!(err.contains("repeats"), "{err}");
    let (ok, _, err) = run(&[
        "sweep",
        "--quiet",
        "--config",
        &sweep,
        "--set",
        "train.batch_sise=64",
    ]);
    assert!(!ok);
    assert!(err.contains("did you mean `batch_size`?"), "{err}");
    let (ok, out, err) = run(&[
        "sweep",
        "--quiet",
        "--config",
        &sweep,
        "--set",
        "train.batch_size=64",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("2 jobs"), "{out}");
    for job in [
        "optimizer.lambda21=0.0,seed=1",
        "optimizer.lambda21=0.01,seed=1",
    ] {
        let written: toml::Table =
            std::fs::read_to_string(tmp.path().join("grid/runs").join(job).join("config.toml"))
                .unwrap()
                .parse()
                .unwrap();
        assert_eq!(
            written["train"]["batch_size"].as_integer(),
            Some(64),
            "{job}"
        );
    }
}

#[test]
fn prune_set_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path());
    let (ok, _, err) = run(&[
        "prune",
        "--quiet",
        "--config",
        &cfg,
        "--target-rate",
        "0.5",
        "--finetune",
        "0",
        "--set",
        "optimizer.name=adam",
        "--set",
        "optimizer.lr=0.02",
    ]);
    assert!(ok, "{err}");
    let written: toml::Table = std::fs::read_to_string(tmp.path().join("base/config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(written["optimizer"]["lr"].as_float(), Some(0.02));
    let (ok, _, err) = run(&[
        "prune",
        "--quiet",
        "--config",
        &cfg,
        "--target-rate",
        "0.5",
        "--set",
        "optimizer.lrr=0.02",
    ]);
    assert!(!ok);
    assert!(
        err.contains("--set optimizer.lrr=0.02") && err.contains("did you mean `lr`?"),
        "{err}"
    );
}

#[test]
fn a_run_config_given_to_sweep_names_train_and_the_reverse() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path());
    let (ok, _, err) = run(&["sweep", "--config", &cfg]);
    assert!(!ok);
    assert!(
        err.contains("this is a run config") && err.contains("ctr-run train --config"),
        "{err}"
    );
    let sweep = tmp.path().join("sweep.toml");
    std::fs::write(&sweep, "base = \"base.toml\"\nrepeats = 1\n").unwrap();
    let (ok, _, err) = run(&["train", "--config", sweep.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("this is a sweep file") && err.contains("ctr-run sweep --config"),
        "{err}"
    );
}
