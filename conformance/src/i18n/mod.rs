//! The words a student reads, in English or Brazilian Portuguese.
//!
//! Everything the grader tells a student is a [`Text`]: a message of the [`catalog`] with its
//! arguments, or data that reads the same in every language (a name, a number, what a server
//! sent). A report is rendered in one [`Lang`] at the end, so cases, findings and the grader
//! build their texts once, as data, and never choose a language themselves.
//!
//! Every message in the catalog has both languages side by side, so a message cannot be added
//! without its translation; the catalog's tests check that each translation is there and takes
//! the same arguments. English that is not in the catalog yet ([`Text::English`], kept for the
//! chat/1 protocol's case details) is listed by [`Text::untranslated`], and the grader's tests
//! fail when a free-form report in Portuguese has any.

/// Defines a catalog's messages (English => Portuguese) and `ALL`, the list of them.
macro_rules! catalog {
    ($($(#[$doc:meta])* $name:ident: $en:literal => $pt:literal;)*) => {
        $($(#[$doc])* #[allow(missing_docs)] pub const $name: Msg = Msg { id: stringify!($name), en: $en, pt: $pt };)*
        /// Every message, for the catalog's tests.
        pub const ALL: &[Msg] = &[$($name),*];
    };
}

pub mod catalog;
pub mod client_catalog;

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A language reports can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English, the default.
    #[default]
    En,
    /// Brazilian Portuguese, the assignment's own language.
    PtBr,
}

/// A language name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: use en or pt-BR")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Lang, UnknownLang> {
        // Locale names as systems write them: pt_BR.UTF-8, pt-br, en_US.
        let base = s.split('.').next().unwrap_or("").replace('_', "-");
        match base.to_ascii_lowercase().as_str() {
            "en" | "en-us" | "en-gb" | "c" | "posix" => Ok(Lang::En),
            "pt" | "pt-br" => Ok(Lang::PtBr),
            _ => Err(UnknownLang(s.to_string())),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::En => "en",
            Lang::PtBr => "pt-BR",
        })
    }
}

/// One message of the catalog, in both languages, with numbered arguments `{0}`, `{1}`...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg {
    /// Its name in the catalog.
    pub id: &'static str,
    /// The English text.
    pub en: &'static str,
    /// The Brazilian Portuguese text.
    pub pt: &'static str,
}

impl Msg {
    /// Its text in `lang`, arguments unfilled.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::PtBr => self.pt,
        }
    }

    /// The message with its arguments.
    pub fn with(self, args: Vec<Text>) -> Text {
        Text::Msg(Box::new((self, args)))
    }

    /// The message, without arguments, as a text.
    pub fn text(self) -> Text {
        self.with(Vec::new())
    }
}

/// Something said to a student, rendered in a language only when a report is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// A catalog message and its arguments (boxed: a failure holds two texts, and results
    /// carry failures).
    Msg(Box<(Msg, Vec<Text>)>),
    /// Reads the same in every language: a name, a number, bytes a server sent, a command.
    Data(String),
    /// English that is not in the catalog (the chat/1 protocol's case details).
    English(String),
}

impl Text {
    /// Data that needs no translation.
    pub fn data(s: impl Into<String>) -> Text {
        Text::Data(s.into())
    }

    /// The text in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        match self {
            Text::Data(s) | Text::English(s) => s.clone(),
            Text::Msg(m) => fill(m.0.get(lang), &m.1, lang),
        }
    }

    /// The English pieces of it that have no translation.
    pub fn untranslated(&self) -> Vec<String> {
        match self {
            Text::Data(_) => Vec::new(),
            Text::English(s) => vec![s.clone()],
            Text::Msg(m) => m.1.iter().flat_map(Text::untranslated).collect(),
        }
    }

    /// Whether it is the catalog message `m` (whatever its arguments).
    pub fn is(&self, m: Msg) -> bool {
        matches!(self, Text::Msg(own) if own.0.id == m.id)
    }
}

