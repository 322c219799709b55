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
    #[error(
        "series {series:?}, point {index}: error bars must be >= 0 (a bar must contain its point)"
    )]
    NegativeError { series: String, index: usize },
    #[error("series {series:?}, point {index}: the x error bar reaches {lo} <= 0 on a log-scale x axis; give a geometric or min-max bar")]
    NonPositiveLogBar {
        series: String,
        index: usize,
        lo: f64,
    },
    #[error("series {series:?}, point {index}: x must be > 0 on a log-scale x axis")]
    NonPositiveLogX { series: String, index: usize },
    #[error("zoom_y ({lo}, {hi}) must be finite with low < high")]
    BadZoom { lo: f64, hi: f64 },
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

/// One plotted point; error bars are given by their two ends, so a bar
/// may be asymmetric (min-max, or geometric on a log axis).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    /// (low, high) ends of the horizontal bar.
    pub x_bar: Option<(f64, f64)>,
    /// (low, high) ends of the vertical bar.
    pub y_bar: Option<(f64, f64)>,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Self {
            x,
            y,
            x_bar: None,
            y_bar: None,
        }
    }

    /// A symmetric vertical bar `y ± e`.
    pub fn with_y_err(mut self, e: f64) -> Self {
        self.y_bar = Some((self.y - e, self.y + e));
        self
    }

    /// A symmetric horizontal bar `x ± e` (on a log axis it must stay > 0).
    pub fn with_x_err(mut self, e: f64) -> Self {
        self.x_bar = Some((self.x - e, self.x + e));
        self
    }

    pub fn with_y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_bar = Some((lo, hi));
        self
    }

    pub fn with_x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_bar = Some((lo, hi));
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

/// Corner of the plotting area that holds the legend. `Auto` takes the
/// corner with the fewest points and bar ends under the legend, and raises
/// the y range to make room when every corner holds data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegendPosition {
    Auto,
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// Everything about a chart except its data.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSpec {
    /// Drawn above the chart when not empty; the paper's figures leave it
    /// empty and carry their caption in the text instead.
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Log10 x axis (lambda sweeps); every x and every horizontal bar end
    /// must then be > 0 (a mean - std bar is refused: pass a geometric or
    /// min-max bar).
    pub log_x: bool,
    /// A second panel, right of the first, with this y range and the same
    /// x range: the comparison when one curve's scale would flatten the
    /// others. Points outside it are left out of that panel.
    pub zoom_y: Option<(f64, f64)>,
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
            zoom_y: None,
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
    if let Some((lo, hi)) = spec.zoom_y {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(PlotError::BadZoom { lo, hi });
        }
    }
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(PlotError::NoData);
    }
    for s in series {
        for (index, p) in s.points.iter().enumerate() {
            let bars = [p.x_bar, p.y_bar];
            let at = || (s.label.clone(), index);
            let finite_bars = bars
                .iter()
                .flatten()
                .all(|(lo, hi)| lo.is_finite() && hi.is_finite());
            if !(p.x.is_finite() && p.y.is_finite() && finite_bars) {
                let (series, index) = at();
                return Err(PlotError::NonFinite { series, index });
            }
            let contains =
                |b: Option<(f64, f64)>, v: f64| b.is_none_or(|(lo, hi)| lo <= v && v <= hi);
            if !(contains(p.x_bar, p.x) && contains(p.y_bar, p.y)) {
                let (series, index) = at();
                return Err(PlotError::NegativeError { series, index });
            }
            if spec.log_x && p.x <= 0.0 {
                let (series, index) = at();
                return Err(PlotError::NonPositiveLogX { series, index });
            }
            if let (true, Some((lo, _))) = (spec.log_x, p.x_bar) {
                if lo <= 0.0 {
                    let (series, index) = at();
                    return Err(PlotError::NonPositiveLogBar { series, index, lo });
                }
            }
        }
    }
    Ok(())
}

/// Axis ranges covering every point and error bar, padded so nothing sits
/// on the frame, and the legend corner.
struct Ranges {
    x: (f64, f64),
    y: (f64, f64),
    legend: LegendPosition,
}

/// Every (x, y) a point puts on the chart: its centre and its bar ends.
fn marks(p: &Point) -> impl Iterator<Item = (f64, f64)> {
    let xs = p.x_bar.map(|(lo, hi)| [(lo, p.y), (hi, p.y)]);
    let ys = p.y_bar.map(|(lo, hi)| [(p.x, lo), (p.x, hi)]);
    std::iter::once((p.x, p.y))
        .chain(xs.into_iter().flatten())
        .chain(ys.into_iter().flatten())
}

