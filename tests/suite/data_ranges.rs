//! Typed columns are checked for range, not only for shape, through the
//! binary (`data inspect` lists each bad row, `train` stops at the first):
//!
//! | input | message |
//! |---|---|
//! | Avazu hour with month 13 | `F: line 3: column hour: month 13 out of range in "14132100"` |
//! | Avazu hour on Feb 29 of a non-leap year | `F: line 2: column hour: day 29 out of range in "14022900"` |
//! | Avazu hour 24 | `column hour: hour 24 out of range in "14102124"` |
//! | Avazu id above u64::MAX | `column id: integer out of range in "18446744073709551616"` |
//! | Criteo integer above u64::MAX | `column I3: integer out of range in "99999999999999999999"` |
//! | Criteo categorical not 8 hex digits | `column C2: expected 8 hex digits or empty, found "xyz"` |
//! | iPinYou weekday 7 / hour 24 | `column weekday: weekday 7 out of range in "7"` |
//! | iPinYou timestamp on Feb 30 | `column timestamp: day 30 out of range in "20130230000000000"` |
//! | iPinYou price not a number | `column slotprice: expected an integer, found "cheap"` |

use std::path::Path;

use crate::cli_common::{bin, ctr_run, TomlConfig};

const AVAZU_HEADER: &str = "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21";
const AVAZU_ROW: &str = "1000009418151094273,0,14102100,1005,0,1fbe01fe,f3845767,28905ebd,ecad2386,7801e8d9,07d7df22,a99f214a,ddd2926e,44956a24,1,2,15706,320,50,1722,0,35,-1,79";
const CRITEO_ROW: &str = "0\t1\t1\t5\t0\t1382\t4\t15\t2\t181\t1\t2\t\t2\t68fd1e64\t80e26c9b\tfb936136\t7b4723c4\t25c83c98\t7e0ccccf\tde7995b8\t1f89b562\ta73ee510\ta8cd5504\tb2cb9c98\t37c9c164\t2824a5f6\t1adce6ef\t8ba8b39a\t891b62e7\te5ba7672\tf54016b9\t21ddcdc9\tb1252a9d\t07b5194c\t\t3a171ecb\tc5c50484\te8b83407\t9727dd16";
const IPINYOU_HEADER: &str = "click\tweekday\thour\tbidid\ttimestamp\tlogtype\tipinyouid\tuseragent\tIP\tregion\tcity\tadexchange\tdomain\turl\turlid\tslotid\tslotwidth\tslotheight\tslotvisibility\tslotformat\tslotprice\tcreative\tbidprice\tpayprice\tkeypage\tadvertiser\tusertag";
const IPINYOU_ROW: &str = "0\t1\t19\t49b5a58c3a3c39c32ba5a36f70a3daa5\t20131021192300738\t1\tC4NDR12~1B\twindows_ie\t222.218.230.*\t238\t246\t1\t9a2acabba41e00373f68053fd73e4d50\t19bbcb08106cbd6410a51fe87c40c44e\tnull\tmm_12712107_1718689_6742002\t300\t250\tFirstView\tNa\t0\t10722\t294\t201\tnull\t2821\t10063";

/// `ROW` with its cell `col` (0-based) replaced.
fn with_cell(row: &str, delim: char, col: usize, value: &str) -> String {
    let mut cells: Vec<&str> = row.split(delim).collect();
    cells[col] = value;
    cells.join(&delim.to_string())
}

/// `data inspect --json` of `text`: (bad rows, first errors).
fn inspect(dir: &Path, name: &str, text: &str, format: &str) -> (u64, Vec<String>) {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    let out = ctr_run(&[
        "data",
        "inspect",
        p.to_str().unwrap(),
        "--format",
        format,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let errors = v["first_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let e = e.as_str().unwrap();
            // Relative to the file: "F: line N: ..." -> "line N: ...".
            e.strip_prefix(&format!("{}: ", p.display()))
                .unwrap_or(e)
                .to_string()
        })
        .collect();
    (v["bad_rows"].as_u64().unwrap(), errors)
}

#[test]
fn avazu_hour_and_id_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let rows: Vec<String> = vec![
        AVAZU_ROW.into(),
        AVAZU_ROW.replace("14102100", "14132100"),
        AVAZU_ROW.replace("14102100", "14022900"),
        AVAZU_ROW.replace("14102100", "14113100"),
        AVAZU_ROW.replace("14102100", "14102124"),
        with_cell(AVAZU_ROW, ',', 0, "18446744073709551616"),
        // In range: a 20-digit id (above i64::MAX), u64::MAX, a leap day.
        with_cell(AVAZU_ROW, ',', 0, "10000174058809263569"),
        with_cell(AVAZU_ROW, ',', 0, "18446744073709551615"),
        AVAZU_ROW.replace("14102100", "16022923"),
    ];
    let text = format!("{AVAZU_HEADER}\n{}\n", rows.join("\n"));
    let (bad, errors) = inspect(tmp.path(), "a.csv", &text, "avazu");
    assert_eq!(bad, 5);
    assert_eq!(
        errors,
        [
            r#"line 3: column hour: month 13 out of range in "14132100""#,
            r#"line 4: column hour: day 29 out of range in "14022900""#,
            r#"line 5: column hour: day 31 out of range in "14113100""#,
            r#"line 6: column hour: hour 24 out of range in "14102124""#,
            r#"line 7: column id: integer out of range in "18446744073709551616""#,
        ]
    );
}

