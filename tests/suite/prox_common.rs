//! Independent numerical minimizers shared by the `prox_*` tests.
#![allow(dead_code)]

/// Best point of `f` on [lo, hi] by a 20,001-point grid (plus `extra`
/// points such as kinks) refined by golden-section search around the best
/// grid point; also returns the best value at distance > `sep` from it, so a
/// caller can tell a unique minimum from a near-tie of two basins.
pub fn brute_min(
    f: &dyn Fn(f64) -> f64,
    lo: f64,
    hi: f64,
    extra: &[f64],
    sep: f64,
) -> (f64, f64, f64) {
    const N: usize = 20_000;
    let h = (hi - lo) / N as f64;
    let mut pts: Vec<f64> = (0..=N).map(|k| lo + k as f64 * h).collect();
    pts.extend_from_slice(extra);
    let (mut xb, mut fb) = (pts[0], f(pts[0]));
    for &x in &pts {
        let v = f(x);
        if v < fb {
            xb = x;
            fb = v;
        }
    }
    let (mut a, mut b) = (xb - h, xb + h);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..200 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if f(c) < f(d) {
            b = d;
        } else {
            a = c;
        }
    }
    let xm = 0.5 * (a + b);
    if f(xm) < fb {
        xb = xm;
        fb = f(xm);
    }
    let far = pts
        .iter()
        .filter(|&&x| (x - xb).abs() > sep)
        .map(|&x| f(x))
        .fold(f64::INFINITY, f64::min);
    (xb, fb, far)
}

/// Minimizer of `lambda*||x||_2 + sum_i a_i (x_i - z_i)^2 / 2` (a_i > 0) by
/// proximal gradient with the plain (isotropic) block soft threshold and step
/// `1/max a`: a different algorithm from the library's root find.
pub fn ista_group(z: &[f64], a: &[f64], lambda: f64) -> Vec<f64> {
    let s = 1.0 / a.iter().cloned().fold(0.0, f64::max);
    let mut x = vec![0.0; z.len()];
    let mut y = vec![0.0; z.len()];
    for _ in 0..500_000 {
        for i in 0..z.len() {
            y[i] = x[i] - s * a[i] * (x[i] - z[i]);
        }
        let n = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        let shrink = if n > s * lambda {
            1.0 - s * lambda / n
        } else {
            0.0
        };
        let mut change: f64 = 0.0;
        for i in 0..z.len() {
            let new = shrink * y[i];
            change = change.max((new - x[i]).abs());
            x[i] = new;
        }
        if change < 1e-15 {
            break;
        }
    }
    x
}

/// A weight vector from a seed: uniform in [-scale, scale].
pub fn uniform(seed: u64, n: usize, scale: f64) -> Vec<f32> {
    let mut rng = ctr_run::rng::SplitMix64::new(seed);
    (0..n)
        .map(|_| (scale * (2.0 * rng.next_f64() - 1.0)) as f32)
        .collect()
}