impl Ranges {
    fn new(spec: &ChartSpec, series: &[Series]) -> Self {
        let all: Vec<(f64, f64)> = series
            .iter()
            .flat_map(|s| s.points.iter().flat_map(marks))
            .collect();
        let fold = |f: &dyn Fn(&(f64, f64)) -> f64| {
            all.iter()
                .map(f)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| {
                    (a.0.min(v), a.1.max(v))
                })
        };
        let (ylo, yhi) = fold(&|m| m.1);
        let (xlo, xhi) = fold(&|m| m.0);
        let x = if spec.log_x {
            let (a, b) = pad(xlo.log10(), xhi.log10(), 0.5);
            (10f64.powf(a), 10f64.powf(b))
        } else {
            pad(xlo, xhi, (xlo.abs() * 0.05).max(0.5))
        };
        let y = pad(ylo, yhi, (ylo.abs() * 0.05).max(0.05));
        let mut r = Ranges {
            x,
            y,
            legend: spec.legend,
        };
        if spec.legend == LegendPosition::Auto {
            r.place_legend(spec, series, &all, yhi);
        }
        r
    }

    /// Position of (x, y) in the plotting area, 0..1 each way.
    fn unit(&self, log_x: bool, (x, y): (f64, f64)) -> (f64, f64) {
        let ux = if log_x {
            (x.log10() - self.x.0.log10()) / (self.x.1.log10() - self.x.0.log10())
        } else {
            (x - self.x.0) / (self.x.1 - self.x.0)
        };
        (ux, (y - self.y.0) / (self.y.1 - self.y.0))
    }

    /// The corner whose legend box covers the fewest marks; when every
    /// corner covers some, the y range grows upward until the top corners
    /// are free.
    fn place_legend(&mut self, spec: &ChartSpec, series: &[Series], all: &[(f64, f64)], yhi: f64) {
        let (bw, bh) = legend_box(spec, series);
        let corners = [
            (LegendPosition::UpperRight, 1.0 - bw, 1.0 - bh),
            (LegendPosition::LowerRight, 1.0 - bw, 0.0),
            (LegendPosition::UpperLeft, 0.0, 1.0 - bh),
            (LegendPosition::LowerLeft, 0.0, 0.0),
        ];
        let covered = |x0: f64, y0: f64| {
            all.iter()
                .map(|&m| self.unit(spec.log_x, m))
                .filter(|&(u, v)| (x0..=x0 + bw).contains(&u) && (y0..=y0 + bh).contains(&v))
                .count()
        };
        let best = corners
            .iter()
            .map(|&(pos, x0, y0)| (covered(x0, y0), pos))
            .min_by_key(|c| c.0)
            .expect("four corners");
        self.legend = best.1;
        if best.0 > 0 {
            // Put the highest mark just under the box (2% of the height apart).
            let top = self.y.0 + (yhi - self.y.0) / (0.98 - bh).max(0.1);
            self.y.1 = self.y.1.max(top);
            self.legend = LegendPosition::UpperRight;
        }
    }
}

/// The legend box as a share of the plotting area (width, height), from
/// the label lengths; margins included.
fn legend_box(spec: &ChartSpec, series: &[Series]) -> (f64, f64) {
    let (w, h) = plot_area_px(spec);
    let longest = series
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    let px_w = 12.0 + 40.0 + 9.0 * longest as f64 + 12.0;
    let px_h = 12.0 + 22.0 * series.len() as f64 + 12.0;
    ((px_w / w).min(0.95), (px_h / h).min(0.9))
}

/// The plotting area of the first panel, in pixels (margins and label
/// areas taken off).
fn plot_area_px(spec: &ChartSpec) -> (f64, f64) {
    let panel_w = if spec.zoom_y.is_some() {
        f64::from(spec.width) / 2.0
    } else {
        f64::from(spec.width)
    };
    let title = if spec.title.is_empty() { 0.0 } else { 34.0 };
    (
        (panel_w - 2.0 * MARGIN_PX as f64 - Y_LABEL_PX as f64).max(1.0),
        (f64::from(spec.height) - 2.0 * MARGIN_PX as f64 - X_LABEL_PX as f64 - title).max(1.0),
    )
}

const MARGIN_PX: u32 = 18;
const X_LABEL_PX: u32 = 60;
const Y_LABEL_PX: u32 = 84;

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
    let Some((zlo, zhi)) = spec.zoom_y else {
        return draw_panel(root, spec, series, r, r.y, None, true);
    };
    let (left, right) = root.split_horizontally(spec.width / 2);
    draw_panel(&left, spec, series, r, r.y, None, true)?;
    let zoom = pad(zlo, zhi, (zlo.abs() * 0.05).max(0.05));
    draw_panel(&right, spec, series, r, zoom, Some((zlo, zhi)), false)
}

