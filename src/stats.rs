//! Summary statistics and two-sample t-tests for comparing repeated runs
//! (docs/metrics.md: each setting runs 5 times; tables give the mean and the p-value of
//! a two-sided two-sample t-test, naming which one).
//!
//! Both tests follow `scipy.stats.ttest_ind` (two-sided): Student's test
//! (`equal_var=True`) pools the variances with `na + nb - 2` degrees of
//! freedom; Welch's (`equal_var=False`) uses the Welch-Satterthwaite degrees
//! of freedom. The p-value is `2 * F(-|t|)` with `F` the CDF of Student's t
//! (statrs), computed on the lower tail so small p-values keep their
//! relative precision instead of cancelling in `1 - F(|t|)`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("group {group} has {n} sample(s); at least {needed} are needed")]
    TooFewSamples {
        group: &'static str,
        n: usize,
        needed: usize,
    },
    #[error("group {group} holds a non-finite value at index {index}")]
    NonFinite { group: &'static str, index: usize },
    #[error("t distribution: {0}")]
    Distribution(String),
}

/// Which two-sample t-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TTestKind {
    /// Student's t-test: equal variances assumed, pooled.
    Student,
    /// Welch's t-test: unequal variances, Welch-Satterthwaite df.
    Welch,
}

impl TTestKind {
    /// The name to print under a table, e.g. "two-sided Welch's t-test".
    pub fn describe(self) -> &'static str {
        match self {
            TTestKind::Student => "two-sided two-sample Student's t-test (pooled variance)",
            TTestKind::Welch => "two-sided two-sample Welch's t-test (unequal variances)",
        }
    }
}

/// Result of a two-sided two-sample t-test of `mean(a) == mean(b)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TTest {
    pub kind: TTestKind,
    /// `(mean(a) - mean(b)) / standard error`; ±inf or 0 in the
    /// zero-variance case (see [`t_test`]).
    pub t: f64,
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    pub mean_a: f64,
    pub mean_b: f64,
}

/// Mean, sample standard deviation (n - 1) and standard error of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (Bessel-corrected); `None` when n < 2.
    pub std: Option<f64>,
    /// `std / sqrt(n)`; `None` when n < 2.
    pub std_error: Option<f64>,
}

/// Arithmetic mean; `None` for an empty sample.
///
/// Computed as `x0 + mean(x - x0)`: exact for a constant sample (so a
/// constant group has exactly zero variance, which the t-tests rely on), and
/// less prone to cancellation when values share a large offset (AUCs near 0.8).
pub fn mean(xs: &[f64]) -> Option<f64> {
    let &x0 = xs.first()?;
    let shift: f64 = xs.iter().map(|&x| x - x0).sum();
    Some(x0 + shift / xs.len() as f64)
}

/// Unbiased sample variance (divides by n - 1), two-pass; `None` when n < 2.
pub fn sample_variance(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|&x| (x - m) * (x - m)).sum();
    Some(ss / (xs.len() - 1) as f64)
}

/// Sample standard deviation (n - 1); `None` when n < 2.
pub fn sample_std(xs: &[f64]) -> Option<f64> {
    sample_variance(xs).map(f64::sqrt)
}

/// Standard error of the mean, `sample_std / sqrt(n)`; `None` when n < 2.
pub fn std_error(xs: &[f64]) -> Option<f64> {
    sample_std(xs).map(|s| s / (xs.len() as f64).sqrt())
}

/// All of the above at once; `None` for an empty sample.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    Some(Summary {
        n: xs.len(),
        mean: mean(xs)?,
        std: sample_std(xs),
        std_error: std_error(xs),
    })
}

/// Student's two-sample t-test (pooled variance), two-sided.
pub fn student_t_test(a: &[f64], b: &[f64]) -> Result<TTest, StatsError> {
    t_test(a, b, TTestKind::Student)
}

/// Welch's two-sample t-test (unequal variances), two-sided.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Result<TTest, StatsError> {
    t_test(a, b, TTestKind::Welch)
}

