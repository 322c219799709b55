//! `format = "custom"` on a comma-separated iPinYou variant whose `usertag`
//! is quoted with commas inside (RFC-4180, docs/data.md "Custom files"), and
//! duplicate header names.

use crate::cli_common::{json, run_ok};
use ctr_run::data::dataset::ipinyou::{COLUMNS as IPINYOU_COLUMNS, FIELDS as IPINYOU_FIELDS};
use ctr_run::data::open::open_text_all;
use ctr_run::data::{feature_key, inspect, Batch, BatchSource, DataConfig};
use std::path::Path;

/// iPinYou's columns without the constant `urlid`: 26.
fn columns() -> Vec<&'static str> {
    IPINYOU_COLUMNS
        .iter()
        .copied()
        .filter(|&c| c != "urlid")
        .collect()
}

/// The tags of row `i`: 0 to 4 of them (0 = an empty cell).
fn tags(i: usize) -> Vec<String> {
    (0..i % 5)
        .map(|k| format!("{}", 10006 + 18 * k + i % 3))
        .collect()
}

/// The user agent of row `i`: a quoted comma and an escaped quote on odd rows.
fn useragent(i: usize) -> String {
    if i % 2 == 1 {
        format!("Mozilla \"{}\", like Gecko", i % 7)
    } else {
        format!("agent{}", i % 7)
    }
}

/// A CSV cell as RFC-4180 writes it (quoted when it holds `,` or `"`).
fn cell(s: &str) -> String {
    if s.contains(',') || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_ipinyou_csv(path: &Path, rows: usize, offset: usize) {
    let cols = columns();
    let mut text = cols.join(",") + "\n";
    for r in 0..rows {
        let i = r + offset;
        let row: Vec<String> = cols
            .iter()
            .map(|&c| match c {
                "click" => ((i % 4 == 0) as u8).to_string(),
                "usertag" => cell(&tags(i).join(",")),
                "useragent" => cell(&useragent(i)),
                "weekday" => (i % 7).to_string(),
                "hour" => (i % 24).to_string(),
                _ => format!("{c}{}", i % 11),
            })
            .collect();
        text += &row.join(",");
        text += "\n";
    }
    std::fs::write(path, text).unwrap();
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `[data]` section: 16 fields, usertag multi-valued, the rest dropped.
fn data_toml(train: &Path, test: &Path) -> String {
    let drop: Vec<&str> = columns()
        .into_iter()
        .filter(|c| *c != "click" && *c != "usertag" && !IPINYOU_FIELDS.contains(c))
        .collect();
    format!(
        r#"format = "custom"
train = "{}"
test = "{}"
cache = false
[schema]
delimiter = ","
header = true
label = "click"
categorical = [{}]
multi_valued = [{{ column = "usertag", separator = "," }}]
drop = [{}]
"#,
        train.display(),
        test.display(),
        quoted(&IPINYOU_FIELDS),
        quoted(&drop)
    )
}

#[test]
fn quoted_usertag_gives_each_row_its_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, test) = (tmp.path().join("train.csv"), tmp.path().join("test.csv"));
    write_ipinyou_csv(&train, 300, 0);
    write_ipinyou_csv(&test, 100, 300);
    let cfg: DataConfig = toml::from_str(&data_toml(&train, &test)).unwrap();
    cfg.check().unwrap();

    let mut src = open_text_all(&cfg, &train, 64).unwrap();
    let names = src.schema().field_names.clone();
    assert_eq!(names.len(), 17);
    let tag_f = names.iter().position(|n| n == "usertag").unwrap();
    let ua_f = names.iter().position(|n| n == "useragent").unwrap();
    let mut b = Batch::default();
    let mut row = 0;
    while src.next_batch(&mut b).unwrap() {
        for i in 0..b.len {
            let want: Vec<u64> = tags(row)
                .iter()
                .map(|t| feature_key("usertag", t))
                .collect();
            assert_eq!(b.bag(i, tag_f), &want[..], "row {row}: usertag keys");
            assert_eq!(
                b.bag(i, ua_f),
                &[feature_key("useragent", &useragent(row))],
                "row {row}: the quoted useragent unquoted"
            );
            assert_eq!(b.labels[i], (row % 4 == 0) as u8 as f32);
            row += 1;
        }
    }
    assert_eq!(row, 300);
    assert_eq!(src.bad_rows(), 0);

    let r = inspect(&cfg, &train).unwrap();
    assert_eq!((r.rows, r.bad_rows), (300, 0), "{:?}", r.first_errors);
    let distinct = |f: &str| r.distinct.iter().find(|(n, _)| n == f).unwrap().1;
    // Tags are 10006 + 18k + (i mod 3), k < 4: 12 values; user agents 7 + 7.
    assert_eq!(distinct("usertag"), 12);
    assert_eq!(distinct("useragent"), 14);

    // A training run on it reads every row of both files.
    let cfg_path = tmp.path().join("run.toml");
    let text = format!(
        "name = \"csv\"\nseed = 1\nthreads = 1\noutput = \"{}\"\n[model]\nkind = \"lr\"\n\
         [optimizer]\nname = \"sgd\"\nlr = 0.05\n[train]\nbatch_size = 50\n[data]\n{}",
        tmp.path().display(),
        data_toml(&train, &test).replace("[schema]", "[data.schema]")
    );
    std::fs::write(&cfg_path, text).unwrap();
    run_ok(&["train", "-q", "-c", cfg_path.to_str().unwrap()]);
    let m = json(&tmp.path().join("csv").join("metrics.json"));
    assert_eq!(m["train_samples"], 300);
    assert_eq!(m["test_samples"], 100);
    assert_eq!(m["bad_rows"], 0);
}

#[test]
fn duplicate_header_names_are_an_error_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("dup.csv");
    std::fs::write(&f, "click,site,ad,site\n1,a,b,c\n").unwrap();
    let cfg: DataConfig = toml::from_str(&format!(
        "format = \"custom\"\ntrain = \"{}\"\ncache = false\n[schema]\nlabel = \"click\"\n\
         categorical = [\"site\", \"ad\"]\n",
        f.display()
    ))
    .unwrap();
    let e = inspect(&cfg, &f).unwrap_err().to_string();
    assert!(e.contains("dup.csv"), "{e}");
    assert!(
        e.contains("column name \"site\" appears twice: columns 2 and 4"),
        "{e}"
    );

    // Names given by schema.columns (no header) are checked the same way.
    std::fs::write(&f, "1,a,b,c\n").unwrap();
    let cfg: DataConfig = toml::from_str(&format!(
        "format = \"custom\"\ntrain = \"{}\"\ncache = false\n[schema]\nheader = false\n\
         columns = [\"click\", \"ad\", \"ad\", \"site\"]\nlabel = \"click\"\n\
         categorical = [\"site\", \"ad\"]\n",
        f.display()
    ))
    .unwrap();
    let e = inspect(&cfg, &f).unwrap_err().to_string();
    assert!(e.contains("\"ad\" appears twice: columns 2 and 3"), "{e}");
}
