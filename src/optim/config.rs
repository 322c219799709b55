//! The optimizer section of a run config, validated once (`check`).
//!
//! Two types, the linfa `ParamGuard` idea: [`OptimizerConfig`] is the flat
//! struct that TOML and a sweep's dotted keys (`optimizer.lambda21`,
//! `optimizer.name`, ...) set one field at a time, with unknown keys refused
//! by serde; [`OptimizerConfig::check`] turns it into an [`OptimizerSpec`],
//! the only thing `Optimizer::new` and the family builds take, so an
//! unchecked config cannot reach an optimizer and nothing re-checks.
//!
//! A key the named optimizer does not use ([`OptimizerName::keys`]) is
//! refused when it differs from its default: it would change nothing.

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
        matches!(self.family(), Family::Prox(_))
    }

    /// The family this optimizer belongs to and its member there: the one
    /// place a name is routed, matched exhaustively.
    pub fn family(self) -> Family {
        match self {
            Self::Sgd => Family::Plain(PlainRule::Sgd),
            Self::Momentum => Family::Plain(PlainRule::Momentum),
            Self::Adagrad => Family::Plain(PlainRule::Adagrad),
            Self::Adam => Family::Plain(PlainRule::Adam),
            Self::Amsgrad => Family::Plain(PlainRule::Amsgrad),
            Self::Adahessian => Family::Plain(PlainRule::Adahessian),
            Self::Ftrl => Family::Plain(PlainRule::Ftrl),
            Self::GroupSgd => Family::Group(GroupRule::Sgd),
            Self::GroupMomentum => Family::Group(GroupRule::Momentum),
            Self::GroupAdagrad => Family::Group(GroupRule::Adagrad),
            Self::GroupAdam => Family::Group(GroupRule::Adam),
            Self::GroupAmsgrad => Family::Group(GroupRule::Amsgrad),
            Self::GroupAdahessian => Family::Group(GroupRule::Adahessian),
            Self::ProxAdam => Family::Prox(ProxRule::Adam),
            Self::ProxSgdMomentum => Family::Prox(ProxRule::SgdMomentum),
            Self::ProxSgd => Family::Prox(ProxRule::Sgd),
            Self::Subgradient => Family::Prox(ProxRule::Subgradient),
        }
    }

    /// The config keys this optimizer reads (besides `name`), in the order
    /// messages list them. Every other key changes nothing for it; the
    /// table test in this file checks both directions by running updates.
    pub fn keys(self) -> &'static [&'static str] {
        const ADAM: &[&str] = &["lr", "beta1", "beta2", "eps", "lr_decay"];
        const PROX: &[&str] = &["lr", "beta1", "beta2", "eps", "regularizer", "lambda", "q"];
        match self {
            Self::Sgd => &["lr", "lr_decay"],
            Self::Momentum => &["lr", "gamma", "lr_decay"],
            Self::Adagrad => &["lr", "initial_accumulator", "lr_decay"],
            Self::Adam | Self::Amsgrad | Self::Adahessian => ADAM,
            Self::Ftrl => &[
                "lr",
                "initial_accumulator",
                "ftrl_beta",
                "lambda1",
                "lambda2",
            ],
            Self::GroupSgd => &[
                "lr",
                "lr_decay",
                "lambda1",
                "lambda21",
                "lambda2",
                "group_norm",
            ],
            Self::GroupMomentum => &[
                "lr",
                "gamma",
                "lr_decay",
                "lambda1",
                "lambda21",
                "lambda2",
                "group_norm",
            ],
            Self::GroupAdagrad => &[
                "lr",
                "initial_accumulator",
                "lr_decay",
                "lambda1",
                "lambda21",
                "lambda2",
                "group_norm",
            ],
            Self::GroupAdam | Self::GroupAmsgrad | Self::GroupAdahessian => &[
                "lr",
                "beta1",
                "beta2",
                "eps",
                "lr_decay",
                "lambda1",
                "lambda21",
                "lambda2",
                "group_norm",
            ],
            Self::ProxAdam | Self::ProxSgd | Self::Subgradient => PROX,
            Self::ProxSgdMomentum => &["lr", "beta1", "regularizer", "lambda", "q"],
        }
    }

    /// Every name, comma-separated (messages).
    pub fn list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    /// Where a key this optimizer ignores would be used: the hint after
    /// "is not used by".
    fn hint(self, key: &str) -> String {
        let group = match self {
            Self::Sgd => Some(Self::GroupSgd),
            Self::Momentum => Some(Self::GroupMomentum),
            Self::Adagrad => Some(Self::GroupAdagrad),
            Self::Adam => Some(Self::GroupAdam),
            Self::Amsgrad => Some(Self::GroupAmsgrad),
            Self::Adahessian => Some(Self::GroupAdahessian),
            _ => None,
        };
        match key {
            "lambda1" | "lambda21" | "lambda2" | "group_norm" if self.is_prox() => {
                "; the prox family is regularized by `regularizer` and `lambda`".into()
            }
            "lambda1" | "lambda21" | "lambda2" | "group_norm" => match group {
                Some(g) => format!("; use {g} for l2,1 regularization"),
                None => "; use a group_* optimizer for l2,1 regularization".into(),
            },
            "regularizer" | "lambda" | "q" => {
                "; use prox_adam, prox_sgd_momentum, prox_sgd or subgradient for a ProxGen penalty"
                    .into()
            }
            _ => String::new(),
        }
    }
}

