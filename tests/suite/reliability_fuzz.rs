//! A proptest campaign over the config loader and the row parser: random
//! and mutated inputs must give `Ok` or a typed error, never a panic. Each
//! test prints how many cases it ran (proptest turns a panic into a failing,
//! shrunk case, so a pass means none of them panicked).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use ctr_run::config::RunConfig;
use ctr_run::data::{self, Batch, DataConfig, Format, SplitKind};
use proptest::prelude::*;

use crate::cli_common::AVAZU_SAMPLE;

const VALID: &str = r#"
name = "fuzz"
seed = 3
threads = 2
output = "results"
[data]
format = "avazu"
train = "missing.csv"
split = "fraction"
train_fraction = 0.8
max_rows = 100
min_count = 2
buckets = 1000
[model]
kind = "mlp"
embed_dim = 8
hidden = [16, 8]
dropout = 0.1
[optimizer]
name = "group_adam"
lr = 0.001
lambda21 = 0.0001
[dense_optimizer]
name = "adam"
lr = 0.001
[train]
batch_size = 64
epochs = 1
checkpoint_every = 10
"#;

/// Values of every TOML type, and some that are wrong for every key.
const TOKENS: &[&str] = &[
    "0",
    "-1",
    "1e309",
    "nan",
    "inf",
    "-0.0",
    "18446744073709551616",
    "9223372036854775807",
    "\"\"",
    "\"x\"",
    "true",
    "[]",
    "[1, \"a\"]",
    "{}",
    "{ a = 1 }",
    "1979-05-27",
    "0.5",
    "\"avazu\"",
    "\"criteo_csv\"",
    "\"group_adam\"",
    "\"prox_adam\"",
    "\"mlp\"",
    "\"lr\"",
    "[[x]]",
    "=",
    "\"\\u0000\"",
    "4294967296",
];

fn mutate(text: &str, ops: &[(usize, usize, u8)]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for &(line, tok, kind) in ops {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let i = line % lines.len();
        let t = TOKENS[tok % TOKENS.len()];
        match kind % 5 {
            // Replace the value of a `key = value` line.
            0 => {
                if let Some((k, _)) = lines[i].split_once('=') {
                    lines[i] = format!("{k}= {t}");
                }
            }
            1 => {
                lines.remove(i);
            }
            2 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            3 => lines.insert(i, format!("unknown_{tok} = {t}")),
            _ => {
                let cut = lines[i].len() / 2;
                let mut s = lines[i].clone();
                while !s.is_char_boundary(cut.min(s.len())) {
                    s.pop();
                }
                s.truncate(cut.min(s.len()));
                lines[i] = s;
            }
        }
    }
    lines.join("\n")
}

/// Run `cases` cases of `strategy` through `check` (a panic fails the
/// test with the shrunk input), and report how many ran.
fn campaign<S: Strategy>(name: &str, cases: u32, strategy: S, check: impl Fn(S::Value))
where
    S::Value: std::fmt::Debug,
{
    let count = AtomicU64::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |v| {
            count.fetch_add(1, Ordering::Relaxed);
            check(v);
            Ok(())
        })
        .unwrap();
    eprintln!(
        "{name}: {} cases, none panicked",
        count.load(Ordering::Relaxed)
    );
}

#[test]
fn config_loader_never_panics_on_mutated_toml() {
    campaign(
        "config (mutated TOML)",
        20000,
        prop::collection::vec((0usize..64, 0usize..64, 0u8..5), 1..6),
        |ops| {
            let text = mutate(VALID, &ops);
            if let Ok(cfg) = RunConfig::parse(&text) {
                let _ = cfg.check();
                let _ = RunConfig::parse(&cfg.to_toml());
            }
        },
    );
}

#[test]
fn config_loader_never_panics_on_random_text() {
    campaign(
        "config (random text)",
        20000,
        "\\PC{0,200}",
        |text: String| {
            if let Ok(cfg) = RunConfig::parse(&text) {
                let _ = cfg.check();
            }
        },
    );
}

/// Read every batch of `bytes` as `format`; returns rows read or the error.
fn read_all(bytes: &[u8], format: Format, max_bad: u64) -> Result<u64, String> {
    let mut f = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    f.write_all(bytes).map_err(|e| e.to_string())?;
    let mut cfg = DataConfig::for_file(format, f.path());
    cfg.cache = false;
    cfg.split = SplitKind::Fraction;
    cfg.max_bad_rows = max_bad;
    cfg.test = Some(f.path().to_path_buf());
    let mut src = data::open(&cfg, data::Split::Test, 7).map_err(|e| e.to_string())?;
    let mut b = Batch::default();
    while src.next_batch(&mut b).map_err(|e| e.to_string())? {}
    Ok(src.rows_read())
}

