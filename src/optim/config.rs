//! The optimizer section of a run config, validated once (`check`).
//!
//! One flat struct rather than an enum per optimizer: a sweep varies any key
//! (`optimizer.lambda21`, `optimizer.name`, ...) by setting one field, and
//! unknown keys are refused by serde. Keys that the named optimizer does not
//! use are ignored by it.

use serde::{Deserialize, Serialize};

/// Every optimizer ctr-run knows, by its config name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerName {
    // Plain optimizers (independent reference implementations).
    Sgd,
    Momentum,
    Adagrad,
    Adam,
    Amsgrad,
    Adahessian,
    Ftrl,
    // Group optimizers: Algorithm 1 with l1 + l2,1 + l2.
    GroupSgd,
    GroupMomentum,
    GroupAdagrad,
    GroupAdam,
    GroupAmsgrad,
    GroupAdahessian,
    // ProxGen family (second paper).
    ProxAdam,
    ProxSgdMomentum,
    ProxSgd,
    Subgradient,
}

impl OptimizerName {
    pub const ALL: [OptimizerName; 17] = [
        Self::Sgd,
        Self::Momentum,
        Self::Adagrad,
        Self::Adam,
        Self::Amsgrad,
        Self::Adahessian,
        Self::Ftrl,
        Self::GroupSgd,
        Self::GroupMomentum,
        Self::GroupAdagrad,
        Self::GroupAdam,
        Self::GroupAmsgrad,
        Self::GroupAdahessian,
        Self::ProxAdam,
        Self::ProxSgdMomentum,
        Self::ProxSgd,
        Self::Subgradient,
    ];

    /// The config spelling, e.g. `group_adam`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Momentum => "momentum",
            Self::Adagrad => "adagrad",
            Self::Adam => "adam",
            Self::Amsgrad => "amsgrad",
            Self::Adahessian => "adahessian",
            Self::Ftrl => "ftrl",
            Self::GroupSgd => "group_sgd",
            Self::GroupMomentum => "group_momentum",
            Self::GroupAdagrad => "group_adagrad",
            Self::GroupAdam => "group_adam",
            Self::GroupAmsgrad => "group_amsgrad",
            Self::GroupAdahessian => "group_adahessian",
            Self::ProxAdam => "prox_adam",
            Self::ProxSgdMomentum => "prox_sgd_momentum",
            Self::ProxSgd => "prox_sgd",
            Self::Subgradient => "subgradient",
        }
    }

    /// Group optimizers run Algorithm 1 and take lambda1 / lambda21 / lambda2.
    pub fn is_group(self) -> bool {
        matches!(
            self,
            Self::GroupSgd
                | Self::GroupMomentum
                | Self::GroupAdagrad
                | Self::GroupAdam
                | Self::GroupAmsgrad
                | Self::GroupAdahessian
        )
    }

    /// ProxGen-family optimizers take `regularizer` and `lambda`.
    pub fn is_prox(self) -> bool {
        matches!(
            self,
            Self::ProxAdam | Self::ProxSgdMomentum | Self::ProxSgd | Self::Subgradient
        )
    }
}

impl std::fmt::Display for OptimizerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How Algorithm 1 measures a group's norm in the l2,1 shrinkage (SPEC 2.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupNorm {
    /// `||s_t||_2` (Algorithm 1, the paper's recommendation).
    #[default]
    Plain,
    /// `||s_t / sqrt(D_t/2 + lambda2)||_2`: the exact minimizer of Theorem 1.
    /// (SPEC 2.5 / the paper's Eq. 10 omit the square root; the paper's own
    /// proof, Eq. 28-29, needs it: see `core::weighted_sq`.)
    Weighted,
}

