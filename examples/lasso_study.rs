//! The ProxGen paper's Lasso support-recovery study (its Figure 3).
//!
//! `cargo run --example lasso_study` writes `results/lasso_study.csv` (one row
//! per method, initialization and step) and `results/lasso_study_coef.csv`
//! (final coefficients next to the truth and the Lasso solution), and prints
//! a summary.

use ctr_run::optim::prox::{lasso_study, LassoConfig};

fn main() -> anyhow::Result<()> {
    let cfg = LassoConfig::default();
    let trace = lasso_study(&cfg)?;
    std::fs::create_dir_all("results")?;
    trace.write_csv(std::fs::File::create("results/lasso_study.csv")?)?;
    trace.write_coefficients_csv(std::fs::File::create("results/lasso_study_coef.csv")?)?;
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
    println!("wrote results/lasso_study.csv and results/lasso_study_coef.csv");
    Ok(())
}
