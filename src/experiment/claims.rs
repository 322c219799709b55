//! `claims.md`: every qualitative claim of the paper's Sections 4.2-4.4,
//! each with the paper's figure (quoted), ours (computed by `report.rs`
//! from the runs), a verdict and whether the quick setting can test it.
//!
//! The claims are a fixed catalogue ([`CLAIMS`]), so each one appears in
//! `claims.md` whatever runs exist: a claim whose runs are missing says so
//! in its verdict instead of vanishing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::experiment::group::TEST;
use crate::experiment::table::{Table, TableError};

/// What the runs say about one claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    /// True on some datasets, settings or points and not on others.
    Mixed,
    /// The runs cannot decide it (no runs of its sweep, a grid that does
    /// not vary the key, or not a measurement at all).
    CannotTest,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Mixed => "mixed",
            Verdict::CannotTest => "cannot be tested on these runs",
        }
    }

    /// A claim made for every case (dataset, strength, point): holds when
    /// all `k` of `n` cases agree, does not hold when none does.
    pub fn of_all(k: usize, n: usize) -> Self {
        match (k, n) {
            (_, 0) => Verdict::CannotTest,
            (k, n) if k == n => Verdict::Holds,
            (0, _) => Verdict::DoesNotHold,
            _ => Verdict::Mixed,
        }
    }

    /// A claim about "most" cases (or a share the paper calls most): holds
    /// when at least half of them agree, mixed when some do, does not hold
    /// when none does.
    pub fn of_most(k: usize, n: usize) -> Self {
        match (k, n) {
            (_, 0) => Verdict::CannotTest,
            (0, _) => Verdict::DoesNotHold,
            (k, n) if 2 * k >= n => Verdict::Holds,
            _ => Verdict::Mixed,
        }
    }

    /// [`Verdict::of_all`] over one yes/no per case.
    pub fn of_cases(cases: &[bool]) -> Self {
        Self::of_all(cases.iter().filter(|c| **c).count(), cases.len())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Our figure for one claim and its verdict, keyed by the claim's id.
#[derive(Clone, Debug)]
pub struct Finding {
    pub id: &'static str,
    pub ours: String,
    pub verdict: Verdict,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.id, self.verdict, self.ours)
    }
}

/// One claim of the paper: where it is, what it says, the paper's own
/// figure, and whether the quick setting (`configs/quick/`, synthetic data)
/// can test it.
pub struct Claim {
    pub id: &'static str,
    pub section: &'static str,
    pub claim: &'static str,
    pub paper: &'static str,
    /// The sweep folders the claim is computed from (named when missing).
    pub runs: &'static str,
    pub quick: &'static str,
}

/// The significance levels of Section 4.2's counts: the paper's 90%
/// confidence and SPEC section 6's stated 0.05.
pub const ALPHAS: [(f64, &str); 2] = [(0.10, "the paper's 90% confidence"), (0.05, "SPEC's level")];

/// Section 4.2's "sparsity level less than 5%": the feature rate.
pub const SPARSE_RATE: f64 = 0.05;

/// The least sparse feature rate the paper calls "extremely high sparsity"
/// (Group Adam on OPNN, Table 3).
pub const EXTREME_RATE: f64 = 0.130;

