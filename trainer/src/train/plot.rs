//! `curves.png`: training loss and validation PSNR against iterations, with
//! the bicubic and the published PSNR as reference lines.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

struct Row {
    iteration: f64,
    loss: f64,
    psnr: Option<f64>,
}

fn read(metrics: &Path) -> Result<Vec<Row>> {
    Ok(super::metrics::read(metrics)?.into_iter().map(|r| Row { iteration: r.iteration as f64, loss: r.loss, psnr: r.val_psnr }).collect())
}

/// Text needs a font; DejaVu Sans is on Debian systems. Without it the
/// curves are still drawn, unlabelled.
fn register_font() -> bool {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DONE.get_or_init(|| {
        for path in ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"] {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok();
            }
        }
        false
    })
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

pub fn curves(metrics: &Path, out: &Path, bicubic_psnr: f64, published_psnr: Option<f64>, title: &str) -> Result<()> {
    let rows = read(metrics)?;
    anyhow::ensure!(!rows.is_empty(), "no metrics yet");
    let labels = register_font();
    let xmax = rows.last().map(|r| r.iteration).unwrap_or(1.0).max(1.0);
    let root = BitMapBackend::new(out, (1200, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (left, right) = root.split_horizontally(600);

    let losses: Vec<(f64, f64)> = rows.iter().filter(|r| r.loss.is_finite() && r.loss > 0.0).map(|r| (r.iteration, r.loss)).collect();
    let (lmin, lmax) = losses.iter().fold((f64::MAX, f64::MIN), |(a, b), &(_, l)| (a.min(l), b.max(l)));
    let mut chart = ChartBuilder::on(&left);
    chart.margin(16).x_label_area_size(if labels { 36 } else { 0 }).y_label_area_size(if labels { 64 } else { 0 });
    if labels {
        chart.caption(format!("{title}: training loss"), ("sans-serif", 20));
    }
    let mut chart = chart.build_cartesian_2d(0f64..xmax, (lmin * 0.9..lmax * 1.1).log_scale()).map_err(err)?;
    let mut mesh = chart.configure_mesh();
    if labels {
        mesh.x_desc("iteration").y_desc("loss");
    } else {
        mesh.disable_x_mesh().disable_y_mesh();
    }
    mesh.draw().map_err(err)?;
    chart.draw_series(LineSeries::new(losses, &BLUE)).map_err(err)?;

    let psnrs: Vec<(f64, f64)> = rows.iter().filter_map(|r| r.psnr.map(|p| (r.iteration, p))).collect();
    let mut lo = psnrs.iter().map(|p| p.1).fold(bicubic_psnr, f64::min);
    let mut hi = psnrs.iter().map(|p| p.1).fold(bicubic_psnr, f64::max);
    if let Some(p) = published_psnr {
        hi = hi.max(p);
        lo = lo.min(p);
    }
    let mut chart = ChartBuilder::on(&right);
    chart.margin(16).x_label_area_size(if labels { 36 } else { 0 }).y_label_area_size(if labels { 56 } else { 0 });
    if labels {
        chart.caption("validation PSNR (dB)", ("sans-serif", 20));
    }
    let mut chart = chart.build_cartesian_2d(0f64..xmax, (lo - 0.3)..(hi + 0.3)).map_err(err)?;
    let mut mesh = chart.configure_mesh();
    if labels {
        mesh.x_desc("iteration").y_desc("PSNR");
    }
    mesh.draw().map_err(err)?;
    let reference = |v: f64, color: RGBAColor| LineSeries::new(vec![(0.0, v), (xmax, v)], ShapeStyle::from(&color).stroke_width(1));
    let gray = BLACK.mix(0.5);
    let green = GREEN.mix(0.9);
    let s = chart.draw_series(reference(bicubic_psnr, gray)).map_err(err)?;
    if labels {
        s.label(format!("bicubic {bicubic_psnr:.2}")).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], gray));
    }
    if let Some(p) = published_psnr {
        let s = chart.draw_series(reference(p, green)).map_err(err)?;
        if labels {
            s.label(format!("published {p:.2}")).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green));
        }
    }
    let s = chart.draw_series(LineSeries::new(psnrs.clone(), ShapeStyle::from(&RED).stroke_width(2))).map_err(err)?;
    if labels {
        s.label("ours").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    }
    chart.draw_series(psnrs.iter().map(|&p| Circle::new(p, 3, RED.filled()))).map_err(err)?;
    if labels {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}
