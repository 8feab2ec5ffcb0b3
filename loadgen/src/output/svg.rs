//! Small inline SVG charts for the HTML report: lines or bars over a linear or logarithmic x
//! axis, with ticks, labels and a legend. No scripts, no external assets.

use std::fmt::Write;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A polyline through the points.
    Line,
    /// One bar per point, from zero.
    Bars,
    /// A dot per point, unjoined.
    Marks,
    /// A dashed polyline (a bound, not data).
    Dashed,
}

/// One named line of points on a chart.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// (x, y) points, x ascending.
    pub points: Vec<(f64, f64)>,
    /// Line or bars.
    pub style: Style,
}

/// A chart: axes, ticks and series.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// Text under the x axis.
    pub x_label: String,
    /// Text beside the y axis.
    pub y_label: String,
    /// Ticks on the x axis: (value, label). Empty: chosen from the data.
    pub x_ticks: Vec<(f64, String)>,
    /// Whether x is plotted on a base-10 logarithmic scale (values must be positive).
    pub x_log: bool,
    /// The series.
    pub lines: Vec<Line>,
}

const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
/// Room above the plot for the title (first row) and the legend (second row), so that a long
/// title and a wide legend never overlap.
const TOP: f64 = 62.0;
const BOTTOM: f64 = 50.0;

/// Escapes text for XML and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Round tick steps: 1, 2 or 5 times a power of ten, giving about `n` ticks over `span`.
pub fn nice_step(span: f64, n: usize) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / n.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn label(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Chart {
    /// The chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let points = self.lines.iter().flat_map(|s| s.points.iter());
        let tx = |x: f64| if self.x_log { x.max(1e-12).log10() } else { x };
        let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
        for &(x, y) in points {
            x0 = x0.min(tx(x));
            x1 = x1.max(tx(x));
            y1 = y1.max(y);
        }
        for (x, _) in &self.x_ticks {
            x0 = x0.min(tx(*x));
            x1 = x1.max(tx(*x));
        }
        let bars = self.lines.iter().any(|s| s.style == Style::Bars);
        if !x0.is_finite() {
            (x0, x1) = (0.0, 1.0);
        }
        if bars {
            // Room for the first and last bar.
            let n = self
                .lines
                .iter()
                .map(|s| s.points.len())
                .max()
                .unwrap_or(1)
                .max(1);
            let pad = (x1 - x0).max(1.0) / n as f64 / 2.0;
            (x0, x1) = (x0 - pad, x1 + pad);
        }
        if !bars && !self.x_log {
            // One point, or a narrow range far from zero: widen it to a fifth of its size, so
            // that round ticks tell their values apart (not 2450, 2450, 2451, ...).
            let least = 0.2 * x0.abs().max(x1.abs()).max(1.0);
            if x1 - x0 < least {
                let nonnegative = x0 >= 0.0;
                x0 = (x0 + x1) / 2.0 - least / 2.0;
                if nonnegative {
                    x0 = x0.max(0.0);
                }
                x1 = x0 + least;
            }
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let y_step = nice_step(y1.max(1e-9), 5);
        let y1 = ((y1 / y_step).ceil() * y_step).max(y_step);
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let px = |x: f64| LEFT + (tx(x) - x0) / (x1 - x0) * pw;
        let py = |y: f64| TOP + ph - y / y1 * ph;

        let mut svg = String::new();
        write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}">"#,
            t = escape(&self.title)
        )
        .unwrap();
        write!(
            svg,
            r#"<text x="{LEFT}" y="22" class="title">{}</text>"#,
            escape(&self.title)
        )
        .unwrap();
        // Horizontal grid and y labels.
        let mut y = 0.0;
        while y <= y1 + y_step / 2.0 {
            write!(
                svg,
                r#"<line x1="{LEFT}" y1="{py:.1}" x2="{xe}" y2="{py:.1}" class="grid"/><text x="{lx}" y="{ty:.1}" class="tick" text-anchor="end">{}</text>"#,
                label(y),
                py = py(y),
                xe = W - RIGHT,
                lx = LEFT - 6.0,
                ty = py(y) + 4.0
            )
            .unwrap();
            y += y_step;
        }
        // X ticks: given, or round values over the range.
        let ticks: Vec<(f64, String)> = if !self.x_ticks.is_empty() {
            self.x_ticks.clone()
        } else {
            let step = nice_step(x1 - x0, 8);
            let mut v = (x0 / step).ceil() * step;
            let mut t = Vec::new();
            while v <= x1 + 1e-9 {
                t.push((v, label(v)));
                v += step;
            }
            t
        };
        for (x, text) in &ticks {
            write!(
                svg,
                r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" class="grid"/><text x="{x:.1}" y="{ly}" class="tick" text-anchor="middle">{}</text>"#,
                escape(text),
                x = px(*x),
                top = TOP,
                bottom = TOP + ph,
                ly = TOP + ph + 16.0
            )
            .unwrap();
        }
        write!(
            svg,
            r#"<line x1="{LEFT}" y1="{b}" x2="{xe}" y2="{b}" class="axis"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}" class="axis"/>"#,
            b = TOP + ph,
            xe = W - RIGHT
        )
        .unwrap();
        write!(
            svg,
            r#"<text x="{cx}" y="{ly}" class="label" text-anchor="middle">{}</text><text x="16" y="{cy}" class="label" text-anchor="middle" transform="rotate(-90 16 {cy})">{}</text>"#,
            escape(&self.x_label),
            escape(&self.y_label),
            cx = LEFT + pw / 2.0,
            ly = H - 10.0,
            cy = TOP + ph / 2.0
        )
        .unwrap();
        for s in &self.lines {
            match s.style {
                Style::Line | Style::Dashed => {
                    let dash = if s.style == Style::Dashed {
                        r#" stroke-dasharray="6 4""#
                    } else {
                        ""
                    };
                    let path: Vec<String> = s
                        .points
                        .iter()
                        .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                        .collect();
                    write!(
                        svg,
                        r#"<polyline fill="none" stroke="{}" stroke-width="1.8"{dash} points="{}"><title>{}</title></polyline>"#,
                        s.color,
                        path.join(" "),
                        escape(&s.name)
                    )
                    .unwrap();
                }
                Style::Marks => {
                    for &(x, y) in &s.points {
                        write!(
                            svg,
                            r#"<circle cx="{:.1}" cy="{:.1}" r="4.5" fill="{}" stroke="white"><title>{}: {}, {}</title></circle>"#,
                            px(x),
                            py(y),
                            s.color,
                            escape(&s.name),
                            label(x),
                            label(y)
                        )
                        .unwrap();
                    }
                }
                Style::Bars => {
                    let n = s.points.len().max(1) as f64;
                    let width = (pw / n * 0.8).max(1.0);
                    for &(x, y) in &s.points {
                        write!(
                            svg,
                            r#"<rect x="{:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                            px(x) - width / 2.0,
                            py(y),
                            (TOP + ph - py(y)).max(0.0),
                            s.color,
                            label(x),
                            label(y)
                        )
                        .unwrap();
                    }
                }
            }
        }
        // Legend: its own row under the title, from the left of the plot.
        // Each entry as wide as its name (about 6.5 px a character at the tick size), so that
        // long names do not run into the next.
        let mut x = LEFT;
        for s in &self.lines {
            write!(
                svg,
                r#"<rect x="{x}" y="32" width="12" height="12" fill="{}"/><text x="{tx}" y="42" class="tick">{}</text>"#,
                s.color,
                escape(&s.name),
                tx = x + 16.0
            )
            .unwrap();
            x += 16.0 + 6.5 * s.name.chars().count() as f64 + 24.0;
        }
        svg.push_str("</svg>");
        svg
    }
}

