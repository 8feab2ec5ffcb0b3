//! `--source-addresses`: the local addresses bots connect from, spread round-robin.
//!
//! A server that limits connections per address (chat-server's `--max-per-address` with
//! `--limit-loopback`) sees one host where loadgen runs hundreds of bots. Every address of
//! 127.0.0.0/8 is loopback on Linux, so a run on one machine can come from many: bot `i` binds
//! to address `i mod n` before it connects (as emqtt-bench's `--ifaddr` does). It also lifts
//! the ceiling of about 28,000 connections one source address has to one server address (the
//! ephemeral port range). Addresses are checked before the run: each must be assignable here
//! and of the server's family.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

/// Most addresses one list may name (a /16 of IPv4).
pub const MAX_ADDRESSES: usize = 65_536;

/// Why a list of source addresses is unusable.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SourceError {
    /// Not an address or a range.
    #[error(
        "{0:?} is not an address or a range (write 127.0.0.2-127.0.0.20, or a comma-separated list)"
    )]
    Syntax(String),
    /// A range that runs backwards or mixes families.
    #[error("the range {0:?} must go from a lower IPv4 address to a higher one")]
    Range(String),
    /// Too many addresses.
    #[error("--source-addresses names more than {MAX_ADDRESSES} addresses")]
    TooMany,
    /// An address this machine cannot send from.
    #[error("cannot connect from {addr}: {reason} (on Linux every address of 127.0.0.0/8 works)")]
    Unassignable {
        /// The address.
        addr: IpAddr,
        /// What the system said.
        reason: String,
    },
    /// An address of the other family than the server's.
    #[error("cannot connect from {from} to {server}: one is IPv4 and the other IPv6")]
    Family {
        /// The source address.
        from: IpAddr,
        /// The server's address.
        server: SocketAddr,
    },
}

/// Parses `127.0.0.2-127.0.0.20`, `127.0.0.2,127.0.0.3`, or both mixed (`a-b,c`), in order.
pub fn parse_list(text: &str) -> Result<Vec<IpAddr>, SourceError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let syntax = || SourceError::Syntax(part.to_string());
        match part.split_once('-') {
            None => out.push(part.parse::<IpAddr>().map_err(|_| syntax())?),
            Some((from, to)) => {
                let from: Ipv4Addr = from.trim().parse().map_err(|_| syntax())?;
                let to: Ipv4Addr = to.trim().parse().map_err(|_| syntax())?;
                let (from, to) = (u32::from(from), u32::from(to));
                if from > to {
                    return Err(SourceError::Range(part.to_string()));
                }
                if (to - from) as usize >= MAX_ADDRESSES {
                    return Err(SourceError::TooMany);
                }
                out.extend((from..=to).map(|n| IpAddr::V4(Ipv4Addr::from(n))));
            }
        }
        if out.len() > MAX_ADDRESSES {
            return Err(SourceError::TooMany);
        }
    }
    if out.is_empty() {
        return Err(SourceError::Syntax(text.to_string()));
    }
    Ok(out)
}

/// A parsed `--source-addresses` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources(pub Vec<IpAddr>);

/// For clap: the same as [`parse_list`].
pub fn parse_flag(text: &str) -> Result<Sources, String> {
    parse_list(text).map(Sources).map_err(|e| e.to_string())
}

/// Checks that every address can be bound here and is of `server`'s family.
pub fn check(addrs: &[IpAddr], server: SocketAddr) -> Result<(), SourceError> {
    for &addr in addrs {
        if addr.is_ipv4() != server.is_ipv4() {
            return Err(SourceError::Family { from: addr, server });
        }
        UdpSocket::bind(SocketAddr::new(addr, 0)).map_err(|e| SourceError::Unassignable {
            addr,
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// The address bot `index` connects from, if any were given.
pub fn for_bot(addrs: &[IpAddr], index: u32) -> Option<IpAddr> {
    (!addrs.is_empty()).then(|| addrs[index as usize % addrs.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_range_lists_every_address_in_it() {
        let l = parse_list("127.0.0.2-127.0.0.4").unwrap();
        assert_eq!(l, vec![ip("127.0.0.2"), ip("127.0.0.3"), ip("127.0.0.4")]);
        assert_eq!(parse_list("127.0.0.255-127.0.1.0").unwrap().len(), 2);
    }

    #[test]
    fn lists_and_ranges_mix_in_order() {
        let l = parse_list("127.0.0.9, 127.0.0.2-127.0.0.3,::1").unwrap();
        assert_eq!(
            l,
            vec![ip("127.0.0.9"), ip("127.0.0.2"), ip("127.0.0.3"), ip("::1")]
        );
    }

    #[test]
    fn bad_lists_say_what_is_wrong() {
        assert!(matches!(
            parse_list("localhost"),
            Err(SourceError::Syntax(_))
        ));
        assert!(matches!(parse_list(""), Err(SourceError::Syntax(_))));
        assert!(matches!(
            parse_list("127.0.0.9-127.0.0.2"),
            Err(SourceError::Range(_))
        ));
        assert_eq!(parse_list("10.0.0.0-10.2.0.0"), Err(SourceError::TooMany));
        assert!(parse_flag("1.2.3")
            .unwrap_err()
            .contains("127.0.0.2-127.0.0.20"));
    }

    #[test]
    fn bots_take_the_addresses_in_turn() {
        let l = parse_list("127.0.0.2-127.0.0.4").unwrap();
        let picked: Vec<_> = (0..5).map(|i| for_bot(&l, i).unwrap()).collect();
        assert_eq!(picked[0], picked[3]);
        assert_eq!(picked[1], ip("127.0.0.3"));
        assert_eq!(for_bot(&[], 7), None);
    }

    #[test]
    fn loopback_addresses_pass_the_check_and_others_do_not() {
        let server: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        assert!(check(&parse_list("127.0.0.2-127.0.0.5").unwrap(), server).is_ok());
        assert!(matches!(
            check(&[ip("::1")], server),
            Err(SourceError::Family { .. })
        ));
        // TEST-NET-3, never assigned to a machine's interface.
        assert!(matches!(
            check(&[ip("203.0.113.7")], server),
            Err(SourceError::Unassignable { .. })
        ));
    }
}
