//! A virtual X display (Xvfb) for the clients' windows, one per grading, stopped with it.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::GuiError;

/// A running Xvfb.
pub struct Display {
    child: Child,
    /// Its name for `DISPLAY` (`:N`).
    pub name: String,
}

impl Display {
    /// Starts Xvfb on a display number it picks itself (`-displayfd`), so that graders running
    /// side by side never collide.
    pub fn start() -> Result<Display, GuiError> {
        let (mut reader, writer) = std::io::pipe().map_err(GuiError::Io)?;
        let fd = writer.as_raw_fd();
        let mut cmd = Command::new("Xvfb");
        cmd.args(["-displayfd", &fd.to_string(), "-screen", "0", "1024x768x24"])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec only fcntl(2) runs, on a descriptor this process owns;
        // it lets Xvfb inherit the pipe's end to write its display number to.
        unsafe {
            cmd.pre_exec(move || {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| GuiError::Missing("Xvfb", e))?;
        drop(writer);
        let mut display = Display {
            child,
            name: String::new(),
        };
        // Xvfb writes the number once it accepts clients.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut byte = [0u8; 1];
            while let Ok(1) = reader.read(&mut byte) {
                if byte[0] == b'\n' {
                    break;
                }
                text.push(byte[0] as char);
            }
            let _ = tx.send(text);
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(n) if !n.trim().is_empty() => {
                display.name = format!(":{}", n.trim());
                Ok(display)
            }
            _ => Err(GuiError::NoDisplay),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
