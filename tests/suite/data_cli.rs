//! The `gen`, `data inspect` and `data verify` commands, run through the
//! binary (the command-line layer is not part of the library).

use crate::cli_common::{bin, ctr_run as run_ok};
use ctr_run::data::{load_truth, truth_path, Format};

#[test]
fn gen_then_inspect() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("a.csv.gz");
    let o = out.to_str().unwrap();
    let gen = |extra: &[&str]| {
        let mut args = vec![
            "gen",
            "--format",
            "avazu",
            "--rows",
            "2000",
            "--seed",
            "4",
            "--out",
            o,
            "--click-rate",
            "0.3",
            "--informative-fields",
            "5",
            "--cardinality-scale",
            "0.01",
        ];
        args.extend_from_slice(extra);
        bin().args(&args).output().unwrap()
    };
    let g = gen(&[]);
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    let truth = load_truth(&truth_path(&out)).unwrap();
    assert_eq!(truth.rows, 2000);
    assert_eq!(truth.fields.iter().filter(|f| f.informative).count(), 5);
    assert_eq!(truth.knobs.click_rate, Some(0.3));
    let inspect = |format: &str, json: bool| {
        let mut args = vec!["data", "inspect", "--format", format, o];
        if json {
            args.push("--json");
        }
        bin().args(&args).output().unwrap()
    };
    assert!(inspect("avazu", false).status.success());
    let j = inspect("avazu", true);
    assert!(j.status.success());
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["rows"], 2000);
    // The wrong format: the command fails (it used to report 0 rows and
    // exit 0); the library still reports every line as malformed (the header
    // too: Criteo has none), quoting the first errors.
    let w = inspect("criteo", false);
    assert!(!w.status.success());
    let e = String::from_utf8_lossy(&w.stderr);
    assert!(
        e.contains("no row parses as --format criteo (2001 malformed rows; first: ")
            && e.contains("line 1: expected 40 columns, found 1"),
        "{e}"
    );
    let cfg = ctr_run::data::DataConfig {
        cache: false,
        ..ctr_run::data::DataConfig::for_file(Format::Criteo, &out)
    };
    let r = ctr_run::data::inspect(&cfg, &out).unwrap();
    assert_eq!((r.rows, r.bad_rows), (0, 2001));
    assert_eq!(
        r.first_errors[0],
        format!("{}: line 1: expected 40 columns, found 1", out.display())
    ); // tab-separated: one column
       // Bad knobs are refused.
    let z = gen(&["--zipf", "1.0"]);
    assert!(!z.status.success());
    let e = String::from_utf8_lossy(&z.stderr);
    assert!(
        e.contains("data config: synthetic.knobs.zipf must be > 0 and != 1, got 1"),
        "{e}"
    );
}

/// A hand-written Avazu file whose value counts are known: C1 has a x10,
/// b x5, c x2, d x1; hour alternates between two hours of day (10 rows
/// each, on two days); every other field is one value x18.
fn counted_avazu(path: &std::path::Path) {
    let mut text = ctr_run::data::dataset::avazu::COLUMNS.join(",") + "\n";
    let c1: Vec<&str> = std::iter::repeat_n("a", 10)
        .chain(std::iter::repeat_n("b", 5))
        .chain(std::iter::repeat_n("c", 2))
        .chain(std::iter::once("d"))
        .collect();
    for (i, v) in c1.iter().enumerate() {
        let hour = if i % 2 == 0 { "14102100" } else { "14102213" };
        let rest = vec!["x"; 20].join(",");
        text.push_str(&format!("{i},{},{hour},{v},{rest}\n", i % 3 == 0));
    }
    std::fs::write(path, text.replace("true", "1").replace("false", "0")).unwrap();
}

#[test]
fn inspect_counts_how_often_values_occur() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("counted.csv");
    counted_avazu(&file);
    let cfg = ctr_run::data::DataConfig {
        cache: false,
        ..ctr_run::data::DataConfig::for_file(Format::Avazu, &file)
    };
    let r = ctr_run::data::inspect(&cfg, &file).unwrap();
    assert_eq!((r.rows, r.clicks, r.bad_rows), (18, 6, 0));
    let freq = |name: &str| r.frequency.iter().find(|f| f.0 == name).unwrap().1.clone();
    assert_eq!(ctr_run::data::inspect::FREQUENCY_THRESHOLDS, [1, 2, 5, 10]);
    assert_eq!(freq("C1"), vec![4, 3, 2, 1]);
    assert_eq!(freq("hour"), vec![2, 2, 2, 0]); // 9 rows at each hour of day
    assert_eq!(freq("site_id"), vec![1, 1, 1, 1]);
    // The printed table carries the same numbers and labels `hour`.
    let out = run_ok(&[
        "data",
        "inspect",
        "--format",
        "avazu",
        file.to_str().unwrap(),
    ]);
    let line = out.lines().find(|l| l.starts_with("C1 ")).unwrap();
    let nums: Vec<&str> = line.split_whitespace().skip(1).collect();
    assert_eq!(nums, ["4", "3", "2", "1"], "{out}");
    assert!(out.contains(">=2x") && out.contains(">=10x"), "{out}");
    assert!(out.contains("YYMMDDHH"), "{out}");
}

#[test]
fn inspect_with_a_wrong_format_exits_non_zero() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("counted.csv");
    counted_avazu(&file);
    let out = bin()
        .args([
            "data",
            "inspect",
            "--format",
            "criteo",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no row parses as --format criteo (19 malformed rows"),
        "{err}"
    );
}

#[test]
fn verify_accepts_a_good_file_and_names_the_bad_line() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("counted.csv");
    counted_avazu(&file);
    let f = file.to_str().unwrap();
    let out = run_ok(&["data", "verify", "--format", "avazu", f]);
    assert!(
        out.contains("ok, 18 rows parse (no published count to compare)"),
        "{out}"
    );
    let out = run_ok(&["data", "verify", "--format", "avazu", "--sample", "5", f]);
    assert!(out.contains("ok, the first 5 rows parse"), "{out}");
    // A named published file with the wrong row count fails.
    let train = d.path().join("train.csv");
    std::fs::copy(&file, &train).unwrap();
    let run = |args: &[&str]| bin().args(args).output().unwrap();
    let o = run(&[
        "data",
        "verify",
        "--format",
        "avazu",
        train.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("18 rows parse, but the published file has 40428967"),
        "{err}"
    );
    // A malformed row fails, naming its line.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("99,1,14102100,short\n");
    std::fs::write(&file, text).unwrap();
    let o = run(&["data", "verify", "--format", "avazu", f]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("is not a valid --format avazu file") && err.contains("line 20"),
        "{err}"
    );
    // The wrong format fails at the header.
    let o = run(&["data", "verify", "--format", "ipinyou", f]);
    assert!(!o.status.success());
}
