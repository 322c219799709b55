//! The compute device (`device = "cpu" | "cuda" | "cuda:N"`, `--device`):
//! every spelling and error, the CLI's messages, and the device-generic model
//! path. On a non-CPU device the models compose stock candle ops (the fused
//! ops are CPU-only), so 100 training steps through the stock path on
//! `Device::Cpu` must track the fused path: that is what a CPU-only CI can
//! check of the CUDA path. The `gpu_` tests run it on a real GPU and skip
//! with a message when none answers (scripts/gpu_check.sh).

use std::path::{Path, PathBuf};

use candle_core::Device;
use ctr_run::config::RunConfig;
use ctr_run::model::{build, DeviceSpec, Grads, ModelConfig, ModelKind};

use crate::cli_common::{bin, have_avazu_sample, TomlConfig, AVAZU_SAMPLE};
use crate::model_common::Batch;

fn bad_device(s: &str) -> String {
    format!("device must be \"cpu\", \"cuda\" or \"cuda:N\" (N a GPU index), got \"{s}\"")
}

#[test]
fn device_spec_parses_every_spelling_and_refuses_the_rest() {
    for (text, spec, shown) in [
        ("cpu", DeviceSpec::Cpu, "cpu"),
        ("cuda", DeviceSpec::Cuda(0), "cuda"),
        ("cuda:0", DeviceSpec::Cuda(0), "cuda"),
        ("cuda:3", DeviceSpec::Cuda(3), "cuda:3"),
        ("cuda:12", DeviceSpec::Cuda(12), "cuda:12"),
    ] {
        assert_eq!(text.parse::<DeviceSpec>(), Ok(spec), "{text}");
        assert_eq!(spec.to_string(), shown);
        assert_eq!(
            shown.parse::<DeviceSpec>(),
            Ok(spec),
            "round trip of {shown}"
        );
    }
    for text in [
        "",
        "CPU",
        "Cuda",
        "gpu",
        "cuda:",
        "cuda0",
        "cuda:x",
        "cuda:-1",
        "cuda:+1",
        " cuda",
        "cuda:1 ",
        "cuda:1:2",
        "cpu:0",
        "cuda:99999999999999999999999",
    ] {
        assert_eq!(
            text.parse::<DeviceSpec>().map_err(|e| e.to_string()),
            Err(bad_device(text)),
            "{text:?}"
        );
    }
    assert_eq!(DeviceSpec::default(), DeviceSpec::Cpu);
    assert!(DeviceSpec::Cpu.open().unwrap().is_cpu());
}

#[test]
fn cuda_without_the_feature_is_an_error_naming_the_build() {
    if cfg!(feature = "cuda") {
        eprintln!("skipped: this binary has the cuda feature");
        return;
    }
    for (spec, shown) in [
        (DeviceSpec::Cuda(0), "cuda"),
        (DeviceSpec::Cuda(2), "cuda:2"),
    ] {
        assert_eq!(
            spec.open().unwrap_err().to_string(),
            format!(
                "device = \"{shown}\" needs a binary built with --features cuda (scripts/cuda_build_check.sh)"
            )
        );
    }
}

const MINIMAL: &str = "[data]\nformat = \"avazu\"\n[data.synthetic]\nrows = 1000\n[model]\nkind = \"mlp\"\n[optimizer]\nname = \"adam\"\n";

