//! Settings that do nothing are errors (issue 10, class 7): a key the chosen
//! optimizer, model kind, format or split does not use, a missing optimizer
//! name; the resolved optimizers printed at the start of `train`; and every
//! config shipped in configs/ parses, checks and (sweeps) plans.

use std::path::{Path, PathBuf};

use ctr_run::config::RunConfig;
use ctr_run::experiment::sweep::SweepConfig;

use crate::cli_common::bin;

const BASE: &str =
    "[data]\nformat = \"avazu\"\n[data.synthetic]\nrows = 1000\n[model]\nkind = \"mlp\"\n";

/// The error `RunConfig::load` gives for BASE plus `body`, in a file `x.toml`.
fn load_err(body: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.toml");
    std::fs::write(&p, format!("{BASE}{body}")).unwrap();
    let err = RunConfig::load(&p).unwrap_err().to_string();
    err.replace(&p.display().to_string(), "x.toml")
}

#[test]
fn unused_keys_are_refused_naming_the_key_and_the_keys_used() {
    let cases = [
        (
            "[optimizer]\nname = \"adam\"\nlambda21 = 1e-3\n",
            "x.toml: optimizer.lambda21 is not used by adam (adam uses: lr, beta1, beta2, eps, lr_decay); use group_adam for l2,1 regularization",
        ),
        (
            "[optimizer]\nname = \"group_adam\"\n[dense_optimizer]\nname = \"sgd\"\nbeta1 = 0.5\n",
            "x.toml: dense_optimizer.beta1 is not used by sgd (sgd uses: lr, lr_decay)",
        ),
        (
            "cross_layers = 3\n[optimizer]\nname = \"adam\"\n",
            "x.toml: model.cross_layers: not used by mlp (mlp uses: kind, embed_dim, hidden, dropout, init_std); only dcn has cross layers",
        ),
    ];
    for (body, want) in cases {
        // `cross_layers` belongs in [model], the last table of BASE.
        assert_eq!(load_err(body), want, "{body}");
    }
}

#[test]
fn data_keys_the_format_or_split_ignores_are_refused() {
    let cases = [
        (
            "[data]\nformat = \"avazu\"\ntrain_fraction = 0.7\n[data.synthetic]\nrows = 1000\n",
            "data config: train_fraction is not used by split = \"paper\" (it is used by split = \"fraction\" and \"hashed\")",
        ),
        (
            "[data]\nformat = \"avazu\"\ncriteo_integers = \"log2_bucket\"\n[data.synthetic]\nrows = 1000\n",
            "data config: criteo_integers is not used by format = \"avazu\" (it is used by format = \"criteo\" and \"criteo_csv\")",
        ),
        (
            "[data]\nformat = \"criteo\"\nipinyou_usertag = true\n[data.synthetic]\nrows = 1000\n",
            "data config: ipinyou_usertag is not used by format = \"criteo\" (it is used by format = \"ipinyou\")",
        ),
    ];
    for (data, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.toml");
        let text = format!("{data}[model]\nkind = \"mlp\"\n[optimizer]\nname = \"adam\"\n");
        std::fs::write(&p, text).unwrap();
        let err = RunConfig::load(&p).unwrap_err().to_string();
        assert_eq!(err, format!("{}: {want}", p.display()));
    }
}

#[test]
fn the_optimizer_name_is_required() {
    let list = "sgd, momentum, adagrad, adam, amsgrad, adahessian, ftrl, group_sgd, group_momentum, group_adagrad, group_adam, group_amsgrad, group_adahessian, prox_adam, prox_sgd_momentum, prox_sgd, subgradient";
    assert_eq!(
        load_err("[optimizer]\nlr = 0.01\n"),
        format!("x.toml: [optimizer] needs `name` (one of: {list})")
    );
    assert_eq!(
        load_err("[optimizer]\nname = \"adam\"\n[dense_optimizer]\nlr = 0.01\n"),
        format!("x.toml: [dense_optimizer] needs `name` (one of: {list})")
    );
}

/// A run folder's config.toml carries every key (defaults too); it must
/// load again, or resume would refuse its own runs.
#[test]
fn a_stored_config_with_every_key_loads_again() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.toml");
    std::fs::write(&p, format!("{BASE}[optimizer]\nname = \"adam\"\n")).unwrap();
    let cfg = RunConfig::load(&p).unwrap();
    let stored = tmp.path().join("stored.toml");
    std::fs::write(&stored, cfg.to_toml()).unwrap();
    assert!(cfg.to_toml().contains("lambda21 = 0.0"));
    let again = RunConfig::load(&stored).unwrap();
    assert_eq!(again.optimizer, cfg.optimizer);
}

#[test]
fn train_prints_the_resolved_optimizers_unless_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("run.toml");
    let text = format!(
        "output = \"{dir}\"\n[data]\nformat = \"avazu\"\ncache_dir = \"{dir}\"\n[data.synthetic]\nrows = 1000\n[model]\nkind = \"mlp\"\n[optimizer]\nname = \"group_adam\"\nlambda21 = 1e-4\n[train]\nmax_batches = 1\nbatch_size = 64\nprogress = false\n",
        dir = tmp.path().display()
    );
    std::fs::write(&p, text).unwrap();
    let want = "optimizer: group_adam lr=0.001 beta1=0.9 beta2=0.999 eps=0.00000001 lr_decay=constant lambda1=0 lambda21=0.0001 lambda2=0 group_norm=plain ; dense: group_adam lr=0.001 beta1=0.9 beta2=0.999 eps=0.00000001 lr_decay=constant lambda1=0 lambda21=0 lambda2=0 group_norm=plain\n";
    let out = bin()
        .args(["train", "--config", p.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(want), "{err}");
    std::fs::remove_dir_all(tmp.path().join("run")).unwrap();
    let out = bin()
        .args(["train", "--quiet", "--config", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("optimizer:"));
}

fn tomls(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            tomls(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

/// Every shipped config parses and checks, and every sweep plans (each of
/// its jobs checks), so the new rules refuse none of them.
#[test]
fn every_shipped_config_loads_and_every_sweep_plans() {
    let mut files = Vec::new();
    tomls(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("configs"),
        &mut files,
    );
    assert!(files.len() > 40, "found {} configs", files.len());
    for p in files {
        let table: toml::Table = std::fs::read_to_string(&p).unwrap().parse().unwrap();
        if table.contains_key("base") {
            let (sweep, base) =
                SweepConfig::load(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
            let jobs = sweep
                .jobs(&base)
                .unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
            assert!(!jobs.is_empty(), "{}", p.display());
        } else {
            RunConfig::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }
}
