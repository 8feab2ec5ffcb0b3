//! Before any case: does the server speak chat/1 at all? A server that speaks another protocol
//! would otherwise fail every case with the same near-identical message; one paragraph saying
//! what it sent, what chat/1 expects and where the contract is serves the user better.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Where the contract is, for the user who meets a mismatch.
pub const CONTRACT: &str = "docs/PROTOCOL.md (\"A session\" and \"Registration\")";

/// The server does not behave as chat/1's opening asks.
#[derive(Debug, thiserror::Error)]
pub enum Preflight {
    /// No connection.
    #[error("cannot connect to the server at {addr}; is it running?")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The opening went wrong.
    #[error(
        "{addr} does not speak chat/1, so no case was run. {what} A chat/1 server greets every \
         connection with a line starting \"HELLO \" (e.g. \"HELLO chat/1 welcome\"), and \
         answers the name a client sends with \"WELCOME <name> <ip:port>\" (or \"ERR <code> \
         ...\" when it refuses the name). The contract is in {CONTRACT}."
    )]
    NotChat1 {
        /// The server.
        addr: SocketAddr,
        /// What happened, in one or two sentences.
        what: String,
    },
}

/// Connects, checks the greeting, registers `name`, checks the answer, and leaves.
pub fn check(addr: SocketAddr, name: &str, wait: Duration) -> Result<(), Preflight> {
    let stream = TcpStream::connect_timeout(&addr, wait.min(Duration::from_secs(5)))
        .map_err(|source| Preflight::Connect { addr, source })?;
    let _ = stream.set_read_timeout(Some(wait));
    let mut writer = stream
        .try_clone()
        .map_err(|source| Preflight::Connect { addr, source })?;
    let mut reader = BufReader::new(stream);
    let not = |what: String| Preflight::NotChat1 { addr, what };
    let greeting = read_line(&mut reader, wait)
        .map_err(|e| not(format!("Expected its greeting; instead {e}.")))?;
    if !greeting.starts_with("HELLO ") {
        return Err(not(format!(
            "Its first line was {greeting:?}, where chat/1 expects a greeting starting \"HELLO \"."
        )));
    }
    writer
        .write_all(format!("{name}\n").as_bytes())
        .map_err(|e| {
            not(format!(
                "It greeted with {greeting:?}, then sending a name failed: {e}."
            ))
        })?;
    let answer = read_line(&mut reader, wait).map_err(|e| {
        not(format!(
            "It greeted with {greeting:?}, but after the name {name:?} {e}."
        ))
    })?;
    if !(answer.starts_with(&format!("WELCOME {name} ")) || answer.starts_with("ERR ")) {
        return Err(not(format!(
            "It greeted with {greeting:?}, but answered the name {name:?} with {answer:?}."
        )));
    }
    let _ = writer.write_all(b"/quit\n");
    Ok(())
}

fn read_line(reader: &mut BufReader<TcpStream>, wait: Duration) -> Result<String, String> {
    let mut line = Vec::new();
    match reader.by_ref().take(4096).read_until(b'\n', &mut line) {
        Ok(0) => Err("it closed the connection".to_string()),
        Ok(_) if !line.ends_with(b"\n") => Err(format!(
            "it sent {:?} without ending the line",
            String::from_utf8_lossy(&line)
        )),
        Ok(_) => Ok(String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(format!(
                "it sent nothing within {:.1} s",
                wait.as_secs_f64()
            ))
        }
        Err(e) => Err(format!("reading failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-connection server that plays `script`: `None` reads a line, `Some` writes one.
    fn server(script: Vec<Option<&'static str>>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut out = s.try_clone().unwrap();
            let mut lines = BufReader::new(s);
            for step in script {
                match step {
                    Some(text) => out.write_all(text.as_bytes()).unwrap(),
                    None => {
                        let mut l = String::new();
                        let _ = lines.read_line(&mut l);
                    }
                }
            }
            // Held open until the checker hangs up.
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
        });
        addr
    }

    const WAIT: Duration = Duration::from_secs(2);

    #[test]
    fn a_chat1_server_passes() {
        let addr = server(vec![
            Some("HELLO chat/1 hi\n"),
            None,
            Some("WELCOME pf 127.0.0.1:1\n"),
        ]);
        check(addr, "pf", WAIT).unwrap();
    }

    #[test]
    fn a_refused_name_still_proves_chat1() {
        let addr = server(vec![
            Some("HELLO chat/1 hi\n"),
            None,
            Some("ERR name-taken taken\n"),
        ]);
        check(addr, "pf", WAIT).unwrap();
    }

    #[test]
    fn another_greeting_is_reported_with_what_was_sent() {
        let addr = server(vec![Some("What is your name?\n")]);
        let e = check(addr, "pf", WAIT).unwrap_err().to_string();
        assert!(
            e.contains("does not speak chat/1, so no case was run"),
            "{e}"
        );
        assert!(e.contains("\"What is your name?\""), "{e}");
        assert!(e.contains("docs/PROTOCOL.md"), "{e}");
    }

    #[test]
    fn a_silent_server_is_reported_as_silent() {
        let addr = server(vec![None]);
        let e = check(addr, "pf", Duration::from_millis(200))
            .unwrap_err()
            .to_string();
        assert!(e.contains("it sent nothing within 0.2 s"), "{e}");
    }

    #[test]
    fn an_echo_server_fails_at_the_name() {
        // The tokio chat example's shape: a greeting of its own, then echoes.
        let addr = server(vec![Some("HELLO there\n"), None, Some("pf has joined\n")]);
        let e = check(addr, "pf", WAIT).unwrap_err().to_string();
        assert!(
            e.contains("answered the name \"pf\" with \"pf has joined\""),
            "{e}"
        );
    }
}
