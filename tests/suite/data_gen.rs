//! The synthetic generator: exact raw formats that the readers parse, the same
//! seed gives the same bytes, realistic click rates, and a planted signal that
//! is really in the data.

use ctr_run::data::{
    count_rows, feature_key, generate, informative_keys, inspect, load_truth, open, truth_path,
    value_of, Batch, CriteoIntegers, DataConfig, Format, Knobs, Split, SyntheticConfig,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;

fn small() -> Knobs {
    Knobs {
        cardinality_scale: 0.01,
        ..Knobs::default()
    }
}

fn text_cfg(format: Format, file: &Path) -> DataConfig {
    DataConfig {
        cache: false,
        test: Some(file.into()),
        ..DataConfig::for_file(format, file)
    }
}

#[test]
fn same_seed_same_bytes_plain_and_gzip() {
    let d = tempfile::tempdir().unwrap();
    for format in [
        Format::Avazu,
        Format::Criteo,
        Format::CriteoCsv,
        Format::Ipinyou,
    ] {
        for ext in ["txt", "txt.gz"] {
            let a = d.path().join(format!("a.{ext}"));
            let b = d.path().join(format!("b.{ext}"));
            let c = d.path().join(format!("c.{ext}"));
            let ta = generate(format, 3000, 7, &a, &small()).unwrap();
            let tb = generate(format, 3000, 7, &b, &small()).unwrap();
            generate(format, 3000, 8, &c, &small()).unwrap();
            let (ba, bb, bc) = (
                std::fs::read(&a).unwrap(),
                std::fs::read(&b).unwrap(),
                std::fs::read(&c).unwrap(),
            );
            assert_eq!(
                ba, bb,
                "{format:?} {ext}: same seed must give identical bytes"
            );
            assert_ne!(ba, bc, "{format:?} {ext}: another seed must differ");
            assert_eq!(ta, tb);
            assert_eq!(ext.ends_with("gz"), ba[..2] == [0x1f, 0x8b]);
            assert_eq!(
                std::fs::read(truth_path(&a)).unwrap(),
                std::fs::read(truth_path(&b)).unwrap()
            );
        }
    }
}

/// Count rows, clicks and distinct values per column with plain string
/// splitting (independent of the library's reader).
fn count_by_split(
    file: &Path,
    delim: char,
    header: bool,
    label_col: usize,
) -> (u64, u64, Vec<usize>, Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let names: Vec<String> = if header {
        lines
            .next()
            .unwrap()
            .split(delim)
            .map(String::from)
            .collect()
    } else {
        vec![]
    };
    let mut sets: Vec<HashSet<String>> = Vec::new();
    let (mut rows, mut clicks) = (0, 0);
    for l in lines {
        let cells: Vec<&str> = l.split(delim).collect();
        sets.resize(cells.len(), HashSet::new());
        for (i, c) in cells.iter().enumerate() {
            sets[i].insert(c.to_string());
        }
        rows += 1;
        clicks += (cells[label_col] == "1") as u64;
    }
    (rows, clicks, sets.iter().map(|s| s.len()).collect(), names)
}

#[test]
fn avazu_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("avazu.csv");
    let truth = generate(Format::Avazu, 20_000, 1, &f, &small()).unwrap();
    let (rows, clicks, distinct, names) = count_by_split(&f, ',', true, 1);
    assert_eq!(names.len(), 24);
    let r = inspect(&text_cfg(Format::Avazu, &f), &f).unwrap();
    assert_eq!((r.rows, r.clicks, r.bad_rows), (rows, clicks, 0));
    assert_eq!((rows, clicks), (20_000, truth.clicks));
    // Click rate near Avazu's 17% (binomial sd at n = 20000 is 0.0027; the
    // intercept is calibrated on 20000 other draws: allow 0.015).
    assert!(
        (r.click_rate - 0.17).abs() < 0.015,
        "click rate {}",
        r.click_rate
    );
    // Distinct values per field equal the string count (hour: hours of day = 24).
    for (name, n) in &r.distinct {
        let col = names.iter().position(|c| c == name).unwrap();
        let want = if name == "hour" {
            24
        } else {
            distinct[col] as u64
        };
        assert_eq!(*n, want, "{name}");
    }
    // Zipf: the big fields have a long tail of rare values (most seen once or twice).
    let dev_ip = r.distinct.iter().find(|(n, _)| n == "device_ip").unwrap().1;
    assert!(dev_ip > 5000, "device_ip distinct {dev_ip}");
}

