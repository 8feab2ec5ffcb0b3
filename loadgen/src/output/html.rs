//! `--html`: one self-contained page (inline SVG and CSS, nothing fetched) with the run's
//! settings and verdict, its figures, and four charts: latency over time (p50, p99 and max of
//! each second), deliveries per second, the percentile spectrum on the usual 1/(1-q) axis, and
//! the distribution of connect times.

use std::fmt::Write;

use hdrhistogram::Histogram;

use crate::judging::gate::Check;
use crate::output::svg::{escape, Chart, Line, Style};
use crate::summary::report::Summary;

const P50: &str = "#1f77b4";
const P99: &str = "#d62728";
const MAX: &str = "#7f7f7f";
const RATE: &str = "#2ca02c";

/// The page for `summary`, with the gates' results and the one-line verdict.
pub fn render(s: &Summary, checks: &[Check], verdict: &str) -> String {
    let mut out = page_start(
        &format!("loadgen: {}", s.server),
        &format!("loadgen report: {}", s.server),
        verdict,
    );
    let sc = &s.self_check;
    if let Some(note) = &sc.generator_note {
        write!(out, "<p class=\"warn\">{}</p>", escape(note)).unwrap();
    }
    if !s.invalid_reasons.is_empty() {
        write!(
            out,
            "<p class=\"warn\">invalid run: {}</p>",
            escape(&s.invalid_reasons.join("; "))
        )
        .unwrap();
    }
    settings(&mut out, s);
    figures(&mut out, s);
    gate_list(&mut out, checks.iter().map(|c| (c.pass, c.to_string())));
    out.push_str("<h2>Charts</h2>");
    for chart in charts(s) {
        write!(out, "<figure>{}</figure>", chart.render()).unwrap();
    }
    out.push_str("</body></html>\n");
    out
}

/// A report page's head (title, style sheet), its heading and its verdict line, PASS in green
/// and anything else in red; the caller adds the body and closes it with `</body></html>`.
pub fn page_start(title: &str, heading: &str, verdict: &str) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    write!(
        out,
        "<title>{}</title><style>{CSS}</style></head><body><h1>{}</h1>",
        escape(title),
        escape(heading)
    )
    .unwrap();
    let class = if verdict.starts_with("PASS") {
        "pass"
    } else {
        "fail"
    };
    write!(out, "<p class=\"verdict {class}\">{}</p>", escape(verdict)).unwrap();
    out
}

/// The gates' results as a list, each green when it held and red when not; nothing without
/// gates.
pub fn gate_list(out: &mut String, gates: impl IntoIterator<Item = (bool, String)>) {
    let items: Vec<_> = gates.into_iter().collect();
    if items.is_empty() {
        return;
    }
    out.push_str("<h2>Gates</h2><ul>");
    for (pass, text) in items {
        let class = if pass { "pass" } else { "fail" };
        write!(out, "<li class=\"{class}\">{}</li>", escape(&text)).unwrap();
    }
    out.push_str("</ul>");
}

fn row(out: &mut String, key: &str, value: &str) {
    write!(
        out,
        "<tr><th>{}</th><td>{}</td></tr>",
        escape(key),
        escape(value)
    )
    .unwrap();
}

fn settings(out: &mut String, s: &Summary) {
    out.push_str("<h2>Settings</h2><table>");
    row(out, "server", &s.server);
    row(
        out,
        "embedded reference server",
        if s.embedded { "yes" } else { "no" },
    );
    if let Some(c) = &s.config {
        row(out, "protocol", &c.protocol.to_string());
        row(out, "clients", &c.clients.to_string());
        row(
            out,
            "rate",
            &format!(
                "{:.2} msg/s per bot, {:.0} msg/s in all, {} arrivals",
                c.rate,
                c.total_rate(),
                c.arrival
            ),
        );
        row(out, "message size", &format!("{} B", c.size));
        row(
            out,
            "private messages",
            &format!("{:.0}%", c.private_ratio * 100.0),
        );
        row(out, "seed", &c.seed.to_string());
        row(
            out,
            "phases",
            &format!(
                "warm-up {:.1} s, measurement {:.1} s, drain up to {:.1} s",
                c.warmup.as_secs_f64(),
                c.duration.as_secs_f64(),
                c.drain.as_secs_f64()
            ),
        );
    }
    row(out, "workers", &s.self_check.workers.to_string());
    out.push_str("</table>");
}

