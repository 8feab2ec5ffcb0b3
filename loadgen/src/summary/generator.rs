//! Whether the generator held up: a run whose own delay (loadgen's send lag, or on the receive
//! side its notice of arrivals or its event-loop lag) is a material part of the latency it
//! reports measured loadgen as much as the server.

/// The generator's own delay may be at most this share of the latency p99 it reports: past
/// it, the headline is more than 1/(1-0.25) = 1.33 times the server's, beyond the 1.3x
/// agreement with a timer-free probe the tool is held to.
pub const GENERATOR_SHARE: f64 = 0.25;
/// A send-side delay under this is not told apart from the timer's slack (20 µs) and the
/// kernel's wake-up: the resolution of the rule, not a floor that hides anything above it.
pub const RESOLUTION_MS: f64 = 0.05;
/// The event loop's lag counts from here. Under it, it is mostly the time to read one
/// broadcast's deliveries in turn, which any one-threaded client pays as well: at 100 bots × 1
/// msg/s the loop's lag p99 is about 0.6 ms while the headline p99 is within 1.05x of the
/// timer-free probe's (one `poll` over the same 100 sockets). The send side has no such floor.
pub const LOOP_FLOOR_MS: f64 = 1.0;

/// What the generator-bound rule reads from a run, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnDelay {
    /// Latency p99 from the planned send: the headline.
    pub latency_p99: f64,
    /// Latency p99 from the real send.
    pub sent_p99: f64,
    /// How late sends left against their plan, p99.
    pub send_lag_p99: f64,
    /// The event loop's lag p99.
    pub loop_lag_p99: f64,
    /// Where the workers were stamped by the kernel: how long after a delivery arrived their
    /// loops noticed it, p99. The receive side's share of the headline, measured exactly.
    pub notice_lag_p99: Option<f64>,
    /// With `--arrival burst`, the time between bursts.
    pub burst_gap: Option<f64>,
}

/// Decides whether the generator's own delay is a material part of what it reports, at any
/// scale. The send side is measured where it lands in the headline: how much later the p99
/// from the planned send is than the p99 from the real send. The receive side is, where the
/// kernel stamped the deliveries, how long after arriving they were noticed (p99), and
/// otherwise the event loop's lag p99: how long a ready socket can wait to be read.
///
/// A burst plans every bot's message at one instant, and a worker sends them one after
/// another: that spread is what a burst is on fewer threads than bots, for any client. So a
/// burst run is held to its rhythm instead: its send lag p99 may be at most a quarter of the
/// time between bursts.
pub fn generator_bound(d: OwnDelay) -> Option<String> {
    let allowed = GENERATOR_SHARE * d.latency_p99;
    let send_side = send_side(&d);
    let of_headline = |what: &str, own: f64| {
        format!(
            "generator-bound: loadgen's own delay ({what}) is {own:.3} ms at p99, {:.0}% of the \
             {:.3} ms p99 it reports (more than {:.0}%)",
            100.0 * own / d.latency_p99.max(1e-9),
            d.latency_p99,
            GENERATOR_SHARE * 100.0
        )
    };
    // Stamped workers count a delivery from when their loop noticed it: the time from its
    // arrival to that is exactly what the receive side adds. Otherwise the loop's lag for a
    // timer stands for it (and for the wait for a read, which is then in the headline too).
    let (receive_what, receive) = match d.notice_lag_p99 {
        Some(notice) => ("event loop's notice of arrivals", notice),
        None => ("event-loop lag", d.loop_lag_p99),
    };
    let sending = match d.burst_gap {
        Some(gap) => (d.send_lag_p99 > GENERATOR_SHARE * gap).then(|| {
            format!(
                "generator-bound: loadgen's send lag is {:.3} ms at p99, more than {:.0}% of the \
                 {gap:.1} ms between bursts: it cannot send a burst in time for the next",
                d.send_lag_p99,
                GENERATOR_SHARE * 100.0
            )
        }),
        None => {
            (send_side > allowed.max(RESOLUTION_MS)).then(|| of_headline("send side", send_side))
        }
    };
    let why = sending.or_else(|| {
        (receive > allowed.max(LOOP_FLOOR_MS)).then(|| of_headline(receive_what, receive))
    })?;
    Some(format!("{why}; {ADVICE}"))
}

/// How much the send side adds to the headline p99: the p99 from the planned send less the p99
/// from the real send, but never more than the sends' own lag p99. Two p99s over a small
/// sample differ by noise alone (0.75 ms apart at 50 bots x 1 msg/s with sends 0.01 ms late):
/// sends that left on time cannot have added more than they were late.
fn send_side(d: &OwnDelay) -> f64 {
    (d.latency_p99 - d.sent_p99)
        .max(0.0)
        .min(d.send_lag_p99.max(0.0))
}