#[test]
fn criteo_round_trip_with_every_integer_preset() {
    let d = tempfile::tempdir().unwrap();
    for (format, name) in [(Format::Criteo, "c.txt"), (Format::CriteoCsv, "c.csv")] {
        let f = d.path().join(name);
        let truth = generate(format, 10_000, 2, &f, &small()).unwrap();
        let csv = format == Format::CriteoCsv;
        let (rows, clicks, distinct, _) =
            count_by_split(&f, if csv { ',' } else { '\t' }, csv, csv as usize);
        assert_eq!(distinct.len(), 40 + csv as usize);
        for preset in [
            CriteoIntegers::Log1p,
            CriteoIntegers::Log2Bucket,
            CriteoIntegers::LogPlus3,
        ] {
            let cfg = DataConfig {
                criteo_integers: preset,
                ..text_cfg(format, &f)
            };
            let r = inspect(&cfg, &f).unwrap();
            assert_eq!((r.rows, r.clicks, r.bad_rows), (rows, clicks, 0));
            let c_fields = &r.distinct[r.distinct.len() - 26..];
            for (k, (n, got)) in c_fields.iter().enumerate() {
                assert_eq!(*got, distinct[14 + csv as usize + k] as u64, "{n}");
            }
        }
        assert_eq!(truth.clicks, clicks);
        assert!(((clicks as f64 / rows as f64) - 0.25).abs() < 0.02);
        // Realistic integer columns: some empty, some negative (I2), like the real file.
        let text = std::fs::read_to_string(&f).unwrap();
        let off = csv as usize;
        let lines: Vec<Vec<&str>> = text
            .lines()
            .skip(csv as usize)
            .map(|l| l.split(if csv { ',' } else { '\t' }).collect())
            .collect();
        assert!(
            lines.iter().any(|c| c[off + 1].is_empty()),
            "I1 has empties"
        );
        assert!(
            lines.iter().any(|c| c[off + 2].starts_with('-')),
            "I2 has negatives"
        );
        assert!(
            lines.iter().any(|c| c[off + 14 + 21].is_empty()),
            "C22 has empties"
        );
        assert!(lines
            .iter()
            .all(|c| c[off + 14].len() == 8 && c[off + 14].bytes().all(|b| b.is_ascii_hexdigit())));
    }
}

#[test]
fn ipinyou_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("ip.txt");
    let k = Knobs {
        click_rate: Some(0.05),
        ..small()
    };
    let truth = generate(Format::Ipinyou, 8000, 3, &f, &k).unwrap();
    let (rows, clicks, distinct, names) = count_by_split(&f, '\t', true, 0);
    assert_eq!(names.len(), 27);
    let mut cfg = text_cfg(Format::Ipinyou, &f);
    cfg.ipinyou_usertag = true;
    let r = inspect(&cfg, &f).unwrap();
    assert_eq!((r.rows, r.clicks), (rows, clicks));
    assert_eq!(truth.clicks, clicks);
    assert!(
        ((clicks as f64 / rows as f64) - 0.05).abs() < 0.012,
        "{}",
        clicks as f64 / rows as f64
    );
    for (name, n) in &r.distinct[..16] {
        let col = names.iter().position(|c| c == name).unwrap();
        assert_eq!(*n, distinct[col] as u64, "{name}");
    }
    // usertag: a bag of tags; bidprice/payprice never features.
    assert_eq!(r.distinct[16].0, "usertag");
    assert!(r.distinct[16].1 > 30);
    assert!(!r
        .distinct
        .iter()
        .any(|(n, _)| n == "bidprice" || n == "payprice"));
    let mut src = open(
        &DataConfig {
            ipinyou_usertag: true,
            ..cfg.clone()
        },
        Split::Train,
        1000,
    )
    .unwrap();
    let mut b = Batch::default();
    src.next_batch(&mut b).unwrap();
    let bag_sizes: HashSet<usize> = (0..b.len).map(|i| b.bag(i, 16).len()).collect();
    assert!(bag_sizes.len() > 10, "usertag bags of many sizes");
}

