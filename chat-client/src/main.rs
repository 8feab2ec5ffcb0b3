//! `chat-client`: parse flags, build a `Config`, run, map the error to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// Terminal client for the batepapo chat (protocol chat/1).
///
/// On a terminal it opens a full-screen interface (a "Sair" button, the user list, pop-ups);
/// --plain, or a pipe, gives line mode.
///
/// Type a line to send it to everyone; "@name text" sends it to one user only; "/users" lists
/// who is connected; "/quit" (or end of input) leaves. Other users' text is shown with control
/// characters neutralised.
///
/// Exit codes: 0 after leaving normally, 1 when the name is refused and nobody can choose
/// another, 2 for usage and connection errors (e.g. no server running at --server).
#[derive(Debug, Parser)]
#[command(name = "chat-client", version, about, long_about, max_term_width = 100)]
struct Args {
    /// Server to connect to, as host:port.
    #[arg(long, value_name = "ADDR", default_value = chat_client::DEFAULT_SERVER)]
    server: String,

    /// Name to join with (no spaces, no "@"). Asked for when absent; read from the first line
    /// of stdin when stdin is not a terminal.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,

    /// Line mode even on a terminal (full screen is used when stdin and stdout are terminals).
    #[arg(long)]
    plain: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let interactive = std::io::stdin().is_terminal();
    let config = chat_client::Config {
        server: args.server,
        name: args.name,
        interactive,
        full_screen: interactive && std::io::stdout().is_terminal() && !args.plain,
    };
    match chat_client::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut text = format!("chat-client: error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{text}");
            ExitCode::from(e.exit_code())
        }
    }
}
