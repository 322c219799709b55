//! iPinYou (RTB dataset, season 2-3, as prepared by make-ipinyou-data):
//! `train.log.txt` / `test.log.txt`, TSV with a header of 27 columns; the
//! paper's 16 categorical fields (optionally `usertag` as a 17th,
//! multi-valued one); `split = "paper"` is by file.

use super::{PaperSplit, Preset, RoleOptions};
use crate::data::hash::field_seed;
use crate::data::role::{Check, Role};
use crate::data::synth::fields::{z, zd, Col, Shape::*};

/// The raw columns of a make-ipinyou-data log, in file order.
pub const COLUMNS: [&str; 27] = [
    "click",
    "weekday",
    "hour",
    "bidid",
    "timestamp",
    "logtype",
    "ipinyouid",
    "useragent",
    "IP",
    "region",
    "city",
    "adexchange",
    "domain",
    "url",
    "urlid",
    "slotid",
    "slotwidth",
    "slotheight",
    "slotvisibility",
    "slotformat",
    "slotprice",
    "creative",
    "bidprice",
    "payprice",
    "keypage",
    "advertiser",
    "usertag",
];

/// The 16 iPinYou feature fields of make-ipinyou-data / Ads-RecSys-Datasets
/// (the paper's "16 categorical features"). IDs that are unique per row
/// (bidid, timestamp, ipinyouid), near-unique (url, keypage), constant
/// (logtype, urlid) or label leaks (bidprice, payprice) are dropped.
pub const FIELDS: [&str; 16] = [
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

/// `ctr-run bench`'s model kinds on iPinYou.
pub const BENCH_MODELS: &[&str] = &["opnn"];

pub struct Ipinyou;

impl Preset for Ipinyou {
    fn columns(&self) -> Vec<String> {
        COLUMNS.iter().map(|s| s.to_string()).collect()
    }
    fn delimiter(&self) -> u8 {
        b'\t'
    }
    fn header(&self) -> bool {
        true
    }
    fn role(&self, c: &str, o: &RoleOptions) -> Role {
        match c {
            "click" => Role::Label,
            "usertag" if o.ipinyou_usertag => Role::Multi {
                seed: field_seed(c),
                sep: b',',
            },
            _ if FIELDS.contains(&c) => Role::Cat {
                seed: field_seed(c),
            },
            _ => Role::Drop,
        }
    }
    fn check(&self, column: &str) -> Option<Check> {
        match column {
            "weekday" => Some(Check::Small { lo: 0, hi: 6 }),
            "hour" => Some(Check::Small { lo: 0, hi: 23 }),
            "timestamp" => Some(Check::Timestamp),
            "logtype" => Some(Check::Unsigned),
            "region" | "city" | "adexchange" | "slotwidth" | "slotheight" | "slotprice"
            | "bidprice" | "payprice" | "advertiser" => Some(Check::UnsignedOrNull),
            _ => None,
        }
    }
    fn paper_split(&self) -> PaperSplit {
        PaperSplit::ByFile
    }
    fn synthetic_columns(&self) -> Vec<Col> {
        vec![
            Col::Label,
            Col::IpWeekday,
            Col::IpHour,
            Col::IpBidid,
            Col::IpTimestamp,
            Col::Const("1"),
            zd("ipinyouid", 5_000_000, Alnum(13)),
            z(
                "useragent",
                14,
                List(&[
                    "windows_ie",
                    "windows_chrome",
                    "windows_firefox",
                    "windows_other",
                    "mac_safari",
                    "windows_maxthon",
                    "windows_sogou",
                    "windows_theworld",
                    "linux_chrome",
                    "android_safari",
                    "ios_safari",
                    "mac_chrome",
                    "windows_opera",
                    "other_other",
                ]),
            ),
            z("IP", 400_000, Ip),
            z(
                "region",
                35,
                List(&[
                    "1", "2", "3", "15", "27", "40", "55", "65", "79", "80", "94", "106", "124",
                    "134", "146", "164", "183", "201", "216", "238", "253", "275", "276", "298",
                    "308", "325", "333", "344", "359", "368", "374", "393", "395", "0", "82",
                ]),
            ),
            z("city", 370, Int { base: 1, step: 1 }),
            z("adexchange", 5, List(&["1", "2", "3", "4", "null"])),
            z("domain", 60_000, Alnum(18)),
            zd("url", 500_000, Hex32),
            Col::Const("null"),
            z("slotid", 50_000, Slot),
            z(
                "slotwidth",
                12,
                List(&[
                    "300", "336", "728", "950", "960", "250", "468", "1000", "160", "120", "200",
                    "360",
                ]),
            ),
            z(
                "slotheight",
                9,
                List(&["250", "280", "90", "60", "600", "200", "300", "150", "100"]),
            ),
            z(
                "slotvisibility",
                9,
                List(&[
                    "FirstView",
                    "SecondView",
                    "Na",
                    "OtherView",
                    "0",
                    "1",
                    "2",
                    "255",
                    "ThirdView",
                ]),
            ),
            z("slotformat", 4, List(&["Na", "0", "1", "5"])),
            z(
                "slotprice",
                12,
                List(&[
                    "0", "5", "10", "30", "50", "70", "100", "130", "200", "238", "294", "300",
                ]),
            ),
            z("creative", 60, Hex32),
            Col::IpBidprice,
            Col::IpPayprice,
            zd("keypage", 30, Hex32),
            z("advertiser", 1, List(&["2821"])),
            Col::Usertag,
        ]
    }
    fn click_rate(&self) -> f64 {
        0.001
    }
    fn file_ext(&self) -> &'static str {
        "txt"
    }
    fn published_rows(&self, _stem: &str) -> Option<u64> {
        None
    }
    fn bench_models(&self) -> &'static [&'static str] {
        BENCH_MODELS
    }
    fn options(&self) -> &'static [&'static str] {
        &["ipinyou_usertag"]
    }
}
