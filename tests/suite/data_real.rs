//! The real samples in ../shared/datasets: row counts, click counts, distinct
//! values per field and dense sums must equal those computed independently by
//! this Python script (run from /work/shared/datasets, Python 3, stdlib only):
//!
//! ```python
//! import csv, math
//! def avazu(p):
//!     rows=list(csv.reader(open(p))); h=rows[0]; rows=rows[1:]
//!     fields=[c for c in h if c not in ('id','click')]; d={f:set() for f in fields}
//!     for r in rows:
//!         for c,v in zip(h,r):
//!             if c=='hour': d['hour'].add(v[6:])      # hour of day
//!             elif c in d: d[c].add(v)
//!     print(p, len(rows), sum(int(r[1]) for r in rows), [len(d[f]) for f in fields])
//! def criteo(p, csvv):
//!     rows=[r[1:] for r in list(csv.reader(open(p)))[1:]] if csvv else [l.rstrip('\n').split('\t') for l in open(p)]
//!     ints=[set() for _ in range(13)]; cats=[set() for _ in range(26)]; s1=[0.0]*13; s3=[0.0]*13
//!     for r in rows:
//!         for j in range(13):
//!             v=r[1+j]
//!             if v=='': ints[j].add('')
//!             else:
//!                 x=int(v); ints[j].add(str(int(math.log(x)**2)) if x>2 else str(x))
//!                 s1[j]+=math.log1p(max(x,0)); s3[j]+=math.log(max(x+3,1))
//!         for j in range(26): cats[j].add(r[14+j])
//!     print(p, len(rows), sum(int(r[0]) for r in rows), [len(c) for c in cats], [len(c) for c in ints], s1, s3)
//! F16=["weekday","hour","useragent","IP","region","city","adexchange","domain","slotid","slotwidth",
//!      "slotheight","slotvisibility","slotformat","slotprice","creative","advertiser"]
//! def ipinyou(p):
//!     lines=[l.rstrip('\n').split('\t') for l in open(p)]; h=lines[0]; rows=lines[1:]
//!     d={f:set() for f in F16}; tags=set()
//!     for r in rows:
//!         for c,v in zip(h,r):
//!             if c in d: d[c].add(v)
//!         tags |= {t for t in r[h.index('usertag')].split(',') if t}
//!     print(p, len(rows), sum(int(r[0]) for r in rows), [len(d[f]) for f in F16], len(tags))
//! ```
//! Row and click counts cross-checked with awk, e.g.
//! `awk -F, 'NR>1{c+=$2} END{print NR-1, c}' avazu/avazu_train8k.csv` -> `8087 1397`,
//! `awk -F'\t' '{c+=$1} END{print NR, c}' criteo/criteo_train_head2k.txt` -> `2000 418`,
//! `awk -F'\t' 'NR>1{c+=$1} END{print NR-1, c}' ipinyou/ipinyou_2821_train_log_10k.txt` -> `10439 442`.

use ctr_run::data::{
    count_rows, inspect, open, Batch, CriteoIntegers, DataConfig, Format, Split, SplitKind,
};
use std::path::PathBuf;

fn datasets() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/datasets"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent", p.display());
        None
    }
}

fn cfg(format: Format, file: PathBuf) -> DataConfig {
    DataConfig {
        cache: false,
        ..DataConfig::for_file(format, file)
    }
}

const AVAZU_FIELDS: [&str; 22] = [
    "hour",
    "C1",
    "banner_pos",
    "site_id",
    "site_domain",
    "site_category",
    "app_id",
    "app_domain",
    "app_category",
    "device_id",
    "device_ip",
    "device_model",
    "device_type",
    "device_conn_type",
    "C14",
    "C15",
    "C16",
    "C17",
    "C18",
    "C19",
    "C20",
    "C21",
];

fn check_distinct(got: &[(String, u64)], names: &[&str], want: &[u64]) {
    assert_eq!(got.len(), names.len());
    for ((g, n), w) in got.iter().zip(names).zip(want) {
        assert_eq!(g.0, *n);
        assert_eq!(g.1, *w, "distinct values of field {n}");
    }
}

