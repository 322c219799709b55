//! The encoded cache gives exactly the text reader's batches, is reused,
//! rebuilt when stale, never trusted when damaged; resume, min_count, buckets
//! and the custom schema.

use ctr_run::data::{
    count_rows, feature_key, fold_key, generate, open, rare_key, Batch, BatchSource, DataConfig,
    Format, Knobs, MultiValued, SchemaConfig, Split, SplitKind,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn small() -> Knobs {
    Knobs {
        cardinality_scale: 0.01,
        ..Knobs::default()
    }
}

/// `DIR/a.csv`: `rows` generated Avazu rows (seed `seed`, small
/// cardinalities); its path and a config splitting it 80/20 by position
/// with the cache under `DIR/cache`.
fn cached_avazu(dir: &Path, rows: u64, seed: u64) -> (PathBuf, DataConfig) {
    let f = dir.join("a.csv");
    generate(Format::Avazu, rows, seed, &f, &small()).unwrap();
    let c = DataConfig {
        split: SplitKind::Fraction,
        cache_dir: Some(dir.join("cache")),
        ..DataConfig::for_file(Format::Avazu, &f)
    };
    (f, c)
}

fn read(src: &mut dyn BatchSource) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut b = Batch::default();
    while src.next_batch(&mut b).unwrap() {
        out.push(b.clone());
    }
    out
}

fn all(c: &DataConfig, s: Split, bs: usize) -> Vec<Batch> {
    read(open(c, s, bs).unwrap().as_mut())
}

fn ctrc_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".ctrc"))
        .collect()
}

#[test]
fn cache_equals_text_for_every_split_setting() {
    let d = tempfile::tempdir().unwrap();
    let cd = tempfile::tempdir().unwrap();
    for (format, name) in [(Format::Avazu, "a.csv"), (Format::Criteo, "c.txt.gz")] {
        let f = d.path().join(name);
        generate(format, 7000, 11, &f, &small()).unwrap();
        for (split, sample_rate, max_rows) in [
            (SplitKind::Paper, 1.0, None),
            (SplitKind::Fraction, 1.0, None),
            (SplitKind::Paper, 0.3, Some(700)),
            (SplitKind::Fraction, 0.5, Some(1234)),
            (SplitKind::Hashed, 1.0, None),
            (SplitKind::Hashed, 0.5, Some(1234)),
        ] {
            let text = DataConfig {
                split,
                sample_rate,
                max_rows,
                cache: false,
                ..DataConfig::for_file(format, &f)
            };
            let cached = DataConfig {
                cache: true,
                cache_dir: Some(cd.path().into()),
                ..text.clone()
            };
            for s in [Split::Train, Split::Test] {
                let rows = |c: &DataConfig| count_rows(c, s).unwrap();
                assert_eq!(
                    rows(&text),
                    rows(&cached),
                    "{format:?} {split:?} {s:?} count"
                );
                for bs in [1, 333, 512] {
                    let a = all(&text, s, bs);
                    assert!(!a.is_empty());
                    let n: usize = a.iter().map(|b| b.len).sum();
                    assert_eq!(n as u64, rows(&text));
                    assert_eq!(
                        a,
                        all(&cached, s, bs),
                        "{format:?} {split:?} {sample_rate} {max_rows:?} {s:?} {bs}"
                    );
                }
            }
        }
    }
    // One cache per input file, no temporary files left behind.
    assert_eq!(
        ctrc_files(cd.path()).len(),
        2,
        "{:?}",
        ctrc_files(cd.path())
    );
    assert!(std::fs::read_dir(cd.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("tmp")));
}

/// Runs that start together on one file (a sweep's jobs) share one cache:
/// every run opens the cache the first one built, still in place (the same
/// inode), and the same batches. Each used to build its own and rename it
/// over the one another run had already opened.
#[test]
fn runs_starting_together_build_the_cache_once() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let (_, c) = cached_avazu(d.path(), 20_000, 3);
    let n = 4;
    let start = std::sync::Barrier::new(n);
    let runs: Vec<(u64, Vec<Batch>)> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    let mut src = open(&c, Split::Train, 512).unwrap();
                    // The cache this run opened, before anyone else could replace it.
                    let cache = ctrc_files(&d.path().join("cache")).pop().unwrap();
                    let ino = std::fs::metadata(cache).unwrap().ino();
                    (ino, read(src.as_mut()))
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let caches = ctrc_files(&d.path().join("cache"));
    assert_eq!(caches.len(), 1, "{caches:?}");
    let now = std::fs::metadata(&caches[0]).unwrap().ino();
    let inodes: Vec<u64> = runs.iter().map(|r| r.0).collect();
    assert_eq!(
        inodes,
        vec![now; n],
        "every run opened the one cache left in place"
    );
    let text = DataConfig {
        cache: false,
        ..c.clone()
    };
    let want = all(&text, Split::Train, 512);
    for (_, batches) in &runs {
        assert!(batches == &want, "the text reader's batches");
    }
}

