//! What the kernel knows about the server's sockets, from `/proc/net/tcp` and `tcp6` (read by
//! the `procfs` crate): whether
//! a port listens, how many connections wait in its accept queue, how many bytes wait in a
//! connection's send and receive queues, and which ports a process group listens on. On
//! loopback both ends of a connection are in the table, so the grader can see the server's side
//! too. A server in its own network namespace is seen through a process inside it (`ns`, its
//! pid): `/proc/PID/net/tcp`. Without `/proc` every answer is `None`.

use std::net::{IpAddr, SocketAddr};

use procfs::net::{TcpNetEntry, TcpState};
use procfs::process::{FDTarget, Process};

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

impl From<TcpNetEntry> for Row {
    fn from(e: TcpNetEntry) -> Row {
        Row {
            local: e.local_address,
            remote: e.remote_address,
            listening: e.state == TcpState::Listen,
            tx_queue: u64::from(e.tx_queue),
            // For a listening socket, the connections waiting to be accepted.
            rx_queue: u64::from(e.rx_queue),
            inode: e.inode,
        }
    }
}

/// Both tables, as this process sees them or as process `ns` does (its network namespace).
fn rows(ns: Option<u32>) -> Option<Vec<Row>> {
    let (v4, v6) = match ns {
        None => (procfs::net::tcp(), procfs::net::tcp6()),
        Some(pid) => {
            let p = Process::new(pid as i32).ok()?;
            (p.tcp(), p.tcp6())
        }
    };
    if v4.is_err() && v6.is_err() {
        return None;
    }
    let all = v4.into_iter().chain(v6).flatten().map(Row::from);
    Some(all.collect())
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
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    // A process may end while it is read: it is then simply not among them.
    for p in all.flatten() {
        if p.stat().map(|s| s.pgrp as u32).ok() != Some(pgid) {
            continue;
        }
        for fd in p.fd().into_iter().flatten().flatten() {
            if let FDTarget::Socket(inode) = fd.target {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_ipv6_loopback_listener_is_seen_at_its_address() {
        let Ok(l) = std::net::TcpListener::bind("[::1]:0") else {
            return; // No IPv6 here.
        };
        let me = l.local_addr().unwrap();
        let Some(rows) = rows(None) else {
            return;
        };
        assert!(
            rows.iter().any(|r| r.listening && r.local == me),
            "{me} not among {:?}",
            rows.iter().filter(|r| r.listening).collect::<Vec<_>>()
        );
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
