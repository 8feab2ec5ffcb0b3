//! The client's cases: each starts a fresh client, plays the server (or refuses it), and judges
//! what reached the server and what the window showed. Users are named by their role here; the
//! transcript shows the grader's unique names and tokens.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::session::{Connect, Session};
use crate::case::{Body, Case, CaseFn, Ctx, Failure, Level::*};
use crate::i18n::{catalog, Msg, Text};
use crate::t;

/// Words of a button that leaves (the assignment's "Sair" first).
const QUIT_WORDS: [&str; 6] = ["sair", "quit", "exit", "desconectar", "logout", "leave"];
/// Words of a button that sends.
const SEND_WORDS: [&str; 4] = ["enviar", "send", "mandar", ">"];
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

fn shown(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64())
}

/// Starts a client whose name questions get `names` in turn.
fn start(ctx: &Ctx, connect: Connect, names: &[&str]) -> Result<Session, Failure> {
    let gui = ctx
        .target
        .gui
        .as_ref()
        .expect("client cases run with a client");
    let s = Session::start(
        &gui.command,
        gui.dir.as_deref(),
        &gui.display,
        &gui.hook_dir,
        connect,
        names,
        secs(ctx, 15.0),
    )
    .map_err(|e| Failure::new(catalog::C_A_WORKING_WINDOW, Text::data(e.to_string())))?;
    ctx.transcript
        .record("client", "--", &format!("started: {}", gui.command));
    Ok(s)
}

/// A client connected to the grader's server under `name`, its window up and its main loop
/// running.
fn connected(ctx: &Ctx, name: &str) -> Result<Session, Failure> {
    let s = start(ctx, Connect::Serve, &[name])?;
    let server = s.server.as_ref().expect("served");
    let within = secs(ctx, 10.0);
    if !server.wait(within, |seen| seen.name.is_some()) {
        return Err(Failure::new(
            t!(catalog::C_THE_NAME, name),
            t!(catalog::C_NOT_CONNECTED, shown(within)),
        ));
    }
    window_up(ctx, &s)?;
    record_events(ctx, &s);
    Ok(s)
}

/// Waits for the main loop; says why the window never came up.
fn window_up(ctx: &Ctx, s: &Session) -> Result<(), Failure> {
    let within = secs(ctx, 10.0);
    if s.wait_event(within, |v| v["ev"] == "mainloop").is_some() {
        // The loop is entered before the window is drawn: a moment for it to take commands.
        let _ = s.wait_event(secs(ctx, 0.3), |v| v["ev"] == "never");
        return Ok(());
    }
    let why = if s.saw("window") {
        catalog::C_NO_MAINLOOP.text()
    } else {
        t!(catalog::C_NO_WINDOW, shown(within))
    };
    Err(Failure::new(catalog::C_A_WORKING_WINDOW, why))
}

/// Puts what the hook saw (pop-ups, questions, windows) in the transcript.
fn record_events(ctx: &Ctx, s: &Session) {
    for v in s.events() {
        let line = match v["ev"].as_str() {
            Some("popup") => format!(
                "pop-up {}: {} / {}",
                v["kind"].as_str().unwrap_or(""),
                v["title"].as_str().unwrap_or(""),
                v["message"].as_str().unwrap_or("")
            ),
            Some("askstring") | Some("input") => format!(
                "asked for a name ({}), answered {}",
                v["prompt"].as_str().unwrap_or(""),
                v["answer"].as_str().unwrap_or("")
            ),
            Some("connect") => format!("connects to {}", v["to"]),
            Some("exception") => format!("exception in a callback: {}", v["text"]),
            Some("toplevel") => "opened a new window".to_string(),
            _ => continue,
        };
        ctx.transcript.record("client", "--", &line);
    }
}

fn window_text(s: &mut Session) -> Result<String, Failure> {
    s.window_text()
        .map_err(|e| Failure::new(catalog::C_A_WORKING_WINDOW, t!(catalog::C_WINDOW_SILENT, e)))
}

/// Types `text` into the entry and sends it; how (Enter, or the send button).
fn type_and_send(ctx: &Ctx, s: &mut Session, text: &str, expected: Text) -> Result<(), Failure> {
    ctx.transcript
        .record("client", ">>", &format!("typed: {text}"));
    let cmd = json!({"cmd": "type", "text": text, "send": SEND_WORDS});
    let reply = s
        .command(cmd, secs(ctx, 3.0))
        .map_err(|e| Failure::new(expected.clone(), t!(catalog::C_COULD_NOT_SEND, e)))?;
    match reply["how"].as_str() {
        Some("enter") | Some("button") => Ok(()),
        other => Err(Failure::new(
            expected,
            t!(catalog::C_COULD_NOT_SEND, other.unwrap_or("")),
        )),
    }
}

fn received(s: &Session) -> String {
    let seen = s.server.as_ref().map(|v| v.seen()).unwrap_or_default();
    String::from_utf8_lossy(&seen.after_name).into_owned()
}

fn token(ctx: &Ctx, label: &str) -> String {
    format!("tok{}", ctx.name(label).replace('_', "x"))
}

