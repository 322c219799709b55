//! Checkpoints and resume through the binary: a run killed with SIGKILL at a
//! random point and resumed ends exactly like an uninterrupted run; a
//! corrupted or truncated newest checkpoint makes resume fall back to the
//! previous one with a warning, and still end exactly the same.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ctr_run::rng::SplitMix64;

use crate::cli_common::{bin, have_avazu_sample, json, path, run_ok, TomlConfig, AVAZU_SAMPLE};

/// 12 epochs over the sample's 80% train split (~610 batches), checkpoint
/// every 40 batches: long enough to be killed in the middle; dropout on so
/// the per-step randomness is exercised.
fn write_config(dir: &Path, name: &str) -> PathBuf {
    write_config_on(dir, name, Path::new(AVAZU_SAMPLE))
}

/// `write_config` training on `train` instead of the sample.
fn write_config_on(dir: &Path, name: &str, train: &Path) -> PathBuf {
    TomlConfig::on_avazu_sample(dir, name)
        .set("seed", 11)
        .set("threads", 2)
        .set("data.train", path(train))
        .set("model.kind", "mlp")
        .set("model.dropout", 0.2)
        .optimizer("group_adam", 0.002)
        .set("optimizer.lambda21", 0.0005)
        .set("train.log_every", 7)
        .set("train.predictions", true)
        .set("train.epochs", 12)
        .set("train.checkpoint_every", 40)
        .write(&dir.join(format!("{name}.toml")))
}

/// The uninterrupted run `DIR/reference` that a resumed run must match.
fn train_reference(dir: &Path) {
    let cfg = write_config(dir, "reference");
    run_ok(&["train", "-q", "-c", cfg.to_str().unwrap()]);
}

fn metrics(run: &Path) -> serde_json::Value {
    json(&run.join("metrics.json"))
}

/// The run's outcome must match the reference exactly: metrics (bitwise,
/// as JSON numbers print shortest round-trip), predictions.csv byte for
/// byte, and the curve except its timing column.
fn assert_same_outcome(reference: &Path, resumed: &Path) {
    let (a, b) = (metrics(reference), metrics(resumed));
    for key in [
        "auc",
        "logloss",
        "nonzero_features",
        "seen_features",
        "train_samples",
        "train_batches",
        "train_loss",
        "test_samples",
        "bad_rows",
        "feature_rate",
    ] {
        assert_eq!(a[key], b[key], "metrics.json `{key}` differs");
    }
    assert!(a["auc"].is_number() && a["train_samples"].as_u64().unwrap() > 70_000);
    let pa = std::fs::read(reference.join("predictions.csv")).unwrap();
    let pb = std::fs::read(resumed.join("predictions.csv")).unwrap();
    assert!(pa.len() > 1000);
    assert!(pa == pb, "predictions.csv differs");
    let curve = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join("curve.csv"))
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(
        curve(reference),
        curve(resumed),
        "curve.csv differs (timing excluded)"
    );
}

