//! Bad inputs: each gets an error naming the file, the line and the problem
//! (never a panic, never a silent skip), unless `max_bad_rows` allows skipping.
//!
//! | input                              | error                                                        |
//! |------------------------------------|--------------------------------------------------------------|
//! | missing file                       | `F: file not found`                                          |
//! | empty file / header only           | `F: empty file (no data rows)`                               |
//! | wrong header                       | `F: line 1: bad header: column 2: expected "click", found "clk"` |
//! | wrong column count                 | `F: line 3: expected 24 columns, found 23`                   |
//! | label other than 0/1               | `F: line 2: label must be 0 or 1, found "2"`                 |
//! | non-UTF-8 bytes                    | `F: line 2: bytes that are not UTF-8 (column 6)`             |
//! | Avazu hour not YYMMDDHH            | `F: line 2: column hour: expected YYMMDDHH (8 digits), found "1410210"` |
//! | Criteo integer not an integer      | `F: line 1: column I5: expected an integer, found "1.5"`     |
//! | truncated gzip                     | `F: line N: corrupt or truncated gzip stream (...)`          |
//! | more bad rows than max_bad_rows    | `F: more than 2 bad rows (max_bad_rows); the last one: ...`  |

use ctr_run::data::{open, Batch, DataConfig, DataError, Format, SchemaConfig, Split, SplitKind};
use std::io::Write;
use std::path::{Path, PathBuf};

const AVAZU_HEADER: &str = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";
const AVAZU_ROW: &str = "1000009418151094273,0,14102100,1005,0,1fbe01fe,f3845767,28905ebd,ecad2386,7801e8d9,07d7df22,a99f214a,ddd2926e,44956a24,1,2,15706,320,50,1722,0,35,-1,79";
const CRITEO_ROW: &str = "0\t1\t1\t5\t0\t1382\t4\t15\t2\t181\t1\t2\t\t2\t68fd1e64\t80e26c9b\tfb936136\t7b4723c4\t25c83c98\t7e0ccccf\tde7995b8\t1f89b562\ta73ee510\ta8cd5504\tb2cb9c98\t37c9c164\t2824a5f6\t1adce6ef\t8ba8b39a\t891b62e7\te5ba7672\tf54016b9\t21ddcdc9\tb1252a9d\t07b5194c\t\t3a171ecb\tc5c50484\te8b83407\t9727dd16";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

fn cfg(format: Format, file: &Path) -> DataConfig {
    DataConfig {
        cache: false,
        test: Some(file.into()),
        ..DataConfig::for_file(format, file)
    }
}

/// Read every batch; the first error, if any.
fn read_all(c: &DataConfig) -> Result<(u64, u64), DataError> {
    let mut s = open(c, Split::Train, 64)?;
    let mut b = Batch::default();
    while s.next_batch(&mut b)? {}
    Ok((s.rows_read(), s.bad_rows()))
}

fn err_of(c: &DataConfig) -> String {
    match read_all(c) {
        Err(e) => e.to_string(),
        Ok(r) => panic!("expected an error, read {r:?}"),
    }
}

fn avazu(lines: &[&str]) -> Vec<u8> {
    let mut s = String::from(AVAZU_HEADER);
    for l in lines {
        s.push('\n');
        s.push_str(l);
    }
    s.push('\n');
    s.into_bytes()
}