#[test]
fn the_device_key_defaults_to_cpu_and_is_written_only_when_not_cpu() {
    let cpu = RunConfig::parse(MINIMAL).unwrap();
    assert_eq!(cpu.device, DeviceSpec::Cpu);
    // CPU runs' config.toml (and so sweep job identities) are unchanged.
    assert!(!cpu.to_toml().contains("device"), "{}", cpu.to_toml());
    let gpu = RunConfig::parse(&format!("device = \"cuda:1\"\n{MINIMAL}")).unwrap();
    assert_eq!(gpu.device, DeviceSpec::Cuda(1));
    assert!(
        gpu.to_toml().contains("device = \"cuda:1\"\n"),
        "{}",
        gpu.to_toml()
    );
    assert_eq!(RunConfig::parse(&gpu.to_toml()).unwrap(), gpu);

    let err = RunConfig::parse(&format!("device = \"gpu\"\n{MINIMAL}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&bad_device("gpu")), "{err}");
    assert!(err.contains("line 1"), "the error names the line: {err}");
}

/// An MLP with Adam on the Avazu sample, saving its model; `extra` at the
/// top level.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    TomlConfig::on_avazu_sample(dir, "r")
        .remove("threads")
        .set("seed", 3)
        .raw("", extra)
        .set("model.kind", "mlp")
        .set("optimizer.name", "adam")
        .set("train.batch_size", 256)
        .set("train.save_model", true)
        .write(&dir.join("r.toml"))
}

fn fails(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("binary runs");
    assert!(!out.status.success(), "ctr-run {args:?} succeeded");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("panicked"),
        "ctr-run {args:?} panicked:\n{err}"
    );
    err
}

