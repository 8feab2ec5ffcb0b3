//! One run spread over several processes: which part of the bots a process runs
//! (`--shard I/N`), and the common wall-clock time they all start sending at (`--start-at`).

/// Shard `index` of `count` (from 0): the bots whose index modulo `count` is `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This process's part, from 0.
    pub index: u32,
    /// Parts in all.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// Parses `I/N`, e.g. `0/4`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the run is spread over several processes.
    pub fn is_sharded(&self) -> bool {
        self.count > 1
    }

    /// How many bots this shard runs out of `clients`.
    pub fn bot_count(&self, clients: usize) -> usize {
        (clients + (self.count - 1 - self.index) as usize) / self.count as usize
    }

    /// This shard's bots, as indices among all the run's bots.
    pub fn bots(&self, clients: usize) -> Vec<u32> {
        (self.index..clients as u32)
            .step_by(self.count as usize)
            .collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `--start-at`: seconds since the Unix epoch (`1795000000`, `1795000000.5`) or a UTC
/// time written `2026-11-24T15:00:00Z` (fractions of a second allowed).
pub fn parse_start_at(text: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "--start-at {text:?}: expected seconds since the Unix epoch or a UTC time such as \
             2026-11-24T15:00:00Z"
        )
    };
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(bad);
    }
    let t = t.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = t.split_once('T').ok_or_else(bad)?;
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    let h: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || h.len() != 3 {
        return Err(bad());
    }
    let (y, m, day) = (num(d[0])?, num(d[1])?, num(d[2])?);
    let (hh, mm) = (num(h[0])?, num(h[1])?);
    let ss: f64 = h[2].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || hh > 23
        || mm > 59
        || !(0.0..61.0).contains(&ss)
    {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86_400 + hh * 3600 + mm * 60) as f64 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_at_reads_epoch_seconds_and_utc_times() {
        assert_eq!(parse_start_at("1795000000"), Ok(1_795_000_000.0));
        assert_eq!(parse_start_at("1970-01-01T00:00:00Z"), Ok(0.0));
        assert_eq!(parse_start_at("2026-11-24T15:00:00Z"), Ok(1_795_532_400.0));
        assert_eq!(parse_start_at("2000-03-01T00:00:01.5Z"), Ok(951_868_801.5));
        for bad in [
            "",
            "soon",
            "2026-11-24 15:00:00",
            "2026-13-01T00:00:00Z",
            "1e9",
        ] {
            assert!(parse_start_at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_are_i_of_n_and_split_the_bots() {
        let s = Shard::parse("1/3").unwrap();
        assert_eq!(s.bots(8), [1, 4, 7]);
        for clients in 1..10 {
            for (i, n) in [(0, 1), (0, 3), (1, 3), (2, 3)] {
                let s = Shard { index: i, count: n };
                assert_eq!(
                    s.bot_count(clients),
                    s.bots(clients).len(),
                    "{s} of {clients}"
                );
            }
        }
        for bad in ["3/3", "1", "a/2", "0/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
