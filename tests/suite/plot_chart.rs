//! Plots: both files written, SVG carries the labels and legend, PNG has the
//! requested size, real content, visible text and error bars; identical input
//! gives identical bytes; bad input is a typed error.
//!
//! Set `CTR_RUN_PLOT_KEEP=/some/dir` to also keep the example charts there
//! for looking at them.

use ctr_run::experiment::plot::{
    line_chart, output_paths, ChartSpec, LegendPosition, PlotError, Point, Series,
};
use std::path::Path;

/// The Okabe-Ito colours the first three series get, in order.
const SERIES_RGB: [[u8; 3]; 3] = [[0, 114, 178], [213, 94, 0], [0, 158, 115]];

fn auc_vs_rate() -> (ChartSpec, Vec<Series>) {
    let spec = ChartSpec {
        title: "AUC vs feature rate (synthetic)".into(),
        x_label: "feature rate".into(),
        y_label: "test AUC".into(),
        legend: LegendPosition::LowerRight,
        ..ChartSpec::default()
    };
    let group = Series {
        label: "Group Adam".into(),
        points: [
            (0.05, 0.7702, 0.0011),
            (0.1, 0.7771, 0.0008),
            (0.2, 0.7803, 0.0006),
            (0.4, 0.7811, 0.0005),
            (0.8, 0.7814, 0.0004),
        ]
        .iter()
        .map(|&(x, y, e)| Point::new(x, y).with_y_err(e).with_x_err(x * 0.04))
        .collect(),
    };
    let pruned = Series {
        label: "Adam + pruning".into(),
        points: [
            (0.05, 0.7601, 0.0015),
            (0.1, 0.7712, 0.0012),
            (0.2, 0.7779, 0.0007),
            (0.4, 0.7801, 0.0006),
            (0.8, 0.7810, 0.0004),
        ]
        .iter()
        .map(|&(x, y, e)| Point::new(x, y).with_y_err(e))
        .collect(),
    };
    let dense = Series {
        label: "Adam (dense)".into(),
        points: vec![Point::new(1.0, 0.7815).with_y_err(0.0004)],
    };
    (spec, vec![group, pruned, dense])
}

/// Decodes an 8-bit RGB or RGBA PNG into (width, height, rgb pixels).
fn decode_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let px = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

fn keep(stem: &Path) {
    if let Some(dir) = std::env::var_os("CTR_RUN_PLOT_KEEP") {
        let (svg, png) = output_paths(stem);
        for f in [svg, png] {
            std::fs::copy(&f, Path::new(&dir).join(f.file_name().unwrap())).unwrap();
        }
    }
}

fn is_dark(p: [u8; 3]) -> bool {
    p.iter().all(|&c| c < 100)
}

#[test]
fn writes_svg_and_png_with_labels_legend_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("auc_vs_rate");
    let (spec, series) = auc_vs_rate();
    line_chart(&spec, &series, &stem).unwrap();
    keep(&stem);
    let (svg_path, png_path) = output_paths(&stem);

    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(
        svg.starts_with("<svg"),
        "not an SVG: {}",
        &svg[..svg.len().min(80)]
    );
    for text in [
        "AUC vs feature rate (synthetic)",
        "feature rate",
        "test AUC",
        "Group Adam",
        "Adam + pruning",
        "Adam (dense)",
    ] {
        assert!(
            svg.contains(&format!(">{text}<")) || svg.contains(&format!(">\n{text}\n<")),
            "SVG lacks text {text:?}"
        );
    }

    let (w, h, px) = decode_png(&png_path);
    assert_eq!((w, h), (spec.width, spec.height));
    let at = |x: u32, y: u32| px[(y * w + x) as usize];
    let non_white = px.iter().filter(|p| **p != [255, 255, 255]).count();
    let frac = non_white as f64 / px.len() as f64;
    assert!((0.02..0.5).contains(&frac), "non-white fraction {frac}");
    // Every series is drawn in its own colour.
    for rgb in SERIES_RGB {
        let n = px.iter().filter(|p| **p == rgb).count();
        assert!(n >= 50, "colour {rgb:?} has only {n} pixels");
    }
    // Text was rasterized (the bundled font works): dark pixels in the title
    // band, in the x-axis label band at the bottom, and in the y-axis label band at the left.
    let dark_in = |xs: std::ops::Range<u32>, ys: std::ops::Range<u32>| {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| is_dark(at(x, y)))
            .count()
    };
    assert!(dark_in(0..w, 0..45) > 100, "no title text");
    assert!(dark_in(w / 4..3 * w / 4, h - 35..h) > 50, "no x-axis label");
    assert!(dark_in(0..40, h / 4..3 * h / 4) > 50, "no y-axis label");
}

