//! Where scenarios come from: the files built into the binary, and `--scenarios DIR`.

use super::schema::{Scenario, ScenarioError};
use crate::case::Case;

/// The cases built into the binary (every file in `conformance/scenarios/`).
pub fn builtin() -> Result<Vec<Case>, ScenarioError> {
    include!(concat!(env!("OUT_DIR"), "/scenarios.rs"))
        .iter()
        .map(|(file, text)| Scenario::parse(file, text))
        .collect()
}

/// Loads every `*.toml` file in a directory as a case.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<Case>, ScenarioError> {
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
}