fn checkpoint_files(run: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(run.join("checkpoints"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Start training `cfg` (whose run folder is `run`) in the background and
/// return once its first checkpoint is complete (its sidecar is written last).
fn spawn_until_first_checkpoint(cfg: &Path, run: &Path, stderr: Stdio) -> Child {
    let mut child = bin()
        .args(["train", "-q", "-c", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !checkpoint_files(run)
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "json"))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no checkpoint appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended without a checkpoint"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child
}

#[test]
fn sigkill_at_a_random_point_then_resume_matches_an_uninterrupted_run() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    train_reference(tmp.path());

    let killed = write_config(tmp.path(), "killed");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let mut rng = SplitMix64::new(seed);
    let run = tmp.path().join("killed");
    let mut child = spawn_until_first_checkpoint(&killed, &run, Stdio::null());
    let delay = rng.below(150);
    std::thread::sleep(Duration::from_millis(delay));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let finished = run.join("metrics.json").exists();
    eprintln!(
        "killed {delay} ms after the first checkpoint (seed {seed}); checkpoints then: {:?}; finished before the kill: {finished}",
        checkpoint_files(&run).iter().map(|p| p.file_name().unwrap().to_owned()).collect::<Vec<_>>()
    );

    let out = run_ok(&["train", "-q", "--resume", run.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("resuming from"), "{stderr}");
    assert_same_outcome(&tmp.path().join("reference"), &run);
    // Only the newest KEEP = 2 checkpoints are kept.
    assert_eq!(checkpoint_files(&run).len(), 4);
}

/// Finish a run, damage its newest checkpoint with `damage`, resume it: it
/// must warn, fall back to the previous checkpoint, and end exactly like
/// the reference.
fn fallback_case(name: &str, damage: impl Fn(&Path)) {
    fallback_case_on(name, 3, damage)
}

/// `fallback_case` damaging file `which` of the sorted checkpoint files
/// (2: the newest sidecar, 3: the newest tensor file).
fn fallback_case_on(name: &str, which: usize, damage: impl Fn(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    train_reference(tmp.path());
    let cfg = write_config(tmp.path(), name);
    run_ok(&["train", "-q", "-c", cfg.to_str().unwrap()]);
    let run = tmp.path().join(name);
    let files = checkpoint_files(&run);
    assert_eq!(files.len(), 4, "{files:?}");
    // Sorted by zero-padded batch number: [prev.json, prev.st, newest.json, newest.st].
    let newest = files[which].clone();
    let previous = files[0].file_name().unwrap().to_string_lossy().into_owned();
    damage(&newest);
    std::fs::remove_file(run.join("metrics.json")).unwrap();
    // A write that a SIGKILL cut short leaves its temporary behind.
    let stale = run
        .join("checkpoints")
        .join(".checkpoint-0000000999.safetensors.tmp-1");
    std::fs::write(&stale, b"partial").unwrap();

    let out = run_ok(&["train", "-q", "--resume", run.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: checkpoint")
            && stderr.contains("falling back to the previous one"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "resuming from {}",
            run.join("checkpoints").join(&previous).display()
        )),
        "{stderr}"
    );
    assert_same_outcome(&tmp.path().join("reference"), &run);
    assert!(
        !stale.exists(),
        "the killed run's temporary was not removed"
    );
    assert_eq!(checkpoint_files(&run).len(), 4);
}

#[test]
fn corrupted_newest_checkpoint_falls_back_to_the_previous_one() {
    if !have_avazu_sample() {
        return;
    }
    fallback_case("flipped", |p| {
        let mut bytes = std::fs::read(p).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        std::fs::write(p, bytes).unwrap();
    });
}

#[test]
fn truncated_newest_checkpoint_falls_back_to_the_previous_one() {
    if !have_avazu_sample() {
        return;
    }
    fallback_case("truncated", |p| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 3]).unwrap();
    });
}

#[test]
fn resume_with_every_checkpoint_damaged_is_an_error() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "broken");
    run_ok(&["train", "-q", "-c", cfg.to_str().unwrap()]);
    let run = tmp.path().join("broken");
    for p in checkpoint_files(&run) {
        if p.extension().is_some_and(|e| e == "json") {
            std::fs::write(&p, b"{ not json").unwrap();
        }
    }
    let out = bin()
        .args(["train", "-q", "--resume", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no usable checkpoint"), "{stderr}");
}

#[test]
fn sigterm_saves_a_checkpoint_at_a_batch_boundary_and_resume_matches() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    train_reference(tmp.path());
    let cfg = write_config(tmp.path(), "termed");
    let run = tmp.path().join("termed");
    let child = spawn_until_first_checkpoint(&cfg, &run, Stdio::piped());
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        eprintln!("the run finished before SIGTERM arrived; resume still checked");
    } else {
        assert!(stderr.contains("interrupted after"), "{stderr}");
        assert!(stderr.contains("--resume"), "{stderr}");
        assert!(!run.join("metrics.json").exists());
    }
    let out = run_ok(&["train", "-q", "--resume", run.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming from"));
    assert_same_outcome(&tmp.path().join("reference"), &run);
}

/// Resume from a mid-run checkpoint (the newest removed, as after a crash
/// right after it) is exact for each optimizer family: stateful adaptive
/// (AMSGrad's running max), Hessian-based (random probes seeded per step),
/// FTRL on LR (z, n slots), proximal, and SGD with lr decay.
#[test]
fn resume_is_exact_for_every_optimizer_family() {
    if !have_avazu_sample() {
        return;
    }
    let cases = [
        (
            "amsgrad",
            "mlp",
            "name = \"group_amsgrad\"\nlr = 0.002\nlambda21 = 0.0005",
        ),
        (
            "adahessian",
            "dcn",
            "name = \"group_adahessian\"\nlr = 0.01\nlambda21 = 0.0005",
        ),
        ("ftrl", "lr", "name = \"ftrl\"\nlr = 0.05\nlambda1 = 0.5"),
        (
            "prox",
            "opnn",
            "name = \"prox_adam\"\nlr = 0.002\nlambda = 0.0005",
        ),
        (
            "sgd",
            "mlp",
            "name = \"group_sgd\"\nlr = 0.05\nlambda21 = 0.0001",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (name, kind, opt) in cases {
        let write = |run: &str| {
            TomlConfig::on_avazu_sample(tmp.path(), run)
                .remove("threads")
                .set("seed", 4)
                .set("model.kind", kind)
                .raw("optimizer", opt)
                .set("train.batch_size", 256)
                .set("train.epochs", 3)
                .set("train.log_every", 5)
                .set("train.predictions", true)
                .set("train.checkpoint_every", 17)
                .write(&tmp.path().join(format!("{run}.toml")))
        };
        let (a, b) = (format!("{name}-ref"), format!("{name}-res"));
        run_ok(&["train", "-q", "-c", write(&a).to_str().unwrap()]);
        run_ok(&["train", "-q", "-c", write(&b).to_str().unwrap()]);
        let run = tmp.path().join(&b);
        // Drop the final checkpoint: resume from the one before, mid-epoch.
        let files = checkpoint_files(&run);
        assert_eq!(files.len(), 4, "{name}: {files:?}");
        for f in &files[2..] {
            std::fs::remove_file(f).unwrap();
        }
        std::fs::remove_file(run.join("metrics.json")).unwrap();
        let out = run_ok(&["train", "-q", "--resume", run.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("resuming from"));
        let (ma, mb) = (metrics(&tmp.path().join(&a)), metrics(&run));
        for key in [
            "auc",
            "logloss",
            "nonzero_features",
            "seen_features",
            "train_samples",
            "train_loss",
        ] {
            assert_eq!(ma[key], mb[key], "{name}: `{key}` differs");
        }
        let pa = std::fs::read(tmp.path().join(&a).join("predictions.csv")).unwrap();
        assert!(
            pa == std::fs::read(run.join("predictions.csv")).unwrap(),
            "{name}: predictions differ"
        );
    }
}

#[test]
fn a_sidecar_edited_into_other_valid_json_falls_back_to_the_previous_one() {
    if !have_avazu_sample() {
        return;
    }
    // Still valid JSON, still a sidecar, one counter off by one: only a
    // checksum over the sidecar itself catches it.
    fallback_case_on("sidecar", 2, |p| {
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["samples"] = (v["samples"].as_u64().unwrap() + 1).into();
        std::fs::write(p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    });
}

#[test]
fn resume_refuses_a_train_file_changed_since_the_checkpoint() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("train.csv");
    std::fs::copy(AVAZU_SAMPLE, &data).unwrap();
    let cfg = write_config_on(tmp.path(), "moved", &data);
    run_ok(&["train", "-q", "-c", cfg.to_str().unwrap()]);
    let run = tmp.path().join("moved");
    std::fs::remove_file(run.join("metrics.json")).unwrap();
    // The data lines reversed: same size, and the mtime set back.
    let mtime = std::fs::metadata(&data).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let f = std::fs::File::options().write(true).open(&data).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&data).unwrap().len() as usize, text.len());
    let out = bin()
        .args(["train", "-q", "--resume", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let newest = checkpoint_files(&run)
        .into_iter()
        .rfind(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "{} changed since {} was saved (different size or content); resume needs the data the run was trained on",
            data.display(),
            newest.display()
        )),
        "{stderr}"
    );
    assert!(!run.join("metrics.json").exists());
}
