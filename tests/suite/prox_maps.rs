//! Every proximal map of `optim::prox::maps` against an independent
//! numerical minimizer of its subproblem:
//! - scalar maps: `min_x tau*R(x) + (x - z)^2/2` by a 20,001-point grid
//!   (plus the kinks 0 and +-1) refined by golden-section search;
//! - the preconditioned group map: `min_x ||x||_2 + sum (x_i - z_i)^2/(2 tau_i)`
//!   by plain ISTA with the *isotropic* block soft threshold (a different
//!   algorithm that needs no root find), run to convergence in f64.

// Index loops over several parallel arrays read best as index loops.
#![allow(clippy::needless_range_loop)]

use ctr_run::optim::prox::maps::{
    binary_distance, group_radius, prox_binary, prox_group, prox_l0, prox_l1, prox_l_half,
    prox_l_two_thirds,
};
use proptest::prelude::*;

use crate::prox_common;
use prox_common::{brute_min, ista_group};

/// Assert that `x` minimizes `f` as well as brute force does, and equals the
/// brute-force argmin where that is unique.
fn check_scalar(
    name: &str,
    f: &dyn Fn(f64) -> f64,
    x: f64,
    z: f64,
    lo: f64,
    hi: f64,
) -> Result<(), TestCaseError> {
    let (xb, fb, far) = brute_min(f, lo, hi, &[0.0, 1.0, -1.0, z], 0.05);
    let fx = f(x);
    prop_assert!(fx.is_finite(), "{name}: non-finite objective at {x}");
    // Never worse than the best grid/golden point (1e-12 relative slack).
    prop_assert!(
        fx <= fb + 1e-12 * (1.0 + fb.abs()),
        "{name}: z={z} ours x={x} f={fx:.15e}, brute x={xb} f={fb:.15e}"
    );
    // Unique minimum (the runner-up basin is clearly worse): same argmin.
    if far - fb > 1e-7 {
        prop_assert!(
            (x - xb).abs() <= 1e-5 * (1.0 + z.abs()),
            "{name}: z={z} ours x={x}, brute x={xb}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn l1_matches_brute_force(z in -5.0f64..5.0, tau in 1e-3f64..3.0) {
        let f = |x: f64| tau * x.abs() + 0.5 * (x - z).powi(2);
        check_scalar("l1", &f, prox_l1(z, tau), z, -z.abs() - 1.0, z.abs() + 1.0)?;
    }

    #[test]
    fn l0_matches_brute_force(z in -5.0f64..5.0, tau in 1e-3f64..3.0) {
        let f = |x: f64| tau * if x != 0.0 { 1.0 } else { 0.0 } + 0.5 * (x - z).powi(2);
        check_scalar("l0", &f, prox_l0(z, tau), z, -z.abs() - 1.0, z.abs() + 1.0)?;
    }

    #[test]
    fn l_half_matches_brute_force(z in -5.0f64..5.0, tau in 1e-3f64..3.0) {
        let f = |x: f64| tau * x.abs().sqrt() + 0.5 * (x - z).powi(2);
        check_scalar("l_half", &f, prox_l_half(z, tau), z, -z.abs() - 1.0, z.abs() + 1.0)?;
    }

    #[test]
    fn l_two_thirds_matches_brute_force(z in -5.0f64..5.0, tau in 1e-3f64..3.0) {
        let f = |x: f64| tau * x.abs().powf(2.0 / 3.0) + 0.5 * (x - z).powi(2);
        check_scalar("l_two_thirds", &f, prox_l_two_thirds(z, tau), z, -z.abs() - 1.0, z.abs() + 1.0)?;
    }

    #[test]
    fn binary_matches_brute_force(z in -3.0f64..3.0, tau in 1e-3f64..3.0, qi in 0usize..3) {
        let q = [1.0, 2.0 / 3.0, 0.5][qi];
        let f = |x: f64| tau * binary_distance(x).powf(q) + 0.5 * (x - z).powi(2);
        check_scalar("binary", &f, prox_binary(z, tau, q), z, -z.abs() - 2.0, z.abs() + 2.0)?;
    }

    #[test]
    fn group_matches_ista(
        d in 1usize..=64,
        scale in 0.01f64..3.0,
        seed in any::<u64>(),
    ) {
        let mut rng = ctr_run::rng::SplitMix64::new(seed);
        let z: Vec<f64> = (0..d).map(|_| scale * (2.0 * rng.next_f64() - 1.0)).collect();
        // Per-coordinate thresholds over two decades: a strongly anisotropic
        // preconditioner, where plain group soft thresholding is wrong.
        let tau: Vec<f64> = (0..d).map(|_| 0.02 * 100f64.powf(rng.next_f64())).collect();
        let obj = |x: &[f64]| {
            x.iter().map(|v| v * v).sum::<f64>().sqrt()
                + x.iter().zip(&z).zip(&tau).map(|((xi, zi), ti)| (xi - zi).powi(2) / (2.0 * ti)).sum::<f64>()
        };
        let ours: Vec<f64> = match group_radius(d, |i| z[i], |i| tau[i]) {
            None => vec![0.0; d],
            Some(r) => (0..d).map(|i| z[i] * r / (r + tau[i])).collect(),
        };
        let a: Vec<f64> = tau.iter().map(|t| 1.0 / t).collect();
        let reference = ista_group(&z, &a, 1.0);
        let (fo, fr) = (obj(&ours), obj(&reference));
        prop_assert!(fo <= fr + 1e-11 * (1.0 + fr), "objective ours {fo:.15e} > ista {fr:.15e}");
        // Strongly convex: the minimizer is unique.
        let dist = ours.iter().zip(&reference).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        prop_assert!(dist <= 1e-7 * (1.0 + scale), "argmin differs by {dist:e}");
        prop_assert_eq!(ours.iter().all(|&v| v == 0.0), reference.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn group_with_equal_thresholds_is_block_soft_threshold() {
    // tau_i = t for all i: x = (1 - t/||z||)_+ z, the textbook formula.
    let z = [3.0f32, -4.0, 0.0, 12.0]; // ||z|| = 13
    let mut x = z;
    prox_group(&mut x, |_| 2.6);
    for (xi, zi) in x.iter().zip(z) {
        assert!((xi - 0.8 * zi).abs() <= 1e-6, "{x:?}");
    }
    let mut small = z;
    prox_group(&mut small, |_| 13.0); // ||z/tau|| = 1: zeroed
    assert_eq!(small, [0.0; 4]);
}

#[test]
fn scalar_maps_at_known_points() {
    // Thresholds: l1 at tau, l0 at sqrt(2 tau), l_1/2 at 1.5 tau^(2/3),
    // l_2/3 at (2/3)(24)^(1/4) tau^(3/4): just below -> 0, just above -> non-zero.
    let tau = 0.7f64;
    let t_half = 1.5 * tau.powf(2.0 / 3.0);
    let t_23 = (2.0 / 3.0) * 24f64.powf(0.25) * tau.powf(0.75);
    assert_eq!(prox_l1(tau * 0.999, tau), 0.0);
    assert!((prox_l1(2.0, tau) - 1.3).abs() < 1e-15);
    assert_eq!(prox_l0((2.0 * tau).sqrt() * 0.999, tau), 0.0);
    assert_eq!(prox_l0(-1.5, tau), -1.5);
    assert_eq!(prox_l_half(t_half * 0.999, tau), 0.0);
    // At the threshold the non-zero minimizer is (2/3)|z| (Xu et al.).
    let x = prox_l_half(t_half * 1.000_001, tau);
    assert!((x - (2.0 / 3.0) * t_half).abs() < 1e-3, "{x}");
    assert_eq!(prox_l_two_thirds(-t_23 * 0.999, tau), 0.0);
    assert!(prox_l_two_thirds(-t_23 * 1.001, tau) < 0.0);
    // Binary: far from 0 the weight is pulled to +-1 by at most tau (q = 1).
    assert!((prox_binary(1.5, 0.2, 1.0) - 1.3).abs() < 1e-15);
    assert!((prox_binary(-1.1, 0.2, 1.0) + 1.0).abs() < 1e-15);
}
