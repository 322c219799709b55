//! Running the `ctr-run` binary from the tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
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
pub fn write_lr_base(dir: &Path, batch_size: u32) -> String {
    let p = TomlConfig::on_synthetic(dir, 2000)
        .remove("data.cache_dir")
        .set("data.cache", false)
        .set("model.kind", "lr")
        .optimizer("group_adagrad", 0.05)
        .set("train.batch_size", batch_size)
        .write(&dir.join("base.toml"));
    path(&p)
}

/// `DIR/sweep.toml`: the sweep "grid" of `base` (a file in DIR) over
/// `optimizer.lambda21` in {0, 0.01}, with `settings` (`repeats = 1`, ...)
/// at its top level; its path.
pub fn write_lambda21_sweep(dir: &Path, base: &str, settings: &str) -> PathBuf {
    let p = dir.join("sweep.toml");
    std::fs::write(
        &p,
        format!("base = \"{base}\"\nname = \"grid\"\n{settings}\n[axes]\n\"optimizer.lambda21\" = [0.0, 0.01]\n"),
    )
    .unwrap();
    p
}

/// `ctr-run export --run RUN --out MODEL`, which must succeed; its report.
pub fn export(run: &Path, model: &Path) -> String {
    ctr_run(&[
        "export",
        "--run",
        run.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ])
}

/// `ctr-run predict --model MODEL --data DATA --out OUT EXTRA...`, which
/// must succeed; its standard output.
pub fn predict(model: &Path, data: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ctr_run(&args)
}

/// A run folder as a sweep leaves it: `DIR/config.toml` and
/// `DIR/metrics.json` with the given texts (for `summarize` and `tables`).
pub fn write_run(dir: &Path, config: &str, metrics: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.toml"), config).unwrap();
    std::fs::write(dir.join("metrics.json"), metrics).unwrap();
}

/// A stored run's config.toml as `tables` reads it: logistic regression on
/// `x.csv` with seed SEED; `optimizer` is the `[optimizer]` section and
/// `extra` follows it.
pub fn stored_config(optimizer: &str, seed: u64, extra: &str) -> String {
    format!(
        "name = \"x\"\nseed = {seed}\n[data]\nformat = \"avazu\"\ntrain = \"x.csv\"\n[model]\nkind = \"lr\"\n[optimizer]\n{optimizer}\n{extra}"
    )
}

