//! `[data] valid_fraction`: a share of the training side chosen by line
//! hash, disjoint from the training rows that remain and from the test
//! split, the same rows whatever the batch size and whether the cache or
//! the text is read; `count_rows` agrees with the rows read.

use std::collections::BTreeSet;
use std::path::Path;

use ctr_run::data::{self, DataConfig, Format, SchemaConfig, Split, SplitKind};

/// `n` rows whose numeric column `n` is the line index: rows are known by it.
fn config(dir: &Path, rows: usize, valid_fraction: f64, cache: bool) -> DataConfig {
    let path = dir.join("rows.csv");
    if !path.exists() {
        let mut s = String::from("click,f,n\n");
        for i in 0..rows {
            s += &format!("{},v{},{i}\n", i % 3 == 0, i % 17);
        }
        std::fs::write(&path, s.replace("true", "1").replace("false", "0")).unwrap();
    }
    DataConfig {
        split: SplitKind::Hashed,
        train_fraction: 0.8,
        valid_fraction,
        cache,
        cache_dir: Some(dir.join("cache")),
        schema: Some(SchemaConfig {
            categorical: vec!["f".into()],
            numeric: vec!["n".into()],
            ..SchemaConfig::default()
        }),
        ..DataConfig::for_file(Format::Custom, path)
    }
}

/// The line indices a split yields.
fn rows(cfg: &DataConfig, split: Split, batch_size: usize) -> Vec<u64> {
    let mut src = data::open(cfg, split, batch_size).unwrap();
    let mut b = data::Batch::default();
    let mut out = Vec::new();
    while src.next_batch(&mut b).unwrap() {
        out.extend(b.dense.iter().map(|&x| x as u64));
    }
    out
}

#[test]
fn the_validation_rows_are_a_hashed_share_of_the_training_side() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 5000;
    let plain = config(tmp.path(), n, 0.0, false);
    let side: BTreeSet<u64> = rows(&plain, Split::Train, 64).into_iter().collect();
    let test: BTreeSet<u64> = rows(&plain, Split::Test, 64).into_iter().collect();
    for cache in [false, true] {
        let cfg = config(tmp.path(), n, 0.25, cache);
        let train = rows(&cfg, Split::Train, 64);
        let valid = rows(&cfg, Split::Valid, 64);
        assert_eq!(
            train,
            rows(&cfg, Split::Train, 7),
            "batch size changed the rows"
        );
        assert_eq!(
            valid,
            rows(&cfg, Split::Valid, 7),
            "batch size changed the rows"
        );
        let (t, v): (BTreeSet<u64>, BTreeSet<u64>) = (
            train.iter().copied().collect(),
            valid.iter().copied().collect(),
        );
        assert!(t.is_disjoint(&v) && v.is_disjoint(&test));
        assert_eq!(&t | &v, side, "train + valid = the training side");
        let share = v.len() as f64 / side.len() as f64;
        assert!((share - 0.25).abs() < 0.03, "valid share {share}");
        assert_eq!(
            rows(&cfg, Split::Test, 64)
                .into_iter()
                .collect::<BTreeSet<_>>(),
            test
        );
        assert_eq!(
            data::count_rows(&cfg, Split::Train).unwrap(),
            t.len() as u64
        );
        assert_eq!(
            data::count_rows(&cfg, Split::Valid).unwrap(),
            v.len() as u64
        );
    }
}

#[test]
fn valid_fraction_and_valid_path_together_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), 10, 0.1, false);
    cfg.valid_path = Some(tmp.path().join("rows.csv"));
    let err = cfg.check().unwrap_err().to_string();
    assert!(
        err.contains("valid_fraction or valid_path, not both"),
        "{err}"
    );
    cfg.valid_path = None;
    cfg.valid_fraction = 1.0;
    let err = cfg.check().unwrap_err().to_string();
    assert!(
        err.contains("valid_fraction must be in [0, 1), got 1"),
        "{err}"
    );
}