/// One panel: the full y range, or (with `clip`) the zoomed one, where
/// points outside `clip` are left out and bars are cut at its ends.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    series: &[Series],
    r: &Ranges,
    y_range: (f64, f64),
    clip: Option<(f64, f64)>,
    legend: bool,
) -> Result<(), PlotError> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(MARGIN_PX)
        .x_label_area_size(X_LABEL_PX)
        .y_label_area_size(Y_LABEL_PX);
    if !spec.title.is_empty() && legend {
        builder.caption(&spec.title, (FONT_FAMILY, 24));
    }
    let y = y_range.0..y_range.1;
    let panel = Panel { clip, legend };
    if spec.log_x {
        // plotters' own log ticks label one decade only (0.1 .. 1 on a
        // 0.02 .. 1 axis); 1-2-5 ticks label every decade.
        let ticks = log_ticks(r.x.0, r.x.1);
        let style = LogTickStyle::for_ticks(&ticks);
        let x = (r.x.0..r.x.1)
            .log_scale()
            .with_key_points(ticks)
            .with_light_points(log_light_ticks(r.x.0, r.x.1));
        let chart = builder.build_cartesian_2d(x, y).map_err(backend_err)?;
        draw_body(chart, spec, series, r, y_range, panel, &move |v: &f64| {
            style.format(*v)
        })
    } else {
        let chart = builder
            .build_cartesian_2d(r.x.0..r.x.1, y)
            .map_err(backend_err)?;
        let dx = tick_decimals(r.x.0, r.x.1);
        draw_body(chart, spec, series, r, y_range, panel, &move |v: &f64| {
            fmt_tick(*v, dx)
        })
    }
}

/// A bar end in a panel: its value and whether it is the bar's own end
/// (capped) rather than a cut at the panel's range.
type BarEnd = (f64, bool);

#[derive(Clone, Copy)]
struct Panel {
    clip: Option<(f64, f64)>,
    legend: bool,
}

impl Panel {
    fn keeps(&self, y: f64) -> bool {
        self.clip.is_none_or(|(lo, hi)| lo <= y && y <= hi)
    }
    /// A vertical bar cut to the panel: its ends and whether each is a
    /// real end (capped) or a cut.
    fn cut(&self, (lo, hi): (f64, f64)) -> (BarEnd, BarEnd) {
        match self.clip {
            None => ((lo, true), (hi, true)),
            Some((a, b)) => ((lo.max(a), lo >= a), (hi.min(b), hi <= b)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_body<'a, DB, X>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    spec: &ChartSpec,
    series: &[Series],
    r: &Ranges,
    y_range: (f64, f64),
    panel: Panel,
    x_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), PlotError>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let dy = tick_decimals(y_range.0, y_range.1);
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
        let shown: Vec<&Point> = s.points.iter().filter(|p| panel.keeps(p.y)).collect();

        // Error bars first, so markers sit on top of them.
        let y_bars: Vec<(f64, BarEnd, BarEnd)> = shown
            .iter()
            .filter_map(|p| p.y_bar.map(|b| (p.x, panel.cut(b).0, panel.cut(b).1)))
            .collect();
        chart
            .draw_series(
                y_bars
                    .iter()
                    .map(|&(x, lo, hi)| PathElement::new(vec![(x, lo.0), (x, hi.0)], bar)),
            )
            .map_err(backend_err)?;
        chart
            .draw_series(y_bars.iter().flat_map(|&(x, lo, hi)| {
                [lo, hi].into_iter().filter(|e| e.1).map(move |(y, _)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(-CAP_PX, 0), (CAP_PX, 0)], bar)
                })
            }))
            .map_err(backend_err)?;
        let x_bars: Vec<(f64, f64, f64)> = shown
            .iter()
            .filter_map(|p| p.x_bar.map(|(lo, hi)| (p.y, lo, hi)))
            .collect();
        chart
            .draw_series(
                x_bars
                    .iter()
                    .map(|&(y, lo, hi)| PathElement::new(vec![(lo, y), (hi, y)], bar)),
            )
            .map_err(backend_err)?;
        chart
            .draw_series(x_bars.iter().flat_map(|&(y, lo, hi)| {
                [lo, hi].map(|x| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, -CAP_PX), (0, CAP_PX)], bar)
                })
            }))
            .map_err(backend_err)?;

        if spec.lines {
            // In a zoomed panel a line joins only neighbours both inside it.
            for run in s.points.split(|p| !panel.keeps(p.y)) {
                chart
                    .draw_series(LineSeries::new(
                        run.iter().map(|p| (p.x, p.y)),
                        color.stroke_width(2),
                    ))
                    .map_err(backend_err)?;
            }
        }
        let lines = spec.lines;
        let drawn = chart
            .draw_series(
                shown
                    .iter()
                    .map(|p| EmptyElement::at((p.x, p.y)) + shape.element::<DB>(color)),
            )
            .map_err(backend_err)?;
        if panel.legend {
            drawn.label(s.label.as_str()).legend(move |(x, y)| {
                let line = if lines { 14 } else { 0 };
                EmptyElement::at((x + 8, y))
                    + PathElement::new(vec![(-line, 0), (line, 0)], color.stroke_width(2))
                    + shape.element::<DB>(color)
            });
        }
    }

    if panel.legend {
        chart
            .configure_series_labels()
            .position(match r.legend {
                LegendPosition::UpperLeft => SeriesLabelPosition::UpperLeft,
                LegendPosition::UpperRight | LegendPosition::Auto => {
                    SeriesLabelPosition::UpperRight
                }
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
    }
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

/// How one log axis prints its ticks: all as decimals when every tick lies
/// in [0.001, 10^4), else all as powers of ten (`10⁻⁴`, `2×10⁻⁴`), so an
/// axis never mixes `1e-4` with `0.001`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LogTickStyle {
    Decimal,
    Power,
}

impl LogTickStyle {
    fn for_ticks(ticks: &[f64]) -> Self {
        if ticks.iter().all(|t| (1e-3..1e4).contains(&t.abs())) {
            LogTickStyle::Decimal
        } else {
            LogTickStyle::Power
        }
    }

    fn format(self, v: f64) -> String {
        // Three significant digits drop float noise such as 0.010000000000000002.
        let sci = format!("{v:.2e}");
        let (m, e) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
        match self {
            LogTickStyle::Decimal => {
                let r: f64 = sci.parse().unwrap_or(v);
                format!("{r}")
            }
            LogTickStyle::Power => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                let exp: String = e
                    .chars()
                    .map(|c| match c {
                        '-' => '⁻',
                        d => SUPERSCRIPT[d.to_digit(10).unwrap_or(0) as usize],
                    })
                    .collect();
                if m == "1" {
                    format!("10{exp}")
                } else {
                    format!("{m}×10{exp}")
                }
            }
        }
    }
}