/// Every qualitative claim of Sections 4.2-4.4, in the paper's order.
pub const CLAIMS: [Claim; 22] = [
    Claim {
        id: "4.2-auc-most",
        section: "4.2",
        claim: "Group Adam's mean AUC is above Adam + magnitude pruning's at the same sparsity for most Table 2 settings",
        paper: "14 of 15 settings, one tie (DCN, λ21 = 1e-3; Table 2)",
        runs: "<dataset>_table2, <dataset>_adam_prune",
        quick: "yes (directions only: synthetic data, fewer seeds than the paper's 5)",
    },
    Claim {
        id: "4.2-sig90-all",
        section: "4.2",
        claim: "Group Adam significantly better than Adam + pruning (Welch p < 0.10, the paper's 90% confidence) in 60% of the Table 2 settings",
        paper: "60% (9 of 15; Section 4.2, from Table 2's p-values)",
        runs: "<dataset>_table2, <dataset>_adam_prune",
        quick: "partly: fewer seeds give the t-test less power; iPinYou's quick test split has a few hundred clicks, so its differences stay within noise",
    },
    Claim {
        id: "4.2-sig90-sparse",
        section: "4.2",
        claim: "the same, among the settings with a feature rate below 5%: 87.5%",
        paper: "87.5% (7 of 8; Section 4.2)",
        runs: "<dataset>_table2, <dataset>_adam_prune",
        quick: "partly: as above; only the settings whose Group Adam rate is below 5% count",
    },
    Claim {
        id: "4.2-sig95-all",
        section: "4.2",
        claim: "the count of 4.2-sig90-all at SPEC's stated level (Welch p < 0.05)",
        paper: "40% (6 of 15; counted from Table 2's p-values)",
        runs: "<dataset>_table2, <dataset>_adam_prune",
        quick: "partly: as 4.2-sig90-all",
    },
    Claim {
        id: "4.2-sig95-sparse",
        section: "4.2",
        claim: "the count of 4.2-sig90-sparse at SPEC's stated level (Welch p < 0.05)",
        paper: "75% (6 of 8; counted from Table 2's p-values)",
        runs: "<dataset>_table2, <dataset>_adam_prune",
        quick: "partly: as 4.2-sig90-all",
    },
    Claim {
        id: "4.2-extreme",
        section: "4.2",
        claim: "Group Adam's advantage is strongest under extreme sparsity: a larger share is significant below a 5% feature rate than overall (p < 0.10)",
        paper: "87.5% below 5% vs 60% overall (Section 4.2)",
        runs: "<dataset>_table2, <dataset>_adam_prune",
        quick: "yes: the long-tail regime makes pruning lose accuracy at high sparsity",
    },
    Claim {
        id: "4.2-rate-differs",
        section: "4.2",
        claim: "the same λ21 gives different sparsity on different datasets (Figure 1)",
        paper: "λ21 = 1e-4: feature rate 0.974 (MLP), 0.078 (OPNN), 0.518 (DCN), max/min 12.5× (Table 2)",
        runs: "<dataset>_table2",
        quick: "partly: the generator's cardinalities and signal differ by field and format, so the datasets do differ, but which one sparsifies fastest is a property of the synthetic tables, not of the real data",
    },
    Claim {
        id: "4.2-auc-differs",
        section: "4.2",
        claim: "the same λ21 has different effects on accuracy on different datasets (Figure 1)",
        paper: "Group Adam's AUC change from λ21 = 1e-4 to 1e-2: MLP +0.0005, OPNN -0.0102, DCN -0.0023 (Table 2)",
        runs: "<dataset>_table2",
        quick: "partly: as 4.2-rate-differs; AUC levels are not comparable with the paper's real-data AUCs",
    },
    Claim {
        id: "4.2-best-l21",
        section: "4.2",
        claim: "the best λ21 depends on the dataset (and the application)",
        paper: "λ21 searched by AUC: 1e-2 (MLP), 1e-5 (OPNN), 5e-4 (DCN) (Table 6)",
        runs: "<dataset>_table6_search",
        quick: "partly: the dataset dependence, chosen on a validation split of synthetic data; the dependence on the application (serving memory) is not measurable",
    },
    Claim {
        id: "4.2-rate-falls",
        section: "4.2",
        claim: "increasing λ21 gives more sparsity: the feature rate falls as λ21 rises",
        paper: "falls on all three datasets, e.g. MLP 0.974 > 0.864 > 0.701 > 0.132 > 0.038 (Table 2)",
        runs: "<dataset>_table2",
        quick: "yes",
    },
    Claim {
        id: "4.2-tradeoff",
        section: "4.2",
        claim: "one trades accuracy for that sparsity: Group Adam's AUC at the largest λ21 is below its AUC at the smallest",
        paper: "on OPNN (0.7595 -> 0.7493) and DCN (0.8022 -> 0.7999), not on MLP (0.7461 -> 0.7466) (Table 2)",
        runs: "<dataset>_table2",
        quick: "yes: the generator's long-tail regime spreads signal over rare values (with nearly all features noise, AUC would rise with λ21 instead)",
    },
    Claim {
        id: "4.2-lambda2",
        section: "4.2",
        claim: "in general, a good default λ2 is 1e-5",
        paper: "λ2 = 1e-5 on all three datasets (Table 6)",
        runs: "<dataset>_table6_search",
        quick: "only if the Table 6 search varies λ2 (the quick one holds it at 1e-5)",
    },
    Claim {
        id: "4.2-t3-adam-auc",
        section: "4.2",
        claim: "Group Adam (searched λ) gives significantly better or highly competitive AUC than Adam without pruning: not significantly worse (p >= 0.10 or higher mean)",
        paper: "Group - Adam: MLP +0.0028 (p 1.10e-3), OPNN +0.0029 (p 0.289), DCN -0.0002 (p 0.422) (Table 3)",
        runs: "<dataset>_table3",
        quick: "yes (directions only)",
    },
    Claim {
        id: "4.2-t3-adam-sparse",
        section: "4.2",
        claim: "while producing extremely high sparsity: a feature rate at most 0.130 (the least sparse the paper calls so), significantly below Adam's (rate p < 0.10)",
        paper: "0.018 (MLP), 0.130 (OPNN), 0.030 (DCN) vs Adam's 1.000 / 0.827 / 1.000; rate p <= 6.20e-11 (Table 3)",
        runs: "<dataset>_table3",
        quick: "partly: the quick search chooses λ on validation AUC alone and picks the weakest regularization that keeps AUC, so its rates need not be extreme",
    },
    Claim {
        id: "4.3-t3-adagrad-auc",
        section: "4.3",
        claim: "Group Adagrad (searched λ) gives significantly better or highly competitive AUC than Adagrad without pruning: not significantly worse (p >= 0.10 or higher mean)",
        paper: "Group - Adagrad: MLP +0.0016 (p 0.106), OPNN +0.0039 (p 0.026), DCN +0.0003 (p 0.198) (Table 3)",
        runs: "<dataset>_table3",
        quick: "yes (directions only; the quick Adagrad family starts its accumulator at 1e-8, configs/README.md item 12)",
    },
    Claim {
        id: "4.3-t3-adagrad-sparse",
        section: "4.3",
        claim: "and effectively reduces the number of features: a feature rate at most 0.130, significantly below Adagrad's (rate p < 0.10)",
        paper: "0.063 (MLP), 0.016 (OPNN), 0.040 (DCN) vs Adagrad's 1.000 / 0.827 / 1.000; rate p <= 1.51e-9 (Table 3)",
        runs: "<dataset>_table3",
        quick: "partly: as 4.2-t3-adam-sparse, and the Table 7 search may pick a λ21 that removes nothing",
    },
    Claim {
        id: "4.4-norm",
        section: "4.4",
        claim: "the algorithm using s_t (plain group norm) outperforms the one using s~_t (weighted) at the same sparsity (Figure 2; also Section 2.1)",
        paper: "Figure 2, no numbers printed (10 λ21 per norm, Table 9)",
        runs: "criteo_fig2",
        quick: "yes (DCN on synthetic Criteo; the paper's s~_t is taken both as the exact root form, `weighted`, and as Eq. 10 prints it, `paper_eq10`)",
    },
    Claim {
        id: "4.4-l1-l21-equal",
        section: "4.4",
        claim: "if z_t has equal elements, λ1 and λ21 have the same regularization effect (lines 8 and 10 of Algorithm 1)",
        paper: "an identity of Algorithm 1, no experiment",
        runs: "",
        quick: "no: a property of the closed-form update, not a result of training runs",
    },
    Claim {
        id: "4.4-l21-sparser",
        section: "4.4",
        claim: "ℓ21 is much more effective than ℓ1 in producing sparsity: a lower feature rate at the same λ (Figure 3)",
        paper: "Figure 3, no numbers printed",
        runs: "criteo_fig3",
        quick: "yes",
    },
    Claim {
        id: "4.4-l1-zero",
        section: "4.4",
        claim: "for a sparse model, tuning λ21 with λ1 = 0 is usually a simple but effective choice: the Table 6 search (by AUC) picks λ1 = 0",
        paper: "a recommendation; the paper's own Table 6 picks λ1 = 5e-3, 8e-5, 4e-4 (none 0)",
        runs: "<dataset>_table6_search",
        quick: "partly: the Table 6 search checks it for AUC, on synthetic data",
    },
    Claim {
        id: "4.4-dim",
        section: "4.4",
        claim: "sparsity increases with the embedding dimension: the feature rate falls as d rises (Table 4)",
        paper: "0.074 (d = 4), 0.030 (8), 0.012 (16), 0.008 (32) (Table 4)",
        runs: "criteo_table4",
        quick: "yes",
    },
    Claim {
        id: "4.4-dim-why",
        section: "4.4",
        claim: "the reason: √d is the multiplier of the ℓ21 penalty",
        paper: "an explanation, no experiment",
        runs: "",
        quick: "no: it would take runs with λ21 scaled by 1/√d, which no sweep makes",
    },
];