#[test]
fn avazu_samples_match_python() {
    let Some(d) = datasets() else { return };
    // python: avazu/avazu_train8k.csv 8087 1397 [...]
    let cases: [(&str, u64, u64, [u64; 22]); 2] = [
        (
            "avazu/avazu_train8k.csv",
            8087,
            1397,
            [
                1, 6, 4, 339, 282, 14, 289, 28, 14, 875, 6116, 1054, 4, 4, 251, 4, 5, 109, 4, 32,
                102, 28,
            ],
        ),
        (
            "avazu/avazu_sample100.csv",
            100,
            20,
            [
                1, 3, 2, 22, 21, 7, 19, 6, 6, 11, 98, 72, 3, 3, 39, 2, 2, 25, 3, 10, 18, 12,
            ],
        ),
    ];
    for (file, rows, clicks, distinct) in cases {
        let c = cfg(Format::Avazu, d.join(file));
        let r = inspect(&c, &d.join(file)).unwrap();
        assert_eq!((r.rows, r.clicks, r.bad_rows), (rows, clicks, 0), "{file}");
        check_distinct(&r.distinct, &AVAZU_FIELDS, &distinct);
        assert!(r.dense.is_empty());
    }
}

fn criteo_names(with_ints: bool) -> Vec<String> {
    let mut v: Vec<String> = if with_ints {
        (1..=13).map(|i| format!("I{i}")).collect()
    } else {
        vec![]
    };
    v.extend((1..=26).map(|i| format!("C{i}")));
    v
}

// python: criteo(...) distinct C1..C26 and I1..I13 under log2_bucket (same for both files).
const CRITEO_C: [u64; 26] = [
    79, 252, 1293, 1043, 30, 7, 1164, 39, 2, 908, 926, 1239, 824, 20, 819, 1159, 9, 534, 201, 4,
    1204, 7, 12, 729, 33, 554,
];
const CRITEO_I: [u64; 13] = [21, 69, 42, 20, 160, 67, 39, 22, 61, 4, 15, 10, 28];
// python: sum over rows of log1p(max(x,0)) per column, TSV file.
const CRITEO_TSV_LOG1P: [f64; 13] = [
    908.031144,
    4290.200959,
    3421.912907,
    2738.424054,
    13826.593693,
    5455.489721,
    2914.192494,
    4115.021223,
    6923.539024,
    408.960053,
    1592.397986,
    144.402530,
    3038.099715,
];
// python: sum of ln(max(x+3,1)), CSV file.
const CRITEO_CSV_LOGPLUS3: [f64; 13] = [
    1732.217096,
    5200.530129,
    3891.881121,
    3355.382428,
    13921.135740,
    5714.430848,
    3903.787101,
    4805.389341,
    7208.826510,
    1393.425897,
    2894.783524,
    562.815419,
    3592.528748,
];

#[test]
fn criteo_samples_match_python() {
    let Some(d) = datasets() else { return };
    for (format, file, rows) in [
        (Format::Criteo, "criteo/criteo_train_head2k.txt", 2000u64),
        (
            Format::CriteoCsv,
            "criteo/criteo_kaggle_csv_head2k.csv",
            1999,
        ),
    ] {
        // log2_bucket: the integers are 13 more categorical fields.
        let mut c = cfg(format, d.join(file));
        c.criteo_integers = CriteoIntegers::Log2Bucket;
        let r = inspect(&c, &d.join(file)).unwrap();
        assert_eq!((r.rows, r.clicks, r.bad_rows), (rows, 418, 0), "{file}");
        let names = criteo_names(true);
        let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let want: Vec<u64> = CRITEO_I.iter().chain(&CRITEO_C).copied().collect();
        check_distinct(&r.distinct, &names, &want);

        // Dense presets: 26 fields + 13 dense, sums equal Python's (f32 values
        // summed in f64: relative error well under 1e-6).
        let (preset, want) = match format {
            Format::Criteo => (CriteoIntegers::Log1p, CRITEO_TSV_LOG1P),
            _ => (CriteoIntegers::LogPlus3, CRITEO_CSV_LOGPLUS3),
        };
        c.criteo_integers = preset;
        let r = inspect(&c, &d.join(file)).unwrap();
        assert_eq!(r.distinct.len(), 26);
        check_distinct(&r.distinct, &names[13..], &CRITEO_C);
        for (j, ds) in r.dense.iter().enumerate() {
            let sum = ds.mean * rows as f64;
            assert!(
                (sum - want[j]).abs() <= 1e-6 * want[j].max(1.0) + 1e-5,
                "{file} I{}: {sum} vs {}",
                j + 1,
                want[j]
            );
        }
    }
}

