//! A small Dockerfile reader: instructions with their line, continuations joined, comments dropped.
//!
//! Enough to tell how a Dockerfile starts its process (ENTRYPOINT, CMD, SHELL, STOPSIGNAL, COPY);
//! not a full parser: `ARG`/`ENV` substitution, heredocs and the `# escape=` directive are not
//! interpreted (the escape character is always `\`).

use serde::Serialize;

/// One instruction, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// The 1-based line the instruction starts on.
    pub line: usize,
    /// The keyword in upper case (`ENTRYPOINT`): instructions are case-insensitive.
    pub keyword: String,
    /// The arguments after the keyword, continuation lines joined.
    pub args: String,
    /// The arguments as a JSON array of strings when they are one (exec form); Docker reads
    /// anything else as shell form.
    pub json: Option<Vec<String>>,
}

impl Instruction {
    /// The instruction's arguments as words: the JSON array, or the shell form split on spaces
    /// (quotes are not interpreted; enough to find a program's name).
    pub fn words(&self) -> Vec<String> {
        match &self.json {
            Some(words) => words.clone(),
            None => self.args.split_whitespace().map(str::to_string).collect(),
        }
    }
}

/// Reads the instructions of a Dockerfile's text.
///
/// A line ending in `\` continues on the next; comment lines (`#` first) and blank lines inside
/// a continuation are skipped, as Docker does.
pub fn parse(text: &str) -> Vec<Instruction> {
    let mut instructions = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_some()) {
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (trimmed, false),
        };
        let (start, mut joined) = pending.take().unwrap_or((line_no, String::new()));
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(body);
        if continues {
            pending = Some((start, joined));
        } else {
            instructions.extend(instruction(start, &joined));
        }
    }
    if let Some((start, joined)) = pending {
        instructions.extend(instruction(start, &joined));
    }
    instructions
}

fn instruction(line: usize, text: &str) -> Option<Instruction> {
    let text = text.trim();
    let (keyword, args) = match text.split_once(char::is_whitespace) {
        Some((keyword, args)) => (keyword, args.trim()),
        None => (text, ""),
    };
    if keyword.is_empty() {
        return None;
    }
    let json = if args.starts_with('[') {
        serde_json::from_str::<Vec<String>>(args).ok()
    } else {
        None
    };
    Some(Instruction {
        line,
        keyword: keyword.to_ascii_uppercase(),
        args: args.to_string(),
        json,
    })
}

/// The last instruction with `keyword` (upper case): for ENTRYPOINT, CMD, STOPSIGNAL and SHELL the
/// last one wins.
pub fn last<'a>(instructions: &'a [Instruction], keyword: &str) -> Option<&'a Instruction> {
    instructions.iter().rev().find(|i| i.keyword == keyword)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_continuations_and_skips_comments() {
        let text = "# comment\nFROM scratch\nentrypoint [\"a\", \\\n# inside\n  \"b\"]\n\nCMD server \\\n  --flag\n";
        let parsed = parse(text);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].keyword, "ENTRYPOINT");
        assert_eq!(parsed[1].line, 3);
        assert_eq!(parsed[1].json, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(parsed[2].args, "server --flag");
        assert!(parsed[2].json.is_none());
        assert_eq!(parsed[2].line, 7);
    }

    #[test]
    fn a_broken_json_array_is_shell_form() {
        // Docker runs `['server']` (single quotes) through /bin/sh -c, literally.
        let parsed = parse("ENTRYPOINT ['server']\n");
        assert!(parsed[0].json.is_none());
    }

    #[test]
    fn the_last_one_wins() {
        let parsed = parse("CMD a\nCMD [\"b\"]\n");
        assert_eq!(last(&parsed, "CMD").map(|i| i.line), Some(2));
    }
}
