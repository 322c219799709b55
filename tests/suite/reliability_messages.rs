//! Messages: an OS error is printed once (not "Is a directory (os error
//! 21): Is a directory (os error 21)"); a UTF-8 byte order mark before the
//! first line is skipped in every format and in the config; a run or sweep
//! stopped by SIGINT/SIGTERM exits with status 130.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cli_common::{bin, ctr_run, export, TomlConfig};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/datasets");

fn have_samples() -> bool {
    let ok = Path::new(DATA).exists();
    if !ok {
        eprintln!("skipped: shared datasets absent");
    }
    ok
}

/// The stderr of `ctr-run ARGS`, which must fail with status 1.
fn failure(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "ctr-run {args:?}: {stderr}");
    stderr
}

/// Logistic regression with Adam on `data`; `extra` at the end of the file.
fn config(dir: &Path, name: &str, data: &Path, extra: &str) -> PathBuf {
    TomlConfig::lr_on(dir, name, data)
        .set("threads", 1)
        .raw("optimizer", extra)
        .write(&dir.join(format!("{name}.toml")))
}

#[test]
fn a_directory_where_a_file_belongs_is_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dir = d.join("adir");
    std::fs::create_dir(&dir).unwrap();
    let dir_s = dir.to_str().unwrap();
    let once = |stderr: &str| {
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.matches("os error").count() <= 1, "{stderr}");
        assert!(stderr.matches("directory").count() == 1, "{stderr}");
    };
    // --config, data.train, --schema, predict --model, every --out.
    let e = failure(&["train", "--config", dir_s]);
    assert_eq!(
        e.trim_end(),
        format!("error: cannot read config {dir_s}: Is a directory (os error 21)")
    );
    let cfg = config(d, "run", &dir, "");
    let e = failure(&["train", "-q", "--config", cfg.to_str().unwrap()]);
    assert_eq!(
        e.trim_end(),
        format!("error: {dir_s}: is a directory, not a data file")
    );
    assert!(!d.join("run/metrics.json").exists());
    once(&failure(&["data", "inspect", dir_s, "--format", "avazu"]));
    let data = d.join("a.csv");
    let data_s = data.to_str().unwrap();
    ctr_run(&[
        "gen", "--format", "avazu", "--rows", "2000", "--seed", "1", "--out", data_s,
    ]);
    once(&failure(&[
        "data", "inspect", data_s, "--format", "custom", "--schema", dir_s,
    ]));
    once(&failure(&["predict", "--model", dir_s, "--data", data_s]));
    let e = failure(&[
        "gen", "--format", "avazu", "--rows", "10", "--seed", "1", "--out", dir_s,
    ]);
    assert_eq!(
        e.trim_end(),
        format!("error: {dir_s}: Is a directory (os error 21)")
    );
    let cfg = config(d, "saved", &data, "[train]\nsave_model = true\n");
    ctr_run(&["train", "-q", "--config", cfg.to_str().unwrap()]);
    let run = d.join("saved");
    once(&failure(&[
        "export",
        "--run",
        run.to_str().unwrap(),
        "--out",
        dir_s,
    ]));
    let model = d.join("m.safetensors");
    export(&run, &model);
    once(&failure(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data_s,
        "--out",
        dir_s,
    ]));
}

