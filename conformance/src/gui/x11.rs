//! The X11 level: a window driven as a person would, for any toolkit (Java Swing included).
//! Windows are listed and keys and clicks sent with `xdotool`; what a window shows is read
//! from the screen (Xvfb keeps it as an image) with `tesseract`'s OCR.

use std::path::Path;
use std::process::Command;

/// A top-level window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Win {
    /// Its X id.
    pub id: u64,
    /// Its title.
    pub name: String,
    /// Where it is and how big.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

/// One word the OCR read, and where.
#[derive(Debug, Clone)]
pub struct Word {
    /// The text.
    pub text: String,
    /// Its centre on the screen.
    pub x: i32,
    /// Its centre's height.
    pub y: i32,
}

fn xdotool(display: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("xdotool")
        .env("DISPLAY", display)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The visible top-level windows with a title, the screen's root and a toolkit's helper
/// windows (Java's focus proxies and content windows) left out.
pub fn windows(display: &str) -> Vec<Win> {
    let Some(ids) = xdotool(display, &["search", "--onlyvisible", "--name", ".*"]) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for id in ids.split_whitespace().filter_map(|i| i.parse::<u64>().ok()) {
        let name = xdotool(display, &["getwindowname", &id.to_string()]).unwrap_or_default();
        let name = name.trim().to_string();
        if name.is_empty() || name == "Content window" || name == "FocusProxy" {
            continue;
        }
        let Some(geo) = xdotool(display, &["getwindowgeometry", "--shell", &id.to_string()]) else {
            continue;
        };
        let field = |k: &str| {
            geo.lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.trim().parse::<i32>().ok())
                .unwrap_or(0)
        };
        found.push(Win {
            id,
            name,
            x: field("X="),
            y: field("Y="),
            w: field("WIDTH="),
            h: field("HEIGHT="),
        });
    }
    found
}

/// Clicks at `(x, y)`.
pub fn click(display: &str, x: i32, y: i32) {
    let _ = xdotool(
        display,
        &["mousemove", &x.to_string(), &y.to_string(), "click", "1"],
    );
}

/// Gives `id` the keyboard. Without a window manager the keyboard follows the pointer, and a
/// toolkit may still not take it (Tk's dialog over a hidden window does not): asked outright.
pub fn focus(display: &str, id: u64) {
    let _ = xdotool(display, &["windowfocus", &id.to_string()]);
}

/// Types `text` into whatever has the keyboard's focus.
pub fn type_text(display: &str, text: &str) {
    let _ = xdotool(display, &["type", "--delay", "15", text]);
}

/// Presses one key (`Return`).
pub fn key(display: &str, name: &str) {
    let _ = xdotool(display, &["key", name]);
}

/// The words the OCR reads in `win`, from the screen image `screen` (an XWD file).
pub fn read(screen: &Path, win: &Win, scratch: &Path) -> Vec<Word> {
    let Some(ppm) = crop_to_ppm(screen, win) else {
        return Vec::new();
    };
    if std::fs::write(scratch, ppm).is_err() {
        return Vec::new();
    }
    let Ok(out) = Command::new("tesseract")
        .arg(scratch)
        .args(["-", "--psm", "11", "tsv"])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let text = f.get(11)?.trim();
            if text.is_empty() {
                return None;
            }
            let n = |i: usize| f.get(i).and_then(|v| v.parse::<i32>().ok());
            // The image was read twice as large: halve the OCR's coordinates.
            Some(Word {
                text: text.to_string(),
                x: win.x + (n(6)? + n(8)? / 2) / 2,
                y: win.y + (n(7)? + n(9)? / 2) / 2,
            })
        })
        .collect()
}

/// The text the OCR reads in `win`, words joined by spaces.
pub fn text(screen: &Path, win: &Win, scratch: &Path) -> String {
    read(screen, win, scratch)
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `win`'s part of the screen as a PPM image, twice as large (small fonts read better), from
/// Xvfb's XWD image of the screen (32 bits a pixel, blue first).
pub fn crop_to_ppm(screen: &Path, win: &Win) -> Option<Vec<u8>> {
    let data = std::fs::read(screen).ok()?;
    let word = |i: usize| -> Option<usize> {
        Some(u32::from_be_bytes(data.get(i * 4..i * 4 + 4)?.try_into().ok()?) as usize)
    };
    let (header, width, height) = (word(0)?, word(4)? as i32, word(5)? as i32);
    let (bits_per_pixel, bytes_per_line, colours) = (word(11)?, word(12)?, word(19)?);
    if bits_per_pixel != 32 {
        return None;
    }
    let pixels = header + colours * 12;
    let (x0, y0) = (win.x.clamp(0, width - 1), win.y.clamp(0, height - 1));
    let (x1, y1) = (
        (win.x + win.w).clamp(x0 + 1, width),
        (win.y + win.h).clamp(y0 + 1, height),
    );
    let (w, h) = ((x1 - x0) as usize, (y1 - y0) as usize);
    let mut out = format!("P6 {} {} 255\n", w * 2, h * 2).into_bytes();
    for y in 0..h {
        let mut row = Vec::with_capacity(w * 6);
        for x in 0..w {
            let at = pixels + (y0 as usize + y) * bytes_per_line + (x0 as usize + x) * 4;
            let p = data.get(at..at + 3)?;
            let rgb = [p[2], p[1], p[0]];
            row.extend_from_slice(&rgb);
            row.extend_from_slice(&rgb);
        }
        out.extend_from_slice(&row);
        out.extend_from_slice(&row);
    }
    Some(out)
}
