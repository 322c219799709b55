//! Our side of `claims.md`: the numbers `report.rs` extracts from the
//! tables' runs, turned into a [`Finding`] (our figure and a verdict) per
//! claim of [`crate::experiment::claims::CLAIMS`]. Pure functions of
//! means, samples and counts; the rules are in docs/metrics.md.

use crate::experiment::claims::{Finding, Verdict, ALPHAS, EXTREME_RATE, SPARSE_RATE};
use crate::experiment::group::Sample;
use crate::experiment::table::fmt_p_value;

/// The Table 2 curve of one dataset: Group Adam's mean feature rate and
/// AUC per lambda21, in rising lambda21, and how often it beat Adam +
/// pruning at the matched rate.
pub struct Curve {
    pub dataset: String,
    /// (lambda21, mean feature rate, mean AUC).
    pub points: Vec<(f32, f64, f64)>,
    /// Settings where Group Adam's mean AUC is above Adam + pruning's.
    pub wins: usize,
    /// Settings with an Adam + pruning cell.
    pub compared: usize,
}

/// Section 4.2's counts: Table 2 settings where Group Adam's mean AUC is
/// above Adam + pruning's and Welch's p is below alpha, for each level of
/// [`ALPHAS`], over all settings and over those below [`SPARSE_RATE`].
#[derive(Default)]
pub struct Significance {
    /// Per level: (significant, settings) overall and below 5%.
    counts: [((usize, usize), (usize, usize)); ALPHAS.len()],
}

impl Significance {
    pub fn add(&mut self, group_auc: &Sample, pruned_auc: &Sample, group_rate: f64) {
        let above = group_auc.mean() > pruned_auc.mean();
        let p = group_auc.welch_p(pruned_auc);
        for ((alpha, _), (all, sparse)) in ALPHAS.iter().zip(&mut self.counts) {
            let better = above && p.is_some_and(|p| p < *alpha);
            let count = |c: &mut (usize, usize)| {
                c.0 += usize::from(better);
                c.1 += 1;
            };
            count(all);
            if group_rate < SPARSE_RATE {
                count(sparse);
            }
        }
    }

    /// (significant, settings) at level `i` of [`ALPHAS`]: overall and below 5%.
    pub fn at(&self, i: usize) -> ((usize, usize), (usize, usize)) {
        self.counts[i]
    }
}

/// "4 of 21 (19.0%)".
fn share((k, n): (usize, usize)) -> String {
    if n == 0 {
        "no settings".into()
    } else {
        format!("{k} of {n} ({:.1}%)", 100.0 * k as f64 / n as f64)
    }
}

fn signed(x: f64) -> String {
    if x.is_finite() {
        format!("{x:+.4}")
    } else {
        "n/a".into()
    }
}

fn p_or_na(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".into(), fmt_p_value)
}

/// The lambda21 values every curve has, rising.
fn common_lambdas(curves: &[Curve]) -> Vec<f32> {
    let Some(first) = curves.first() else {
        return Vec::new();
    };
    first
        .points
        .iter()
        .map(|p| p.0)
        .filter(|l| curves.iter().all(|c| c.points.iter().any(|p| p.0 == *l)))
        .collect()
}

fn at(curve: &Curve, lambda21: f32) -> (f64, f64) {
    curve
        .points
        .iter()
        .find(|p| p.0 == lambda21)
        .map_or((f64::NAN, f64::NAN), |p| (p.1, p.2))
}

