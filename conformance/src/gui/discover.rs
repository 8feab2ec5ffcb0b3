//! Where a client connects, for the X11 level: a program with no hook and no SOCKS support
//! (not Python, not a JVM: a C or Qt client, or Python started without `site`) connects
//! wherever its code says, so the grader learns the address from the client's own `connect()`
//! calls, seen by `strace` in one run, and then serves there
//! ([`super::server::FakeServer::start_at`]).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use super::drive::Client;
use super::session::Connect;
use super::x11_session::X11Session;

/// Whether `strace` can be run here.
pub fn available() -> bool {
    std::process::Command::new("strace")
        .arg("-V")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `command` once at the X11 level (its questions answered, nothing to connect to) under
/// `strace`, and gives the first TCP address it tries to reach within `within`; `None` when it
/// tried none, when it went through the grader's SOCKS proxy (a JVM, redirected already), or
/// when `strace` could not watch it.
pub fn where_it_connects(
    command: &str,
    dir: Option<&Path>,
    display: (&str, &Path),
    within: Duration,
) -> Option<SocketAddr> {
    let log = std::env::temp_dir().join(format!(
        "batepapo-connects-{}-{:?}.log",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_file(&log);
    let watched = format!(
        "exec strace -f -qq --seccomp-bpf -e trace=connect -e signal=none -o {} sh -c {}",
        quote(&log.display().to_string()),
        quote(command)
    );
    let mut session =
        X11Session::start(&watched, dir, display, Connect::Refuse, &["aluno"], None).ok()?;
    let socks = session.socks_addr();
    let deadline = Instant::now() + within;
    let found = loop {
        session.pump();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(addr) = text.lines().find_map(tcp_connect) {
            break (addr != socks).then_some(addr);
        }
        if Instant::now() >= deadline || session.exited().is_some() {
            break None;
        }
        // strace writes a file, which has no event to wait on: look again shortly.
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(session);
    let _ = std::fs::remove_file(&log);
    found
}

/// The address of a `connect()` line of strace's, when it is a TCP connection attempt worth
/// serving: an IPv4 or IPv6 address, not the DNS port (a resolver's UDP "connection").
fn tcp_connect(line: &str) -> Option<SocketAddr> {
    if !line.contains("connect(") {
        return None;
    }
    let port: u16 = between(line, "port=htons(", ")")?.parse().ok()?;
    let ip: IpAddr = if line.contains("sa_family=AF_INET6") {
        between(line, "inet_pton(AF_INET6, \"", "\"")?
            .parse()
            .ok()?
    } else if line.contains("sa_family=AF_INET,") {
        between(line, "inet_addr(\"", "\"")?.parse().ok()?
    } else {
        return None;
    };
    (port != 53 && port != 0).then_some(SocketAddr::new(ip, port))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// `text` as one word for `sh`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_connect_refused_is_the_address() {
        let line = "4242  connect(3, {sa_family=AF_INET, sin_port=htons(5000), \
                    sin_addr=inet_addr(\"127.0.0.1\")}, 16) = -1 ECONNREFUSED (Connection refused)";
        assert_eq!(tcp_connect(line), Some("127.0.0.1:5000".parse().unwrap()));
    }

    #[test]
    fn an_ipv6_connect_is_the_address() {
        let line = "4242  connect(3, {sa_family=AF_INET6, sin6_port=htons(6000), \
                    sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", &sin6_addr), \
                    sin6_scope_id=0}, 28) = -1 ECONNREFUSED (Connection refused)";
        assert_eq!(tcp_connect(line), Some("[::1]:6000".parse().unwrap()));
    }

    #[test]
    fn the_x_server_and_the_resolver_are_not_the_client_s_server() {
        let x = "4242  connect(4, {sa_family=AF_UNIX, sun_path=@\"/tmp/.X11-unix/X3\"}, 20) = 0";
        let dns = "4242  connect(5, {sa_family=AF_INET, sin_port=htons(53), \
                   sin_addr=inet_addr(\"10.0.0.2\")}, 16) = 0";
        assert_eq!(tcp_connect(x), None);
        assert_eq!(tcp_connect(dns), None);
    }

    #[test]
    fn a_command_is_quoted_for_the_shell() {
        assert_eq!(quote("python3 it's.py"), "'python3 it'\\''s.py'");
    }
}
