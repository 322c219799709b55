//! `ctr-run tables`: the paper's tables and figures from finished runs.
//!
//! Runs are found by the sweep folders that `configs/` writes:
//! `<root>/<dataset>_table2/` (Group Adam lambda21 grid + Adam),
//! `<dataset>_adam_prune/` (Adam + pruning matched to it), `<dataset>_table3/`,
//! `criteo_table4/` (embedding dims), `criteo_fig2/` (plain vs weighted and paper_eq10 norms),
//! `criteo_fig3/` (lambda1 vs lambda21). A missing folder skips its table.
//! Every table is written as Markdown, LaTeX and CSV, every figure as SVG
//! and PNG (no title; `figures.md` holds their captions), and `claims.md`
//! gives every qualitative claim of Sections 4.2-4.4 with the paper's figure,
//! ours and a verdict (`claims.rs` the catalogue, `findings.rs` the verdicts).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::experiment::claims::{claims_markdown, Finding};
use crate::experiment::findings::{self, Curve, Pair, Search6, Significance};
use crate::experiment::group::{flat_config, Sample, Value, TEST};
use crate::experiment::plot::{line_chart, ChartSpec, LegendPosition, Point, Series};
use crate::experiment::prune::{self, FractionRule, PruneOutcome};
use crate::experiment::runs::{self, FailedRun, RunRecord};
use crate::experiment::table::{
    best_indices, fmt_mean_std, fmt_p_value, Better, Cell, LongCsv, Table,
};
use crate::io::write_atomic;
use crate::optim::{GroupNorm, OptimizerName};

const DATASETS: [&str; 3] = ["avazu", "criteo", "ipinyou"];

/// All seeds of one setting (a run name without its `,seed=N`).
#[derive(Clone, Debug)]
struct Setting {
    name: String,
    first: RunRecord,
    /// Test AUC per seed; a null one (one-class test set) makes the
    /// setting's AUC n/a, not the mean of the others.
    auc: Sample,
    rate: Sample,
    /// Validation AUC per seed (`valid_auc`, null without a validation
    /// split): what the searches of Tables 5-7 choose on.
    valid: Sample,
    dirs: Vec<PathBuf>,
}

impl Setting {
    fn mean_auc(&self) -> f64 {
        self.auc.mean()
    }
    fn mean_rate(&self) -> f64 {
        self.rate.mean()
    }
    fn auc_cell(&self) -> String {
        self.auc.cell(4)
    }
    fn rate_cell(&self) -> String {
        self.rate.cell(4)
    }
    /// (mean feature rate, mean AUC): AUC ± std (linear axis), and the
    /// rate's min-max over seeds, since the rate axis is logarithmic and
    /// mean - std can fall below 0 there. A seed at rate 0 (no bar end on
    /// a log axis) leaves the point without a rate bar.
    fn rate_auc_point(&self) -> Point {
        let mut p = Point::new(self.mean_rate(), self.mean_auc());
        if let Some(s) = self.auc.std() {
            p = p.with_y_err(s);
        }
        if let Some((lo, hi)) = min_max(&self.rate) {
            if lo > 0.0 && lo < hi {
                p = p.with_x_range(lo, hi);
            }
        }
        p
    }
    fn opt(&self) -> &crate::optim::OptimizerConfig {
        &self.first.config.optimizer
    }
}

/// Smallest and largest value of a sample with no missing value and at
/// least two values.
fn min_max(s: &Sample) -> Option<(f64, f64)> {
    if s.missing > 0 || s.n() < 2 {
        return None;
    }
    let lo = s.values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = s.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((lo, hi))
}

/// "3 seeds" or "2-3 seeds": the seeds behind each point of a figure.
fn seeds_text<'a>(settings: impl IntoIterator<Item = &'a Setting>) -> String {
    let n: std::collections::BTreeSet<usize> = settings.into_iter().map(|s| s.dirs.len()).collect();
    match (n.first(), n.last()) {
        (Some(a), Some(b)) if a == b => format!("{a} seed{}", if *a == 1 { "" } else { "s" }),
        (Some(a), Some(b)) => format!("{a}-{b} seeds"),
        _ => "no seeds".into(),
    }
}

/// The sweep folder a run belongs to (`<sweep>/runs/<job>/`).
fn sweep_of(dir: &Path) -> Option<&std::ffi::OsStr> {
    dir.parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.file_name())
}

/// The settings of one sweep folder, in name order.
fn settings(records: &[RunRecord], sweep: &str) -> Vec<Setting> {
    let mut map: BTreeMap<String, Setting> = BTreeMap::new();
    for r in records {
        if sweep_of(&r.dir).is_none_or(|f| f != sweep) {
            continue;
        }
        let job = r
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = job
            .split(",seed=")
            .next()
            .unwrap_or(&job)
            .trim_start_matches("seed=")
            .to_string();
        let s = map.entry(name.clone()).or_insert_with(|| Setting {
            name,
            first: r.clone(),
            auc: Sample::default(),
            rate: Sample::default(),
            valid: Sample::default(),
            dirs: Vec::new(),
        });
        s.auc.push(r.metrics.auc);
        s.valid.push(r.value("valid_auc"));
        s.rate.push(Some(r.metrics.feature_rate));
        s.dirs.push(r.dir.clone());
    }
    map.into_values().collect()
}

/// The long numeric CSV every paper table writes: one row per cell value
/// (`row` names the table row's setting, `column` the compared method),
/// `p_value` (Welch) on the row compared against the row's reference.
fn long_csv() -> LongCsv {
    LongCsv::new([
        "dataset",
        "row",
        "column",
        "metric",
        "n",
        "n_missing",
        "mean",
        "std",
        "p_value",
        "chosen",
    ])
}

