//! Degenerate data never reads as a finished run: no training rows, no
//! test rows, or every row bad stop with an error naming the file and the
//! split rule and leave no `metrics.json`; a one-class test set finishes
//! with a null AUC and a warning, and `runs.csv` marks it.

use std::path::{Path, PathBuf};

use crate::cli_common::{bin, have_avazu_sample, json, path, TomlConfig, AVAZU_SAMPLE};

/// The sample's header and its data lines `from..to`, each passed through `edit`.
fn write_rows(path: &Path, from: usize, to: usize, edit: impl Fn(usize, &str) -> String) {
    let text = std::fs::read_to_string(AVAZU_SAMPLE).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for (i, l) in lines.enumerate().skip(from).take(to - from) {
        out += &edit(i, l);
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

/// A logistic regression on `data` (the `[data]` keys besides the format).
fn write_config(dir: &Path, name: &str, data: &str) -> PathBuf {
    TomlConfig::new()
        .set("name", name)
        .set("seed", 5)
        .set("threads", 1)
        .set("output", path(dir))
        .set("data.format", "avazu")
        .set("data.cache", false)
        .raw("data", data)
        .set("model.kind", "lr")
        .optimizer("adam", 0.01)
        .set("train.batch_size", 128)
        .write(&dir.join(format!("{name}.toml")))
}

/// `ctr-run train -q -c CONFIG` fails with exactly `expected`, leaving no
/// `metrics.json`.
fn fails_with(dir: &Path, name: &str, data: &str, expected: &str) {
    let cfg = write_config(dir, name, data);
    let out = bin()
        .args(["train", "-q", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{name}: exited 0");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: {expected}\n"),
        "{name}"
    );
    assert!(!dir.join(name).join("metrics.json").exists(), "{name}");
}

#[test]
fn the_paper_split_of_a_single_day_is_refused() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Every row of the sample is on 14-10-21.
    fails_with(
        tmp.path(),
        "paper",
        &format!("train = \"{AVAZU_SAMPLE}\"\nsplit = \"paper\""),
        &format!("split = \"paper\": {AVAZU_SAMPLE} holds a single day (every row is on its last day); the paper split trains on the days before the last and needs at least two days"),
    );
}

#[test]
fn a_split_with_no_rows_or_only_bad_rows_is_refused_naming_file_and_rule() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.csv");
    write_rows(&good, 0, 300, |_, l| l.to_string());
    let bad = tmp.path().join("bad.csv");
    // A label that is neither 0 nor 1 on every row.
    write_rows(&bad, 0, 300, |_, l| {
        let mut f: Vec<&str> = l.split(',').collect();
        f[1] = "x";
        f.join(",")
    });
    let (good, bad) = (good.display(), bad.display());
    fails_with(
        tmp.path(),
        "train_bad",
        &format!("train = \"{bad}\"\ntest = \"{good}\"\nmax_bad_rows = 1000"),
        &format!("no training rows: {bad} gives none under the whole file; every one of its 300 rows is malformed"),
    );
    fails_with(
        tmp.path(),
        "test_bad",
        &format!("train = \"{good}\"\ntest = \"{bad}\"\nmax_bad_rows = 1000"),
        &format!("no test rows: {bad} gives none under the whole file; every one of its 300 rows is malformed"),
    );
    fails_with(
        tmp.path(),
        "sampled_away",
        &format!("train = \"{good}\"\nsplit = \"fraction\"\nsample_rate = 0.000001"),
        &format!("no training rows: {good} gives none under split = \"fraction\", train_fraction = 0.8, sample_rate = 0.000001"),
    );
}

#[test]
fn a_one_class_test_set_finishes_with_a_null_auc_a_warning_and_a_marked_row() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // 1000 rows, the last 200 (the test side of a 0.8 fraction split) without a click.
    let data = tmp.path().join("one_class.csv");
    write_rows(&data, 0, 1000, |i, l| {
        if i < 800 {
            return l.to_string();
        }
        let mut f: Vec<&str> = l.split(',').collect();
        f[1] = "0";
        f.join(",")
    });
    let cfg = write_config(
        tmp.path(),
        "one",
        &format!(
            "train = \"{}\"\nsplit = \"fraction\"\ntrain_fraction = 0.8",
            data.display()
        ),
    );
    let out = bin()
        .args(["train", "-q", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "warning: the test split holds one class (0 clicks in 200 rows): AUC is undefined and recorded as null\n"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = json(&tmp.path().join("one/metrics.json"));
    assert!(m["auc"].is_null(), "{m}");
    assert_eq!(m["test_samples"], 200);
    assert!(m["logloss"].as_f64().unwrap().is_finite());
    // Tables read the run: its row in runs.csv is finished, AUC empty, and says why.
    let tables = tmp.path().join("tables");
    let out = bin()
        .args([
            "tables",
            "--runs",
            tmp.path().to_str().unwrap(),
            "--out",
            tables.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut rd = csv::Reader::from_path(tables.join("runs.csv")).unwrap();
    let head = rd.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][col("run")], "one");
    assert_eq!(&rows[0][col("auc")], "");
    assert_eq!(&rows[0][col("status")], "finished");
    assert_eq!(
        &rows[0][col("note")],
        "one-class test set: AUC undefined (null)"
    );
}

/// Bad rows count when a batch that trained passed them. The training
/// loop reads one batch ahead (to look up its keys early), but not past
/// `max_batches`: a run stopped there counts none of the rows after it.
/// (A batch read ahead and then not trained, the loop stopped by a
/// checkpoint's interrupt or early stopping, is train::pass's unit test.)
#[test]
fn bad_rows_past_the_last_batch_trained_are_not_counted() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (train, test) = (tmp.path().join("train.csv"), tmp.path().join("test.csv"));
    // Lines 256..260 of the 300 carry a label that is neither 0 nor 1:
    // past batch 2 of 128 rows, inside batch 3.
    write_rows(&train, 0, 300, |i, l| {
        if (256..260).contains(&i) {
            let mut f: Vec<&str> = l.split(',').collect();
            f[1] = "x";
            f.join(",")
        } else {
            l.to_string()
        }
    });
    write_rows(&test, 0, 300, |_, l| l.to_string());
    let data = format!(
        "train = \"{}\"\ntest = \"{}\"\nmax_bad_rows = 10",
        train.display(),
        test.display()
    );
    for (name, max_batches, batches, bad) in
        [("two", 2, 2, 0), ("three", 3, 3, 4), ("all", 0, 3, 4)]
    {
        let cfg = write_config(tmp.path(), name, &data);
        let out = bin()
            .args(["train", "-q", "-c", cfg.to_str().unwrap()])
            .args(["--set", &format!("train.max_batches={max_batches}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let m = json(&tmp.path().join(name).join("metrics.json"));
        assert_eq!(m["bad_rows"], bad, "{name}");
        assert_eq!(m["train_batches"], batches, "{name}");
    }
}
