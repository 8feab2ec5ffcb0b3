//! What loadgen's binary tests share.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Output;
use std::time::Duration;

/// A finished command as a failure message shows it: exit code, stdout, stderr.
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// How long a test server's session waits for a client's next line: far longer than any run
/// here leaves a bot quiet, and a bound all the same.
const SERVER_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A test server's side of the chat/1 greeting: HELLO with `banner`, the client's name,
/// WELCOME. Returns the name, a writer and a reader over the rest of the session (every read
/// bounded by a timeout), or `None` when the client left first.
#[allow(dead_code)] // not every test binary runs a server of its own
pub fn greet(stream: TcpStream, banner: &str) -> Option<(String, TcpStream, BufReader<TcpStream>)> {
    stream.set_read_timeout(Some(SERVER_READ_TIMEOUT)).ok()?;
    // Without it, Nagle's algorithm holds a relayed line until the reader's delayed ACK (up to
    // 40 ms on Linux) whenever lines are sparse: that is latency the tests did not plan.
    stream.set_nodelay(true).ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    writer
        .write_all(format!("HELLO chat/1 {banner}\n").as_bytes())
        .ok()?;
    let mut name = String::new();
    if reader.read_line(&mut name).unwrap_or(0) == 0 {
        return None;
    }
    let name = name.trim().to_string();
    let peer = writer.peer_addr().ok()?;
    writer
        .write_all(format!("WELCOME {name} {peer}\n").as_bytes())
        .ok()?;
    Some((name, writer, reader))
}