#[test]
fn criteo_integer_and_hex_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let rows: Vec<String> = vec![
        CRITEO_ROW.into(),
        with_cell(CRITEO_ROW, '\t', 3, "99999999999999999999"),
        with_cell(CRITEO_ROW, '\t', 15, "xyz"),
        with_cell(CRITEO_ROW, '\t', 16, "68FD1E6"),
        // In range: negative, u64::MAX, i64::MIN, upper-case hex, empty.
        with_cell(CRITEO_ROW, '\t', 1, "-3"),
        with_cell(CRITEO_ROW, '\t', 2, "18446744073709551615"),
        with_cell(CRITEO_ROW, '\t', 2, "-9223372036854775808"),
        with_cell(CRITEO_ROW, '\t', 14, "68FD1E64"),
        with_cell(CRITEO_ROW, '\t', 14, ""),
    ];
    let text = format!("{}\n", rows.join("\n"));
    for integers in ["log2_bucket", "log1p", "log_plus3"] {
        let p = tmp.path().join("c.txt");
        std::fs::write(&p, &text).unwrap();
        let out = ctr_run(&[
            "data",
            "inspect",
            p.to_str().unwrap(),
            "--format",
            "criteo",
            "--json",
            "--criteo-integers",
            integers,
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let f = p.display();
        assert_eq!(v["bad_rows"], 3, "{integers}");
        assert_eq!(
            v["first_errors"],
            serde_json::json!([
                format!(
                    r#"{f}: line 2: column I3: integer out of range in "99999999999999999999""#
                ),
                format!(r#"{f}: line 3: column C2: expected 8 hex digits or empty, found "xyz""#),
                format!(
                    r#"{f}: line 4: column C3: expected 8 hex digits or empty, found "68FD1E6""#
                ),
            ]),
            "{integers}"
        );
    }
    // The Kaggle CSV variant: the same rules, and its Id is an unsigned integer.
    let csv_header = "Id,Label,I1,I2,I3,I4,I5,I6,I7,I8,I9,I10,I11,I12,I13,C1,C2,C3,C4,C5,C6,C7,C8,C9,C10,C11,C12,C13,C14,C15,C16,C17,C18,C19,C20,C21,C22,C23,C24,C25,C26";
    let csv_row = format!("10000000,{}", CRITEO_ROW.replace('\t', ","));
    let text = format!(
        "{csv_header}\n{csv_row}\n{}\n{}\n",
        with_cell(&csv_row, ',', 0, "-1"),
        with_cell(&csv_row, ',', 4, "1e3")
    );
    let (bad, errors) = inspect(tmp.path(), "c.csv", &text, "criteo_csv");
    assert_eq!(bad, 2);
    assert_eq!(
        errors,
        [
            r#"line 3: column Id: expected an unsigned integer, found "-1""#,
            r#"line 4: column I3: expected an integer, found "1e3""#,
        ]
    );
}

#[test]
fn ipinyou_typed_column_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let rows: Vec<String> = vec![
        IPINYOU_ROW.into(),
        with_cell(IPINYOU_ROW, '\t', 1, "7"),
        with_cell(IPINYOU_ROW, '\t', 2, "24"),
        with_cell(IPINYOU_ROW, '\t', 4, "20130230000000000"),
        with_cell(IPINYOU_ROW, '\t', 20, "cheap"),
        with_cell(IPINYOU_ROW, '\t', 9, "-5"),
        // In range: the missing marker in an id column, hour 00, weekday 0.
        with_cell(IPINYOU_ROW, '\t', 11, "null"),
        with_cell(&with_cell(IPINYOU_ROW, '\t', 2, "00"), '\t', 1, "0"),
    ];
    let text = format!("{IPINYOU_HEADER}\n{}\n", rows.join("\n"));
    let (bad, errors) = inspect(tmp.path(), "i.txt", &text, "ipinyou");
    assert_eq!(bad, 5);
    assert_eq!(
        errors,
        [
            r#"line 3: column weekday: weekday 7 out of range in "7""#,
            r#"line 4: column hour: hour 24 out of range in "24""#,
            r#"line 5: column timestamp: day 30 out of range in "20130230000000000""#,
            r#"line 6: column slotprice: expected an integer, found "cheap""#,
            r#"line 7: column region: expected an unsigned integer, found "-5""#,
        ]
    );
}

/// `train` stops at the first out-of-range value, naming file, line, column
/// and value, and leaves no metrics.json.
#[test]
fn train_stops_at_an_out_of_range_hour() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut rows = vec![AVAZU_ROW.to_string(); 40];
    rows[1] = AVAZU_ROW.replace("14102100", "14132100");
    let data = d.join("a.csv");
    std::fs::write(&data, format!("{AVAZU_HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let cfg = TomlConfig::lr_on(d, "run", &data).write(&d.join("run.toml"));
    let out = bin()
        .args(["train", "-q", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            r#"{}: line 3: column hour: month 13 out of range in "14132100""#,
            data.display()
        )),
        "{stderr}"
    );
    assert!(!d.join("run/metrics.json").exists());
}
