//! The server a run drives: the embedded reference server, or `--server` found and checked
//! ([`crate::engine::reach`]), with the sources of its figures (its process, its metrics endpoint).

use std::net::SocketAddr;

use crate::engine::outcome::RunError;
use crate::plan::config::Config;
use crate::recording::server_cost::{self, Probe, Sample};

/// The server a run drives: the embedded reference server or `--server`, and where its figures
/// come from.
pub struct Server {
    /// The address connected to.
    pub addr: SocketAddr,
    /// The server as given (or the embedded server's address).
    pub label: String,
    pub(crate) embedded: Option<chat_server::RunningServer>,
    pub(crate) probe: Probe,
}

impl Server {
    /// Embeds the reference server, or finds `--server` and checks it answers; then checks the
    /// bots' source addresses and the sources of the server's figures.
    pub fn open(config: &Config) -> Result<Server, RunError> {
        let (addr, embedded, label) = match &config.server {
            Some(text) => (
                crate::engine::reach::find_server(text, config)?,
                None,
                text.clone(),
            ),
            None => {
                let server = chat_server::RunningServer::start(config.embedded_server())
                    .map_err(RunError::Embed)?;
                let addr = server.addr();
                (addr, Some(server), addr.to_string())
            }
        };
        crate::plan::source::check(&config.source_addresses, addr)?;
        let probe = probe_for(config, addr);
        probe.check()?;
        Ok(Server {
            addr,
            label,
            embedded,
            probe,
        })
    }

    /// The server's counters now.
    pub(crate) fn sample(&self) -> Sample {
        let embedded = self.embedded.as_ref().map(|s| {
            let cpu = crate::recording::cpu::sample().map_or(0.0, |c| c.other);
            (s.metrics(), cpu)
        });
        self.probe
            .sample(embedded.as_ref().map(|(m, cpu)| (m, *cpu)))
    }
}

/// Where the server's figures come from: `--server-pid`, or the process listening on a
/// loopback `--server` port; and `--server-metrics`.
fn probe_for(config: &Config, addr: SocketAddr) -> Probe {
    let (pid, pid_from) = match (config.server_pid, &config.server) {
        (Some(pid), _) => (Some(pid), Some("--server-pid".to_string())),
        (None, Some(_)) if addr.ip().is_loopback() => {
            let pid = server_cost::find_listener(addr);
            (pid, pid.map(|_| format!("listening on {addr}")))
        }
        _ => (None, None),
    };
    Probe {
        pid,
        pid_from,
        metrics: config.server_metrics.clone(),
    }
}