fn figures(out: &mut String, s: &Summary) {
    out.push_str("<h2>Figures</h2><table><tr><th>latency (ms)</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>");
    for (name, l) in crate::output::table::latency_rows(s) {
        write!(
            out,
            "<tr><th>{name}</th><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        )
        .unwrap();
    }
    out.push_str("</table><table>");
    row(out, "messages", &crate::output::table::messages(s));
    row(out, "deliveries", &crate::output::table::deliveries(s));
    row(out, "errors", &crate::output::table::errors(s));
    let sc = &s.self_check;
    let cpu = |pct: Option<f64>, us: Option<f64>| match (pct, us) {
        (Some(p), Some(u)) => format!("{p:.0}% of one core, {u:.3} µs per delivery"),
        (Some(p), None) => format!("{p:.0}% of one core"),
        _ => "n/a".to_string(),
    };
    row(
        out,
        "loadgen CPU",
        &cpu(sc.loadgen_cpu_pct, sc.loadgen_us_per_delivery),
    );
    row(
        out,
        "server cost per delivery",
        &crate::output::table::server_cost(s),
    );
    out.push_str("</table>");
}

/// Deliveries per second, each second's count over the time it covered: the run stops partway
/// through its last second, which drawn as a whole one would read as a collapse at the end.
/// A last sliver under a tenth of a second is left out (too short to be a rate).
fn per_second_rates(s: &Summary) -> Vec<(f64, f64)> {
    let end = s.phases.measure_s + s.phases.drain_s;
    s.seconds
        .iter()
        .filter_map(|x| {
            let covered = (end - x.second as f64).clamp(0.0, 1.0);
            (covered >= 0.1).then(|| (x.second as f64, x.delivered as f64 / covered))
        })
        .collect()
}

/// The four charts; those whose data is missing are left out.
pub fn charts(s: &Summary) -> Vec<Chart> {
    let mut charts = Vec::new();
    let measured: Vec<_> = s.seconds.iter().filter(|x| x.measured > 0).collect();
    let line = |name: &str, color, f: fn(&crate::recording::series::Second) -> f64| Line {
        name: name.to_string(),
        color,
        points: measured.iter().map(|x| (x.second as f64, f(x))).collect(),
        style: Style::Line,
    };
    charts.push(Chart {
        title: "Latency over time (from planned send)".into(),
        x_label: "second of the measurement (deliveries by arrival time)".into(),
        y_label: "ms".into(),
        x_ticks: vec![],
        x_log: false,
        lines: vec![
            line("p50", P50, |x| x.p50),
            line("p99", P99, |x| x.p99),
            line("max", MAX, |x| x.max),
        ],
    });
    charts.push(Chart {
        title: "Deliveries per second".into(),
        x_label: "second (negative: warm-up)".into(),
        y_label: "deliveries/s".into(),
        x_ticks: vec![],
        x_log: false,
        lines: vec![Line {
            name: "delivered".into(),
            color: RATE,
            points: per_second_rates(s),
            style: Style::Line,
        }],
    });
    if let Some(h) = s.histogram("from_planned").filter(|h| !h.is_empty()) {
        charts.push(spectrum(&h));
    }
    if let Some(h) = s.histogram("connect").filter(|h| !h.is_empty()) {
        charts.push(connect_times(&h));
    }
    charts
}

/// Latency by percentile, x = 1/(1-q) on a log scale, as HdrHistogram's plotter draws it.
fn spectrum(h: &Histogram<u64>) -> Chart {
    let mut points = Vec::new();
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        points.push((1.0 / (1.0 - q), v.value_iterated_to() as f64 / 1000.0));
    }
    // The largest value sits at the last finite point of the axis.
    let top = points.last().map_or(1.0, |p| p.0).max(10.0);
    points.push((top, h.max() as f64 / 1000.0));
    let mut x_ticks = Vec::new();
    for (k, text) in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]
        .iter()
        .enumerate()
    {
        let x = 10f64.powi(k as i32);
        if x <= top * 1.0001 {
            x_ticks.push((x, text.to_string()));
        }
    }
    Chart {
        title: "Percentile spectrum (per delivery, from planned send)".into(),
        x_label: "percentile".into(),
        y_label: "ms".into(),
        x_ticks,
        x_log: true,
        lines: vec![Line {
            name: "latency".into(),
            color: P99,
            points,
            style: Style::Line,
        }],
    }
}

/// Connect-and-register times in 20 equal bins.
fn connect_times(h: &Histogram<u64>) -> Chart {
    let (lo, hi) = (h.min() as f64 / 1000.0, h.max() as f64 / 1000.0);
    let bins = 20usize;
    let width = ((hi - lo) / bins as f64).max(0.001);
    let mut counts = vec![0u64; bins];
    for v in h.iter_recorded() {
        let ms = v.value_iterated_to() as f64 / 1000.0;
        let i = (((ms - lo) / width) as usize).min(bins - 1);
        counts[i] += v.count_at_value();
    }
    Chart {
        title: "Connect and register times".into(),
        x_label: "ms (bin centre)".into(),
        y_label: "bots".into(),
        x_ticks: vec![],
        x_log: false,
        lines: vec![Line {
            name: "bots".into(),
            color: P50,
            points: counts
                .iter()
                .enumerate()
                .map(|(i, &n)| (lo + width * (i as f64 + 0.5), n as f64))
                .collect(),
            style: Style::Bars,
        }],
    }
}

