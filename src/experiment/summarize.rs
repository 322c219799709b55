//! `ctr-run summarize`: any sweep or set of run folders, grouped by the
//! settings that vary (or `--by`), with mean, std and n per metric and
//! Welch p-values against a baseline group; Markdown, LaTeX, a tidy CSV
//! (one row per group and metric, numbers only) and a plot of one metric
//! against an axis or another metric (docs/experiments.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::experiment::group::{flat_config, group_by, varying_keys, Group, Sample, Value, TEST};
use crate::experiment::plot::{line_chart, ChartSpec, LegendPosition, Point, Series};
use crate::experiment::runs::{self, FailedRun, RunRecord};
use crate::experiment::table::{fmt_p_value, with_extension, Cell, Table};
use crate::io::write_atomic;

/// The metrics summarised, in this order, each where some run has it.
pub const METRICS: [&str; 12] = [
    "auc",
    "logloss",
    "valid_auc",
    "valid_logloss",
    "feature_rate",
    "nonzero_features",
    "train_loss",
    "train_samples_per_second",
    "wall_seconds",
    "peak_rss_bytes",
    "informative.precision",
    "informative.recall",
];

/// The metrics the Markdown / LaTeX table shows (the CSV has all).
const SHOWN: [&str; 5] = ["auc", "logloss", "valid_auc", "feature_rate", "train_loss"];

/// What to summarise and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// Group by these config keys; None: every key that varies but `seed`.
    pub by: Option<Vec<String>>,
    /// `key=value` pairs naming the group the others are tested against.
    pub baseline: Vec<(String, String)>,
    /// The plot's x: a metric or a grouping key.
    pub x: String,
    /// The plot's y: a metric.
    pub y: String,
    pub out: PathBuf,
}

/// What was written.
#[derive(Debug)]
pub struct Summary {
    /// `summary` stem: `.md`, `.tex`, `.csv`.
    pub table: PathBuf,
    /// The plot's stem (`.svg`, `.png`); None when no group has both values.
    pub figure: Option<PathBuf>,
    pub keys: Vec<String>,
    pub groups: usize,
    pub runs: usize,
    pub stale: Vec<PathBuf>,
    pub failed: Vec<FailedRun>,
}

