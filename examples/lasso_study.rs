//! The ProxGen paper's Lasso support-recovery study (its Figure 3).
//!
//! `cargo run --release --example lasso_study [OUT_DIR]` writes into OUT_DIR
//! (default `results/quick/lasso`) `lasso_study.csv` (one row per method,
//! initialization and step), `lasso_study_coef.csv` (final coefficients next
//! to the truth and the Lasso solution) and the figures
//! `lasso_support_{zero,random}.{svg,png}` (non-zero coefficients per step),
//! and prints a summary.

use std::path::PathBuf;

use ctr_run::experiment::plot::{line_chart, ChartSpec, LegendPosition, Point, Series};
use ctr_run::experiment::{lasso_study, LassoConfig};

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "results/quick/lasso".into()),
    );
    let cfg = LassoConfig::default();
    let trace = lasso_study(&cfg)?;
    std::fs::create_dir_all(&out)?;
    trace.write_csv(std::fs::File::create(out.join("lasso_study.csv"))?)?;
    trace.write_coefficients_csv(std::fs::File::create(out.join("lasso_study_coef.csv"))?)?;
    for init in ["zero", "random"] {
        let series: Vec<Series> = trace
            .runs
            .iter()
            .filter(|r| r.init.as_str() == init)
            .map(|r| Series {
                label: r.method.as_str().to_string(),
                points: r
                    .points
                    .iter()
                    .map(|p| Point::new(p.iter as f64, p.nnz as f64))
                    .collect(),
            })
            .collect();
        let spec = ChartSpec {
            title: format!("Lasso support recovery from {init} initialization (true support: 10)"),
            x_label: "iteration".into(),
            y_label: "non-zero coefficients".into(),
            lines: true,
            legend: LegendPosition::UpperRight,
            ..Default::default()
        };
        line_chart(&spec, &series, &out.join(format!("lasso_support_{init}")))?;
    }
    let k = trace.truth.iter().filter(|&&t| t != 0.0).count();
    let lasso_nnz = trace.lasso_solution.iter().filter(|&&t| t != 0.0).count();
    println!(
        "n={} p={} k={} noise={} lambda={} lr={} steps={} batch={} (Lasso solution: {} non-zeros, objective {:.6})",
        cfg.n_samples,
        cfg.n_features,
        k,
        cfg.noise_std,
        cfg.lambda,
        cfg.lr,
        cfg.iterations,
        cfg.batch_size,
        lasso_nnz,
        trace.lasso_objective
    );
    println!(
        "{:<12} {:<7} {:>12} {:>5} {:>4} {:>4} {:>6} {:>12} {:>12}",
        "method", "init", "objective", "nnz", "tp", "fp", "exact", "max|off|", "dist_lasso"
    );
    for run in &trace.runs {
        let p = run.last();
        println!(
            "{:<12} {:<7} {:>12.6} {:>5} {:>4} {:>4} {:>6} {:>12.3e} {:>12.3e}",
            run.method.as_str(),
            run.init.as_str(),
            p.objective,
            p.nnz,
            p.true_positives,
            p.false_positives,
            p.exact_support,
            p.max_abs_off_support,
            p.dist_to_lasso
        );
    }
    println!("wrote {}/lasso_study.csv, lasso_study_coef.csv and lasso_support_{{zero,random}}.{{svg,png}}", out.display());
    Ok(())
}