/// The report pages' style sheet.
pub const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.2em .7em;text-align:left;border-bottom:1px solid #ddd}\
td{font-variant-numeric:tabular-nums}.verdict{font-weight:bold;font-size:1.1em}\
.pass{color:#1a7f37}.fail{color:#b42318}.warn{color:#9a6700;font-weight:bold}\
figure{margin:1em 0}svg .grid{stroke:#eee}svg .axis{stroke:#444}\
svg .tick{font-size:11px;fill:#444}svg .label{font-size:12px;fill:#222}svg .title{font-size:14px;font-weight:bold}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::series::Second;
    use crate::recording::stats::histogram;
    use quick_xml::events::Event;

    fn summary() -> Summary {
        let mut planned = histogram();
        let mut connect = histogram();
        for us in 1..=5_000u64 {
            planned.record(us * 3).unwrap();
        }
        for us in [800u64, 900, 1_500, 4_000] {
            connect.record(us).unwrap();
        }
        let mut s = Summary::with_histograms(&planned, &connect);
        s.server = "chat.example.org:7777 <test>".into();
        s.seconds = (-1..4)
            .map(|k| Second {
                second: k,
                sent: 100,
                delivered: (9_900 + k) as u64,
                measured: if k >= 0 { 9_900 } else { 0 },
                p50: 1.0 + k as f64,
                p99: 5.0 + k as f64,
                max: 9.0 + k as f64,
                encoded: Vec::new(),
            })
            .collect();
        s
    }

    /// Parses the page as XML: every element closed, every attribute quoted, text escaped.
    fn well_formed(page: &str) -> Vec<String> {
        let body = page.trim_start_matches("<!DOCTYPE html>\n");
        let mut reader = quick_xml::Reader::from_str(body);
        let mut open = Vec::new();
        let mut elements = Vec::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    elements.push(name.clone());
                    open.push(name);
                }
                Ok(Event::Empty(e)) => {
                    elements.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap())
                }
                Ok(Event::End(e)) => {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    assert_eq!(open.pop(), Some(name), "mismatched end tag");
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
            }
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
        elements
    }

    #[test]
    fn a_partial_last_second_is_drawn_at_its_rate_and_a_sliver_is_left_out() {
        let mut s = summary();
        // Seconds -1..=3; the run ends 0.5 s into second 3.
        s.phases.measure_s = 3.0;
        s.phases.drain_s = 0.5;
        let rates = per_second_rates(&s);
        assert_eq!(rates.len(), 5);
        assert_eq!(rates[3], (2.0, 9_902.0));
        assert_eq!(rates[4], (3.0, 9_903.0 / 0.5));
        // Ending 0.05 s into second 3: that sliver is no rate at all.
        s.phases.drain_s = 0.05;
        assert_eq!(per_second_rates(&s).len(), 4);
    }

    #[test]
    fn a_legend_has_its_own_row_under_the_title() {
        let page = render(&summary(), &[], "PASS");
        let latency = page.split("Latency over time").nth(2).expect("the chart");
        // The title's baseline is y=22; the legend keys sit on the row below it.
        assert!(
            latency.contains(r#"y="32" width="12" height="12""#),
            "{latency:.400}"
        );
        assert!(!latency.contains(r#"y="12" width="12""#));
    }

    #[test]
    fn the_page_is_well_formed_and_holds_every_chart_and_series() {
        let s = summary();
        let checks = vec![Check {
            what: "p99<50ms".into(),
            actual: "5.00 ms".into(),
            pass: true,
            stands: false,
        }];
        let page = render(&s, &checks, "PASS: all gates hold");
        let elements = well_formed(&page);
        assert_eq!(elements.iter().filter(|e| *e == "svg").count(), 4);
        // Latency over time: p50, p99 and max, one point per measured second.
        assert_eq!(
            crate::output::svg::polyline_points(&page, 0).len(),
            4,
            "seconds 0..=3"
        );
        assert!(page.contains("Latency over time") && page.contains("Deliveries per second"));
        assert!(page.contains("Percentile spectrum") && page.contains("99.9%"));
        assert!(page.contains("Connect and register times"));
        assert!(page.contains("chat.example.org:7777 &lt;test&gt;"));
        assert!(page.contains("PASS: all gates hold") && page.contains("p99&lt;50ms"));
        assert!(
            !page.contains("http://") || !page.contains("src=\"http"),
            "no external assets"
        );
    }

    #[test]
    fn a_report_without_histograms_still_renders_its_time_series() {
        let mut s = summary();
        s.histograms = Default::default();
        let page = render(&s, &[], "FAIL");
        assert_eq!(well_formed(&page).iter().filter(|e| *e == "svg").count(), 2);
    }
}
