//! Why a submission could not be graded at all, in the student's language: the same reasons
//! as [`GradeError`]'s English messages, as texts of the [`crate::i18n`] catalog, with what the
//! compiler, the server or the OS printed kept as it was.

use crate::build::BuildError;
use crate::chat1::preflight::{Preflight, CONTRACT};
use crate::grade::GradeError;
use crate::i18n::{catalog, Text};
use crate::plain::detect::DetectError;
use crate::plain::peer::io_error;
use crate::spawn::SpawnError;
use crate::t;

impl GradeError {
    /// Why nothing could be graded, as a student reads it.
    pub fn text(&self) -> Text {
        match self {
            GradeError::DidNotBuild(e) => build(e),
            GradeError::DidNotStart(e) => spawn(e),
            GradeError::NotChat1(e) => preflight(e),
            GradeError::NotGradable(e) => detect(e),
            GradeError::ExitedEarly(broke) => t!(catalog::EXITED_EARLY, broke.clone()),
        }
    }
}

fn build(e: &BuildError) -> Text {
    match e {
        BuildError::Start { command, source } => {
            t!(catalog::BUILD_CANNOT_RUN, quoted(command), io_error(source))
        }
        BuildError::Failed {
            command,
            status,
            output,
        } => t!(
            catalog::DID_NOT_COMPILE,
            quoted(command),
            status.as_str(),
            output.as_str()
        ),
        BuildError::TooLong { command } => t!(
            catalog::BUILD_TOO_LONG,
            quoted(command),
            crate::build::BUILD_LIMIT.as_secs()
        ),
    }
}

fn spawn(e: &SpawnError) -> Text {
    let tail = |stderr: &str| {
        let mut t = if stderr.is_empty() {
            Text::data("")
        } else {
            t!(catalog::STDERR_ENDED_WITH, stderr)
        };
        if let Some(h) = crate::spawn::hint_for(stderr) {
            t = t!(catalog::AT_SIGN_JOIN, t, t!(catalog::ON_A_NEW_LINE, h));
        }
        t
    };
    match e {
        SpawnError::Start { command, source } => {
            t!(catalog::CANNOT_RUN, quoted(command), io_error(source))
        }
        SpawnError::Exited {
            command,
            status,
            limit,
            stderr,
        } => {
            let limit = limit
                .clone()
                .map_or(Text::data(""), |l| t!(catalog::AT_LIMIT, l));
            t!(
                catalog::EXITED_BEFORE_SERVING,
                quoted(command),
                status.to_string(),
                t!(catalog::AT_SIGN_JOIN, limit, tail(stderr))
            )
        }
        SpawnError::NotListening {
            command,
            port,
            seconds,
            stderr,
        } => t!(
            catalog::NOT_LISTENING_ON,
            quoted(command),
            *port,
            *seconds,
            tail(stderr)
        ),
        SpawnError::NoPort(source) => t!(catalog::NO_FREE_PORT, io_error(source)),
        SpawnError::NoListener {
            command,
            seconds,
            stderr,
        } => t!(
            catalog::NO_LISTENER,
            quoted(command),
            *seconds,
            tail(stderr)
        ),
        SpawnError::NoAddress {
            command,
            seconds,
            stderr,
        } => t!(
            catalog::NO_LISTENING_LINE,
            quoted(command),
            *seconds,
            tail(stderr)
        ),
    }
}

fn detect(e: &DetectError) -> Text {
    match e {
        DetectError::Connect(addr, source) => t!(catalog::CANNOT_CONNECT, *addr, io_error(source)),
        DetectError::Unnamed { addr, a, b, got } => t!(
            catalog::NAMES_NOBODY,
            *addr,
            a.as_str(),
            b.as_str(),
            format!("{got:?}")
        ),
        DetectError::NoJoinNotice { addr, a, b, got } => t!(
            catalog::ANNOUNCES_NOBODY,
            *addr,
            a.as_str(),
            b.as_str(),
            format!("{got:?}")
        ),
    }
}

fn preflight(e: &Preflight) -> Text {
    match e {
        Preflight::Connect { addr, source } => {
            t!(catalog::CANNOT_CONNECT, *addr, io_error(source))
        }
        // What went wrong in the opening is chat/1's own detail, in English.
        Preflight::NotChat1 { addr, what } => t!(
            catalog::NOT_CHAT1,
            *addr,
            Text::from(what.as_str()),
            CONTRACT
        ),
    }
}

fn quoted(command: &str) -> String {
    format!("{command:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn a_failed_build_keeps_the_compilers_words_in_either_language() {
        let e = GradeError::DidNotBuild(BuildError::Failed {
            command: "gcc -o s s.c".into(),
            status: "exit status: 1".into(),
            output: "s.c:3: error: expected ';'".into(),
        });
        let pt = e.text().render(Lang::PtBr);
        assert!(pt.starts_with("o seu servidor não compilou"), "{pt}");
        assert!(pt.ends_with("s.c:3: error: expected ';'"), "{pt}");
        assert!(e.text().untranslated().is_empty());
    }

    #[test]
    fn the_english_text_says_what_the_error_says() {
        let e = GradeError::DidNotStart(SpawnError::NoListener {
            command: "python3 s.py".into(),
            seconds: 30,
            stderr: "OSError: [Errno 98] Address already in use".into(),
        });
        let en = e.text().to_string();
        assert!(en.starts_with("\"python3 s.py\" did not listen on any TCP port within 30 s; its stderr ended with:\nOSError"), "{en}");
        assert!(en.contains("Its port is already taken"), "{en}");
        let pt = e.text().render(Lang::PtBr);
        assert!(pt.contains("A porta dele já está ocupada"), "{pt}");
    }
}
