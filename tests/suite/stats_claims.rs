//! claims.md: every claim of the paper's Sections 4.2-4.4 is listed with a
//! verdict whatever runs exist, and Section 4.2's significance counts are
//! given at both levels (the paper's 0.10 and SPEC's 0.05).

use std::path::Path;

use crate::cli_common::tables;
use crate::cli_common::{stored_config, write_run};
use crate::stats_summarize::metrics_json;

/// Every claim id of Sections 4.2-4.4 (written out here, not read from the
/// library, so that dropping a claim from the catalogue fails).
const CLAIM_IDS: [&str; 22] = [
    "4.2-auc-most",
    "4.2-sig90-all",
    "4.2-sig90-sparse",
    "4.2-sig95-all",
    "4.2-sig95-sparse",
    "4.2-extreme",
    "4.2-rate-differs",
    "4.2-auc-differs",
    "4.2-best-l21",
    "4.2-rate-falls",
    "4.2-tradeoff",
    "4.2-lambda2",
    "4.2-t3-adam-auc",
    "4.2-t3-adam-sparse",
    "4.3-t3-adagrad-auc",
    "4.3-t3-adagrad-sparse",
    "4.4-norm",
    "4.4-l1-l21-equal",
    "4.4-l21-sparser",
    "4.4-l1-zero",
    "4.4-dim",
    "4.4-dim-why",
];

/// The cells of claims.md's row for `id`: id, claim, paper, ours, verdict,
/// quick?.
fn row(md: &str, id: &str) -> Vec<String> {
    let rows: Vec<Vec<String>> = md
        .lines()
        .filter(|l| l.starts_with(&format!("| {id} |")))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 1, "claim {id} in {} rows:\n{md}", rows.len());
    assert_eq!(rows[0].len(), 6, "{:?}", rows[0]);
    rows[0].clone()
}

/// Table 2 settings of avazu: (lambda21, Group Adam rate, its AUCs, Adam +
/// pruning AUCs), three seeds, pruning at r = 0.
fn write_table2(root: &Path, settings: &[(&str, f64, [f64; 3], [f64; 3])]) {
    for (l21, rate, group, pruned) in settings {
        for seed in 0..3 {
            let s = seed as u64 + 1;
            let job = format!("optimizer.lambda21={l21},seed={s}");
            write_run(
                &root.join("avazu_table2/runs").join(&job),
                &stored_config(&format!("name = \"group_adam\"\nlambda21 = {l21}"), s, ""),
                &metrics_json(group[seed], *rate, None),
            );
            let run = root
                .join("avazu_adam_prune/runs")
                .join(format!("match={job}"));
            let prune = format!("[prune]\ntarget_rate = {rate}\nfinetune = [0.0]\n");
            let m = metrics_json(pruned[seed], *rate, None);
            write_run(&run, &stored_config("name = \"adam\"", s, &prune), &m);
            let f = run.join("finetune-0");
            std::fs::create_dir_all(&f).unwrap();
            std::fs::write(
                f.join("metrics.json"),
                m.replace("\"auc\"", "\"prune_finetune\": 0.0, \"auc\""),
            )
            .unwrap();
        }
    }
}

#[test]
fn claims_count_the_table2_settings_where_group_adam_is_significantly_better() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The first is significantly better (Welch p < 0.10), the sparse
    // second is not.
    write_table2(
        root,
        &[
            ("0.001", 0.1, [0.76, 0.77, 0.78], [0.70, 0.71, 0.72]),
            ("0.01", 0.03, [0.75, 0.74, 0.76], [0.75, 0.76, 0.74]),
        ],
    );
    let md = std::fs::read_to_string(tables(root).join("claims.md")).unwrap();
    assert_eq!(row(&md, "4.2-sig90-all")[3], "1 of 2 (50.0%) (p < 0.1)");
    assert_eq!(
        row(&md, "4.2-sig90-sparse")[2],
        "87.5% (7 of 8; Section 4.2)"
    );
    assert_eq!(
        row(&md, "4.2-sig90-sparse")[3],
        "0 of 1 (0.0%) (p < 0.1, rate < 0.05)"
    );
    assert!(
        row(&md, "4.2-sig90-all")[2].starts_with("60% (9 of 15"),
        "{md}"
    );
}

#[test]
fn claims_give_the_section_4_2_counts_at_both_levels_and_every_claim_a_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // Welch p: 0.0018 (significant at both levels), 0.0705 (at 0.10 only,
    // sparse), and equal means (never better, sparse).
    write_table2(
        root,
        &[
            ("0.001", 0.1, [0.76, 0.77, 0.78], [0.70, 0.71, 0.72]),
            ("0.003", 0.04, [0.72, 0.74, 0.73], [0.70, 0.71, 0.72]),
            ("0.01", 0.03, [0.75, 0.74, 0.76], [0.75, 0.76, 0.74]),
        ],
    );
    let md = std::fs::read_to_string(tables(root).join("claims.md")).unwrap();
    let expect = [
        (
            "4.2-sig90-all",
            "60% (9 of 15",
            "2 of 3 (66.7%) (p < 0.1)",
            "holds",
        ),
        (
            "4.2-sig90-sparse",
            "87.5% (7 of 8",
            "1 of 2 (50.0%) (p < 0.1, rate < 0.05)",
            "holds",
        ),
        (
            "4.2-sig95-all",
            "40% (6 of 15",
            "1 of 3 (33.3%) (p < 0.05)",
            "mixed",
        ),
        (
            "4.2-sig95-sparse",
            "75% (6 of 8",
            "0 of 2 (0.0%) (p < 0.05, rate < 0.05)",
            "does not hold",
        ),
        ("4.2-auc-most", "14 of 15", "2 of 3 (avazu 2 of 3)", "holds"),
        (
            "4.2-extreme",
            "87.5% below 5% vs 60% overall",
            "1 of 2 (50.0%) below 5% vs 2 of 3 (66.7%) overall",
            "does not hold",
        ),
        ("4.2-tradeoff", "on OPNN", "avazu 0.7700 -> 0.7500", "holds"),
    ];
    for (id, paper, ours, verdict) in expect {
        let r = row(&md, id);
        assert!(r[2].starts_with(paper), "{id}: paper {:?}", r[2]);
        assert_eq!(r[3], ours, "{id}");
        assert_eq!(r[4], verdict, "{id}");
    }
    // Every claim is there with a verdict, those without runs too.
    let verdicts = [
        "holds",
        "does not hold",
        "mixed",
        "cannot be tested on these runs",
    ];
    for id in CLAIM_IDS {
        let r = row(&md, id);
        assert!(
            verdicts.iter().any(|v| r[4].starts_with(v)),
            "{id}: verdict {:?}",
            r[4]
        );
        assert!(!r[2].is_empty() && !r[5].is_empty(), "{id}: {r:?}");
    }
    assert!(
        row(&md, "4.4-dim")[4]
            .starts_with("cannot be tested on these runs (no runs in criteo_table4"),
        "{md}"
    );
    assert_eq!(md.matches("\n| 4.").count(), CLAIM_IDS.len(), "{md}");
}
