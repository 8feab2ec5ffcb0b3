//! `chat-server`: parse flags, bind, print the address, serve until Ctrl-C or SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = chat_server::cli::Args::parse();
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(args: chat_server::cli::Args) -> anyhow::Result<()> {
    let config = args.into_config()?;
    let listener = chat_server::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let metrics = match config.metrics {
        Some(at) => Some(
            std::net::TcpListener::bind(at)
                .with_context(|| format!("cannot serve metrics on {at}"))?,
        ),
        None => None,
    };
    let shutdown = chat_server::Shutdown::new();
    let on_signal = shutdown.clone();
    ctrlc::set_handler(move || on_signal.trigger()).context("cannot install signal handler")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {addr}")?;
        if let Some(m) = &metrics {
            writeln!(out, "metrics on http://{}/metrics", m.local_addr()?)?;
        }
        out.flush()?;
    }
    chat_server::run_with(listener, metrics, config, shutdown)?;
    Ok(())
}