/// Appends `metric` of one cell to `table`'s long CSV.
#[allow(clippy::too_many_arguments)]
fn push_long(
    table: &mut Table,
    dataset: &str,
    row: &str,
    column: &str,
    metric: &str,
    s: &Sample,
    p: Option<f64>,
    chosen: bool,
) -> Result<()> {
    let num = |x: Option<f64>| {
        x.filter(|x| x.is_finite())
            .map(|x| x.to_string())
            .unwrap_or_default()
    };
    table.long.get_or_insert_with(long_csv).push(vec![
        dataset.to_string(),
        row.to_string(),
        column.to_string(),
        metric.to_string(),
        s.n().to_string(),
        s.missing.to_string(),
        num(Some(s.mean())),
        num(s.std()),
        num(p),
        if chosen { "true".into() } else { String::new() },
    ])?;
    Ok(())
}

/// Welch's p-value of two samples, `n/a` when it has no value.
fn p_text(a: &Sample, b: &Sample) -> String {
    a.welch_p(b).map_or_else(|| "n/a".into(), fmt_p_value)
}

fn p_cell(a: &Setting, b: &Setting) -> String {
    p_text(&a.auc, &b.auc)
}

/// Cells with the better of two AUCs bolded.
fn bold_pair(a: &Setting, b: &Setting) -> (Cell, Cell) {
    let best = best_indices(&[a.mean_auc(), b.mean_auc()], Better::Higher);
    let cell = |s: &Setting, i| {
        let text = format!("{} ({})", s.auc_cell(), s.rate_cell());
        if best.contains(&i) {
            Cell::bold(text)
        } else {
            Cell::new(text)
        }
    };
    (cell(a, 0), cell(b, 1))
}

/// What was written, for the command's summary.
#[derive(Debug, Default)]
pub struct Report {
    pub tables: Vec<PathBuf>,
    pub figures: Vec<PathBuf>,
    /// One caption per figure, in `figures` order (also in `figures.md`):
    /// what is drawn, the bars and the number of seeds; the images carry
    /// no title.
    pub captions: Vec<String>,
    /// Our figure and verdict per claim of `claims::CLAIMS` the runs allow.
    pub claims: Vec<Finding>,
    /// Finished runs left out: their sweep's `runs.csv` does not list them.
    pub stale: Vec<PathBuf>,
    /// Failed jobs of the sweeps read (no metrics, left out of every cell).
    pub failed: Vec<FailedRun>,
    /// Finished (current) runs found under the root, in any folder.
    pub finished: usize,
}

/// The notes every table carries about its runs: each failed job (left
/// out) and each run whose AUC is null (its setting's AUC is n/a).
struct RunNotes<'a> {
    records: &'a [RunRecord],
    failed: &'a [FailedRun],
}

impl RunNotes<'_> {
    fn push(&self, table: &mut Table, sweeps: &[String]) {
        let ours = |d: &Path| sweep_of(d).is_some_and(|f| sweeps.iter().any(|s| f == s.as_str()));
        for f in self.failed.iter().filter(|f| ours(&f.dir)) {
            table.push_note(format!(
                "FAILED, left out: {}: {}",
                job_name(&f.dir),
                f.error
            ));
        }
        let one_class: Vec<String> = self
            .records
            .iter()
            .filter(|r| r.metrics.auc.is_none() && ours(&r.dir))
            .map(|r| job_name(&r.dir))
            .collect();
        if !one_class.is_empty() {
            table.push_note(format!(
                "n/a: AUC undefined (one-class test set) in {} run(s): {}",
                one_class.len(),
                one_class.join("; ")
            ));
        }
    }
}

/// `<sweep>/<job>` of a run folder.
fn job_name(dir: &Path) -> String {
    let job = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    match (sweep_of(dir), job) {
        (Some(s), Some(j)) => format!("{}/{j}", s.to_string_lossy()),
        _ => dir.display().to_string(),
    }
}

/// Regenerate every table and figure that the runs under `root` allow,
/// into `out`.
pub fn write_report(root: &Path, out: &Path) -> Result<Report> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    // Runs a sweep no longer lists (old grid values) would mix into the
    // cells of its tables.
    let (found, stale) = runs::current_and_stale(runs::collect_all(root)?)?;
    let records = &found.finished;
    let notes = RunNotes {
        records,
        failed: &found.failed,
    };
    let mut report = Report {
        stale,
        failed: found.failed.clone(),
        finished: records.len(),
        ..Report::default()
    };
    table2_and_figure1(records, &notes, out, &mut report)?;
    table3(records, &notes, out, &mut report)?;
    table4(records, &notes, out, &mut report)?;
    table8(records, &notes, out, &mut report)?;
    for search in SEARCHES {
        search_tables(records, &notes, out, &mut report, &search)?;
    }
    figure2(records, out, &mut report)?;
    figure3(records, out, &mut report)?;
    table_proxgen(records, &notes, out, &mut report)?;
    let md = claims_markdown(root, &report.claims).context("claims.md")?;
    write_atomic(&out.join("claims.md"), md.as_bytes())?;
    if !report.figures.is_empty() {
        let mut md = String::from("# Figures\n");
        for (f, c) in report.figures.iter().zip(&report.captions) {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = write!(md, "\n## {name}\n\n![{name}]({name}.png)\n\n{c}\n");
        }
        write_atomic(&out.join("figures.md"), md.as_bytes())?;
    }
    runs::write_runs_csv(&found, root, &out.join("runs.csv"))?;
    Ok(report)
}

fn save(table: &Table, out: &Path, stem: &str, report: &mut Report) -> Result<()> {
    let path = out.join(stem);
    table
        .write_all(&path)
        .with_context(|| format!("writing {stem}"))?;
    report.tables.push(path);
    Ok(())
}

