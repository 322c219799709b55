//! Line/scatter charts with error bars, written as SVG and PNG (plotters).
//!
//! Text in the PNG is drawn with DejaVu Sans bundled in `assets/fonts/`
//! (plotters' `ab_glyph` feature): plotters' default `ttf` feature finds
//! fonts through fontconfig, which a fresh server or container often lacks,
//! and a plot without text is worse than none. The SVG names `sans-serif`
//! and lets the viewer pick; its layout is measured with the same font.
//!
//! Output is a pure function of the input: the same spec and series give
//! byte-identical files.

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::table::with_extension;

const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";

/// Colour-blind-safe palette (Okabe & Ito, 2008), yellow left out (too light
/// on white). Series beyond eight reuse colours with another marker shape.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];
/// Marker half-size and error-bar cap half-width, in pixels.
const MARKER_PX: i32 = 5;
const CAP_PX: i32 = 5;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: no series has a point")]
    NoData,
    #[error("series {series:?}, point {index}: coordinates and error bars must be finite")]
    NonFinite { series: String, index: usize },
    #[error("series {series:?}, point {index}: error bars must be >= 0")]
    NegativeError { series: String, index: usize },
    #[error("series {series:?}, point {index}: x must be > 0 on a log-scale x axis")]
    NonPositiveLogX { series: String, index: usize },
    #[error("chart size {width}x{height} is outside 100..=10000 pixels")]
    BadSize { width: u32, height: u32 },
    #[error("the bundled font could not be loaded")]
    Font,
    #[error("drawing: {0}")]
    Backend(String),
    #[error("writing {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// One plotted point; error bars are half-widths (the bar spans `y ± y_err`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub x_err: Option<f64>,
    pub y_err: Option<f64>,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Self {
            x,
            y,
            x_err: None,
            y_err: None,
        }
    }

    pub fn with_y_err(mut self, e: f64) -> Self {
        self.y_err = Some(e);
        self
    }

    pub fn with_x_err(mut self, e: f64) -> Self {
        self.x_err = Some(e);
        self
    }
}

/// A named sequence of points; with lines on, they are joined in the order
/// given (sort them by x first if that is what the chart means).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}

/// Corner of the plotting area that holds the legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegendPosition {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// Everything about a chart except its data.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSpec {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Log10 x axis (lambda sweeps); every x must then be > 0. A horizontal
    /// error bar reaching to or below 0 is cut at the axis' left end.
    pub log_x: bool,
    /// Join each series' points with a line (else markers only).
    pub lines: bool,
    pub legend: LegendPosition,
    /// Pixels (PNG) and user units (SVG).
    pub width: u32,
    pub height: u32,
}

impl Default for ChartSpec {
    fn default() -> Self {
        Self {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            log_x: false,
            lines: true,
            legend: LegendPosition::LowerRight,
            width: 900,
            height: 600,
        }
    }
}

/// Draws the chart and writes `out_stem.svg` and `out_stem.png`.
pub fn line_chart(spec: &ChartSpec, series: &[Series], out_stem: &Path) -> Result<(), PlotError> {
    validate(spec, series)?;
    register_font()?;
    let ranges = Ranges::new(spec, series);
    let size = (spec.width, spec.height);

    let svg_path = with_extension(out_stem, "svg");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root, spec, series, &ranges)?;
        root.present().map_err(backend_err)?;
    }
    std::fs::write(&svg_path, svg).map_err(|source| io_err(&svg_path, source))?;

    let png_path = with_extension(out_stem, "png");
    // The bitmap backend only reports a missing folder as an opaque image
    // error at present(); check first so the error names the path.
    if let Some(dir) = png_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(io_err(
                &png_path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "folder does not exist"),
            ));
        }
    }
    let root = BitMapBackend::new(&png_path, size).into_drawing_area();
    draw(&root, spec, series, &ranges)?;
    root.present().map_err(backend_err)?;
    Ok(())
}

fn io_err(path: &Path, source: std::io::Error) -> PlotError {
    PlotError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn backend_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Backend(e.to_string())
}

/// Registers the bundled font once per process for every family name
/// plotters may ask for (it falls back to nothing, not to another family).
fn register_font() -> Result<(), PlotError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        ["sans-serif", "serif", "monospace"].iter().all(|family| {
            plotters::style::register_font(family, FontStyle::Normal, FONT_BYTES).is_ok()
        })
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

