//! Schema presets of the raw formats and the generic TOML schema, compiled
//! into a [`Layout`]: what each column of a row is and where it goes.

use super::cells::header_cells;
use super::config::{multi_separator, schema_delimiter, DataConfig, Format};
use super::dataset::{self, RoleOptions};
use super::error::DataError;
use super::hash::field_seed;
pub use super::role::{Check, DenseTf, Role};
use std::path::Path;

/// What the model sees: names of the categorical fields (bags, in order) and
/// of the dense features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaInfo {
    pub field_names: Vec<String>,
    pub dense_names: Vec<String>,
}

impl SchemaInfo {
    pub fn n_fields(&self) -> usize {
        self.field_names.len()
    }
    pub fn n_dense(&self) -> usize {
        self.dense_names.len()
    }
}

/// A compiled schema.
#[derive(Clone, Debug)]
pub struct Layout {
    pub format: Format,
    pub delimiter: u8,
    /// Cells follow RFC-4180 quoting (custom files; see `cells.rs`).
    pub quoted: bool,
    /// The file starts with a header line naming `columns`.
    pub header: bool,
    pub columns: Vec<String>,
    pub roles: Vec<Role>,
    /// The value rule of each column, if it has one (besides its role's own:
    /// label 0/1, integers, numbers, Avazu `hour`).
    pub checks: Vec<Option<Check>>,
    pub info: SchemaInfo,
    /// Rows carry a day tag (Avazu) for the by-day split.
    pub has_day: bool,
    /// Identifies the encoding for the cache (changes when any role changes).
    pub hash: u64,
}

/// Bumped whenever the encoding of a row changes, to invalidate old caches.
const ENCODING_VERSION: u32 = 1;

/// Compile the layout of `cfg`. `header` is the first line of the file, needed
/// only by a custom schema with a header (to find its columns by name).
pub fn compile(cfg: &DataConfig, header: Option<&str>, file: &Path) -> Result<Layout, DataError> {
    compile_as(cfg, header, file, true)
}