/// The points of the `n`th polyline of a rendered chart or page, for tests.
#[cfg(test)]
pub(crate) fn polyline_points(svg: &str, n: usize) -> Vec<&str> {
    svg.split("<polyline")
        .nth(n + 1)
        .and_then(|p| p.split("points=\"").nth(1))
        .and_then(|p| p.split('"').next())
        .map_or_else(Vec::new, |p| p.split(' ').collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round_numbers() {
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(0.7, 5), 0.2);
        assert_eq!(nice_step(900.0, 8), 200.0);
        assert_eq!(nice_step(0.0, 5), 1.0);
    }

    #[test]
    fn one_point_gets_ticks_with_distinct_labels() {
        let chart = Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_ticks: vec![],
            x_log: false,
            lines: vec![Line {
                name: "p99".into(),
                color: "#000",
                style: Style::Line,
                points: vec![(2450.0, 1.6)],
            }],
        };
        let svg = chart.render();
        let labels: Vec<&str> = svg
            .split(r#"text-anchor="middle">"#)
            .skip(1)
            .filter_map(|t| t.split('<').next())
            .collect();
        assert!(labels.len() >= 3, "{labels:?}");
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(unique, labels, "repeated tick labels");
        assert!(
            labels.contains(&"2400") || labels.contains(&"2500"),
            "{labels:?}"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn a_chart_holds_every_series_and_point() {
        let chart = Chart {
            title: "t <1>".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_ticks: vec![],
            x_log: false,
            lines: vec![
                Line {
                    name: "a".into(),
                    color: "red",
                    points: vec![(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)],
                    style: Style::Line,
                },
                Line {
                    name: "b".into(),
                    color: "blue",
                    points: vec![(0.0, 1.0), (1.0, 1.0)],
                    style: Style::Bars,
                },
            ],
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("t &lt;1&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(polyline_points(&svg, 0).len(), 3);
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 2,
            "two bars and two legend keys"
        );
    }

    #[test]
    fn an_empty_chart_still_renders() {
        let chart = Chart {
            title: "empty".into(),
            x_label: String::new(),
            y_label: String::new(),
            x_ticks: vec![],
            x_log: true,
            lines: vec![],
        };
        assert!(chart.render().ends_with("</svg>"));
    }
}
