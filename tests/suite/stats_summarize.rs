//! `ctr-run summarize` on a sweep of its own (two axes, three seeds): the
//! groups' means, n and Welch p-values against the baseline (quoted from
//! scipy), the tidy CSVs' columns, the plot, and the errors for nothing
//! found or an ambiguous baseline.

use std::path::Path;

use crate::cli_common::{bin, ctr_run, write_run};

/// (embed_dim, lr, AUC per seed, feature rate per seed).
const GRID: [(u32, f64, [f64; 3], [f64; 3]); 4] = [
    (4, 0.01, [0.70, 0.71, 0.72], [0.5, 0.52, 0.54]),
    (8, 0.01, [0.73, 0.75, 0.74], [0.4, 0.45, 0.41]),
    (4, 0.1, [0.69, 0.70, 0.66], [0.3, 0.31, 0.36]),
    (8, 0.1, [0.80, 0.78, 0.79], [0.2, 0.25, 0.22]),
];

/// scipy 1.17.1, `stats.ttest_ind(x, baseline, equal_var=False).pvalue`
/// with the baseline (embed_dim 4, lr 0.01): (AUC p, feature-rate p) of
/// (8, 0.01), (4, 0.1), (8, 0.1).
const SCIPY_P: [(f64, f64); 3] = [
    (0.021311641128756983, 0.007800429240485057),
    (0.1432483233071104, 0.0018554328336227183),
    (0.0006081849444633361, 0.00012494687106712893),
];

/// A run's metrics.json with the keys reporting reads.
pub fn metrics_json(auc: f64, rate: f64, valid_auc: Option<f64>) -> String {
    let v = valid_auc.map_or("null".into(), |v| v.to_string());
    format!(
        r#"{{"version": "0.1.0", "git_commit": "abc123", "auc": {auc}, "logloss": 0.5, "valid_auc": {v},
"feature_rate": {rate}, "nonzero_features": 10, "seen_features": 100, "train_samples": 800,
"test_samples": 200, "wall_seconds": 1.5, "train_samples_per_second": 800.0, "train_loss": 0.45,
"peak_rss_bytes": 1000000}}"#
    )
}

