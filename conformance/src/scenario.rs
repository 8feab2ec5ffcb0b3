//! Cases as data: a TOML file per case under `scenarios/`, so anyone can add one without Rust.
//!
//! ```toml
//! id = "RF5-01"
//! rf = "RF5"
//! level = "MUST"
//! title = "a public message reaches every other user"
//! clause = "PROTOCOL.md §Chatting: MSG to every other user"   # optional
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
//! Each step names exactly one action: `connect` (and read HELLO), `join`, `register` (after
//! `connect`), `send`, `expect`, `expect-none` (`true` for a `/users` fence on the client itself,
//! or the label of a sender whose private fence must be the next line from it), `expect-eof`,
//! `close`. A flag action must be `true`: `close = false` is refused (naming the file, step and
//! field) rather than read as a close, since the engine has no "do not close".
//! Placeholders: `{alice}` is the unique name of client `alice`, `{alice.addr}` its ip:port,
//! `{alice.upper}` and `{alice.lower}` the name in other cases.

use std::collections::HashMap;

use serde::Deserialize;

use crate::case::{Body, Case, Ctx, Failure, Level};
use crate::wire::Wire;

/// A parsed and checked scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The case id, e.g. `RF5-01`.
    pub id: String,
    /// The requirement, e.g. `RF5`.
    pub rf: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// One line saying what is checked.
    pub title: String,
    /// The contract clause or requirement it enforces (`clause = "..."`; by default the one
    /// the built-in table gives its id, or its requirement).
    pub clause: String,
    /// Whether the case needs the server to itself.
    pub exclusive: bool,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step: a client and the one thing it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The client label this step acts as.
    pub client: String,
    /// What it does.
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Connect and read HELLO.
    Connect,
    /// Connect, read HELLO, register.
    Join,
    /// Register an already connected client.
    Register,
    /// Send a line.
    Send(String),
    /// Expect a line matching this pattern.
    Expect(String),
    /// Expect nothing more before a `/users` fence on the client itself.
    ExpectNone,
    /// Expect nothing more before a private message from this client's label.
    ExpectNoneBefore(String),
    /// Expect the server to close the connection.
    ExpectEof,
    /// Close the connection without `/quit`.
    Close,
}

/// The file as written: every action optional, checked into a [`Step`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawScenario {
    id: String,
    rf: String,
    level: Level,
    title: String,
    #[serde(default)]
    clause: Option<String>,
    #[serde(default)]
    exclusive: bool,
    #[serde(rename = "step")]
    steps: Vec<RawStep>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStep {
    client: String,
    connect: Option<bool>,
    join: Option<bool>,
    register: Option<bool>,
    send: Option<String>,
    expect: Option<String>,
    expect_none: Option<Fence>,
    expect_eof: Option<bool>,
    close: Option<bool>,
}

/// The value of `expect-none`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Fence {
    /// `true`: the client fences itself with `/users`.
    Itself(bool),
    /// The label of the sender whose private message is the fence.
    From(String),
}

impl RawStep {
    /// The step's one action, or what is wrong with it.
    fn action(self) -> Result<Step, StepProblem> {
        let flag = |field: &'static str, v: Option<bool>, action: Action| match v {
            None => Ok(None),
            Some(true) => Ok(Some(action)),
            Some(false) => Err(StepProblem::False(field)),
        };
        let mut actions = Vec::new();
        actions.extend(flag("connect", self.connect, Action::Connect)?.map(|a| ("connect", a)));
        actions.extend(flag("join", self.join, Action::Join)?.map(|a| ("join", a)));
        actions.extend(flag("register", self.register, Action::Register)?.map(|a| ("register", a)));
        actions.extend(self.send.map(|t| ("send", Action::Send(t))));
        actions.extend(self.expect.map(|t| ("expect", Action::Expect(t))));
        match self.expect_none {
            None => {}
            Some(Fence::Itself(true)) => actions.push(("expect-none", Action::ExpectNone)),
            Some(Fence::Itself(false)) => return Err(StepProblem::False("expect-none")),
            Some(Fence::From(label)) => {
                actions.push(("expect-none", Action::ExpectNoneBefore(label)))
            }
        }
        actions.extend(
            flag("expect-eof", self.expect_eof, Action::ExpectEof)?.map(|a| ("expect-eof", a)),
        );
        actions.extend(flag("close", self.close, Action::Close)?.map(|a| ("close", a)));
        match actions.len() {
            1 => Ok(Step {
                client: self.client,
                action: actions.pop().expect("one action").1,
            }),
            0 => Err(StepProblem::Count(Vec::new())),
            _ => Err(StepProblem::Count(actions.iter().map(|a| a.0).collect())),
        }
    }
}