#[test]
fn planted_signal_is_in_the_data() {
    // The weights of an informative field's head values must show in the
    // empirical click rates: Pearson correlation of the empirical log-odds of
    // the 15 most frequent values with their planted weights > 0.8.
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("a.csv");
    let k = Knobs {
        signal: 1.0,
        informative_values: 15,
        ..small()
    };
    let truth = generate(Format::Avazu, 200_000, 5, &f, &k).unwrap();
    let inf: Vec<_> = truth.fields.iter().filter(|f| f.informative).collect();
    assert_eq!(
        inf.len(),
        7,
        "a third of the 21 eligible fields (hour is positional)"
    );
    let keys: HashSet<u64> = informative_keys(&truth).into_iter().collect();
    assert_eq!(
        keys.len(),
        inf.iter()
            .map(|f| f.informative_values as usize)
            .sum::<usize>()
    );
    let cfg = text_cfg(Format::Avazu, &f);
    let mut src = open(&cfg, Split::Test, 4096).unwrap(); // by file: all rows
    let names = src.schema().field_names.clone();
    let mut stats: HashMap<u64, (f64, f64)> = HashMap::new();
    let mut b = Batch::default();
    let mut seen_informative = HashSet::new();
    while src.next_batch(&mut b).unwrap() {
        for i in 0..b.len {
            for fi in 0..b.n_fields {
                let k = b.bag(i, fi)[0];
                let e = stats.entry(k).or_default();
                e.0 += 1.0;
                e.1 += b.labels[i] as f64;
                if keys.contains(&k) {
                    seen_informative.insert(k);
                }
            }
        }
    }
    // Every informative key is a key the reader produces (head values all appear).
    assert_eq!(seen_informative.len(), keys.len());
    for fld in &inf {
        assert!(names.contains(&fld.name));
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for r in 0..fld.informative_values {
            let key = feature_key(&fld.name, &value_of(Format::Avazu, &fld.name, r).unwrap());
            let (n, c) = stats[&key];
            if n < 200.0 {
                continue;
            }
            let p = (c + 0.5) / (n + 1.0);
            xs.push(fld.weights[r as usize]);
            ys.push((p / (1.0 - p)).ln());
        }
        if xs.len() < 5 {
            continue;
        }
        let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (mx, my) = (m(&xs), m(&ys));
        let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
        let corr = cov / (vx * vy).sqrt();
        assert!(
            corr > 0.8,
            "field {}: corr {corr} over {} values",
            fld.name,
            xs.len()
        );
    }
}

#[test]
fn synthetic_config_generates_once_and_splits() {
    let d = tempfile::tempdir().unwrap();
    let cfg = DataConfig {
        format: Format::Avazu,
        synthetic: Some(SyntheticConfig {
            rows: 5000,
            test_rows: None,
            seed: 9,
            knobs: small(),
        }),
        cache_dir: Some(d.path().into()),
        ..DataConfig::default()
    };
    // 10 days, rows spread evenly in time: the last day is rows 4500..5000.
    assert_eq!(count_rows(&cfg, Split::Train).unwrap(), 4500);
    assert_eq!(count_rows(&cfg, Split::Test).unwrap(), 500);
    let files: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let synth: Vec<_> = files
        .iter()
        .filter(|n| {
            n.to_string_lossy().starts_with("synth-") && !n.to_string_lossy().ends_with(".ctrc")
        })
        .collect();
    assert_eq!(synth.len(), 2, "the file and its truth: {files:?}");
    assert!(
        files.iter().any(|n| n.to_string_lossy().ends_with(".ctrc")),
        "and its encoded cache"
    );
    let truth_file = d.path().join(
        synth
            .iter()
            .find(|n| n.to_string_lossy().ends_with(".truth.json"))
            .unwrap(),
    );
    assert_eq!(load_truth(&truth_file).unwrap().rows, 5000);
    let truth = ctr_run::data::ground_truth(&cfg).unwrap().unwrap();
    assert_eq!(
        (truth.rows, truth.seed, truth.format),
        (5000, 9, Format::Avazu)
    );
    assert_eq!(truth, load_truth(&truth_file).unwrap());
    // Real data has none.
    let real = DataConfig::for_file(Format::Avazu, d.path().join("real.csv"));
    assert!(ctr_run::data::ground_truth(&real).unwrap().is_none());

    // iPinYou: a separate test file from the same ground truth.
    let cfg = DataConfig {
        format: Format::Ipinyou,
        synthetic: Some(SyntheticConfig {
            rows: 4000,
            test_rows: Some(1000),
            seed: 9,
            knobs: small(),
        }),
        cache_dir: Some(d.path().into()),
        ..DataConfig::default()
    };
    assert_eq!(count_rows(&cfg, Split::Train).unwrap(), 4000);
    assert_eq!(count_rows(&cfg, Split::Test).unwrap(), 1000);

    // Criteo: 7 row-order parts: 7000 * 6 / 7 = 6000 train.
    let cfg = DataConfig {
        format: Format::Criteo,
        synthetic: Some(SyntheticConfig {
            rows: 7000,
            test_rows: None,
            seed: 9,
            knobs: small(),
        }),
        cache_dir: Some(d.path().into()),
        ..DataConfig::default()
    };
    assert_eq!(count_rows(&cfg, Split::Train).unwrap(), 6000);
    assert_eq!(count_rows(&cfg, Split::Test).unwrap(), 1000);
}

