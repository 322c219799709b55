//! t-tests against scipy.stats.ttest_ind (two-sided), to 1e-10 relative.
//!
//! Reference values come from this script (scipy 1.17.1, numpy 2.4.6,
//! Python 3.11.7); each printed line is `case equal_var t df p`:
//!
//! ```python
//! from scipy import stats
//! cases = {
//!  "auc5": ([0.7812, 0.7809, 0.7815, 0.7811, 0.7808], [0.7801, 0.7803, 0.7799, 0.7806, 0.7800]),
//!  "unequal": ([1.2, 3.4, 2.2, 5.9, 0.3, 4.4, 2.8], [2.1, 2.3, 1.9, 2.0]),
//!  "tiny_p": ([10.0, 10.1, 9.9, 10.05, 9.95, 10.02], [5.0, 5.2, 4.9, 5.1, 4.95, 5.05]),
//!  "one_const": ([0.5, 0.5, 0.5], [0.4, 0.62, 0.55, 0.45]),
//!  "huge_t": ([100.0, 100.001, 99.999, 100.0005], [90.0, 90.001, 89.999, 90.0002, 89.9995]),
//!  "n2": ([1.0, 2.0], [1.5, 3.5]),
//! }
//! for k, (a, b) in cases.items():
//!     for ev in (True, False):
//!         r = stats.ttest_ind(a, b, equal_var=ev)
//!         print(k, ev, repr(float(r.statistic)), repr(float(r.df)), repr(float(r.pvalue)))
//! ```
//! Output:
//! ```text
//! auc5 True 5.276561879023685 8.0 0.0007493176296410927
//! auc5 False 5.276561879023685 7.998615198199757 0.0007497398300291947
//! unequal True 0.8323025541209608 9.0 0.4267705685270347
//! unequal False 1.1213147022890668 6.1684889944034875 0.3038992557059158
//! tiny_p True 94.11108550188251 10.0 4.492070772883991e-16
//! tiny_p False 94.11108550188251 8.653745776214944 2.4827541927899073e-14
//! one_const True -0.0855190365183155 5.0 0.9351676059405354
//! one_const False -0.10118748860323282 3.0 0.9257852790040796
//! huge_t True 18677.025569966536 7.0 3.3313570381268747e-28
//! huge_t False 18384.07009890576 6.121228838196491 6.243762213361079e-25
//! n2 True -0.8944271909999159 2.0 0.46547751617515126
//! n2 False -0.8944271909999159 1.4705882352941178 0.49313270812084714
//! ```

use ctr_run::stats::{student_t_test, t_test, welch_t_test, TTestKind};

const REL_TOL: f64 = 1e-10;

struct Case {
    name: &'static str,
    a: &'static [f64],
    b: &'static [f64],
    /// (t, df, p) for equal_var=True, then equal_var=False.
    student: (f64, f64, f64),
    welch: (f64, f64, f64),
}

const CASES: &[Case] = &[
    Case {
        name: "auc5",
        a: &[0.7812, 0.7809, 0.7815, 0.7811, 0.7808],
        b: &[0.7801, 0.7803, 0.7799, 0.7806, 0.7800],
        student: (5.276561879023685, 8.0, 0.0007493176296410927),
        welch: (5.276561879023685, 7.998615198199757, 0.0007497398300291947),
    },
    Case {
        name: "unequal",
        a: &[1.2, 3.4, 2.2, 5.9, 0.3, 4.4, 2.8],
        b: &[2.1, 2.3, 1.9, 2.0],
        student: (0.8323025541209608, 9.0, 0.4267705685270347),
        welch: (1.1213147022890668, 6.1684889944034875, 0.3038992557059158),
    },
    Case {
        name: "tiny_p",
        a: &[10.0, 10.1, 9.9, 10.05, 9.95, 10.02],
        b: &[5.0, 5.2, 4.9, 5.1, 4.95, 5.05],
        student: (94.11108550188251, 10.0, 4.492070772883991e-16),
        welch: (94.11108550188251, 8.653745776214944, 2.4827541927899073e-14),
    },
    Case {
        name: "one_const",
        a: &[0.5, 0.5, 0.5],
        b: &[0.4, 0.62, 0.55, 0.45],
        student: (-0.0855190365183155, 5.0, 0.9351676059405354),
        welch: (-0.10118748860323282, 3.0, 0.9257852790040796),
    },
    Case {
        name: "huge_t",
        a: &[100.0, 100.001, 99.999, 100.0005],
        b: &[90.0, 90.001, 89.999, 90.0002, 89.9995],
        student: (18677.025569966536, 7.0, 3.3313570381268747e-28),
        welch: (18384.07009890576, 6.121228838196491, 6.243762213361079e-25),
    },
    Case {
        name: "n2",
        a: &[1.0, 2.0],
        b: &[1.5, 3.5],
        student: (-0.8944271909999159, 2.0, 0.46547751617515126),
        welch: (-0.8944271909999159, 1.4705882352941178, 0.49313270812084714),
    },
];

fn assert_rel(what: &str, got: f64, want: f64) {
    let rel = ((got - want) / want).abs();
    assert!(
        got == want || rel <= REL_TOL,
        "{what}: got {got:e}, scipy {want:e}, relative error {rel:e}"
    );
}

#[test]
fn student_matches_scipy_equal_var_true() {
    for c in CASES {
        let r = student_t_test(c.a, c.b).unwrap();
        assert_eq!(r.kind, TTestKind::Student);
        assert_rel(&format!("{} t", c.name), r.t, c.student.0);
        assert_rel(&format!("{} df", c.name), r.df, c.student.1);
        assert_rel(&format!("{} p", c.name), r.p, c.student.2);
    }
}

#[test]
fn welch_matches_scipy_equal_var_false() {
    for c in CASES {
        let r = welch_t_test(c.a, c.b).unwrap();
        assert_eq!(r.kind, TTestKind::Welch);
        assert_rel(&format!("{} t", c.name), r.t, c.welch.0);
        assert_rel(&format!("{} df", c.name), r.df, c.welch.1);
        assert_rel(&format!("{} p", c.name), r.p, c.welch.2);
    }
}

#[test]
fn swapping_groups_negates_t_and_keeps_p() {
    for c in CASES {
        for kind in [TTestKind::Student, TTestKind::Welch] {
            let ab = t_test(c.a, c.b, kind).unwrap();
            let ba = t_test(c.b, c.a, kind).unwrap();
            assert_rel(&format!("{} t", c.name), -ba.t, ab.t);
            assert_rel(&format!("{} p", c.name), ba.p, ab.p);
        }
    }
}