enum StepProblem {
    False(&'static str),
    Count(Vec<&'static str>),
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
    #[error(
        "{file}: step {step} must have exactly one action ({}), it has {}",
        ACTIONS.join(", "),
        if .fields.is_empty() { "none".to_string() } else { .fields.join(" and ") }
    )]
    Actions {
        /// Which file.
        file: String,
        /// 1-based step number.
        step: usize,
        /// The actions it named.
        fields: Vec<&'static str>,
    },
    /// An action set to `false`, which the engine cannot do.
    #[error(
        "{file}: step {step}: `{field} = false` asks for nothing the engine can do; write \
         `{field} = true` or remove the step"
    )]
    False {
        /// Which file.
        file: String,
        /// 1-based step number.
        step: usize,
        /// The field.
        field: &'static str,
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

/// Every action a step may name.
pub const ACTIONS: [&str; 8] = [
    "connect",
    "join",
    "register",
    "send",
    "expect",
    "expect-none",
    "expect-eof",
    "close",
];

impl Scenario {
    /// Parses and checks one scenario.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|source| ScenarioError::Parse {
            file: file.to_string(),
            source,
        })?;
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (i, step) in raw.steps.into_iter().enumerate() {
            steps.push(step.action().map_err(|p| match p {
                StepProblem::False(field) => ScenarioError::False {
                    file: file.to_string(),
                    step: i + 1,
                    field,
                },
                StepProblem::Count(fields) => ScenarioError::Actions {
                    file: file.to_string(),
                    step: i + 1,
                    fields,
                },
            })?);
        }
        let clause = raw.clause.unwrap_or_else(|| {
            crate::clauses::for_case(&raw.id)
                .map_or_else(|| format!("requirement {}", raw.rf), str::to_string)
        });
        Ok(Scenario {
            clause,
            id: raw.id,
            rf: raw.rf,
            level: raw.level,
            title: raw.title,
            exclusive: raw.exclusive,
            steps,
        })
    }

    /// The scenario as a case.
    pub fn into_case(self) -> Case {
        Case {
            id: self.id.clone(),
            rf: self.rf.clone(),
            level: self.level,
            title: self.title.clone(),
            clause: self.clause.clone(),
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

    const HEAD: &str = "id='X-01'\nrf='X'\nlevel='MUST'\ntitle='t'\n";

    #[test]
    fn a_step_needs_exactly_one_action() {
        let text = format!(
            "{HEAD}[[step]]\nclient='a'\njoin=true\n[[step]]\nclient='a'\nsend='x'\nexpect='y'\n"
        );
        let err = Scenario::parse("x.toml", &text).unwrap_err();
        assert!(
            matches!(err, ScenarioError::Actions { step: 2, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("x.toml: step 2 must have exactly one action"),
            "{err}"
        );
        assert!(err.to_string().ends_with("it has send and expect"), "{err}");
        let none = format!("{HEAD}[[step]]\nclient='a'\n");
        let err = Scenario::parse("x.toml", &none).unwrap_err();
        assert!(err.to_string().ends_with("it has none"), "{err}");
    }

    #[test]
    fn an_action_set_to_false_is_refused_naming_file_step_and_field() {
        for field in [
            "connect",
            "join",
            "register",
            "expect-none",
            "expect-eof",
            "close",
        ] {
            let text = format!(
                "{HEAD}[[step]]\nclient='a'\njoin=true\n[[step]]\nclient='a'\n{field}=false\n"
            );
            let err = Scenario::parse("mine.toml", &text).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("mine.toml: step 2: `{field} = false` asks for nothing the engine can do; write `{field} = true` or remove the step")
            );
        }
    }

    #[test]
    fn each_field_becomes_its_action() {
        let text = format!("{HEAD}[[step]]\nclient='a'\nconnect=true\n[[step]]\nclient='a'\nregister=true\n[[step]]\nclient='b'\njoin=true\n[[step]]\nclient='a'\nsend='hi'\n[[step]]\nclient='b'\nexpect='MSG {{a}} hi'\n[[step]]\nclient='b'\nexpect-none=true\n[[step]]\nclient='b'\nexpect-none='a'\n[[step]]\nclient='a'\nclose=true\n[[step]]\nclient='b'\nexpect-eof=true\n");
        let s = Scenario::parse("x.toml", &text).unwrap();
        let actions: Vec<Action> = s.steps.into_iter().map(|s| s.action).collect();
        assert_eq!(
            actions,
            [
                Action::Connect,
                Action::Register,
                Action::Join,
                Action::Send("hi".into()),
                Action::Expect("MSG {a} hi".into()),
                Action::ExpectNone,
                Action::ExpectNoneBefore("a".into()),
                Action::Close,
                Action::ExpectEof
            ]
        );
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