/// `--device` on train, bench and predict: a device this binary cannot open
/// stops the command with the message, before anything is written (a
/// finished run keeps its metrics.json); a misspelled device is refused by
/// the argument parser with the same rule as the config key.
#[test]
fn device_flags_fail_with_the_message_before_touching_the_run() {
    if cfg!(feature = "cuda") {
        eprintln!("skipped: this binary has the cuda feature");
        return;
    }
    if !have_avazu_sample() {
        return;
    }
    let no_feature = |shown: &str| {
        format!("device = \"{shown}\" needs a binary built with --features cuda (scripts/cuda_build_check.sh)")
    };
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let cfg = cfg.to_str().unwrap();
    crate::cli_common::run_ok(&["train", "--quiet", "--config", cfg, "--device", "cpu"]);
    let run = tmp.path().join("r");
    let metrics = std::fs::read(run.join("metrics.json")).unwrap();

    let err = fails(&["train", "--quiet", "--config", cfg, "--device", "cuda"]);
    assert!(err.contains(&no_feature("cuda")), "{err}");
    assert_eq!(std::fs::read(run.join("metrics.json")).unwrap(), metrics);

    // The config key, without the flag: same message, same protection.
    let gpu_cfg = write_config(tmp.path(), "device = \"cuda:1\"");
    let err = fails(&["train", "--quiet", "--config", gpu_cfg.to_str().unwrap()]);
    assert!(err.contains(&no_feature("cuda:1")), "{err}");
    assert_eq!(std::fs::read(run.join("metrics.json")).unwrap(), metrics);

    let err = fails(&["train", "--config", cfg, "--device", "gpu"]);
    assert!(
        err.contains(&format!(
            "invalid value 'gpu' for '--device <DEVICE>': {}",
            bad_device("gpu")
        )),
        "{err}"
    );
    let err = fails(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert!(err.contains("cannot be used with"), "{err}");

    let err = fails(&[
        "bench", "--rows", "1000", "--repeat", "1", "--device", "cuda:1",
    ]);
    assert!(err.contains(&no_feature("cuda:1")), "{err}");

    let model = tmp.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    crate::cli_common::run_ok(&["export", "--run", run.to_str().unwrap(), "--out", m]);
    let scores = tmp.path().join("s.csv");
    let s = scores.to_str().unwrap();
    let err = fails(&[
        "predict",
        "--model",
        m,
        "--data",
        AVAZU_SAMPLE,
        "--out",
        s,
        "--device",
        "cuda",
    ]);
    assert!(err.contains(&no_feature("cuda")), "{err}");
    assert!(!scores.exists());
    crate::cli_common::run_ok(&[
        "predict",
        "--model",
        m,
        "--data",
        AVAZU_SAMPLE,
        "--out",
        s,
        "--device",
        "cpu",
    ]);
    assert!(scores.exists());
}

/// Fields and dense features of each model's dataset (benches/models.rs).
fn shape(kind: ModelKind) -> (usize, usize) {
    match kind {
        ModelKind::Mlp | ModelKind::Lr => (22, 0),
        ModelKind::Opnn => (16, 0),
        ModelKind::Dcn => (26, 13),
    }
}

const STEPS: u64 = 100;
const BATCH: usize = 128;
const LR: f32 = 0.05;

/// The paper's model of `kind` on `device` after `STEPS` SGD steps from the
/// same seed on the same batches (dropout as the paper's: OPNN's masks are
/// drawn on the host, so every device applies the same ones). Returns the
/// logits of a held-out batch and the embedding gradient of the last step,
/// which is what comes back to the host store each step.
pub fn train_steps(kind: ModelKind, device: &Device, fused: bool) -> (Vec<f32>, Vec<f32>) {
    let cfg = ModelConfig::default_for(kind);
    let (f, k) = shape(kind);
    let mut m = build(&cfg, f, k, 7, device).unwrap();
    m.set_fused_ops(fused);
    let mut g = Grads::default();
    for step in 0..STEPS {
        let b = Batch::random(1000 + step, BATCH, f, cfg.embed_dim, k, 0.3);
        m.forward_backward(&b.input(), &b.labels, step, &mut g)
            .unwrap();
        for (p, gp) in m.params_mut().iter_mut().zip(&g.params) {
            for (w, d) in p.data.iter_mut().zip(gp) {
                *w -= LR * d;
            }
        }
    }
    let held_out = Batch::random(1, BATCH, f, cfg.embed_dim, k, 0.3);
    let mut logits = Vec::new();
    m.logits(&held_out.input(), &mut logits).unwrap();
    (logits, g.emb)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The CUDA path (stock ops, gradients copied back) on the CPU, against the
/// fused CPU path: 100 steps of training leave the same model to float
/// rounding.
#[test]
fn the_stock_op_path_trains_like_the_fused_path_for_100_steps() {
    for kind in ModelKind::ALL {
        let (fused, g_fused) = train_steps(kind, &Device::Cpu, true);
        let (stock, g_stock) = train_steps(kind, &Device::Cpu, false);
        let d = max_abs_diff(&fused, &stock);
        let dg = max_abs_diff(&g_fused, &g_stock);
        eprintln!("{kind}: max |fused - stock| logit {d:.2e}, last emb gradient {dg:.2e}");
        assert!(d <= 2e-6, "{kind}: logits differ by {d}");
        assert!(dg <= 2e-8, "{kind}: embedding gradients differ by {dg}");
        assert!(
            fused.iter().any(|&x| x.abs() > 1e-3),
            "{kind}: the model learned nothing"
        );
    }
}

/// On a GPU (scripts/gpu_check.sh): CUDA against the fused CPU path after
/// 100 steps (target 1e-4), and whether two CUDA runs agree bit for bit.
#[test]
fn gpu_logits_match_the_cpu_after_100_steps() {
    let device = match DeviceSpec::Cuda(0).open() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("skipped: no GPU: {e}");
            return;
        }
    };
    for kind in ModelKind::ALL {
        let (cpu, g_cpu) = train_steps(kind, &Device::Cpu, true);
        let (gpu, g_gpu) = train_steps(kind, &device, true);
        let (again, _) = train_steps(kind, &device, true);
        let d = max_abs_diff(&cpu, &gpu);
        println!(
            "gpu_check {kind}: max |cpu - cuda| logit after {STEPS} steps {d:.2e}, last emb gradient {:.2e}, cuda twice bitwise equal: {}",
            max_abs_diff(&g_cpu, &g_gpu),
            gpu == again
        );
        assert!(d <= 1e-4, "{kind}: CPU and CUDA logits differ by {d}");
    }
}
