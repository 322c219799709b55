//! Issue 10, classes 4 and 6: nothing writes outside `output`, a sweep
//! whose jobs clash or whose axes cannot be honoured is refused when it is
//! planned (so `--dry-run` shows it), and `predict` / `export` never write
//! over their own inputs.

use std::path::Path;

use crate::cli_common::{bin, path, TomlConfig};

fn base(dir: &Path, extra: &str) -> String {
    let p = TomlConfig::on_synthetic(&dir.join("results"), 300)
        .raw("", extra)
        .set("model.kind", "lr")
        .optimizer("group_adagrad", 0.05)
        .set("train.batch_size", 64)
        .write(&dir.join("base.toml"));
    path(&p)
}

/// `ctr-run ARGS`, which must fail; its stderr.
fn refused(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(!out.status.success(), "ctr-run {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sweep_dry_run(dir: &Path, sweep_text: &str) -> String {
    base(dir, "");
    let s = dir.join("s.toml");
    // The sweep is named "grid" unless the text names it.
    let name = if sweep_text.starts_with("name =") {
        ""
    } else {
        "name = \"grid\"\n"
    };
    std::fs::write(&s, format!("base = \"base.toml\"\n{name}{sweep_text}")).unwrap();
    refused(&["sweep", "--dry-run", "--config", s.to_str().unwrap()])
}

#[test]
fn run_names_that_leave_the_output_folder_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, why) in [
        ("../escape", "`..` would leave the output folder"),
        ("a/../../escape", "`..` would leave the output folder"),
        (
            "/tmp/escape",
            "an absolute path would leave the output folder",
        ),
        (".", "names no folder under the output folder"),
        ("./.", "names no folder under the output folder"),
    ] {
        let cfg = base(tmp.path(), &format!("name = {name:?}"));
        let err = refused(&["train", "--quiet", "--config", &cfg]);
        assert_eq!(err, format!("error: {cfg}: name = {name:?}: {why}\n"));
    }
    assert!(!tmp.path().join("escape").exists());
}

