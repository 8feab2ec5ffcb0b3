//! Between two steps of a search on one server: has the server caught up? A line sent now by
//! one fresh connection must reach another. A server still working through the previous step's
//! backlog delivers it late (a queue is first in, first out), so the next step starts only once
//! nothing of the last one is left to leak into it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::engine::handshake::{self, Answer};
use crate::plan::config::Protocol;

/// How often the probe line is sent again while it has not arrived: a server that registers
/// connections asynchronously (or a `--protocol plain` one, which says nothing on registration)
/// may not relay to the receiver yet when the first copy goes out.
const RESEND: Duration = Duration::from_millis(250);

/// Why the server was not seen to catch up.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// A connection failed.
    #[error("cannot check that {addr} caught up: {what}")]
    Io {
        /// The server.
        addr: SocketAddr,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Ctrl-C came while waiting.
    #[error("interrupted while waiting for {addr} to catch up")]
    Interrupted {
        /// The server.
        addr: SocketAddr,
    },
    /// The probe's line did not arrive in time.
    #[error(
        "{addr} did not relay a fresh line within {:.1} s after the previous step: it is still \
         working through that step's backlog, which would leak into the next step",
        waited.as_secs_f64()
    )]
    Behind {
        /// The server.
        addr: SocketAddr,
        /// How long the probe waited.
        waited: Duration,
    },
}

/// Waits until a line sent now from one connection reaches another, up to `limit` or until
/// `stop` says so; how long it took.
pub fn caught_up(
    addr: SocketAddr,
    protocol: Protocol,
    tag: &str,
    limit: Duration,
    stop: &dyn Fn() -> bool,
) -> Result<Duration, SettleError> {
    let started = Instant::now();
    let io = |what: &str| {
        let what = what.to_string();
        move |source| SettleError::Io { addr, what, source }
    };
    let connect = |name: &str| -> Result<(TcpStream, BufReader<TcpStream>), SettleError> {
        let stream = TcpStream::connect_timeout(&addr, limit).map_err(io("connect"))?;
        stream
            .set_read_timeout(Some(RESEND))
            .map_err(io("set a read timeout"))?;
        let _ = stream.set_nodelay(true);
        let mut reader = BufReader::new(stream.try_clone().map_err(io("clone a socket"))?);
        let mut writer = stream;
        if protocol == Protocol::Chat1 {
            // HELLO, then our name, then WELCOME (an ERR instead, say the name is taken, ends
            // in a read error at the deadline).
            let greeting = |l: &[u8]| handshake::is_greeting(l);
            wait_for(&mut reader, greeting, started + limit).map_err(io("read HELLO"))?;
        }
        writer
            .write_all(handshake::name_line(name).as_bytes())
            .map_err(io("send a name"))?;
        if protocol == Protocol::Chat1 {
            let welcome = |l: &[u8]| handshake::answer(l) == Some(Answer::Welcomed);
            wait_for(&mut reader, welcome, started + limit).map_err(io("read WELCOME"))?;
        }
        Ok((writer, reader))
    };
    let (mut sender, _sender_reader) = connect(&format!("lgq{tag}a"))?;
    let (_receiver, mut receiver) = connect(&format!("lgq{tag}b"))?;
    let marker = format!("settle-{tag}-{}", std::process::id());
    let mut line = String::new();
    while started.elapsed() < limit {
        if stop() {
            return Err(SettleError::Interrupted { addr });
        }
        sender
            .write_all(format!("{marker}\n").as_bytes())
            .map_err(io("send the probe line"))?;
        let resend_at = Instant::now() + RESEND;
        while Instant::now() < resend_at {
            // A line cut by a read timeout is kept and completed by the next read.
            if line.ends_with('\n') {
                line.clear();
            }
            match receiver.read_line(&mut line) {
                Ok(0) => {
                    return Err(SettleError::Io {
                        addr,
                        what: "read".into(),
                        source: std::io::ErrorKind::UnexpectedEof.into(),
                    })
                }
                Ok(_) if line.contains(&marker) => {
                    let _ = sender.write_all(handshake::QUIT);
                    return Ok(started.elapsed());
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) => break,
                Err(e) => return Err(io("read")(e)),
            }
        }
    }
    Err(SettleError::Behind {
        addr,
        waited: started.elapsed(),
    })
}

/// Reads lines until one is `wanted`, or `deadline`.
fn wait_for(
    reader: &mut BufReader<TcpStream>,
    wanted: impl Fn(&[u8]) -> bool,
    deadline: Instant,
) -> std::io::Result<()> {
    let mut line = String::new();
    while Instant::now() < deadline {
        // A line cut by a read timeout is kept and completed by the next read.
        if line.ends_with('\n') {
            line.clear();
        }
        match reader.read_line(&mut line) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(_) if wanted(line.as_bytes()) => return Ok(()),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::ErrorKind::TimedOut.into())
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_server_has_caught_up_at_once() {
        let server = chat_server::RunningServer::start(chat_server::Config::default())
            .expect("embedded server");
        let took = caught_up(
            server.addr(),
            Protocol::Chat1,
            "t1",
            Duration::from_secs(5),
            &|| false,
        )
        .expect("an idle server relays at once");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    #[test]
    fn a_server_that_never_relays_is_behind() {
        // Greets and welcomes, then relays nothing: the probe must give up at the limit.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().take(2) {
                let mut stream = stream.unwrap();
                stream.write_all(b"HELLO chat/1 name?\n").unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut name = String::new();
                reader.read_line(&mut name).unwrap();
                stream.write_all(b"WELCOME x 127.0.0.1:1\n").unwrap();
                held.push((stream, reader));
            }
            held
        });
        let err = caught_up(
            addr,
            Protocol::Chat1,
            "t2",
            Duration::from_millis(800),
            &|| false,
        )
        .expect_err("nothing is relayed");
        assert!(matches!(err, SettleError::Behind { .. }), "{err}");
        assert!(err.to_string().contains("backlog"), "{err}");
        drop(serving.join());
    }
}
