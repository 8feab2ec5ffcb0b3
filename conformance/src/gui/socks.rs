//! A SOCKS5 proxy that sends every connection a Java client makes to the grader's stand-in
//! server (or refuses it), whatever address the client has written in: a JVM started with
//! `JAVA_TOOL_OPTIONS=-DsocksProxyHost=...` routes its sockets through it, with no change to
//! the student's code.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A running proxy.
pub struct Socks {
    addr: SocketAddr,
    /// Where the client asked to go, in order.
    pub asked: Arc<Mutex<Vec<String>>>,
}

impl Socks {
    /// Listens on a free loopback port; connections go to `to`, or are refused when `None`.
    pub fn start(to: Option<SocketAddr>) -> std::io::Result<Socks> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = relay(stream, to, &log);
                });
            }
        });
        Ok(Socks { addr, asked })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// One connection: the SOCKS5 greeting and request (RFC 1928), then the bytes both ways.
fn relay(
    mut client: TcpStream,
    to: Option<SocketAddr>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head)?;
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods)?;
    // Version 5, no authentication.
    client.write_all(&[5, 0])?;
    let mut req = [0u8; 4];
    client.read_exact(&mut req)?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            client.read_exact(&mut a)?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        4 => {
            let mut a = [0u8; 16];
            client.read_exact(&mut a)?;
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("{host}:{}", u16::from_be_bytes(port)));
    let Some(to) = to else {
        // Reply 5: connection refused, as with no server running.
        return client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    };
    let server = TcpStream::connect(to)?;
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let (mut s, mut c) = (server, client);
    let _ = std::io::copy(&mut s, &mut c);
    let _ = c.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}
