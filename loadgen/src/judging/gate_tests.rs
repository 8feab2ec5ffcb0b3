//! Thresholds: parsing, checking, the default gates, and which verdicts stand on a
//! generator-bound run.

use super::*;

#[test]
fn loss_and_errors_are_gated_by_default_unless_replaced() {
    let names = |ts: Vec<Threshold>| ts.iter().map(|t| t.text.clone()).collect::<Vec<_>>();
    assert_eq!(names(with_defaults(&[])), ["lost==0", "errors==0"]);
    let relaxed = [Threshold::parse("lost_pct<1").unwrap()];
    assert_eq!(names(with_defaults(&relaxed)), ["lost_pct<1", "errors==0"]);
    let errors = [Threshold::parse("errors<=5").unwrap()];
    assert_eq!(names(with_defaults(&errors)), ["errors<=5", "lost==0"]);
}

#[test]
fn parses_latency_thresholds_with_units() {
    let t = Threshold::parse("p99<50ms").unwrap();
    assert_eq!((t.op, t.value), (Op::Lt, 50.0));
    assert_eq!(Threshold::parse("max <= 2s").unwrap().value, 2000.0);
    assert_eq!(Threshold::parse("p50<500us").unwrap().value, 0.5);
}

#[test]
fn parses_counts_and_two_char_operators() {
    let t = Threshold::parse("lost==0").unwrap();
    assert_eq!((t.op, t.value), (Op::Eq, 0.0));
    assert_eq!(Threshold::parse("achieved_pct>=95%").unwrap().op, Op::Ge);
    assert_eq!(Threshold::parse("errors!=3").unwrap().op, Op::Ne);
}

#[test]
fn unknown_metric_is_an_error_not_a_pass() {
    assert!(matches!(
        Threshold::parse("p98<50ms"),
        Err(GateError::UnknownMetric { .. })
    ));
}

#[test]
fn latency_without_unit_is_an_error() {
    assert!(matches!(
        Threshold::parse("p99<50"),
        Err(GateError::BadValue { .. })
    ));
}

#[test]
fn missing_operator_is_an_error() {
    assert!(matches!(
        Threshold::parse("p99 50ms"),
        Err(GateError::NoOperator(_))
    ));
}

fn summary(p99: f64, lost: u64, deliveries: f64) -> Summary {
    let mut s = Summary::default();
    s.latency.p99 = p99;
    s.counts.lost = lost;
    s.rates.deliveries_per_s = deliveries;
    s
}

#[test]
fn thresholds_pass_and_fail_on_the_measured_value() {
    let s = summary(40.0, 0, 1000.0);
    let ts = [
        Threshold::parse("p99<50ms").unwrap(),
        Threshold::parse("p99<1ms").unwrap(),
        Threshold::parse("lost==0").unwrap(),
    ];
    let verdicts: Vec<bool> = check_thresholds(&s, &ts).iter().map(|c| c.pass).collect();
    assert_eq!(verdicts, [true, false, true]);
}

#[test]
fn the_notice_and_read_lags_gate_where_measured_and_fail_where_not() {
    let ts = [
        Threshold::parse("notice_lag_p99<1ms").unwrap(),
        Threshold::parse("read_lag_p99<1ms").unwrap(),
    ];
    let mut s = summary(0.5, 0, 1000.0);
    let unmeasured: Vec<bool> = check_thresholds(&s, &ts).iter().map(|c| c.pass).collect();
    assert_eq!(unmeasured, [false, false], "a heavy run measures neither");
    s.self_check.notice_lag.count = 10;
    s.self_check.notice_lag.p99 = 0.4;
    s.self_check.read_lag.count = 10;
    s.self_check.read_lag.p99 = 1.5;
    let measured: Vec<bool> = check_thresholds(&s, &ts).iter().map(|c| c.pass).collect();
    assert_eq!(measured, [true, false]);
}

#[test]
fn regress_parses_percentages() {
    assert_eq!(parse_regress("20%").unwrap(), 0.2);
    assert!(parse_regress("lots").is_err());
}

fn verdicts(text: &str, p99: f64) -> (bool, bool) {
    let c = &check_thresholds(&summary(p99, 0, 100.0), &[Threshold::parse(text).unwrap()])[0];
    (c.pass, c.stands)
}

#[test]
fn a_latency_under_its_bound_stands_whatever_the_generator_did() {
    assert_eq!(verdicts("p99<50ms", 10.0), (true, true));
    assert_eq!(
        verdicts("p99<5ms", 10.0),
        (false, false),
        "the server's may be under 5 ms"
    );
    assert_eq!(verdicts("p99>5ms", 10.0), (true, false));
    assert_eq!(verdicts("p99>50ms", 10.0), (false, true));
}

#[test]
fn throughput_over_its_bound_stands() {
    assert_eq!(verdicts("deliveries_per_s>=50", 1.0), (true, true));
    assert_eq!(verdicts("deliveries_per_s>=500", 1.0), (false, false));
}

#[test]
fn counted_costs_duplicates_and_no_loss_stand() {
    assert_eq!(verdicts("lost==0", 1.0), (true, true));
    assert_eq!(verdicts("duplicated>0", 1.0), (false, true));
    assert!(stands_at_most("server_sends_per_delivery", false));
    assert!(
        !stands_at_most("server_cpu_us_per_delivery", true),
        "either way"
    );
    assert!(
        !stands_at_most("cpu_us_per_delivery", true),
        "loadgen's own"
    );
}
