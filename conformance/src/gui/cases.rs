//! The client's cases: each starts a fresh client, plays the server (or refuses it), and judges
//! what reached the server and what the window showed. Users are named by their role here; the
//! transcript shows the grader's unique names and tokens.

use std::time::{Duration, Instant};

use super::drive::{Client, QUIT_WORDS};
use super::server::Seen;
use super::session::{Connect, Session};
use super::x11_session::X11Session;
use super::Level;
use crate::case::{Body, Case, CaseFn, Ctx, Failure, Level::*};
use crate::i18n::{catalog, Msg, Text};
use crate::t;

/// Words of an error message, in the languages students write.
const ERROR_WORDS: [&str; 10] = [
    "erro", "error", "não", "nao", "si mesmo", "yourself", "cannot", "can't", "inválid", "invalid",
];

fn case(id: &str, rf: &str, title: Msg, f: CaseFn) -> Case {
    Case::new(id, rf, Must, title, Body::Code(f)).with_clause("")
}

/// Every client case, in report order.
pub fn cases() -> Vec<Case> {
    vec![
        case("C-RF1-01", "RF1", catalog::TITLE_C_NAME_FIRST, name_first),
        case(
            "C-RF1-02",
            "RF1",
            catalog::TITLE_C_NAME_SPACE,
            name_with_space,
        ),
        case("C-RF1-03", "RF1", catalog::TITLE_C_NAME_AT, name_with_at),
        case(
            "C-RF4-01",
            "RF4",
            catalog::TITLE_C_RECEIVE,
            receives_while_idle,
        ),
        case("C-RF5-01", "RF5", catalog::TITLE_C_SEND, sends),
        case(
            "C-RF7-01",
            "RF7",
            catalog::TITLE_C_SELF,
            no_message_to_oneself,
        ),
        case("C-RF9-01", "RF9", catalog::TITLE_C_QUIT, quits),
        case(
            "C-RF11-01",
            "RF11",
            catalog::TITLE_C_POPUP,
            popup_without_server,
        ),
        case(
            "C-RF12-01",
            "RF12",
            catalog::TITLE_C_OWN_ADDRESS,
            own_address,
        ),
    ]
}

/// Seconds, scaled, as the cases state them.
fn secs(ctx: &Ctx, s: f64) -> Duration {
    ctx.target.scaled(Duration::from_secs_f64(s))
}

/// How long a client may take to come up: a Java program is compiled and started on the
/// spot, and its dialogs are found by reading the screen.
fn patience(ctx: &Ctx) -> Duration {
    let x11 = ctx
        .target
        .gui
        .as_ref()
        .is_some_and(|g| g.level == Level::X11);
    secs(ctx, if x11 { 20.0 } else { 10.0 })
}

fn shown(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64())
}

/// Starts a client whose name questions get `names` in turn, at the grading's level.
fn start(ctx: &Ctx, connect: Connect, names: &[&str]) -> Result<Box<dyn Client>, Failure> {
    let gui = ctx
        .target
        .gui
        .as_ref()
        .expect("client cases run with a client");
    let started: Result<Box<dyn Client>, _> = match gui.level {
        Level::Toolkit => Session::start(
            &gui.command,
            gui.dir.as_deref(),
            &gui.display,
            &gui.hook_dir,
            connect,
            names,
            secs(ctx, 15.0),
        )
        .map(|s| Box::new(s) as Box<dyn Client>),
        Level::X11 => X11Session::start(
            &gui.command,
            gui.dir.as_deref(),
            (&gui.display, &gui.screen),
            connect,
            names,
            gui.serve_at,
        )
        .map(|s| Box::new(s) as Box<dyn Client>),
    };
    let c = started
        .map_err(|e| Failure::new(catalog::C_A_WORKING_WINDOW, Text::data(e.to_string())))?;
    ctx.transcript
        .record("client", "--", &format!("started: {}", gui.command));
    Ok(c)
}

