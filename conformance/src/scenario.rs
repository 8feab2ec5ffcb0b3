//! Cases as data: a TOML file per case under `scenarios/`, so anyone can add one without Rust.
//!
//! ```toml
//! id = "RF5-01"
//! rf = "RF5"
//! level = "MUST"
//! title = "a public message reaches every other user"
//!
//! [[step]]
//! client = "alice"
//! join = true          # connect, read HELLO, register, check WELCOME and USERS
//!
//! [[step]]
//! client = "bob"
//! join = true
//!
//! [[step]]
//! client = "bob"
//! send = "hello"
//!
//! [[step]]
//! client = "alice"
//! expect = "MSG {bob} hello"   # `*` matches any text
//!
//! [[step]]
//! client = "bob"
//! expect-none = true           # nothing else reached bob (a /users fence)
//! ```
//!
//! Actions: `connect` (and read HELLO), `join`, `register` (after `connect`), `send`, `expect`,
//! `expect-none` (`true` for a `/users` fence on the client itself, or the label of a sender
//! whose private fence must be the next line from it), `expect-eof`, `close`.
//! Placeholders: `{alice}` is the unique name of client `alice`, `{alice.addr}` its ip:port,
//! `{alice.upper}` and `{alice.lower}` the name in other cases.

use std::collections::HashMap;

use serde::Deserialize;

use crate::case::{Body, Case, Ctx, Failure, Level};
use crate::wire::Wire;

/// A parsed scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scenario {
    /// The case id, e.g. `RF5-01`.
    pub id: String,
    /// The requirement, e.g. `RF5`.
    pub rf: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// One line saying what is checked.
    pub title: String,
    /// Whether the case needs the server to itself.
    #[serde(default)]
    pub exclusive: bool,
    /// The steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// One step: a client and exactly one action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Step {
    /// The client label this step acts as.
    pub client: String,
    /// Connect and read HELLO.
    pub connect: Option<bool>,
    /// Connect, read HELLO, register.
    pub join: Option<bool>,
    /// Register an already connected client.
    pub register: Option<bool>,
    /// Send a line.
    pub send: Option<String>,
    /// Expect a line matching this pattern.
    pub expect: Option<String>,
    /// Expect nothing more: `true`, or the label of the sender to fence.
    pub expect_none: Option<Fence>,
    /// Expect the server to close the connection.
    pub expect_eof: Option<bool>,
    /// Close the connection without `/quit`.
    pub close: Option<bool>,
}

/// The value of `expect-none`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Fence {
    /// `true`: the client fences itself with `/users`.
    Itself(bool),
    /// The label of the sender whose private message is the fence.
    From(String),
}

/// Why a scenario file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid TOML for a scenario.
    #[error("{file}: {source}")]
    Parse {
        /// Which file.
        file: String,
        /// What the parser said.
        #[source]
        source: toml::de::Error,
    },
    /// A step with no action or several.
    #[error("{file}: step {step} must have exactly one action, it has {count}")]
    Actions {
        /// Which file.
        file: String,
        /// 1-based step number.
        step: usize,
        /// How many actions it had.
        count: usize,
    },
    /// Two cases share an id.
    #[error("duplicate case ids: {0}")]
    Duplicate(String),
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// Which file.
        file: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

