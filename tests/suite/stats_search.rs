//! The paper's tables from runs laid out as the sweeps write them: Tables
//! 5-7 choose on validation AUC (never test AUC), a search without it
//! chooses nothing and says so; Table 3's "AUC p (rate p)" against scipy.
//! Section 4.2's significance counts in claims.md: stats_claims.rs.

use crate::cli_common::tables;
use crate::cli_common::{stored_config, write_run};
use crate::stats_summarize::metrics_json;

#[test]
fn table5_chooses_the_best_validation_auc_not_the_best_test_auc() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // (optimizer, lr, test AUC, valid AUC): adam 1e-3 is best on test,
    // 1e-4 on validation; adagrad 0.1 best on both.
    let points = [
        ("adam", "1e-4", 0.70, 0.75),
        ("adam", "1e-3", 0.80, 0.74),
        ("adagrad", "0.01", 0.60, 0.61),
        ("adagrad", "0.1", 0.65, 0.66),
    ];
    for (name, lr, auc, valid) in points {
        for seed in [1u64, 2] {
            let job = format!("optimizer.lr={lr},optimizer.name={name},seed={seed}");
            let jitter = seed as f64 * 1e-3;
            write_run(
                &root.join("avazu_table5_lr/runs").join(job),
                &stored_config(&format!("name = \"{name}\"\nlr = {lr}"), seed, ""),
                &metrics_json(auc + jitter, 1.0, Some(valid + jitter)),
            );
        }
    }
    let out = tables(root);
    let md = std::fs::read_to_string(out.join("table5.md")).unwrap();
    assert!(
        md.contains("| optimizer | MLP (avazu) | OPNN (ipinyou) | DCN (criteo) |"),
        "{md}"
    );
    assert!(md.contains("| adam | 1e-4 | — | — |"), "{md}");
    assert!(md.contains("| adagrad | 1e-1 | — | — |"), "{md}");
    let md = std::fs::read_to_string(out.join("table5_search.md")).unwrap();
    assert!(
        md.contains("| avazu | adam | **1e-4** | **0.7515 ± 0.0007** | 0.7015 ± 0.0007 | 1.0000 ± 0.0000 | yes |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| avazu | adam | 1e-3 | 0.7415 ± 0.0007 | 0.8015 ± 0.0007 | 1.0000 ± 0.0000 |  |"
        ),
        "{md}"
    );
}

#[test]
fn a_search_without_validation_auc_chooses_nothing_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for l21 in ["1e-4", "1e-3"] {
        let job = format!("optimizer.lambda21={l21},seed=1");
        write_run(
            &root.join("criteo_table6_search/runs").join(job),
            &stored_config(&format!("name = \"group_adam\"\nlambda21 = {l21}"), 1, ""),
            &metrics_json(0.8, 0.5, None),
        );
    }
    let out = tables(root);
    let md = std::fs::read_to_string(out.join("table6.md")).unwrap();
    assert!(
        md.contains("| DCN (criteo) | not chosen | not chosen | not chosen |"),
        "{md}"
    );
    assert!(
        md.contains("criteo group_adam: no validation AUC (valid_auc) in optimizer.lambda21=1e-4; optimizer.lambda21=1e-3: nothing chosen (test AUC is never used to choose)."),
        "{md}"
    );
    let md = std::fs::read_to_string(out.join("table6_search.md")).unwrap();
    assert!(!md.contains("yes"), "{md}");
}

#[test]
fn table3_gives_auc_and_feature_rate_p_values_as_scipy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // scipy 1.17.1 ttest_ind(equal_var=False).pvalue: AUC 0.07048399691021992,
    // feature rate 2.436725785268906e-05.
    let runs = [
        ("adam", [0.70, 0.71, 0.72], [0.5, 0.52, 0.51]),
        ("group_adam", [0.72, 0.74, 0.73], [0.02, 0.025, 0.018]),
    ];
    for (name, aucs, rates) in runs {
        for seed in 0..3 {
            let job = format!("optimizer.name={name},seed={}", seed + 1);
            write_run(
                &root.join("avazu_table3/runs").join(job),
                &stored_config(&format!("name = \"{name}\""), seed as u64 + 1, ""),
                &metrics_json(aucs[seed], rates[seed], None),
            );
        }
    }
    let out = tables(root);
    let md = std::fs::read_to_string(out.join("table3.md")).unwrap();
    assert!(md.contains("| AUC p (rate p) |"), "{md}");
    assert!(
        md.contains("| avazu | adam | 0.7100 ± 0.0100 (0.5100 ± 0.0100) | **0.7300 ± 0.0100 (0.0210 ± 0.0036)** | 0.070 (2.4e-5) |"),
        "{md}"
    );
    // The CSV: long and numeric, the formatted text only in md / tex.
    let mut rd = csv::Reader::from_path(out.join("table3.csv")).unwrap();
    let head = rd.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let get = |column: &str, metric: &str| {
        rows.iter()
            .find(|r| &r[col("column")] == column && &r[col("metric")] == metric)
            .unwrap()
            .clone()
    };
    let num = |r: &csv::StringRecord, c: &str| r[col(c)].parse::<f64>().unwrap();
    let rate = get("group_adam", "feature_rate");
    assert_eq!(&rate[col("n")], "3");
    assert!((num(&rate, "mean") - 0.021).abs() < 1e-12);
    assert!((num(&rate, "p_value") / 2.436725785268906e-05 - 1.0).abs() < 1e-9);
    let auc = get("group_adam", "auc");
    assert!((num(&auc, "p_value") / 0.07048399691021992 - 1.0).abs() < 1e-9);
    assert_eq!(&get("adam", "auc")[col("p_value")], "");
}
