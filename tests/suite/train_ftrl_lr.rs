//! Issue 4, point 1: logistic regression trained by ctr-run with Group
//! Adagrad at lambda21 = 0 (lambda1, lambda2 > 0) makes the same predictions
//! as an FTRL-Proximal logistic regression written here from McMahan et al.
//! (2013), Algorithm 1, sharing no code with ctr-run's optimizers or models.

use std::collections::HashMap;

use ctr_run::config::RunConfig;
use ctr_run::data::{self, Batch, Split};
use ctr_run::train::Trainer;

use crate::cli_common::{have_avazu_sample, TomlConfig, AVAZU_SAMPLE};

/// Per-coordinate FTRL-Proximal with beta = 0 and the TensorFlow
/// conventions of docs/math.md (accumulator starts at `init_acc`; l2 enters the
/// denominator as 2 * lambda2).
struct Ftrl {
    alpha: f64,
    l1: f64,
    l2: f64,
    init_acc: f64,
    z: HashMap<u64, f64>,
    n: HashMap<u64, f64>,
}

impl Ftrl {
    fn weight(&self, k: u64) -> f64 {
        let Some(&z) = self.z.get(&k) else { return 0.0 };
        if z.abs() <= self.l1 {
            return 0.0;
        }
        let n = self.n[&k];
        -(z - z.signum() * self.l1) / (n.sqrt() / self.alpha + 2.0 * self.l2)
    }

    fn update(&mut self, k: u64, g: f64) {
        let w = self.weight(k);
        let n_old = *self.n.get(&k).unwrap_or(&self.init_acc);
        let n_new = n_old + g * g;
        // First update: sigma uses sqrt(n_old) = 0 (the row had no D yet).
        let first = !self.z.contains_key(&k);
        let sigma = (n_new.sqrt() - if first { 0.0 } else { n_old.sqrt() }) / self.alpha;
        *self.z.entry(k).or_insert(0.0) += g - sigma * w;
        self.n.insert(k, n_new);
    }
}

/// A zero-initialised logistic regression (one weight per feature) on the
/// Avazu sample; `optimizer` is the `[optimizer]` section.
fn config(optimizer: &str) -> RunConfig {
    let text = TomlConfig::new()
        .set("name", "ftrl-check")
        .set("seed", 3)
        .set("threads", 1)
        .set("data.format", "avazu")
        .set("data.train", AVAZU_SAMPLE)
        .set("data.split", "fraction")
        .set("data.train_fraction", 0.8)
        .set("data.cache", false)
        .set("model.kind", "lr")
        .set("model.embed_dim", 1)
        .set("model.init_std", 0.0)
        .raw("optimizer", optimizer)
        .set("train.batch_size", 64)
        .text();
    RunConfig::parse(&text).expect("valid config")
}

#[test]
fn lr_group_adagrad_matches_independent_ftrl_proximal() {
    if !have_avazu_sample() {
        return;
    }
    let (alpha, l1, l2, acc) = (0.05, 0.01, 0.02, 0.1);
    let cfg = config(&format!(
        "name = \"group_adagrad\"\nlr = {alpha}\nlambda1 = {l1}\nlambda21 = 0.0\nlambda2 = {l2}\ninitial_accumulator = {acc}"
    ));
    let mut trainer = Trainer::for_config(&cfg).unwrap();
    let mut reference = Ftrl {
        alpha,
        l1,
        l2,
        init_acc: acc,
        z: HashMap::new(),
        n: HashMap::new(),
    };
    // The bias: the dense optimizer is Group Adagrad with lambdas 0, which
    // from a zero start is FTRL with lambdas 0 (Theorem 2 + docs/math.md).
    let mut bias = Ftrl {
        alpha,
        l1: 0.0,
        l2: 0.0,
        init_acc: acc,
        z: HashMap::new(),
        n: HashMap::new(),
    };

    let mut source = data::open(&cfg.data, Split::Train, cfg.train.batch_size).unwrap();
    let mut batch = Batch::default();
    let mut logits = Vec::new();
    let mut batches = 0;
    while source.next_batch(&mut batch).unwrap() {
        // Reference forward with the weights before this batch's update.
        let n = batch.len;
        let mut grads: HashMap<u64, f64> = HashMap::new();
        let mut g_bias = 0.0;
        let mut ref_logits = Vec::with_capacity(n);
        for i in 0..n {
            let mut s = bias.weight(0);
            for f in 0..batch.n_fields {
                for &k in batch.bag(i, f) {
                    s += reference.weight(k);
                }
            }
            ref_logits.push(s);
            let p = 1.0 / (1.0 + (-s).exp());
            let g = (p - batch.labels[i] as f64) / n as f64;
            g_bias += g;
            for f in 0..batch.n_fields {
                for &k in batch.bag(i, f) {
                    *grads.entry(k).or_insert(0.0) += g;
                }
            }
        }
        trainer.train_batch(&batch, Some(&mut logits)).unwrap();
        for (a, b) in logits.iter().zip(&ref_logits) {
            assert!(
                (*a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "batch {batches}: logit {a} vs FTRL {b}"
            );
        }
        for (k, g) in grads {
            reference.update(k, g);
        }
        bias.update(0, g_bias);
        batches += 1;
    }
    assert!(batches >= 100, "the sample gives {batches} batches");

    // Predictions on the test split agree too.
    let mut test = data::open(&cfg.data, Split::Test, cfg.train.batch_size).unwrap();
    let mut compared = 0;
    while test.next_batch(&mut batch).unwrap() {
        trainer.logits(&batch, &mut logits).unwrap();
        for (i, &logit) in logits.iter().enumerate().take(batch.len) {
            let mut s = bias.weight(0);
            for f in 0..batch.n_fields {
                for &k in batch.bag(i, f) {
                    s += reference.weight(k);
                }
            }
            assert!(
                (logit as f64 - s).abs() <= 1e-5 * (1.0 + s.abs()),
                "test logit {logit} vs FTRL {s}"
            );
            compared += 1;
        }
    }
    assert!(compared > 1000, "compared {compared} test predictions");
    // l1 makes some weights exactly zero in both.
    let zero_ref = reference
        .z
        .keys()
        .filter(|&&k| reference.weight(k) == 0.0)
        .count();
    let sparsity = trainer.sparsity();
    assert_eq!(sparsity.seen_features as usize, reference.z.len());
    assert_eq!(
        (sparsity.seen_features - sparsity.nonzero_features) as usize,
        zero_ref
    );
    assert!(zero_ref > 0, "l1 = {l1} should zero some features");
}
