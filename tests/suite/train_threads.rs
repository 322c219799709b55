//! A whole training run gives the same bits at 1, 2 and 3 threads, for
//! every network (with dropout too): the loss curve, the test metrics and
//! every test prediction. The step's parallel phases (key lookups, gather,
//! gradient scatter, the fused ops, the row updates) split work by thread
//! count but compute every value in one fixed order (docs/performance.md).
//! Through the binary, so each thread count gets its own rayon pool.

use std::path::Path;

use crate::cli_common::{json, run_ok};

fn config(dir: &Path, name: &str, kind: &str, format: &str, threads: usize) -> String {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"name = "{name}"
seed = 3
threads = {threads}
output = "{out}"
[data]
format = "{format}"
split = "fraction"
cache = false
[data.synthetic]
rows = 12000
seed = 4
[model]
kind = "{kind}"
dropout = 0.25
[optimizer]
name = "group_adam"
lr = 0.003
lambda21 = 0.0005
[train]
batch_size = 1024
log_every = 2
predictions = true
"#,
            out = dir.display()
        ),
    )
    .unwrap();
    p.display().to_string()
}

/// Everything a run reports that must not depend on the thread count:
/// the curve without its wall-clock column, the metrics, the predictions.
fn results(run: &Path) -> (Vec<String>, [String; 4], String) {
    let curve = std::fs::read_to_string(run.join("curve.csv")).unwrap();
    let curve = curve
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect();
    let m = json(&run.join("metrics.json"));
    let metrics = ["auc", "logloss", "nonzero_features", "seen_features"].map(|k| {
        let v = &m[k];
        assert!(!v.is_null(), "metrics.json has no {k}");
        v.to_string()
    });
    let preds = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    (curve, metrics, preds)
}

#[test]
fn a_training_run_is_identical_at_one_two_and_three_threads() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, format) in [("mlp", "avazu"), ("dcn", "criteo"), ("opnn", "ipinyou")] {
        let runs: Vec<_> = [1, 2, 3]
            .iter()
            .map(|&threads| {
                let name = format!("{kind}-{threads}");
                let cfg = config(tmp.path(), &name, kind, format, threads);
                run_ok(&["train", "--quiet", "--config", &cfg]);
                results(&tmp.path().join(&name))
            })
            .collect();
        assert!(runs[0].0.len() >= 4, "{kind}: curve {:?}", runs[0].0);
        for (threads, r) in [(2, &runs[1]), (3, &runs[2])] {
            assert_eq!(r.0, runs[0].0, "{kind}: loss curve at {threads} threads");
            assert_eq!(r.1, runs[0].1, "{kind}: metrics at {threads} threads");
            assert!(r.2 == runs[0].2, "{kind}: predictions at {threads} threads");
        }
    }
}
