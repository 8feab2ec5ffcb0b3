//! The run's distributions, named once: [`Histograms`] holds them decoded (µs values), as a run
//! records them and a merge adds them; [`Serialized`] holds them as the JSON report does
//! (HdrHistogram V2-deflate, base64). Both are generated from one list, so a distribution added
//! to it is recorded, merged, written and read everywhere.

use base64::prelude::*;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::recording::stats::histogram;

macro_rules! distributions {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// The distributions, HdrHistogram V2-deflate serialized and base64 encoded (µs values).
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Serialized {
            $($(#[doc = $doc])* pub $name: String,)*
        }

        /// The distributions, decoded (µs values).
        #[derive(Debug, Clone)]
        pub struct Histograms {
            $($(#[doc = $doc])* pub $name: Histogram<u64>,)*
        }

        impl Histograms {
            /// Every distribution's name, as the JSON report spells it.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Empty distributions.
            pub fn new() -> Histograms {
                Histograms { $($name: histogram(),)* }
            }

            /// As the JSON report holds them.
            pub fn serialize(&self) -> Serialized {
                Serialized { $($name: serialize(&self.$name),)* }
            }

            /// Adds another set exactly (HdrHistogram sums).
            pub fn add(&mut self, other: &Histograms) {
                $(let _ = self.$name.add(&other.$name);)*
            }
        }

        impl Serialized {
            /// One distribution's text by name; `None` for an unknown name.
            pub fn get(&self, name: &str) -> Option<&str> {
                match name {
                    $(stringify!($name) => Some(&self.$name),)*
                    _ => None,
                }
            }

            /// Every distribution decoded; an absent or unreadable one is empty.
            pub fn decode(&self) -> Histograms {
                Histograms { $($name: decode(&self.$name).unwrap_or_else(histogram),)* }
            }
        }
    };
}

distributions! {
    /// Latency from the planned send time (coordinated-omission safe).
    from_planned,
    /// Latency from the actual send time.
    from_sent,
    /// Broadcast completion: until the last recipient had it.
    completion,
    /// Connect and register.
    connect,
    /// The generator's send lag behind its plan.
    send_lag,
    /// The generator's event-loop lag.
    loop_lag,
    /// The generator's read lag: reading after a delivery counted as received.
    read_lag,
    /// The generator's notice lag: from a delivery's arrival until its worker's loop noticed it.
    notice_lag,
}

impl Default for Histograms {
    fn default() -> Self {
        Histograms::new()
    }
}

/// A histogram as the JSON report holds it: V2-deflate, base64 (empty on failure).
pub(crate) fn serialize(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    if V2DeflateSerializer::new().serialize(h, &mut bytes).is_err() {
        return String::new();
    }
    BASE64_STANDARD.encode(&bytes)
}

/// A histogram from the JSON report's text; `None` when empty or unreadable.
pub(crate) fn decode(text: &str) -> Option<Histogram<u64>> {
    let bytes = BASE64_STANDARD.decode(text).ok()?;
    Deserializer::new().deserialize(&mut &bytes[..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_distribution_survives_serializing() {
        let mut h = Histograms::new();
        h.loop_lag.record(1_234).unwrap();
        h.from_planned.record(50).unwrap();
        let back = h.serialize().decode();
        assert_eq!(back.loop_lag.len(), 1);
        assert_eq!(back.from_planned.max(), h.from_planned.max());
        assert_eq!(back.connect.len(), 0);
    }

    #[test]
    fn every_name_reads_back_and_unknown_names_do_not() {
        let s = Histograms::new().serialize();
        for name in Histograms::NAMES {
            assert!(s.get(name).is_some(), "{name}");
        }
        assert_eq!(s.get("nonsense"), None);
        assert_eq!(Histograms::NAMES.len(), 8);
    }

    #[test]
    fn adding_sums_each_distribution() {
        let mut a = Histograms::new();
        let mut b = Histograms::new();
        a.send_lag.record(10).unwrap();
        b.send_lag.record(20).unwrap();
        b.completion.record(30).unwrap();
        a.add(&b);
        assert_eq!((a.send_lag.len(), a.completion.len()), (2, 1));
    }
}