const IPINYOU_FIELDS: [&str; 16] = [
    "weekday",
    "hour",
    "useragent",
    "IP",
    "region",
    "city",
    "adexchange",
    "domain",
    "slotid",
    "slotwidth",
    "slotheight",
    "slotvisibility",
    "slotformat",
    "slotprice",
    "creative",
    "advertiser",
];

#[test]
fn ipinyou_samples_match_python() {
    let Some(d) = datasets() else { return };
    let cases: [(&str, u64, u64, [u64; 16], u64); 2] = [
        (
            "ipinyou/ipinyou_2821_train_log_10k.txt",
            10439,
            442,
            [1, 6, 23, 8707, 35, 352, 4, 1171, 1563, 8, 5, 7, 1, 52, 9, 1],
            69,
        ),
        (
            "ipinyou/ipinyou_1458_train_log_head99.txt",
            99,
            0,
            [1, 1, 7, 99, 29, 66, 2, 44, 44, 5, 3, 4, 2, 3, 5, 1],
            29,
        ),
    ];
    for (file, rows, clicks, distinct, tags) in cases {
        let mut c = cfg(Format::Ipinyou, d.join(file));
        c.test = Some(d.join(file));
        let r = inspect(&c, &d.join(file)).unwrap();
        assert_eq!((r.rows, r.clicks, r.bad_rows), (rows, clicks, 0), "{file}");
        check_distinct(&r.distinct, &IPINYOU_FIELDS, &distinct);
        // With usertag: a 17th, multi-valued field.
        c.ipinyou_usertag = true;
        let r = inspect(&c, &d.join(file)).unwrap();
        assert_eq!(r.distinct.len(), 17);
        assert_eq!(r.distinct[16], ("usertag".to_string(), tags));
    }
}

/// Read a whole split into one list of (label, keys per field, dense).
fn collect(c: &DataConfig, split: Split, bs: usize) -> (Vec<Batch>, u64) {
    let mut src = open(c, split, bs).unwrap();
    let mut out = Vec::new();
    let mut b = Batch::default();
    while src.next_batch(&mut b).unwrap() {
        assert!(b.len <= bs);
        assert_eq!(b.offsets.len(), b.len * b.n_fields + 1);
        out.push(b.clone());
    }
    (out, src.rows_read())
}

#[test]
fn splits_on_real_samples() {
    let Some(d) = datasets() else { return };
    // Criteo paper split: 7 row-order parts; 2000 * 6 / 7 = 1714 train rows, 286 test.
    let c = cfg(Format::Criteo, d.join("criteo/criteo_train_head2k.txt"));
    let (tr, n_tr) = collect(&c, Split::Train, 512);
    let (te, n_te) = collect(&c, Split::Test, 512);
    assert_eq!((n_tr, n_te), (1714, 286));
    assert_eq!(
        tr.iter().map(|b| b.len).collect::<Vec<_>>(),
        vec![512, 512, 512, 178]
    );
    assert_eq!(te.len(), 1);
    // Clicks in rows 1715..2000: awk -F'\t' 'NR>1714{c+=$1} END{print c}' -> 58
    let test_clicks: f32 = te.iter().flat_map(|b| b.labels.iter()).sum();
    assert_eq!(test_clicks, 58.0);
    assert_eq!(count_rows(&c, Split::Train).unwrap(), 1714);

    // Avazu paper split by day: the sample is one day (141021), so it is all test.
    let c = cfg(Format::Avazu, d.join("avazu/avazu_train8k.csv"));
    assert_eq!(count_rows(&c, Split::Train).unwrap(), 0);
    assert_eq!(count_rows(&c, Split::Test).unwrap(), 8087);
    // Fraction 0.8 of 8087 lines: floor(6469.6) = 6469 train.
    let c = DataConfig {
        split: SplitKind::Fraction,
        ..c
    };
    assert_eq!(count_rows(&c, Split::Train).unwrap(), 6469);
    assert_eq!(count_rows(&c, Split::Test).unwrap(), 8087 - 6469);
    // max_rows limits each split.
    let c = DataConfig {
        max_rows: Some(1000),
        ..c
    };
    assert_eq!(count_rows(&c, Split::Test).unwrap(), 1000);

    // iPinYou by file.
    let mut c = cfg(
        Format::Ipinyou,
        d.join("ipinyou/ipinyou_2821_train_log_10k.txt"),
    );
    c.test = Some(d.join("ipinyou/ipinyou_1458_train_log_head99.txt"));
    assert_eq!(count_rows(&c, Split::Train).unwrap(), 10439);
    assert_eq!(count_rows(&c, Split::Test).unwrap(), 99);
}