fn chart(
    spec: ChartSpec,
    series: &[Series],
    caption: String,
    out: &Path,
    stem: &str,
    report: &mut Report,
) -> Result<()> {
    // A setting with an n/a AUC (a one-class test set) has no point to
    // plot; the tables' notes name its runs.
    let series: Vec<Series> = series
        .iter()
        .map(|s| Series {
            label: s.label.clone(),
            points: s
                .points
                .iter()
                .filter(|p| p.x.is_finite() && p.y.is_finite())
                .cloned()
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(());
    }
    let path = out.join(stem);
    line_chart(&spec, &series, &path).with_context(|| format!("plotting {stem}"))?;
    report.figures.push(path);
    report.captions.push(caption);
    Ok(())
}

/// Table 2 and Figure 1: Group Adam over lambda21 vs Adam + magnitude
/// pruning at the same feature rate.
fn table2_and_figure1(
    records: &[RunRecord],
    notes: &RunNotes,
    out: &Path,
    report: &mut Report,
) -> Result<()> {
    let mut table = Table::new(
        "Table 2. AUC (feature rate) of Group Adam and of Adam + magnitude pruning at the same sparsity",
        [
            "dataset",
            "lambda21",
            "Group Adam",
            "Adam + pruning",
            "pruning r",
            "p-value",
        ],
    );
    let mut rules = RuleNotes::default();
    let mut unchosen = std::collections::BTreeSet::new();
    let mut any = false;
    let mut significance = Significance::default();
    let mut curves = Vec::new();
    for ds in DATASETS {
        let mut group: Vec<Setting> = settings(records, &format!("{ds}_table2"))
            .into_iter()
            .filter(|s| s.opt().name == OptimizerName::GroupAdam)
            .collect();
        if group.is_empty() {
            continue;
        }
        any = true;
        group.sort_by(|a, b| a.opt().lambda21.total_cmp(&b.opt().lambda21));
        let pruned = settings(records, &format!("{ds}_adam_prune"));
        let (mut wins, mut compared) = (0, 0);
        let mut g_series = Series {
            label: "Group Adam".into(),
            points: Vec::new(),
        };
        let mut p_series = Series {
            label: "Adam + pruning".into(),
            points: Vec::new(),
        };
        for g in &group {
            g_series.points.push(g.rate_auc_point());
            let row = format!("lambda21={:e}", g.opt().lambda21);
            push_long(
                &mut table,
                ds,
                &row,
                "Group Adam",
                "auc",
                &g.auc,
                None,
                false,
            )?;
            push_long(
                &mut table,
                ds,
                &row,
                "Group Adam",
                "feature_rate",
                &g.rate,
                None,
                false,
            )?;
            let p = pruned
                .iter()
                .find(|p| p.name == format!("match={}", g.name));
            let choice = match p {
                Some(p) => at_chosen_fraction(p)?,
                None => None,
            };
            if let Some(c) = &choice {
                rules.add(c.rule, ds, c.seeds);
                if c.chosen.is_none() {
                    unchosen.insert(c.rule);
                }
            }
            let (gc, pc, r, pv) = match choice.as_ref().and_then(|c| c.chosen.as_ref()) {
                Some((p, r)) => {
                    p_series.points.push(p.rate_auc_point());
                    let column = format!("Adam + pruning (r={r})");
                    let (pa, pr) = (p.auc.welch_p(&g.auc), p.rate.welch_p(&g.rate));
                    push_long(&mut table, ds, &row, &column, "auc", &p.auc, pa, false)?;
                    push_long(
                        &mut table,
                        ds,
                        &row,
                        &column,
                        "feature_rate",
                        &p.rate,
                        pr,
                        false,
                    )?;
                    compared += 1;
                    if g.mean_auc() > p.mean_auc() {
                        wins += 1;
                    }
                    significance.add(&g.auc, &p.auc, g.mean_rate());
                    let (a, b) = bold_pair(g, p);
                    (a, b, format!("{r}"), p_cell(g, p))
                }
                None => (
                    Cell::new(format!("{} ({})", g.auc_cell(), g.rate_cell())),
                    Cell::new(if p.is_some() { "n/a" } else { "not run" }),
                    String::new(),
                    "".into(),
                ),
            };
            table.push_row([
                Cell::new(ds),
                Cell::new(format!("{:e}", g.opt().lambda21)),
                gc,
                pc,
                Cell::new(r),
                Cell::new(pv),
            ])?;
        }
        curves.push(Curve {
            dataset: ds.to_string(),
            points: group
                .iter()
                .map(|g| (g.opt().lambda21, g.mean_rate(), g.mean_auc()))
                .collect(),
            wins,
            compared,
        });
        let seeds = seeds_text(group.iter().chain(&pruned));
        chart(
            ChartSpec {
                x_label: "feature rate (non-zero rows / rows seen)".into(),
                y_label: "test AUC".into(),
                log_x: true,
                legend: LegendPosition::Auto,
                ..Default::default()
            },
            &[g_series, p_series],
            format!(
                "Figure 1 ({ds}, {}): test AUC against feature rate, Group Adam over λ₂₁ and Adam + magnitude pruning at the same rates. \
                 Points: means over {seeds}; vertical bars ± 1 std of AUC, horizontal bars the min-max of the feature rate (log axis).",
                model_of(ds)
            ),
            out,
            &format!("figure1_{ds}"),
            report,
        )?;
    }
    if any {
        report
            .claims
            .extend(findings::table2(&curves, &significance));
        table.push_note(format!(
            "Mean ± std over seeds; feature rate in parentheses; best AUC per row in bold. p: {}.",
            TEST.describe()
        ));
        for note in rules.notes("every r in Table 8") {
            table.push_note(note);
        }
        for rule in unchosen {
            table.push_note(format!(
                "Adam + pruning n/a where no fraction has a {} in every seed.",
                rule.metric()
            ));
        }
        let sweeps: Vec<String> = DATASETS
            .iter()
            .flat_map(|ds| [format!("{ds}_table2"), format!("{ds}_adam_prune")])
            .collect();
        notes.push(&mut table, &sweeps);
        save(&table, out, "table2", report)?;
    }
    Ok(())
}

/// Which rule chose the pruning r of which datasets, over how many seeds:
/// the notes of Tables 2 and 8 (docs/metrics.md).
#[derive(Default)]
struct RuleNotes(BTreeMap<FractionRule, (std::collections::BTreeSet<usize>, Vec<String>)>);

impl RuleNotes {
    fn add(&mut self, rule: FractionRule, dataset: &str, seeds: usize) {
        let (n, datasets) = self.0.entry(rule).or_default();
        n.insert(seeds);
        if !datasets.iter().any(|d| d == dataset) {
            datasets.push(dataset.to_string());
        }
    }

    /// One sentence per rule in use; the datasets are named only when the
    /// rules differ between them.
    fn notes(&self, tail: &str) -> Vec<String> {
        let mixed = self.0.len() > 1;
        self.0
            .iter()
            .map(|(rule, (n, datasets))| {
                let n: Vec<String> = n.iter().map(|n| n.to_string()).collect();
                let why = match rule {
                    FractionRule::ValidAuc => "the test split chooses nothing",
                    FractionRule::TestAuc => "no validation split",
                };
                let which = if mixed {
                    format!("; {}", datasets.join(", "))
                } else {
                    String::new()
                };
                format!(
                    "Pruning r chosen once per setting by mean {} over {} seeds ({why}{which}); {tail}.",
                    rule.metric(),
                    n.join(" or ")
                )
            })
            .collect()
    }
}

/// Every seed's fractions of a pruning setting, and the rule that chooses
/// its r ([`FractionRule::for_config`]). None for a run without `[prune]`.
fn fractions_of(p: &Setting) -> Result<Option<(Vec<Vec<PruneOutcome>>, FractionRule)>> {
    let Some(spec) = &p.first.config.prune else {
        return Ok(None);
    };
    let seeds = p
        .dirs
        .iter()
        .map(|d| prune::read_fractions(d, spec))
        .collect::<Result<_>>()?;
    Ok(Some((seeds, FractionRule::for_config(&p.first.config))))
}

/// A pruning setting's r, and the rule that chose it.
struct PruneChoice {
    rule: FractionRule,
    seeds: usize,
    /// The setting at its chosen fraction (cells from that fraction of
    /// every seed) and r; None when no fraction is eligible.
    chosen: Option<(Setting, f64)>,
}

/// A pruning setting at the fraction it reports: r chosen once over all
/// its seeds ([`prune::choose_fraction`]) by mean validation AUC when the
/// runs have a validation split, else by mean test AUC. None for a run
/// without `[prune]`.
fn at_chosen_fraction(p: &Setting) -> Result<Option<PruneChoice>> {
    let Some((seeds, rule)) = fractions_of(p)? else {
        return Ok(None);
    };
    let chosen = prune::choose_fraction(&seeds, rule).map(|r| {
        let mut s = Setting {
            auc: Sample::default(),
            rate: Sample::default(),
            valid: Sample::default(),
            ..p.clone()
        };
        for o in seeds.iter().flatten().filter(|o| o.finetune == r) {
            s.auc.push(o.metrics.auc);
            s.valid.push(o.metrics.valid_auc);
            s.rate.push(Some(o.metrics.feature_rate));
        }
        (s, r)
    });
    Ok(Some(PruneChoice {
        rule,
        seeds: seeds.len(),
        chosen,
    }))
}

/// Table 3: Adam vs Group Adam and Adagrad vs Group Adagrad.
fn table3(records: &[RunRecord], notes: &RunNotes, out: &Path, report: &mut Report) -> Result<()> {
    let mut table = Table::new(
        "Table 3. AUC (feature rate): plain vs Group optimizer",
        [
            "dataset",
            "plain",
            "plain AUC (rate)",
            "Group AUC (rate)",
            "AUC p (rate p)",
        ],
    );
    let mut any = false;
    // Per optimizer pair (Adam, Adagrad): the datasets' Table 3 rows.
    let mut pairs: [Vec<Pair>; 2] = Default::default();
    for ds in DATASETS {
        let all = settings(records, &format!("{ds}_table3"));
        let find = |name: OptimizerName| all.iter().find(|s| s.opt().name == name);
        for (i, (plain, group)) in [
            (OptimizerName::Adam, OptimizerName::GroupAdam),
            (OptimizerName::Adagrad, OptimizerName::GroupAdagrad),
        ]
        .into_iter()
        .enumerate()
        {
            let (Some(p), Some(g)) = (find(plain), find(group)) else {
                continue;
            };
            any = true;
            pairs[i].push(Pair {
                dataset: ds.to_string(),
                plain_auc: p.auc.clone(),
                group_auc: g.auc.clone(),
                plain_rate: p.rate.clone(),
                group_rate: g.rate.clone(),
            });
            for (s, pv) in [(p, None), (g, Some(p))] {
                let column = s.opt().name.as_str();
                for (metric, x, y) in [
                    ("auc", &s.auc, pv.map(|p| &p.auc)),
                    ("feature_rate", &s.rate, pv.map(|p| &p.rate)),
                ] {
                    let pval = y.and_then(|y| x.welch_p(y));
                    push_long(
                        &mut table,
                        ds,
                        plain.as_str(),
                        column,
                        metric,
                        x,
                        pval,
                        false,
                    )?;
                }
            }
            let (pc, gc) = bold_pair(p, g);
            table.push_row([
                Cell::new(ds),
                Cell::new(plain.as_str()),
                pc,
                gc,
                Cell::new(format!("{} ({})", p_cell(p, g), p_text(&p.rate, &g.rate))),
            ])?;
        }
    }
    if any {
        table.push_note(format!(
            "Mean ± std over seeds; best AUC per row in bold. p: {}, of the AUCs and (in parentheses) of the feature rates.",
            TEST.describe()
        ));
        let sweeps: Vec<String> = DATASETS.iter().map(|ds| format!("{ds}_table3")).collect();
        notes.push(&mut table, &sweeps);
        save(&table, out, "table3", report)?;
    }
    let [adam, adagrad] = &pairs;
    report.claims.extend(findings::table3(
        "4.2-t3-adam-auc",
        "4.2-t3-adam-sparse",
        adam,
    ));
    report.claims.extend(findings::table3(
        "4.3-t3-adagrad-auc",
        "4.3-t3-adagrad-sparse",
        adagrad,
    ));
    Ok(())
}

/// Table 4: feature rate (and AUC) by embedding dimension.
fn table4(records: &[RunRecord], notes: &RunNotes, out: &Path, report: &mut Report) -> Result<()> {
    let mut all = settings(records, "criteo_table4");
    if all.is_empty() {
        return Ok(());
    }
    all.sort_by_key(|s| (s.opt().name.as_str(), s.first.config.model.embed_dim));
    let mut table = Table::new(
        "Table 4. Feature rate (AUC) by embedding dimension, DCN on Criteo",
        ["optimizer", "embed_dim", "feature rate", "AUC"],
    );
    let mut group_rates = Vec::new();
    for s in &all {
        let column = format!("embed_dim={}", s.first.config.model.embed_dim);
        push_long(
            &mut table,
            "criteo",
            s.opt().name.as_str(),
            &column,
            "feature_rate",
            &s.rate,
            None,
            false,
        )?;
        push_long(
            &mut table,
            "criteo",
            s.opt().name.as_str(),
            &column,
            "auc",
            &s.auc,
            None,
            false,
        )?;
        table.push_row([
            Cell::new(s.opt().name.as_str()),
            Cell::new(s.first.config.model.embed_dim.to_string()),
            Cell::new(s.rate_cell()),
            Cell::new(s.auc_cell()),
        ])?;
        if s.opt().name.is_group() {
            group_rates.push((s.first.config.model.embed_dim, s.mean_rate()));
        }
    }
    table.push_note("Mean ± std over seeds.");
    notes.push(&mut table, &["criteo_table4".to_string()]);
    save(&table, out, "table4", report)?;
    report.claims.push(findings::table4(&group_rates));
    Ok(())
}

/// Table 8: AUC of each pruning schedule (fine-tune fraction r).
fn table8(records: &[RunRecord], notes: &RunNotes, out: &Path, report: &mut Report) -> Result<()> {
    let mut table = Table::new(
        "Table 8. Magnitude pruning: AUC by fine-tune fraction r",
        [
            "dataset",
            "target rate",
            "r = 0",
            "r = 10%",
            "r = 20%",
            "r = 30%",
        ],
    );
    let mut any = false;
    let mut rules = RuleNotes::default();
    const COLUMNS: [u64; 4] = [0, 10, 20, 30];
    for ds in DATASETS {
        for s in settings(records, &format!("{ds}_adam_prune")) {
            let Some((seeds, rule)) = fractions_of(&s)? else {
                continue;
            };
            let target = s
                .first
                .config
                .prune
                .as_ref()
                .map_or(f64::NAN, |p| p.target_rate);
            // Every fraction of each seed: finetune (in %) -> test AUCs and
            // validation AUCs, None where a split held one class.
            let mut by_r: BTreeMap<u64, (Sample, Sample)> = BTreeMap::new();
            for o in seeds.iter().flatten() {
                let r = (o.finetune * 100.0).round() as u64;
                let (test, valid) = by_r.entry(r).or_default();
                test.push(o.metrics.auc);
                valid.push(o.metrics.valid_auc);
            }
            if by_r.is_empty() {
                continue;
            }
            any = true;
            rules.add(rule, ds, seeds.len());
            // The mean of a fraction's AUCs; None if any is null.
            let mean = |v: &Sample| (v.missing == 0 && v.n() > 0).then(|| v.mean());
            let chosen = prune::choose_fraction(&seeds, rule).map(|r| (r * 100.0).round() as u64);
            for (r, (test, valid)) in &by_r {
                let column = format!("r={}", *r as f64 / 100.0);
                let row = format!("target_rate={target}");
                let is_chosen = chosen == Some(*r);
                push_long(&mut table, ds, &row, &column, "auc", test, None, is_chosen)?;
                if rule == FractionRule::ValidAuc {
                    push_long(
                        &mut table,
                        ds,
                        &row,
                        &column,
                        "valid_auc",
                        valid,
                        None,
                        is_chosen,
                    )?;
                }
            }
            let mut row = vec![Cell::new(ds), Cell::new(format!("{target:.4}"))];
            for r in COLUMNS {
                let mut text = match by_r.get(&r) {
                    Some((test, _)) => {
                        mean(test).map_or("n/a".into(), |m| fmt_mean_std(m, test.std(), 4))
                    }
                    None => "—".into(),
                };
                if let (FractionRule::ValidAuc, Some((_, valid))) = (rule, by_r.get(&r)) {
                    let v = mean(valid).map_or("n/a".into(), |m| format!("{m:.4}"));
                    text = format!("{text} ({v})");
                }
                row.push(if chosen == Some(r) {
                    Cell::bold(text)
                } else {
                    Cell::new(text)
                });
            }
            table.push_row(row)?;
        }
    }
    if any {
        table.push_note("Mean ± std of test AUC over seeds (with a validation split, the mean validation AUC in parentheses); in bold the r Table 2 reports.");
        for note in rules.notes("Table 2 reports it") {
            table.push_note(note);
        }
        let sweeps: Vec<String> = DATASETS
            .iter()
            .map(|ds| format!("{ds}_adam_prune"))
            .collect();
        notes.push(&mut table, &sweeps);
        save(&table, out, "table8", report)?;
    }
    Ok(())
}

/// Figure 2: AUC vs feature rate with the plain group norm and both
/// weighted forms (`weighted`, `paper_eq10`).
fn figure2(records: &[RunRecord], out: &Path, report: &mut Report) -> Result<()> {
    let all = settings(records, "criteo_fig2");
    if all.is_empty() {
        return Ok(());
    }
    let series_of = |norm: GroupNorm, label: &str| {
        let mut pts: Vec<&Setting> = all
            .iter()
            .filter(|s| s.opt().group_norm == norm && s.opt().lambda21 > 0.0)
            .collect();
        pts.sort_by(|a, b| a.mean_rate().total_cmp(&b.mean_rate()));
        (
            Series {
                label: label.into(),
                points: pts.iter().map(|s| s.rate_auc_point()).collect(),
            },
            pts,
        )
    };
    // No s̃ in the image: the PNG font renderer cannot place a combining tilde.
    let (plain, plain_pts) = series_of(GroupNorm::Plain, "‖sₜ‖ (Algorithm 1, plain)");
    let (weighted, weighted_pts) =
        series_of(GroupNorm::Weighted, "‖sₜ/√(D/2+λ₂)‖ (Theorem 1, weighted)");
    let (eq10, eq10_pts) = series_of(GroupNorm::PaperEq10, "‖sₜ/(D/2+λ₂)‖ (Eq. 10 as printed)");
    // Claim: at equal sparsity the plain norm gives the higher AUC. Compare
    // each weighted point with the plain curve interpolated at its rate.
    let counts: Vec<(&str, usize, usize)> =
        [("weighted", &weighted_pts), ("paper_eq10", &eq10_pts)]
            .into_iter()
            .filter(|(_, pts)| !pts.is_empty())
            .map(|(label, pts)| {
                let (better, compared) = plain_beats(&plain_pts, pts);
                (label, better, compared)
            })
            .collect();
    if !counts.is_empty() {
        report.claims.push(findings::figure2(&counts));
    }
    let series = [plain, weighted, eq10];
    let zoom_y = zoom_on(&series[0], &series);
    let seeds = seeds_text(
        plain_pts
            .iter()
            .chain(&weighted_pts)
            .chain(&eq10_pts)
            .copied(),
    );
    let zoom_text = match zoom_y {
        Some((lo, hi)) => format!(
            " The right panel repeats the left one for AUC in [{lo:.4}, {hi:.4}] (the plain curve's range), where the curves are compared."
        ),
        None => String::new(),
    };
    chart(
        ChartSpec {
            x_label: "feature rate".into(),
            y_label: "test AUC".into(),
            log_x: true,
            zoom_y,
            legend: LegendPosition::Auto,
            width: if zoom_y.is_some() { 1400 } else { 900 },
            ..Default::default()
        },
        &series,
        format!(
            "Figure 2 (criteo, DCN): test AUC against feature rate for the plain group norm ‖sₜ‖ and the weighted ‖s̃ₜ‖, \
             in its square-root form (`weighted`, the exact minimizer) and as Eq. (10) prints it (`paper_eq10`); λ₁ = λ₂ = 0. \
             Points: means over {seeds}; vertical bars ± 1 std of AUC, horizontal bars the min-max of the feature rate (log axis).{zoom_text}"
        ),
        out,
        "figure2",
        report,
    )
}

/// How many of `other`'s points lie at or below the plain curve
/// (interpolated at their feature rate), of those inside its rate range.
fn plain_beats(plain: &[&Setting], other: &[&Setting]) -> (usize, usize) {
    let (mut better, mut compared) = (0, 0);
    for w in other {
        let x = w.mean_rate();
        let pair = plain
            .windows(2)
            .find(|p| p[0].mean_rate() <= x && x <= p[1].mean_rate());
        if let Some(p) = pair {
            let (x0, x1) = (p[0].mean_rate(), p[1].mean_rate());
            let t = if x1 > x0 { (x - x0) / (x1 - x0) } else { 0.0 };
            let plain_auc = p[0].mean_auc() + t * (p[1].mean_auc() - p[0].mean_auc());
            compared += 1;
            if plain_auc >= w.mean_auc() {
                better += 1;
            }
        }
    }
    (better, compared)
}

/// The y range of `focus` (bars included) when the whole chart spans more
/// than 3 times it: a second panel shows the comparison there.
fn zoom_on(focus: &Series, all: &[Series]) -> Option<(f64, f64)> {
    let span = |ss: &mut dyn Iterator<Item = &Point>| {
        ss.flat_map(|p| {
            let (lo, hi) = p.y_bar.unwrap_or((p.y, p.y));
            [lo, hi]
        })
        .fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| {
            (a.0.min(v), a.1.max(v))
        })
    };
    let (flo, fhi) = span(&mut focus.points.iter());
    let (alo, ahi) = span(&mut all.iter().flat_map(|s| s.points.iter()));
    let (f, a) = (fhi - flo, ahi - alo);
    (f.is_finite() && a.is_finite() && f > 0.0 && a > 3.0 * f).then_some((flo, fhi))
}

