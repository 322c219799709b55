//! The one place finished runs become groups with statistics: a run's
//! resolved config flattened to dotted keys, the keys that vary across a
//! set of runs (a sweep's axes), groups of runs sharing their axis values,
//! and per group and metric the mean, std, n and Welch p-value
//! ([`Sample`]). `summarize` and the paper's tables (`report`) both use it.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use crate::config::RunConfig;
use crate::experiment::runs::RunRecord;
use crate::experiment::table::fmt_mean_std;
use crate::stats::{self, TTestKind};

/// Welch's test: the compared settings' variances need not be equal.
pub const TEST: TTestKind = TTestKind::Welch;

/// Config keys that name a run rather than set it: never an axis.
const NOT_SETTINGS: [&str; 2] = ["name", "output"];

/// One value of a config key or metric: a number when it is one.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Text(String),
    /// The key is absent (an optional section) or null.
    Missing,
}

impl Value {
    fn of_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Missing,
            serde_json::Value::Bool(b) => Value::Text(b.to_string()),
            serde_json::Value::Number(n) => n.as_f64().map_or(Value::Missing, Value::Num),
            serde_json::Value::String(s) => Value::Text(s.clone()),
            other => Value::Text(other.to_string()),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(x) => Some(*x),
            _ => None,
        }
    }

    /// Numbers in number order, before text; missing last.
    pub fn cmp_total(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Num(a), Num(b)) => a.total_cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (Num(_), _) => Ordering::Less,
            (_, Num(_)) => Ordering::Greater,
            (Text(_), Missing) => Ordering::Less,
            (Missing, Text(_)) => Ordering::Greater,
            (Missing, Missing) => Ordering::Equal,
        }
    }

    /// Does `text` (from `--baseline key=text`) name this value? Numbers
    /// compare as numbers (`1e-3` names 0.001).
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Value::Num(x) => text.parse::<f64>().is_ok_and(|t| t == *x),
            Value::Text(s) => s == text,
            Value::Missing => text.is_empty() || text == "none",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Shortest text that reads back as the same number.
            Value::Num(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::Missing => Ok(()),
        }
    }
}

/// Every leaf of a JSON object as `dotted.key -> value`.
pub fn flatten_json(v: &serde_json::Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_json(v, &key, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), Value::of_json(leaf));
        }
    }
}

/// The resolved config as dotted keys (`optimizer.lambda21`, `seed`).
pub fn flat_config(c: &RunConfig) -> BTreeMap<String, Value> {
    // Through JSON text: serde_json writes f32 fields in their shortest
    // form (0.001), which `to_value` would widen to 0.0010000000474974513.
    let text = serde_json::to_string(c).expect("a RunConfig always serializes");
    let v: serde_json::Value = serde_json::from_str(&text).expect("own JSON parses");
    let mut out = BTreeMap::new();
    flatten_json(&v, "", &mut out);
    out
}

/// The keys whose value differs between some two of `configs` (a key
/// absent from one counts as differing), sorted; never `name` / `output`.
pub fn varying_keys(configs: &[BTreeMap<String, Value>]) -> Vec<String> {
    let mut all: BTreeMap<&String, ()> = BTreeMap::new();
    for c in configs {
        for k in c.keys() {
            all.insert(k, ());
        }
    }
    all.into_keys()
        .filter(|k| !NOT_SETTINGS.contains(&k.as_str()))
        .filter(|k| {
            let first = configs.first().and_then(|c| c.get(*k));
            configs.iter().any(|c| c.get(*k) != first)
        })
        .cloned()
        .collect()
}

/// The repeats of one setting: the values of one metric, the runs whose
/// value is null counted apart (a setting with one makes its mean n/a,
/// never the mean of the others).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    pub values: Vec<f64>,
    pub missing: usize,
}

impl Sample {
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Self {
        let mut s = Sample::default();
        for v in values {
            s.push(v);
        }
        s
    }

    pub fn push(&mut self, v: Option<f64>) {
        match v.filter(|x| x.is_finite()) {
            Some(x) => self.values.push(x),
            None => self.missing += 1,
        }
    }

    /// Runs with a value.
    pub fn n(&self) -> usize {
        self.values.len()
    }

    /// NaN when a run lacks the value or there is none.
    pub fn mean(&self) -> f64 {
        if self.missing > 0 {
            return f64::NAN;
        }
        stats::mean(&self.values).unwrap_or(f64::NAN)
    }

    /// Sample std (n - 1); None with a missing value or n < 2.
    pub fn std(&self) -> Option<f64> {
        if self.missing > 0 {
            return None;
        }
        stats::sample_std(&self.values)
    }

    /// `mean ± std` with `decimals`, `n/a` when a run lacks the value.
    pub fn cell(&self, decimals: usize) -> String {
        if self.missing > 0 || self.values.is_empty() {
            return "n/a".into();
        }
        fmt_mean_std(self.mean(), self.std(), decimals)
    }

    /// Two-sided Welch p-value of equal means; None when either side lacks
    /// a value or has fewer than 2.
    pub fn welch_p(&self, other: &Sample) -> Option<f64> {
        if self.missing + other.missing > 0 {
            return None;
        }
        stats::t_test(&self.values, &other.values, TEST)
            .ok()
            .map(|t| t.p)
    }
}

/// Runs that share their values of the grouping keys.
#[derive(Clone, Debug)]
pub struct Group<'a> {
    /// One value per grouping key, in the keys' order.
    pub key: Vec<Value>,
    pub runs: Vec<&'a RunRecord>,
}

impl Group<'_> {
    /// One metric over the group's runs (`auc`, `valid_auc`, ...).
    pub fn sample(&self, metric: &str) -> Sample {
        Sample::of(self.runs.iter().map(|r| r.value(metric)))
    }

    /// `key=value,...` naming the group.
    pub fn label(&self, keys: &[String]) -> String {
        keys.iter()
            .zip(&self.key)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Groups of `records` by the values of `keys` (flattened config keys), in
/// key order (numbers numerically).
pub fn group_by<'a>(records: &'a [RunRecord], keys: &[String]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for r in records {
        let flat = flat_config(&r.config);
        let key: Vec<Value> = keys
            .iter()
            .map(|k| flat.get(k).cloned().unwrap_or(Value::Missing))
            .collect();
        match groups.iter_mut().find(|g| g.key == key) {
            Some(g) => g.runs.push(r),
            None => groups.push(Group { key, runs: vec![r] }),
        }
    }
    groups.sort_by(|a, b| {
        a.key
            .iter()
            .zip(&b.key)
            .map(|(x, y)| x.cmp_total(y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    groups
}