/// The generator's own delay at p99, in ms: the larger of its send side and its receive side
/// (the notice of arrivals where stamped, else the event loop's lag past its floor). The
/// server's latency is at least the headline less this.
pub fn own_delay_ms(d: OwnDelay) -> f64 {
    let receive = match d.notice_lag_p99 {
        Some(notice) => notice,
        None => (d.loop_lag_p99 - LOOP_FLOOR_MS).max(0.0),
    };
    let send = match d.burst_gap {
        Some(_) => d.send_lag_p99,
        None => send_side(&d),
    };
    send.max(receive).max(0.0)
}

/// What a generator-bound note advises, after its measurement.
pub const ADVICE: &str = "the figures measure loadgen as much as the server (give it more cores \
                          or --workers, or lower the load)";

/// A generator-bound note without its advice: the measurement alone.
pub fn measurement(note: &str) -> &str {
    note.strip_suffix(ADVICE)
        .and_then(|n| n.strip_suffix("; "))
        .unwrap_or(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(latency_p99: f64, sent_p99: f64, loop_lag_p99: f64) -> Option<String> {
        generator_bound(OwnDelay {
            latency_p99,
            sent_p99,
            send_lag_p99: latency_p99 - sent_p99,
            loop_lag_p99,
            notice_lag_p99: None,
            burst_gap: None,
        })
    }

    #[test]
    fn a_burst_is_held_to_its_rhythm() {
        // 30 bots at 5 bursts/s: 0.75 ms to send a burst, 200 ms between bursts.
        let burst = |send_lag_p99| OwnDelay {
            latency_p99: 2.5,
            sent_p99: 1.8,
            send_lag_p99,
            loop_lag_p99: 0.1,
            notice_lag_p99: None,
            burst_gap: Some(200.0),
        };
        assert_eq!(generator_bound(burst(0.75)), None);
        let note = generator_bound(burst(60.0)).expect("60 ms of a 200 ms gap");
        assert!(note.contains("between bursts"), "{note}");
    }

    #[test]
    fn a_send_side_delay_under_a_quarter_of_the_p99_is_not_material() {
        assert_eq!(bound(20.0, 15.1, 0.5), None);
        let note = bound(20.0, 14.9, 0.5).expect("5.1 ms of 20 ms is over a quarter");
        assert!(
            note.starts_with("generator-bound: loadgen's own delay (send side) is 5.100 ms"),
            "{note}"
        );
    }

    #[test]
    fn the_send_side_counts_at_any_scale() {
        // A 0.3 ms headline of which 0.12 ms is the generator's sending: said.
        let note = bound(0.30, 0.18, 0.05).expect("40% is material");
        assert!(note.contains("40% of the 0.300 ms p99"), "{note}");
        assert_eq!(bound(0.30, 0.25, 0.05), None, "17% is not");
        // Under the resolution nothing can be told.
        assert_eq!(bound(0.08, 0.04, 0.0), None);
    }

    #[test]
    fn the_event_loop_counts_from_a_millisecond() {
        assert_eq!(bound(0.92, 0.88, 0.59), None, "100 x 1 on a quiet machine");
        let note = bound(3.0, 2.9, 1.2).expect("1.2 ms of 3 ms");
        assert!(note.contains("(event-loop lag) is 1.200 ms"), "{note}");
        assert_eq!(bound(8.0, 7.9, 1.5), None, "under a quarter");
    }

    #[test]
    fn where_arrivals_are_stamped_their_notice_stands_for_the_receive_side() {
        let stamped = |loop_lag_p99, notice| OwnDelay {
            latency_p99: 1.3,
            sent_p99: 1.29,
            send_lag_p99: 0.01,
            loop_lag_p99,
            notice_lag_p99: Some(notice),
            burst_gap: None,
        };
        // The timer's lag includes waiting behind reads the headline leaves out.
        assert_eq!(generator_bound(stamped(1.15, 0.4)), None);
        let note = generator_bound(stamped(0.5, 1.1)).expect("1.1 ms of 1.3 ms");
        assert!(
            note.contains("(event loop's notice of arrivals) is 1.100 ms"),
            "{note}"
        );
    }

    #[test]
    fn a_gap_between_two_p99s_with_punctual_sends_is_noise() {
        // 50 bots x 1 msg/s on an idle machine: the p99s differ by 0.75 ms, sends left on time.
        let d = OwnDelay {
            latency_p99: 1.65,
            sent_p99: 0.9,
            send_lag_p99: 0.01,
            loop_lag_p99: 0.2,
            notice_lag_p99: Some(0.05),
            burst_gap: None,
        };
        assert_eq!(generator_bound(d), None);
        assert!((own_delay_ms(d) - 0.05).abs() < 1e-9);
    }

    #[test]
    fn own_delay_is_the_larger_side() {
        let d = OwnDelay {
            latency_p99: 40.0,
            sent_p99: 10.0,
            send_lag_p99: 30.0,
            loop_lag_p99: 0.5,
            notice_lag_p99: None,
            burst_gap: None,
        };
        assert_eq!(own_delay_ms(d), 30.0);
    }

    #[test]
    fn a_generator_held_back_is_bound() {
        // Sends 300 ms late: the headline is the generator's.
        assert!(bound(310.0, 2.0, 250.0).is_some());
    }
}
