//! The timeline as an SVG picture: one row per preparation worker, instance (submits) and device
//! engine, one bar per batch and phase, so the overlap is visible without another tool.
//!
//! Only the first batches are drawn (a whole run would be thousands of bars too thin to see);
//! the Chrome trace (`--trace`) holds everything.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use accelrt::trace::{Interval, Phase, Track};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::CliError;

/// One drawn row: the per-request queue waits, or one track.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Queued,
    Track(Track),
}

/// Writes the first `batches` batches of `intervals` to `path` as SVG, titled `title`.
pub fn write_svg(intervals: &[Interval], batches: usize, title: &str, path: &Path) -> Result<(), CliError> {
    let err = |reason: String| CliError::Plot {
        path: path.to_path_buf(),
        reason,
    };
    let window = window(intervals, batches.max(1)).ok_or_else(|| err("the timeline recorded no batches".into()))?;
    let (t0, t1) = window;
    let shown: Vec<&Interval> = intervals.iter().filter(|i| i.start < t1 && i.end > t0).collect();
    let mut rows: Vec<Row> = shown
        .iter()
        .map(|i| match i.track {
            Track::Queue => Row::Queued,
            ref t => Row::Track(t.clone()),
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    rows.sort_by_key(row_order);
    let ms = |d: Duration| d.saturating_sub(t0).as_secs_f64() * 1e3;
    let span = ms(t1).max(1e-3);
    // Rows count upward in plotters; the first row goes on top.
    let n = rows.len() as i32;
    let y_of = |row: &Row| n - 1 - rows.iter().position(|r| r == row).unwrap_or(0) as i32;

    let height = 110 + 34 * rows.len() as u32;
    let root = SVGBackend::new(path, (1200, height)).into_drawing_area();
    let draw = |e: &dyn std::fmt::Display| err(e.to_string());
    root.fill(&WHITE).map_err(|e| draw(&e))?;
    // The x range runs past the window's end to leave room for the legend beside the bars.
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(150)
        // `into_segmented` makes one segment per value of the inclusive range, hence `n - 1`.
        .build_cartesian_2d(0f64..span * 1.16, (0..n - 1).into_segmented())
        .map_err(|e| draw(&e))?;
    let labels: Vec<String> = rows
        .iter()
        .rev()
        .map(|r| match r {
            Row::Queued => "queued (requests)".to_string(),
            Row::Track(t) => t.label(),
        })
        .collect();
    let label_of = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(k) => labels.get(*k as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&label_of)
        .x_desc("time (ms)")
        .draw()
        .map_err(|e| draw(&e))?;

    let phases = [
        Phase::Queued,
        Phase::Prepare,
        Phase::Submit,
        Phase::H2D,
        Phase::Compute,
        Phase::D2H,
        Phase::Complete,
    ];
    for phase in phases {
        let bars: Vec<&&Interval> = shown.iter().filter(|i| i.phase == phase).collect();
        if bars.is_empty() {
            continue;
        }
        let color = color(phase);
        // Queue waits overlap each other; translucent bars darken where many requests wait.
        let style = if phase == Phase::Queued {
            color.mix(0.18).filled()
        } else {
            color.filled()
        };
        let rects = bars.iter().map(|i| {
            let row = match i.track {
                Track::Queue => Row::Queued,
                ref t => Row::Track(t.clone()),
            };
            let y = y_of(&row);
            let mut r = Rectangle::new(
                [
                    (ms(i.start.max(t0)), SegmentValue::Exact(y)),
                    // At least a hair wide: a 20 µs submit still shows where it happened.
                    (
                        ms(i.end.min(t1)).max(ms(i.start.max(t0)) + span * 0.003),
                        SegmentValue::Exact(y + 1),
                    ),
                ],
                style,
            );
            r.set_margin(4, 4, 0, 1);
            r
        });
        chart
            .draw_series(rects)
            .map_err(|e| draw(&e))?
            .label(phase.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        if phase != Phase::Queued {
            // Batch numbers on bars wide enough to hold them: they show which batch's copy
            // runs under which batch's compute.
            let text = ("sans-serif", 11)
                .into_font()
                .color(&WHITE)
                .pos(Pos::new(HPos::Center, VPos::Center));
            let mut numbers = Vec::new();
            for i in &bars {
                let y = y_of(&Row::Track(i.track.clone()));
                let (x0, x1) = (ms(i.start.max(t0)), ms(i.end.min(t1)));
                let px = chart.backend_coord(&(x1, SegmentValue::Exact(y))).0
                    - chart.backend_coord(&(x0, SegmentValue::Exact(y))).0;
                if px >= 18 {
                    let center = ((x0 + x1) / 2.0, SegmentValue::CenterOf(y));
                    numbers.push(Text::new(i.batch.to_string(), center, text.clone()));
                }
            }
            chart.draw_series(numbers).map_err(|e| draw(&e))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| draw(&e))?;
    root.present().map_err(|e| draw(&e))?;
    Ok(())
}

/// From the first interval to the end of the `batches`-th batch (by batch id, over the
/// per-batch phases), or `None` when no batch was recorded.
fn window(intervals: &[Interval], batches: usize) -> Option<(Duration, Duration)> {
    let ids: BTreeSet<u64> = intervals
        .iter()
        .filter(|i| i.track != Track::Queue)
        .map(|i| i.batch)
        .collect();
    let last = *ids.iter().nth(batches - 1).or_else(|| ids.iter().next_back())?;
    let t0 = intervals.iter().map(|i| i.start).min()?;
    let t1 = intervals
        .iter()
        .filter(|i| i.track != Track::Queue && i.batch <= last)
        .map(|i| i.end)
        .max()?;
    Some((t0, t1.max(t0 + Duration::from_micros(1))))
}

/// Top to bottom in the order work flows: queue, workers, instances (submits), engines (copy in,
/// compute, copy out), completion threads.
fn row_order(row: &Row) -> (u8, usize, u8, String) {
    match row {
        Row::Queued => (0, 0, 0, String::new()),
        Row::Track(Track::Queue) => (0, 0, 0, String::new()),
        Row::Track(Track::Worker(k)) => (1, *k, 0, String::new()),
        Row::Track(Track::Instance(i)) => (2, *i, 0, String::new()),
        Row::Track(Track::Engine(name)) => {
            let rank = match name.as_str() {
                "h2d" | "dma" => 0,
                n if n.starts_with("compute") => 1,
                "d2h" => 2,
                _ => 3,
            };
            (3, 0, rank, name.clone())
        }
        Row::Track(Track::Completion(i)) => (4, *i, 0, String::new()),
    }
}

/// The Okabe-Ito palette: distinguishable with every common colour-vision deficiency.
fn color(phase: Phase) -> RGBColor {
    match phase {
        Phase::Queued => RGBColor(90, 90, 90),
        Phase::Prepare => RGBColor(230, 159, 0),
        Phase::Submit => RGBColor(204, 121, 167),
        Phase::H2D => RGBColor(86, 180, 233),
        Phase::Compute => RGBColor(0, 158, 115),
        Phase::D2H => RGBColor(213, 94, 0),
        Phase::Complete => RGBColor(0, 114, 178),
    }
}