const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

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
        // One style per axis (issue 13: `1e-4` next to `0.001` was unreadable).
        let power = LogTickStyle::Power;
        assert_eq!(power.format(1e-4), "10⁻⁴");
        assert_eq!(power.format(2.5e-7), "2.5×10⁻⁷");
        assert_eq!(power.format(0.010000000000000002), "10⁻²");
        assert_eq!(power.format(1e5), "10⁵");
        assert_eq!(power.format(1.0), "10⁰");
        let dec = LogTickStyle::Decimal;
        assert_eq!(dec.format(0.010000000000000002), "0.01");
        assert_eq!(dec.format(0.3), "0.3");
        assert_eq!(dec.format(100.0), "100");
        assert_eq!(LogTickStyle::for_ticks(&[0.001, 0.01, 1.0]), dec);
        assert_eq!(LogTickStyle::for_ticks(&[1e-4, 1e-3, 1e-2]), power);
        // Ticks every 0.005, every 0.1, every 100.
        assert_eq!(tick_decimals(0.7585, 0.7830), 3);
        assert_eq!(tick_decimals(0.28, 1.05), 1);
        assert_eq!(tick_decimals(0.0, 1000.0), 0);
        assert_eq!(fmt_tick(-1e-17, 3), "0.000");
    }

    /// Marks in all four corners: the legend goes up right and the y range
    /// grows so that no mark lies under the legend box.
    #[test]
    fn auto_legend_never_covers_a_mark() {
        let spec = ChartSpec {
            legend: LegendPosition::Auto,
            ..ChartSpec::default()
        };
        let corners = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 0.5)];
        let s = [Series {
            label: "a rather long series label".into(),
            points: corners.iter().map(|&(x, y)| Point::new(x, y)).collect(),
        }];
        let r = Ranges::new(&spec, &s);
        assert_eq!(r.legend, LegendPosition::UpperRight);
        let (bw, bh) = legend_box(&spec, &s);
        for &m in &corners {
            let (u, v) = r.unit(false, m);
            assert!(
                !(u >= 1.0 - bw && v >= 1.0 - bh),
                "{m:?} under the legend at {u},{v}"
            );
        }
        // A free corner is taken as it is, the range unchanged.
        let s = [Series {
            label: "a".into(),
            points: vec![Point::new(0.0, 0.0), Point::new(1.0, 1.0)],
        }];
        let r = Ranges::new(&spec, &s);
        assert_eq!(r.legend, LegendPosition::LowerRight);
        assert!((r.y.1 - 1.06).abs() < 1e-12, "{:?}", r.y);
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
