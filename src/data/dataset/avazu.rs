//! Avazu (Kaggle CTR prediction, 2014): `train.csv`, 24 comma-separated
//! columns with a header; 22 categorical fields (`hour` as the hour of day
//! HH), `id` dropped; `split = "paper"` tests on the last day of `hour`.

use super::{PaperSplit, Preset, RoleOptions};
use crate::data::hash::field_seed;
use crate::data::role::{Check, Role};
use crate::data::synth::fields::{z, Col, Shape::*};

/// The raw columns of `train.csv`, in file order.
pub const COLUMNS: [&str; 24] = [
    "id",
    "click",
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

/// `ctr-run bench`'s model kinds on Avazu.
pub const BENCH_MODELS: &[&str] = &["mlp", "lr"];

pub struct Avazu;

impl Preset for Avazu {
    fn columns(&self) -> Vec<String> {
        COLUMNS.iter().map(|s| s.to_string()).collect()
    }
    fn delimiter(&self) -> u8 {
        b','
    }
    fn header(&self) -> bool {
        true
    }
    fn role(&self, c: &str, o: &RoleOptions) -> Role {
        match c {
            "id" if o.scoring => Role::Id,
            "id" => Role::Drop,
            "click" => Role::Label,
            "hour" => Role::HourOfDay {
                seed: field_seed(c),
            },
            _ => Role::Cat {
                seed: field_seed(c),
            },
        }
    }
    fn check(&self, column: &str) -> Option<Check> {
        (column == "id").then_some(Check::Unsigned)
    }
    fn paper_split(&self) -> PaperSplit {
        PaperSplit::LastDay
    }
    fn synthetic_columns(&self) -> Vec<Col> {
        vec![
            Col::AvazuId,
            Col::Label,
            Col::AvazuHour,
            z(
                "C1",
                7,
                List(&["1005", "1002", "1010", "1012", "1007", "1001", "1008"]),
            ),
            z("banner_pos", 7, List(&["0", "1", "7", "2", "4", "5", "3"])),
            z("site_id", 4737, Hex8),
            z("site_domain", 7745, Hex8),
            z("site_category", 26, Hex8),
            z("app_id", 8552, Hex8),
            z("app_domain", 559, Hex8),
            z("app_category", 36, Hex8),
            z("device_id", 2_686_408, Hex8),
            z("device_ip", 6_729_486, Hex8),
            z("device_model", 8251, Hex8),
            z("device_type", 5, List(&["1", "0", "4", "5", "2"])),
            z("device_conn_type", 4, List(&["0", "2", "3", "5"])),
            z("C14", 2626, Int { base: 375, step: 9 }),
            z(
                "C15",
                8,
                List(&["320", "300", "216", "728", "120", "1024", "480", "768"]),
            ),
            z(
                "C16",
                9,
                List(&["50", "250", "36", "480", "90", "20", "768", "1024", "320"]),
            ),
            z("C17", 435, Int { base: 112, step: 5 }),
            z("C18", 4, List(&["0", "3", "2", "1"])),
            z("C19", 68, Int { base: 33, step: 7 }),
            z(
                "C20",
                172,
                IntOrNeg1 {
                    base: 100_000,
                    step: 3,
                },
            ),
            z("C21", 60, Int { base: 1, step: 3 }),
        ]
    }
    fn click_rate(&self) -> f64 {
        0.17
    }
    fn file_ext(&self) -> &'static str {
        "csv"
    }
    fn published_rows(&self, stem: &str) -> Option<u64> {
        matches!(stem, "train.csv" | "train").then_some(40_428_967)
    }
    fn bench_models(&self) -> &'static [&'static str] {
        BENCH_MODELS
    }
}

/// Day `d` (0-based) after 2014-10-21, the first day of the real data, as
/// YYMMDD (the day part of a generated `hour`).
pub fn day(d: u32) -> u32 {
    let mut day = 21 + d;
    let mut month = 10;
    let mut year = 14;
    loop {
        let len = match month {
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day <= len {
            break;
        }
        day -= len;
        month += 1;
        if month > 12 {
            month = 1;
            year += 1;
        }
    }
    year * 10000 + month * 100 + day
}