/// The hashed split on the iPinYou sample, whose clicks sit almost all in
/// its last 20% of rows: a row-order split would leave 2 clicks to train on.
/// The hashed split partitions the rows (train + test = all, the same rows
/// by content) with about 80% train and the clicks spread alike.
#[test]
fn hashed_split_partitions_rows_independently_of_their_order() {
    let Some(d) = datasets() else { return };
    let file = d.join("ipinyou/ipinyou_2821_train_log_10k.txt");
    let base = DataConfig {
        split: SplitKind::Hashed,
        ..cfg(Format::Ipinyou, file.clone())
    };
    let (train, test) = (
        labelled_rows(&base, Split::Train),
        labelled_rows(&base, Split::Test),
    );
    // The whole file: split by file, with the file as its own test side.
    let mut whole = labelled_rows(
        &DataConfig {
            test: Some(file.clone()),
            ..base.clone()
        },
        Split::Test,
    );
    let mut both: Vec<_> = train.iter().chain(&test).cloned().collect();
    let key = |r: &(Vec<u64>, f32)| (r.0.clone(), r.1.to_bits());
    both.sort_by_key(key);
    whole.sort_by_key(key);
    assert_eq!(both, whole, "train + test = every row, once");
    // 10,439 rows, p = 0.8: sd = sqrt(n p (1-p)) = 40.9 rows.
    let n = whole.len() as f64;
    let sd = (n * 0.8 * 0.2).sqrt();
    assert!(
        (train.len() as f64 - 0.8 * n).abs() < 4.0 * sd,
        "{} train rows of {n}",
        train.len()
    );
    let clicks = |r: &[(Vec<u64>, f32)]| r.iter().filter(|x| x.1 > 0.5).count() as f64;
    let all_clicks = clicks(&whole);
    let sd = (all_clicks * 0.8 * 0.2).sqrt();
    assert!(
        (clicks(&test) - 0.2 * all_clicks).abs() < 4.0 * sd,
        "{} of {all_clicks} clicks in test",
        clicks(&test)
    );
    assert_eq!(count_rows(&base, Split::Train).unwrap(), train.len() as u64);
}

/// Every row of a split as (its keys, its label).
fn labelled_rows(c: &DataConfig, s: Split) -> Vec<(Vec<u64>, f32)> {
    let mut src = open(c, s, 256).unwrap();
    let mut b = Batch::default();
    let mut out = Vec::new();
    while src.next_batch(&mut b).unwrap() {
        for i in 0..b.len {
            let keys = (0..b.n_fields).flat_map(|f| b.bag(i, f).to_vec()).collect();
            out.push((keys, b.labels[i]));
        }
    }
    out
}

#[test]
fn cache_gives_identical_batches_on_real_samples() {
    let Some(d) = datasets() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (format, file) in [
        (Format::Avazu, "avazu/avazu_train8k.csv"),
        (Format::Criteo, "criteo/criteo_train_head2k.txt"),
        (Format::CriteoCsv, "criteo/criteo_kaggle_csv_head2k.csv"),
    ] {
        for split in [SplitKind::Fraction, SplitKind::Paper] {
            let text = DataConfig {
                split,
                sample_rate: 0.7,
                ..cfg(format, d.join(file))
            };
            let cached = DataConfig {
                cache: true,
                cache_dir: Some(dir.path().into()),
                ..text.clone()
            };
            for s in [Split::Train, Split::Test] {
                let a = collect(&text, s, 100);
                let b = collect(&cached, s, 100); // builds the cache (first) or reads it
                let c2 = collect(&cached, s, 100); // reads it
                assert_eq!(a, b, "{file} {split:?} {s:?}");
                assert_eq!(a, c2);
            }
        }
    }
    let mut c = cfg(
        Format::Ipinyou,
        d.join("ipinyou/ipinyou_2821_train_log_10k.txt"),
    );
    c.test = Some(d.join("ipinyou/ipinyou_1458_train_log_head99.txt"));
    c.ipinyou_usertag = true;
    let cached = DataConfig {
        cache: true,
        cache_dir: Some(dir.path().into()),
        ..c.clone()
    };
    assert_eq!(
        collect(&c, Split::Train, 256),
        collect(&cached, Split::Train, 256)
    );
    assert_eq!(
        collect(&c, Split::Test, 256),
        collect(&cached, Split::Test, 256)
    );
}
