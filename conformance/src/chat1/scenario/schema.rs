//! The scenario file format: what a file may say, and its checks when it is read.

use serde::Deserialize;

use crate::case::{Body, Case, Level};

/// A scenario's steps: the script of a case read from a file (its id, requirement, level,
/// title and clause go into the [`Case`] itself, see [`Scenario::parse`]).
#[derive(Debug, Clone)]
pub struct Scenario {
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
    /// Parses and checks one scenario file into its case.
    pub fn parse(file: &str, text: &str) -> Result<Case, ScenarioError> {
        let (raw, scenario) = Scenario::read(file, text)?;
        let case = Case::new(
            &raw.id,
            &raw.rf,
            raw.level,
            raw.title.clone(),
            Body::Script(std::sync::Arc::new(scenario)),
        );
        let case = match raw.clause {
            Some(clause) => case.with_clause(clause),
            None => case,
        };
        Ok(if raw.exclusive { case.alone() } else { case })
    }

    /// The file's fields and its checked steps.
    fn read(file: &str, text: &str) -> Result<(RawScenario, Scenario), ScenarioError> {
        let mut raw: RawScenario = toml::from_str(text).map_err(|source| ScenarioError::Parse {
            file: file.to_string(),
            source,
        })?;
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (i, step) in std::mem::take(&mut raw.steps).into_iter().enumerate() {
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
        Ok((raw, Scenario { steps }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id='X-01'\nrf='X'\nlevel='MUST'\ntitle='t'\n";

    #[test]
    fn a_step_needs_exactly_one_action() {
        let text = format!(
            "{HEAD}[[step]]\nclient='a'\njoin=true\n[[step]]\nclient='a'\nsend='x'\nexpect='y'\n"
        );
        let err = Scenario::read("x.toml", &text).unwrap_err();
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
        let err = Scenario::read("x.toml", &none).unwrap_err();
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
            let err = Scenario::read("mine.toml", &text).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("mine.toml: step 2: `{field} = false` asks for nothing the engine can do; write `{field} = true` or remove the step")
            );
        }
    }

    #[test]
    fn each_field_becomes_its_action() {
        let text = format!("{HEAD}[[step]]\nclient='a'\nconnect=true\n[[step]]\nclient='a'\nregister=true\n[[step]]\nclient='b'\njoin=true\n[[step]]\nclient='a'\nsend='hi'\n[[step]]\nclient='b'\nexpect='MSG {{a}} hi'\n[[step]]\nclient='b'\nexpect-none=true\n[[step]]\nclient='b'\nexpect-none='a'\n[[step]]\nclient='a'\nclose=true\n[[step]]\nclient='b'\nexpect-eof=true\n");
        let (_, s) = Scenario::read("x.toml", &text).unwrap();
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
