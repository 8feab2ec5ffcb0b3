//! The search's algorithm, driven by model servers of known capacity (no network).

use super::*;

fn plan(vary: Vary, from: f64, to: f64) -> Plan {
    Plan {
        vary,
        from,
        to,
        precision: 0.05,
        slo: vec![Threshold::parse("p99<50ms").unwrap()],
        max_steps: 40,
    }
}

/// A step's report: p99 within the SLO up to `capacity`, far over it beyond.
fn report(load: f64, capacity: f64) -> Summary {
    let mut s = Summary {
        valid: true,
        ..Summary::default()
    };
    s.latency.p50 = if load <= capacity { 1.0 } else { 200.0 };
    s.latency.p99 = if load <= capacity { 5.0 } else { 900.0 };
    s.rates.deliveries_per_s = load * 10.0;
    s
}

fn load_of(c: &Config, vary: Vary) -> f64 {
    match vary {
        Vary::Rate => c.rate,
        Vary::Clients => c.clients as f64,
    }
}

/// Searches a model whose report for a load is `model(load, nth time that load ran)`.
fn run_model(plan: &Plan, model: &mut dyn FnMut(f64, usize) -> Summary) -> Search {
    let mut seen: Vec<f64> = Vec::new();
    let vary = plan.vary;
    let mut step = |c: Config| -> Result<StepRun, String> {
        let load = load_of(&c, vary);
        let nth = seen.iter().filter(|l| **l == load).count();
        seen.push(load);
        Ok((Ok(model(load, nth)), None))
    };
    search(plan, &Config::default(), &|| false, &mut step, &mut |_| {})
}

fn loads(s: &Search) -> Vec<f64> {
    s.steps.iter().map(|s| s.load).collect()
}

#[test]
fn the_capacity_is_found_within_the_precision_and_confirmed() {
    let capacity = 83.25;
    let p = plan(Vary::Rate, 10.0, 10_000.0);
    let s = run_model(&p, &mut |load, _| report(load, capacity));
    assert_eq!(s.stop, Stop::Precision, "{:?}", loads(&s));
    let answer = s.answer_step().expect("an answer");
    assert_eq!(answer.purpose, Purpose::Confirm);
    assert_eq!(
        answer.number,
        s.steps.len(),
        "the confirmation is the last step"
    );
    assert!(
        answer.load <= capacity && answer.load >= capacity * 0.95,
        "answer {} for capacity {capacity}: {:?}",
        answer.load,
        loads(&s)
    );
    // Doubling first, then bisecting.
    assert_eq!(&loads(&s)[..5], &[10.0, 20.0, 40.0, 80.0, 160.0]);
    assert!(s.steps[5..s.steps.len() - 1]
        .iter()
        .all(|x| x.purpose == Purpose::Bisect));
}

#[test]
fn when_the_first_load_fails_nothing_held() {
    let p = plan(Vary::Rate, 10.0, 100.0);
    let s = run_model(&p, &mut |load, _| report(load, 5.0));
    assert_eq!(s.stop, Stop::NothingHeld);
    assert_eq!(s.answer, None);
    assert_eq!(s.steps.len(), 1);
}

#[test]
fn a_server_holding_the_highest_load_allowed_stops_there() {
    let p = plan(Vary::Rate, 1.0, 16.0);
    let s = run_model(&p, &mut |load, _| report(load, 1_000.0));
    assert_eq!(loads(&s), [1.0, 2.0, 4.0, 8.0, 16.0, 16.0]);
    assert_eq!(s.stop, Stop::ReachedTo);
    assert_eq!(s.answer_step().unwrap().load, 16.0);
}

/// The model server of known capacity, with loadgen's own delay made material from
/// `from_load` on: `own` ms of every p99 is loadgen's (held back on purpose), the rest the
/// server's, whose own p99 is 5 ms up to the capacity and 900 ms beyond.
fn held_back(load: f64, capacity: f64, from_load: f64, own: f64) -> Summary {
    let mut r = report(load, capacity);
    if load >= from_load {
        r.latency.p99 += own;
        r.self_check.own_delay_ms = own;
        r.self_check.generator_note = Some(format!("generator-bound: {own} ms of send lag"));
    }
    r
}

