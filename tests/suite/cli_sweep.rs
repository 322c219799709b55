//! `ctr-run sweep`: shards partition the jobs, a restarted sweep runs only
//! the missing jobs, and `runs.csv` collects every finished run.

use std::path::Path;

use crate::cli_common::{bin, ctr_run, path, write_lambda21_sweep, TomlConfig};

fn setup(dir: &Path) -> String {
    TomlConfig::on_synthetic(dir, 3000)
        .set("model.kind", "lr")
        .set("model.init_std", 0.0)
        .optimizer("group_adagrad", 0.05)
        .set("train.batch_size", 256)
        .write(&dir.join("base.toml"));
    path(&write_lambda21_sweep(dir, "base.toml", "repeats = 2"))
}

#[test]
fn shards_then_restart_run_each_job_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = setup(tmp.path());
    let s1 = ctr_run(&["sweep", "--quiet", "--config", &sweep, "--shard", "1/2"]);
    assert!(
        s1.contains("4 jobs, 2 in shard 1/2, 0 already finished, 2 ran, 0 failed"),
        "{s1}"
    );
    let s2 = ctr_run(&["sweep", "--quiet", "--config", &sweep, "--shard", "2/2"]);
    assert!(
        s2.contains("4 jobs, 2 in shard 2/2, 0 already finished, 2 ran, 0 failed"),
        "{s2}"
    );
    // Everything is finished: a restart runs nothing.
    let s3 = ctr_run(&["sweep", "--quiet", "--config", &sweep]);
    assert!(
        s3.contains("4 jobs, 4 in shard 1/1, 4 already finished, 0 ran, 0 failed"),
        "{s3}"
    );
    // Lose one run: only it runs again.
    let runs = tmp.path().join("grid/runs");
    std::fs::remove_file(runs.join("optimizer.lambda21=0.01,seed=2/metrics.json")).unwrap();
    let s4 = ctr_run(&["sweep", "--quiet", "--config", &sweep]);
    assert!(
        s4.contains("4 jobs, 4 in shard 1/1, 3 already finished, 1 ran, 0 failed"),
        "{s4}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("grid/runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "header + 4 runs:\n{csv}");
    assert!(csv.lines().nth(1).unwrap().contains("group_adagrad"));

    // A run saved by an older version (a key now defaulted is missing from
    // its config.toml) is still the same run.
    let saved = runs.join("optimizer.lambda21=0.01,seed=1/config.toml");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("save_model = false\n"), "{text}");
    std::fs::write(&saved, text.replace("save_model = false\n", "")).unwrap();
    let s5 = ctr_run(&["sweep", "--quiet", "--config", &sweep]);
    assert!(s5.contains("4 already finished, 0 ran"), "{s5}");

    // A changed base config makes every job stale: all run again.
    let base = tmp.path().join("base.toml");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(&base, text.replace("lr = 0.05", "lr = 0.04")).unwrap();
    let s6 = ctr_run(&["sweep", "--quiet", "--config", &sweep]);
    assert!(s6.contains("0 already finished, 4 ran, 0 failed"), "{s6}");
    assert!(!s6.contains("not jobs of this sweep"), "{s6}");

    // A grid value replaced: its runs stay on disk but leave runs.csv, and
    // the sweep says so.
    std::fs::write(
        &sweep,
        "base = \"base.toml\"\nname = \"grid\"\nrepeats = 2\n[axes]\n\"optimizer.lambda21\" = [0.0, 0.02]\n",
    )
    .unwrap();
    let s7 = ctr_run(&["sweep", "--quiet", "--config", &sweep]);
    assert!(s7.contains("2 already finished, 2 ran, 0 failed"), "{s7}");
    assert!(
        s7.contains("note: 2 finished runs under") && s7.contains("not jobs of this sweep"),
        "{s7}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("grid/runs.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        5,
        "header + the 4 current runs:\n{csv}"
    );
    assert!(!csv.contains("lambda21=0.01"), "{csv}");
    assert!(runs
        .join("optimizer.lambda21=0.01,seed=1/metrics.json")
        .is_file());
    // `tables` leaves them out too.
    let out = tmp.path().join("tables");
    let t = ctr_run(&[
        "tables",
        "--runs",
        tmp.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(t.contains("note: left out 2 finished runs"), "{t}");
    let csv = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        5,
        "header + the 4 current runs:\n{csv}"
    );
    assert!(!csv.contains("lambda21=0.01"), "{csv}");
}

/// `runs.csv` is brought up to date after every job, not only at the end:
/// while the sweep is still running it already lists the finished runs, so
/// a sweep killed midway (or read by `tables`) loses none of them.
#[test]
fn runs_csv_lists_finished_runs_while_the_sweep_is_still_running() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = setup(tmp.path());
    let mut child = bin()
        .args(["sweep", "--quiet", "--jobs", "1", "--config", &sweep])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let csv = tmp.path().join("grid/runs.csv");
    let seen_midway = loop {
        if let Ok(text) = std::fs::read_to_string(&csv) {
            // Read first, then check that the sweep had not finished yet.
            if child.try_wait().unwrap().is_none() {
                break Some(text);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    assert!(child.wait().unwrap().success());
    let text = seen_midway.expect("runs.csv appeared only after the sweep ended");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!rows.is_empty() && rows.len() < 4, "{text}");
    for row in rows {
        let run = row.split("\",").next().unwrap().trim_start_matches('"');
        assert!(
            tmp.path()
                .join("grid")
                .join(run)
                .join("metrics.json")
                .is_file(),
            "{run}"
        );
    }
}