/// Step-size schedule on top of an optimizer's own alpha_t (paper Table 1).
///
/// `inv_sqrt` divides alpha_t by sqrt(t) (global step t): the O(sqrt T)
/// regret schedule for Adam-like methods on noisy data. Honoured by every
/// Group optimizer and plain counterpart (group_sgd / sgd already use
/// alpha/sqrt(t); inv_sqrt makes that alpha/t). Not used by FTRL or ProxGen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrDecay {
    /// alpha_t as the optimizer defines it.
    #[default]
    Constant,
    /// alpha_t / sqrt(t).
    InvSqrt,
}

/// The penalty of the ProxGen family (SPEC 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regularizer {
    /// No penalty.
    #[default]
    None,
    /// lambda * |x| (soft threshold).
    L1,
    /// lambda * [x != 0] (hard threshold).
    L0,
    /// lambda * |x|^(1/2).
    LHalf,
    /// lambda * |x|^(2/3).
    LTwoThirds,
    /// lambda * ||x_g||_2 per group (embedding row), the l2,1 norm.
    Group,
    /// Revised ProxQuant: lambda * |x - sign(x)|^q, q in {1, 2/3, 1/2}.
    Binary,
}

/// Hyperparameters of one optimizer. Defaults follow SPEC 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerConfig {
    /// Which optimizer.
    pub name: OptimizerName,
    /// Learning rate alpha (> 0).
    pub lr: f32,
    /// First-moment decay (Adam family; rho of ProxGen), in [0, 1).
    pub beta1: f32,
    /// Second-moment decay (Adam family), in [0, 1).
    pub beta2: f32,
    /// Epsilon of the Adam family (delta of ProxGen), >= 0.
    pub eps: f32,
    /// Momentum coefficient gamma of (group) momentum, in [0, 1).
    pub gamma: f32,
    /// Adagrad / FTRL initial accumulator (> 0).
    pub initial_accumulator: f32,
    /// FTRL-Proximal's beta (added to sqrt(n) in the learning-rate schedule).
    pub ftrl_beta: f32,
    /// l1 strength of Group optimizers and FTRL (>= 0).
    pub lambda1: f32,
    /// l2,1 (group lasso) strength of Group optimizers (>= 0).
    pub lambda21: f32,
    /// l2 strength of Group optimizers and FTRL (>= 0).
    pub lambda2: f32,
    /// Group norm variant of Algorithm 1.
    pub group_norm: GroupNorm,
    /// Extra step-size decay (default constant).
    pub lr_decay: LrDecay,
    /// Penalty of the ProxGen family.
    pub regularizer: Regularizer,
    /// Penalty strength of the ProxGen family (>= 0).
    pub lambda: f32,
    /// Exponent q of the revised ProxQuant regularizer, in {1, 2/3, 1/2}.
    pub q: f32,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            name: OptimizerName::Adam,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            gamma: 0.9,
            initial_accumulator: 0.1,
            ftrl_beta: 0.0,
            lambda1: 0.0,
            lambda21: 0.0,
            lambda2: 0.0,
            group_norm: GroupNorm::Plain,
            lr_decay: LrDecay::Constant,
            regularizer: Regularizer::None,
            lambda: 0.0,
            q: 1.0,
        }
    }
}

