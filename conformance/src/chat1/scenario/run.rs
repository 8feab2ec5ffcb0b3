//! Running a scenario's steps against a server.

use std::collections::HashMap;

use super::schema::{Action, Scenario};
use crate::case::{Ctx, Failure, Script};
use crate::chat1::wire::Wire;

impl Script for Scenario {
    /// Runs the steps in order; the first failed step ends the case.
    fn run(&self, ctx: &mut Ctx) -> Result<(), Failure> {
        let mut clients: HashMap<String, Wire> = HashMap::new();
        // Every label is relevant from the start, so lines about clients yet to join are kept.
        for step in &self.steps {
            ctx.name(&step.client);
        }
        for (i, step) in self.steps.iter().enumerate() {
            let label = step.client.as_str();
            let at = |f: Failure| Failure {
                expected: format!("step {}: {}", i + 1, f.expected).into(),
                ..f
            };
            match &step.action {
                Action::Connect | Action::Join => {
                    let wire = if step.action == Action::Join {
                        Wire::join(ctx, label)
                    } else {
                        Wire::hello(ctx, label)
                    };
                    clients.insert(label.to_string(), wire.map_err(at)?);
                }
                Action::Close => {
                    client(&mut clients, label, i)?;
                    if let Some(w) = clients.remove(label) {
                        w.close();
                    }
                }
                Action::ExpectNoneBefore(sender) => {
                    let mut observer = clients.remove(label).ok_or_else(|| unknown(label, i))?;
                    let result = match clients.get_mut(sender.as_str()) {
                        Some(s) => s.fence(&mut observer),
                        None => Err(unknown(sender, i)),
                    };
                    clients.insert(label.to_string(), observer);
                    result.map_err(at)?;
                }
                Action::Send(text) => {
                    let line = expand(text, &clients, ctx).map_err(at)?;
                    client(&mut clients, label, i)?.send(&line).map_err(at)?;
                }
                Action::Expect(pattern) => {
                    let pattern = expand(pattern, &clients, ctx).map_err(at)?;
                    client(&mut clients, label, i)?
                        .expect(&pattern)
                        .map(drop)
                        .map_err(at)?;
                }
                Action::Register => client(&mut clients, label, i)?.register().map_err(at)?,
                Action::ExpectEof => client(&mut clients, label, i)?.expect_eof().map_err(at)?,
                Action::ExpectNone => client(&mut clients, label, i)?.expect_quiet().map_err(at)?,
            }
        }
        Ok(())
    }
}

fn unknown(label: &str, i: usize) -> Failure {
    Failure::new(
        format!("step {}: client {label:?} to be connected", i + 1),
        "a step for a client that is not connected (scenario error)",
    )
}

fn client<'a>(
    clients: &'a mut HashMap<String, Wire>,
    label: &str,
    i: usize,
) -> Result<&'a mut Wire, Failure> {
    clients.get_mut(label).ok_or_else(|| unknown(label, i))
}

/// Replaces `{label}`, `{label.addr}`, `{label.upper}` and `{label.lower}`.
fn expand(text: &str, clients: &HashMap<String, Wire>, ctx: &Ctx) -> Result<String, Failure> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let key = &after[..end];
        let (label, field) = key.split_once('.').unwrap_or((key, "name"));
        let name = ctx.name(label);
        let value = match field {
            "name" => name,
            "upper" => name.to_uppercase(),
            "lower" => name.to_lowercase(),
            "addr" => clients
                .get(label)
                .map(|w| w.local_addr().to_string())
                .ok_or_else(|| {
                    Failure::new(
                        format!("{{{key}}} to name a connected client"),
                        "no such client (scenario error)",
                    )
                })?,
            other => {
                return Err(Failure::new(
                    format!("a known placeholder field, not {other:?}"),
                    format!("{{{key}}} (scenario error)"),
                ))
            }
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
