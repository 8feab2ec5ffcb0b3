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
    /// Its screen as Xvfb keeps it, an XWD image always up to date (`-fbdir`).
    pub screen: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Display {
    /// Starts Xvfb on a display number it picks itself (`-displayfd`), so that graders running
    /// side by side never collide.
    pub fn start() -> Result<Display, GuiError> {
        let (mut reader, writer) = std::io::pipe().map_err(GuiError::Io)?;
        let fd = writer.as_raw_fd();
        let dir = std::env::temp_dir().join(format!(
            "batepapo-screen-{}-{}",
            std::process::id(),
            SCREENS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(GuiError::Io)?;
        let mut cmd = Command::new("Xvfb");
        cmd.args(["-displayfd", &fd.to_string(), "-screen", "0", "1024x768x24"])
            .arg("-fbdir")
            .arg(&dir)
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
            screen: dir.join("Xvfb_screen0"),
            dir,
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
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Displays started by this process, for their folders' names.
static SCREENS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
