//! `--hlog`: the run's latency second by second as an HdrHistogram interval log, the format
//! the standard HdrHistogram tools read (`HistogramLogProcessor`, the online log analyzer,
//! `hdrhistogram`'s `IntervalLogIterator`).
//!
//! One interval per second of the measurement and the drain, values in microseconds (latency
//! of each delivery from its planned send time), `Interval_Max` in milliseconds. StartTime and
//! BaseTime are the start of the measurement, so interval timestamps count from it.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use hdrhistogram::serialization::V2DeflateSerializer;

use crate::recording::series::Second;

/// The interval log of a run (`--hlog`).
pub fn of(summary: &crate::Summary) -> std::io::Result<Vec<u8>> {
    let start =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(summary.measure_start_unix);
    render(&summary.seconds, start)
}

/// Renders the log of `seconds`, whose second 0 began at `measure_start`.
pub(crate) fn render(seconds: &[Second], measure_start: SystemTime) -> std::io::Result<Vec<u8>> {
    let epoch = measure_start
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let mut header = String::new();
    header.push_str("#[Histogram log format version 1.3]\n");
    header.push_str(
        "#[loadgen: latency of each delivery from its planned send time, in microseconds]\n",
    );
    writeln!(header, "#[StartTime: {epoch:.3} (seconds since epoch)]").unwrap();
    writeln!(header, "#[BaseTime: {epoch:.3} (seconds since epoch)]").unwrap();
    header.push_str("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n");
    let mut body = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut log = IntervalLogWriterBuilder::new()
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut body, &mut serializer)?;
        for s in seconds.iter().filter(|s| s.second >= 0) {
            log.write_histogram(
                &s.histogram(),
                Duration::from_secs(s.second as u64),
                Duration::from_secs(1),
                None,
            )
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        }
    }
    // The writer notes its divisor in a comment of its own; it belongs with the header.
    let mut out = header.into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::series::Interval;
    use crate::recording::series::Series;
    use crate::recording::stats::{histogram, Tally};
    use base64::prelude::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;

    fn seconds() -> Vec<Second> {
        let mut series = Series::new(1);
        for (second, values) in [
            (-1i64, vec![9_000u64]),
            (0, vec![1_000, 2_000]),
            (1, vec![3_000]),
        ] {
            let mut latency = histogram();
            for v in values {
                latency.record(v).unwrap();
            }
            series.add(Interval {
                second,
                latency,
                tally: Tally::default(),
            });
        }
        series.finish()
    }

    #[test]
    fn the_log_holds_one_interval_per_measured_second_that_the_reader_parses() {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let text = render(&seconds(), start).unwrap();
        let as_text = String::from_utf8(text.clone()).unwrap();
        assert!(
            as_text.starts_with("#[Histogram log format version 1.3]\n"),
            "{as_text}"
        );
        assert!(as_text.contains("#[StartTime: 1700000000.000"), "{as_text}");
        let mut intervals = Vec::new();
        for entry in IntervalLogIterator::new(&text) {
            match entry.expect("the log parses") {
                LogEntry::Interval(i) => intervals.push((
                    i.start_timestamp().as_secs_f64(),
                    i.duration().as_secs_f64(),
                    i.max(),
                    i.encoded_histogram().to_string(),
                )),
                LogEntry::StartTime(t) => assert_eq!(t.as_secs(), 1_700_000_000),
                LogEntry::BaseTime(t) => assert_eq!(t.as_secs(), 1_700_000_000),
            }
        }
        assert_eq!(intervals.len(), 2, "warm-up is left out");
        assert_eq!((intervals[0].0, intervals[0].1), (0.0, 1.0));
        assert!(
            (intervals[0].2 - 2.0).abs() < 0.01,
            "max in ms: {}",
            intervals[0].2
        );
        let bytes = BASE64_STANDARD.decode(&intervals[1].3).unwrap();
        let h: hdrhistogram::Histogram<u64> =
            Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
        assert_eq!((h.len(), h.max()), (1, h.highest_equivalent(3_000)));
    }
}
