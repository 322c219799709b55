//! `ctr-run export` and `ctr-run predict` through the binary: the exported
//! model holds exactly the run's non-zero rows, is smaller than the dense
//! model, and `predict` reproduces the run's own test scores byte for byte.

use std::path::{Path, PathBuf};

use safetensors::SafeTensors;

use crate::cli_common::{
    bin, ctr_run, export, have_avazu_sample, predict, TomlConfig, AVAZU_SAMPLE,
};

/// Train / test files cut from the sample (split by file, so the test file
/// is exactly the run's test split).
fn split_sample(dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(AVAZU_SAMPLE).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let (tr, te) = rows.split_at(6000);
    let write = |name: &str, rows: &[&str]| {
        let p = dir.join(name);
        std::fs::write(&p, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        p
    };
    (write("train.csv", tr), write("test.csv", te))
}

fn train_run(dir: &Path, kind: &str, train: &Path, test: &Path) -> PathBuf {
    let mut cfg = TomlConfig::on_train_test(dir, kind, train, test)
        .set("seed", 9)
        .set("model.kind", kind)
        .set("model.dropout", 0.1)
        .optimizer("group_adam", 0.003)
        .set("optimizer.lambda21", 0.0008)
        .set("train.batch_size", 100)
        .set("train.epochs", 2)
        .set("train.predictions", true);
    // OPNN maps features seen once in training to a rare row per field,
    // which predict must do the same way.
    if kind == "opnn" {
        cfg = cfg.set("data.min_count", 2);
    }
    // DCN keeps only its final state (no periodic checkpoints).
    cfg = match kind {
        "dcn" => cfg.set("train.save_model", true),
        _ => cfg.set("train.checkpoint_every", 50),
    };
    let cfg = cfg.write(&dir.join(format!("{kind}.toml")));
    ctr_run(&["train", "-q", "-c", cfg.to_str().unwrap()]);
    dir.join(kind)
}

#[test]
fn predict_from_an_export_reproduces_the_run_test_scores_exactly() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (train, test) = split_sample(tmp.path());
    for kind in ["mlp", "dcn", "opnn"] {
        let run = train_run(tmp.path(), kind, &train, &test);
        let model = tmp.path().join(format!("{kind}.safetensors"));
        let report = export(&run, &model);
        eprintln!("{report}");

        // The file: keys = exactly the run's non-zero rows, none of them zero.
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
        let bytes = std::fs::read(&model).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let keys = st.tensor("keys").unwrap();
        let emb = st.tensor("embeddings").unwrap();
        let n = keys.shape()[0];
        assert_eq!(n as u64, m["nonzero_features"].as_u64().unwrap());
        assert!(
            n < m["seen_features"].as_u64().unwrap() as usize,
            "nothing was sparse"
        );
        let d = emb.shape()[1];
        assert_eq!(emb.shape(), [n, d]);
        assert!(d >= 4);
        let rows: Vec<f32> = emb
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert!(rows.chunks_exact(d).all(|r| r.iter().any(|&x| x != 0.0)));
        // Sizes as printed: the file's own, and larger for the dense model.
        assert!(
            report.contains(&format!("{} bytes", bytes.len())),
            "{report}"
        );
        let dense: u64 = report
            .split("dense model (every row): ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .expect("dense size printed");
        let seen = m["seen_features"].as_u64().unwrap();
        assert_eq!(
            dense,
            bytes.len() as u64 + (seen - n as u64) * (8 + 4 * d as u64)
        );

        // predict == the run's predictions.csv, byte for byte.
        let scores = tmp.path().join(format!("{kind}-scores.csv"));
        predict(&model, &test, &scores, &[]);
        let a = std::fs::read(run.join("predictions.csv")).unwrap();
        let b = std::fs::read(&scores).unwrap();
        let lines = |t: &[u8]| t.iter().filter(|&&c| c == b'\n').count();
        // Header + one row per test row.
        assert_eq!(lines(&a), lines(&std::fs::read(&test).unwrap()));
        assert!(a == b, "{kind}: predict differs from predictions.csv");

        // Another batch size: the same scores up to float rounding of the
        // matrix products (1e-6 on probabilities).
        predict(&model, &test, &scores, &["--batch-size", "333"]);
        let parse = |t: &[u8]| -> Vec<f64> {
            std::str::from_utf8(t)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
                .collect()
        };
        let (pa, pb) = (parse(&a), parse(&std::fs::read(&scores).unwrap()));
        assert_eq!(pa.len(), pb.len());
        for (x, y) in pa.iter().zip(&pb) {
            assert!((x - y).abs() < 1e-6, "{kind}: {x} vs {y}");
        }
    }
}

#[test]
fn export_of_a_run_without_checkpoints_says_how_to_get_one() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("r")).unwrap();
    std::fs::write(
        tmp.path().join("r/config.toml"),
        "[data]\ntrain = \"x.csv\"\n[model]\nkind = \"lr\"\n[optimizer]\nname = \"sgd\"\nlr = 0.1\n",
    )
    .unwrap();
    let out = bin()
        .args(["export", "--run", tmp.path().join("r").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("train.save_model = true"), "{err}");
}
