//! Issue 10, classes 8 and 11: one live writer per sweep folder and per run
//! folder (the second is refused with the holder's pid), a killed sweep's
//! runs die with it, an impossible model size is refused with its estimate,
//! and more threads than cores warn.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli_common::{bin, path, write_lambda21_sweep, TomlConfig};

/// A base config whose runs take long enough to be caught running.
fn base(dir: &Path, rows: u32, extra: &str) -> String {
    let p = TomlConfig::on_synthetic(&dir.join("results"), rows)
        .raw("data.synthetic", extra)
        .optimizer("group_adagrad", 0.05)
        .set("train.batch_size", 64)
        .write(&dir.join("base.toml"));
    path(&p)
}

/// A spawned `ctr-run`, killed if a failed assertion leaves it running.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Reaped {
    Reaped(
        bin()
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Wait until every pid in `runs` has exited (at most 5 s).
fn assert_gone_soon(runs: &[u32]) {
    let start = Instant::now();
    while runs.iter().any(|&p| alive(p)) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "runs {runs:?} outlived their sweep"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The two job processes of a running sweep.
fn two_children(sweep: u32) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let c = children_of(sweep);
        if c.len() == 2 {
            return c;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "children: {c:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until `path` holds a lock record (`PID COMMAND TIME`); its pid.
fn holder_pid(path: &Path) -> u32 {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse().ok()) {
                return pid;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no lock record in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Pids of the live processes whose parent is `parent` (from /proc).
fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
            let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
            let (_state, ppid) = (rest.next()?, rest.next()?.parse::<u32>().ok()?);
            (ppid == parent).then_some(pid)
        })
        .collect()
}

/// Alive: /proc/PID exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

#[test]
fn a_second_sweep_on_one_folder_is_refused_and_a_killed_sweep_takes_its_runs_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    base(tmp.path(), 2_000_000, "[model]\nkind = \"lr\"");
    let sweep = write_lambda21_sweep(tmp.path(), "base.toml", "repeats = 2\njobs = 2");
    let sweep = sweep.to_str().unwrap();
    let mut first = spawn(&["sweep", "--quiet", "--config", sweep]);
    let grid = tmp.path().join("results/grid");
    assert_eq!(holder_pid(&grid.join(".sweep.lock")), first.0.id());
    let second = bin()
        .args(["sweep", "--quiet", "--config", sweep])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    let want = format!(
        "error: {} is in use by sweep pid {} (started ",
        grid.display(),
        first.0.id()
    );
    assert!(
        err.starts_with(&want) && err.ends_with(" s ago)\n"),
        "{err}"
    );
    // Both job processes are running.
    let runs = two_children(first.0.id());
    first.0.kill().unwrap(); // SIGKILL: no chance to clean up
    first.0.wait().unwrap();
    assert_gone_soon(&runs);
    // The kernel dropped the killed sweep's lock: a rerun may start.
    let dry = bin()
        .args(["sweep", "--dry-run", "--config", sweep])
        .output()
        .unwrap();
    assert!(dry.status.success());
}

#[test]
fn sigterm_to_a_sweep_is_forwarded_to_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    base(tmp.path(), 2_000_000, "[model]\nkind = \"lr\"");
    let sweep = write_lambda21_sweep(tmp.path(), "base.toml", "repeats = 2\njobs = 2");
    let mut sweep = spawn(&["sweep", "--quiet", "--config", sweep.to_str().unwrap()]);
    let runs = two_children(sweep.0.id());
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(sweep.0.id() as libc::pid_t, libc::SIGTERM) };
    assert_gone_soon(&runs);
    let status = sweep.0.wait().unwrap();
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut sweep.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(
        err,
        "error: sweep interrupted: 2 jobs stopped, none started after the signal; run the sweep again to continue\n"
    );
    // Neither job is left looking finished.
    let finished = std::fs::read_dir(tmp.path().join("results/grid/runs"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("metrics.json").exists())
        .count();
    assert_eq!(finished, 0);
}

#[test]
fn a_second_train_into_a_live_run_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path(), 2_000_000, "[model]\nkind = \"lr\"");
    let first = spawn(&["train", "--quiet", "--config", &cfg]);
    let run = tmp.path().join("results/base");
    let pid = first.0.id();
    assert_eq!(holder_pid(&run.join(".run.lock")), pid);
    let second = bin()
        .args(["train", "--quiet", "--config", &cfg])
        .output()
        .unwrap();
    drop(first);
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    let want = format!(
        "error: {} is in use by train pid {} (started ",
        run.display(),
        pid
    );
    assert!(
        err.starts_with(&want) && err.ends_with(" s ago)\n"),
        "{err}"
    );
    assert!(!run.join("metrics.json").exists());
}

#[test]
fn an_impossible_embedding_size_is_refused_with_the_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(
        tmp.path(),
        300,
        "[model]\nkind = \"mlp\"\nembed_dim = 100000",
    );
    let out = bin()
        .args(["train", "--quiet", "--config", &cfg])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // By hand, Avazu's 22 fields, Group Adagrad (2d slots a row, the dense
    // optimizer likewise), MLP 64-32-16, batch 64:
    // embedding 65536 x (100000 + 200000) x 4 + 1024 x 12 = 78,643,212,288;
    // dense: 140,802,689 floats (2.2M x 64 first layer) x 16 bytes
    // (weight, gradient, 2 slots) = 2,252,843,024; activations
    // 2 x 64 x (2,200,000 + 113) x 4 = 1,126,457,856; total 82.0 GB.
    let want = "error: model.embed_dim = 100000: the run needs at least 82.0 GB (embedding rows 78.6 GB at first allocation, dense model 2.3 GB, batch activations 1.1 GB), this machine has ";
    assert!(
        err.starts_with(want) && err.ends_with(" GB available\n") && !err.contains("panicked"),
        "{err}"
    );
    assert!(!tmp.path().join("results/base/metrics.json").exists());
}

#[test]
fn threads_above_the_cores_warn_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = base(tmp.path(), 300, "[model]\nkind = \"lr\"");
    let cores = std::thread::available_parallelism().unwrap().get();
    let threads = cores + 3;
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("threads = 1", &format!("threads = {threads}"));
    std::fs::write(&cfg, text).unwrap();
    let out = bin()
        .args(["train", "--quiet", "--config", &cfg])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!("warning: threads = {threads} but this machine has {cores} cores: the thread pools will compete for them (slower, and timings not comparable)\n");
    assert!(err.starts_with(&want), "{err}");
}