#[test]
fn table_of_bad_inputs() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let short = AVAZU_ROW.rsplit_once(',').unwrap().0; // 23 columns
    let bad_label = AVAZU_ROW.replacen(",0,", ",2,", 1);
    let bad_hour = AVAZU_ROW.replace("14102100", "1410210");
    let mut non_utf8 = avazu(&[AVAZU_ROW]);
    let pos = non_utf8.len() - AVAZU_ROW.len() - 1 + AVAZU_ROW.find("1fbe01fe").unwrap();
    non_utf8[pos] = 0xff; // inside column 6 (site_id) of line 2

    let cases: Vec<(&str, Vec<u8>, Format, String)> = vec![
        (
            "empty.csv",
            vec![],
            Format::Avazu,
            ": empty file (no data rows)".into(),
        ),
        (
            "header_only.csv",
            format!("{AVAZU_HEADER}\n").into_bytes(),
            Format::Avazu,
            ": empty file (no data rows)".into(),
        ),
        (
            "empty.txt",
            vec![],
            Format::Criteo,
            ": empty file (no data rows)".into(),
        ),
        (
            "header.csv",
            avazu(&[AVAZU_ROW]).replace_first(b"click", b"clk"),
            Format::Avazu,
            ": line 1: bad header: column 2: expected \"click\", found \"clk\"".into(),
        ),
        (
            "cols.csv",
            avazu(&[AVAZU_ROW, short]),
            Format::Avazu,
            ": line 3: expected 24 columns, found 23".into(),
        ),
        (
            "cols_long.csv",
            avazu(&[&format!("{AVAZU_ROW},x")]),
            Format::Avazu,
            ": line 2: expected 24 columns, found 25".into(),
        ),
        (
            "label.csv",
            avazu(&[&bad_label]),
            Format::Avazu,
            ": line 2: label must be 0 or 1, found \"2\"".into(),
        ),
        (
            "utf8.csv",
            non_utf8,
            Format::Avazu,
            ": line 2: bytes that are not UTF-8 (column 6)".into(),
        ),
        (
            "hour.csv",
            avazu(&[&bad_hour]),
            Format::Avazu,
            ": line 2: column hour: expected YYMMDDHH (8 digits), found \"1410210\"".into(),
        ),
        (
            "int.txt",
            CRITEO_ROW.replace("\t1382\t", "\t1.5\t").into_bytes(),
            Format::Criteo,
            ": line 1: column I5: expected an integer, found \"1.5\"".into(),
        ),
        (
            "blank.txt",
            format!("{CRITEO_ROW}\n\n{CRITEO_ROW}\n").into_bytes(),
            Format::Criteo,
            ": line 2: expected 40 columns, found 1".into(),
        ),
        (
            "label_empty.txt",
            CRITEO_ROW.replacen('0', "", 1).into_bytes(),
            Format::Criteo,
            ": line 1: label must be 0 or 1, found \"\"".into(),
        ),
    ];
    for (name, bytes, format, want) in cases {
        let p = write(dir, name, &bytes);
        let got = err_of(&cfg(format, &p));
        assert_eq!(got, format!("{}{want}", p.display()), "{name}");
    }

    // Missing file.
    let p = dir.join("nope.csv");
    assert_eq!(
        err_of(&cfg(Format::Avazu, &p)),
        format!("{}: file not found", p.display())
    );
}

trait ReplaceFirst {
    fn replace_first(self, from: &[u8], to: &[u8]) -> Vec<u8>;
}
impl ReplaceFirst for Vec<u8> {
    fn replace_first(self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let i = self.windows(from.len()).position(|w| w == from).unwrap();
        [&self[..i], to, &self[i + from.len()..]].concat()
    }
}