/// A point with a tall error bar and a bare one, no lines: in the left third
/// (the first point) the series colour spans far more rows than in the middle
/// third (the bare marker, 11 px tall). The legend sits in the upper right.
#[test]
fn error_bars_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("bars");
    let spec = ChartSpec {
        lines: false,
        width: 450,
        height: 300,
        legend: LegendPosition::UpperRight,
        ..ChartSpec::default()
    };
    let s = Series {
        label: "s".into(),
        points: vec![
            Point::new(1.0, 0.0).with_y_err(1.0),
            Point::new(2.0, 0.0),
            Point::new(3.0, 0.0).with_x_err(0.4),
        ],
    };
    line_chart(&spec, &[s], &stem).unwrap();
    keep(&stem);
    let (w, h, px) = decode_png(&output_paths(&stem).1);
    // (rows, columns) spanned by the series colour inside a box.
    let span = |xs: std::ops::Range<u32>, ys: std::ops::Range<u32>| {
        let hits: Vec<(u32, u32)> = ys
            .flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| px[(y * w + x) as usize] == SERIES_RGB[0])
            .collect();
        let ext = |f: fn(&(u32, u32)) -> u32| {
            hits.iter().map(f).max().unwrap_or(0) - hits.iter().map(f).min().unwrap_or(0)
        };
        (ext(|p| p.1), ext(|p| p.0))
    };
    let (bar_rows, _) = span(0..w / 3, 0..h);
    let (bare_rows, bare_cols) = span(w / 3..2 * w / 3, 0..h);
    assert!(
        bar_rows > 100,
        "vertical error bar spans only {bar_rows} rows"
    );
    assert!(
        bare_rows <= 12 && bare_cols <= 12,
        "bare marker spans {bare_rows}x{bare_cols}"
    );
    // The third point's horizontal bar: wide in columns; the middle band of
    // rows keeps the legend's marker out.
    let (_, right_cols) = span(2 * w / 3..w, h / 3..2 * h / 3);
    assert!(
        right_cols > 30,
        "horizontal error bar spans only {right_cols} columns"
    );
}

#[test]
fn log_x_chart_renders() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("rate_vs_lambda");
    let spec = ChartSpec {
        title: "Feature rate vs λ₂₁".into(),
        x_label: "λ₂₁ (log scale)".into(),
        y_label: "feature rate".into(),
        log_x: true,
        legend: LegendPosition::UpperRight,
        ..ChartSpec::default()
    };
    let mk = |label: &str, scale: f64| Series {
        label: label.into(),
        points: [1e-5, 1e-4, 1e-3, 1e-2]
            .iter()
            .enumerate()
            .map(|(i, &l)| Point::new(l, scale * 0.9f64.powi(3 * i as i32)).with_y_err(0.02))
            .collect(),
    };
    line_chart(&spec, &[mk("ℓ21", 0.9), mk("ℓ1", 1.0)], &stem).unwrap();
    keep(&stem);
    let (svg_path, png_path) = output_paths(&stem);
    let svg = std::fs::read_to_string(svg_path).unwrap();
    for text in ["λ₂₁ (log scale)", "feature rate", "ℓ21", "ℓ1"] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
    let (w, h, _) = decode_png(&png_path);
    assert_eq!((w, h), (900, 600));
}

