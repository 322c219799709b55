//! The ProxGen paper's Lasso study (Section 5, Study 1, Figure 3) on the
//! default synthetic problem of `experiment::lasso` (n = 500, p = 100,
//! 10 true non-zeros with |w| in [1, 2], noise sd 0.1, lambda = 0.1,
//! minibatch 50, alpha = 0.01, 3,000 steps), checked against a
//! coordinate-descent Lasso solution computed in f64.

// Index loops over several parallel arrays read best as index loops.
#![allow(clippy::needless_range_loop)]

use ctr_run::experiment::{lasso_study, LassoConfig, LassoInit, LassoRun, LassoTrace};
use ctr_run::optim::{Optimizer, OptimizerConfig, OptimizerName, Regularizer};
use ctr_run::rng::SplitMix64;

fn study() -> LassoTrace {
    lasso_study(&LassoConfig::default()).expect("valid study config")
}

#[test]
fn lasso_setting_is_in_the_support_recovery_regime() {
    // The exact Lasso solution itself has the true support: recovering it
    // is possible, so a method that misses it is at fault.
    let t = study();
    let k = t.truth.iter().filter(|&&v| v != 0.0).count();
    assert_eq!(k, 10);
    for (j, (&truth, &lasso)) in t.truth.iter().zip(&t.lasso_solution).enumerate() {
        assert_eq!(
            truth != 0.0,
            lasso != 0.0,
            "feature {j}: truth {truth}, lasso {lasso}"
        );
    }
}

#[test]
fn lasso_proxgen_l1_recovers_true_support_from_zero_and_random_init() {
    let t = study();
    for init in [LassoInit::Zero, LassoInit::Random] {
        let run = t.run(OptimizerName::ProxAdam, init).unwrap();
        let last = run.last();
        assert!(last.exact_support, "{init:?}: {last:?}");
        assert_eq!(
            (last.true_positives, last.false_positives),
            (10, 0),
            "{init:?}"
        );
        // Not a lucky last step: the support has been exact for the last 1,000 steps.
        let stable = run
            .points
            .iter()
            .filter(|p| p.iter > 2000)
            .all(|p| p.exact_support);
        assert!(
            stable,
            "{init:?}: support not stable over the last 1,000 steps"
        );
        // And it is the Lasso solution, up to the jitter of a constant step.
        assert!(last.dist_to_lasso < 0.1, "{init:?}: {}", last.dist_to_lasso);
        assert!(
            last.objective <= t.lasso_objective * 1.001,
            "{init:?}: {} vs optimum {}",
            last.objective,
            t.lasso_objective
        );
    }
}

#[test]
fn lasso_prox_sgd_from_random_init_never_reaches_exact_zero() {
    // Figure 3(a): the interpolation w + alpha (w_hat - w) only shrinks a
    // weight that the prox zeroes geometrically, by (1 - alpha) per step.
    let t = study();
    let last = t
        .run(OptimizerName::ProxSgd, LassoInit::Random)
        .unwrap()
        .last();
    assert_eq!(last.nnz, 100, "{last:?}");
    assert_eq!(last.true_positives, 10);
    // ... although the off-support weights are practically zero and the fit is good.
    assert!(
        last.max_abs_off_support < 1e-6,
        "{}",
        last.max_abs_off_support
    );
    assert!(last.dist_to_lasso < 0.1, "{}", last.dist_to_lasso);
    // The subgradient method does not produce exact zeros either, and stays
    // much further from zero off the support.
    let sub = t
        .run(OptimizerName::Subgradient, LassoInit::Random)
        .unwrap()
        .last();
    assert_eq!(sub.nnz, 100);
    assert!(
        sub.max_abs_off_support > 1e-4,
        "{}",
        sub.max_abs_off_support
    );
}

