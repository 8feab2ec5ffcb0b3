//! Small inline SVG charts for the HTML report: lines or bars over a linear or logarithmic x
//! axis, with ticks, labels and a legend. No scripts, no external assets.
//!
//! A chart is drawn in steps: its [`Frame`] (the ranges shown, widened for bars and for one
//! point), the grid with its ticks, the axes, each line in its style, the legend.
//!
//! Why not a plotting crate: plotters' SVG backend draws the same primitives, but with inline
//! styles and no hooks for the two things the page relies on: a `<title>` on every line, bar
//! and mark (the value under the pointer, with no script), and CSS classes (`grid`, `tick`,
//! `axis`, `label`) that the page styles once for every chart. Four kinds of chart do not
//! repay three crates and a drawing model to learn; these few hundred lines are tested down to
//! their output.

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

/// Where values land on the plot: the ranges shown and the scale of each axis.
struct Frame {
    x0: f64,
    x1: f64,
    y1: f64,
    y_step: f64,
    x_log: bool,
}

/// The plot's width and height inside the margins.
const PW: f64 = W - LEFT - RIGHT;
const PH: f64 = H - TOP - BOTTOM;

impl Frame {
    /// An x value on the axis's own scale (its logarithm on a log axis).
    fn tx(&self, x: f64) -> f64 {
        if self.x_log {
            x.max(1e-12).log10()
        } else {
            x
        }
    }

    /// The horizontal pixel of `x`.
    fn px(&self, x: f64) -> f64 {
        LEFT + (self.tx(x) - self.x0) / (self.x1 - self.x0) * PW
    }

    /// The vertical pixel of `y`.
    fn py(&self, y: f64) -> f64 {
        TOP + PH - y / self.y1 * PH
    }
}

impl Chart {
    /// The chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let f = self.frame();
        let mut svg = String::new();
        write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}"><text x="{LEFT}" y="22" class="title">{t}</text>"#,
            t = escape(&self.title)
        )
        .unwrap();
        self.grid(&mut svg, &f);
        self.axes(&mut svg);
        for line in &self.lines {
            draw(&mut svg, line, &f);
        }
        self.legend(&mut svg);
        svg.push_str("</svg>");
        svg
    }

    /// The ranges shown: every point and tick, room for bars, and a narrow range widened.
    fn frame(&self) -> Frame {
        let mut f = Frame {
            x0: f64::INFINITY,
            x1: f64::NEG_INFINITY,
            y1: 0.0,
            y_step: 1.0,
            x_log: self.x_log,
        };
        let points = self.lines.iter().flat_map(|s| s.points.iter());
        let ticks = self.x_ticks.iter().map(|(x, _)| (*x, 0.0));
        for (x, y) in points.copied().chain(ticks) {
            f.x0 = f.x0.min(f.tx(x));
            f.x1 = f.x1.max(f.tx(x));
            f.y1 = f.y1.max(y);
        }
        if !f.x0.is_finite() {
            (f.x0, f.x1) = (0.0, 1.0);
        }
        let bars = self.lines.iter().any(|s| s.style == Style::Bars);
        if bars {
            // Room for the first and last bar.
            let n = self.lines.iter().map(|s| s.points.len()).max().unwrap_or(1);
            let pad = (f.x1 - f.x0).max(1.0) / n.max(1) as f64 / 2.0;
            (f.x0, f.x1) = (f.x0 - pad, f.x1 + pad);
        } else if !self.x_log {
            // One point, or a narrow range far from zero: widen it to a fifth of its size, so
            // that round ticks tell their values apart (not 2450, 2450, 2451, ...).
            let least = 0.2 * f.x0.abs().max(f.x1.abs()).max(1.0);
            if f.x1 - f.x0 < least {
                let nonnegative = f.x0 >= 0.0;
                f.x0 = (f.x0 + f.x1) / 2.0 - least / 2.0;
                if nonnegative {
                    f.x0 = f.x0.max(0.0);
                }
                f.x1 = f.x0 + least;
            }
        }
        if f.x1 <= f.x0 {
            f.x1 = f.x0 + 1.0;
        }
        f.y_step = nice_step(f.y1.max(1e-9), 5);
        f.y1 = ((f.y1 / f.y_step).ceil() * f.y_step).max(f.y_step);
        f
    }

    /// Horizontal lines with the y labels; vertical ones at the x ticks (given, or round values
    /// over the range).
    fn grid(&self, svg: &mut String, f: &Frame) {
        let mut y = 0.0;
        while y <= f.y1 + f.y_step / 2.0 {
            write!(
                svg,
                r#"<line x1="{LEFT}" y1="{py:.1}" x2="{xe}" y2="{py:.1}" class="grid"/><text x="{lx}" y="{ty:.1}" class="tick" text-anchor="end">{}</text>"#,
                label(y),
                py = f.py(y),
                xe = W - RIGHT,
                lx = LEFT - 6.0,
                ty = f.py(y) + 4.0
            )
            .unwrap();
            y += f.y_step;
        }
        let ticks: Vec<(f64, String)> = if !self.x_ticks.is_empty() {
            self.x_ticks.clone()
        } else {
            let step = nice_step(f.x1 - f.x0, 8);
            let mut v = (f.x0 / step).ceil() * step;
            let mut t = Vec::new();
            while v <= f.x1 + 1e-9 {
                t.push((v, label(v)));
                v += step;
            }
            t
        };
        for (x, text) in &ticks {
            write!(
                svg,
                r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom}" class="grid"/><text x="{x:.1}" y="{ly}" class="tick" text-anchor="middle">{}</text>"#,
                escape(text),
                x = f.px(*x),
                bottom = TOP + PH,
                ly = TOP + PH + 16.0
            )
            .unwrap();
        }
    }

    /// The two axes and their labels.
    fn axes(&self, svg: &mut String) {
        write!(
            svg,
            r#"<line x1="{LEFT}" y1="{b}" x2="{xe}" y2="{b}" class="axis"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b}" class="axis"/>"#,
            b = TOP + PH,
            xe = W - RIGHT
        )
        .unwrap();
        write!(
            svg,
            r#"<text x="{cx}" y="{ly}" class="label" text-anchor="middle">{}</text><text x="16" y="{cy}" class="label" text-anchor="middle" transform="rotate(-90 16 {cy})">{}</text>"#,
            escape(&self.x_label),
            escape(&self.y_label),
            cx = LEFT + PW / 2.0,
            ly = H - 10.0,
            cy = TOP + PH / 2.0
        )
        .unwrap();
    }

    /// The legend: its own row under the title, from the left of the plot. Each entry is as
    /// wide as its name (about 6.5 px a character at the tick size), so that long names do not
    /// run into the next.
    fn legend(&self, svg: &mut String) {
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
    }
}

/// One line of the chart, in its style.
fn draw(svg: &mut String, s: &Line, f: &Frame) {
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
                .map(|&(x, y)| format!("{:.1},{:.1}", f.px(x), f.py(y)))
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
                    f.px(x),
                    f.py(y),
                    s.color,
                    escape(&s.name),
                    label(x),
                    label(y)
                )
                .unwrap();
            }
        }
        Style::Bars => {
            let width = (PW / s.points.len().max(1) as f64 * 0.8).max(1.0);
            for &(x, y) in &s.points {
                write!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                    f.px(x) - width / 2.0,
                    f.py(y),
                    (TOP + PH - f.py(y)).max(0.0),
                    s.color,
                    label(x),
                    label(y)
                )
                .unwrap();
            }
        }
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
