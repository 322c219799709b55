//! Carrying out a sweep's jobs: each job is a child `ctr-run train` process
//! (its own memory, thread pools and crash domain), up to `jobs` at once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::experiment::runs;
use crate::experiment::sweep::{Job, Shard};
use crate::io::write_atomic;
use crate::train::textlog::duration_text;

/// The lock file of a sweep folder (see `crate::lock`).
pub const SWEEP_LOCK: &str = ".sweep.lock";

/// What a sweep invocation did.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub total: usize,
    pub in_shard: usize,
    pub skipped_finished: usize,
    pub ran: Vec<String>,
    pub failed: Vec<(String, String)>,
    /// Finished runs in the sweep folder that are not (or no longer) jobs
    /// of this sweep: kept on disk, left out of `runs.csv`.
    pub stale: Vec<PathBuf>,
}

impl SweepReport {
    /// Say what a summary line leaves out: the stale runs, if any, and each
    /// failed job; an error if any job failed.
    pub fn conclude(&self, sweep_dir: &Path) -> Result<()> {
        if let Some(first) = self.stale.first() {
            crate::outln!(
                "note: {} finished runs under {} are not jobs of this sweep (an old grid value or config), e.g. {}: kept on disk, left out of runs.csv and of `ctr-run tables`",
                self.stale.len(),
                sweep_dir.display(),
                first.display()
            );
        }
        for (name, err) in &self.failed {
            eprintln!("failed: {name}: {err}");
        }
        if !self.failed.is_empty() {
            anyhow::bail!(
                "{} of {} runs failed",
                self.failed.len(),
                self.ran.len() + self.failed.len()
            );
        }
        Ok(())
    }
}