fn sample_head() -> Vec<u8> {
    match std::fs::read_to_string(AVAZU_SAMPLE) {
        Ok(t) => t.lines().take(12).collect::<Vec<_>>().join("\n").into_bytes(),
        // Without the shared data, mutate a hand-written Avazu header and row.
        Err(_) => b"id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21\n1,0,14102100,1005,0,1fbe01fe,f3845767,28905ebd,ecad2386,7801e8d9,07d7df22,a99f214a,ddd2926e,44956a24,1,2,15706,320,50,1722,0,35,-1,79".to_vec(),
    }
}

fn formats() -> impl Strategy<Value = Format> {
    prop::sample::select(vec![
        Format::Avazu,
        Format::Criteo,
        Format::CriteoCsv,
        Format::Ipinyou,
    ])
}

#[test]
fn row_parser_never_panics_on_mutated_rows() {
    let head = sample_head();
    let header_end = head.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
    let (parsed, errors) = (AtomicU64::new(0), AtomicU64::new(0));
    campaign(
        "row parser (mutated rows)",
        6000,
        (
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
            formats(),
            0u64..4,
            any::<bool>(),
        ),
        |(edits, format, max_bad, keep_header)| {
            let mut bytes = head.clone();
            // Half the cases keep the header intact, to reach the row parser.
            let lo = if keep_header { header_end } else { 0 };
            for (at, byte, kind) in edits {
                let i = lo + at.index(bytes.len() - lo + 1);
                match kind {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, byte),
                }
            }
            match read_all(&bytes, format, max_bad) {
                Ok(n) if n > 0 => parsed.fetch_add(1, Ordering::Relaxed),
                Ok(_) => 0,
                Err(_) => errors.fetch_add(1, Ordering::Relaxed),
            };
        },
    );
    let (parsed, errors) = (parsed.into_inner(), errors.into_inner());
    eprintln!("  {parsed} cases read rows, {errors} ended in a typed error");
    // The campaign must reach both the parser's success and error paths.
    assert!(parsed > 0 && errors > 0);
}

#[test]
fn row_parser_never_panics_on_random_bytes() {
    let alphabet = b"0123456789,\t\n\r-.e abcdef\xff\x00\"".to_vec();
    campaign(
        "row parser (random bytes)",
        6000,
        (
            prop::collection::vec(prop::sample::select(alphabet), 0..400),
            formats(),
        ),
        |(bytes, format)| {
            let _ = read_all(&bytes, format, 2);
        },
    );
}

// ---- Derived files: the encoded cache and the checkpoint reader ----

