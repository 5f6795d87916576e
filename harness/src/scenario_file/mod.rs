//! Scenario files: declarative TOML that parses into [`Scenario`]s, with errors that say
//! `path:line:column`, the offending key or value, and what to write instead.
//!
//! A file has an optional `[defaults]` table, any number of `[[scenario]]` entries and any
//! number of `[[matrix]]` entries (with their `[[matrix.rule]]`s). Settings (`target`,
//! `runtime`, `base`, `variant`, `init`, `mode`, `delay`, `signals`, `drain-timeout`, `stop-signal`,
//! `stop-timeout`, `stop-at`, `requests`) may be given in `[defaults]` and overridden in each
//! scenario or matrix; in a matrix a list makes an axis. See `scenarios/matrix.toml` for a
//! commented example and the README for the reference.
//!
//! Nothing is half-loaded: [`read`] reads every file, collects every error of every file, and
//! returns either all the scenarios or all the errors.

mod canon;
mod diagnostics;
mod doc;
mod expect_table;
mod file;
mod load_table;
pub mod matrix;
mod matrix_table;
mod request_table;
mod resolve;
mod rollout_table;
mod scenario_table;
mod settings;
mod values;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::model::scenario::Scenario;
use crate::option_name::OptionName;

use diagnostics::{display_path, position};
use file::{FileCx, Produced};

pub use diagnostics::Diagnostic;

/// Scenario files that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioFileError {
    /// The files have problems: every one of them, located.
    #[error("{}", diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// One per problem, in file order.
        diagnostics: Vec<Diagnostic>,
    },
    /// A file or directory could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The filter's glob is malformed.
    #[error("{}", self.message_with(&OptionName::words))]
    BadFilter {
        /// The glob.
        glob: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ScenarioFileError {
    /// The message, with the option it asks to change spelled by `spell` (see
    /// [`Error::message_with`](crate::Error::message_with)).
    pub fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String {
        match self {
            ScenarioFileError::BadFilter { glob, reason } => {
                format!("{}: bad glob `{glob}`: {reason}", spell(OptionName::Filter))
            }
            other => other.to_string(),
        }
    }
}

/// Loads scenario files: each path is a file or a directory (all its `*.toml`). Scenarios come
/// in the order of the sorted file paths, then in file order, matrix cells in axis order.
///
/// Every error of every file is collected: the result is all the scenarios or
/// [`ScenarioFileError::Invalid`] with one `path:line:column: message` diagnostic per problem.
/// `workspace` is the root holding `Dockerfiles/`; paths under it are shown relative to it.
pub fn read(workspace: &Path, paths: &[PathBuf]) -> Result<Vec<Scenario>, ScenarioFileError> {
    let mut lines = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| ScenarioFileError::Read {
                path: path.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
                .collect();
            if found.is_empty() {
                lines.push(Diagnostic::file(
                    &display_path(workspace, path),
                    "no *.toml scenario files in this directory",
                ));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();

    let mut produced = Vec::new();
    let mut read_failure = None;
    for path in &files {
        let display = display_path(workspace, path);
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(source) => {
                lines.push(Diagnostic::file(
                    &display,
                    format!("cannot read this scenario file: {source}"),
                ));
                read_failure.get_or_insert((path.clone(), source));
                continue;
            }
        };
        let mut file = FileCx::new(workspace, display, &text);
        let scenarios = file.parse();
        lines.extend(file.finish());
        produced.push((path.clone(), text.clone(), scenarios));
    }
    lines.extend(duplicates(workspace, &produced));

    if lines.len() == 1
        && let Some((path, source)) = read_failure
    {
        return Err(ScenarioFileError::Read { path, source });
    }
    all_or_errors(lines, produced)
}

/// Parses one scenario file's text (`path` is used in messages and made relative to
/// `workspace` when it is under it). Errors are collected as by [`read`].
pub fn parse(
    workspace: &Path,
    path: &Path,
    text: &str,
) -> Result<Vec<Scenario>, ScenarioFileError> {
    let display = display_path(workspace, path);
    let mut file = FileCx::new(workspace, display, text);
    let scenarios = file.parse();
    let mut lines = file.finish();
    let produced = vec![(path.to_path_buf(), text.to_string(), scenarios)];
    lines.extend(duplicates(workspace, &produced));
    all_or_errors(lines, produced)
}

/// Every file's scenarios, or every error line when there is any.
fn all_or_errors(
    diagnostics: Vec<Diagnostic>,
    produced: Vec<(PathBuf, String, Vec<Produced>)>,
) -> Result<Vec<Scenario>, ScenarioFileError> {
    if !diagnostics.is_empty() {
        return Err(ScenarioFileError::Invalid { diagnostics });
    }
    Ok(produced
        .into_iter()
        .flat_map(|(_, _, scenarios)| scenarios.into_iter().map(|p| p.scenario))
        .collect())
}

/// Scenario names must be unique across every file loaded.
fn duplicates(workspace: &Path, produced: &[(PathBuf, String, Vec<Produced>)]) -> Vec<Diagnostic> {
    let mut first: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut lines = Vec::new();
    for (file_index, (path, text, scenarios)) in produced.iter().enumerate() {
        for p in scenarios {
            let name = p.scenario.name.as_str();
            match first.get(name) {
                None => {
                    first.insert(name, (file_index, p.at));
                }
                Some(&(f, at)) => {
                    if f == file_index && at == p.at && p.matrix {
                        continue; // reported by the matrix
                    }
                    let (first_path, first_text, _) = &produced[f];
                    lines.push(Diagnostic::at(
                        &display_path(workspace, path),
                        text,
                        p.at,
                        format!(
                            "duplicate scenario name `{name}` (first defined at {})",
                            position(&display_path(workspace, first_path), first_text, at)
                        ),
                    ));
                }
            }
        }
    }
    lines
}

/// The scenarios whose names match `glob`, in order (globset syntax; `*` matches `/` too, so
/// `dash/*` selects every dash scenario). A malformed glob is an error.
pub fn filter(scenarios: Vec<Scenario>, glob: &str) -> Result<Vec<Scenario>, ScenarioFileError> {
    let matcher = globset::Glob::new(glob)
        .map_err(|e| ScenarioFileError::BadFilter {
            glob: glob.to_string(),
            reason: e.to_string(),
        })?
        .compile_matcher();
    Ok(scenarios
        .into_iter()
        .filter(|s| matcher.is_match(&s.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_globs_match_across_slashes() {
        let named = |name: &str| Scenario {
            name: name.to_string(),
            ..crate::reproduce::scenarios(crate::reproduce::Timings::fast())[0].clone()
        };
        let names = |glob: &str| -> Vec<String> {
            let all = [
                "dash/shell-form/graceful",
                "bash/exec-form/abrupt",
                "bash/exec-form-sh/abrupt",
                "blog/exec-form",
            ];
            filter(all.iter().map(|n| named(n)).collect(), glob)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(names("dash/*"), ["dash/shell-form/graceful"]);
        assert_eq!(names("*/exec-form/*"), ["bash/exec-form/abrupt"]);
        assert_eq!(names("blog/?xec-form"), ["blog/exec-form"]);
        assert!(names("dash").is_empty());
    }
}