/// The three families of optimizers, each with its members: what
/// `Optimizer::new` dispatches on and each family's `build` matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Plain(PlainRule),
    Group(GroupRule),
    Prox(ProxRule),
}

/// Members of the plain family (`optim::plain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlainRule {
    Sgd,
    Momentum,
    Adagrad,
    Adam,
    Amsgrad,
    Adahessian,
    Ftrl,
}

/// Members of the Group family (`optim::core`, Algorithm 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupRule {
    Sgd,
    Momentum,
    Adagrad,
    Adam,
    Amsgrad,
    Adahessian,
}

/// Members of the ProxGen family (`optim::prox`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxRule {
    Adam,
    SgdMomentum,
    Sgd,
    Subgradient,
}

/// An optimizer config that passed [`OptimizerConfig::check`]. Only `check`
/// makes one (the field is private), so holding one proves the values are
/// usable; it reads like the config it wraps.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerSpec(OptimizerConfig);

impl OptimizerSpec {
    /// Which family builds it, and which member.
    pub fn family(&self) -> Family {
        self.0.name.family()
    }

    /// One line naming the optimizer and every key it uses, e.g.
    /// `adam lr=0.001 beta1=0.9 beta2=0.999 eps=0.00000001 lr_decay=constant`.
    pub fn describe(&self) -> String {
        let table = self.0.table();
        let mut line = self.0.name.to_string();
        for key in self.0.name.keys() {
            if let Some(v) = table.get(*key) {
                // Every float key is an f32: print it as one (0.001, not
                // 0.0010000000474974513).
                let v = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Float(f) => (*f as f32).to_string(),
                    other => other.to_string(),
                };
                line.push_str(&format!(" {key}={v}"));
            }
        }
        line
    }
}

impl std::ops::Deref for OptimizerSpec {
    type Target = OptimizerConfig;
    fn deref(&self) -> &OptimizerConfig {
        &self.0
    }
}

impl std::fmt::Display for OptimizerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How Algorithm 1 measures a group's norm in the l2,1 shrinkage (docs/math.md, Theorem 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupNorm {
    /// `||s_t||_2` (Algorithm 1, the paper's recommendation).
    #[default]
    Plain,
    /// `||s_t / sqrt(D_t/2 + lambda2)||_2`: the exact minimizer of Theorem 1.
    /// (the paper's Eq. 10 omits the square root; the paper's own
    /// proof, Eq. 28-29, needs it: see `core::weighted_sq`.)
    Weighted,
    /// `||s_t / (D_t/2 + lambda2)||_2`, Eq. 10 as printed: the paper's
    /// printed variant, not an exact minimizer (docs/math.md); kept to
    /// reproduce the paper's Figure 2 runs.
    PaperEq10,
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

