//! loadgen's folders are layered (see the crate's docs): each uses only the folders before it,
//! so there are no cycles between them. This reads the sources and fails on a use that goes
//! back up, naming the file and line.

use std::path::Path;

/// The folders, each allowed to use only those before it.
const LAYERS: [&str; 8] = [
    "plan",
    "flags",
    "recording",
    "engine",
    "summary",
    "judging",
    "output",
    "search",
];

fn rank(folder: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == folder)
}

/// The first segment of every `crate::` path on a line, a group's (`crate::{a::b, c}`) too.
fn used_folders(line: &str) -> Vec<String> {
    let word = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        let rest = &line[at + 7..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = group.split('}').next().unwrap_or("");
                found.extend(group.split(',').map(word));
            }
            None => found.push(word(rest)),
        }
    }
    found
}

#[test]
fn a_grouped_use_names_each_of_its_folders() {
    assert_eq!(
        used_folders("use crate::{engine::run, summary::report::Summary};"),
        ["engine", "summary"]
    );
}

#[test]
fn every_folder_uses_only_the_folders_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    let mut files = 0;
    for folder in LAYERS {
        let own = rank(folder).unwrap();
        let dir = src.join(folder);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                // Comments may mention any part; only code depends on one.
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for used in used_folders(line) {
                    if rank(&used).is_some_and(|r| r > own) {
                        wrong.push(format!(
                            "{}:{}: {folder} uses {used}: {}",
                            path.strip_prefix(&src).unwrap().display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        files > 40,
        "read only {files} files: is the layout still {LAYERS:?}?"
    );
    assert!(
        wrong.is_empty(),
        "uses that go back up:\n{}",
        wrong.join("\n")
    );
}