/// Fills `{0}`, `{1}`... of `template` with `args` rendered in `lang`.
fn fill(template: &str, args: &[Text], lang: Lang) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((close, after[..close].parse::<usize>().ok()?)))
        {
            Some((close, n)) => {
                if let Some(a) = args.get(n) {
                    out.push_str(&a.render(lang));
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The argument numbers a template uses, sorted.
pub fn placeholders(template: &str) -> Vec<usize> {
    let mut found: Vec<usize> = template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}')?.0.parse().ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

/// In JSON a text is its English rendering; reports in another language render themselves.
impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.render(Lang::En))
    }
}

/// English from code that has no catalog message (see [`Text::English`]).
impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::English(s)
    }
}

/// English from code that has no catalog message (see [`Text::English`]).
impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::English(s.to_string())
    }
}

impl From<Msg> for Text {
    fn from(m: Msg) -> Text {
        m.text()
    }
}

/// What may fill a message's argument: texts as they are, anything else as data.
pub trait Arg {
    /// The argument as a text.
    fn arg(self) -> Text;
}

impl Arg for Text {
    fn arg(self) -> Text {
        self
    }
}

impl Arg for Msg {
    fn arg(self) -> Text {
        self.text()
    }
}

macro_rules! data_arg {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn arg(self) -> Text {
                Text::Data(self.to_string())
            }
        }
    )*};
}
data_arg!(
    String,
    &str,
    &String,
    usize,
    u64,
    u16,
    i32,
    std::net::SocketAddr,
    std::net::IpAddr
);

/// A catalog message with its arguments: `t!(catalog::NOTICE_JOINED, name, ip, port)`.
#[macro_export]
macro_rules! t {
    ($m:expr $(, $a:expr)* $(,)?) => {
        $crate::i18n::Msg::with($m, vec![$($crate::i18n::Arg::arg($a)),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: Msg = Msg {
        id: "HELLO",
        en: "{0} says hi to {1}",
        pt: "{1} recebe um oi de {0}",
    };

    #[test]
    fn arguments_fill_in_the_order_each_language_wants() {
        let t = t!(HELLO, "alice", "bob");
        assert_eq!(t.render(Lang::En), "alice says hi to bob");
        assert_eq!(t.render(Lang::PtBr), "bob recebe um oi de alice");
    }

    #[test]
    fn a_nested_message_is_rendered_in_the_same_language() {
        let t = t!(HELLO, t!(HELLO, "a", "b"), "c");
        assert_eq!(
            t.render(Lang::PtBr),
            "c recebe um oi de b recebe um oi de a"
        );
    }

    #[test]
    fn braces_that_are_not_arguments_stay() {
        assert_eq!(
            fill("{name} and {0}", &[Text::data("x")], Lang::En),
            "{name} and x"
        );
        assert_eq!(fill("{ {0", &[], Lang::En), "{ {0");
    }

    #[test]
    fn only_english_pieces_count_as_untranslated() {
        let t = t!(HELLO, Text::from("plain english"), "data");
        assert_eq!(t.untranslated(), ["plain english"]);
        assert!(t!(HELLO, "a", "b").untranslated().is_empty());
    }

    #[test]
    fn language_names_are_read_as_systems_write_them() {
        for s in ["pt-BR", "pt_BR.UTF-8", "pt", "PT-br"] {
            assert_eq!(s.parse::<Lang>(), Ok(Lang::PtBr), "{s}");
        }
        for s in ["en", "en_US.UTF-8", "C"] {
            assert_eq!(s.parse::<Lang>(), Ok(Lang::En), "{s}");
        }
        assert!("fr".parse::<Lang>().is_err());
    }

    #[test]
    fn placeholders_are_listed_once_each() {
        assert_eq!(placeholders("{1} {0} {1} {x}"), [0, 1]);
    }
}
