//! The report as text: the table printed after every run, and the one-line verdict.

use std::fmt::Write;

use crate::summary::report::{Latency, Summary};

/// The report as a readable table.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    if let Some(c) = &s.config {
        writeln!(
            out,
            "loadgen: {} clients x {:.2} msg/s ({} arrivals) = {:.0} msg/s, {} B, {:.0}% private, seed {}, {} at {}{}",
            c.clients,
            c.rate,
            c.arrival,
            c.total_rate(),
            c.size,
            c.private_ratio * 100.0,
            c.seed,
            c.protocol,
            s.server,
            if s.embedded { " (embedded reference server)" } else { "" }
        )
        .unwrap();
    }
    let p = &s.phases;
    writeln!(
        out,
        "phases: connect {:.2} s ({} registered; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), {}warm-up {:.1} s, measure {:.1} s, drain {:.2} s{}",
        p.connect_s, s.registered, s.connect.p50, s.connect.p99, s.connect.max,
        if p.start_wait_s > 0.0 { format!("wait for --start-at {:.1} s, ", p.start_wait_s) } else { String::new() },
        p.warmup_s, p.measure_s, p.drain_s,
        if p.drained { "" } else { " (deliveries still missing at the drain timeout)" }
    )
    .unwrap();
    writeln!(
        out,
        "\n{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "mean"
    )
    .unwrap();
    for (name, l) in latency_rows(s) {
        writeln!(
            out,
            "{name:<24} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        )
        .unwrap();
    }
    if let Some(cfg) = s.config.as_ref().filter(|c| c.shard.is_sharded()) {
        writeln!(
            out,
            "\nshard {} of a run: deliveries expected are those owed for this shard's messages, \
             delivered those its bots received; loss is judged by `loadgen merge`",
            cfg.shard
        )
        .unwrap();
    }
    if s.shards > 1 {
        writeln!(out, "\nmerged from {} shards", s.shards).unwrap();
    }
    writeln!(out, "\nmessages: {}", messages(s)).unwrap();
    writeln!(out, "deliveries: {}", deliveries(s)).unwrap();
    writeln!(out, "errors: {}", errors(s)).unwrap();
    let sc = &s.self_check;
    let pct = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0}%"));
    let us = |v: Option<f64>| v.map_or(String::new(), |v| format!(", {v:.3} us/delivery"));
    write!(
        out,
        "cpu during measurement (of one core): loadgen {} on {} worker{}{}",
        pct(sc.loadgen_cpu_pct),
        sc.workers,
        if sc.workers == 1 { "" } else { "s" },
        us(sc.loadgen_us_per_delivery)
    )
    .unwrap();
    out.push('\n');
    writeln!(out, "server cost per delivery: {}", server_cost(s)).unwrap();
    if let Some(note) = &sc.generator_note {
        writeln!(out, "{note}").unwrap();
    }
    if s.valid {
        writeln!(out, "run: valid").unwrap();
    } else {
        writeln!(out, "run: INVALID: {}", s.invalid_reasons.join("; ")).unwrap();
    }
    out
}

/// The latency rows of every view of a report (this table, the HTML page), in order. The
/// notice and read lags are left out where they were not measured (workers too busy to be stamped, see
/// `STAMPED_DELIVERIES_PER_S`).
pub fn latency_rows(s: &Summary) -> Vec<(&'static str, &Latency)> {
    let mut rows = vec![
        ("per delivery, planned", &s.latency),
        ("per delivery, sent", &s.latency_from_sent),
        ("broadcast completion", &s.completion),
        ("connect and register", &s.connect),
        ("generator send lag", &s.self_check.send_lag),
        ("generator loop lag", &s.self_check.loop_lag),
    ];
    if s.self_check.notice_lag.count > 0 {
        rows.push(("generator notice lag", &s.self_check.notice_lag));
    }
    if s.self_check.read_lag.count > 0 {
        rows.push(("generator read lag", &s.self_check.read_lag));
    }
    rows
}

/// Messages sent against the plan, in one line.
pub fn messages(s: &Summary) -> String {
    let (c, r) = (&s.counts, &s.rates);
    format!(
        "sent {} ({:.1}/s, {:.1}% of the planned {:.1}/s)",
        c.sent, r.achieved_msgs_per_s, r.achieved_pct, r.target_msgs_per_s
    )
}

/// Deliveries owed, arrived, lost and wrong, in one line.
pub fn deliveries(s: &Summary) -> String {
    let c = &s.counts;
    format!(
        "expected {}, delivered {} ({:.0}/s), lost {}, duplicated {}, out of order {}, \
         incomplete broadcasts {}",
        c.expected,
        c.delivered,
        s.rates.deliveries_per_s,
        c.lost,
        c.duplicated,
        c.out_of_order,
        c.incomplete
    )
}

/// Errors by kind, or "none".
pub fn errors(s: &Summary) -> String {
    if s.errors.is_empty() {
        return "none".to_string();
    }
    let list: Vec<String> = s.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
    list.join(", ")
}

/// The server's costs in one line, with what could not be measured said as such.
pub fn server_cost(s: &Summary) -> String {
    let c = &s.server_cost;
    let show = |v: Option<f64>, digits: usize, unit: &str| {
        v.map_or("n/a".to_string(), |v| format!("{v:.digits$}{unit}"))
    };
    let mut line = format!(
        "CPU {}, sends {}, bytes {}; per client: threads {}, RSS {}",
        show(c.cpu_us_per_delivery, 3, " us"),
        show(c.sends_per_delivery, 3, ""),
        show(c.bytes_per_delivery, 1, ""),
        show(c.threads_per_client, 2, ""),
        show(c.rss_kib_per_client, 1, " KiB"),
    );
    if c.sources.is_empty() {
        line.push_str(" (no source: give --server-pid or --server-metrics)");
    } else {
        line.push_str(&format!(" ({})", c.sources.join("; ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_lag_is_shown_only_where_it_was_measured() {
        let mut s = Summary::default();
        assert!(!render(&s).contains("generator read lag"));
        s.self_check.read_lag = Latency {
            count: 10,
            p50: 0.12,
            ..Latency::default()
        };
        let text = render(&s);
        assert!(
            text.lines()
                .any(|l| l.starts_with("generator read lag") && l.contains("0.12")),
            "{text}"
        );
    }
}