#[test]
fn a_byte_order_mark_is_skipped_in_every_format() {
    if !have_samples() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("avazu/avazu_sample100.csv", "avazu", 100),
        ("criteo/criteo_train_head2k.txt", "criteo", 2000),
        ("criteo/criteo_kaggle_csv_head2k.csv", "criteo_csv", 1999),
        ("ipinyou/ipinyou_1458_train_log_head99.txt", "ipinyou", 99),
    ];
    for (file, format, rows) in cases {
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend(std::fs::read(Path::new(DATA).join(file)).unwrap());
        let p = tmp.path().join(file.replace('/', "_"));
        std::fs::write(&p, bytes).unwrap();
        let out = ctr_run(&[
            "data",
            "inspect",
            p.to_str().unwrap(),
            "--format",
            format,
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (v["rows"].as_u64(), v["bad_rows"].as_u64()),
            (Some(rows), Some(0)),
            "{file}: {out}"
        );
    }
    // A custom schema with a header, and the config and schema TOML files.
    let d = tmp.path();
    std::fs::write(d.join("c.csv"), "\u{feff}y,a,x\n1,p,0.5\n0,q,1.5\n").unwrap();
    std::fs::write(
        d.join("schema.toml"),
        "\u{feff}delimiter = \",\"\nheader = true\nlabel = \"y\"\ncategorical = [\"a\"]\nnumeric = [\"x\"]\n",
    )
    .unwrap();
    let out = ctr_run(&[
        "data",
        "inspect",
        d.join("c.csv").to_str().unwrap(),
        "--format",
        "custom",
        "--schema",
        d.join("schema.toml").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["rows"].as_u64(), v["bad_rows"].as_u64()),
        (Some(2), Some(0)),
        "{out}"
    );
    let data = Path::new(DATA).join("avazu/avazu_sample100.csv");
    let cfg = config(d, "bom", &data, "");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("\u{feff}{text}")).unwrap();
    ctr_run(&["train", "-q", "--config", cfg.to_str().unwrap()]);
    assert!(d.join("bom/metrics.json").exists());
}

/// Wait until `path` exists (or the child ends, or 60 s pass).
fn wait_for(path: &Path, child: &mut std::process::Child) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn first_checkpoint(run: &Path) -> bool {
    std::fs::read_dir(run.join("checkpoints"))
        .map(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .unwrap_or(false)
}

#[test]
fn interrupted_runs_and_sweeps_exit_130() {
    if !have_samples() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let data = Path::new(DATA).join("avazu/avazu_train8k.csv");
    // Long enough never to finish before the signal.
    let long = "[train]\nbatch_size = 64\nepochs = 1000\ncheckpoint_every = 5\n";
    for (sig, name) in [(libc::SIGINT, "int"), (libc::SIGTERM, "term")] {
        let cfg = config(d, name, &data, long);
        let mut child = bin()
            .args(["train", "-q", "--config", cfg.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let run = d.join(name);
        let t0 = Instant::now();
        while !first_checkpoint(&run) {
            assert!(t0.elapsed() < Duration::from_secs(60), "no checkpoint");
            assert!(child.try_wait().unwrap().is_none(), "ended early");
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{name}: {stderr}");
        assert!(stderr.contains("interrupted after"), "{stderr}");
        assert!(!run.join("metrics.json").exists());
    }
    // A sweep: the signal stops it (no new job), and it exits 130 too.
    let base = config(d, "base", &data, long);
    let sweep = d.join("sweep.toml");
    std::fs::write(
        &sweep,
        format!(
            "base = \"{}\"\nname = \"grid\"\nrepeats = 1\n[axes]\n\"optimizer.lr\" = [0.001, 0.002, 0.003]\n",
            base.display()
        ),
    )
    .unwrap();
    let mut child = bin()
        .args([
            "sweep",
            "--quiet",
            "--jobs",
            "1",
            "--config",
            sweep.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let grid = d.join("grid/runs");
    let t0 = Instant::now();
    let job = loop {
        assert!(t0.elapsed() < Duration::from_secs(60), "no job started");
        let found = std::fs::read_dir(&grid)
            .ok()
            .and_then(|r| r.flatten().map(|e| e.path()).find(|p| first_checkpoint(p)));
        if let Some(j) = found {
            break j;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    wait_for(&job.join("config.toml"), &mut child);
    // Ctrl-C reaches the whole foreground group: the sweep and its job.
    // SAFETY: signalling our own child and its children.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let job_pids = std::process::Command::new("pgrep")
        .args(["-P", &child.id().to_string()])
        .output()
        .unwrap();
    for pid in String::from_utf8_lossy(&job_pids.stdout).split_whitespace() {
        // SAFETY: a child of our child.
        unsafe { libc::kill(pid.parse::<libc::pid_t>().unwrap(), libc::SIGINT) };
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("sweep interrupted"), "{stderr}");
    let started = std::fs::read_dir(&grid).unwrap().count();
    assert!(
        started < 3,
        "a job started after the signal ({started} folders)"
    );
}
