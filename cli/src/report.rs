//! Text tables in the style of Triton's perf_analyzer: one summary row, then the phase split.

use std::fmt::Write;
use std::time::Duration;

use crate::load::Measured;
use crate::settings::Settings;

/// The full `bench` report for one run.
pub fn bench_report(what: &str, settings: &Settings, m: &Measured) -> String {
    let s = &m.stats;
    let mut out = String::new();
    let _ = writeln!(out, "accelrt bench: {what}");
    let _ = writeln!(out, "settings: {settings}");
    let _ = writeln!(
        out,
        "measured: {} requests in {}",
        m.completed + m.failed,
        duration(m.wall)
    );
    out.push('\n');
    let header = [
        "Concurrency",
        "Completed",
        "Failed",
        "Throughput",
        "Mean batch",
        "p50",
        "p90",
        "p99",
        "Max",
    ];
    let row = vec![
        settings.concurrency.to_string(),
        m.completed.to_string(),
        m.failed.to_string(),
        format!("{:.1} infer/s", m.throughput()),
        format!("{:.2}", s.mean_batch),
        duration(s.latency.p50),
        duration(s.latency.p90),
        duration(s.latency.p99),
        duration(s.latency.max),
    ];
    out.push_str(&table(&header, &[row]));
    out.push('\n');

    let p = &s.phases;
    let device = s.engine_busy_fraction.is_some();
    let phase = |name: &str, d: Duration, per: &str| vec![name.to_string(), duration(d), per.to_string()];
    let mut rows = vec![
        phase("queue", p.queue, "request"),
        phase("prepare", p.prepare, "batch"),
        phase("submit", p.submit, "batch"),
    ];
    if device {
        rows.push(phase("h2d", p.h2d, "batch (device)"));
        rows.push(phase("compute", p.compute, "batch (device)"));
        rows.push(phase("d2h", p.d2h, "batch (device)"));
    }
    rows.push(phase("complete", p.complete, "batch"));
    out.push_str(&table(&["Phase", "Mean", "Per"], &rows));
    if !device {
        out.push_str("(this backend reports no device times: H2D, compute and D2H run inside submit)\n");
    }
    out.push('\n');

    let mut busy: Vec<String> = s
        .instance_busy_fraction
        .iter()
        .enumerate()
        .map(|(i, f)| format!("instance {i} {}", percent(*f)))
        .collect();
    if let Some([h2d, compute, d2h]) = s.engine_busy_fraction {
        busy.extend([
            format!("h2d {}", percent(h2d)),
            format!("compute {}", percent(compute)),
            format!("d2h {}", percent(d2h)),
        ]);
    }
    let _ = writeln!(out, "busy: {}", busy.join(", "));
    if let Some(e) = &m.first_error {
        let _ = writeln!(out, "first error: {e}");
    }
    out
}

/// Columns left-aligned to their widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (cell, w) in cells.zip(&widths) {
            let _ = write!(l, "{cell:<w$}  ");
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// A duration with a unit that suits its size: `850 µs`, `3.05 ms`, `16.1 ms`, `2.50 s`.
pub fn duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 10_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else if us < 1e6 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn percent(f: f64) -> String {
    format!("{:.1}%", f * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration(Duration::from_micros(850)), "850 µs");
        assert_eq!(duration(Duration::from_micros(3050)), "3.05 ms");
        assert_eq!(duration(Duration::from_micros(16_100)), "16.1 ms");
        assert_eq!(duration(Duration::from_millis(2500)), "2.50 s");
    }

    #[test]
    fn tables_align_columns() {
        let t = table(&["a", "long"], &[vec!["wide cell".into(), "x".into()]]);
        assert_eq!(t, "a          long\nwide cell  x\n");
    }
}