/// The Markdown of `claims.md`: one table per section, every claim of
/// [`CLAIMS`] with our finding for it or why there is none.
pub fn claims_markdown(root: &Path, findings: &[Finding]) -> Result<String, TableError> {
    let by_id: BTreeMap<&str, &Finding> = findings.iter().map(|f| (f.id, f)).collect();
    let mut md = String::from("# Qualitative claims of the paper, checked on these runs\n\n");
    md.push_str(&format!(
        "Runs read from `{}`; p-values: {}. \"Quick?\" says whether the quick setting \
         (`configs/quick/`: synthetic data in the three formats, fewer seeds, shorter streams) \
         can test the claim: its AUC levels are not comparable with the paper's real-data AUCs, \
         only directions, counts and sparsity are. Verdict rules: docs/metrics.md.\n",
        root.display(),
        TEST.describe()
    ));
    for (section, title) in [
        ("4.2", "Section 4.2: Adam vs Group Adam"),
        ("4.3", "Section 4.3: Adagrad vs Group Adagrad"),
        ("4.4", "Section 4.4: discussion (DCN on Criteo, Group Adam)"),
    ] {
        let mut t = Table::new(title, ["id", "claim", "paper", "ours", "verdict", "quick?"]);
        for c in CLAIMS.iter().filter(|c| c.section == section) {
            let (ours, verdict) = match by_id.get(c.id) {
                Some(f) => (f.ours.clone(), f.verdict.to_string()),
                None if c.runs.is_empty() => (
                    "not a measurement".to_string(),
                    Verdict::CannotTest.to_string(),
                ),
                None => (
                    "—".to_string(),
                    format!("{} (no runs in {})", Verdict::CannotTest, c.runs),
                ),
            };
            t.push_row([
                c.id,
                c.claim,
                c.paper,
                ours.as_str(),
                verdict.as_str(),
                c.quick,
            ])?;
        }
        if section == "4.2" {
            t.push_note(
                "The paper's counts read Table 2's MLP columns as Group Adam | Adam swapped in the header \
                 (its bold marks the second column, and 60% needs MLP's two significant settings).",
            );
        }
        md.push('\n');
        md.push_str(&t.to_markdown());
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_ids_are_unique() {
        let mut ids: Vec<&str> = CLAIMS.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CLAIMS.len());
    }

    #[test]
    fn verdict_rules() {
        assert_eq!(Verdict::of_all(3, 3), Verdict::Holds);
        assert_eq!(Verdict::of_all(1, 3), Verdict::Mixed);
        assert_eq!(Verdict::of_all(0, 3), Verdict::DoesNotHold);
        assert_eq!(Verdict::of_all(0, 0), Verdict::CannotTest);
        assert_eq!(Verdict::of_most(9, 15), Verdict::Holds);
        assert_eq!(Verdict::of_most(1, 2), Verdict::Holds);
        assert_eq!(Verdict::of_most(4, 21), Verdict::Mixed);
        assert_eq!(Verdict::of_most(0, 5), Verdict::DoesNotHold);
    }
}
