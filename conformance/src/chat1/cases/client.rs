//! Client-side requirements, proven by running the chat-client binary (RF9, RF11, RF12, and
//! the client's halves of RF1, RF2, RF4 and RF7).

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::chat1::wire::Wire;
use crate::client_proc::ClientProc;

pub(super) fn cases() -> Vec<Case> {
    let all = vec![
        case("RF11-01", "RF11", Must, "with no server running the client reports it within 2 s, naming the address, and exits 2", no_server),
        case("RF11-02", "RF11", Must, "the same clear error when the server is given by host name (localhost)", no_server_by_name),
        case("RF9-03", "RF9", Must, "the client's /quit leaves cleanly: exit 0, and the others get LEAVE", client_quit),
        case("RF9-04", "RF9", Must, "end of input leaves like /quit", client_eof),
        case("RF12-03", "RF12", Must, "the client shows the user its own ip:port, the one the others see", client_shows_own_addr),
        case("RF12-04", "RF12", Must, "the client shows others' arrivals with their ip:port", client_shows_join_addr),
        case("RF4-05", "RF4", Must, "the client prints incoming messages while its user types nothing (a receiving thread)", client_receives_while_idle),
        case("RF2-06", "RF2", Must, "a taken name given to a non-interactive client ends it with exit 1 and the reason", client_name_taken),
        case("RF1-08", "RF1", Must, "the client refuses a name with a space itself, with exit 1 and the reason", client_invalid_name),
        case("RF7-04", "RF7", Must, "the client refuses a private message to oneself with a clear message", client_self_message),
    ];
    all.into_iter()
        .map(|mut c| {
            c.needs_client = true;
            c
        })
        .collect()
}

/// Starts the configured chat-client with `args`.
fn spawn(ctx: &Ctx, label: &str, args: &[String]) -> Result<ClientProc, Failure> {
    let bin = ctx
        .target
        .client_bin
        .clone()
        .ok_or_else(|| Failure::new("a chat-client binary", "none configured"))?;
    let mut command = Command::new(&bin);
    command.args(args);
    ctx.transcript.record(
        label,
        "--",
        &format!("started chat-client {}", args.join(" ")),
    );
    ClientProc::start(
        command,
        label,
        ctx.transcript.clone(),
        ctx.target.read_timeout(),
    )
}

/// Starts the chat-client connected to the server under the unique name of `label`.
fn connect(ctx: &Ctx, label: &str) -> Result<ClientProc, Failure> {
    let args = vec![
        "--server".to_string(),
        ctx.target.addr.to_string(),
        "--name".to_string(),
        ctx.name(label),
    ];
    spawn(ctx, label, &args)
}

fn expect_exit(label: &str, got: (Option<i32>, String), code: i32) -> Result<String, Failure> {
    match got {
        (Some(c), err) if c == code => Ok(err),
        (c, err) => Err(Failure::at(
            label,
            format!("exit code {code}"),
            format!("{c:?}, stderr {err:?}"),
        )),
    }
}

fn no_server(ctx: &mut Ctx) -> Result<(), Failure> {
    refused_with_clear_error(ctx, "127.0.0.1")
}

fn no_server_by_name(ctx: &mut Ctx) -> Result<(), Failure> {
    refused_with_clear_error(ctx, "localhost")
}

fn refused_with_clear_error(ctx: &mut Ctx, host: &str) -> Result<(), Failure> {
    // A port that was just free: bind, note it, release it.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Failure::new("a free port", e.to_string()))?
        .port();
    let addr = format!("{host}:{port}");
    let started = Instant::now();
    let proc = spawn(
        ctx,
        "client",
        &[
            "--server".into(),
            addr.clone(),
            "--name".into(),
            ctx.name("client"),
        ],
    )?;
    let err = expect_exit("client", proc.finish()?, 2)?;
    let took = started.elapsed();
    if took > ctx.target.scaled(Duration::from_secs(2)) + Duration::from_millis(500) {
        return Err(Failure::at(
            "client",
            "the error within 2 s",
            format!("{:.1} s", took.as_secs_f64()),
        ));
    }
    if !err.contains(&addr) || !err.to_lowercase().contains("not running") {
        return Err(Failure::at(
            "client",
            format!("an error naming {addr} and saying the server is not running"),
            format!("{err:?}"),
        ));
    }
    Ok(())
}