/// The findings of Table 2 and Figure 1 (Section 4.2's first paragraph).
pub fn table2(curves: &[Curve], sig: &Significance) -> Vec<Finding> {
    let mut out = Vec::new();
    let per_ds = |f: &dyn Fn(&Curve) -> String| curves.iter().map(f).collect::<Vec<_>>().join("; ");

    let (wins, compared) = curves
        .iter()
        .fold((0, 0), |a, c| (a.0 + c.wins, a.1 + c.compared));
    if compared > 0 {
        out.push(Finding {
            id: "4.2-auc-most",
            ours: format!(
                "{wins} of {compared} ({})",
                per_ds(&|c| format!("{} {} of {}", c.dataset, c.wins, c.compared))
            ),
            verdict: Verdict::of_most(wins, compared),
        });
        let ids = [
            ("4.2-sig90-all", "4.2-sig90-sparse"),
            ("4.2-sig95-all", "4.2-sig95-sparse"),
        ];
        for (i, (all_id, sparse_id)) in ids.into_iter().enumerate() {
            let (all, sparse) = sig.at(i);
            let alpha = ALPHAS[i].0;
            out.push(Finding {
                id: all_id,
                ours: format!("{} (p < {alpha})", share(all)),
                verdict: Verdict::of_most(all.0, all.1),
            });
            out.push(Finding {
                id: sparse_id,
                ours: format!("{} (p < {alpha}, rate < {SPARSE_RATE})", share(sparse)),
                verdict: Verdict::of_most(sparse.0, sparse.1),
            });
        }
        let (all, sparse) = sig.at(0);
        let rate = |(k, n): (usize, usize)| k as f64 / n as f64;
        out.push(Finding {
            id: "4.2-extreme",
            ours: format!("{} below 5% vs {} overall", share(sparse), share(all)),
            verdict: if sparse.1 == 0 {
                Verdict::CannotTest
            } else if rate(sparse) > rate(all) {
                Verdict::Holds
            } else {
                Verdict::DoesNotHold
            },
        });
    }

    // The same lambda21 on every dataset: the one nearest 1e-4 (the
    // paper's example) for sparsity, the common range for AUC.
    let common = common_lambdas(curves);
    if curves.len() < 2 {
        for id in ["4.2-rate-differs", "4.2-auc-differs"] {
            out.push(Finding {
                id,
                ours: format!(
                    "Table 2 runs of one dataset only ({})",
                    per_ds(&|c| c.dataset.clone())
                ),
                verdict: Verdict::CannotTest,
            });
        }
    } else {
        let nearest = common.iter().min_by(|a, b| {
            (a.ln() - 1e-4f32.ln())
                .abs()
                .total_cmp(&(b.ln() - 1e-4f32.ln()).abs())
        });
        if nearest.is_none() || common.len() < 2 {
            let missing = if nearest.is_none() {
                "4.2-rate-differs"
            } else {
                ""
            };
            for id in [missing, "4.2-auc-differs"]
                .into_iter()
                .filter(|i| !i.is_empty())
            {
                out.push(Finding {
                    id,
                    ours: format!("{} λ21 common to every dataset's grid", common.len()),
                    verdict: Verdict::CannotTest,
                });
            }
        }
        if let Some(&l) = nearest {
            let rates: Vec<f64> = curves.iter().map(|c| at(c, l).0).collect();
            let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let ratio = hi / lo;
            out.push(Finding {
                id: "4.2-rate-differs",
                ours: format!(
                    "λ21 = {l:e}: {}, max/min {ratio:.1}×",
                    per_ds(&|c| format!("{} {:.4}", c.dataset, at(c, l).0))
                ),
                verdict: if ratio >= 2.0 {
                    Verdict::Holds
                } else {
                    Verdict::DoesNotHold
                },
            });
        }
        if let (Some(&lo), Some(&hi)) = (common.first(), common.last()) {
            if lo < hi {
                let deltas: Vec<f64> = curves.iter().map(|c| at(c, hi).1 - at(c, lo).1).collect();
                let mags: Vec<f64> = deltas.iter().map(|d| d.abs()).collect();
                let min = mags.iter().copied().fold(f64::INFINITY, f64::min);
                let max = mags.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let signs_differ =
                    deltas.iter().any(|d| *d > 0.0) && deltas.iter().any(|d| *d < 0.0);
                out.push(Finding {
                    id: "4.2-auc-differs",
                    ours: format!(
                        "AUC change from λ21 = {lo:e} to {hi:e}: {}",
                        curves
                            .iter()
                            .zip(&deltas)
                            .map(|(c, d)| format!("{} {}", c.dataset, signed(*d)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    verdict: if deltas.iter().any(|d| !d.is_finite()) {
                        Verdict::CannotTest
                    } else if signs_differ || max >= 2.0 * min {
                        Verdict::Holds
                    } else {
                        Verdict::DoesNotHold
                    },
                });
            }
        }
    }

    let falls: Vec<bool> = curves
        .iter()
        .map(|c| c.points.windows(2).all(|w| w[1].1 <= w[0].1 + 1e-12))
        .collect();
    out.push(Finding {
        id: "4.2-rate-falls",
        ours: curves
            .iter()
            .zip(&falls)
            .map(|(c, f)| {
                format!(
                    "{} {} ({} λ21, {})",
                    c.dataset,
                    c.points
                        .iter()
                        .map(|p| format!("{:.4}", p.1))
                        .collect::<Vec<_>>()
                        .join(" > "),
                    c.points.len(),
                    if *f {
                        "falls at every step"
                    } else {
                        "NOT monotone"
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        verdict: Verdict::of_cases(&falls),
    });
    let traded: Vec<(String, f64, f64)> = curves
        .iter()
        .filter(|c| c.points.len() >= 2)
        .map(|c| {
            let (first, last) = (c.points[0], c.points[c.points.len() - 1]);
            (c.dataset.clone(), first.2, last.2)
        })
        .collect();
    out.push(Finding {
        id: "4.2-tradeoff",
        ours: traded
            .iter()
            .map(|(ds, a, b)| format!("{ds} {a:.4} -> {b:.4}"))
            .collect::<Vec<_>>()
            .join("; "),
        verdict: Verdict::of_cases(&traded.iter().map(|(_, a, b)| b < a).collect::<Vec<_>>()),
    });
    out
}

/// One Table 3 row: a plain optimizer and its Group version, per dataset.
pub struct Pair {
    pub dataset: String,
    pub plain_auc: Sample,
    pub group_auc: Sample,
    pub plain_rate: Sample,
    pub group_rate: Sample,
}

/// Table 3's two findings for one optimizer pair: the AUC is not
/// significantly worse (p >= the paper's 0.10, or a higher mean), and the
/// feature rate is extreme (<= [`EXTREME_RATE`]) and significantly lower.
pub fn table3(auc_id: &'static str, rate_id: &'static str, pairs: &[Pair]) -> Vec<Finding> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let alpha = ALPHAS[0].0;
    let (mut auc_ok, mut rate_ok) = (Vec::new(), Vec::new());
    let (mut auc_txt, mut rate_txt) = (Vec::new(), Vec::new());
    for p in pairs {
        let diff = p.group_auc.mean() - p.plain_auc.mean();
        let pa = p.group_auc.welch_p(&p.plain_auc);
        auc_ok.push(diff >= 0.0 || pa.is_some_and(|p| p >= alpha));
        auc_txt.push(format!(
            "{} {} (p {})",
            p.dataset,
            signed(diff),
            p_or_na(pa)
        ));
        let (g, r) = (p.group_rate.mean(), p.plain_rate.mean());
        let pr = p.group_rate.welch_p(&p.plain_rate);
        rate_ok.push(g <= EXTREME_RATE && g < r && pr.is_some_and(|p| p < alpha));
        rate_txt.push(format!(
            "{} {g:.4} vs {r:.4} (p {})",
            p.dataset,
            p_or_na(pr)
        ));
    }
    vec![
        Finding {
            id: auc_id,
            ours: format!("Group - plain: {}", auc_txt.join(", ")),
            verdict: Verdict::of_cases(&auc_ok),
        },
        Finding {
            id: rate_id,
            ours: rate_txt.join(", "),
            verdict: Verdict::of_cases(&rate_ok),
        },
    ]
}

/// Table 4: the Group optimizer's mean feature rate per embedding dimension,
/// rising dimension.
pub fn table4(rates: &[(usize, f64)]) -> Finding {
    let steps = rates.len().saturating_sub(1);
    let falling = rates
        .windows(2)
        .filter(|w| w[1].1 <= w[0].1 + 1e-12)
        .count();
    Finding {
        id: "4.4-dim",
        ours: rates
            .iter()
            .map(|(d, r)| format!("d={d}: {r:.4}"))
            .collect::<Vec<_>>()
            .join(", "),
        verdict: Verdict::of_all(falling, steps),
    }
}

/// Figure 2: (variant, points where plain is at or above it, points
/// compared) for each weighted variant.
pub fn figure2(counts: &[(&str, usize, usize)]) -> Finding {
    let (k, n) = counts.iter().fold((0, 0), |a, c| (a.0 + c.1, a.1 + c.2));
    Finding {
        id: "4.4-norm",
        ours: counts
            .iter()
            .map(|(label, k, n)| {
                format!("plain group norm >= {label} at equal feature rate in {k} of {n} comparable points")
            })
            .collect::<Vec<_>>()
            .join("; "),
        verdict: Verdict::of_all(k, n),
    }
}

/// Figure 3: strengths where lambda21 alone leaves fewer features than
/// lambda1 alone, of the strengths both curves have.
pub fn figure3(more: usize, compared: usize) -> Finding {
    Finding {
        id: "4.4-l21-sparser",
        ours: format!(
            "l21 zeroes more features than l1 at equal strength in {more} of {compared} strengths"
        ),
        verdict: Verdict::of_all(more, compared),
    }
}

/// One dataset of the Table 6 search: the chosen (lambda1, lambda21,
/// lambda2), None when nothing was chosen, and every lambda2 searched.
pub struct Search6 {
    pub dataset: String,
    pub chosen: Option<[f64; 3]>,
    pub lambda2_searched: Vec<f64>,
}

/// Table 6's findings: the best lambda21 differs between datasets, lambda2
/// = 1e-5 is chosen, lambda1 = 0 is chosen.
pub fn table6(searches: &[Search6]) -> Vec<Finding> {
    let chosen: Vec<(&str, [f64; 3])> = searches
        .iter()
        .filter_map(|s| s.chosen.map(|c| (s.dataset.as_str(), c)))
        .collect();
    let list = |i: usize| {
        chosen
            .iter()
            .map(|(ds, c)| format!("{ds} {}", fmt_lambda(c[i])))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    let mut l21: Vec<f64> = chosen.iter().map(|c| c.1[1]).collect();
    l21.sort_by(f64::total_cmp);
    l21.dedup();
    out.push(Finding {
        id: "4.2-best-l21",
        ours: if chosen.is_empty() {
            "nothing chosen".into()
        } else {
            format!("λ21 chosen: {}", list(1))
        },
        verdict: match (chosen.len(), l21.len()) {
            (0 | 1, _) => Verdict::CannotTest,
            (_, 1) => Verdict::DoesNotHold,
            _ => Verdict::Holds,
        },
    });
    let varied = searches.iter().any(|s| {
        let mut v = s.lambda2_searched.clone();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v.len() > 1
    });
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1e-30);
    out.push(if varied {
        Finding {
            id: "4.2-lambda2",
            ours: format!("λ2 chosen: {}", list(2)),
            verdict: Verdict::of_cases(
                &chosen
                    .iter()
                    .map(|c| close(c.1[2], 1e-5))
                    .collect::<Vec<_>>(),
            ),
        }
    } else {
        let mut held: Vec<String> = searches
            .iter()
            .flat_map(|s| s.lambda2_searched.iter().map(|l| fmt_lambda(*l)))
            .collect();
        held.sort();
        held.dedup();
        Finding {
            id: "4.2-lambda2",
            ours: format!("the search holds λ2 at {}", held.join(", ")),
            verdict: Verdict::CannotTest,
        }
    });
    out.push(Finding {
        id: "4.4-l1-zero",
        ours: format!("λ1 chosen: {}", list(0)),
        verdict: Verdict::of_cases(&chosen.iter().map(|c| c.1[0] == 0.0).collect::<Vec<_>>()),
    });
    out
}

/// A lambda as configs write it (`1e-4`, `0`), from the f32 it was read as.
fn fmt_lambda(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{:e}", x as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(v: &[f64]) -> Sample {
        Sample::of(v.iter().map(|x| Some(*x)))
    }

    #[test]
    fn significance_counts_at_both_levels() {
        let mut s = Significance::default();
        // p ~ 0.07 (between the levels), sparse.
        s.add(
            &sample(&[0.72, 0.74, 0.73]),
            &sample(&[0.70, 0.71, 0.72]),
            0.03,
        );
        // p < 0.01, not sparse.
        s.add(
            &sample(&[0.76, 0.77, 0.78]),
            &sample(&[0.70, 0.71, 0.72]),
            0.2,
        );
        // Significant but worse: never counts.
        s.add(
            &sample(&[0.70, 0.71, 0.72]),
            &sample(&[0.76, 0.77, 0.78]),
            0.01,
        );
        assert_eq!(s.at(0), ((2, 3), (1, 2)));
        assert_eq!(s.at(1), ((1, 3), (0, 2)));
    }
}
