//! `--hgrm`: a latency distribution as the percentile table wrk2 prints and the HdrHistogram
//! plotter reads.

use std::fmt::Write;

use hdrhistogram::Histogram;

/// The per-delivery latency distribution of a run in the `.hgrm` format wrk2 and the
/// HdrHistogram plotter read (values in milliseconds).
pub fn of(summary: &crate::Summary) -> String {
    summary
        .histogram("from_planned")
        .map(|h| render(&h))
        .unwrap_or_default()
}

/// Renders a histogram of µs values as an `.hgrm` percentile distribution in ms.
pub(crate) fn render(h: &Histogram<u64>) -> String {
    let mut out = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        let inv = if q < 1.0 {
            format!("{:14.2}", 1.0 / (1.0 - q))
        } else {
            format!("{:>14}", "inf")
        };
        writeln!(
            out,
            "{:12.3} {:14.12} {:10} {inv}",
            v.value_iterated_to() as f64 / 1000.0,
            q,
            v.count_since_last_iteration()
        )
        .unwrap();
    }
    writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n#[Max     = {:12.3}, Total count    = {:12}]\n#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.mean() / 1000.0,
        h.stdev() / 1000.0,
        h.max() as f64 / 1000.0,
        h.len(),
        h.buckets(),
        h.distinct_values()
    )
    .unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::stats::histogram;

    #[test]
    fn hgrm_has_header_rows_and_footer() {
        let mut h = histogram();
        for us in 1..=1000 {
            h.record(us * 10).unwrap();
        }
        let text = render(&h);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
        assert!(text.contains("#[Max     ="));
        assert!(text.lines().count() > 20);
    }
}