/// The penalty of the ProxGen family (docs/proxgen.md).
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

impl Regularizer {
    pub const ALL: [Regularizer; 7] = [
        Self::None,
        Self::L1,
        Self::L0,
        Self::LHalf,
        Self::LTwoThirds,
        Self::Group,
        Self::Binary,
    ];

    /// The config spelling, e.g. `l_half` (what serde reads and writes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::L1 => "l1",
            Self::L0 => "l0",
            Self::LHalf => "l_half",
            Self::LTwoThirds => "l_two_thirds",
            Self::Group => "group",
            Self::Binary => "binary",
        }
    }
}

impl std::fmt::Display for Regularizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hyperparameters of one optimizer. Defaults follow docs/math.md.
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
pub enum OptimizerConfigError {
    #[error("optimizer.{key} must be finite and > 0, got {value}")]
    NotPositive { key: &'static str, value: f32 },
    #[error("optimizer.{key} must be finite and >= 0, got {value}")]
    Negative { key: &'static str, value: f32 },
    #[error("optimizer.{key} must be in [0, 1), got {value}")]
    NotAFraction { key: &'static str, value: f32 },
    #[error("optimizer.{key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("optimizer.{key} is not used by {name} ({name} uses: {used}){hint}")]
    Unused {
        key: String,
        name: OptimizerName,
        used: String,
        hint: String,
    },
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
    /// unless the run config regularizes them too (docs/math.md).
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

    /// The config as a TOML table, every key present.
    fn table(&self) -> toml::Table {
        toml::Table::try_from(self).expect("an OptimizerConfig always serializes")
    }

    /// The first key that the named optimizer does not use but that is set
    /// away from its default. A set key is compared by value, not by its
    /// presence in a file: a run folder's `config.toml` and a sweep's base
    /// both carry every key (and checkpoints hash that full form).
    fn unused_key(&self) -> Option<String> {
        let used = self.name.keys();
        let default = Self::default().table();
        self.table()
            .into_iter()
            .find(|(key, v)| {
                key != "name" && !used.contains(&key.as_str()) && default.get(key) != Some(v)
            })
            .map(|(key, _)| key)
    }

    /// Validate every hyperparameter once; the optimizers take the result.
    pub fn check(&self) -> Result<OptimizerSpec, OptimizerConfigError> {
        fn positive(key: &'static str, value: f32) -> Result<(), OptimizerConfigError> {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(OptimizerConfigError::NotPositive { key, value })
            }
        }
        fn non_negative(key: &'static str, value: f32) -> Result<(), OptimizerConfigError> {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(OptimizerConfigError::Negative { key, value })
            }
        }
        fn fraction(key: &'static str, value: f32) -> Result<(), OptimizerConfigError> {
            if value.is_finite() && (0.0..1.0).contains(&value) {
                Ok(())
            } else {
                Err(OptimizerConfigError::NotAFraction { key, value })
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
            && ![1.0, 2.0 / 3.0, 0.5]
                .iter()
                .any(|q| (self.q - q).abs() < 1e-6)
        {
            return Err(OptimizerConfigError::Invalid {
                key: "q",
                reason: format!(
                    "must be 1, 2/3 or 1/2 for the binary regularizer, got {}",
                    self.q
                ),
            });
        }
        // Prox-SGD's second stage w + lr*(w_hat - w) is an interpolation.
        if self.name == OptimizerName::ProxSgd && self.lr > 1.0 {
            return Err(OptimizerConfigError::Invalid {
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
            return Err(OptimizerConfigError::Invalid {
                key: "regularizer",
                reason: "l0 has no useful subgradient; use prox_adam or prox_sgd_momentum for l0"
                    .into(),
            });
        }
        // After the value rules, so a bad value is named as such whatever
        // optimizer it is given to.
        if let Some(key) = self.unused_key() {
            return Err(OptimizerConfigError::Unused {
                hint: self.name.hint(&key),
                key,
                name: self.name,
                used: self.name.keys().join(", "),
            });
        }
        Ok(OptimizerSpec(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An enum is turned into text one way: `as_str` (and `Display`, which
    /// calls it) spells each value exactly as serde reads and writes it.
    #[test]
    fn as_str_is_the_serde_spelling() {
        fn serde_name<T: Serialize>(v: T) -> String {
            serde_json::to_value(v)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        }
        for n in OptimizerName::ALL {
            assert_eq!(n.as_str(), serde_name(n));
            assert_eq!(n.to_string(), n.as_str());
        }
        for r in Regularizer::ALL {
            assert_eq!(r.as_str(), serde_name(r));
            assert_eq!(r.to_string(), r.as_str());
        }
    }

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
            (
                OptimizerConfig {
                    lr: 0.0,
                    ..base.clone()
                },
                "optimizer.lr must be finite and > 0, got 0",
            ),
            (
                OptimizerConfig {
                    lr: f32::NAN,
                    ..base.clone()
                },
                "optimizer.lr must be finite and > 0, got NaN",
            ),
            (
                OptimizerConfig {
                    lambda21: -1.0,
                    ..base.clone()
                },
                "optimizer.lambda21 must be finite and >= 0, got -1",
            ),
            (
                OptimizerConfig {
                    lambda1: f32::INFINITY,
                    ..base.clone()
                },
                "optimizer.lambda1 must be finite and >= 0, got inf",
            ),
            (
                OptimizerConfig {
                    beta1: 1.0,
                    ..base.clone()
                },
                "optimizer.beta1 must be in [0, 1), got 1",
            ),
            (
                OptimizerConfig {
                    beta2: -0.1,
                    ..base.clone()
                },
                "optimizer.beta2 must be in [0, 1), got -0.1",
            ),
        ];
        for (cfg, msg) in cases {
            assert_eq!(cfg.check().unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<OptimizerConfig>("name = \"group_adam\"\nlamda21 = 1e-3\n")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `lamda21`"), "{err}");
        let ok: OptimizerConfig =
            toml::from_str("name = \"group_adam\"\nlambda21 = 1e-3\n").unwrap();
        assert_eq!(ok.lambda21, 1e-3);
        assert_eq!(ok.beta2, 0.999);
    }

    /// Three updates of one row of 4 by the optimizer `cfg` names, bypassing
    /// `check` (the point is to see what each key does to the weights).
    fn trained(cfg: &OptimizerConfig) -> Vec<u32> {
        let mut opt = crate::optim::Optimizer::new(&OptimizerSpec(cfg.clone()));
        let mut w = vec![0.3f32, -0.2, 0.05, 0.4];
        let mut state = vec![0.0; opt.state_len(w.len())];
        opt.init_state(&w, &mut state);
        let mut last = 0u32;
        for t in 1..=3 {
            opt.begin_step();
            let g: Vec<f32> = (0..4).map(|i| ((i + t) as f32 * 0.37).sin()).collect();
            let h: Vec<f32> = g.iter().map(|x| x.abs() + 0.1).collect();
            opt.update_group(&mut w, &mut state, &mut last, &g, Some(&h));
        }
        w.iter().map(|x| x.to_bits()).collect()
    }

    /// `cfg` with `key` moved to a valid non-default value.
    fn with_key(cfg: &OptimizerConfig, key: &str) -> OptimizerConfig {
        let value = match key {
            "group_norm" => toml::Value::from("weighted"),
            "lr_decay" => toml::Value::from("inv_sqrt"),
            // l0, not l1: past |z| > 1 + tau, l1 and binary (q = 1) shrink alike.
            "regularizer" => toml::Value::from("l0"),
            "q" => toml::Value::from(0.5),
            "lr" => toml::Value::from(0.05),
            "lambda1" | "lambda21" | "lambda2" | "lambda" => toml::Value::from(0.02),
            _ => toml::Value::from(0.5),
        };
        let mut t = cfg.table();
        assert!(t.insert(key.into(), value).is_some(), "{key} is a key");
        t.try_into().unwrap()
    }

    fn every_key() -> Vec<String> {
        OptimizerConfig::default()
            .table()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| k != "name")
            .collect()
    }

    /// `keys()` is exactly what each optimizer reads: moving a listed key
    /// changes the trained weights, moving any other changes nothing.
    #[test]
    fn keys_lists_exactly_what_each_optimizer_reads() {
        for name in OptimizerName::ALL {
            // Every penalty on, so that penalty-shaped keys (group_norm, q) act.
            let base = OptimizerConfig {
                lr: 0.1,
                lambda1: 1e-3,
                lambda21: 1e-3,
                lambda2: 1e-3,
                regularizer: Regularizer::Binary,
                lambda: 1e-2,
                ..OptimizerConfig::named(name)
            };
            let before = trained(&base);
            for key in every_key() {
                let changed = trained(&with_key(&base, &key)) != before;
                assert_eq!(
                    changed,
                    name.keys().contains(&key.as_str()),
                    "{name}: moving {key} changed the weights: {changed}"
                );
            }
        }
    }

    /// `check` accepts every used key set and refuses every other one by
    /// name, listing the keys the optimizer uses.
    #[test]
    fn check_refuses_every_unused_key_and_accepts_every_used_one() {
        for name in OptimizerName::ALL {
            for key in every_key() {
                let cfg = with_key(&OptimizerConfig::named(name), &key);
                let got = cfg.check().map(|_| ()).map_err(|e| e.to_string());
                if name.keys().contains(&key.as_str()) {
                    assert_eq!(got, Ok(()), "{name} {key}");
                } else {
                    let want = format!(
                        "optimizer.{key} is not used by {name} ({name} uses: {})",
                        name.keys().join(", ")
                    );
                    let msg = got.unwrap_err();
                    assert!(msg.starts_with(&want), "{name} {key}: {msg}");
                }
            }
        }
    }

    #[test]
    fn unused_key_messages_point_to_the_optimizer_that_uses_it() {
        let cases = [
            (
                OptimizerConfig {
                    lambda21: 1e-3,
                    ..OptimizerConfig::named(OptimizerName::Adam)
                },
                "optimizer.lambda21 is not used by adam (adam uses: lr, beta1, beta2, eps, lr_decay); use group_adam for l2,1 regularization",
            ),
            (
                OptimizerConfig {
                    lambda21: 1e-3,
                    ..OptimizerConfig::named(OptimizerName::Ftrl)
                },
                "optimizer.lambda21 is not used by ftrl (ftrl uses: lr, initial_accumulator, ftrl_beta, lambda1, lambda2); use a group_* optimizer for l2,1 regularization",
            ),
            (
                OptimizerConfig {
                    lambda: 1e-3,
                    ..OptimizerConfig::named(OptimizerName::GroupAdam)
                },
                "optimizer.lambda is not used by group_adam (group_adam uses: lr, beta1, beta2, eps, lr_decay, lambda1, lambda21, lambda2, group_norm); use prox_adam, prox_sgd_momentum, prox_sgd or subgradient for a ProxGen penalty",
            ),
            (
                OptimizerConfig {
                    lambda1: 1e-3,
                    ..OptimizerConfig::named(OptimizerName::ProxAdam)
                },
                "optimizer.lambda1 is not used by prox_adam (prox_adam uses: lr, beta1, beta2, eps, regularizer, lambda, q); the prox family is regularized by `regularizer` and `lambda`",
            ),
            (
                OptimizerConfig {
                    beta2: 0.99,
                    ..OptimizerConfig::named(OptimizerName::ProxSgdMomentum)
                },
                "optimizer.beta2 is not used by prox_sgd_momentum (prox_sgd_momentum uses: lr, beta1, regularizer, lambda, q)",
            ),
        ];
        for (cfg, want) in cases {
            assert_eq!(cfg.check().unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn describe_names_every_used_key() {
        let spec = OptimizerConfig {
            lambda21: 1e-4,
            ..OptimizerConfig::named(OptimizerName::GroupAdam)
        }
        .check()
        .unwrap();
        assert_eq!(
            spec.describe(),
            "group_adam lr=0.001 beta1=0.9 beta2=0.999 eps=0.00000001 lr_decay=constant lambda1=0 lambda21=0.0001 lambda2=0 group_norm=plain"
        );
    }
}
