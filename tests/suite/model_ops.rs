//! The fused CPU ops against the stock candle compositions of the same math
//! (forward values and every input gradient), the dropout masks, and the
//! allocator tuning.

use candle_core::{Device, Tensor, Var};
use ctr_run::model::ops::{self, DropoutMask};
use ctr_run::rng::SplitMix64;

fn rand(seed: u64, shape: (usize, usize)) -> Var {
    let mut r = SplitMix64::new(seed);
    let v: Vec<f32> = (0..shape.0 * shape.1).map(|_| r.normal() as f32).collect();
    Var::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn vals(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

/// Runs `f(fused)` on the inputs, backpropagates a random weighting of the
/// output, and compares outputs and input gradients between fused and stock.
fn compare(inputs: &[&Var], f: impl Fn(bool) -> Tensor, what: &str) {
    let mut outs = Vec::new();
    for fused in [true, false] {
        let y = f(fused);
        let w = rand(77, (y.elem_count(), 1));
        let w = w.as_tensor().reshape(y.shape()).unwrap().detach();
        let gs = y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
        let grads: Vec<Vec<f32>> = inputs
            .iter()
            .map(|v| vals(gs.get(v.as_tensor()).expect("gradient")))
            .collect();
        outs.push((vals(&y), grads));
    }
    close(&outs[0].0, &outs[1].0, 1e-5, &format!("{what} forward"));
    for (i, (a, b)) in outs[0].1.iter().zip(&outs[1].1).enumerate() {
        close(a, b, 1e-5, &format!("{what} grad of input {i}"));
    }
}

#[test]
fn bias_act_matches_stock_ops_with_and_without_relu_and_dropout() {
    let (z, b) = (rand(1, (37, 13)), rand(2, (1, 13)));
    for relu in [false, true] {
        for p in [None, Some(0.3f32), Some(0.5)] {
            let mask = p.map(|p| DropoutMask::draw(5, 1, 37, 13, p));
            compare(
                &[&z, &b],
                |fused| ops::bias_act(&z, &b, relu, mask.clone(), fused).unwrap(),
                &format!("bias_act relu={relu} p={p:?}"),
            );
        }
    }
    // relu(z + b) by hand for one entry.
    let y = vals(&ops::bias_act(&z, &b, true, None, true).unwrap());
    let (zv, bv) = (vals(&z), vals(&b));
    for (i, yi) in y.iter().enumerate() {
        assert_eq!(*yi, (zv[i] + bv[i % 13]).max(0.0));
    }
}

#[test]
fn bias_act2_matches_stock_ops() {
    let (z1, z2, b) = (rand(3, (20, 9)), rand(4, (20, 9)), rand(5, (1, 9)));
    for relu in [false, true] {
        let mask = Some(DropoutMask::draw(6, 2, 20, 9, 0.5));
        compare(
            &[&z1, &z2, &b],
            |fused| ops::bias_act2(&z1, &z2, &b, relu, mask.clone(), fused).unwrap(),
            "bias_act2",
        );
        compare(
            &[&z1, &z2, &b],
            |fused| ops::bias_act2(&z1, &z2, &b, relu, None, fused).unwrap(),
            "bias_act2",
        );
    }
}

#[test]
fn linear_act_matches_stock_ops_with_and_without_dropout() {
    let (x, w, b) = (rand(21, (29, 7)), rand(22, (7, 11)), rand(23, (1, 11)));
    for relu in [false, true] {
        for p in [None, Some(0.5f32), Some(0.3)] {
            let mask = p.map(|p| DropoutMask::draw(9, 1, 29, 11, p));
            compare(
                &[&x, &w, &b],
                |fused| ops::linear_act(&x, &w, &b, relu, mask.clone(), fused, None).unwrap(),
                &format!("linear_act relu={relu} p={p:?}"),
            );
        }
    }
}

/// With an `InputGrad`, the fused layer leaves x's gradient there and none
/// in candle's store, and that gradient is, once -0.0 reads as +0.0 (as the
/// store's sum from +0.0 gives), the store's to the bit; w's and b's are
/// unchanged. A relu'd layer with a zero column in w makes exact zeros of
/// both signs likely in x's gradient.
#[test]
fn linear_act_with_x_grad_leaves_the_input_gradient_outside_the_store_with_its_bits() {
    let (x, w, b) = (rand(11, (40, 9)), rand(12, (9, 7)), rand(13, (1, 7)));
    let mut wv = vals(w.as_tensor());
    for row in wv.chunks_exact_mut(7) {
        row[3] = 0.0;
    }
    let w = Var::from_vec(wv, (9, 7), &Device::Cpu).unwrap();
    let mask = Some(DropoutMask::draw(3, 1, 40, 7, 0.5));
    let run = |sink: Option<ops::InputGrad>| {
        let y = ops::linear_act(&x, &w, &b, true, mask.clone(), true, sink).unwrap();
        let g = rand(14, (40, 7));
        y.mul(g.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
    };
    let store = run(None);
    let sink = ops::InputGrad::default();
    let via_sink = run(Some(sink.clone()));
    assert!(
        via_sink.get(x.as_tensor()).is_none(),
        "x's gradient also went to the store"
    );
    let bits = |v: Vec<f32>| v.iter().map(|x| (x + 0.0).to_bits()).collect::<Vec<_>>();
    let want = bits(vals(store.get(x.as_tensor()).unwrap()));
    assert_eq!(
        bits(vals(sink.get().expect("no gradient left in the sink"))),
        want
    );
    for v in [&w, &b] {
        let (a, c) = (
            store.get(v.as_tensor()).unwrap(),
            via_sink.get(v.as_tensor()).unwrap(),
        );
        assert_eq!(bits(vals(a)), bits(vals(c)));
    }
}

#[test]
fn product_layer_matches_stock_ops_and_ignores_dense_columns() {
    // 4 fields x dim 3 + 2 dense columns; h = 5.
    let (x, wz, wp) = (rand(24, (19, 14)), rand(25, (14, 5)), rand(26, (9, 5)));
    compare(
        &[&x, &wz, &wp],
        |fused| ops::product_layer(&x, &wz, &wp, 4, 3, fused).unwrap(),
        "product_layer",
    );
    // x w_z + vec(f f^T) w_p by hand for one row.
    let y = vals(&ops::product_layer(&x, &wz, &wp, 4, 3, true).unwrap());
    let (xv, wzv, wpv) = (vals(&x), vals(&wz), vals(&wp));
    let f: Vec<f32> = (0..3)
        .map(|a| (0..4).map(|fl| xv[fl * 3 + a]).sum())
        .collect();
    for j in 0..5 {
        let lin: f32 = (0..14).map(|i| xv[i] * wzv[i * 5 + j]).sum();
        let quad: f32 = (0..9).map(|q| f[q / 3] * f[q % 3] * wpv[q * 5 + j]).sum();
        assert!(
            (y[j] - (lin + quad)).abs() < 1e-4,
            "{j}: {} vs {}",
            y[j],
            lin + quad
        );
    }
}

#[test]
fn cross_matches_stock_ops_including_x0_as_xl() {
    let (x0, xl, w) = (rand(7, (33, 11)), rand(8, (33, 11)), rand(9, (11, 1)));
    compare(
        &[&x0, &xl, &w],
        |fused| ops::cross(&x0, &xl, &w, fused).unwrap(),
        "cross",
    );
    // First cross layer: xl is x0 itself; both gradient paths add up.
    compare(
        &[&x0, &w],
        |fused| ops::cross(&x0, &x0, &w, fused).unwrap(),
        "cross(x0, x0)",
    );
}

#[test]
fn outer_pool_matches_stock_ops_and_ignores_dense_columns() {
    // 4 fields x dim 3 + 2 dense columns.
    let x = rand(10, (17, 14));
    compare(
        &[&x],
        |fused| ops::outer_pool(&x, 4, 3, fused).unwrap(),
        "outer_pool",
    );
    let y = vals(&ops::outer_pool(&x, 4, 3, true).unwrap());
    let xv = vals(&x);
    let f: Vec<f32> = (0..3)
        .map(|a| (0..4).map(|fl| xv[fl * 3 + a]).sum())
        .collect();
    for a in 0..3 {
        for b in 0..3 {
            assert!((y[a * 3 + b] - f[a] * f[b]).abs() < 1e-5);
        }
    }
    // Dense columns (12, 13) get no gradient.
    let gs = ops::outer_pool(&x, 4, 3, true)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g = vals(gs.get(x.as_tensor()).unwrap());
    assert!(g.chunks(14).all(|r| r[12] == 0.0 && r[13] == 0.0));
}

#[test]
fn seed_grad_backpropagates_the_given_gradient() {
    let x = rand(11, (9, 1));
    let g: Vec<f32> = (0..9).map(|i| i as f32 * 0.1 - 0.3).collect();
    for fused in [true, false] {
        let s = ops::seed_grad(&x, g.clone().into(), fused).unwrap();
        let want: f32 = vals(&x).iter().zip(&g).map(|(a, b)| a * b).sum();
        assert!((vals(&s)[0] - want).abs() < 1e-5);
        let gs = s.backward().unwrap();
        assert_eq!(vals(gs.get(x.as_tensor()).unwrap()), g);
    }
}

#[test]
fn dropout_masks_have_the_rate_the_scale_and_are_seeded() {
    for p in [0.5f32, 0.25, 0.75, 0.2, 0.9, 0.1] {
        let m = DropoutMask::draw(3, 1, 400, 250, p).to_vec();
        let n = m.len() as f64;
        let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        // Binomial standard error at n = 100k is <= 0.0016.
        assert!(
            (dropped - p as f64).abs() < 0.008,
            "p {p}: dropped {dropped}"
        );
        let keep = 1.0 / (1.0 - p);
        assert!(m
            .iter()
            .all(|&v| v == 0.0 || (v - keep).abs() <= 1e-6 * keep));
        // E[mask] = 1 (inverted dropout).
        let mean = m.iter().map(|&v| v as f64).sum::<f64>() / n;
        assert!(
            (mean - 1.0).abs() < 0.03 * keep as f64,
            "p {p}: mean {mean}"
        );
    }
    let a = DropoutMask::draw(3, 1, 10, 10, 0.5);
    assert_eq!(a.to_vec(), DropoutMask::draw(3, 1, 10, 10, 0.5).to_vec());
    assert_ne!(a.to_vec(), DropoutMask::draw(3, 2, 10, 10, 0.5).to_vec());
    assert_ne!(a.to_vec(), DropoutMask::draw(4, 1, 10, 10, 0.5).to_vec());
}

#[test]
fn allocator_tuning_applies_once_on_glibc() {
    let t = ctr_run::model::tune_allocator();
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        let t = t.expect("mallopt accepted");
        println!("mmap threshold in effect: {} MiB", t >> 20);
        assert!(t >= 32 << 20, "{t}");
    } else {
        assert_eq!(t, None);
    }
    assert_eq!(ctr_run::model::tune_allocator(), t);
}

#[test]
fn matvec_matches_stock_matmul() {
    let (x, w) = (rand(12, (29, 19)), rand(13, (19, 1)));
    compare(
        &[&x, &w],
        |fused| ops::matmul(&x, &w, fused).unwrap(),
        "matvec",
    );
    // A narrowed column (DCN's split output weight) works too.
    let w2 = rand(14, (25, 1));
    compare(
        &[&x, &w2],
        |fused| ops::matmul(&x, &w2.narrow(0, 3, 19).unwrap(), fused).unwrap(),
        "matvec(narrow)",
    );
}

#[test]
fn relu_gradient_at_exactly_zero_is_zero_on_both_paths() {
    // relu'(0) = 0 (PyTorch's and TensorFlow's convention): pre-activations
    // of exactly 0 are common under dropout (a unit whose inputs were all
    // dropped, with a zero bias).
    let z = Var::from_vec(vec![0.0f32, 1.0, -1.0, 0.0, 2.0, 0.0], (2, 3), &Device::Cpu).unwrap();
    let b = Var::from_vec(vec![0.0f32; 3], (1, 3), &Device::Cpu).unwrap();
    for fused in [true, false] {
        let y = ops::bias_act(&z, &b, true, None, fused).unwrap();
        let gs = y.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            vals(gs.get(z.as_tensor()).unwrap()),
            vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            "fused={fused}"
        );
        assert_eq!(
            vals(gs.get(b.as_tensor()).unwrap()),
            vec![0.0, 2.0, 0.0],
            "fused={fused}"
        );
    }
}
