//! Loss and accuracy curves as PNG and SVG (plotters).

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::history::History;
use crate::state::write_atomic;
use crate::{Error, Result};

/// plotters' ab_glyph text backend finds no system fonts: it draws with what is
/// registered, so the project ships DejaVu Sans (see assets/fonts/LICENSE-DejaVu.txt).
static FONT: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");

pub fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::config("plot font", "DejaVuSans.ttf did not parse"))
    }
}

type Series = (&'static str, Vec<(f64, f64)>, RGBColor);

fn points(history: &History, pick: impl Fn(&super::EpochRecord) -> Option<f64>) -> Vec<(f64, f64)> {
    history
        .epochs
        .iter()
        .filter_map(|r| {
            pick(r)
                .filter(|v| v.is_finite())
                .map(|v| (r.epoch as f64, v))
        })
        .collect()
}

/// (title, series) for each panel: loss, and accuracy when the task has one.
fn panels(history: &History) -> Vec<(&'static str, Vec<Series>)> {
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    let mut out = vec![(
        "loss",
        vec![
            ("train loss", points(history, |r| Some(r.train_loss)), blue),
            ("val loss", points(history, |r| r.val_loss), orange),
        ],
    )];
    let accuracy = vec![
        (
            "train accuracy",
            points(history, |r| r.train_accuracy),
            blue,
        ),
        ("val accuracy", points(history, |r| r.val_accuracy), orange),
    ];
    if accuracy.iter().any(|s| !s.1.is_empty()) {
        out.push(("accuracy", accuracy));
    }
    out.into_iter()
        .map(|(t, s)| (t, s.into_iter().filter(|s| !s.1.is_empty()).collect()))
        .collect()
}

/// The y range of all series, padded so flat curves still get an axis.
fn y_range(series: &[Series]) -> (f64, f64) {
    let ys = series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3 * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[Series],
    epochs: usize,
) -> std::result::Result<(), String> {
    let (y0, y1) = y_range(series);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5..epochs as f64 + 0.5, y0..y1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(title)
        .x_labels(epochs.min(10))
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        })
        .draw()
        .map_err(|e| e.to_string())?;
    for (name, pts, color) in series {
        let color = *color;
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    history: &History,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = panels(history);
    let areas = root.split_evenly((1, panels.len()));
    let epochs = history.epochs.len().max(1);
    for ((title, series), area) in panels.iter().zip(&areas) {
        draw_panel(area, title, series, epochs)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Size of the picture: one 480×400 panel per curve family.
fn size(history: &History) -> (u32, u32) {
    (480 * panels(history).len() as u32, 400)
}

/// Draws the curves into `png` and `svg` (each written whole or not at all).
pub fn plot_history(history: &History, png: &Path, svg: &Path) -> Result<()> {
    register_font()?;
    let fail = |path: &Path, msg: String| Error::io(path, std::io::Error::other(msg));
    let mut text = String::new();
    draw(
        SVGBackend::with_string(&mut text, size(history)).into_drawing_area(),
        history,
    )
    .map_err(|m| fail(svg, m))?;
    write_atomic(svg, text.as_bytes())?;
    // The bitmap backend picks the encoder from the extension: keep `.png` last.
    let tmp = png.with_extension(format!("tmp-{}.png", std::process::id()));
    draw(
        BitMapBackend::new(&tmp, size(history)).into_drawing_area(),
        history,
    )
    .map_err(|m| fail(png, m))?;
    std::fs::rename(&tmp, png).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(png, e)
    })
}
