//! Hyperparameter validation through `Optimizer::new`, the `lr_decay` key,
//! and the state sizes each optimizer declares (memory per embedding row).

use ctr_run::optim::{LrDecay, Optimizer, OptimizerConfig, OptimizerConfigError, OptimizerName};

#[test]
fn optimizer_new_refuses_bad_hyperparameters_with_typed_errors() {
    let base = OptimizerConfig::named(OptimizerName::GroupAdagrad);
    let cases = [
        (
            OptimizerConfig {
                lambda21: -0.1,
                ..base.clone()
            },
            "optimizer.lambda21 must be finite and >= 0, got -0.1",
        ),
        (
            OptimizerConfig {
                lambda2: f32::NAN,
                ..base.clone()
            },
            "optimizer.lambda2 must be finite and >= 0, got NaN",
        ),
        (
            OptimizerConfig {
                initial_accumulator: 0.0,
                ..base.clone()
            },
            "optimizer.initial_accumulator must be finite and > 0, got 0",
        ),
        (
            OptimizerConfig {
                gamma: 1.0,
                ..base.clone()
            },
            "optimizer.gamma must be in [0, 1), got 1",
        ),
        (
            OptimizerConfig {
                ftrl_beta: -1.0,
                ..base.clone()
            },
            "optimizer.ftrl_beta must be finite and >= 0, got -1",
        ),
        (
            OptimizerConfig {
                lr: -1e-3,
                ..base.clone()
            },
            "optimizer.lr must be finite and > 0, got -0.001",
        ),
        (
            OptimizerConfig {
                eps: -1e-8,
                ..base.clone()
            },
            "optimizer.eps must be finite and >= 0, got -0.00000001",
        ),
    ];
    for (cfg, msg) in cases {
        let err = cfg.check().unwrap_err();
        assert!(matches!(
            err,
            OptimizerConfigError::NotPositive { .. }
                | OptimizerConfigError::Negative { .. }
                | OptimizerConfigError::NotAFraction { .. }
        ));
        assert_eq!(err.to_string(), msg);
    }
}

#[test]
fn lr_decay_key_parses_and_refuses_unknown_values() {
    let cfg: OptimizerConfig =
        toml::from_str("name = \"group_adam\"\nlr_decay = \"inv_sqrt\"\n").unwrap();
    assert_eq!(cfg.lr_decay, LrDecay::InvSqrt);
    assert_eq!(OptimizerConfig::default().lr_decay, LrDecay::Constant);
    let err = toml::from_str::<OptimizerConfig>("lr_decay = \"linear\"\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `linear`"),
        "{err}"
    );
}

#[test]
fn state_sizes_per_row_are_minimal() {
    use OptimizerName::*;
    let d = 16;
    let want = [
        (GroupSgd, d),            // z
        (GroupMomentum, 2 * d),   // z, m
        (GroupAdagrad, 2 * d),    // z, V
        (GroupAdam, 3 * d),       // z, m, v
        (GroupAmsgrad, 4 * d),    // z, m, v, max V
        (GroupAdahessian, 3 * d), // z, m, v
        (Sgd, 0),
        (Momentum, d),
        (Adagrad, d),
        (Adam, 2 * d),
        (Amsgrad, 3 * d),
        (Adahessian, 2 * d),
        (Ftrl, 2 * d), // n, z
    ];
    for (name, len) in want {
        let opt = Optimizer::new(&OptimizerConfig::named(name).check().unwrap());
        assert_eq!(opt.state_len(d), len, "{name}");
        assert_eq!(
            opt.needs_hessian(),
            matches!(name, GroupAdahessian | Adahessian),
            "{name}"
        );
    }
}

/// Fresh state: zeros, except the accumulators that TensorFlow starts at
/// the initial accumulator (plain Adagrad, FTRL's n). Group Adagrad adds it
/// at a row's first update instead (Algorithm 3), so its state starts at 0.
#[test]
fn init_state_follows_each_convention() {
    let d = 3;
    for (name, want) in [
        (OptimizerName::Adagrad, vec![0.1f32; 3]),
        (OptimizerName::Ftrl, vec![0.1, 0.1, 0.1, 0.0, 0.0, 0.0]),
        (OptimizerName::GroupAdagrad, vec![0.0; 6]),
        (OptimizerName::GroupAdam, vec![0.0; 9]),
    ] {
        let opt = Optimizer::new(&OptimizerConfig::named(name).check().unwrap());
        let mut st = vec![7.0f32; opt.state_len(d)];
        opt.init_state(&[1.0, 2.0, 3.0], &mut st);
        assert_eq!(st, want, "{name}");
    }
}
