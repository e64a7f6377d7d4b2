//! The timeline of a few batches as an SVG picture: one row per device engine (H2D, compute,
//! D2H), one bar per batch from its CUDA events, so copies overlapping kernels are visible.

use std::fmt::Write as _;
use std::time::Duration;

use accelrt::trace::{Interval, Phase};

/// Colours per batch, cycled.
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
];

/// The device intervals of the first `batches` batches (by id) of `all`.
pub fn first_batches(all: &[Interval], batches: u64) -> Vec<Interval> {
    let device = |i: &&Interval| matches!(i.phase, Phase::H2D | Phase::Compute | Phase::D2H);
    let Some(first) = all.iter().filter(device).map(|i| i.batch).min() else {
        return Vec::new();
    };
    all.iter()
        .filter(device)
        .filter(|i| i.batch < first + batches)
        .cloned()
        .collect()
}

/// The picture of `shown` (see [`first_batches`]), titled `title`.
pub fn render(shown: &[Interval], title: &str) -> String {
    let title = title.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let (Some(t0), Some(t1)) = (shown.iter().map(|i| i.start).min(), shown.iter().map(|i| i.end).max()) else {
        return format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"40\"><text x=\"10\" y=\"25\">{title}: no batches recorded</text></svg>\n");
    };
    let first = shown.iter().map(|i| i.batch).min().unwrap_or(0);
    let (left, width, row_h, top) = (90.0, 1000.0, 36.0, 40.0);
    let span = (t1 - t0).as_secs_f64().max(1e-9);
    let x = |t: Duration| left + (t - t0).as_secs_f64() / span * width;
    let height = top + 3.0 * row_h + 40.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">",
        left + width + 20.0
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(svg, "<text x=\"{left}\" y=\"22\" font-size=\"15\">{title}</text>");
    for (row, phase) in [Phase::H2D, Phase::Compute, Phase::D2H].into_iter().enumerate() {
        let y = top + row as f64 * row_h;
        let _ = writeln!(
            svg,
            "<text x=\"8\" y=\"{}\">{}</text>",
            y + row_h / 2.0 + 4.0,
            phase.name()
        );
        for i in shown.iter().filter(|i| i.phase == phase) {
            let n = (i.batch - first) as usize;
            let (x0, x1) = (x(i.start), x(i.end));
            let _ = writeln!(
                svg,
                "<rect x=\"{x0:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{}\" stroke=\"black\" stroke-width=\"0.5\"><title>batch {} {}: {:.3} ms</title></rect>",
                y + 4.0,
                (x1 - x0).max(0.5),
                row_h - 8.0,
                COLOURS[n % COLOURS.len()],
                i.batch,
                phase.name(),
                (i.end - i.start).as_secs_f64() * 1e3
            );
        }
    }
    let axis_y = top + 3.0 * row_h + 16.0;
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"{axis_y}\">0 ms</text><text x=\"{}\" y=\"{axis_y}\" text-anchor=\"end\">{:.3} ms (colour = batch)</text>",
        left + width,
        span * 1e3
    );
    svg.push_str("</svg>\n");
    svg
}