/// `ctr-run tables --runs ROOT --out ROOT/tables`; the output folder.
pub fn tables(root: &Path) -> PathBuf {
    let out = root.join("tables");
    ctr_run(&[
        "tables",
        "--runs",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    out
}

/// The Avazu sample of the shared datasets (8,000 rows, one day).
pub const AVAZU_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/datasets/avazu/avazu_train8k.csv"
);

/// Whether the Avazu sample is there; says the test is skipped if not
/// (the shared datasets live outside the repository).
pub fn have_avazu_sample() -> bool {
    let ok = Path::new(AVAZU_SAMPLE).exists();
    if !ok {
        eprintln!("skipped: shared datasets absent ({AVAZU_SAMPLE} not found)");
    }
    ok
}

/// A run config for a test, set key by key and written as TOML.
///
/// Keys are dotted (`seed`, `data.train`, `data.synthetic.rows`): what
/// stands before the last dot is the section. Setting a key again replaces
/// its value where it stands, so a test changes a preset by name; `raw`
/// adds text verbatim (a section of its own, or TOML wrong on purpose).
/// One line of a `TomlConfig` section: (key, text). Raw text has no key,
/// so `set` never replaces it.
type TomlLine = (Option<String>, String);

#[derive(Clone, Debug, Default)]
pub struct TomlConfig {
    /// (section, its lines); the top level ("") first.
    sections: Vec<(String, Vec<TomlLine>)>,
}

impl TomlConfig {
    /// No keys; the sections in their usual order (an empty one is not
    /// written).
    pub fn new() -> Self {
        let sections = ["", "data", "model", "optimizer", "train"];
        Self {
            sections: sections.map(|s| (s.to_string(), Vec::new())).into(),
        }
    }

    /// `name`, seed 5, one thread, output into `out`; the Avazu sample
    /// split 80/20 by position, no cache; batches of 128. The model and the
    /// optimizer are the test's.
    pub fn on_avazu_sample(out: &Path, name: &str) -> Self {
        Self::new()
            .set("name", name)
            .set("seed", 5)
            .set("threads", 1)
            .set("output", path(out))
            .set("data.format", "avazu")
            .set("data.train", AVAZU_SAMPLE)
            .set("data.split", "fraction")
            .set("data.train_fraction", 0.8)
            .set("data.cache", false)
            .set("train.batch_size", 128)
    }

    /// `name`, output into `out`: logistic regression with Adam at its
    /// default rate on the Avazu file `data`, split 80/20 by position, no
    /// cache; every other key at its default.
    pub fn lr_on(out: &Path, name: &str, data: &Path) -> Self {
        Self::new()
            .set("name", name)
            .set("output", path(out))
            .set("data.format", "avazu")
            .set("data.train", path(data))
            .set("data.split", "fraction")
            .set("data.cache", false)
            .set("model.kind", "lr")
            .set("optimizer.name", "adam")
    }

    /// `name`, output into `out`: the Avazu files `train` and `test`, no
    /// cache. The model and the optimizer are the test's.
    pub fn on_train_test(out: &Path, name: &str, train: &Path, test: &Path) -> Self {
        Self::new()
            .set("name", name)
            .set("output", path(out))
            .set("data.format", "avazu")
            .set("data.train", path(train))
            .set("data.test", path(test))
            .set("data.cache", false)
    }

    /// One thread, output into `out`; `rows` synthetic Avazu rows (seed
    /// 9) split 80/20 by position, the cache under `out/cache`.
    pub fn on_synthetic(out: &Path, rows: u32) -> Self {
        Self::new()
            .set("threads", 1)
            .set("output", path(out))
            .set("data.format", "avazu")
            .set("data.split", "fraction")
            .set("data.cache_dir", path(&out.join("cache")))
            .set("data.synthetic.rows", rows)
            .set("data.synthetic.seed", 9)
    }

    /// `optimizer.name` and `optimizer.lr`.
    pub fn optimizer(self, name: &str, lr: f64) -> Self {
        self.set("optimizer.name", name).set("optimizer.lr", lr)
    }

    /// `key = value`, replacing the key's value if it is set.
    pub fn set(self, key: &str, value: impl Into<toml::Value>) -> Self {
        let text = value.into().to_string();
        self.set_raw(key, &text)
    }

    /// `key = TEXT` with TEXT verbatim (`1e30`, `[32, 16]`, a wrong type).
    pub fn set_raw(mut self, key: &str, text: &str) -> Self {
        let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
        let line = format!("{name} = {text}");
        let lines = self.section(section);
        match lines.iter_mut().find(|(k, _)| k.as_deref() == Some(name)) {
            Some(l) => l.1 = line,
            None => lines.push((Some(name.to_string()), line)),
        }
        self
    }

    /// Drop `key` if it is set.
    pub fn remove(mut self, key: &str) -> Self {
        let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
        self.section(section)
            .retain(|(k, _)| k.as_deref() != Some(name));
        self
    }

    /// TEXT verbatim at the end of `section` ("" for the top level); the
    /// section is opened if it is not there yet.
    pub fn raw(mut self, section: &str, text: &str) -> Self {
        self.section(section).push((None, text.to_string()));
        self
    }

    fn section(&mut self, name: &str) -> &mut Vec<(Option<String>, String)> {
        let i = match self.sections.iter().position(|(s, _)| s == name) {
            Some(i) => i,
            None => {
                // `data.synthetic` goes after `data` and its other tables.
                let parent = name.rsplit_once('.').map_or("", |(p, _)| p);
                let i = match self.sections.iter().rposition(|(s, _)| {
                    !parent.is_empty() && (s == parent || s.starts_with(&format!("{parent}.")))
                }) {
                    Some(i) => i + 1,
                    None => self.sections.len(),
                };
                self.sections.insert(i, (name.to_string(), Vec::new()));
                i
            }
        };
        &mut self.sections[i].1
    }

    /// The TOML text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (section, lines) in &self.sections {
            if lines.is_empty() {
                continue;
            }
            if !section.is_empty() {
                out += &format!("[{section}]\n");
            }
            for (_, line) in lines {
                out += line;
                out.push('\n');
            }
        }
        out
    }

    /// Write the text to `file`; its path.
    pub fn write(&self, file: &Path) -> PathBuf {
        std::fs::write(file, self.text()).unwrap();
        file.to_path_buf()
    }
}

/// `p` as a TOML string value.
pub fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn toml_config_replaces_keys_where_they_stand_and_orders_sections() {
    let text = TomlConfig::on_synthetic(Path::new("/o"), 300)
        .set("data.synthetic.seed", 3)
        .set("train.batch_size", 64)
        .optimizer("sgd", 0.5)
        .set("model.kind", "lr")
        .set("model.hidden", vec![32, 16])
        .remove("threads")
        .raw("train", "[prune]\ntarget_rate = 0.2")
        .set_raw("seed", "7")
        .text();
    assert_eq!(
        text,
        "output = \"/o\"\nseed = 7\n\
         [data]\nformat = \"avazu\"\nsplit = \"fraction\"\ncache_dir = \"/o/cache\"\n\
         [data.synthetic]\nrows = 300\nseed = 3\n\
         [model]\nkind = \"lr\"\nhidden = [32, 16]\n\
         [optimizer]\nname = \"sgd\"\nlr = 0.5\n\
         [train]\nbatch_size = 64\n[prune]\ntarget_rate = 0.2\n"
    );
}
