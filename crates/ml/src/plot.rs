//! Pictures for the classical tools: a scatter plot of points coloured by group (PCA
//! projections) and a line chart (the k-means elbow curve). PNG or SVG by the file's
//! extension, written whole or not at all.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const SIZE: (u32, u32) = (720, 560);

/// Axis labels and a title.
pub struct Labels<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

fn draw_scatter<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[(f64, f64)],
    groups: &[usize],
    names: &[String],
    labels: &Labels,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let xr = range(points.iter().map(|p| p.0));
    let yr = range(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(&root)
        .caption(labels.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .draw()
        .map_err(|e| e.to_string())?;
    let n_groups = groups.iter().max().map_or(1, |m| m + 1);
    for g in 0..n_groups {
        let color = PALETTE[g % PALETTE.len()];
        let pts: Vec<(f64, f64)> = points
            .iter()
            .zip(groups)
            .filter(|(_, &k)| k == g)
            .map(|(p, _)| *p)
            .collect();
        let name = names
            .get(g)
            .cloned()
            .unwrap_or_else(|| format!("group {g}"));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
    }
    if !names.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

fn draw_line<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[(f64, f64)],
    labels: &Labels,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let xr = range(points.iter().map(|p| p.0));
    let yr = range(points.iter().map(|p| p.1).chain([0.0]));
    let mut chart = ChartBuilder::on(&root)
        .caption(labels.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .draw()
        .map_err(|e| e.to_string())?;
    let color = PALETTE[0];
    chart
        .draw_series(LineSeries::new(points.to_vec(), color.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Renders with `draw` into `path` (SVG when it ends in `.svg`, PNG otherwise) through a
/// temporary file renamed into place.
fn render(
    path: &Path,
    draw: impl Fn(DrawingArea<SVGBackend, Shift>) -> std::result::Result<(), String>,
    draw_png: impl Fn(DrawingArea<BitMapBackend, Shift>) -> std::result::Result<(), String>,
) -> Result<()> {
    zhixing_nn::trainer::register_plot_font()?;
    let fail = |m: String| Error::invalid("plot", format!("{}: {m}", path.display()));
    let svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if svg {
        let mut text = String::new();
        draw(SVGBackend::with_string(&mut text, SIZE).into_drawing_area()).map_err(fail)?;
        return Ok(zhixing_nn::state::write_atomic(path, text.as_bytes())?);
    }
    // The bitmap backend picks its encoder from the extension: keep `.png` last.
    let tmp = path.with_extension(format!("tmp-{}.png", std::process::id()));
    draw_png(BitMapBackend::new(&tmp, SIZE).into_drawing_area()).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::invalid("plot", format!("{}: {e}", path.display()))
    })
}

/// Points coloured by `groups[i]` (an index into `names`, which label the legend).
pub fn scatter(
    path: &Path,
    points: &[(f64, f64)],
    groups: &[usize],
    names: &[String],
    labels: &Labels,
) -> Result<()> {
    if points.len() != groups.len() {
        return Err(Error::invalid(
            "plot",
            format!("{} points but {} group ids", points.len(), groups.len()),
        ));
    }
    render(
        path,
        |a| draw_scatter(a, points, groups, names, labels),
        |a| draw_scatter(a, points, groups, names, labels),
    )
}

/// A line through `points` with markers.
pub fn line(path: &Path, points: &[(f64, f64)], labels: &Labels) -> Result<()> {
    render(
        path,
        |a| draw_line(a, points, labels),
        |a| draw_line(a, points, labels),
    )
}
