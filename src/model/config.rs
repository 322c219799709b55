//! The model section of a run config, validated once (`check`).
//!
//! Defaults depend on the kind (the paper's settings, Section 4.1): a TOML
//! section `kind = "opnn"` with nothing else must mean "OPNN as in the
//! paper", not "OPNN with the MLP's embedding size". So deserialization goes
//! through [`RawModelConfig`], whose missing fields are filled from
//! [`ModelConfig::default_for`] of the kind that was read.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// Which network sits on top of the embeddings (docs/models.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Concatenated embeddings -> 64 -> 32 -> 16 -> 1 (Avazu).
    #[default]
    Mlp,
    /// Outer-product PNN with sum pooling (iPinYou).
    Opnn,
    /// Deep & Cross Network (Criteo).
    Dcn,
    /// Logistic regression: the logit is the sum of 1-d embeddings + bias.
    Lr,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [Self::Mlp, Self::Opnn, Self::Dcn, Self::Lr];

    /// The config spelling, e.g. `opnn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mlp => "mlp",
            Self::Opnn => "opnn",
            Self::Dcn => "dcn",
            Self::Lr => "lr",
        }
    }

    /// The paper's hidden-layer widths for this kind (Section 4.1).
    ///
    /// OPNN: the paper says "one product layer and three hidden layers of
    /// size 512, 256, 128". In the PNN paper the product layer's output is
    /// the first hidden layer `l1 = relu(W_z z + W_p vec(p) + b)`, so `l1` is
    /// 512 wide and is followed by 256, 128 and the output unit.
    pub fn paper_hidden(self) -> &'static [usize] {
        match self {
            Self::Mlp => &[64, 32, 16],
            Self::Opnn => &[512, 256, 128],
            Self::Dcn => &[64, 64],
            Self::Lr => &[],
        }
    }

    /// The paper's embedding size for this kind (LR: 1, a weight per feature).
    pub fn paper_embed_dim(self) -> usize {
        match self {
            Self::Mlp => 16,
            Self::Opnn => 10,
            Self::Dcn => 8,
            Self::Lr => 1,
        }
    }

    /// The paper's dropout rate for this kind (only OPNN uses dropout).
    pub fn paper_dropout(self) -> f32 {
        match self {
            Self::Opnn => 0.5,
            _ => 0.0,
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The model of a run.
///
/// Dense-layer initialization is not configurable on purpose: weights are
/// Glorot (Xavier) uniform, `U(-a, a)` with `a = sqrt(6 / (fan_in +
/// fan_out))` (TensorFlow's default, which the paper's code used), biases
/// zero, drawn deterministically from the run seed. `init_std` is the scale
/// of the *embedding* rows, which the embedding store draws.
///
/// Deserialization goes through `RawModelConfig` (`from`), which refuses
/// unknown keys and fills missing ones with the defaults of the kind read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, from = "RawModelConfig")]
pub struct ModelConfig {
    /// `mlp`, `opnn`, `dcn` or `lr`.
    pub kind: ModelKind,
    /// Embedding size d of every field (LR: must be 1).
    pub embed_dim: usize,
    /// Hidden-layer widths; `None` = the paper's sizes for the kind
    /// ([`ModelKind::paper_hidden`]). OPNN: the first entry is the width of
    /// the product layer's output `l1`. DCN: the deep part.
    pub hidden: Option<Vec<usize>>,
    /// Dropout rate after every hidden ReLU during training; `None` = the
    /// paper's (OPNN 0.5, others 0).
    pub dropout: Option<f32>,
    /// Number of cross layers (DCN only).
    pub cross_layers: usize,
    /// Standard deviation of the normal init of embedding rows (0 = zeros,
    /// as FTRL starts; the LR default).
    pub init_std: f32,
}

/// What a config file may contain; every field optional, unknown keys refused.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawModelConfig {
    kind: ModelKind,
    embed_dim: Option<usize>,
    hidden: Option<Vec<usize>>,
    dropout: Option<f32>,
    cross_layers: Option<usize>,
    init_std: Option<f32>,
}

impl From<RawModelConfig> for ModelConfig {
    fn from(raw: RawModelConfig) -> Self {
        let d = ModelConfig::default_for(raw.kind);
        ModelConfig {
            kind: raw.kind,
            embed_dim: raw.embed_dim.unwrap_or(d.embed_dim),
            hidden: raw.hidden,
            dropout: raw.dropout,
            cross_layers: raw.cross_layers.unwrap_or(d.cross_layers),
            init_std: raw.init_std.unwrap_or(d.init_std),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self::default_for(ModelKind::Mlp)
    }
}

impl ModelConfig {
    /// The paper's setting for `kind`: MLP dim 16, OPNN dim 10 (dropout
    /// 0.5), DCN dim 8 with 2 cross layers, LR dim 1 starting from zero.
    pub fn default_for(kind: ModelKind) -> Self {
        ModelConfig {
            kind,
            embed_dim: kind.paper_embed_dim(),
            hidden: None,
            dropout: None,
            cross_layers: 2,
            // LR starts from zero weights as FTRL does (issue 4, item 1);
            // the networks need a random start to break symmetry.
            init_std: if kind == ModelKind::Lr { 0.0 } else { 0.01 },
        }
    }

    /// Hidden widths in effect (the configured ones or the paper's).
    pub fn hidden_sizes(&self) -> &[usize] {
        match &self.hidden {
            Some(h) => h,
            None => self.kind.paper_hidden(),
        }
    }

    /// Dropout rate in effect during training.
    pub fn dropout_rate(&self) -> f32 {
        self.dropout.unwrap_or_else(|| self.kind.paper_dropout())
    }

    /// Validate once; models built from a checked config never re-check.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |key: &'static str, msg: String| Err(ModelError::Config { key, msg });
        if self.embed_dim == 0 {
            return bad("embed_dim", "must be >= 1".into());
        }
        if let Some(h) = &self.hidden {
            if h.contains(&0) {
                return bad("hidden", format!("every width must be >= 1, got {h:?}"));
            }
        }
        let p = self.dropout_rate();
        if !(0.0..1.0).contains(&p) {
            return bad("dropout", format!("must be in [0, 1), got {p}"));
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return bad(
                "init_std",
                format!("must be finite and >= 0, got {}", self.init_std),
            );
        }
        match self.kind {
            ModelKind::Lr => {
                if self.embed_dim != 1 {
                    return bad(
                        "embed_dim",
                        format!("lr needs embed_dim = 1, got {}", self.embed_dim),
                    );
                }
                if !self.hidden_sizes().is_empty() {
                    return bad("hidden", "lr has no hidden layers".into());
                }
                if p != 0.0 {
                    return bad("dropout", "lr has no dropout".into());
                }
            }
            ModelKind::Opnn => {
                if self.hidden_sizes().is_empty() {
                    return bad(
                        "hidden",
                        "opnn needs at least the product layer's width (e.g. [512, 256, 128])"
                            .into(),
                    );
                }
            }
            ModelKind::Mlp | ModelKind::Dcn => {}
        }
        // A setting that would change nothing is refused, like an unused
        // optimizer key (compared by value: stored configs carry every key).
        if self.kind != ModelKind::Dcn
            && self.cross_layers != Self::default_for(self.kind).cross_layers
        {
            return bad(
                "cross_layers",
                format!(
                    "not used by {} ({} uses: kind, embed_dim, hidden, dropout, init_std); only dcn has cross layers",
                    self.kind, self.kind
                ),
            );
        }
        Ok(())
    }
}