#[test]
fn a_step_held_back_a_little_still_passes_and_the_capacity_is_found() {
    let capacity = 83.25;
    let p = plan(Vary::Rate, 10.0, 10_000.0);
    // 30 ms of loadgen's own in every step from 20 on: 35 ms p99, under the SLO.
    let s = run_model(&p, &mut |load, _| held_back(load, capacity, 20.0, 30.0));
    assert_eq!(s.stop, Stop::Precision, "{:?}", loads(&s));
    let c = s.capacity.as_ref().expect("a capacity");
    assert!(c.deliveries_per_s <= capacity * 10.0 && c.deliveries_per_s >= capacity * 9.5);
    assert!(c.confirmed);
    assert_eq!(c.own_delay_ms, 30.0, "the step says how much was loadgen's");
}

#[test]
fn a_failing_step_that_loadgens_own_delay_explains_stops_with_the_sentence() {
    let p = plan(Vary::Rate, 10.0, 1_000.0);
    // From 40 on loadgen adds 60 ms: 65 ms p99 misses the SLO, 5 ms of it would hold it.
    let s = run_model(&p, &mut |load, _| held_back(load, 1_000.0, 40.0, 60.0));
    assert_eq!(s.stop, Stop::GeneratorBound(3), "{:?}", loads(&s));
    assert!(matches!(s.steps[2].verdict, Verdict::GeneratorBound(_)));
    let c = s.capacity.as_ref().expect("the last pass");
    assert_eq!(s.answer_step().unwrap().load, 20.0);
    assert!(c.lower_bound && !c.confirmed);
    let sentence = crate::search::report::stop_sentence(&s);
    assert!(
        sentence.contains("the generator is the limit, not the server"),
        "{sentence}"
    );
    assert!(crate::search::report::answer(&s).starts_with("capacity: at least "));
}

#[test]
fn a_server_that_misses_by_more_than_loadgens_delay_fails_the_step() {
    let slo = [Threshold::parse("p99<50ms").unwrap()];
    // 900 ms p99, of which 60 ms loadgen's: the server's 840 ms miss the SLO anyway.
    let r = held_back(100.0, 10.0, 0.0, 60.0);
    assert!(matches!(judge(&Ok(r), &slo), Verdict::Fail(_)));
}

#[test]
fn a_generator_that_cannot_send_its_plan_stops_the_search() {
    let p = plan(Vary::Rate, 10.0, 1_000.0);
    let s = run_model(&p, &mut |load, _| {
        let mut r = report(load, 1_000.0);
        r.rates.target_msgs_per_s = load;
        r.rates.achieved_pct = if load >= 40.0 { 80.0 } else { 100.0 };
        r
    });
    assert_eq!(s.stop, Stop::GeneratorBound(3));
    let Verdict::GeneratorBound(why) = &s.steps[2].verdict else {
        panic!("not the generator's");
    };
    assert!(
        why.contains("sent only 80.0% of the planned messages"),
        "{why}"
    );
}

#[test]
fn a_failed_confirmation_moves_the_search_below_it() {
    let p = plan(Vary::Rate, 10.0, 10_000.0);
    // 82.5 passes the first time and fails its confirmation: it was luck.
    let s = run_model(&p, &mut |load, nth| {
        if load == 82.5 && nth > 0 {
            report(load, 0.0)
        } else {
            report(load, 83.25)
        }
    });
    let answer = s.answer_step().expect("an answer below the refuted load");
    assert_eq!(answer.load, 80.0, "{:?}", loads(&s));
    let confirmations = s
        .steps
        .iter()
        .filter(|x| x.purpose == Purpose::Confirm)
        .count();
    assert_eq!(confirmations, 2, "{:?}", loads(&s));
}

#[test]
fn clients_are_searched_in_whole_bots() {
    let p = plan(Vary::Clients, 2.0, 1_000.0);
    let s = run_model(&p, &mut |load, _| report(load, 37.0));
    assert!(
        loads(&s).iter().all(|l| l.fract() == 0.0),
        "{:?}",
        loads(&s)
    );
    let answer = s.answer_step().unwrap().load;
    assert!((35.0..=37.0).contains(&answer), "{answer}: {:?}", loads(&s));
}

