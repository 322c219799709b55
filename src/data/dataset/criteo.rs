//! Criteo (Kaggle Display Advertising Challenge, 2014): `train.txt`, a
//! TSV without header (label, I1..I13, C1..C26), or the CSV variant with
//! header `Id,Label,...`; C1..C26 are fields (empty is a value), I1..I13
//! dense or bucketed ([`CriteoIntegers`]); `split = "paper"` is 7
//! chronological row-order parts, the last one tests.

use super::{PaperSplit, Preset, RoleOptions};
use crate::data::hash::field_seed;
use crate::data::role::{Check, DenseTf, Role};
use crate::data::synth::fields::{Col, Shape::*, Spec};
use serde::{Deserialize, Serialize};

/// How Criteo's integer columns I1..I13 become features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriteoIntegers {
    /// Dense: ln(1 + max(x, 0)); empty = 0.
    #[default]
    Log1p,
    /// Categorical (13 more fields): floor(ln(x)^2) for x > 2, else x itself
    /// (the Kaggle winner's rule); empty is a value of its own.
    Log2Bucket,
    /// Dense: ln(max(x + 3, 1)); empty = 0.
    LogPlus3,
}

/// The paper split's parts (row order); the last one tests.
pub const PAPER_PARTS: u64 = 7;

/// `ctr-run bench`'s model kinds on Criteo.
pub const BENCH_MODELS: &[&str] = &["dcn"];

/// The raw columns of the TSV (`csv = false`) or the CSV variant, in file order.
pub fn columns(csv: bool) -> Vec<String> {
    let mut c: Vec<String> = if csv {
        vec!["Id".into(), "Label".into()]
    } else {
        vec!["label".into()]
    };
    c.extend((1..=13).map(|i| format!("I{i}")));
    c.extend((1..=26).map(|i| format!("C{i}")));
    c
}

/// `criteo` (`csv: false`, the TSV) or `criteo_csv`.
pub struct Criteo {
    pub csv: bool,
}

impl Preset for Criteo {
    fn columns(&self) -> Vec<String> {
        columns(self.csv)
    }
    fn delimiter(&self) -> u8 {
        if self.csv {
            b','
        } else {
            b'\t'
        }
    }
    fn header(&self) -> bool {
        self.csv
    }
    fn role(&self, c: &str, o: &RoleOptions) -> Role {
        match c.as_bytes()[0] {
            b'I' if c != "Id" => match o.criteo_integers {
                CriteoIntegers::Log1p => Role::Dense {
                    tf: DenseTf::IntLog1p,
                },
                CriteoIntegers::LogPlus3 => Role::Dense {
                    tf: DenseTf::IntLogPlus3,
                },
                CriteoIntegers::Log2Bucket => Role::IntBucket {
                    seed: field_seed(c),
                },
            },
            b'C' => Role::Cat {
                seed: field_seed(c),
            },
            b'l' | b'L' => Role::Label,
            _ if o.scoring => Role::Id,
            _ => Role::Drop,
        }
    }
    fn check(&self, column: &str) -> Option<Check> {
        if column.starts_with('C') {
            Some(Check::Hex8)
        } else if self.csv && column == "Id" {
            Some(Check::Unsigned)
        } else {
            None
        }
    }
    fn paper_split(&self) -> PaperSplit {
        PaperSplit::Parts(PAPER_PARTS)
    }
    fn synthetic_columns(&self) -> Vec<Col> {
        {
            const INTS: [(f64, f64, f64); 13] = [
                (0.5, 1.2, 0.45),
                (2.0, 2.0, 0.0),
                (2.0, 1.5, 0.21),
                (1.5, 1.0, 0.22),
                (7.0, 2.0, 0.026),
                (3.5, 1.8, 0.22),
                (1.5, 1.5, 0.04),
                (2.3, 1.2, 0.0005),
                (3.5, 1.6, 0.04),
                (0.3, 0.6, 0.45),
                (1.0, 1.0, 0.04),
                (0.2, 1.0, 0.76),
                (1.8, 1.3, 0.22),
            ];
            const INT_NAMES: [&str; 13] = [
                "I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9", "I10", "I11", "I12", "I13",
            ];
            const CARDS: [u64; 26] = [
                1460, 583, 10_131_227, 2_202_608, 305, 24, 12517, 633, 3, 93145, 5683, 8_351_593,
                3194, 27, 14992, 5_461_306, 10, 5652, 2173, 4, 7_046_547, 18, 15, 286_181, 105,
                142_572,
            ];
            const EMPTY: [f64; 26] = [
                0.0, 0.0, 0.034, 0.034, 0.0, 0.12, 0.0, 0.0, 0.0, 0.0, 0.0, 0.034, 0.0, 0.0, 0.0,
                0.034, 0.0, 0.0, 0.44, 0.44, 0.034, 0.76, 0.0, 0.034, 0.44, 0.44,
            ];
            const C_NAMES: [&str; 26] = [
                "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "C13",
                "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21", "C22", "C23", "C24", "C25",
                "C26",
            ];
            let mut c = vec![Col::Label];
            for (j, &(mu, sd, empty)) in INTS.iter().enumerate() {
                c.push(Col::Int {
                    name: INT_NAMES[j],
                    j,
                    mu,
                    sd,
                    empty,
                });
            }
            for k in 0..26 {
                c.push(Col::Zipf(Spec {
                    name: C_NAMES[k],
                    card: CARDS[k],
                    shape: Hex8,
                    empty: EMPTY[k],
                    feature: true,
                }));
            }
            c
        }
    }
    fn click_rate(&self) -> f64 {
        0.25
    }
    fn file_ext(&self) -> &'static str {
        if self.csv {
            "csv"
        } else {
            "txt"
        }
    }
    fn published_rows(&self, stem: &str) -> Option<u64> {
        (!self.csv && stem == "train.txt").then_some(45_840_617)
    }
    fn bench_models(&self) -> &'static [&'static str] {
        BENCH_MODELS
    }
    fn options(&self) -> &'static [&'static str] {
        &["criteo_integers"]
    }
}