fn popup_without_server(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut s = start(ctx, Connect::Refuse, &[&name])?;
    let within = secs(ctx, 3.0);
    let expected = t!(catalog::C_A_POPUP, shown(within));
    let popup = s.wait_event(within, |v| v["ev"] == "popup" || v["ev"] == "toplevel");
    record_events(ctx, &s);
    if popup.is_some() {
        return Ok(());
    }
    if let Some(status) = s.exited() {
        let end = s.stderr_end();
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
    if let Ok(text) = s.window_text() {
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
    let s = start(ctx, Connect::Serve, &[&name])?;
    let server = s.server.as_ref().expect("served");
    let within = secs(ctx, 10.0);
    server.wait(within, |seen| seen.name.is_some());
    record_events(ctx, &s);
    let expected = t!(catalog::C_THE_NAME, name.as_str());
    match server.seen().name {
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
    let s = start(ctx, Connect::Serve, &[bad, &good])?;
    let server = s.server.as_ref().expect("served");
    // Refused, it asks again (the good name comes) or never connects: either way, a moment.
    server.wait(secs(ctx, 3.0), |seen| seen.name.is_some());
    record_events(ctx, &s);
    let expected = t!(catalog::C_BAD_NAME_KEPT, kind);
    match server.seen().name {
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
    let mut s = connected(ctx, &name)?;
    let tok = token(ctx, "typed");
    let within = secs(ctx, 3.0);
    let expected = t!(catalog::C_TYPED_MESSAGE, shown(within));
    type_and_send(ctx, &mut s, &format!("ola {tok}"), expected.clone())?;
    let server = s.server.as_ref().expect("served");
    if server.wait(within, |seen| {
        String::from_utf8_lossy(&seen.after_name).contains(&tok)
    }) {
        return Ok(());
    }
    Err(Failure::new(
        expected,
        t!(catalog::C_NOT_AT_SERVER, format!("{:?}", received(&s))),
    ))
}

fn receives_while_idle(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut s = connected(ctx, &name)?;
    let tok = token(ctx, "incoming");
    let line = format!("carol: oi {tok}");
    ctx.transcript.record("server", "<<", &line);
    let within = secs(ctx, 2.0);
    let expected = t!(catalog::C_SHOWN_WITHIN, shown(within));
    let server = s.server.as_ref().expect("served");
    if let Err(e) = server.send(&line) {
        return Err(Failure::new(expected, crate::plain::peer::io_error(&e)));
    }
    // The window has no event for "text changed": look at it every tenth of a second.
    let deadline = Instant::now() + within;
    loop {
        let text = window_text(&mut s)?;
        if text.contains(&tok) {
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
    let mut s = connected(ctx, &name)?;
    let before = window_text(&mut s)?;
    let popups_before = count_popups(&s);
    let tok = token(ctx, "self");
    type_and_send(
        ctx,
        &mut s,
        &format!("@{name} segredo {tok}"),
        catalog::C_SELF_NOT_SENT.text(),
    )?;
    // Then an ordinary message: once it is at the server, anything sent before it is too.
    let fence = token(ctx, "after");
    let within = secs(ctx, 3.0);
    type_and_send(
        ctx,
        &mut s,
        &format!("depois {fence}"),
        t!(catalog::C_TYPED_MESSAGE, shown(within)),
    )?;
    let server = s.server.as_ref().expect("served");
    server.wait(within, |seen| {
        String::from_utf8_lossy(&seen.after_name).contains(&fence)
    });
    record_events(ctx, &s);
    let got = received(&s);
    if got.contains(&tok) {
        return Err(Failure::new(
            catalog::C_SELF_NOT_SENT,
            t!(catalog::C_SELF_SENT, format!("{got:?}")),
        ));
    }
    let after = window_text(&mut s)?;
    let new_text = after
        .strip_prefix(before.as_str())
        .unwrap_or(&after)
        .to_lowercase();
    let said = count_popups(&s) > popups_before
        || ERROR_WORDS
            .iter()
            .any(|w| new_text.contains(w) && !before.to_lowercase().contains(w));
    if said {
        Ok(())
    } else {
        Err(Failure::new(catalog::C_SELF_ERROR, catalog::C_SELF_SILENT))
    }
}

fn count_popups(s: &Session) -> usize {
    s.events()
        .iter()
        .filter(|v| v["ev"] == "popup" || v["ev"] == "toplevel")
        .count()
}

fn quits(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut s = connected(ctx, &name)?;
    let within = secs(ctx, 2.0);
    let expected = t!(catalog::C_CLOSED_WITHIN, shown(within));
    let reply = s
        .command(json!({"cmd": "click", "words": QUIT_WORDS}), secs(ctx, 3.0))
        .map_err(|e| Failure::new(expected.clone(), t!(catalog::C_NO_QUIT_BUTTON, e)))?;
    let clicked = reply["clicked"].as_str().unwrap_or("").to_string();
    ctx.transcript
        .record("client", "--", &format!("clicked {clicked:?}"));
    let server = s.server.as_ref().expect("served");
    if server.wait(within, |seen| seen.closed) {
        return Ok(());
    }
    Err(Failure::new(
        expected,
        t!(catalog::C_STILL_OPEN, shown(within), format!("{clicked:?}")),
    ))
}

fn own_address(ctx: &mut Ctx) -> Result<(), Failure> {
    let name = ctx.name("aluno");
    let mut s = connected(ctx, &name)?;
    let peer = s
        .server
        .as_ref()
        .and_then(|v| v.seen().peer)
        .expect("connected");
    let (ip, port) = (peer.ip().to_string(), peer.port().to_string());
    let expected = t!(catalog::C_OWN_ADDRESS, ip.as_str(), port.as_str());
    let deadline = Instant::now() + secs(ctx, 2.0);
    loop {
        let text = window_text(&mut s)?;
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

/// The events of a session as JSON, for tests.
pub fn events_of(s: &Session) -> Vec<Value> {
    s.events()
}
