//! What the kernel knows about the server's sockets, from `/proc/net/tcp` and `tcp6`: whether
//! a port listens, how many connections wait in its accept queue, how many bytes wait in a
//! connection's send and receive queues, and which ports a process group listens on. On
//! loopback both ends of a connection are in the table, so the grader can see the server's side
//! too. A server in its own network namespace is seen through a process inside it (`ns`, its
//! pid): `/proc/PID/net/tcp`. Without `/proc` every answer is `None`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    listening: bool,
    tx_queue: u64,
    rx_queue: u64,
    inode: u64,
}

fn rows(ns: Option<u32>) -> Option<Vec<Row>> {
    let mut all = Vec::new();
    let mut seen = false;
    let base = ns.map_or("/proc/net".to_string(), |pid| format!("/proc/{pid}/net"));
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("{base}/{table}")) else {
            continue;
        };
        seen = true;
        all.extend(text.lines().skip(1).filter_map(parse_row));
    }
    seen.then_some(all)
}

fn parse_row(line: &str) -> Option<Row> {
    let mut f = line.split_whitespace();
    let local = parse_addr(f.nth(1)?)?;
    let remote = parse_addr(f.next()?)?;
    let state = f.next()?;
    let (tx, rx) = f.next()?.split_once(':')?;
    // tr:when, retrnsmt, uid, timeout, then the inode.
    let inode = f.nth(4).and_then(|i| i.parse().ok()).unwrap_or(0);
    Some(Row {
        local,
        remote,
        listening: state == "0A",
        tx_queue: u64::from_str_radix(tx, 16).ok()?,
        rx_queue: u64::from_str_radix(rx, 16).ok()?,
        inode,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), each 32-bit word in host order.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The kernel prints each network-order word as a host-order number.
    let word = |s: &str| u32::from_str_radix(s, 16).ok();
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                let w = word(&ip[i * 8..i * 8 + 8])?;
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn same(a: &SocketAddr, b: &SocketAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_canonical(),
        v4 => v4,
    };
    a.port() == b.port() && canon(a.ip()) == canon(b.ip())
}

/// Whether something listens on `port` (any address); `None` without `/proc`.
pub fn listening(port: u16, ns: Option<u32>) -> Option<bool> {
    Some(
        rows(ns)?
            .iter()
            .any(|r| r.listening && r.local.port() == port),
    )
}

/// Connections waiting to be accepted on `port` (the largest queue of its listeners); `None`
/// without `/proc` or when nothing listens there.
pub fn accept_queue(port: u16, ns: Option<u32>) -> Option<u64> {
    rows(ns)?
        .iter()
        .filter(|r| r.listening && r.local.port() == port)
        .map(|r| r.rx_queue)
        .max()
}

/// Bytes in the send and receive queues of the connection from `local` to `remote`.
pub fn queues(local: SocketAddr, remote: SocketAddr, ns: Option<u32>) -> Option<(u64, u64)> {
    rows(ns)?
        .into_iter()
        .find(|r| !r.listening && same(&r.local, &local) && same(&r.remote, &remote))
        .map(|r| (r.tx_queue, r.rx_queue))
}

/// The addresses that the processes of group `pgid` listen on (TCP), seen in `ns`'s tables.
pub fn listeners_of_group(pgid: u32, ns: Option<u32>) -> Vec<SocketAddr> {
    let mut inodes = std::collections::HashSet::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in procs.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if group_of(pid) != Some(pgid) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let link = link.to_string_lossy();
            if let Some(inode) = link
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|i| i.parse::<u64>().ok())
            {
                inodes.insert(inode);
            }
        }
    }
    rows(ns)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.listening && inodes.contains(&r.inode))
        .map(|r| r.local)
        .collect()
}

/// The process group of `pid`, from `/proc/PID/stat` (the field after the state).
fn group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_row_parses_with_its_queues() {
        let line =
            "   3: 0100007F:1F90 0100007F:C350 01 00000010:00000200 00:00000000 00000000  0 0 1 1";
        let r = parse_row(line).unwrap();
        assert_eq!(r.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(r.remote, "127.0.0.1:50000".parse().unwrap());
        assert!(!r.listening);
        assert_eq!((r.tx_queue, r.rx_queue), (16, 512));
    }

    #[test]
    fn our_own_listener_is_found_among_our_groups_sockets() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: getpgrp(2) reads this process's group; no memory is involved.
        let pgid = unsafe { libc::getpgrp() } as u32;
        let found = listeners_of_group(pgid, None);
        if rows(None).is_some() {
            assert!(found.contains(&l.local_addr().unwrap()), "{found:?}");
        }
    }

    #[test]
    fn an_ipv6_loopback_row_parses() {
        let line = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000002 00:00000000 00000000 0 0 1 1";
        let r = parse_row(line).unwrap();
        assert_eq!(r.local, "[::1]:8080".parse().unwrap());
        assert!(r.listening);
        assert_eq!(r.rx_queue, 2);
    }

    #[test]
    fn a_listener_of_ours_is_seen_with_its_accept_queue() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if listening(port, None).is_none() {
            eprintln!("no /proc/net/tcp here: nothing to check");
            return;
        }
        assert_eq!(listening(port, None), Some(true));
        let _waiting = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        assert_eq!(accept_queue(port, None), Some(1));
        let (_accepted, _) = l.accept().unwrap();
        assert_eq!(accept_queue(port, None), Some(0));
    }

    #[test]
    fn both_ends_of_a_loopback_connection_show_their_queues() {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        if listening(0, None).is_none() {
            return;
        }
        c.write_all(&[0u8; 100]).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let q = queues(s.local_addr().unwrap(), s.peer_addr().unwrap(), None);
            if q == Some((0, 100)) || std::time::Instant::now() > deadline {
                assert_eq!(q, Some((0, 100)));
                break;
            }
            std::thread::yield_now();
        }
    }
}