fn validate(spec: &ChartSpec, series: &[Series]) -> Result<(), PlotError> {
    let ok_size = |v: u32| (100..=10_000).contains(&v);
    if !ok_size(spec.width) || !ok_size(spec.height) {
        return Err(PlotError::BadSize {
            width: spec.width,
            height: spec.height,
        });
    }
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(PlotError::NoData);
    }
    for s in series {
        for (index, p) in s.points.iter().enumerate() {
            let errs = [p.x_err.unwrap_or(0.0), p.y_err.unwrap_or(0.0)];
            let at = || (s.label.clone(), index);
            if !(p.x.is_finite() && p.y.is_finite() && errs.iter().all(|e| e.is_finite())) {
                let (series, index) = at();
                return Err(PlotError::NonFinite { series, index });
            }
            if errs.iter().any(|&e| e < 0.0) {
                let (series, index) = at();
                return Err(PlotError::NegativeError { series, index });
            }
            if spec.log_x && p.x <= 0.0 {
                let (series, index) = at();
                return Err(PlotError::NonPositiveLogX { series, index });
            }
        }
    }
    Ok(())
}

/// Axis ranges covering every point and error bar, padded so nothing sits
/// on the frame.
struct Ranges {
    x: (f64, f64),
    y: (f64, f64),
}

impl Ranges {
    fn new(spec: &ChartSpec, series: &[Series]) -> Self {
        let pts = || series.iter().flat_map(|s| s.points.iter());
        let fold = |f: &dyn Fn(&Point) -> (f64, f64)| {
            pts()
                .map(f)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |a, b| {
                    (a.0.min(b.0), a.1.max(b.1))
                })
        };
        let (ylo, yhi) = fold(&|p| {
            let e = p.y_err.unwrap_or(0.0);
            (p.y - e, p.y + e)
        });
        let x = if spec.log_x {
            let (lo, hi) = fold(&|p| {
                let e = p.x_err.unwrap_or(0.0);
                let lo = if p.x - e > 0.0 { p.x - e } else { p.x };
                (lo, p.x + e)
            });
            let (a, b) = pad(lo.log10(), hi.log10(), 0.5);
            (10f64.powf(a), 10f64.powf(b))
        } else {
            let (lo, hi) = fold(&|p| {
                let e = p.x_err.unwrap_or(0.0);
                (p.x - e, p.x + e)
            });
            pad(lo, hi, (lo.abs() * 0.05).max(0.5))
        };
        Ranges {
            x,
            y: pad(ylo, yhi, (ylo.abs() * 0.05).max(0.05)),
        }
    }
}

