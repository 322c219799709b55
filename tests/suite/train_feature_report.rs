//! The feature report of a sparse run (`features.csv`, `kept_features.csv`)
//! against `ctr-run export`: the kept features are exactly the exported
//! non-zero rows (same keys, norms within 1e-6), each value text hashes to
//! its key, and the per-field counts add up to metrics.json's.

use std::collections::HashMap;

use safetensors::SafeTensors;

use crate::cli_common::{export, have_avazu_sample, json, run_ok, TomlConfig};

#[test]
fn the_kept_features_are_the_exported_non_zero_rows() {
    if !have_avazu_sample() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = TomlConfig::on_avazu_sample(tmp.path(), "fr")
        .set("model.kind", "mlp")
        .set("model.embed_dim", 4)
        .optimizer("group_adam", 0.002)
        .set("optimizer.lambda21", 0.001)
        .set("train.save_model", true)
        .write(&tmp.path().join("fr.toml"));
    run_ok(&["train", "-q", "-c", cfg.to_str().unwrap()]);
    let run = tmp.path().join("fr");
    let model = tmp.path().join("fr.safetensors");
    export(&run, &model);
    let bytes = std::fs::read(&model).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let keys: Vec<u64> = st
        .tensor("keys")
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let emb = st.tensor("embeddings").unwrap();
    let d = emb.shape()[1];
    let rows: Vec<f32> = emb
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let exported: HashMap<u64, f64> = keys
        .iter()
        .zip(rows.chunks_exact(d))
        .map(|(&k, r)| (k, r.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt()))
        .collect();

    let mut r = csv::Reader::from_path(run.join("kept_features.csv")).unwrap();
    assert_eq!(r.headers().unwrap(), vec!["field", "value", "key", "norm"]);
    let mut reported = HashMap::new();
    let mut last = f64::INFINITY;
    for rec in r.records() {
        let rec = rec.unwrap();
        let key = u64::from_str_radix(&rec[2], 16).unwrap();
        let norm: f64 = rec[3].parse().unwrap();
        assert!(norm <= last, "not sorted by norm");
        last = norm;
        assert_eq!(
            ctr_run::data::feature_key(&rec[0], &rec[1]),
            key,
            "value text {:?} of field {} does not hash to its key",
            &rec[1],
            &rec[0]
        );
        assert!(reported.insert(key, norm).is_none(), "key listed twice");
    }
    let m = json(&run.join("metrics.json"));
    let nonzero = m["nonzero_features"].as_u64().unwrap();
    assert!(
        nonzero < m["seen_features"].as_u64().unwrap(),
        "nothing was sparse"
    );
    assert_eq!(reported.len() as u64, nonzero);
    assert_eq!(reported.len(), exported.len());
    for (k, n) in &exported {
        let got = reported
            .get(k)
            .unwrap_or_else(|| panic!("key {k:016x} not reported"));
        assert!((got - n).abs() <= 1e-6, "key {k:016x}: {got} vs {n}");
    }

    let mut f = csv::Reader::from_path(run.join("features.csv")).unwrap();
    assert_eq!(f.headers().unwrap(), vec!["field", "seen", "kept", "rate"]);
    let (mut seen, mut kept) = (0, 0);
    let mut fields = Vec::new();
    for rec in f.records() {
        let rec = rec.unwrap();
        let (s, k): (u64, u64) = (rec[1].parse().unwrap(), rec[2].parse().unwrap());
        let rate: f64 = rec[3].parse().unwrap();
        assert!((rate - k as f64 / s as f64).abs() < 1e-6);
        seen += s;
        kept += k;
        fields.push(rec[0].to_string());
    }
    assert!(!fields.contains(&"?".to_string()), "a key without a field");
    assert_eq!(fields.len(), 22, "{fields:?}");
    assert_eq!(seen, m["seen_features"].as_u64().unwrap());
    assert_eq!(kept, nonzero);
}
