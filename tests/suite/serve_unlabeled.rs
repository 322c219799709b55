//! `ctr-run predict` on a file without the label column (Kaggle's Avazu
//! `test.csv`: the Avazu header without `click`): the ids come through in
//! file order and the scores equal those of the same rows with labels.

use std::path::Path;

use crate::cli_common::{bin, ctr_run, export, predict, TomlConfig};

/// `file` without its second column (Avazu `click`).
fn drop_click(file: &Path, out: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(1);
            cells.join(",")
        })
        .collect();
    std::fs::write(out, lines.join("\n") + "\n").unwrap();
}

/// Lines of a CSV after its header, split at commas.
fn rows(file: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Train a tiny MLP on a generated Avazu file and export it; returns
/// (model, a labelled test file from another stream).
fn tiny_model(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (train, test) = (dir.join("train.csv"), dir.join("test.csv"));
    for (f, rows, stream) in [(&train, "1500", "0"), (&test, "300", "1")] {
        ctr_run(&[
            "gen",
            "--format",
            "avazu",
            "--rows",
            rows,
            "--seed",
            "3",
            "--stream",
            stream,
            "--out",
            f.to_str().unwrap(),
        ]);
    }
    let cfg = TomlConfig::on_train_test(dir, "tiny", &train, &test)
        .set("seed", 5)
        .set("model.kind", "mlp")
        .optimizer("group_adam", 0.003)
        .set("train.batch_size", 100)
        .set("train.epochs", 1)
        .set("train.save_model", true)
        .write(&dir.join("run.toml"));
    ctr_run(&["train", "-q", "-c", cfg.to_str().unwrap()]);
    let model = dir.join("tiny.safetensors");
    export(&dir.join("tiny"), &model);
    (model, test)
}

#[test]
fn predict_without_the_label_column_passes_ids_and_matches_the_labelled_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, test) = tiny_model(tmp.path());
    let unlabelled = tmp.path().join("test_nolabel.csv");
    drop_click(&test, &unlabelled);
    let (with, without) = (tmp.path().join("with.csv"), tmp.path().join("without.csv"));
    for (data, out) in [(&test, &with), (&unlabelled, &without)] {
        predict(&model, data, out, &[]);
    }
    let header = |f: &Path| {
        std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(header(&with), "label,score");
    assert_eq!(header(&without), "id,score");
    let (input, labelled, scored) = (rows(&test), rows(&with), rows(&without));
    assert_eq!(input.len(), 300);
    assert_eq!(scored.len(), 300);
    assert_eq!(labelled.len(), 300);
    for (i, ((row, l), s)) in input.iter().zip(&labelled).zip(&scored).enumerate() {
        assert_eq!(s[0], row[0], "row {i}: the id comes through in file order");
        assert_eq!(l[0], row[1], "row {i}: the label of the labelled file");
        assert_eq!(
            s[1], l[1],
            "row {i}: the same score with and without labels"
        );
    }
    // The scores are real: not all equal.
    assert!(scored.iter().any(|s| s[1] != scored[0][1]));

    // A header that matches neither layout: the error names its columns and
    // both layouts tried.
    let text = std::fs::read_to_string(&unlabelled).unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, text.replacen("hour,", "hours,", 1)).unwrap();
    let out = bin()
        .args([
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            bad.to_str().unwrap(),
            "--out",
            tmp.path().join("x.csv").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for part in [
        "bad.csv: line 1: bad header",
        "the header's 23 columns (id,hours,C1,",
        "match no avazu layout",
        "with the label column (24 columns: id,click,hour,C1,",
        "without it (23 columns: id,hour,C1,",
    ] {
        assert!(err.contains(part), "{part:?} not in: {err}");
    }
    assert!(!tmp.path().join("x.csv").exists());
}

#[test]
fn training_still_refuses_a_file_without_the_label_column() {
    let tmp = tempfile::tempdir().unwrap();
    let (f, nolabel) = (tmp.path().join("a.csv"), tmp.path().join("b.csv"));
    ctr_run(&[
        "gen",
        "--format",
        "avazu",
        "--rows",
        "50",
        "--out",
        f.to_str().unwrap(),
    ]);
    drop_click(&f, &nolabel);
    let out = bin()
        .args([
            "data",
            "verify",
            "--format",
            "avazu",
            nolabel.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("expected 24 columns"), "{err}");
}