/// Figure 3: feature rate against lambda1 alone and lambda21 alone.
fn figure3(records: &[RunRecord], out: &Path, report: &mut Report) -> Result<()> {
    let all = settings(records, "criteo_fig3");
    if all.is_empty() {
        return Ok(());
    }
    let curve = |l1: bool| {
        let mut pts: Vec<(f64, &Setting)> = all
            .iter()
            .filter_map(|s| {
                let o = s.opt();
                let (x, other) = if l1 {
                    (o.lambda1, o.lambda21)
                } else {
                    (o.lambda21, o.lambda1)
                };
                (x > 0.0 && other == 0.0).then_some((x as f64, s))
            })
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    let (l1, l21) = (curve(true), curve(false));
    let to_series = |label: &str, pts: &[(f64, &Setting)]| Series {
        label: label.into(),
        points: pts
            .iter()
            .map(|(x, s)| {
                let mut p = Point::new(*x, s.mean_rate());
                if let Some(e) = s.rate.std() {
                    p = p.with_y_err(e);
                }
                p
            })
            .collect(),
    };
    let (mut more, mut compared) = (0, 0);
    for (x, s21) in &l21 {
        if let Some((_, s1)) = l1.iter().find(|(x1, _)| (x1 - x).abs() <= 1e-9 * x.abs()) {
            compared += 1;
            if s21.mean_rate() < s1.mean_rate() {
                more += 1;
            }
        }
    }
    report.claims.push(findings::figure3(more, compared));
    let seeds = seeds_text(l1.iter().chain(&l21).map(|(_, s)| *s));
    chart(
        ChartSpec {
            x_label: "λ (the other λ = 0)".into(),
            y_label: "feature rate".into(),
            log_x: true,
            legend: LegendPosition::Auto,
            ..Default::default()
        },
        &[to_series("λ₁ (ℓ₁ alone)", &l1), to_series("λ₂₁ (ℓ₂₁ alone)", &l21)],
        format!(
            "Figure 3 (criteo, DCN): feature rate of Group Adam against λ₁ with λ₂₁ = 0 and against λ₂₁ with λ₁ = 0 (λ₂ = 0). \
             Points: means over {seeds}; bars ± 1 std."
        ),
        out,
        "figure3",
        report,
    )
}

/// ProxGen vs Group Adam (issue 6): AUC and feature rate per optimizer,
/// penalty and strength, from `avazu_proxgen/`.
fn table_proxgen(
    records: &[RunRecord],
    notes: &RunNotes,
    out: &Path,
    report: &mut Report,
) -> Result<()> {
    let mut all = settings(records, "avazu_proxgen");
    if all.is_empty() {
        return Ok(());
    }
    let strength = |s: &Setting| {
        let o = s.opt();
        // f32, as configured: printing it as f64 would show 3e-5 as 2.9999999e-5.
        if o.name.is_group() {
            o.lambda21
        } else {
            o.lambda
        }
    };
    all.sort_by(|a, b| {
        (a.opt().name.as_str(), strength(a))
            .partial_cmp(&(b.opt().name.as_str(), strength(b)))
            .unwrap()
    });
    let mut table = Table::new(
        "ProxGen vs Group Adam on synthetic Avazu (MLP): AUC and feature rate by strength",
        ["optimizer", "penalty", "strength", "AUC", "feature rate"],
    );
    for s in &all {
        let o = s.opt();
        let penalty = if o.name.is_group() {
            "l2,1 (lambda21)".to_string()
        } else if o.name.is_prox() {
            o.regularizer.to_string()
        } else {
            "none".into()
        };
        let row = format!("{} {penalty} {:e}", o.name.as_str(), strength(s));
        push_long(
            &mut table,
            "avazu",
            &row,
            o.name.as_str(),
            "auc",
            &s.auc,
            None,
            false,
        )?;
        push_long(
            &mut table,
            "avazu",
            &row,
            o.name.as_str(),
            "feature_rate",
            &s.rate,
            None,
            false,
        )?;
        table.push_row([
            Cell::new(o.name.as_str()),
            Cell::new(penalty),
            Cell::new(format!("{:e}", strength(s))),
            Cell::new(s.auc_cell()),
            Cell::new(s.rate_cell()),
        ])?;
    }
    table.push_note("Mean ± std over seeds. Group Adam's lambda21 includes Algorithm 1's sqrt(d) factor; ProxGen's group penalty lambda*||x_g|| does not.");
    notes.push(&mut table, &["avazu_proxgen".to_string()]);
    save(&table, out, "table_proxgen", report)
}

/// One of Appendix E's searches: which sweep, which keys form its grid,
/// and whether a value is chosen per optimizer (Table 5) or per dataset.
struct SearchSpec {
    number: u8,
    sweep_suffix: &'static str,
    title: &'static str,
    grid: &'static [(&'static str, &'static str)],
    per_optimizer: bool,
}

const SEARCHES: [SearchSpec; 3] = [
    SearchSpec {
        number: 5,
        sweep_suffix: "table5_lr",
        title: "The learning rates of the optimizers",
        grid: &[("optimizer.lr", "lr")],
        per_optimizer: true,
    },
    SearchSpec {
        number: 6,
        sweep_suffix: "table6_search",
        title: "The regularization terms of Group Adam",
        grid: &[
            ("optimizer.lambda1", "lambda1"),
            ("optimizer.lambda21", "lambda21"),
            ("optimizer.lambda2", "lambda2"),
        ],
        per_optimizer: false,
    },
    SearchSpec {
        number: 7,
        sweep_suffix: "table7_search",
        title: "The regularization terms of Group Adagrad",
        grid: &[
            ("optimizer.lambda1", "lambda1"),
            ("optimizer.lambda21", "lambda21"),
            ("optimizer.lambda2", "lambda2"),
        ],
        per_optimizer: false,
    },
];

/// The paper's column for a dataset: the model it trains there.
fn model_of(ds: &str) -> &'static str {
    match ds {
        "avazu" => "MLP",
        "ipinyou" => "OPNN",
        _ => "DCN",
    }
}