fn make_sweep(root: &Path) {
    for (dim, lr, aucs, rates) in GRID {
        for seed in 0..3 {
            let job = format!("model.embed_dim={dim},optimizer.lr={lr},seed={}", seed + 1);
            let config = format!(
                "name = \"{job}\"\nseed = {}\n[data]\nformat = \"avazu\"\ntrain = \"x.csv\"\n\
                 [model]\nkind = \"lr\"\nembed_dim = {dim}\n[optimizer]\nname = \"adam\"\nlr = {lr}\n",
                seed + 1
            );
            write_run(
                &root.join("mine/runs").join(&job),
                &config,
                &metrics_json(aucs[seed], rates[seed], None),
            );
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1e-300)
}

#[test]
fn a_two_axis_sweep_is_grouped_with_means_n_and_welch_p_values() {
    let tmp = tempfile::tempdir().unwrap();
    make_sweep(tmp.path());
    let sweep = tmp.path().join("mine");
    let out = tmp.path().join("summary");
    let stdout = ctr_run(&[
        "summarize",
        sweep.to_str().unwrap(),
        "--baseline",
        "optimizer.lr=0.01,model.embed_dim=4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains("12 runs in 4 groups by model.embed_dim, optimizer.lr"),
        "{stdout}"
    );

    let mut rd = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let head = rd.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let row = |dim: &str, lr: &str, metric: &str| {
        rows.iter()
            .find(|r| {
                &r[col("model.embed_dim")] == dim
                    && &r[col("optimizer.lr")] == lr
                    && &r[col("metric")] == metric
            })
            .unwrap_or_else(|| panic!("no row {dim} {lr} {metric}"))
    };
    let num = |r: &csv::StringRecord, c: &str| r[col(c)].parse::<f64>().unwrap();
    // The baseline: no p-value, marked.
    let b = row("4", "0.01", "auc");
    assert_eq!(&b[col("n")], "3");
    assert_eq!(&b[col("n_missing")], "0");
    assert!(close(num(b, "mean"), 0.71), "{:?}", b);
    assert!(close(num(b, "std"), 0.01), "{:?}", b);
    assert_eq!(&b[col("p_value")], "");
    assert_eq!(&b[col("baseline")], "true");
    for ((dim, lr, aucs, rates), (p_auc, p_rate)) in GRID[1..].iter().zip(SCIPY_P) {
        let (dim, lr) = (dim.to_string(), lr.to_string());
        let a = row(&dim, &lr, "auc");
        assert_eq!(&a[col("n")], "3");
        assert!(
            close(num(a, "mean"), aucs.iter().sum::<f64>() / 3.0),
            "{a:?}"
        );
        assert!(close(num(a, "p_value"), p_auc), "{a:?} vs scipy {p_auc}");
        assert_eq!(&a[col("baseline")], "false");
        let r = row(&dim, &lr, "feature_rate");
        assert!(
            close(num(r, "mean"), rates.iter().sum::<f64>() / 3.0),
            "{r:?}"
        );
        assert!(close(num(r, "p_value"), p_rate), "{r:?} vs scipy {p_rate}");
    }
    // No valid_auc in any run: no such rows.
    assert!(rows.iter().all(|r| &r[col("metric")] != "valid_auc"));

    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("| 8 | 0.1 | 3 | 0.7900 ± 0.0100 | 6.1e-4 |"),
        "{md}"
    );
    assert!(
        md.contains("| 4 | 0.01 | 3 | 0.7100 ± 0.0100 | baseline |"),
        "{md}"
    );
    assert!(md.contains("Welch"), "{md}");
    for ext in ["svg", "png"] {
        assert!(out
            .join(format!("summary_auc_vs_feature_rate.{ext}"))
            .is_file());
    }

    // runs.csv: the axes as their own numeric columns, every metric.
    let mut rd = csv::Reader::from_path(out.join("runs.csv")).unwrap();
    let head = rd.headers().unwrap().clone();
    for c in [
        "run",
        "model.embed_dim",
        "optimizer.lr",
        "seed",
        "auc",
        "valid_auc",
        "train_loss",
        "feature_rate",
        "samples_per_second",
        "peak_rss_bytes",
        "precision",
        "recall",
        "version",
        "git_commit",
        "finished_at",
        "status",
        "note",
    ] {
        assert!(head.iter().any(|h| h == c), "no column {c}: {head:?}");
    }
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 12);
    let r = &rows[0];
    assert_eq!(
        &r[col("run")],
        "runs/model.embed_dim=4,optimizer.lr=0.01,seed=1"
    );
    assert_eq!(&r[col("model.embed_dim")], "4");
    assert_eq!(&r[col("optimizer.lr")], "0.01");
    assert_eq!(&r[col("auc")], "0.7");
    assert_eq!(&r[col("valid_auc")], "");
    assert_eq!(&r[col("git_commit")], "abc123");
    assert_eq!(r[col("finished_at")].len(), "2026-12-02T13:05:09Z".len());

    // Plotting against an axis.
    ctr_run(&[
        "summarize",
        sweep.to_str().unwrap(),
        "--x",
        "optimizer.lr",
        "--y",
        "feature_rate",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(out
        .join("summary_feature_rate_vs_optimizer.lr.png")
        .is_file());
}

#[test]
fn by_picks_the_grouping_and_a_baseline_must_name_one_group() {
    let tmp = tempfile::tempdir().unwrap();
    make_sweep(tmp.path());
    let sweep = tmp.path().join("mine");
    let out = tmp.path().join("s");
    let stdout = ctr_run(&[
        "summarize",
        sweep.to_str().unwrap(),
        "--by",
        "optimizer.lr",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains("12 runs in 2 groups by optimizer.lr"),
        "{stdout}"
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    // lr 0.01 pools both dims: mean of the six AUCs.
    assert!(md.contains("| 0.01 | 6 | 0.7250 ± 0.0187 |"), "{md}");

    let o = bin()
        .args([
            "summarize",
            sweep.to_str().unwrap(),
            "--baseline",
            "optimizer.lr=0.01",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--baseline optimizer.lr=0.01 matches 2 groups"),
        "{err}"
    );
    let o = bin()
        .args([
            "summarize",
            sweep.to_str().unwrap(),
            "--by",
            "optimizer.lambda99",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--by optimizer.lambda99: no such config key")
    );
}

#[test]
fn nothing_found_is_an_error_naming_where_it_looked() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for args in [
        vec!["summarize", empty.to_str().unwrap()],
        vec!["tables", "--runs", empty.to_str().unwrap()],
    ] {
        let o = bin().args(&args).output().unwrap();
        assert!(!o.status.success(), "{args:?} exited 0");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "no finished runs (folders holding config.toml and metrics.json) under {}",
                empty.display()
            )),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn tables_on_a_sweep_not_named_like_the_papers_writes_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    make_sweep(tmp.path());
    let out = tmp.path().join("t");
    let stdout = ctr_run(&[
        "tables",
        "--runs",
        tmp.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.contains("wrote the generic summary"), "{stdout}");
    assert!(out.join("summary.csv").is_file());
}