fn client_quit(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut watcher = Wire::join(ctx, "watcher")?;
    let mut client = connect(ctx, "client")?;
    let name = ctx.name("client");
    watcher.expect(&format!("JOIN {name} *"))?;
    client.type_line("/quit")?;
    expect_exit("client", client.finish()?, 0)?;
    watcher.expect(&format!("LEAVE {name} *"))?;
    Ok(())
}

fn client_eof(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut watcher = Wire::join(ctx, "watcher")?;
    let client = connect(ctx, "client")?;
    let name = ctx.name("client");
    watcher.expect(&format!("JOIN {name} *"))?;
    expect_exit("client", client.finish()?, 0)?;
    watcher.expect(&format!("LEAVE {name} *"))?;
    Ok(())
}

fn client_shows_own_addr(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut watcher = Wire::join(ctx, "watcher")?;
    let mut client = connect(ctx, "client")?;
    let name = ctx.name("client");
    let join = watcher.expect(&format!("JOIN {name} *"))?;
    let addr = join.rsplit(' ').next().unwrap_or_default().to_string();
    client.expect_containing(&[&addr])?;
    Ok(())
}

fn client_shows_join_addr(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut client = connect(ctx, "client")?;
    let mut watcher = Wire::join(ctx, "watcher")?;
    watcher
        .expect(&format!("JOIN {} *", ctx.name("client")))
        .ok();
    let newcomer = Wire::join(ctx, "newcomer")?;
    client.expect_containing(&[&newcomer.name, &newcomer.local_addr().to_string()])?;
    Ok(())
}

fn client_receives_while_idle(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut watcher = Wire::join(ctx, "watcher")?;
    let mut client = connect(ctx, "client")?;
    watcher.expect(&format!("JOIN {} *", ctx.name("client")))?;
    watcher.send("are you listening?")?;
    client.expect_containing(&[&watcher.name, "are you listening?"])?;
    watcher.send(&format!("@{} and privately?", ctx.name("client")))?;
    client.expect_containing(&[&watcher.name, "and privately?"])?;
    Ok(())
}

fn client_name_taken(ctx: &mut Ctx) -> Result<(), Failure> {
    let holder = Wire::join(ctx, "holder")?;
    let args = vec![
        "--server".into(),
        ctx.target.addr.to_string(),
        "--name".into(),
        holder.name.to_uppercase(),
    ];
    let client = spawn(ctx, "client", &args)?;
    let err = expect_exit("client", client.finish()?, 1)?;
    if !err.contains("taken") && !err.contains("in use") {
        return Err(Failure::at(
            "client",
            "a reason saying the name is taken",
            format!("{err:?}"),
        ));
    }
    Ok(())
}

fn client_invalid_name(ctx: &mut Ctx) -> Result<(), Failure> {
    let args = vec![
        "--server".into(),
        ctx.target.addr.to_string(),
        "--name".into(),
        "two words".into(),
    ];
    let client = spawn(ctx, "client", &args)?;
    let err = expect_exit("client", client.finish()?, 1)?;
    if !err.contains("space") {
        return Err(Failure::at(
            "client",
            "a reason mentioning spaces",
            format!("{err:?}"),
        ));
    }
    Ok(())
}

fn client_self_message(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut watcher = Wire::join(ctx, "watcher")?;
    let mut client = connect(ctx, "client")?;
    let name = ctx.name("client");
    watcher.expect(&format!("JOIN {name} *"))?;
    client.type_line(&format!("@{} hi me", name.to_uppercase()))?;
    client.expect_containing(&["yourself"])?;
    client.type_line("visible")?;
    watcher.expect(&format!("MSG {name} visible"))?;
    Ok(())
}
