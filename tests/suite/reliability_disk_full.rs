//! A full disk while writing results: the run fails with a message that
//! names the file, never panics, leaves no temporary files, and does not mark
//! the run complete (no metrics.json). The disk is "filled" with a file-size
//! limit (`ulimit -f`) with SIGXFSZ ignored, so writes fail with EFBIG the way
//! they fail with ENOSPC on a full disk.

use std::path::Path;
use std::process::Command;

use crate::cli_common::{have_avazu_sample, TomlConfig, AVAZU_SAMPLE};

#[test]
fn full_disk_while_writing_results_is_a_clear_error_and_the_run_is_not_marked_done() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = TomlConfig::lr_on(tmp.path(), "full", Path::new(AVAZU_SAMPLE))
        .set("threads", 1)
        .optimizer("adagrad", 0.05)
        .set("train.predictions", true)
        .write(&tmp.path().join("full.toml"));
    // 16 KiB per file: config.toml and curve.csv fit, predictions.csv (~1,600 rows) does not.
    let script = format!(
        "trap '' XFSZ; ulimit -f 16; exec {} train --quiet --config {}",
        env!("CARGO_BIN_EXE_ctr-run"),
        cfg.display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run should fail:\n{err}");
    assert!(
        err.contains("predictions.csv") && err.contains("File too large"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let run = tmp.path().join("full");
    assert!(run.join("config.toml").is_file());
    assert!(
        !run.join("metrics.json").exists(),
        "a failed run must not look finished"
    );
    assert!(
        !run.join("predictions.csv").exists(),
        "no partial predictions file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}