impl Scenario {
    /// Parses and checks one scenario.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|source| ScenarioError::Parse {
            file: file.to_string(),
            source,
        })?;
        for (i, step) in scenario.steps.iter().enumerate() {
            let count = [
                step.connect.is_some(),
                step.join.is_some(),
                step.register.is_some(),
                step.send.is_some(),
                step.expect.is_some(),
                step.expect_none.is_some(),
                step.expect_eof.is_some(),
                step.close.is_some(),
            ]
            .iter()
            .filter(|&&x| x)
            .count();
            if count != 1 {
                return Err(ScenarioError::Actions {
                    file: file.to_string(),
                    step: i + 1,
                    count,
                });
            }
        }
        Ok(scenario)
    }

    /// The scenario as a case.
    pub fn into_case(self) -> Case {
        Case {
            id: self.id.clone(),
            rf: self.rf.clone(),
            level: self.level,
            title: self.title.clone(),
            exclusive: self.exclusive,
            needs_client: false,
            body: Body::Script(self),
        }
    }

    /// Runs the steps in order; the first failed step ends the case.
    pub fn run(&self, ctx: &mut Ctx) -> Result<(), Failure> {
        let mut clients: HashMap<String, Wire> = HashMap::new();
        // Every label is relevant from the start, so lines about clients yet to join are kept.
        for step in &self.steps {
            ctx.name(&step.client);
        }
        for (i, step) in self.steps.iter().enumerate() {
            let label = step.client.as_str();
            let at = |f: Failure| Failure {
                expected: format!("step {}: {}", i + 1, f.expected),
                ..f
            };
            if step.connect.is_some() || step.join.is_some() {
                let wire = if step.join.is_some() {
                    Wire::join(ctx, label)
                } else {
                    Wire::hello(ctx, label)
                };
                clients.insert(label.to_string(), wire.map_err(at)?);
                continue;
            }
            if step.close.is_some() {
                client(&mut clients, label, i)?;
                if let Some(w) = clients.remove(label) {
                    w.close();
                }
                continue;
            }
            if let Some(Fence::From(sender)) = &step.expect_none {
                let mut observer = clients.remove(label).ok_or_else(|| unknown(label, i))?;
                let result = match clients.get_mut(sender.as_str()) {
                    Some(s) => s.fence(&mut observer),
                    None => Err(unknown(sender, i)),
                };
                clients.insert(label.to_string(), observer);
                result.map_err(at)?;
                continue;
            }
            let expanded = |text: &str| expand(text, &clients, ctx);
            let send = step.send.as_deref().map(expanded).transpose().map_err(at)?;
            let expect = step
                .expect
                .as_deref()
                .map(expanded)
                .transpose()
                .map_err(at)?;
            let wire = client(&mut clients, label, i)?;
            let result = if step.register.is_some() {
                wire.register()
            } else if let Some(line) = send {
                wire.send(&line)
            } else if let Some(pattern) = expect {
                wire.expect(&pattern).map(drop)
            } else if step.expect_eof.is_some() {
                wire.expect_eof()
            } else {
                wire.expect_quiet()
            };
            result.map_err(at)?;
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

/// The scenarios built into the binary (every file in `conformance/scenarios/`).
pub fn builtin() -> Result<Vec<Scenario>, ScenarioError> {
    include!(concat!(env!("OUT_DIR"), "/scenarios.rs"))
        .iter()
        .map(|(file, text)| Scenario::parse(file, text))
        .collect()
}

/// Loads every `*.toml` file in a directory.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<Scenario>, ScenarioError> {
    let read_err = |source| ScenarioError::Read {
        file: dir.display().to_string(),
        source,
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
                file: file.clone(),
                source,
            })?;
            Scenario::parse(&file, &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scenarios_parse() {
        let all = builtin().unwrap();
        assert!(all.len() >= 20, "only {} scenarios", all.len());
    }

    #[test]
    fn a_step_needs_exactly_one_action() {
        let text = "id='X-01'\nrf='X'\nlevel='MUST'\ntitle='t'\n[[step]]\nclient='a'\nsend='x'\nexpect='y'\n";
        assert!(matches!(
            Scenario::parse("x.toml", text),
            Err(ScenarioError::Actions {
                step: 1,
                count: 2,
                ..
            })
        ));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = "id='X-01'\nrf='X'\nlevel='MUST'\ntitle='t'\n[[step]]\nclient='a'\nsned='x'\n";
        assert!(Scenario::parse("x.toml", text).is_err());
    }

    #[test]
    fn level_must_be_must_or_should() {
        let text = "id='X-01'\nrf='X'\nlevel='MAY'\ntitle='t'\nstep=[]\n";
        assert!(Scenario::parse("x.toml", text).is_err());
    }
}