#[test]
fn identical_input_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, series) = auc_vs_rate();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    line_chart(&spec, &series, &a).unwrap();
    line_chart(&spec, &series, &b).unwrap();
    let (sa, pa) = output_paths(&a);
    let (sb, pb) = output_paths(&b);
    assert_eq!(std::fs::read(sa).unwrap(), std::fs::read(sb).unwrap());
    assert_eq!(std::fs::read(pa).unwrap(), std::fs::read(pb).unwrap());
}

#[test]
fn bad_input_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("bad");
    let spec = ChartSpec::default();
    let one = |p: Point| {
        vec![Series {
            label: "s".into(),
            points: vec![p],
        }]
    };
    assert!(matches!(
        line_chart(&spec, &[], &stem),
        Err(PlotError::NoData)
    ));
    assert!(matches!(
        line_chart(&spec, &one(Point::new(f64::NAN, 1.0)), &stem),
        Err(PlotError::NonFinite { index: 0, .. })
    ));
    assert!(matches!(
        line_chart(&spec, &one(Point::new(1.0, 1.0).with_y_err(-0.1)), &stem),
        Err(PlotError::NegativeError { .. })
    ));
    let log = ChartSpec {
        log_x: true,
        ..ChartSpec::default()
    };
    assert!(matches!(
        line_chart(&log, &one(Point::new(0.0, 1.0)), &stem),
        Err(PlotError::NonPositiveLogX { .. })
    ));
    // On a log axis a mean - std bar reaching 0 or below is refused (it was
    // cut at the axis' end and ran across the plot): give min-max instead.
    assert!(matches!(
        line_chart(&log, &one(Point::new(0.01, 1.0).with_x_err(0.02)), &stem),
        Err(PlotError::NonPositiveLogBar { index: 0, .. })
    ));
    assert!(line_chart(
        &log,
        &one(Point::new(0.01, 1.0).with_x_range(0.001, 0.03)),
        &stem
    )
    .is_ok());
    std::fs::remove_file(output_paths(&stem).0).unwrap();
    std::fs::remove_file(output_paths(&stem).1).unwrap();
    let zoom = ChartSpec {
        zoom_y: Some((0.9, 0.9)),
        ..ChartSpec::default()
    };
    assert!(matches!(
        line_chart(&zoom, &one(Point::new(1.0, 1.0)), &stem),
        Err(PlotError::BadZoom { .. })
    ));
    let tiny = ChartSpec {
        width: 10,
        ..ChartSpec::default()
    };
    assert!(matches!(
        line_chart(&tiny, &one(Point::new(1.0, 1.0)), &stem),
        Err(PlotError::BadSize { .. })
    ));
    let missing = dir.path().join("no/such/folder/x");
    assert!(matches!(
        line_chart(&spec, &one(Point::new(1.0, 1.0)), &missing),
        Err(PlotError::Io { .. })
    ));
    // Nothing was written by the failed calls.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// An error with a source names what failed and leaves the cause to the
/// chain, so `{:#}` (and the CLI) print the cause's text once.
#[test]
fn an_io_error_chain_prints_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/x");
    let series = vec![Series {
        label: "s".into(),
        points: vec![Point::new(1.0, 1.0)],
    }];
    let err = line_chart(&ChartSpec::default(), &series, &missing).unwrap_err();
    let cause = std::error::Error::source(&err)
        .expect("an io error keeps its source")
        .to_string();
    let text = format!("{:#}", anyhow::Error::from(err));
    assert_eq!(text.matches(cause.as_str()).count(), 1, "{text}");
    assert!(text.starts_with("writing "), "{text}");
}