/// A hyperparameter that cannot be used, named with the reason.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("optimizer.{key} must be finite and > 0, got {value}")]
    NotPositive { key: &'static str, value: f32 },
    #[error("optimizer.{key} must be finite and >= 0, got {value}")]
    Negative { key: &'static str, value: f32 },
    #[error("optimizer.{key} must be in [0, 1), got {value}")]
    NotAFraction { key: &'static str, value: f32 },
    #[error("optimizer.{key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl OptimizerConfig {
    /// A config for `name` with every other key at its default.
    pub fn named(name: OptimizerName) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    /// The same optimizer with every penalty removed: what dense layers use
    /// unless the run config regularizes them too (SPEC 1).
    pub fn without_regularization(&self) -> Self {
        Self {
            lambda1: 0.0,
            lambda21: 0.0,
            lambda2: 0.0,
            lambda: 0.0,
            regularizer: Regularizer::None,
            ..self.clone()
        }
    }

    /// Validate every hyperparameter once; the optimizers trust them after.
    pub fn check(&self) -> Result<(), ConfigError> {
        fn positive(key: &'static str, value: f32) -> Result<(), ConfigError> {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(ConfigError::NotPositive { key, value })
            }
        }
        fn non_negative(key: &'static str, value: f32) -> Result<(), ConfigError> {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(ConfigError::Negative { key, value })
            }
        }
        fn fraction(key: &'static str, value: f32) -> Result<(), ConfigError> {
            if value.is_finite() && (0.0..1.0).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::NotAFraction { key, value })
            }
        }
        positive("lr", self.lr)?;
        fraction("beta1", self.beta1)?;
        fraction("beta2", self.beta2)?;
        fraction("gamma", self.gamma)?;
        non_negative("eps", self.eps)?;
        positive("initial_accumulator", self.initial_accumulator)?;
        non_negative("ftrl_beta", self.ftrl_beta)?;
        non_negative("lambda1", self.lambda1)?;
        non_negative("lambda21", self.lambda21)?;
        non_negative("lambda2", self.lambda2)?;
        non_negative("lambda", self.lambda)?;
        if self.regularizer == Regularizer::Binary
            && ![1.0, 2.0 / 3.0, 0.5].iter().any(|q| (self.q - q).abs() < 1e-6)
        {
            return Err(ConfigError::Invalid {
                key: "q",
                reason: format!("must be 1, 2/3 or 1/2 for the binary regularizer, got {}", self.q),
            });
        }
        // Prox-SGD's second stage w + lr*(w_hat - w) is an interpolation.
        if self.name == OptimizerName::ProxSgd && self.lr > 1.0 {
            return Err(ConfigError::Invalid {
                key: "lr",
                reason: format!(
                    "prox_sgd interpolates w + lr*(w_hat - w), so lr must be in (0, 1], got {}",
                    self.lr
                ),
            });
        }
        // l0's subgradient is 0 wherever it is finite: the method would
        // silently train without the penalty (the ProxGen paper says the same).
        if self.name == OptimizerName::Subgradient
            && self.regularizer == Regularizer::L0
            && self.lambda > 0.0
        {
            return Err(ConfigError::Invalid {
                key: "regularizer",
                reason: "l0 has no useful subgradient; use prox_adam or prox_sgd_momentum for l0"
                    .into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        for name in OptimizerName::ALL {
            OptimizerConfig::named(name).check().unwrap();
        }
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let base = OptimizerConfig::named(OptimizerName::GroupAdam);
        let cases: Vec<(OptimizerConfig, &str)> = vec![
            (OptimizerConfig { lr: 0.0, ..base.clone() }, "optimizer.lr must be finite and > 0, got 0"),
            (OptimizerConfig { lr: f32::NAN, ..base.clone() }, "optimizer.lr must be finite and > 0, got NaN"),
            (OptimizerConfig { lambda21: -1.0, ..base.clone() }, "optimizer.lambda21 must be finite and >= 0, got -1"),
            (OptimizerConfig { lambda1: f32::INFINITY, ..base.clone() }, "optimizer.lambda1 must be finite and >= 0, got inf"),
            (OptimizerConfig { beta1: 1.0, ..base.clone() }, "optimizer.beta1 must be in [0, 1), got 1"),
            (OptimizerConfig { beta2: -0.1, ..base.clone() }, "optimizer.beta2 must be in [0, 1), got -0.1"),
        ];
        for (cfg, msg) in cases {
            assert_eq!(cfg.check().unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<OptimizerConfig>("name = \"group_adam\"\nlamda21 = 1e-3\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `lamda21`"), "{err}");
        let ok: OptimizerConfig = toml::from_str("name = \"group_adam\"\nlambda21 = 1e-3\n").unwrap();
        assert_eq!(ok.lambda21, 1e-3);
        assert_eq!(ok.beta2, 0.999);
    }
}
