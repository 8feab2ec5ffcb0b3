//! The input line: editing, history, and `@name` completion.

/// An editable line with a history of what was sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InputLine {
    chars: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// Position while browsing history (`history.len()` means the line being typed).
    browsing: Option<usize>,
    draft: String,
}

impl InputLine {
    /// The current text.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// The cursor position in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Inserts a character at the cursor.
    pub fn insert(&mut self, c: char) {
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
    }

    /// Moves the cursor left.
    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    /// Moves the cursor right.
    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.chars.len());
    }

    /// Moves the cursor to the start.
    pub fn home(&mut self) {
        self.cursor = 0;
    }

    /// Moves the cursor to the end.
    pub fn end(&mut self) {
        self.cursor = self.chars.len();
    }

    fn set(&mut self, text: &str) {
        self.chars = text.chars().collect();
        self.cursor = self.chars.len();
    }

    /// Takes the line for sending, remembering it in the history.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if !text.is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.chars.clear();
        self.cursor = 0;
        self.browsing = None;
        text
    }

    /// Shows the previous history entry.
    pub fn history_up(&mut self) {
        let at = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.text();
                self.history.len() - 1
            }
            Some(0) => 0,
            Some(i) => i - 1,
        };
        self.browsing = Some(at);
        let entry = self.history[at].clone();
        self.set(&entry);
    }

    /// Shows the next history entry, or the draft after the last one.
    pub fn history_down(&mut self) {
        match self.browsing {
            None => {}
            Some(i) if i + 1 < self.history.len() => {
                self.browsing = Some(i + 1);
                let entry = self.history[i + 1].clone();
                self.set(&entry);
            }
            Some(_) => {
                self.browsing = None;
                let draft = std::mem::take(&mut self.draft);
                self.set(&draft);
            }
        }
    }

    /// Completes a `@prefix` ending at the cursor from `names` (case-insensitively) when exactly
    /// one name fits, or to the longest common prefix when several do.
    pub fn complete(&mut self, names: &[String]) {
        let before: String = self.chars[..self.cursor].iter().collect();
        let Some(at) = before.rfind('@') else { return };
        let prefix = &before[at + 1..];
        if prefix.contains(' ') || (at > 0 && !before[..at].ends_with(' ')) {
            return;
        }
        let lower = prefix.to_lowercase();
        let fits: Vec<&String> = names
            .iter()
            .filter(|n| n.to_lowercase().starts_with(&lower))
            .collect();
        let completion = match fits.as_slice() {
            [] => return,
            [one] => format!("{one} "),
            many => common_prefix(many),
        };
        if completion.chars().count() < prefix.chars().count() {
            return;
        }
        let start = before[..at + 1].chars().count();
        self.chars.splice(start..self.cursor, completion.chars());
        self.cursor = start + completion.chars().count();
    }
}

fn common_prefix(names: &[&String]) -> String {
    let first: Vec<char> = names[0].chars().collect();
    let mut len = first.len();
    for n in &names[1..] {
        len = len.min(
            first
                .iter()
                .zip(n.chars())
                .take_while(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
                .count(),
        );
    }
    first[..len].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> InputLine {
        let mut i = InputLine::default();
        for c in text.chars() {
            i.insert(c);
        }
        i
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn editing_moves_the_cursor() {
        let mut i = typed("helo");
        i.left();
        i.insert('l');
        assert_eq!(i.text(), "hello");
        i.home();
        i.delete();
        assert_eq!(i.text(), "ello");
        i.end();
        i.backspace();
        assert_eq!(i.text(), "ell");
    }

    #[test]
    fn history_walks_back_and_returns_to_the_draft() {
        let mut i = InputLine::default();
        for line in ["one", "two"] {
            for c in line.chars() {
                i.insert(c);
            }
            i.take();
        }
        i.insert('x');
        i.history_up();
        assert_eq!(i.text(), "two");
        i.history_up();
        assert_eq!(i.text(), "one");
        i.history_up();
        assert_eq!(i.text(), "one");
        i.history_down();
        assert_eq!(i.text(), "two");
        i.history_down();
        assert_eq!(i.text(), "x");
    }

    #[test]
    fn tab_completes_a_unique_name_ignoring_case() {
        let mut i = typed("hi @na");
        i.complete(&names(&["alice", "Nadia", "bob"]));
        assert_eq!(i.text(), "hi @Nadia ");
    }

    #[test]
    fn tab_completes_the_common_prefix_of_several() {
        let mut i = typed("@al");
        i.complete(&names(&["alice", "alfred", "bob"]));
        assert_eq!(i.text(), "@al");
        let mut i = typed("@a");
        i.complete(&names(&["alice", "alicia"]));
        assert_eq!(i.text(), "@alic");
    }

    #[test]
    fn tab_ignores_at_signs_inside_words() {
        let mut i = typed("mail me@al");
        i.complete(&names(&["alice"]));
        assert_eq!(i.text(), "mail me@al");
    }
}
