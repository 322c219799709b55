//! The model config section: per-kind paper defaults, serde, validation.

use ctr_run::model::{build, ModelConfig, ModelError, ModelKind};

fn parse(s: &str) -> Result<ModelConfig, toml::de::Error> {
    toml::from_str(s)
}

#[test]
fn defaults_are_the_papers_per_kind() {
    let m = ModelConfig::default_for(ModelKind::Mlp);
    assert_eq!(
        (m.embed_dim, m.hidden_sizes(), m.dropout_rate()),
        (16, &[64, 32, 16][..], 0.0)
    );
    let o = ModelConfig::default_for(ModelKind::Opnn);
    assert_eq!(
        (o.embed_dim, o.hidden_sizes(), o.dropout_rate()),
        (10, &[512, 256, 128][..], 0.5)
    );
    let d = ModelConfig::default_for(ModelKind::Dcn);
    assert_eq!(
        (d.embed_dim, d.hidden_sizes(), d.cross_layers),
        (8, &[64, 64][..], 2)
    );
    let l = ModelConfig::default_for(ModelKind::Lr);
    assert_eq!(
        (l.embed_dim, l.hidden_sizes().len(), l.init_std),
        (1, 0, 0.0)
    );
    assert_eq!(ModelConfig::default(), m);
    for k in ModelKind::ALL {
        ModelConfig::default_for(k).check().unwrap();
    }
}

#[test]
fn toml_fills_missing_keys_from_the_kind_read() {
    // `kind = "opnn"` alone is the paper's OPNN, not OPNN with MLP sizes.
    assert_eq!(
        parse("kind = \"opnn\"").unwrap(),
        ModelConfig::default_for(ModelKind::Opnn)
    );
    assert_eq!(
        parse("kind = \"lr\"").unwrap(),
        ModelConfig::default_for(ModelKind::Lr)
    );
    assert_eq!(parse("").unwrap(), ModelConfig::default_for(ModelKind::Mlp));
    let c = parse("kind = \"dcn\"\nembed_dim = 4\nhidden = [8]\ncross_layers = 3\ndropout = 0.1\ninit_std = 0.05").unwrap();
    assert_eq!(c.embed_dim, 4);
    assert_eq!(c.hidden_sizes(), &[8]);
    assert_eq!(c.cross_layers, 3);
    assert_eq!(c.dropout_rate(), 0.1);
    assert_eq!(c.init_std, 0.05);
    // The resolved config round-trips.
    let s = toml::to_string(&c).unwrap();
    assert_eq!(parse(&s).unwrap(), c);
}

#[test]
fn unknown_keys_and_kinds_are_refused() {
    let e = parse("kind = \"mlp\"\nembed_dims = 8")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `embed_dims`"), "{e}");
    assert!(e.contains("embed_dim"), "lists the valid keys: {e}");
    let e = parse("kind = \"pnn\"").unwrap_err().to_string();
    assert!(e.contains("unknown variant `pnn`"), "{e}");
}

#[test]
fn check_refuses_invalid_values_with_the_key() {
    let key = |c: ModelConfig| match c.check() {
        Err(ModelError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    };
    let base = |k| ModelConfig::default_for(k);
    assert_eq!(
        key(ModelConfig {
            embed_dim: 0,
            ..base(ModelKind::Mlp)
        }),
        "embed_dim"
    );
    assert_eq!(
        key(ModelConfig {
            embed_dim: 2,
            ..base(ModelKind::Lr)
        }),
        "embed_dim"
    );
    assert_eq!(
        key(ModelConfig {
            hidden: Some(vec![8]),
            ..base(ModelKind::Lr)
        }),
        "hidden"
    );
    assert_eq!(
        key(ModelConfig {
            dropout: Some(0.5),
            ..base(ModelKind::Lr)
        }),
        "dropout"
    );
    assert_eq!(
        key(ModelConfig {
            hidden: Some(vec![64, 0]),
            ..base(ModelKind::Mlp)
        }),
        "hidden"
    );
    assert_eq!(
        key(ModelConfig {
            hidden: Some(vec![]),
            ..base(ModelKind::Opnn)
        }),
        "hidden"
    );
    assert_eq!(
        key(ModelConfig {
            dropout: Some(1.0),
            ..base(ModelKind::Opnn)
        }),
        "dropout"
    );
    assert_eq!(
        key(ModelConfig {
            dropout: Some(-0.1),
            ..base(ModelKind::Mlp)
        }),
        "dropout"
    );
    assert_eq!(
        key(ModelConfig {
            dropout: Some(f32::NAN),
            ..base(ModelKind::Mlp)
        }),
        "dropout"
    );
    assert_eq!(
        key(ModelConfig {
            init_std: -1.0,
            ..base(ModelKind::Mlp)
        }),
        "init_std"
    );
    assert_eq!(
        key(ModelConfig {
            init_std: f32::INFINITY,
            ..base(ModelKind::Mlp)
        }),
        "init_std"
    );
    // Empty hidden lists are valid where the model still makes sense.
    ModelConfig {
        hidden: Some(vec![]),
        ..base(ModelKind::Mlp)
    }
    .check()
    .unwrap();
    ModelConfig {
        hidden: Some(vec![]),
        cross_layers: 0,
        ..base(ModelKind::Dcn)
    }
    .check()
    .unwrap();
    // build() checks too.
    let bad = ModelConfig {
        embed_dim: 0,
        ..base(ModelKind::Mlp)
    };
    assert!(matches!(
        build(&bad, 3, 0, 1, &candle_core::Device::Cpu),
        Err(ModelError::Config { .. })
    ));
}