#[test]
fn clients_stop_doubling_at_the_last_whole_bot_under_to() {
    let p = plan(Vary::Clients, 2.0, 5.0);
    let s = run_model(&p, &mut |load, _| report(load, 1_000.0));
    assert_eq!(
        loads(&s),
        [2.0, 4.0, 5.0, 5.0],
        "no step repeats below --to"
    );
    assert_eq!(s.stop, Stop::ReachedTo);
}

#[test]
fn a_step_that_cannot_run_ends_the_search_and_keeps_the_steps_so_far() {
    let p = plan(Vary::Rate, 10.0, 1_000.0);
    let mut n = 0;
    let mut step = |c: Config| -> Result<StepRun, String> {
        n += 1;
        if n == 3 {
            return Err("cannot connect to 127.0.0.1:1".into());
        }
        Ok((Ok(report(c.rate, 1_000.0)), None))
    };
    let s = search(&p, &Config::default(), &|| false, &mut step, &mut |_| {});
    assert_eq!(s.steps.len(), 2);
    assert_eq!(
        s.stop,
        Stop::Aborted("cannot connect to 127.0.0.1:1".into())
    );
    assert_eq!(s.answer_step().unwrap().load, 20.0, "the best so far");
}

#[test]
fn the_step_budget_is_kept() {
    let mut p = plan(Vary::Rate, 1.0, 1e9);
    p.max_steps = 4;
    let s = run_model(&p, &mut |load, _| report(load, 1e12));
    assert_eq!((s.steps.len(), s.stop.clone()), (4, Stop::MaxSteps));
    assert_eq!(s.answer_step().unwrap().load, 8.0, "best pass so far");
}

#[test]
fn the_servers_faults_fail_a_step_even_when_the_generator_was_slow() {
    let slo = [Threshold::parse("p99<50ms").unwrap()];
    let mut r = report(1.0, 10.0);
    r.counts.duplicated = 3;
    r.self_check.generator_note = Some("generator-bound".into());
    assert_eq!(
        judge(&Ok(r.clone()), &slo),
        Verdict::Fail("3 duplicated".into())
    );
    r.counts.duplicated = 0;
    // Without them it holds the SLO: latency from the planned send only grows with loadgen's
    // delay, so a step that holds passes, generator-bound or not.
    assert_eq!(judge(&Ok(r), &slo), Verdict::Pass);
}

#[test]
fn loss_on_a_generator_bound_step_is_not_blamed_on_the_server() {
    let slo = [Threshold::parse("p99<50ms").unwrap()];
    let mut r = report(1.0, 10.0);
    r.counts.lost = 3;
    r.self_check.generator_note = Some("generator-bound".into());
    assert!(matches!(
        judge(&Ok(r.clone()), &slo),
        Verdict::GeneratorBound(_)
    ));
    r.self_check.generator_note = None;
    assert_eq!(judge(&Ok(r), &slo), Verdict::Fail("3 lost".into()));
}

#[test]
fn a_step_over_the_slo_says_which_objective_failed() {
    let slo = [Threshold::parse("p99<50ms").unwrap()];
    let Verdict::Fail(why) = judge(&Ok(report(100.0, 10.0)), &slo) else {
        panic!("over the SLO");
    };
    assert!(
        why.contains("p99<50ms") && why.contains("900.00 ms"),
        "{why}"
    );
    assert_eq!(judge(&Ok(report(1.0, 10.0)), &slo), Verdict::Pass);
    assert_eq!(
        judge(&Err("only 3 of 9 bots registered".into()), &slo),
        Verdict::Fail("only 3 of 9 bots registered".into())
    );
}

#[test]
fn capacity_gates_parse_and_other_metrics_are_refused() {
    let gates = capacity_gates(&["capacity >= 1000".into()]).unwrap();
    assert!(gates[0].threshold.holds(1000.0) && !gates[0].threshold.holds(999.0));
    let err = capacity_gates(&["p99<5ms".into()]).unwrap_err();
    assert!(err.to_string().contains("capacity>=N"), "{err}");
}