/// The point a search chooses: the best mean validation AUC; None (and why)
/// when a point has no validation AUC in every seed. Test AUC never chooses.
fn choose_on_valid(points: &[&Setting]) -> Result<usize, NotChosen> {
    let lacking: Vec<&str> = points
        .iter()
        .filter(|s| s.valid.missing > 0 || s.valid.n() == 0)
        .map(|s| s.name.as_str())
        .collect();
    if !lacking.is_empty() {
        return Err(NotChosen::NoValidation {
            lacking: lacking.join("; "),
        });
    }
    let means: Vec<f64> = points.iter().map(|s| s.valid.mean()).collect();
    best_indices(&means, Better::Higher)
        .first()
        .copied()
        .ok_or(NotChosen::NotFinite)
}

/// Why a search chose no point (a table note says it).
#[derive(Debug, thiserror::Error)]
enum NotChosen {
    /// `lacking`: the settings without a validation AUC, `; `-separated.
    #[error("no validation AUC (valid_auc) in {lacking}: nothing chosen (test AUC is never used to choose)")]
    NoValidation { lacking: String },
    #[error("no finite validation AUC")]
    NotFinite,
}

/// Tables 5-7 (Appendix E): `table<N>_search` lists every grid point with
/// its validation AUC, test AUC and feature rate and marks the chosen one;
/// `table<N>` gives the chosen values in the paper's layout.
fn search_tables(
    records: &[RunRecord],
    notes: &RunNotes,
    out: &Path,
    report: &mut Report,
    spec: &SearchSpec,
) -> Result<()> {
    let mut headers = vec!["dataset".to_string(), "optimizer".to_string()];
    headers.extend(spec.grid.iter().map(|(_, label)| label.to_string()));
    headers.extend(["valid AUC", "test AUC", "feature rate", "chosen"].map(String::from));
    let mut grid = Table::new(
        format!(
            "Table {} search. Every grid point: validation AUC (chooses), test AUC, feature rate",
            spec.number
        ),
        headers,
    );
    // (dataset, optimizer) -> chosen grid values, or why none.
    let mut chosen: Vec<(String, String, Result<Vec<String>, NotChosen>)> = Vec::new();
    // Table 6's per-dataset outcome, for claims.md.
    let mut searches6 = Vec::new();
    let mut sweeps = Vec::new();
    for ds in DATASETS {
        let sweep = format!("{ds}_{}", spec.sweep_suffix);
        let all = settings(records, &sweep);
        if all.is_empty() {
            continue;
        }
        sweeps.push(sweep);
        let values = |s: &Setting| -> Vec<Value> {
            let flat = flat_config(&s.first.config);
            spec.grid
                .iter()
                .map(|(k, _)| flat.get(*k).cloned().unwrap_or(Value::Missing))
                .collect()
        };
        let mut names: Vec<&str> = all.iter().map(|s| s.opt().name.as_str()).collect();
        names.sort();
        names.dedup();
        let choices: Vec<Option<&str>> = if spec.per_optimizer {
            names.iter().map(|n| Some(*n)).collect()
        } else {
            vec![None]
        };
        for name in choices {
            let mut points: Vec<&Setting> = all
                .iter()
                .filter(|s| name.is_none_or(|n| s.opt().name.as_str() == n))
                .collect();
            // Grid order: optimizer, then each key's value.
            points.sort_by(|a, b| {
                a.opt()
                    .name
                    .as_str()
                    .cmp(b.opt().name.as_str())
                    .then_with(|| {
                        values(a)
                            .iter()
                            .zip(&values(b))
                            .map(|(x, y)| x.cmp_total(y))
                            .find(|o| o.is_ne())
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
            });
            let pick = choose_on_valid(&points);
            for (i, s) in points.iter().enumerate() {
                let is_chosen = pick.as_ref().is_ok_and(|&c| c == i);
                let mark = |t: String| {
                    if is_chosen {
                        Cell::bold(t)
                    } else {
                        Cell::new(t)
                    }
                };
                let label = spec
                    .grid
                    .iter()
                    .zip(values(s))
                    .map(|((_, l), v)| format!("{l}={}", fmt_grid(&v)))
                    .collect::<Vec<_>>()
                    .join(",");
                let o = s.opt().name.as_str();
                for (metric, x) in [
                    ("valid_auc", &s.valid),
                    ("auc", &s.auc),
                    ("feature_rate", &s.rate),
                ] {
                    push_long(&mut grid, ds, &label, o, metric, x, None, is_chosen)?;
                }
                let mut row = vec![Cell::new(ds), Cell::new(s.opt().name.as_str())];
                row.extend(values(s).iter().map(|v| mark(fmt_grid(v))));
                row.push(mark(s.valid.cell(4)));
                row.push(Cell::new(s.auc_cell()));
                row.push(Cell::new(s.rate_cell()));
                row.push(Cell::new(if is_chosen { "yes" } else { "" }));
                grid.push_row(row)?;
            }
            let optimizer = name.map(str::to_string).unwrap_or_else(|| {
                points
                    .first()
                    .map(|s| s.opt().name.as_str().to_string())
                    .unwrap_or_default()
            });
            if spec.number == 6 {
                let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
                searches6.push(Search6 {
                    dataset: ds.to_string(),
                    chosen: pick.as_ref().ok().map(|&c| {
                        let v = values(points[c]);
                        [num(&v[0]), num(&v[1]), num(&v[2])]
                    }),
                    lambda2_searched: points.iter().map(|s| num(&values(s)[2])).collect(),
                });
            }
            let value = pick.map(|c| values(points[c]).iter().map(fmt_grid).collect());
            if let Err(why) = &value {
                grid.push_note(format!("{ds} {optimizer}: {why}."));
            }
            chosen.push((ds.to_string(), optimizer, value));
        }
    }
    if chosen.is_empty() {
        return Ok(());
    }
    if !searches6.is_empty() {
        report.claims.extend(findings::table6(&searches6));
    }
    grid.push_note("Mean ± std over seeds. The chosen point (bold) has the best mean validation AUC of its search; test AUC is shown, never used to choose.");
    notes.push(&mut grid, &sweeps);
    save(&grid, out, &format!("table{}_search", spec.number), report)?;

    // The paper's layout (Appendix E).
    let cell = |v: &Result<Vec<String>, NotChosen>, i: usize| match v {
        Ok(v) => v[i].clone(),
        Err(_) => "not chosen".to_string(),
    };
    let mut table = if spec.per_optimizer {
        let mut headers = vec!["optimizer".to_string()];
        headers.extend(["avazu", "ipinyou", "criteo"].map(|ds| format!("{} ({ds})", model_of(ds))));
        let mut t = Table::new(
            format!("Table {}. {} of three datasets", spec.number, spec.title),
            headers,
        );
        let mut optimizers: Vec<&str> = chosen.iter().map(|c| c.1.as_str()).collect();
        optimizers.sort();
        optimizers.dedup();
        for o in optimizers {
            let mut row = vec![o.to_string()];
            for ds in ["avazu", "ipinyou", "criteo"] {
                row.push(
                    chosen
                        .iter()
                        .find(|c| c.0 == ds && c.1 == o)
                        .map_or("—".into(), |c| cell(&c.2, 0)),
                );
            }
            t.push_row(row)?;
        }
        t
    } else {
        let mut headers = vec!["dataset".to_string()];
        headers.extend(spec.grid.iter().map(|(_, l)| l.to_string()));
        let mut t = Table::new(
            format!("Table {}. {} of three datasets", spec.number, spec.title),
            headers,
        );
        for ds in ["avazu", "ipinyou", "criteo"] {
            if let Some(c) = chosen.iter().find(|c| c.0 == ds) {
                let mut row = vec![format!("{} ({ds})", model_of(ds))];
                row.extend((0..spec.grid.len()).map(|i| cell(&c.2, i)));
                t.push_row(row)?;
            }
        }
        t
    };
    table.push_note(format!(
        "Chosen on mean validation AUC over seeds (every point in table{}_search).",
        spec.number
    ));
    for (ds, o, v) in &chosen {
        if let Err(why) = v {
            table.push_note(format!("{ds} {o}: {why}."));
        }
    }
    save(&table, out, &format!("table{}", spec.number), report)
}

/// A grid value as configs write it (`1e-4`, `0`).
fn fmt_grid(v: &Value) -> String {
    match v {
        Value::Num(x) if *x == 0.0 => "0".into(),
        Value::Num(x) => format!("{x:e}"),
        other => other.to_string(),
    }
}