/// Two-sided two-sample t-test of `mean(a) == mean(b)`.
///
/// Each group needs at least 2 finite values (otherwise a typed error; scipy
/// would return NaN).
///
/// Zero variance: when the standard error is exactly zero (both groups
/// constant), the t statistic is undefined (scipy returns NaN or ±inf with a
/// warning). We return `t = 0, p = 1` when the two means are equal (nothing
/// distinguishes the groups) and `t = ±inf, p = 0` when they differ (the
/// difference is certain under any positive noise level going to zero). In
/// that case Welch's df is 0/0, so the Student df `na + nb - 2` is reported.
/// One constant group alone is no special case: the other group's variance
/// makes the standard error positive.
pub fn t_test(a: &[f64], b: &[f64], kind: TTestKind) -> Result<TTest, StatsError> {
    check(a, "a")?;
    check(b, "b")?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    // check() guarantees n >= 2, so these are Some.
    let (mean_a, mean_b) = (mean(a).unwrap_or(0.0), mean(b).unwrap_or(0.0));
    let (va, vb) = (
        sample_variance(a).unwrap_or(0.0),
        sample_variance(b).unwrap_or(0.0),
    );
    let student_df = na + nb - 2.0;
    let (se2, df) = match kind {
        TTestKind::Student => {
            let pooled = ((na - 1.0) * va + (nb - 1.0) * vb) / student_df;
            (pooled * (1.0 / na + 1.0 / nb), student_df)
        }
        TTestKind::Welch => {
            let (qa, qb) = (va / na, vb / nb);
            let se2 = qa + qb;
            let df = if se2 > 0.0 {
                se2 * se2 / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0))
            } else {
                student_df
            };
            (se2, df)
        }
    };
    let diff = mean_a - mean_b;
    let (t, p) = if se2 > 0.0 {
        let t = diff / se2.sqrt();
        (t, two_sided_p(t, df)?)
    } else if diff == 0.0 {
        (0.0, 1.0)
    } else {
        (diff.signum() * f64::INFINITY, 0.0)
    };
    Ok(TTest {
        kind,
        t,
        df,
        p,
        mean_a,
        mean_b,
    })
}

/// `2 * P(T <= -|t|)` for T ~ Student's t with `df` degrees of freedom.
fn two_sided_p(t: f64, df: f64) -> Result<f64, StatsError> {
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|e| StatsError::Distribution(e.to_string()))?;
    Ok((2.0 * dist.cdf(-t.abs())).min(1.0))
}

fn check(xs: &[f64], group: &'static str) -> Result<(), StatsError> {
    if xs.len() < 2 {
        return Err(StatsError::TooFewSamples {
            group,
            n: xs.len(),
            needed: 2,
        });
    }
    if let Some(index) = xs.iter().position(|x| !x.is_finite()) {
        return Err(StatsError::NonFinite { group, index });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_values() {
        // numpy: np.mean([2,4,4,4,5,5,7,9]) = 5.0, np.std(ddof=1) = 2.138089935299395
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s = summarize(&xs).unwrap();
        assert_eq!(s.mean, 5.0);
        assert!((s.std.unwrap() - 2.138089935299395).abs() < 1e-15);
        assert!((s.std_error.unwrap() - 2.138089935299395 / 8f64.sqrt()).abs() < 1e-15);
        assert_eq!(mean(&[]), None);
        assert_eq!(sample_std(&[1.0]), None);
        assert_eq!(summarize(&[3.0]).unwrap().std, None);
        // Constant sample: exact mean, exactly zero variance.
        assert_eq!(mean(&[0.7; 5]), Some(0.7));
        assert_eq!(sample_variance(&[0.7; 5]), Some(0.0));
    }

    #[test]
    fn zero_variance_rules() {
        for kind in [TTestKind::Student, TTestKind::Welch] {
            let same = t_test(&[0.7; 3], &[0.7; 5], kind).unwrap();
            assert_eq!((same.t, same.p, same.df), (0.0, 1.0, 6.0));
            let diff = t_test(&[0.7; 3], &[0.8; 4], kind).unwrap();
            assert_eq!((diff.t, diff.p), (f64::NEG_INFINITY, 0.0));
        }
    }

    #[test]
    fn bad_input_is_typed_error() {
        assert_eq!(
            welch_t_test(&[1.0], &[1.0, 2.0]),
            Err(StatsError::TooFewSamples {
                group: "a",
                n: 1,
                needed: 2
            })
        );
        assert_eq!(
            student_t_test(&[1.0, 2.0], &[1.0, f64::NAN]),
            Err(StatsError::NonFinite {
                group: "b",
                index: 1
            })
        );
    }
}
