//! Diagnostics: `path:line:column` places, toml messages with "did you mean", duplicate names.

use std::fmt;
use std::path::Path;

/// One problem in a scenario file, located where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, relative to the workspace when it is under it.
    pub file: String,
    /// The 1-based line and column (in characters), when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl Diagnostic {
    /// A problem at byte `offset` of `text`, the content of `file`.
    pub(super) fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            position: Some(line_column(text, offset)),
            message: message.into(),
        }
    }

    /// A problem with the file as a whole.
    pub(super) fn file(file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            position: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `path:line:column: message`, or `path: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// `path` relative to `workspace` when it is under it, as given otherwise.
pub(super) fn display_path(workspace: &Path, path: &Path) -> String {
    path.strip_prefix(workspace)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The line and column of a byte offset (both 1-based, the column in characters).
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

/// `path:line:column` of a byte offset.
pub(super) fn position(display: &str, text: &str, offset: usize) -> String {
    let (line, column) = line_column(text, offset);
    format!("{display}:{line}:{column}")
}

/// Rewrites toml's messages into the file's vocabulary (keys, not fields) on one line.
pub(super) fn toml_message(message: &str) -> String {
    let message = message.trim().replace('\n', " ");
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message;
    };
    let Some((key, rest)) = rest.split_once('`') else {
        return message;
    };
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let context = unknown_key_context(&expected);
    let suggestion = expected
        .iter()
        .map(|e| (strsim::levenshtein(key, e), *e))
        .filter(|(d, e)| *d <= 2.max(e.len() / 4))
        .min()
        .map(|(_, e)| format!(": did you mean `{e}`?"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}` in {context}{suggestion} (expected one of: {})",
        expected.join(", ")
    )
}

/// Which table a list of allowed keys belongs to.
pub(super) fn unknown_key_context(expected: &[&str]) -> &'static str {
    let has = |key: &str| expected.contains(&key);
    if has("scenario") {
        "the top level (tables: [defaults], [[scenario]], [[matrix]])"
    } else if has("when") {
        "[[matrix.rule]]"
    } else if has("exclude") {
        "[[matrix]]"
    } else if has("name") && has("expect") {
        "[[scenario]]"
    } else if has("requests") && has("target") {
        "[defaults]"
    } else if has("target") {
        "a `when` or `exclude` table"
    } else if has("at") {
        "a request"
    } else if has("duration") && has("client") {
        "`load`"
    } else if has("rate") {
        "`download`"
    } else if has("exit-code") {
        "`expect`"
    } else {
        "this table"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let text = "a\n  é = 1\n";
        assert_eq!(position("f", text, 0), "f:1:1");
        assert_eq!(position("f", text, 2), "f:2:1");
        assert_eq!(position("f", text, 7), "f:2:5");
    }

    #[test]
    fn unknown_field_messages_name_the_table_and_suggest() {
        assert_eq!(
            toml_message(
                "unknown field `stop-timout`, expected one of `name`, `expect`, `target`, `stop-timeout`"
            ),
            "unknown key `stop-timout` in [[scenario]]: did you mean `stop-timeout`? (expected one of: name, expect, target, stop-timeout)"
        );
    }
}