/// Run the jobs of `shard` that are not finished, `parallel` at a time,
/// with the binary `exe`; after each job, rewrite `runs.csv` over every
/// finished job of the sweep (all shards).
pub fn run_jobs(
    jobs: &[Job],
    shard: Shard,
    parallel: usize,
    exe: &Path,
    sweep_dir: &Path,
    quiet: bool,
) -> Result<SweepReport> {
    // One live sweep per folder: a second one would run the same jobs into
    // the same run folders at once. Held until this function returns.
    let _lock = crate::lock::lock_folder(sweep_dir, SWEEP_LOCK)?;
    // SIGINT / SIGTERM stop the sweep cleanly: no new job starts, and each
    // running one is sent SIGTERM so it stops at its next batch boundary
    // (with a checkpoint, if it takes them) before the sweep exits.
    let signals = crate::checkpoint::SignalGuard::install();
    let mut report = SweepReport {
        total: jobs.len(),
        ..Default::default()
    };
    let mut todo: Vec<&Job> = Vec::new();
    for job in jobs.iter().filter(|j| shard.contains(j.index)) {
        report.in_shard += 1;
        if job.is_finished() {
            report.skipped_finished += 1;
        } else {
            todo.push(job);
        }
    }
    let pb = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr())
    };
    pb.set_style(
        ProgressStyle::with_template("sweep [{bar:30}] {pos}/{len} runs {elapsed} ETA {eta} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    // A line per finished job: above the bar on a terminal, as plain lines
    // without one (the bar draws nothing there).
    let say = |line: &str| {
        if quiet {
        } else if pb.is_hidden() {
            eprintln!("{line}");
        } else {
            pb.println(line);
        }
    };
    let sweep_start = Instant::now();
    let next = AtomicUsize::new(0);
    let ran = Mutex::new(Vec::new());
    let failed = Mutex::new(Vec::new());
    // runs.csv is brought up to date after every job, so a sweep that is
    // killed (or read by `tables` midway) lists every run finished so far.
    let csv_lock = Mutex::new(());
    std::thread::scope(|s| {
        for _ in 0..parallel.max(1).min(todo.len().max(1)) {
            s.spawn(|| loop {
                if crate::checkpoint::interrupted() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = todo.get(i) else { break };
                // After Ctrl-C / SIGTERM no new job starts (the running ones
                // checkpoint and stop on the same signal).
                if crate::checkpoint::interrupted() {
                    break;
                }
                pb.set_message(job.name.clone());
                let started = Instant::now();
                match run_one(job, exe) {
                    Ok(()) => {
                        say(&job_line(job, started.elapsed().as_secs_f64()));
                        ran.lock().expect("no poisoned lock").push(job.name.clone())
                    }
                    Err(e) => {
                        say(&format!(
                            "job {} failed after {}: {e:#}",
                            job.name,
                            duration_text(started.elapsed().as_secs_f64())
                        ));
                        let error = format!("{e:#}");
                        // The job's folder says why it has no metrics, so
                        // runs.csv and `tables` list it as failed.
                        let marker = job.dir().join(runs::FAILED_FILE);
                        if let Err(w) = write_atomic(&marker, error.as_bytes()) {
                            pb.println(format!("warning: {}: {w}", marker.display()));
                        }
                        failed
                            .lock()
                            .expect("no poisoned lock")
                            .push((job.name.clone(), error))
                    }
                }
                let _one_writer = csv_lock.lock().expect("no poisoned lock");
                if let Err(e) = update_runs_csv(jobs, sweep_dir) {
                    pb.println(format!("warning: runs.csv not updated: {e:#}"));
                }
                pb.inc(1);
            });
        }
    });
    pb.finish_and_clear();
    if crate::checkpoint::interrupted() {
        let _ = update_runs_csv(jobs, sweep_dir);
        anyhow::bail!(
            "sweep interrupted: {} jobs stopped, none started after the signal; run the sweep again to continue",
            failed.into_inner().expect("no poisoned lock").len()
        );
    }
    drop(signals);
    report.ran = ran.into_inner().expect("no poisoned lock");
    report.failed = failed.into_inner().expect("no poisoned lock");
    report.stale = update_runs_csv(jobs, sweep_dir)?;
    if !quiet {
        eprintln!(
            "sweep: {} finished, {} failed, {} skipped (already finished) in {}",
            report.ran.len(),
            report.failed.len(),
            report.skipped_finished,
            duration_text(sweep_start.elapsed().as_secs_f64())
        );
    }
    Ok(report)
}

/// `job NAME: AUC 0.71234, feature rate 0.4210, 12s` from its metrics.json.
fn job_line(job: &Job, seconds: f64) -> String {
    let m: Option<serde_json::Value> = std::fs::read(job.dir().join("metrics.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let num = |key: &str, digits: usize| {
        m.as_ref()
            .and_then(|m| m[key].as_f64())
            .map_or_else(|| "n/a".to_string(), |x| format!("{x:.digits$}"))
    };
    format!(
        "job {}: AUC {}, feature rate {}, {}",
        job.name,
        num("auc", 5),
        num("feature_rate", 4),
        duration_text(seconds)
    )
}

/// Rewrite `runs.csv` over the finished and the failed jobs of the sweep
/// (all shards); returns the finished runs in the folder that are not its
/// jobs (stale).
fn update_runs_csv(jobs: &[Job], sweep_dir: &Path) -> Result<Vec<PathBuf>> {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let set = |keep: fn(&Job) -> bool| -> HashSet<PathBuf> {
        jobs.iter()
            .filter(|j| keep(j))
            .map(|j| canonical(&j.dir()))
            .collect()
    };
    let (current, tried) = (set(Job::is_finished), set(Job::has_same_config));
    let found = runs::collect_all(sweep_dir)?;
    let (finished, stale): (Vec<_>, Vec<_>) = found
        .finished
        .into_iter()
        .partition(|r| current.contains(&canonical(&r.dir)));
    let failed = found
        .failed
        .into_iter()
        .filter(|f| tried.contains(&canonical(&f.dir)))
        .collect();
    let listed = runs::Found { finished, failed };
    runs::write_runs_csv(&listed, sweep_dir, &sweep_dir.join("runs.csv"))?;
    Ok(stale.into_iter().map(|r| r.dir).collect())
}

/// One job: write its config into its folder and train from it, with the
/// child's output kept in `log.txt` beside the results.
fn run_one(job: &Job, exe: &Path) -> Result<()> {
    let dir = job.config.checked_run_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let config_path: PathBuf = dir.join("config.toml");
    // A job stopped midway (reboot, killed sweep) continues from its last
    // checkpoint instead of starting over, unless its config changed since:
    // then it starts afresh (which clears the stale checkpoints).
    let resumable = job.has_same_config()
        && !crate::checkpoint::list(&crate::checkpoint::dir_of(&dir)).is_empty();
    write_atomic(&config_path, job.config.to_toml().as_bytes())?;
    crate::io::remove_if_present(&dir.join(runs::FAILED_FILE))?;
    let mut cmd = Command::new(exe);
    if resumable {
        cmd.args(["train", "--quiet", "--resume"]).arg(&dir);
    } else {
        cmd.args(["train", "--quiet", "--config"]).arg(&config_path);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log.txt"))?;
    die_with_parent(&mut cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let mut forwarded = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if !forwarded && crate::checkpoint::interrupted() {
            // SAFETY: kill(2) on our own child's pid, not yet reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            forwarded = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if !status.success() {
        let tail = std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default();
        let last = tail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        anyhow::bail!("{status}: {last} (see {})", dir.join("log.txt").display());
    }
    Ok(())
}

/// Make the child die when the sweep dies, however it dies (SIGKILL
/// included): otherwise an orphaned run keeps writing its folder while a
/// rerun of the sweep starts the same job again. PR_SET_PDEATHSIG fires
/// when the spawning thread ends; each job's thread waits for its child.
fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: getpid is async-signal-safe and called before the fork.
        let parent = unsafe { libc::getpid() };
        // SAFETY: prctl and getppid are async-signal-safe, as pre_exec needs.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The sweep died between fork and prctl: no signal will come.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the sweep process has exited"));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}
