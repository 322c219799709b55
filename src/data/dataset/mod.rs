//! One file per dataset: everything ctr-run knows about Avazu
//! ([`avazu`]), Criteo ([`criteo`]) and iPinYou ([`ipinyou`]): the raw
//! columns and their roles and value rules, the paper's split, the
//! synthetic generator's column table and click rate, the published row
//! counts, the bench model. The rest of the crate asks [`preset`] (or the
//! helpers below) and does not match on a dataset itself.

pub mod avazu;
pub mod criteo;
pub mod ipinyou;

use super::role::{Check, Role};
use super::synth::fields::Col;
use serde::{Deserialize, Serialize};

/// The raw layout of the input file(s): a dataset's preset, or a schema
/// declared in the config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Avazu `train.csv`: header `id,click,hour,C1,...,C21`.
    #[default]
    Avazu,
    /// Criteo Kaggle `train.txt`: TSV, no header, label, I1..I13, C1..C26.
    Criteo,
    /// The Kaggle CSV variant: header `Id,Label,I1..I13,C1..C26`.
    CriteoCsv,
    /// make-ipinyou-data `train.log.txt` / `test.log.txt`: TSV with header.
    Ipinyou,
    /// A schema declared in the config (`[data.schema]`).
    Custom,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Avazu => "avazu",
            Format::Criteo => "criteo",
            Format::CriteoCsv => "criteo_csv",
            Format::Ipinyou => "ipinyou",
            Format::Custom => "custom",
        }
    }
}

/// A `--format` value that names no format.
#[derive(Debug, thiserror::Error)]
#[error("unknown format {text:?} (avazu | criteo | criteo_csv | ipinyou | custom)")]
pub struct UnknownFormat {
    pub text: String,
}

impl std::str::FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        match s {
            "avazu" => Ok(Format::Avazu),
            "criteo" => Ok(Format::Criteo),
            "criteo_csv" => Ok(Format::CriteoCsv),
            "ipinyou" => Ok(Format::Ipinyou),
            "custom" => Ok(Format::Custom),
            _ => Err(UnknownFormat {
                text: s.to_string(),
            }),
        }
    }
}

/// How `split = "paper"` divides a dataset into train and test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaperSplit {
    /// The rows of the last day (of Avazu's `hour`) test, earlier days train.
    LastDay,
    /// `parts` chronological row-order parts; the last tests (Criteo: 7).
    Parts(u64),
    /// A separate test file (iPinYou; a custom schema).
    ByFile,
}

/// The config settings a preset's roles depend on.
#[derive(Clone, Copy, Debug)]
pub struct RoleOptions {
    /// Keep the row id column (`Role::Id`) for scoring.
    pub scoring: bool,
    pub criteo_integers: criteo::CriteoIntegers,
    pub ipinyou_usertag: bool,
}

/// The facts of one dataset preset.
pub trait Preset: Sync {
    /// The raw columns, in file order.
    fn columns(&self) -> Vec<String>;
    fn delimiter(&self) -> u8;
    /// The file starts with a header line naming [`Preset::columns`].
    fn header(&self) -> bool;
    /// The role of `column` (one of [`Preset::columns`]).
    fn role(&self, column: &str, o: &RoleOptions) -> Role;
    /// The value rule of `column` beyond its role's own, if any.
    fn check(&self, column: &str) -> Option<Check>;
    fn paper_split(&self) -> PaperSplit;
    /// The synthetic generator's columns, in file order: cardinalities
    /// (of the real full dataset), value shapes, empty rates.
    fn synthetic_columns(&self) -> Vec<Col>;
    /// The synthetic default click rate (the real data's).
    fn click_rate(&self) -> f64;
    /// The extension of a generated file (`csv` or `txt`, like the real one).
    fn file_ext(&self) -> &'static str;
    /// The row count (without header) of the published file named `stem`
    /// (its name without `.gz`), when known (see `datasets/`).
    fn published_rows(&self, stem: &str) -> Option<u64>;
    /// The model kinds `ctr-run bench` trains on this dataset (the paper's
    /// pairing: MLP on Avazu, OPNN on iPinYou, DCN on Criteo; LR on Avazu).
    fn bench_models(&self) -> &'static [&'static str];
    /// The `[data]` keys only this dataset reads (others refuse them).
    fn options(&self) -> &'static [&'static str] {
        &[]
    }
}