#[test]
fn cache_is_reused_rebuilt_when_stale_and_not_trusted_when_damaged() {
    let d = tempfile::tempdir().unwrap();
    let (f, c) = cached_avazu(d.path(), 3000, 1);
    let text = DataConfig {
        cache: false,
        ..c.clone()
    };
    let first = all(&c, Split::Train, 256);
    let cache = ctrc_files(&d.path().join("cache")).pop().unwrap();
    let built = std::fs::metadata(&cache).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(all(&c, Split::Train, 256), first);
    assert_eq!(
        std::fs::metadata(&cache).unwrap().modified().unwrap(),
        built,
        "reused, not rebuilt"
    );

    // The source changes (another seed, same size or not): the cache is rebuilt.
    generate(Format::Avazu, 3000, 2, &f, &small()).unwrap();
    let changed = all(&c, Split::Train, 256);
    assert_ne!(changed, first);
    assert_eq!(changed, all(&text, Split::Train, 256));

    // A truncated cache (a crash mid-copy, a full disk) has no valid trailer:
    // it is ignored and rebuilt.
    let bytes = std::fs::read(&cache).unwrap();
    std::fs::write(&cache, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(all(&c, Split::Train, 256), changed);
    assert_eq!(std::fs::read(&cache).unwrap(), bytes);

    // Damaged chunk bytes under an intact trailer: caught by the payload
    // checksum at open, rebuilt, never used.
    for at in [0, bytes.len() / 3, bytes.len() / 2] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        std::fs::write(&cache, &bad).unwrap();
        assert_eq!(all(&c, Split::Train, 256), changed, "flip at {at}");
        assert_eq!(std::fs::read(&cache).unwrap(), bytes, "flip at {at}");
    }

    // Damaged after the open (the checks at open passed): the chunk's own
    // checksum stops the read before any of its rows is handed out.
    let mut s = open(&c, Split::Train, 256).unwrap();
    let mut bad = bytes.clone();
    bad[40] ^= 0x01;
    std::fs::write(&cache, &bad).unwrap();
    let e = s.next_batch(&mut Batch::default()).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: cache: corrupt cache (checksum mismatch in chunk 0); delete it to rebuild",
            cache.display()
        )
    );
}

/// Set the mtime of `f` back to `t` (what `touch -d` does).
fn set_mtime(f: &Path, t: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(f)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn an_edit_that_keeps_size_and_mtime_rebuilds_the_cache_and_the_frequent_keys() {
    let d = tempfile::tempdir().unwrap();
    let (f, c) = cached_avazu(d.path(), 3000, 1);
    let c = DataConfig { min_count: 2, ..c };
    let text = DataConfig {
        cache: false,
        ..c.clone()
    };
    let first = all(&c, Split::Train, 256);
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    // The data lines in reverse order: the same size and the same bytes,
    // another split (and other counts over its train part).
    let text_now = std::fs::read_to_string(&f).unwrap();
    let mut lines: Vec<&str> = text_now.lines().collect();
    lines[1..].reverse();
    let bytes = lines.join("\n") + "\n";
    assert_eq!(bytes.len(), text_now.len());
    std::fs::write(&f, &bytes).unwrap();
    set_mtime(&f, mtime);
    assert_eq!(std::fs::metadata(&f).unwrap().modified().unwrap(), mtime);
    assert_eq!(std::fs::metadata(&f).unwrap().len() as usize, bytes.len());
    let edited = all(&c, Split::Train, 256);
    assert_ne!(edited, first);
    assert_eq!(edited, all(&text, Split::Train, 256));
}

#[test]
fn a_source_that_changes_while_it_is_read_fails_the_read() {
    let d = tempfile::tempdir().unwrap();
    let (f, with_cache) = cached_avazu(d.path(), 3000, 1);
    let row = std::fs::read_to_string(&f)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    for cache in [false, true] {
        let c = DataConfig {
            cache,
            ..with_cache.clone()
        };
        let mut s = open(&c, Split::Test, 256).unwrap();
        let mut b = Batch::default();
        assert!(s.next_batch(&mut b).unwrap());
        // Another process appends a row.
        let mut w = std::fs::File::options().append(true).open(&f).unwrap();
        std::io::Write::write_all(&mut w, format!("{row}\n").as_bytes()).unwrap();
        drop(w);
        let e = loop {
            match s.next_batch(&mut b) {
                Ok(true) => {}
                Ok(false) => panic!("cache={cache}: read to the end without an error"),
                Err(e) => break e.to_string(),
            }
        };
        let now = std::fs::metadata(&f).unwrap().len();
        let before = now - row.len() as u64 - 1;
        assert_eq!(
            e,
            format!(
                "{}: changed while it was being read (size {before} -> {now} bytes); rerun once nothing writes to it",
                f.display()
            ),
            "cache={cache}"
        );
    }
}

#[test]
fn skip_rows_resumes_exactly() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("c.txt");
    generate(Format::Criteo, 5000, 3, &f, &small()).unwrap();
    for cache in [false, true] {
        let c = DataConfig {
            cache,
            cache_dir: Some(d.path().join("cache")),
            sample_rate: 0.8,
            ..DataConfig::for_file(Format::Criteo, &f)
        };
        let flat = |bs: Vec<Batch>| -> Vec<(f32, Vec<u64>)> {
            bs.iter()
                .flat_map(|b| {
                    (0..b.len).map(move |i| {
                        (
                            b.labels[i],
                            (0..b.n_fields).flat_map(|f| b.bag(i, f).to_vec()).collect(),
                        )
                    })
                })
                .collect()
        };
        let full = flat(all(&c, Split::Train, 512));
        let mut s = open(&c, Split::Train, 512).unwrap();
        s.skip_rows(1234).unwrap();
        assert_eq!(s.rows_read(), 1234);
        let rest = flat(read(s.as_mut()));
        assert_eq!(rest, full[1234..]);
    }
}