/// Widens `[lo, hi]` by 6% each side, or by `flat` when it is a single value.
fn pad(lo: f64, hi: f64, flat: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 {
        (lo - 0.06 * span, hi + 0.06 * span)
    } else {
        (lo - flat, hi + flat)
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    series: &[Series],
    r: &Ranges,
) -> Result<(), PlotError> {
    root.fill(&WHITE).map_err(backend_err)?;
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(18)
        .x_label_area_size(60)
        .y_label_area_size(84);
    if !spec.title.is_empty() {
        builder.caption(&spec.title, (FONT_FAMILY, 24));
    }
    let y = r.y.0..r.y.1;
    if spec.log_x {
        // plotters' own log ticks label one decade only (0.1 .. 1 on a
        // 0.02 .. 1 axis); 1-2-5 ticks label every decade.
        let x = (r.x.0..r.x.1)
            .log_scale()
            .with_key_points(log_ticks(r.x.0, r.x.1))
            .with_light_points(log_light_ticks(r.x.0, r.x.1));
        let chart = builder.build_cartesian_2d(x, y).map_err(backend_err)?;
        draw_body(chart, spec, series, r, &fmt_log_tick)
    } else {
        let chart = builder
            .build_cartesian_2d(r.x.0..r.x.1, y)
            .map_err(backend_err)?;
        let dx = tick_decimals(r.x.0, r.x.1);
        draw_body(chart, spec, series, r, &move |v: &f64| fmt_tick(*v, dx))
    }
}

fn draw_body<'a, DB, X>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    spec: &ChartSpec,
    series: &[Series],
    r: &Ranges,
    x_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), PlotError>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let dy = tick_decimals(r.y.0, r.y.1);
    let y_fmt = move |v: &f64| fmt_tick(*v, dy);
    chart
        .configure_mesh()
        .x_desc(spec.x_label.as_str())
        .y_desc(spec.y_label.as_str())
        .axis_desc_style((FONT_FAMILY, 20))
        .label_style((FONT_FAMILY, 15))
        .x_labels(N_LABELS)
        .y_labels(N_LABELS)
        .max_light_lines(4)
        .x_label_formatter(x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(RGBColor(0, 0, 0).mix(0.05))
        .bold_line_style(RGBColor(0, 0, 0).mix(0.15))
        .draw()
        .map_err(backend_err)?;

    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let shape = Shape::ALL[i % Shape::ALL.len()];
        let bar = color.stroke_width(2);

        // Error bars first, so markers sit on top of them.
        let y_bars = s.points.iter().filter_map(|p| p.y_err.map(|e| (p, e)));
        chart
            .draw_series(
                y_bars
                    .clone()
                    .map(|(p, e)| PathElement::new(vec![(p.x, p.y - e), (p.x, p.y + e)], bar)),
            )
            .map_err(backend_err)?;
        chart
            .draw_series(y_bars.flat_map(|(p, e)| {
                [p.y - e, p.y + e].map(|y| {
                    EmptyElement::at((p.x, y))
                        + PathElement::new(vec![(-CAP_PX, 0), (CAP_PX, 0)], bar)
                })
            }))
            .map_err(backend_err)?;
        let x_bars = s.points.iter().filter_map(|p| {
            p.x_err.map(|e| {
                // On a log axis a bar reaching 0 or below is cut at the axis' left end.
                let lo = if spec.log_x {
                    (p.x - e).max(r.x.0)
                } else {
                    p.x - e
                };
                (p, lo, p.x + e)
            })
        });
        chart
            .draw_series(
                x_bars
                    .clone()
                    .map(|(p, lo, hi)| PathElement::new(vec![(lo, p.y), (hi, p.y)], bar)),
            )
            .map_err(backend_err)?;
        chart
            .draw_series(x_bars.flat_map(|(p, lo, hi)| {
                [lo, hi].map(|x| {
                    EmptyElement::at((x, p.y))
                        + PathElement::new(vec![(0, -CAP_PX), (0, CAP_PX)], bar)
                })
            }))
            .map_err(backend_err)?;

        if spec.lines {
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p.x, p.y)),
                    color.stroke_width(2),
                ))
                .map_err(backend_err)?;
        }
        let lines = spec.lines;
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|p| EmptyElement::at((p.x, p.y)) + shape.element::<DB>(color)),
            )
            .map_err(backend_err)?
            .label(s.label.as_str())
            .legend(move |(x, y)| {
                let line = if lines { 14 } else { 0 };
                EmptyElement::at((x + 8, y))
                    + PathElement::new(vec![(-line, 0), (line, 0)], color.stroke_width(2))
                    + shape.element::<DB>(color)
            });
    }

    chart
        .configure_series_labels()
        .position(match spec.legend {
            LegendPosition::UpperLeft => SeriesLabelPosition::UpperLeft,
            LegendPosition::UpperRight => SeriesLabelPosition::UpperRight,
            LegendPosition::LowerLeft => SeriesLabelPosition::LowerLeft,
            LegendPosition::LowerRight => SeriesLabelPosition::LowerRight,
        })
        .margin(12)
        .legend_area_size(40)
        .label_font((FONT_FAMILY, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0, 0, 0).mix(0.4))
        .draw()
        .map_err(backend_err)?;
    Ok(())
}

/// Marker shapes, cycled per series so series stay apart in greyscale print.
#[derive(Clone, Copy)]
enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    OpenCircle,
    OpenSquare,
}

impl Shape {
    const ALL: [Shape; 6] = [
        Shape::Circle,
        Shape::Square,
        Shape::Triangle,
        Shape::Diamond,
        Shape::OpenCircle,
        Shape::OpenSquare,
    ];

    /// The marker centred on (0, 0) in pixels, to be placed with `EmptyElement::at`.
    fn element<DB: DrawingBackend>(self, color: RGBColor) -> DynElement<'static, DB, (i32, i32)> {
        let s = MARKER_PX;
        let fill = color.filled();
        let open = color.stroke_width(2);
        match self {
            Shape::Circle => Circle::new((0, 0), s, fill).into_dyn(),
            Shape::Square => Rectangle::new([(-s + 1, -s + 1), (s - 1, s - 1)], fill).into_dyn(),
            Shape::Triangle => {
                Polygon::new(vec![(0, -s - 1), (s + 1, s), (-s - 1, s)], fill).into_dyn()
            }
            Shape::Diamond => {
                Polygon::new(vec![(0, -s - 1), (s + 1, 0), (0, s + 1), (-s - 1, 0)], fill)
                    .into_dyn()
            }
            Shape::OpenCircle => Circle::new((0, 0), s, open).into_dyn(),
            Shape::OpenSquare => {
                Rectangle::new([(-s + 1, -s + 1), (s - 1, s - 1)], open).into_dyn()
            }
        }
    }
}

/// `m * 10^k` for every decade k that meets [lo, hi] and each m in `ms`,
/// inside [lo, hi].
fn decade_points(lo: f64, hi: f64, ms: &[f64]) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (k0..=k1)
        .flat_map(|k| ms.iter().map(move |m| m * 10f64.powi(k)))
        .filter(|v| (lo..=hi).contains(v))
        .collect()
}

