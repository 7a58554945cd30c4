//! A dependency-free SVG bar chart: one bar per estimate (device x precision), stacked by
//! kernel class, labelled with the total latency.

use crate::estimate::Estimate;
use crate::layers::KernelClass;
use std::fmt::Write as _;

const COLORS: [&str; 9] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Latency per estimate, stacked by kernel class, on a log-free linear axis per row (each
/// bar is scaled to the slowest estimate).
pub fn latency_chart(title: &str, estimates: &[Estimate]) -> String {
    let (w, left, row, top) = (900.0, 230.0, 28.0, 50.0);
    let h = top + row * estimates.len() as f64 + 60.0;
    let max = estimates
        .iter()
        .map(|e| e.latency_s)
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let span = w - left - 120.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    for (i, e) in estimates.iter().enumerate() {
        let y = top + row * i as f64;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{} {}</text>"#,
            left - 8.0,
            y + 16.0,
            escape(&e.device),
            e.precision.name()
        );
        let mut x = left;
        for (ci, c) in KernelClass::ALL.iter().enumerate() {
            let t: f64 = e
                .layers
                .iter()
                .filter(|l| l.layer.class == *c)
                .map(|l| l.cost.time_s)
                .sum();
            let bw = t / max * span;
            if bw > 0.0 {
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.2}" y="{}" width="{bw:.2}" height="20" fill="{}"><title>{}: {:.3} ms</title></rect>"#,
                    y + 2.0,
                    COLORS[ci],
                    c.name(),
                    t * 1e3
                );
            }
            x += bw;
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{}">{:.3} ms</text>"#,
            x + 6.0,
            y + 16.0,
            e.latency_s * 1e3
        );
    }
    let ly = top + row * estimates.len() as f64 + 25.0;
    for (ci, c) in KernelClass::ALL.iter().enumerate() {
        let x = 10.0 + 98.0 * ci as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{ly}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            COLORS[ci],
            x + 16.0,
            ly + 11.0,
            c.name()
        );
    }
    s.push_str("</svg>\n");
    s
}