#[test]
fn min_count_and_buckets_match_an_independent_count() {
    let d = tempfile::tempdir().unwrap();
    let (_, base) = cached_avazu(d.path(), 6000, 5);
    let raw_train = all(&base, Split::Train, 1000);
    let raw_test = all(&base, Split::Test, 1000);
    let mut counts: HashMap<u64, u32> = HashMap::new();
    for b in &raw_train {
        for &k in &b.keys {
            *counts.entry(k).or_default() += 1;
        }
    }
    let names = open(&base, Split::Train, 1)
        .unwrap()
        .schema()
        .field_names
        .clone();
    let expect = |bs: &[Batch], min: u32, buckets: Option<u64>| -> Vec<Batch> {
        bs.iter()
            .map(|b| {
                let mut b = b.clone();
                for j in 0..b.len * b.n_fields {
                    for k in b.offsets[j] as usize..b.offsets[j + 1] as usize {
                        if counts.get(&b.keys[k]).copied().unwrap_or(0) < min {
                            b.keys[k] = rare_key(&names[j % b.n_fields]);
                        }
                        if let Some(n) = buckets {
                            b.keys[k] = fold_key(b.keys[k], n);
                        }
                    }
                }
                b
            })
            .collect()
    };
    for cache in [false, true] {
        for (min, buckets) in [(3, None), (2, Some(1000)), (0, Some(77))] {
            let c = DataConfig {
                min_count: min,
                buckets,
                cache,
                ..base.clone()
            };
            assert_eq!(
                all(&c, Split::Train, 1000),
                expect(&raw_train, min, buckets),
                "{min} {buckets:?} {cache}"
            );
            assert_eq!(all(&c, Split::Test, 1000), expect(&raw_test, min, buckets));
        }
    }
    // The rare rule really fires (most device_ip values are rare).
    let c = DataConfig {
        min_count: 3,
        ..base.clone()
    };
    let mapped = all(&c, Split::Train, 1000);
    let rare_ip = rare_key("device_ip");
    let n_rare = mapped
        .iter()
        .map(|b| (0..b.len).filter(|&i| b.bag(i, 10)[0] == rare_ip).count())
        .sum::<usize>();
    assert!(n_rare > 1000, "{n_rare}");
}

