//! The report's plots, as SVG (plotters' SVG backend writes text as <text> elements, so no
//! font files are needed): write latency against throughput per setting, and the fsync
//! latency distribution per directory.

use std::path::Path;

use plotters::prelude::*;

use crate::analysis::Point;
use crate::probe::DirProbe;

type PlotResult = Result<(), String>;

fn err(e: impl std::fmt::Display) -> String {
    format!("plot: {e}")
}

fn color(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

/// Write p99 (median of the repetitions, with their range as a bar) against throughput, one
/// line per setting through its load levels.
pub fn latency_vs_throughput(path: &Path, settings: &[String], points: &[Point]) -> PlotResult {
    let max_ops = points.iter().map(|p| p.ops_per_sec.max).fold(1.0, f64::max);
    let max_us = points
        .iter()
        .map(|p| p.write_p99_us.max)
        .fold(10.0, f64::max);
    let min_us = points
        .iter()
        .map(|p| p.write_p99_us.min)
        .filter(|v| *v > 0.0)
        .fold(max_us, f64::min);
    let root = SVGBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("write p99 against throughput", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0.0..max_ops * 1.05,
            ((min_us * 0.8)..(max_us * 1.25)).log_scale(),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("throughput (ops/s, all op kinds)")
        .y_desc("setData p99 (us)")
        .draw()
        .map_err(err)?;
    for (i, name) in settings.iter().enumerate() {
        let c = color(i);
        let mut mine: Vec<&Point> = points.iter().filter(|p| &p.setting == name).collect();
        mine.sort_by(|a, b| a.ops_per_sec.median.total_cmp(&b.ops_per_sec.median));
        let line: Vec<(f64, f64)> = mine
            .iter()
            .map(|p| (p.ops_per_sec.median, p.write_p99_us.median))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(
                line.iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, c.filled())),
            )
            .map_err(err)?;
        for p in &mine {
            let x = p.ops_per_sec.median;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, p.write_p99_us.min), (x, p.write_p99_us.max)],
                    c.stroke_width(1),
                )))
                .map_err(err)?;
            let y = p.write_p99_us.median;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(p.ops_per_sec.min, y), (p.ops_per_sec.max, y)],
                    c.stroke_width(1),
                )))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Latency against percentile for every case the probe measured in one directory.
pub fn fsync_distribution(path: &Path, probe: &DirProbe) -> PlotResult {
    let curves: Vec<(&str, &Vec<(f64, f64)>)> = probe
        .fsync
        .iter()
        .filter_map(|r| r.latency.as_ref().map(|d| (r.label.as_str(), &d.curve)))
        .collect();
    let all = curves.iter().flat_map(|(_, c)| c.iter().map(|p| p.1));
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if hi > 0.0 {
        (lo.max(0.1) * 0.8, hi * 1.25)
    } else {
        (1.0, 10.0)
    };
    let root = SVGBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "fdatasync latency, {} ({})",
                probe.role,
                probe.path.display()
            ),
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..100.0, (lo..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("fdatasync (us)")
        .draw()
        .map_err(err)?;
    for (i, (label, curve)) in curves.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(curve.iter().copied(), c.stroke_width(2)))
            .map_err(err)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
