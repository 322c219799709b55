//! Table rendering: exact Markdown, LaTeX and CSV strings.

use ctr_run::experiment::table::{
    best_indices, fmt_mean_std, fmt_p_value, latex_escape, Better, Cell, Table, TableError,
};

/// A Table-3-like table: two optimizers, AUC mean ± std, feature rate, p-value.
fn sample() -> Table {
    let mut t = Table::new(
        "Adam vs Group_Adam (5 seeds) & 100% data",
        ["optimizer", "AUC", "feature rate", "p (AUC)"],
    );
    let aucs = [0.78123, 0.78201];
    let best = best_indices(&aucs, Better::Higher);
    for (i, (name, rate, p)) in [
        ("Adam", 1.0, None),
        ("Group_Adam", 0.1234, Some(0.000_749_3)),
    ]
    .into_iter()
    .enumerate()
    {
        let auc = fmt_mean_std(aucs[i], Some(0.00031), 4);
        let auc = if best.contains(&i) {
            Cell::bold(auc)
        } else {
            Cell::new(auc)
        };
        t.push_row([
            Cell::new(name),
            auc,
            Cell::new(format!("{:.1}%", rate * 100.0)),
            Cell::new(p.map_or("".to_string(), fmt_p_value)),
        ])
        .unwrap();
    }
    t.push_note("p: two-sided two-sample Welch's t-test on AUC, #seeds = 5.");
    t
}

#[test]
fn markdown_exact() {
    let want = "\
### Adam vs Group_Adam (5 seeds) & 100% data

| optimizer | AUC | feature rate | p (AUC) |
| :--- | ---: | ---: | ---: |
| Adam | 0.7812 ± 0.0003 | 100.0% |  |
| Group_Adam | **0.7820 ± 0.0003** | 12.3% | 7.5e-4 |

p: two-sided two-sample Welch's t-test on AUC, #seeds = 5.
";
    assert_eq!(sample().to_markdown(), want);
}

#[test]
fn latex_exact_booktabs_and_escaped() {
    let want = r"\begin{table}[ht]
\centering
\caption{Adam vs Group\_Adam (5 seeds) \& 100\% data}
\begin{tabular}{lrrr}
\toprule
optimizer & AUC & feature rate & p (AUC) \\
\midrule
Adam & 0.7812 $\pm$ 0.0003 & 100.0\% &  \\
Group\_Adam & \textbf{0.7820 $\pm$ 0.0003} & 12.3\% & 7.5e-4 \\
\bottomrule
\end{tabular}
\par\smallskip{\footnotesize p: two-sided two-sample Welch's t-test on AUC, \#seeds = 5.}
\end{table}
";
    assert_eq!(sample().to_latex(), want);
}

#[test]
fn csv_exact_with_quoting() {
    let mut t = sample();
    t.push_row(["with, comma", "say \"hi\"", "line\nbreak", ""])
        .unwrap();
    let want = "\
optimizer,AUC,feature rate,p (AUC)
Adam,0.7812 ± 0.0003,100.0%,
Group_Adam,0.7820 ± 0.0003,12.3%,7.5e-4
\"with, comma\",\"say \"\"hi\"\"\",\"line\nbreak\",
";
    assert_eq!(t.to_csv().unwrap(), want);
}

#[test]
fn escaping_rules() {
    assert_eq!(
        latex_escape(r"a_b%c&d#e$f{g}h~i^j\k"),
        r"a\_b\%c\&d\#e\$f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
    );
    let mut t = Table::new("", ["a|b"]);
    t.push_row(["x|y"]).unwrap();
    assert_eq!(t.to_markdown(), "| a\\|b |\n| :--- |\n| x\\|y |\n");
}

#[test]
fn row_width_is_checked() {
    let mut t = Table::new("t", ["a", "b"]);
    match t.push_row(["only one"]) {
        Err(TableError::RowWidth {
            row: 0,
            got: 1,
            want: 2,
        }) => {}
        other => panic!("expected RowWidth, got {other:?}"),
    }
    assert!(t.rows.is_empty());
}

#[test]
fn write_all_writes_three_files() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("table3.lambda_1e-3");
    let t = sample();
    t.write_all(&stem).unwrap();
    let read = |ext: &str| {
        std::fs::read_to_string(dir.path().join(format!("table3.lambda_1e-3.{ext}"))).unwrap()
    };
    assert_eq!(read("md"), t.to_markdown());
    assert_eq!(read("tex"), t.to_latex());
    assert_eq!(read("csv"), t.to_csv().unwrap());
}