/// Labelled ticks of a log axis: 1, 2, 5 per decade, or only the powers
/// of ten when that would be more than `N_LABELS`; never fewer than 2.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let by_125 = decade_points(lo, hi, &[1.0, 2.0, 5.0]);
    if by_125.len() > N_LABELS {
        return decade_points(lo, hi, &[1.0]);
    }
    if by_125.len() < 2 {
        return decade_points(lo, hi, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    }
    by_125
}

/// Light grid lines of a log axis: 1..9 per decade.
fn log_light_ticks(lo: f64, hi: f64) -> Vec<f64> {
    decade_points(lo, hi, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
}

/// Labelled ticks per axis (plotters' default, set explicitly because
/// [`tick_decimals`] must ask for the same ones).
const N_LABELS: usize = 11;

/// The fewest decimals that print every labelled tick of a linear axis
/// `[lo, hi]` exactly (0.1 steps get one decimal, 0.005 steps three).
fn tick_decimals(lo: f64, hi: f64) -> usize {
    let axis: RangedCoordf64 = (lo..hi).into();
    let ticks = axis.key_points(N_LABELS);
    (0..10)
        .find(|&d| {
            let scale = 10f64.powi(d as i32);
            ticks
                .iter()
                .all(|t| ((t * scale) - (t * scale).round()).abs() < 1e-6)
        })
        .unwrap_or(10)
}

fn fmt_tick(v: f64, decimals: usize) -> String {
    // Ticks at 0 can come out as -0.0 or 1e-17; print them as a clean zero.
    super::table::fmt_fixed(v, decimals)
}

/// Log-axis ticks: plain decimals in [0.001, 10^4), `1e-5`/`2.5e-7` style
/// beyond, at most three significant digits.
fn fmt_log_tick(v: &f64) -> String {
    let v = *v;
    if (1e-3..1e4).contains(&v.abs()) {
        // Round to three significant digits (drops float noise such as
        // 0.010000000000000002), then print the shortest form.
        let r: f64 = format!("{v:.2e}").parse().unwrap_or(v);
        format!("{r}")
    } else {
        let s = format!("{v:.2e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        }
    }
}

/// The two files [`line_chart`] writes for `out_stem`.
pub fn output_paths(out_stem: &Path) -> (PathBuf, PathBuf) {
    (
        with_extension(out_stem, "svg"),
        with_extension(out_stem, "png"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_label_every_decade() {
        let close = |a: Vec<f64>, b: &[f64]| {
            assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-12 * y.abs(), "{a:?} vs {b:?}");
            }
        };
        close(log_ticks(0.018, 1.1), &[0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);
        // 13 points by 1-2-5: powers of ten only.
        close(log_ticks(1e-6, 1.5e-2), &[1e-6, 1e-5, 1e-4, 1e-3, 1e-2]);
        // Inside one decade: 1..9.
        close(log_ticks(0.25, 0.45), &[0.3, 0.4]);
        // 0.02..0.09, 0.1..0.9, 1.
        assert_eq!(log_light_ticks(0.018, 1.1).len(), 8 + 9 + 1);
    }

    #[test]
    fn tick_formats() {
        assert_eq!(fmt_log_tick(&1e-4), "1e-4");
        assert_eq!(fmt_log_tick(&2.5e-7), "2.5e-7");
        assert_eq!(fmt_log_tick(&0.010000000000000002), "0.01");
        assert_eq!(fmt_log_tick(&0.3), "0.3");
        assert_eq!(fmt_log_tick(&100.0), "100");
        assert_eq!(fmt_log_tick(&1e5), "1e5");
        // Ticks every 0.005, every 0.1, every 100.
        assert_eq!(tick_decimals(0.7585, 0.7830), 3);
        assert_eq!(tick_decimals(0.28, 1.05), 1);
        assert_eq!(tick_decimals(0.0, 1000.0), 0);
        assert_eq!(fmt_tick(-1e-17, 3), "0.000");
    }

    #[test]
    fn ranges_cover_error_bars() {
        let spec = ChartSpec::default();
        let s = [Series {
            label: "a".into(),
            points: vec![
                Point::new(1.0, 2.0).with_y_err(1.0),
                Point::new(3.0, 2.5).with_x_err(0.5),
            ],
        }];
        let r = Ranges::new(&spec, &s);
        assert!(r.x.0 < 1.0 && r.x.1 > 3.5, "{:?}", r.x);
        assert!(r.y.0 < 1.0 && r.y.1 > 3.0, "{:?}", r.y);
    }
}
