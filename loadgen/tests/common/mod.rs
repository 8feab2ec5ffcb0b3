//! What loadgen's binary tests share.

use std::process::Output;

/// A finished command as a failure message shows it: exit code, stdout, stderr.
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