/// Waits until what the server saw satisfies `wanted`, answering the client's questions
/// meanwhile; whether it did within `within`.
fn wait_server(c: &mut dyn Client, within: Duration, wanted: impl Fn(&Seen) -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        c.pump();
        let Some(server) = c.server() else {
            return false;
        };
        if server.wait(Duration::from_millis(200), &wanted) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

/// A client connected to the grader's server under `name`, its window up and taking input.
fn connected(ctx: &Ctx, name: &str) -> Result<Box<dyn Client>, Failure> {
    let mut c = start(ctx, Connect::Serve, &[name])?;
    let within = patience(ctx);
    if !wait_server(c.as_mut(), within, |seen| seen.name.is_some()) {
        record(ctx, c.as_mut());
        return Err(Failure::new(
            t!(catalog::C_THE_NAME, name),
            t!(catalog::C_NOT_CONNECTED, shown(within)),
        ));
    }
    let up = c.window_up(patience(ctx));
    record(ctx, c.as_mut());
    up.map_err(|why| Failure::new(catalog::C_A_WORKING_WINDOW, why))?;
    Ok(c)
}

/// Puts what the grader saw happen in the transcript.
fn record(ctx: &Ctx, c: &mut dyn Client) {
    for line in c.happenings() {
        ctx.transcript.record("client", "--", &line);
    }
}

fn window_text(c: &mut dyn Client) -> Result<String, Failure> {
    c.window_text()
        .map_err(|e| Failure::new(catalog::C_A_WORKING_WINDOW, t!(catalog::C_WINDOW_SILENT, e)))
}

/// Types `text` into the entry and sends it.
fn type_and_send(ctx: &Ctx, c: &mut dyn Client, text: &str, expected: Text) -> Result<(), Failure> {
    ctx.transcript
        .record("client", ">>", &format!("typed: {text}"));
    c.type_and_send(text)
        .map_err(|e| Failure::new(expected, t!(catalog::C_COULD_NOT_SEND, e)))
}

fn received(c: &dyn Client) -> String {
    let seen = c.server().map(|v| v.seen()).unwrap_or_default();
    String::from_utf8_lossy(&seen.after_name).into_owned()
}

fn token(ctx: &Ctx, label: &str) -> String {
    format!("tok{}", ctx.name(label).replace('_', "x"))
}

/// A number unique to this case, for text read back from the screen (OCR reads digits
/// better than the grader's tokens).
fn number(ctx: &Ctx, label: &str) -> String {
    let name = ctx.name(label);
    let code = name.rsplit('_').next().unwrap_or("0");
    (10_000 + u64::from_str_radix(code, 16).unwrap_or(0) % 90_000).to_string()
}

fn popup_without_server(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut c = start(ctx, Connect::Refuse, &[&name])?;
    let within = secs(ctx, 3.0);
    let expected = t!(catalog::C_A_POPUP, shown(within));
    let popup = c.wait_popup(within);
    record(ctx, c.as_mut());
    if popup {
        return Ok(());
    }
    if let Some(status) = c.exited() {
        let end = c.stderr_end();
        let tail = if end.is_empty() {
            Text::data("")
        } else {
            t!(catalog::C_STDERR, end)
        };
        return Err(Failure::new(
            expected,
            t!(catalog::C_EXITED_NO_POPUP, status.to_string(), tail),
        ));
    }
    // An error in a label of the main window is not RF11's pop-up.
    if let Ok(text) = c.window_text() {
        let lower = text.to_lowercase();
        if ERROR_WORDS.iter().any(|w| lower.contains(w)) {
            return Err(Failure::new(
                expected,
                t!(catalog::C_ERROR_IN_WINDOW, format!("{:?}", text.trim())),
            ));
        }
    }
    Err(Failure::new(expected, catalog::C_NO_POPUP))
}

fn name_first(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut c = start(ctx, Connect::Serve, &[&name])?;
    let within = patience(ctx);
    wait_server(c.as_mut(), within, |seen| seen.name.is_some());
    record(ctx, c.as_mut());
    let expected = t!(catalog::C_THE_NAME, name.as_str());
    match c.server().and_then(|s| s.seen().name) {
        Some(got) if got == name => Ok(()),
        Some(got) => Err(Failure::new(
            expected,
            t!(catalog::C_GOT_FIRST, format!("{got:?}")),
        )),
        None => Err(Failure::new(
            expected,
            t!(catalog::C_NOTHING_REACHED, shown(within)),
        )),
    }
}

/// The client is given `bad` first, then a good name if it asks again: the server must never
/// get `bad` as the name.
fn refuses_name(ctx: &mut Ctx, bad: &str, kind: Msg) -> Result<(), Failure> {
    let good = ctx.name("aluno");
    let mut c = start(ctx, Connect::Serve, &[bad, &good])?;
    // Refused, it asks again (the good name comes) or never connects: either way, a moment.
    wait_server(c.as_mut(), secs(ctx, 3.0), |seen| seen.name.is_some());
    record(ctx, c.as_mut());
    let expected = t!(catalog::C_BAD_NAME_KEPT, kind);
    match c.server().and_then(|s| s.seen().name) {
        Some(got) if got == bad => Err(Failure::new(expected, catalog::C_BAD_NAME_SENT)),
        _ => Ok(()),
    }
}

fn name_with_space(ctx: &mut Ctx) -> Result<(), Failure> {
    refuses_name(ctx, "nome ruim", catalog::A_NAME_WITH_SPACE)
}

fn name_with_at(ctx: &mut Ctx) -> Result<(), Failure> {
    refuses_name(ctx, "nome@ruim", catalog::A_NAME_WITH_AT)
}

fn sends(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut c = connected(ctx, &name)?;
    let tok = token(ctx, "typed");
    let within = secs(ctx, 3.0);
    let expected = t!(catalog::C_TYPED_MESSAGE, shown(within));
    type_and_send(ctx, c.as_mut(), &format!("ola {tok}"), expected.clone())?;
    if wait_server(c.as_mut(), within, |seen| {
        String::from_utf8_lossy(&seen.after_name).contains(&tok)
    }) {
        return Ok(());
    }
    Err(Failure::new(
        expected,
        t!(
            catalog::C_NOT_AT_SERVER,
            format!("{:?}", received(c.as_ref()))
        ),
    ))
}

fn receives_while_idle(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut c = connected(ctx, &name)?;
    let n = number(ctx, "incoming");
    let line = format!("carol: bom dia {n}");
    ctx.transcript.record("server", "<<", &line);
    let within = secs(ctx, 2.0);
    let expected = t!(catalog::C_SHOWN_WITHIN, shown(within));
    if let Some(Err(e)) = c.server().map(|s| s.send(&line)) {
        return Err(Failure::new(expected, crate::plain::peer::io_error(&e)));
    }
    // The window has no event for "text changed": look at it every tenth of a second.
    let deadline = Instant::now() + within;
    loop {
        let text = window_text(c.as_mut())?;
        if text.contains(&n) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(
                expected,
                t!(catalog::C_NOT_SHOWN, format!("{:?}", text.trim())),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn no_message_to_oneself(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut c = connected(ctx, &name)?;
    let before = window_text(c.as_mut())?;
    let popups_before = c.popups();
    let tok = token(ctx, "self");
    type_and_send(
        ctx,
        c.as_mut(),
        &format!("@{name} segredo {tok}"),
        catalog::C_SELF_NOT_SENT.text(),
    )?;
    // An error pop-up is looked for (and closed) before the next message is typed.
    let popped = c.wait_popup(secs(ctx, 1.0)) || c.popups() > popups_before;
    // Then an ordinary message: once it is at the server, anything sent before it is too.
    let fence = token(ctx, "after");
    let within = secs(ctx, 3.0);
    type_and_send(
        ctx,
        c.as_mut(),
        &format!("depois {fence}"),
        t!(catalog::C_TYPED_MESSAGE, shown(within)),
    )?;
    wait_server(c.as_mut(), within, |seen| {
        String::from_utf8_lossy(&seen.after_name).contains(&fence)
    });
    record(ctx, c.as_mut());
    let got = received(c.as_ref());
    if got.contains(&tok) {
        return Err(Failure::new(
            catalog::C_SELF_NOT_SENT,
            t!(catalog::C_SELF_SENT, format!("{got:?}")),
        ));
    }
    let after = window_text(c.as_mut())?;
    let new_text = after
        .strip_prefix(before.as_str())
        .unwrap_or(&after)
        .to_lowercase();
    let said = popped
        || ERROR_WORDS
            .iter()
            .any(|w| new_text.contains(w) && !before.to_lowercase().contains(w));
    if said {
        Ok(())
    } else {
        Err(Failure::new(catalog::C_SELF_ERROR, catalog::C_SELF_SILENT))
    }
}

fn quits(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut c = connected(ctx, &name)?;
    let within = secs(ctx, 2.0);
    let expected = t!(catalog::C_CLOSED_WITHIN, shown(within));
    let clicked = c
        .click(&QUIT_WORDS)
        .map_err(|e| Failure::new(expected.clone(), t!(catalog::C_NO_QUIT_BUTTON, e)))?;
    ctx.transcript
        .record("client", "--", &format!("clicked {clicked:?}"));
    if wait_server(c.as_mut(), within, |seen| seen.closed) {
        return Ok(());
    }
    Err(Failure::new(
        expected,
        t!(catalog::C_STILL_OPEN, shown(within), format!("{clicked:?}")),
    ))
}

fn own_address(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut c = connected(ctx, &name)?;
    let peer = c.server().and_then(|v| v.seen().peer).expect("connected");
    let (ip, port) = (peer.ip().to_string(), peer.port().to_string());
    let expected = t!(catalog::C_OWN_ADDRESS, ip.as_str(), port.as_str());
    let deadline = Instant::now() + secs(ctx, 2.0);
    loop {
        // OCR reads a dot in an address as a comma (or both) now and then.
        let mut text = window_text(c.as_mut())?.replace(',', ".");
        while text.contains("..") {
            text = text.replace("..", ".");
        }
        let has = |w: &str| crate::plain::peer::find_word(text.as_bytes(), w.as_bytes(), 0, true);
        if has(&ip).is_some() && has(&port).is_some() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(
                expected,
                t!(catalog::C_NO_OWN_ADDRESS, format!("{:?}", text.trim())),
            ));
        }
        // No event says the text changed: look again in a tenth of a second.
        std::thread::sleep(Duration::from_millis(100));
    }
}