#[test]
fn gzip_reads_like_plain() {
    let d = tempfile::tempdir().unwrap();
    let (p, g) = (d.path().join("x.csv"), d.path().join("x.csv.gz"));
    generate(Format::Avazu, 3000, 4, &p, &small()).unwrap();
    generate(Format::Avazu, 3000, 4, &g, &small()).unwrap();
    // A gzip file under a name without .gz is still detected by content.
    let g2 = d.path().join("renamed.csv");
    std::fs::copy(&g, &g2).unwrap();
    let read = |f: &Path| {
        let mut s = open(&text_cfg(Format::Avazu, f), Split::Train, 500).unwrap();
        let mut out = Vec::new();
        let mut b = Batch::default();
        while s.next_batch(&mut b).unwrap() {
            out.push(b.clone());
        }
        out
    };
    let a = read(&p);
    assert_eq!(a.iter().map(|b| b.len).sum::<usize>(), 3000);
    assert_eq!(a, read(&g));
    assert_eq!(a, read(&g2));
}

/// A generator killed mid-write (SIGKILL: nothing of it can clean up) leaves
/// its temporary under the one name `io::remove_stale_temporaries` knows,
/// so the next run's sweep removes it and no half-written file stays.
#[test]
fn killed_writer_leaves_a_temporary_that_the_sweep_removes() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("big.txt");
    let mut child = crate::cli_common::bin()
        .args([
            "gen", "--format", "avazu", "--rows", "50000000", "--seed", "1", "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let entries = || std::fs::read_dir(d.path()).unwrap().count();
    while entries() == 0 {
        assert!(
            started.elapsed().as_secs() < 60,
            "gen wrote nothing in 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "killed before the rename");
    assert_eq!(entries(), 1, "one temporary is left behind");
    ctr_run::io::remove_stale_temporaries(d.path()).unwrap();
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn long_tail_knobs_scale_the_same_draws_and_are_recorded() {
    // field_spread scales each informative field's head weights by its
    // factor a_f without changing the draws; tail_signal is recorded as
    // tail_signal * a_f (fields with values past rank K); at 0 neither knob is written (old files unchanged).
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a.csv"), d.path().join("b.csv"));
    let plain = generate(Format::Avazu, 2000, 5, &a, &small()).unwrap();
    let k = Knobs {
        tail_signal: 0.5,
        field_spread: 0.7,
        ..small()
    };
    let tail = generate(Format::Avazu, 2000, 5, &b, &k).unwrap();
    let plain_json = std::fs::read_to_string(truth_path(&a)).unwrap();
    assert!(!plain_json.contains("tail_signal") && !plain_json.contains("signal_factor"));
    let loaded = load_truth(&truth_path(&b)).unwrap();
    assert_eq!(
        (loaded.knobs.tail_signal, loaded.knobs.field_spread),
        (0.5, 0.7)
    );
    for (l, t) in loaded.fields.iter().zip(&tail.fields) {
        assert!(
            (l.signal_factor - t.signal_factor).abs() < 1e-12,
            "{}",
            t.name
        );
        assert!((l.tail_signal - t.tail_signal).abs() < 1e-12, "{}", t.name);
    }
    let mut factors = Vec::new();
    for (p, t) in plain.fields.iter().zip(&tail.fields) {
        assert_eq!((&p.name, p.informative), (&t.name, t.informative));
        if !t.informative {
            assert_eq!((t.signal_factor, t.tail_signal), (1.0, 0.0), "{}", t.name);
            continue;
        }
        factors.push(t.signal_factor);
        // A field with no values past rank K has no tail.
        let has_tail = t.informative_values < t.cardinality;
        let want = if has_tail { 0.5 * t.signal_factor } else { 0.0 };
        assert!((t.tail_signal - want).abs() < 1e-12, "{}", t.name);
        for (wp, wt) in p.weights.iter().zip(&t.weights) {
            assert!((wp * t.signal_factor - wt).abs() < 1e-12, "{}", t.name);
        }
    }
    assert_eq!(factors.len(), 7);
    assert!(
        tail.fields.iter().any(|f| f.tail_signal > 0.0),
        "device_ip has a tail"
    );
    assert!(factors.iter().all(|&f| f > 0.0 && f != 1.0), "{factors:?}");
    // The tail carries weight: other clicks from the same uniforms.
    assert_ne!(plain.clicks, tail.clicks);
    for (key, bad) in [("tail_signal", -1.0), ("field_spread", f64::NAN)] {
        let mut k = small();
        if key == "tail_signal" {
            k.tail_signal = bad;
        } else {
            k.field_spread = bad;
        }
        let e = generate(Format::Avazu, 10, 5, &a, &k)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("synthetic.knobs.{key}")), "{e}");
    }
}