/// The preset of `format`; None for a custom schema.
pub fn preset(format: Format) -> Option<&'static dyn Preset> {
    match format {
        Format::Avazu => Some(&avazu::Avazu),
        Format::Criteo => Some(&criteo::Criteo { csv: false }),
        Format::CriteoCsv => Some(&criteo::Criteo { csv: true }),
        Format::Ipinyou => Some(&ipinyou::Ipinyou),
        Format::Custom => None,
    }
}

/// The paper split of `format` (a custom schema splits by file).
pub fn paper_split(format: Format) -> PaperSplit {
    preset(format).map_or(PaperSplit::ByFile, |p| p.paper_split())
}

/// Whether `format` reads the dataset-specific `[data]` key `key`.
pub fn reads_option(format: Format, key: &str) -> bool {
    preset(format).is_some_and(|p| p.options().contains(&key))
}

/// The dataset `ctr-run bench` trains a model kind on (by its
/// `ModelKind::as_str` name).
pub fn bench_format(model: &str) -> Option<Format> {
    [Format::Avazu, Format::Criteo, Format::Ipinyou]
        .into_iter()
        .find(|&f| preset(f).is_some_and(|p| p.bench_models().contains(&model)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESETS: [Format; 4] = [
        Format::Avazu,
        Format::Criteo,
        Format::CriteoCsv,
        Format::Ipinyou,
    ];

    /// The generator's table and the reader's columns are two lists in one
    /// file: column by column they name the same thing, and a generated
    /// feature column is one the reader keeps.
    #[test]
    fn each_preset_generates_the_columns_it_reads() {
        let o = RoleOptions {
            scoring: false,
            criteo_integers: criteo::CriteoIntegers::Log1p,
            ipinyou_usertag: false,
        };
        for f in PRESETS {
            let p = preset(f).unwrap();
            let columns = p.columns();
            // criteo_csv's row id is written by the generator itself.
            let skip = usize::from(columns[0] == "Id");
            let synthetic = p.synthetic_columns();
            assert_eq!(synthetic.len() + skip, columns.len(), "{f:?}");
            for (col, name) in synthetic.iter().zip(&columns[skip..]) {
                let role = p.role(name, &o);
                match col {
                    Col::Label => assert_eq!(role, Role::Label, "{f:?} {name}"),
                    Col::Zipf(s) => {
                        assert_eq!(s.name, name, "{f:?}");
                        let kept = matches!(role, Role::Cat { .. });
                        assert_eq!(s.feature, kept, "{f:?} {name}: {role:?}");
                    }
                    Col::Int { name: n, .. } => {
                        assert_eq!(n, name, "{f:?}");
                        assert!(matches!(role, Role::Dense { .. }), "{f:?} {name}");
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn bench_pairs_each_model_with_its_paper_dataset() {
        assert_eq!(bench_format("mlp"), Some(Format::Avazu));
        assert_eq!(bench_format("lr"), Some(Format::Avazu));
        assert_eq!(bench_format("opnn"), Some(Format::Ipinyou));
        assert_eq!(bench_format("dcn"), Some(Format::Criteo));
        assert_eq!(bench_format("fm"), None);
    }

    #[test]
    fn paper_splits_and_dataset_keys() {
        assert_eq!(paper_split(Format::Avazu), PaperSplit::LastDay);
        assert_eq!(paper_split(Format::Criteo), PaperSplit::Parts(7));
        assert_eq!(paper_split(Format::CriteoCsv), PaperSplit::Parts(7));
        assert_eq!(paper_split(Format::Ipinyou), PaperSplit::ByFile);
        assert_eq!(paper_split(Format::Custom), PaperSplit::ByFile);
        assert!(reads_option(Format::CriteoCsv, "criteo_integers"));
        assert!(!reads_option(Format::Avazu, "criteo_integers"));
        assert!(reads_option(Format::Ipinyou, "ipinyou_usertag"));
        assert!(!reads_option(Format::Custom, "ipinyou_usertag"));
    }
}