/// `key=value[,key=value...]` of `--baseline`.
pub fn parse_baseline(text: &str) -> Result<Vec<(String, String)>> {
    text.split(',')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .with_context(|| format!("--baseline {text:?}: {kv:?} is not key=value"))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// The finished (current) runs under every root, sorted and deduplicated.
fn collect(roots: &[PathBuf]) -> Result<(runs::Found, Vec<PathBuf>)> {
    let mut all = runs::Found::default();
    for root in roots {
        if !root.exists() {
            bail!("{}: no such folder", root.display());
        }
        let found = runs::collect_all(root)?;
        all.finished.extend(found.finished);
        all.failed.extend(found.failed);
    }
    all.finished.sort_by(|a, b| a.dir.cmp(&b.dir));
    all.finished.dedup_by(|a, b| a.dir == b.dir);
    all.failed.sort_by(|a, b| a.dir.cmp(&b.dir));
    all.failed.dedup_by(|a, b| a.dir == b.dir);
    runs::current_and_stale(all)
}

/// Summarise the runs under `roots` into `opts.out`.
pub fn summarize(roots: &[PathBuf], opts: &Options) -> Result<Summary> {
    let (found, stale) = collect(roots)?;
    let records = &found.finished;
    if records.is_empty() {
        let looked: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        bail!(
            "no finished runs (folders holding config.toml and metrics.json) under {}{}",
            looked.join(", "),
            if found.failed.is_empty() {
                String::new()
            } else {
                format!("; {} failed job(s) only", found.failed.len())
            }
        );
    }
    let flat: Vec<BTreeMap<String, Value>> =
        records.iter().map(|r| flat_config(&r.config)).collect();
    let keys = match &opts.by {
        Some(by) => {
            for k in by {
                if !flat.iter().any(|c| c.contains_key(k)) {
                    bail!(
                        "--by {k}: no such config key in these runs (keys that vary: {})",
                        varying_keys(&flat).join(", ")
                    );
                }
            }
            by.clone()
        }
        None => varying_keys(&flat)
            .into_iter()
            .filter(|k| k != "seed")
            .collect(),
    };
    let groups = group_by(records, &keys);
    let baseline = find_baseline(&groups, &keys, &opts.baseline)?;
    let metrics: Vec<&str> = METRICS
        .iter()
        .copied()
        .filter(|m| records.iter().any(|r| r.value(m).is_some()))
        .collect();

    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;
    let stem = opts.out.join("summary");
    let table = text_table(&groups, &keys, &metrics, baseline, &found.failed, opts);
    write_atomic(&with_extension(&stem, "md"), table.to_markdown().as_bytes())?;
    write_atomic(&with_extension(&stem, "tex"), table.to_latex().as_bytes())?;
    write_atomic(
        &with_extension(&stem, "csv"),
        &tidy_csv(&groups, &keys, &metrics, baseline)?,
    )?;
    runs::write_runs_csv(&found, common_root(roots), &opts.out.join("runs.csv"))?;
    let figure = plot(&groups, &keys, baseline, opts)?;
    Ok(Summary {
        table: stem,
        figure,
        keys,
        groups: groups.len(),
        runs: records.len(),
        stale,
        failed: found.failed,
    })
}

/// Where run folders are named from in `runs.csv`: the one root, or none.
fn common_root(roots: &[PathBuf]) -> &Path {
    match roots {
        [one] => one,
        _ => Path::new(""),
    }
}

/// The index of the one group every run of which matches `--baseline`.
fn find_baseline(
    groups: &[Group],
    keys: &[String],
    want: &[(String, String)],
) -> Result<Option<usize>> {
    if want.is_empty() {
        return Ok(None);
    }
    let matches = |r: &RunRecord| {
        let flat = flat_config(&r.config);
        want.iter()
            .all(|(k, v)| flat.get(k).is_some_and(|x| x.matches(v)))
    };
    let hits: Vec<usize> = (0..groups.len())
        .filter(|&i| groups[i].runs.iter().all(|r| matches(r)))
        .collect();
    let named = want
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    match hits.as_slice() {
        [one] => Ok(Some(*one)),
        [] => bail!(
            "--baseline {named}: no group matches (groups: {})",
            groups
                .iter()
                .map(|g| g.label(keys))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        many => bail!(
            "--baseline {named} matches {} groups ({}): name more keys",
            many.len(),
            many.iter()
                .map(|&i| groups[i].label(keys))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// Welch p of `metric` for group `i` against the baseline (None for the
/// baseline itself or without one).
fn p_vs(groups: &[Group], i: usize, baseline: Option<usize>, metric: &str) -> Option<f64> {
    let b = baseline.filter(|&b| b != i)?;
    groups[i].sample(metric).welch_p(&groups[b].sample(metric))
}

fn text_table(
    groups: &[Group],
    keys: &[String],
    metrics: &[&str],
    baseline: Option<usize>,
    failed: &[FailedRun],
    opts: &Options,
) -> Table {
    let shown: Vec<&str> = SHOWN
        .iter()
        .copied()
        .filter(|m| metrics.contains(m))
        .collect();
    let mut headers: Vec<String> = keys.to_vec();
    headers.push("n".into());
    for m in &shown {
        headers.push(m.to_string());
        if baseline.is_some() {
            headers.push(format!("p ({m})"));
        }
    }
    let mut table = Table::new("Summary: mean ± std over runs", headers);
    for (i, g) in groups.iter().enumerate() {
        let mut row: Vec<Cell> = g.key.iter().map(|v| Cell::new(v.to_string())).collect();
        row.push(Cell::new(g.runs.len().to_string()));
        for m in &shown {
            row.push(Cell::new(g.sample(m).cell(4)));
            if baseline.is_some() {
                let p = match baseline {
                    Some(b) if b == i => "baseline".to_string(),
                    _ => p_vs(groups, i, baseline, m).map_or("n/a".into(), fmt_p_value),
                };
                row.push(Cell::new(p));
            }
        }
        // Widths agree by construction.
        let _ = table.push_row(row);
    }
    if let Some(b) = baseline {
        let named = opts
            .baseline
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        table.push_note(format!(
            "p: {} against the baseline {named} ({}).",
            TEST.describe(),
            groups[b].label(keys)
        ));
    }
    table.push_note("n/a: a run of the group lacks the value (null in metrics.json), or fewer than 2 runs for a p-value.");
    for f in failed {
        table.push_note(format!(
            "FAILED, left out: {}: {}",
            f.dir.display(),
            f.error
        ));
    }
    table
}

/// One row per group and metric: the keys' values, `metric`, `n`,
/// `n_missing`, `mean`, `std`, `p_value` (Welch vs the baseline), and
/// `baseline` (true on the baseline's rows). Empty cells where a value is
/// undefined.
fn tidy_csv(
    groups: &[Group],
    keys: &[String],
    metrics: &[&str],
    baseline: Option<usize>,
) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut header: Vec<&str> = keys.iter().map(String::as_str).collect();
    header.extend([
        "runs",
        "metric",
        "n",
        "n_missing",
        "mean",
        "std",
        "p_value",
        "baseline",
    ]);
    w.write_record(&header)?;
    let num = |x: Option<f64>| {
        x.filter(|x| x.is_finite())
            .map(|x| x.to_string())
            .unwrap_or_default()
    };
    for (i, g) in groups.iter().enumerate() {
        for m in metrics {
            let s: Sample = g.sample(m);
            let mut row: Vec<String> = g.key.iter().map(Value::to_string).collect();
            row.extend([
                g.runs.len().to_string(),
                m.to_string(),
                s.n().to_string(),
                s.missing.to_string(),
                num(Some(s.mean())),
                num(s.std()),
                num(p_vs(groups, i, baseline, m)),
                (baseline == Some(i)).to_string(),
            ]);
            w.write_record(&row)?;
        }
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// How many values key `k` takes over the groups.
fn distinct(groups: &[Group], k: usize) -> usize {
    let mut seen: Vec<&Value> = Vec::new();
    for g in groups {
        if !seen.contains(&&g.key[k]) {
            seen.push(&g.key[k]);
        }
    }
    seen.len()
}

/// `opts.y` against `opts.x` with std error bars; one series per value of
/// the keys other than the one the curve runs along.
fn plot(
    groups: &[Group],
    keys: &[String],
    _baseline: Option<usize>,
    opts: &Options,
) -> Result<Option<PathBuf>> {
    let x_is_key = keys.contains(&opts.x);
    if !x_is_key && !METRICS.contains(&opts.x.as_str()) {
        bail!(
            "--x {}: neither a grouping key ({}) nor a metric ({})",
            opts.x,
            keys.join(", "),
            METRICS.join(", ")
        );
    }
    if !METRICS.contains(&opts.y.as_str()) {
        bail!("--y {}: not a metric ({})", opts.y, METRICS.join(", "));
    }
    let xi = keys.iter().position(|k| *k == opts.x);
    // The key a curve runs along: x itself, or (x a metric) the numeric key
    // with the most values (the first on a tie). Every other key tells the
    // series apart, so no line joins points of different settings.
    let along = xi.or_else(|| {
        (0..keys.len())
            .filter(|&k| groups.iter().all(|g| g.key[k].as_f64().is_some()))
            .rev()
            .max_by_key(|&k| distinct(groups, k))
    });
    let series_keys: Vec<usize> = (0..keys.len()).filter(|&k| Some(k) != along).collect();
    // Each point with the min-max of its x over runs: the bar drawn when
    // the x axis turns out logarithmic (mean - std may be <= 0 there).
    type WithRange = (Point, Option<(f64, f64)>);
    let mut series: BTreeMap<String, Vec<WithRange>> = BTreeMap::new();
    for g in groups {
        let label = series_keys
            .iter()
            .map(|&k| format!("{}={}", keys[k], g.key[k]))
            .collect::<Vec<_>>()
            .join(", ");
        let ys = g.sample(&opts.y);
        let mut x_range = None;
        let mut p = match xi {
            Some(k) => {
                let Some(x) = g.key[k].as_f64() else {
                    bail!(
                        "--x {}: value {:?} is not a number",
                        opts.x,
                        g.key[k].to_string()
                    );
                };
                Point::new(x, ys.mean())
            }
            None => {
                let xs = g.sample(&opts.x);
                let mut p = Point::new(xs.mean(), ys.mean());
                if let Some(e) = xs.std() {
                    p = p.with_x_err(e);
                    x_range = xs.values.iter().fold(None, |r: Option<(f64, f64)>, &v| {
                        Some(r.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
                    });
                }
                p
            }
        };
        if let Some(e) = ys.std() {
            p = p.with_y_err(e);
        }
        if p.x.is_finite() && p.y.is_finite() {
            series.entry(label).or_default().push((p, x_range));
        }
    }
    let (lo, hi) = series
        .values()
        .flatten()
        .fold((f64::INFINITY, 0.0f64), |(l, h), (p, _)| {
            (l.min(p.x), h.max(p.x))
        });
    let log_x = lo > 0.0 && hi / lo >= 100.0;
    let series: Vec<Series> = series
        .into_iter()
        .map(|(label, points)| {
            let mut points: Vec<Point> = points
                .into_iter()
                .map(|(p, range)| match (log_x, range) {
                    (true, Some((lo, hi))) if lo > 0.0 => p.with_x_range(lo, hi),
                    (true, _) => Point { x_bar: None, ..p },
                    (false, _) => p,
                })
                .collect();
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series {
                label: if label.is_empty() {
                    opts.y.clone()
                } else {
                    label
                },
                points,
            }
        })
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let n_runs: Vec<usize> = groups.iter().map(|g| g.runs.len()).collect();
    let (nmin, nmax) = (
        n_runs.iter().copied().min().unwrap_or(0),
        n_runs.iter().copied().max().unwrap_or(0),
    );
    let n = if nmin == nmax {
        nmin.to_string()
    } else {
        format!("{nmin}-{nmax}")
    };
    let spec = ChartSpec {
        title: String::new(),
        x_label: opts.x.clone(),
        y_label: if log_x && xi.is_none() {
            format!("{} (mean ± std over {n} runs; x bars min-max)", opts.y)
        } else {
            format!("{} (mean ± std over {n} runs)", opts.y)
        },
        log_x,
        legend: LegendPosition::Auto,
        ..Default::default()
    };
    let stem = opts.out.join(format!("summary_{}_vs_{}", opts.y, opts.x));
    line_chart(&spec, &series, &stem).with_context(|| format!("plotting {}", stem.display()))?;
    Ok(Some(stem))
}