/// Apply byte edits (flip, remove, insert, truncate) at random places.
fn damage(clean: &[u8], edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    let mut bytes = clean.to_vec();
    for (at, byte, kind) in edits {
        let i = at.index(bytes.len() + 1);
        match kind {
            0 if i < bytes.len() => bytes[i] ^= byte | 1,
            1 if i < bytes.len() => {
                bytes.remove(i);
            }
            3 => bytes.truncate(i),
            _ => bytes.insert(i, *byte),
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..4)
}

fn read_batches(src: &mut dyn data::BatchSource) -> Result<Vec<Batch>, String> {
    let mut out = Vec::new();
    let mut b = Batch::default();
    while src.next_batch(&mut b).map_err(|e| e.to_string())? {
        out.push(b.clone());
    }
    Ok(out)
}

/// A 20,000-row Avazu file (two cache chunks) and its cache config.
fn cached_file(dir: &std::path::Path) -> DataConfig {
    let f = dir.join("a.csv");
    let knobs = data::Knobs {
        cardinality_scale: 0.01,
        ..data::Knobs::default()
    };
    data::generate(Format::Avazu, 20_000, 5, &f, &knobs).unwrap();
    DataConfig {
        split: SplitKind::Fraction,
        cache_dir: Some(dir.join("cache")),
        ..DataConfig::for_file(Format::Avazu, &f)
    }
}

#[test]
fn a_damaged_cache_is_rebuilt_at_open_never_used() {
    let d = tempfile::tempdir().unwrap();
    let cfg = cached_file(d.path());
    let clean = read_batches(data::open(&cfg, data::Split::Train, 512).unwrap().as_mut()).unwrap();
    let rows = data::count_rows(&cfg, data::Split::Train).unwrap();
    let (path, _, _) = data::cache::ensure(&cfg, cfg.train.as_ref().unwrap()).unwrap();
    let good = std::fs::read(&path).unwrap();
    campaign("cache (damaged, at open)", 120, edits(), |e| {
        let bad = damage(&good, &e);
        std::fs::write(&path, &bad).unwrap();
        // Every damage is caught (rebuilt to the same bytes), the counts and
        // the rows are those of the source.
        assert_eq!(data::count_rows(&cfg, data::Split::Train).unwrap(), rows);
        assert_eq!(std::fs::read(&path).unwrap(), good, "not rebuilt");
        std::fs::write(&path, &bad).unwrap();
        let got = read_batches(data::open(&cfg, data::Split::Train, 512).unwrap().as_mut());
        assert!(got.unwrap() == clean, "different rows");
    });
}

#[test]
fn a_cache_damaged_while_it_is_read_stops_the_read_never_gives_other_rows() {
    let d = tempfile::tempdir().unwrap();
    let cfg = cached_file(d.path());
    let (path, meta, _) = data::cache::ensure(&cfg, cfg.train.as_ref().unwrap()).unwrap();
    assert_eq!(meta.chunks, 2);
    let all = || data::filter::RowFilter::new(data::filter::SplitRule::All, 1.0, None);
    let src = |p: &std::path::Path| data::cache::CacheSource::open(p, meta.clone(), all(), 512);
    let clean = read_batches(&mut src(&path).unwrap()).unwrap();
    let good = std::fs::read(&path).unwrap();
    let copy = d.path().join("damaged.ctrc");
    let (caught, neutral) = (AtomicU64::new(0), AtomicU64::new(0));
    campaign("cache (damaged, while read)", 1500, edits(), |e| {
        let bad = damage(&good, &e);
        std::fs::write(&copy, &bad).unwrap();
        match read_batches(&mut src(&copy).unwrap()) {
            Err(msg) => {
                assert!(
                    msg.starts_with(&format!("{}: cache: ", copy.display())),
                    "{msg}"
                );
                caught.fetch_add(1, Ordering::Relaxed);
            }
            // Only damage past the chunk region (meta, trailer), which the
            // reader never looks at, may read to the end: then the same rows.
            Ok(got) => {
                assert!(got == clean, "different rows");
                assert_eq!(
                    bad[..meta.data_bytes as usize],
                    good[..meta.data_bytes as usize]
                );
                neutral.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    eprintln!(
        "  {} caught, {} past the chunk region",
        caught.into_inner(),
        neutral.into_inner()
    );
}

#[test]
fn a_damaged_checkpoint_is_refused_never_read() {
    use ctr_run::checkpoint;
    let d = tempfile::tempdir().unwrap();
    let cfg = cached_file(d.path());
    let toml = d.path().join("ck.toml");
    std::fs::write(
        &toml,
        format!(
            "name = \"ck\"\nseed = 1\noutput = \"{out}\"\n[data]\nformat = \"avazu\"\ntrain = \"{train}\"\nsplit = \"fraction\"\nmax_rows = 3000\ncache = false\n[model]\nkind = \"lr\"\n[optimizer]\nname = \"adam\"\nlr = 0.01\n[train]\nbatch_size = 256\nepochs = 1\ncheckpoint_every = 4\n",
            out = d.path().display(),
            train = cfg.train.as_ref().unwrap().display()
        ),
    )
    .unwrap();
    crate::cli_common::run_ok(&["train", "-q", "-c", toml.to_str().unwrap()]);
    let dir = checkpoint::dir_of(&d.path().join("ck"));
    let b = checkpoint::list(&dir)[0];
    let names = [
        format!("checkpoint-{b:010}.json"),
        format!("checkpoint-{b:010}.safetensors"),
    ];
    let good: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap())
        .collect();
    assert!(checkpoint::read(&dir, b).is_ok());
    let work = d.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).ok();
    campaign(
        "checkpoint (damaged sidecar or tensors)",
        1500,
        (edits(), 0usize..2),
        |(e, which)| {
            let bad = damage(&good[which], &e);
            for (i, n) in names.iter().enumerate() {
                std::fs::write(work.join(n), if i == which { &bad } else { &good[i] }).unwrap();
            }
            match checkpoint::read(&work, b) {
                Err(_) => {}
                // Only a sidecar edit that leaves the same JSON values (spacing)
                // may be read.
                Ok(_) => assert!(
                    which == 0 && json(&bad).is_some() && json(&bad) == json(&good[0]),
                    "damaged checkpoint accepted"
                ),
            }
        },
    );
}
