//! The `gen` and `data inspect` commands, called through their run functions.

use ctr_run::cli::data::{DataArgs, DataCommand, InspectArgs};
use ctr_run::cli::gen::GenArgs;
use ctr_run::data::{load_truth, truth_path, Format};

#[test]
fn gen_then_inspect() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("a.csv.gz");
    let args = GenArgs {
        format: Format::Avazu,
        rows: 2000,
        seed: 4,
        out: out.clone(),
        click_rate: Some(0.3),
        signal: None,
        informative_fields: Some(5),
        informative_values: None,
        zipf: None,
        cardinality_scale: Some(0.01),
        days: None,
        stream: None,
    };
    ctr_run::cli::gen::run(&args).unwrap();
    let truth = load_truth(&truth_path(&out)).unwrap();
    assert_eq!(truth.rows, 2000);
    assert_eq!(truth.fields.iter().filter(|f| f.informative).count(), 5);
    assert_eq!(truth.knobs.click_rate, Some(0.3));
    let inspect = |format: Format, json: bool| {
        ctr_run::cli::data::run(&DataArgs {
            command: DataCommand::Inspect(InspectArgs {
                file: out.clone(),
                format,
                schema: None,
                criteo_integers: "log2_bucket".into(),
                usertag: false,
                max_rows: None,
                json,
            }),
        })
    };
    inspect(Format::Avazu, false).unwrap();
    inspect(Format::Avazu, true).unwrap();
    // The wrong format: inspect reports every line as malformed (the header
    // too: Criteo has none), quoting the first errors.
    inspect(Format::Criteo, false).unwrap();
    let cfg = ctr_run::data::DataConfig {
        cache: false,
        ..ctr_run::data::DataConfig::for_file(Format::Criteo, &out)
    };
    let r = ctr_run::data::inspect(&cfg, &out).unwrap();
    assert_eq!((r.rows, r.bad_rows), (0, 2001));
    assert_eq!(
        r.first_errors[0],
        format!("{}: line 1: expected 40 columns, found 1", out.display())
    ); // tab-separated: one column
       // Bad knobs are refused.
    let e = ctr_run::cli::gen::run(&GenArgs {
        zipf: Some(1.0),
        ..args
    })
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "data config: synthetic.knobs.zipf must be > 0 and != 1, got 1"
    );
}