#[test]
fn custom_schema_with_multi_valued_column() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("x.tsv");
    std::fs::write(
        &f,
        "y\tuser\ttags\tprice\tjunk\n1\tu1\ta|b|c\t2.5\tz\n0\tu2\t\t-1\tz\n0\tu1\tb\t\tz\n",
    )
    .unwrap();
    let schema = SchemaConfig {
        delimiter: "\\t".into(),
        header: true,
        columns: vec![],
        label: "y".into(),
        categorical: vec!["user".into()],
        numeric: vec!["price".into()],
        multi_valued: vec![MultiValued {
            column: "tags".into(),
            separator: "|".into(),
        }],
        drop: vec!["junk".into()],
    };
    let c = DataConfig {
        format: Format::Custom,
        schema: Some(schema.clone()),
        split: SplitKind::Fraction,
        train_fraction: 0.5,
        cache: false,
        ..DataConfig::for_file(Format::Custom, &f)
    };
    let mut src = open(&c, Split::Train, 10).unwrap();
    assert_eq!(src.schema().field_names, ["user", "tags"]);
    assert_eq!(src.schema().dense_names, ["price"]);
    let mut b = Batch::default();
    src.next_batch(&mut b).unwrap();
    // floor(3 * 0.5) = 1 train row.
    assert_eq!(b.len, 1);
    assert_eq!(b.labels, [1.0]);
    assert_eq!(b.bag(0, 0), [feature_key("user", "u1")]);
    assert_eq!(
        b.bag(0, 1),
        [
            feature_key("tags", "a"),
            feature_key("tags", "b"),
            feature_key("tags", "c")
        ]
    );
    assert_eq!(b.dense, [2.5]);
    let t = all(&c, Split::Test, 10);
    assert_eq!(t[0].len, 2);
    assert_eq!(t[0].bag(0, 1), [] as [u64; 0]);
    assert_eq!(t[0].dense, [-1.0, 0.0]);
    // A column named nowhere is an error, not silently dropped.
    let mut s2 = schema.clone();
    s2.drop.clear();
    let c2 = DataConfig {
        schema: Some(s2),
        ..c.clone()
    };
    let e = open(&c2, Split::Train, 10).err().unwrap().to_string();
    assert_eq!(
        e,
        format!("data config: schema: column \"junk\" of {} is not named in label, categorical, numeric, multi_valued or drop", f.display())
    );
}

#[test]
fn prefetch_gives_the_same_batches() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("c.txt");
    generate(Format::Criteo, 4000, 3, &f, &small()).unwrap();
    let c = DataConfig {
        cache: false,
        ..DataConfig::for_file(Format::Criteo, &f)
    };
    let direct = all(&c, Split::Train, 300);
    let mut p = ctr_run::data::Prefetch::new(open(&c, Split::Train, 300).unwrap(), 3);
    p.skip_rows(0).unwrap();
    assert_eq!(read(&mut p), direct);
    assert_eq!(
        p.rows_read(),
        direct.iter().map(|b| b.len as u64).sum::<u64>()
    );
    assert!(!p.next_batch(&mut Batch::default()).unwrap());
    // Errors cross the thread: a missing file errors at open, a bad row at its batch.
    let bad = d.path().join("bad.txt");
    let mut text = std::fs::read_to_string(&f).unwrap();
    text.push_str("2\tx\n");
    std::fs::write(&bad, text).unwrap();
    let cb = DataConfig {
        cache: false,
        test: Some(bad.clone()),
        ..DataConfig::for_file(Format::Criteo, &bad)
    };
    let mut p = ctr_run::data::Prefetch::new(open(&cb, Split::Train, 1000).unwrap(), 2);
    let mut b = Batch::default();
    let e = loop {
        match p.next_batch(&mut b) {
            Ok(true) => continue,
            Ok(false) => panic!("expected an error"),
            Err(e) => break e.to_string(),
        }
    };
    assert_eq!(
        e,
        format!("{}: line 4001: expected 40 columns, found 2", bad.display())
    );
}

#[test]
fn count_rows_from_cache_meta_equals_a_full_pass() {
    let d = tempfile::tempdir().unwrap();
    let short = "1,2,3\n";
    for (format, name) in [(Format::Avazu, "a.csv"), (Format::Criteo, "c.txt")] {
        let f = d.path().join(name);
        generate(format, 3000, 6, &f, &small()).unwrap();
        // Two malformed rows inside, so that the counts must subtract them.
        let mut text = std::fs::read_to_string(&f).unwrap();
        let at = text.match_indices('\n').nth(1500).unwrap().0 + 1;
        text.insert_str(at, short);
        text.push_str(short);
        std::fs::write(&f, text).unwrap();
        for split in [SplitKind::Paper, SplitKind::Fraction] {
            for max_rows in [None, Some(100)] {
                let c = DataConfig {
                    split,
                    max_rows,
                    max_bad_rows: 5,
                    cache_dir: Some(d.path().join("cache")),
                    ..DataConfig::for_file(format, &f)
                };
                for s in [Split::Train, Split::Test] {
                    let by_pass: u64 = all(&c, s, 4096).iter().map(|b| b.len as u64).sum();
                    assert_eq!(
                        ctr_run::data::count_rows(&c, s).unwrap(),
                        by_pass,
                        "{format:?} {split:?} {max_rows:?} {s:?}"
                    );
                    let text = DataConfig {
                        cache: false,
                        ..c.clone()
                    };
                    assert_eq!(ctr_run::data::count_rows(&text, s).unwrap(), by_pass);
                }
            }
        }
    }
}