#[test]
fn lasso_prox_sgd_from_zero_does_not_stay_all_zero() {
    // Figure 3(b) of the paper shows Prox-SGD stuck at w = 0 from zero
    // initialization. With eqs. 5-6 and the same m, C and lambda as ProxGen
    // that cannot happen: at w = 0 the l1 prox is positively homogeneous,
    // S_{alpha*lambda/c}(-alpha*m/c) = alpha * S_{lambda/c}(-m/c), so
    // Prox-SGD's first step away from zero is *identical* to ProxGen's (both
    // leave 0 iff |m_j| > lambda). What the study does reproduce is Figure
    // 3(a)'s mechanism: the coordinates that left zero never return to it.
    let t = study();
    let ours = t.run(OptimizerName::ProxAdam, LassoInit::Zero).unwrap();
    let theirs = t.run(OptimizerName::ProxSgd, LassoInit::Zero).unwrap();
    let first_nonzero = |r: &LassoRun| r.points.iter().find(|p| p.nnz > 0).map(|p| (p.iter, p.nnz));
    assert_eq!(first_nonzero(ours), first_nonzero(theirs));
    assert!(first_nonzero(ours).is_some());
    let last = theirs.last();
    assert_eq!(last.true_positives, 10, "{last:?}");
    assert!(
        last.false_positives > 0 && last.max_abs_off_support < 1e-6,
        "{last:?}"
    );
}

#[test]
fn prox_sgd_and_proxgen_take_the_same_step_at_zero() {
    // The identity above, for arbitrary moments (state layout [m; v]),
    // strengths and step sizes, through the public optimizer API.
    let mut rng = SplitMix64::new(5);
    let d = 64;
    let mut moved = 0;
    for trial in 0..200 {
        let lr = 0.01 + 0.99 * rng.next_f32();
        let lambda = 0.5 * rng.next_f32();
        let g: Vec<f32> = (0..d).map(|_| rng.normal() as f32).collect();
        let m0: Vec<f32> = (0..d).map(|_| rng.normal() as f32).collect();
        let v0: Vec<f32> = (0..d).map(|_| rng.next_f32()).collect();
        let mut out = Vec::new();
        for name in [OptimizerName::ProxAdam, OptimizerName::ProxSgd] {
            let cfg = OptimizerConfig {
                name,
                lr,
                lambda,
                regularizer: Regularizer::L1,
                ..OptimizerConfig::named(name)
            };
            let mut opt = Optimizer::new(&cfg.check().unwrap());
            let mut state = [m0.clone(), v0.clone()].concat();
            let mut w = vec![0.0f32; d];
            let mut last = 0;
            opt.begin_step();
            opt.update_group(&mut w, &mut state, &mut last, &g, None);
            out.push(w);
        }
        let (a, b) = (&out[0], &out[1]);
        for j in 0..d {
            // f32 rounding of |z| - tau cancels digits: measure the error on
            // the scale of the step and the threshold, lr*(|m| + lambda)/c.
            let m = 0.9 * m0[j] + 0.1 * g[j];
            let c = (0.999 * v0[j] + 0.001 * g[j] * g[j]).sqrt() + 1e-8;
            let tol = 1e-6 * lr * (m.abs() + lambda) / c;
            assert!(
                (a[j] - b[j]).abs() <= tol,
                "trial {trial} coord {j}: {} vs {}",
                a[j],
                b[j]
            );
            moved += (a[j] != 0.0) as usize;
        }
    }
    // Both zero and non-zero outcomes were exercised.
    assert!(moved > 1000 && moved < 200 * 64 - 1000, "{moved}");
}

#[test]
fn lasso_study_csv_has_every_run_and_step() {
    let cfg = LassoConfig {
        iterations: 50,
        record_every: 10,
        ..LassoConfig::default()
    };
    let t = lasso_study(&cfg).unwrap();
    let mut buf = Vec::new();
    t.write_csv(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "method,init,iter,loss,objective,nnz,true_positives,false_positives,exact_support,max_abs_off_support,dist_to_lasso");
    // 3 methods x 2 inits x (step 0 + 5 recorded steps).
    assert_eq!(lines.count(), 3 * 2 * 6);
    let bad = lasso_study(&LassoConfig {
        n_nonzero: 101,
        ..LassoConfig::default()
    })
    .unwrap_err();
    assert!(bad.to_string().contains("n_nonzero <= n_features"), "{bad}");
}