#[test]
fn a_run_folder_symlinked_outside_output_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(tmp.path().join("results")).unwrap();
    std::os::unix::fs::symlink(&outside, tmp.path().join("results/linked")).unwrap();
    let cfg = base(tmp.path(), "name = \"linked\"");
    let err = refused(&["train", "--quiet", "--config", &cfg]);
    let real = |p: &Path| std::fs::canonicalize(p).unwrap();
    assert_eq!(
        err,
        format!(
            "error: {}/results/linked resolves to {}, outside the output folder {}\n",
            tmp.path().display(),
            real(&outside).display(),
            real(&tmp.path().join("results")).display()
        )
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn two_jobs_mapping_to_one_folder_are_refused_by_the_dry_run() {
    let tmp = tempfile::tempdir().unwrap();
    // 0.1 and 0.10 are one value: both jobs would be optimizer.lambda21=0.1.
    let err = sweep_dry_run(
        tmp.path(),
        "repeats = 2\n[axes]\n\"optimizer.lambda21\" = [0.1, 0.10]\n",
    );
    assert_eq!(
        err,
        format!(
            "error: sweep jobs 0 (optimizer.lambda21 = 0.1, seed = 1) and 2 (optimizer.lambda21 = 0.1, seed = 1) both map to the folder {}/results/grid/runs/optimizer.lambda21=0.1,seed=1: give each job distinct settings\n",
            tmp.path().display()
        )
    );
    // A point repeating a grid point clashes the same way.
    let err = sweep_dry_run(
        tmp.path(),
        "repeats = 1\n[axes]\n\"optimizer.lambda21\" = [0.1]\n[[points]]\n\"optimizer.lambda21\" = 0.1\n",
    );
    assert!(err.starts_with("error: sweep jobs 0 (optimizer.lambda21 = 0.1, seed = 1) and 1 (optimizer.lambda21 = 0.1, seed = 1) both map"), "{err}");
}

#[test]
fn axes_a_sweep_cannot_honour_are_refused_naming_the_axis() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s.toml");
    let s = s.display();
    let cases = [
        (
            "[axes]\n\"optimizer.lambda21\" = []\n",
            format!("error: {s}: sweep axis optimizer.lambda21 is empty\n"),
        ),
        (
            "[axes]\nseed = [1, 2]\n",
            format!("error: {s}: sweep axis seed: the seeds of a sweep come from `repeats` and `first_seed` (seeds first_seed ..= first_seed + repeats - 1); set those instead\n"),
        ),
        (
            "[axes]\nname = [\"a\", \"b\"]\n",
            format!("error: {s}: sweep axis name: each job's folder is output/<sweep name>/runs/<its settings>; set the sweep's own `name` / `output` instead\n"),
        ),
        (
            "[[points]]\noutput = \"/tmp\"\n",
            format!("error: {s}: sweep point 1 key output: each job's folder is output/<sweep name>/runs/<its settings>; set the sweep's own `name` / `output` instead\n"),
        ),
        (
            "threads_per_job = 1\n[axes]\nthreads = [1, 2]\n",
            format!("error: {s}: sweep axis threads: `threads_per_job` sets every job's threads; remove one of the two\n"),
        ),
        (
            "name = \"../x\"\n",
            format!("error: {s}: sweep name = \"../x\": `..` would leave the output folder\n"),
        ),
        (
            "repeats = 0\n",
            format!("error: {s}: repeats must be >= 1\n"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(sweep_dry_run(tmp.path(), text), want, "{text}");
    }
}

#[test]
fn a_bad_value_in_one_grid_point_fails_the_dry_run_naming_job_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let err = sweep_dry_run(
        tmp.path(),
        "repeats = 1\n[axes]\n\"train.batch_size\" = [64, 0]\n",
    );
    assert_eq!(
        err,
        "error: sweep job 1 (train.batch_size = 0, seed = 1): train.batch_size must be > 0\n"
    );
    let err = sweep_dry_run(
        tmp.path(),
        "repeats = 1\n[axes]\n\"optimizer.lamda21\" = [0.1]\n",
    );
    assert!(
        err.starts_with("error: sweep job 0 (optimizer.lamda21 = 0.1, seed = 1): axis optimizer.lamda21: unknown field `lamda21`")
            && err.ends_with("did you mean `lambda21`?\n"),
        "{err}"
    );
    // Nothing ran.
    assert!(!tmp.path().join("results/grid/runs").exists());
}

#[test]
fn predict_refuses_to_write_over_its_model_or_data() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model.safetensors");
    let data = tmp.path().join("data.csv");
    std::fs::write(&model, b"model bytes").unwrap();
    std::fs::write(&data, b"data bytes").unwrap();
    let link = tmp.path().join("link.csv");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let hard = tmp.path().join("hard.bin");
    std::fs::hard_link(&model, &hard).unwrap();
    let p = |x: &Path| x.display().to_string();
    for (out, what, input) in [
        (&model, "model", &model),
        (&link, "data", &data),
        (&hard, "model", &model),
    ] {
        let err = refused(&[
            "predict",
            "--model",
            &p(&model),
            "--data",
            &p(&data),
            "--out",
            &p(out),
        ]);
        assert_eq!(
            err,
            format!(
                "error: --out {} is the {what} file {} (same file): writing the scores would destroy it; choose another --out\n",
                p(out),
                p(input)
            )
        );
    }
    assert_eq!(std::fs::read(&model).unwrap(), b"model bytes");
    assert_eq!(std::fs::read(&data).unwrap(), b"data bytes");
}

#[test]
fn export_refuses_to_write_over_the_checkpoint_it_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir_all(run.join("checkpoints")).unwrap();
    let ck = run.join("checkpoints/checkpoint-0000000004.safetensors");
    std::fs::write(&ck, b"checkpoint bytes").unwrap();
    let link = tmp.path().join("model.safetensors");
    std::os::unix::fs::symlink(&ck, &link).unwrap();
    for out in [&ck, &link] {
        let err = refused(&[
            "export",
            "--run",
            run.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            err,
            format!(
                "error: --out {} is {} (same file), which the export reads: choose another --out\n",
                out.display(),
                ck.display()
            )
        );
    }
    assert_eq!(std::fs::read(&ck).unwrap(), b"checkpoint bytes");
}