/// [`compile`], or with `labelled = false` the same layout without its label
/// column (a file to score, e.g. Kaggle's Avazu `test.csv`).
pub fn compile_as(
    cfg: &DataConfig,
    header: Option<&str>,
    file: &Path,
    labelled: bool,
) -> Result<Layout, DataError> {
    let preset = dataset::preset(cfg.format);
    let (delimiter, has_header, columns, roles): (u8, bool, Vec<String>, Vec<Role>) = match preset {
        Some(p) => {
            let o = RoleOptions {
                scoring: cfg.scoring,
                criteo_integers: cfg.criteo_integers,
                ipinyou_usertag: cfg.ipinyou_usertag,
            };
            let columns = p.columns();
            let roles = columns.iter().map(|c| p.role(c, &o)).collect();
            (p.delimiter(), p.header(), columns, roles)
        }
        None => {
            let s = cfg.schema.as_ref().ok_or_else(|| {
                DataError::Config("format = \"custom\" needs [data.schema]".into())
            })?;
            let delim = schema_delimiter(s)?;
            let columns: Vec<String> = if s.header {
                let h = header.ok_or_else(|| DataError::Empty {
                    file: file.to_path_buf(),
                })?;
                header_cells(h, delim, true).map_err(|e| DataError::Header {
                    file: file.to_path_buf(),
                    problem: e.to_string(),
                })?
            } else {
                s.columns.clone()
            };
            check_unique(&columns, s.header, file)?;
            let mut roles = Vec::with_capacity(columns.len());
            for c in &columns {
                let role = if *c == s.label {
                    Role::Label
                } else if s.categorical.contains(c) {
                    Role::Cat {
                        seed: field_seed(c),
                    }
                } else if s.numeric.contains(c) {
                    Role::Dense { tf: DenseTf::Float }
                } else if let Some(m) = s.multi_valued.iter().find(|m| m.column == *c) {
                    Role::Multi {
                        seed: field_seed(c),
                        sep: multi_separator(m)?,
                    }
                } else if s.drop.contains(c) {
                    Role::Drop
                } else {
                    return Err(DataError::Config(format!(
                        "schema: column {c:?} of {} is not named in label, categorical, numeric, multi_valued or drop",
                        file.display()
                    )));
                };
                roles.push(role);
            }
            let named = std::iter::once(&s.label)
                .chain(&s.categorical)
                .chain(&s.numeric)
                .chain(s.multi_valued.iter().map(|m| &m.column))
                .chain(&s.drop);
            for n in named {
                // A file to score may lack the label column.
                let optional = !labelled && *n == s.label;
                if !columns.contains(n) && !optional {
                    return Err(DataError::Config(format!(
                        "schema: column {n:?} is not in {} (columns: {})",
                        file.display(),
                        columns.join(",")
                    )));
                }
            }
            (delim, s.header, columns, roles)
        }
    };
    let (mut columns, mut roles) = (columns, roles);
    if !labelled {
        if let Some(i) = roles.iter().position(|r| *r == Role::Label) {
            roles.remove(i);
            columns.remove(i);
        }
    }
    let mut info = SchemaInfo {
        field_names: Vec::new(),
        dense_names: Vec::new(),
    };
    for (c, r) in columns.iter().zip(&roles) {
        match r {
            Role::Cat { .. }
            | Role::HourOfDay { .. }
            | Role::IntBucket { .. }
            | Role::Multi { .. } => info.field_names.push(c.clone()),
            Role::Dense { .. } => info.dense_names.push(c.clone()),
            Role::Drop | Role::Label | Role::Id => {}
        }
    }
    let has_day = roles.iter().any(|r| matches!(r, Role::HourOfDay { .. }));
    let checks: Vec<Option<Check>> = columns
        .iter()
        .map(|c| preset.and_then(|p| p.check(c)))
        .collect();
    // The checks are part of the identity: a cache built without them may
    // hold rows they refuse.
    let canon = format!(
        "v{ENCODING_VERSION}|{}|{delimiter}|{has_header}|{columns:?}|{roles:?}|{checks:?}",
        cfg.format.as_str()
    );
    let quoted = cfg.format == Format::Custom;
    // Presets keep their hash (and caches); custom ones built before quoting
    // was read are rebuilt.
    let canon = if quoted { canon + "|rfc4180" } else { canon };
    let hash = xxhash_rust::xxh3::xxh3_64(canon.as_bytes());
    Ok(Layout {
        format: cfg.format,
        delimiter,
        quoted,
        header: has_header,
        columns,
        roles,
        checks,
        info,
        has_day,
        hash,
    })
}

/// Two columns of one name would make `categorical = ["x"]` ambiguous (and
/// give two fields one seed): an error naming both positions (1-based).
fn check_unique(columns: &[String], from_header: bool, file: &Path) -> Result<(), DataError> {
    let mut first: std::collections::HashMap<&str, usize> = Default::default();
    for (i, c) in columns.iter().enumerate() {
        if let Some(j) = first.insert(c.as_str(), i) {
            let problem = format!(
                "column name {c:?} appears twice: columns {} and {}",
                j + 1,
                i + 1
            );
            return Err(if from_header {
                DataError::Header {
                    file: file.to_path_buf(),
                    problem,
                }
            } else {
                DataError::Config(format!("schema.columns: {problem}"))
            });
        }
    }
    Ok(())
}

impl Layout {
    /// Check a file's header line against the expected column names.
    pub fn check_header(&self, line: &str, file: &Path) -> Result<(), DataError> {
        let got =
            header_cells(line, self.delimiter, self.quoted).map_err(|e| DataError::Header {
                file: file.to_path_buf(),
                problem: e.to_string(),
            })?;
        if got.len() != self.columns.len() {
            return Err(DataError::Header {
                file: file.to_path_buf(),
                problem: format!(
                    "expected {} columns ({}...), found {}",
                    self.columns.len(),
                    self.columns[..3.min(self.columns.len())].join(","),
                    got.len()
                ),
            });
        }
        for (i, (g, e)) in got.iter().zip(&self.columns).enumerate() {
            if g != e {
                return Err(DataError::Header {
                    file: file.to_path_buf(),
                    problem: format!("column {}: expected {e:?}, found {g:?}", i + 1),
                });
            }
        }
        Ok(())
    }
}
