//! Inputs ctr-run cannot read correctly are refused at once, naming the file
//! and why: a FIFO or `/dev/stdin` pipe (read more than once, it would hang
//! or be consumed by the first pass) and compressed formats other than gzip.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli_common::{bin, path, TomlConfig};

/// Run `cmd`, killing it (and failing) if it has not ended within 20 s.
fn within_20s(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("ctr-run hung on a special file: killed after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn train_config(dir: &Path, data: &Path) -> String {
    let p = TomlConfig::lr_on(dir, "run", data)
        .remove("data.cache")
        .write(&dir.join("run.toml"));
    path(&p)
}

const FIFO_WHY: &str = "is a FIFO/pipe; ctr-run reads its input more than once (schema, split, passes): write it to a file first";

#[test]
fn a_fifo_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("in.csv");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let want = format!("error: {}: {FIFO_WHY}", fifo.display());
    let mut inspect = bin();
    inspect.args([
        "data",
        "inspect",
        fifo.to_str().unwrap(),
        "--format",
        "avazu",
    ]);
    let cfg = train_config(tmp.path(), &fifo);
    let mut train = bin();
    train.args(["train", "-q", "--config", &cfg]);
    for cmd in [inspect, train] {
        let out = within_20s(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.lines().any(|l| l == want), "{stderr}");
    }
    assert!(!tmp.path().join("run/metrics.json").exists());
}

#[test]
fn dev_stdin_as_a_pipe_is_refused_at_once() {
    let mut cmd = bin();
    // The pipe stays open and empty: a reader would wait forever.
    cmd.args(["data", "inspect", "/dev/stdin", "--format", "avazu"])
        .stdin(Stdio::piped());
    let out = within_20s(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end(), format!("error: /dev/stdin: {FIFO_WHY}"));
}

#[test]
fn other_compressed_formats_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8]); 8] = [
        ("bzip2", b"BZh91AY&SY\x01\x02\x03\x04"),
        ("bzip2", b"BZh9\x17\x72\x45\x38\x50\x90\x00\x00\x00\x00"),
        ("xz", b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46"),
        ("zstd", b"\x28\xb5\x2f\xfd\x24\x05\x29\x00"),
        ("zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
        ("zip", b"PK\x05\x06\x00\x00\x00\x00\x00\x00"),
        ("7z", b"7z\xbc\xaf\x27\x1c\x00\x04"),
        ("lz4", b"\x04\x22\x4d\x18\x64\x40\xa7"),
    ];
    for (i, (kind, bytes)) in cases.iter().enumerate() {
        let f = tmp.path().join(format!("f{i}.csv"));
        std::fs::write(&f, bytes).unwrap();
        let mut cmd = bin();
        cmd.args(["data", "inspect", f.to_str().unwrap(), "--format", "avazu"]);
        let out = within_20s(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "error: {}: {kind}-compressed; decompress it or use gzip",
                f.display()
            )
        );
    }
    // Text that merely starts like a bzip2 stream is read as text.
    let f = tmp.path().join("bzh.csv");
    std::fs::write(&f, "BZh9,x\n").unwrap();
    let mut cmd = bin();
    cmd.args(["data", "inspect", f.to_str().unwrap(), "--format", "avazu"]);
    let stderr = String::from_utf8_lossy(&within_20s(cmd).stderr).into_owned();
    assert!(stderr.contains("bad header"), "{stderr}");
}