#[test]
fn truncated_gzip() {
    let d = tempfile::tempdir().unwrap();
    let full = d.path().join("full.csv.gz");
    ctr_run::data::generate(Format::Avazu, 20_000, 1, &full, &Default::default()).unwrap();
    let bytes = std::fs::read(&full).unwrap();
    let cut = write(d.path(), "cut.csv.gz", &bytes[..bytes.len() / 2]);
    let got = err_of(&cfg(Format::Avazu, &cut));
    let prefix = format!("{}: line ", cut.display());
    assert!(got.starts_with(&prefix), "{got}");
    assert!(
        got.contains(": corrupt or truncated gzip stream ("),
        "{got}"
    );
    // The line named is past the rows that were read (about half the file).
    let line: u64 = got[prefix.len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(line > 5000 && line < 15000, "{got}");
    // Corrupt bytes in the middle of the deflate stream: an error naming the
    // file and a line, not a panic. Which error depends on what the damaged
    // stream decodes to before the checksum fails: garbled rows (a row error)
    // or an invalid deflate block (a gzip error).
    let mut bad = bytes.clone();
    for b in &mut bad[1000..1100] {
        *b = !*b;
    }
    let p = write(d.path(), "garbled.csv.gz", &bad);
    let got = err_of(&cfg(Format::Avazu, &p));
    assert!(got.starts_with(&format!("{}: line ", p.display())), "{got}");
}

#[test]
fn max_bad_rows_skips_counts_and_limits() {
    let d = tempfile::tempdir().unwrap();
    let short = AVAZU_ROW.rsplit_once(',').unwrap().0;
    let bad_label = AVAZU_ROW.replacen(",0,", ",x,", 1);
    let p = write(
        d.path(),
        "b.csv",
        &avazu(&[AVAZU_ROW, short, AVAZU_ROW, &bad_label, AVAZU_ROW]),
    );
    let mut c = cfg(Format::Avazu, &p);
    c.max_bad_rows = 2;
    assert_eq!(read_all(&c).unwrap(), (3, 2));
    // The cache path skips and counts the same rows.
    let cd = tempfile::tempdir().unwrap();
    let cached = DataConfig {
        cache: true,
        cache_dir: Some(cd.path().into()),
        ..c.clone()
    };
    assert_eq!(read_all(&cached).unwrap(), (3, 2));
    assert_eq!(read_all(&cached).unwrap(), (3, 2));
    c.max_bad_rows = 1;
    assert_eq!(
        err_of(&c),
        format!(
            "{f}: more than 1 bad rows (max_bad_rows); the last one: {f}: line 5: label must be 0 or 1, found \"x\"",
            f = p.display()
        )
    );
    // inspect counts every malformed row and quotes the first ones.
    let r = ctr_run::data::inspect(&cfg(Format::Avazu, &p), &p).unwrap();
    assert_eq!((r.rows, r.bad_rows), (3, 2));
    assert_eq!(
        r.first_errors[0],
        format!("{}: line 3: expected 24 columns, found 23", p.display())
    );
}

#[test]
fn config_errors() {
    let base = DataConfig::for_file(Format::Avazu, "x.csv");
    let cases: Vec<(DataConfig, &str)> = vec![
        (DataConfig { train: None, ..base.clone() }, "data config: set `train` (a file) or `[data.synthetic]`"),
        (DataConfig { train_fraction: 1.5, ..base.clone() }, "data config: train_fraction must be in (0, 1), got 1.5"),
        (DataConfig { sample_rate: 0.0, ..base.clone() }, "data config: sample_rate must be in (0, 1], got 0"),
        (DataConfig { max_rows: Some(0), ..base.clone() }, "data config: max_rows must be >= 1 (omit it for no limit)"),
        (DataConfig { buckets: Some(0), ..base.clone() }, "data config: buckets must be >= 1 (omit it for no folding)"),
        (
            DataConfig { format: Format::Ipinyou, ..base.clone() },
            "data config: format ipinyou splits by file under split = \"paper\": set `test`, or use split = \"hashed\" (or \"fraction\")",
        ),
        (
            DataConfig { format: Format::Custom, split: SplitKind::Fraction, ..base.clone() },
            "data config: format = \"custom\" needs [data.schema]",
        ),
        (
            DataConfig { schema: Some(SchemaConfig::default()), ..base.clone() },
            "data config: [data.schema] is only for format = \"custom\", not avazu",
        ),
    ];
    for (c, want) in cases {
        assert_eq!(c.check().unwrap_err().to_string(), want);
    }
    // Unknown keys are refused by serde (a typo is an error, not a default).
    let e = toml::from_str::<DataConfig>("format = \"avazu\"\ntrian = \"x.csv\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `trian`"), "{e}");
    let e = toml::from_str::<DataConfig>("format = \"avazoo\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown variant `avazoo`"), "{e}");
    let ok: DataConfig = toml::from_str(
        "format = \"criteo\"\ntrain = \"t.txt\"\ncriteo_integers = \"log2_bucket\"\n",
    )
    .unwrap();
    assert!(ok.check().is_ok());
}
