//! Expected lines with `*` wildcards: `ERR name-taken *` matches any reason text.

/// Whether `text` matches `pattern`, where `*` matches any run of characters (even none) and
/// everything else matches itself.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic greedy matcher with backtracking to the last star: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_text_must_match_exactly() {
        assert!(matches("MSG a hi", "MSG a hi"));
        assert!(!matches("MSG a hi", "MSG a hi!"));
        assert!(!matches("MSG a hi", "MSG a h"));
    }

    #[test]
    fn star_matches_any_run_including_empty() {
        assert!(matches(
            "ERR name-taken *",
            "ERR name-taken the name is in use"
        ));
        assert!(matches("ERR name-taken *", "ERR name-taken "));
        assert!(!matches("ERR name-taken *", "ERR name-taken"));
        assert!(matches("USERS * bob*", "USERS alice bob carol"));
        assert!(matches("*", ""));
    }

    #[test]
    fn star_backtracks() {
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
    }
}
