//! Running the `ctr-run` binary from the tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctr-run"))
}

/// Run `ctr-run ARGS`, which must succeed; its whole output.
pub fn run_ok(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("binary runs");
    assert!(
        out.status.success(),
        "ctr-run {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run `ctr-run ARGS`, which must succeed; its standard output.
pub fn ctr_run(args: &[&str]) -> String {
    String::from_utf8_lossy(&run_ok(args).stdout).into_owned()
}

/// A JSON file (`metrics.json`).
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Run `ctr-run ARGS`: (success, stdout, stderr).
pub fn run_capture(args: &[&str]) -> (bool, String, String) {
    let out = bin().args(args).output().expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `DIR/base.toml`: logistic regression + Group Adagrad on 2000 synthetic
/// Avazu rows (80% train by position, no cache), output into DIR; its path.
pub fn write_lr_base(dir: &Path, batch_size: usize) -> String {
    let p = dir.join("base.toml");
    std::fs::write(
        &p,
        format!(
            "threads = 1\noutput = \"{}\"\n[data]\nformat = \"avazu\"\nsplit = \"fraction\"\ncache = false\n[data.synthetic]\nrows = 2000\nseed = 9\n[model]\nkind = \"lr\"\n[optimizer]\nname = \"group_adagrad\"\nlr = 0.05\n[train]\nbatch_size = {batch_size}\n",
            dir.display()
        ),
    )
    .unwrap();
    p.display().to_string()
}
