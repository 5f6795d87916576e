//! What a Dockerfile alone says about how its container starts and stops, with file:line
//! findings, including what hadolint's DL3025 would say.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::dockerfile::{self, Instruction};
use crate::error::{Error, Result};

/// The rule hadolint applies to ENTRYPOINT and CMD: it warns on shell form, and on nothing else.
pub const DL3025: &str = "DL3025";
/// DL3025's own message.
const DL3025_MESSAGE: &str = "Use arguments JSON notation for CMD and ENTRYPOINT arguments";

/// How an ENTRYPOINT or CMD is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// `ENTRYPOINT server`: Docker runs it as `/bin/sh -c "server"` (or the `SHELL`).
    Shell,
    /// `ENTRYPOINT ["server"]`: Docker execs the array as given (JSON notation).
    Exec,
}

/// The last ENTRYPOINT or CMD of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandFacts {
    /// Its line.
    pub line: usize,
    /// Shell or exec form.
    pub form: Form,
    /// The arguments as written (the JSON array, or the shell-form text as one string).
    pub args: Vec<String>,
    /// When it runs through a shell (shell form, or an exec-form `["/bin/sh", "-c", ...]`): the
    /// script the shell is given.
    pub shell_script: Option<String>,
}

/// An entrypoint script found in the build context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptFacts {
    /// The script's path in the image.
    pub image_path: String,
    /// The line of the COPY/ADD that put it there.
    pub copied_at: usize,
    /// The script on the host (build context = the Dockerfile's directory).
    pub host_path: PathBuf,
    /// Its last command and that command's line, if the script could be read.
    pub last_command: Option<(usize, String)>,
    /// Whether the last command starts with `exec` (the server then replaces the shell).
    pub ends_with_exec: Option<bool>,
}

/// One finding, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file (the Dockerfile or a script).
    pub file: PathBuf,
    /// The 1-based line.
    pub line: usize,
    /// The hadolint rule that would report it (`DL3025`), if any does.
    pub rule: Option<String>,
    /// What it means.
    pub message: String,
}

impl Finding {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// What a Dockerfile says about PID 1 and the stop signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerfileFacts {
    /// The Dockerfile read.
    pub path: PathBuf,
    /// The last ENTRYPOINT.
    pub entrypoint: Option<CommandFacts>,
    /// The last CMD.
    pub cmd: Option<CommandFacts>,
    /// The last STOPSIGNAL and its line.
    pub stop_signal: Option<(usize, String)>,
    /// The entrypoint script, when the command runs one copied from the build context.
    pub script: Option<ScriptFacts>,
    /// Every finding, in line order of the Dockerfile.
    pub findings: Vec<Finding>,
}

impl DockerfileFacts {
    /// Whether hadolint's DL3025 would warn on this Dockerfile.
    pub fn dl3025_warns(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.rule.as_deref() == Some(DL3025))
    }
}

/// Reads the Dockerfile at `path` (and an entrypoint script it copies from its directory); needs
/// no engine.
pub fn explain_dockerfile(path: &Path) -> Result<DockerfileFacts> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(facts_of(path, &text))
}

/// The facts of a Dockerfile's `text`, read from `path` (scripts are looked up next to it).
pub fn facts_of(path: &Path, text: &str) -> DockerfileFacts {
    let instructions = dockerfile::parse(text);
    let shell = dockerfile::last(&instructions, "SHELL")
        .and_then(|i| i.json.clone())
        .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()]);
    let entrypoint =
        dockerfile::last(&instructions, "ENTRYPOINT").map(|i| command_facts(i, &shell));
    let cmd = dockerfile::last(&instructions, "CMD").map(|i| command_facts(i, &shell));
    let stop_signal =
        dockerfile::last(&instructions, "STOPSIGNAL").map(|i| (i.line, i.args.clone()));
    let mut findings = Findings {
        path,
        found: Vec::new(),
    };
    for (keyword, command) in [("ENTRYPOINT", &entrypoint), ("CMD", &cmd)] {
        if let Some(command) = command {
            findings.command_form(keyword, command, &shell);
        }
    }
    if let (Some(ep), Some(cmd)) = (&entrypoint, &cmd) {
        findings.ignored_cmd(ep, cmd);
    }
    let script = find_script(path, &instructions, entrypoint.as_ref().or(cmd.as_ref()));
    if let Some(script) = &script {
        findings.script_end(script);
    }
    findings.stop_signal(stop_signal.as_ref(), entrypoint.as_ref().or(cmd.as_ref()));
    let mut findings = findings.found;
    findings.sort_by_key(|f| (f.file != path, f.line));
    DockerfileFacts {
        path: path.to_path_buf(),
        entrypoint,
        cmd,
        stop_signal,
        script,
        findings,
    }
}

/// The findings of one Dockerfile at `path`, as they are found (sorted by line at the end).
struct Findings<'a> {
    path: &'a Path,
    found: Vec<Finding>,
}

impl Findings<'_> {
    /// A finding at `line` of the Dockerfile.
    fn at(&mut self, line: usize, rule: Option<&str>, message: String) {
        self.found.push(Finding {
            file: self.path.to_path_buf(),
            line,
            rule: rule.map(str::to_string),
            message,
        });
    }

    /// What the form of `command` (the ENTRYPOINT or CMD, `keyword`) means for PID 1: a shell
    /// form is DL3025's; an exec form that runs a shell is the same trap DL3025 misses.
    fn command_form(&mut self, keyword: &str, command: &CommandFacts, shell: &[String]) {
        let script = command.shell_script.as_deref().unwrap_or_default();
        let execs = starts_with_exec(script);
        match command.form {
            Form::Shell => {
                let consequence = if execs {
                    "it starts with `exec`, so the shell replaces itself with the command on any shell: fine".to_string()
                } else {
                    format!(
                        "Docker runs `{} '{script}'`: on dash (Debian, Ubuntu) the shell stays PID 1 and drops SIGTERM; \
                         bash (Fedora, UBI) and busybox (Alpine) exec the last command, so there the server is PID 1",
                        shell.join(" ")
                    )
                };
                self.at(
                    command.line,
                    Some(DL3025),
                    format!(
                        "{keyword} is in shell form; hadolint DL3025 warns (\"{DL3025_MESSAGE}\"): {consequence}"
                    ),
                );
            }
            Form::Exec if command.shell_script.is_some() => {
                let consequence = if execs {
                    "the script starts with `exec`, so the shell replaces itself: fine".to_string()
                } else {
                    format!(
                        "on dash the shell stays PID 1 and drops SIGTERM; use `[\"{}\"]`, or `exec {script}` inside",
                        script.split_whitespace().collect::<Vec<_>>().join("\", \"")
                    )
                };
                self.at(
                    command.line,
                    None,
                    format!(
                        "{keyword} is exec form (hadolint DL3025 is silent) but goes through {}: {consequence}",
                        command.args[0]
                    ),
                );
            }
            Form::Exec => {}
        }
    }

    /// A CMD beside a shell-form ENTRYPOINT (`ep`) is never run.
    fn ignored_cmd(&mut self, ep: &CommandFacts, cmd: &CommandFacts) {
        if ep.form == Form::Shell {
            self.at(
                cmd.line,
                None,
                format!(
                    "CMD is ignored: a shell-form ENTRYPOINT (line {}) takes no arguments from CMD",
                    ep.line
                ),
            );
        }
    }

    /// How the entrypoint script ends, found in the script itself (or, unread, at its COPY).
    fn script_end(&mut self, script: &ScriptFacts) {
        let from = script.host_path.display();
        match (&script.last_command, script.ends_with_exec) {
            (Some((line, last)), Some(false)) => self.found.push(Finding {
                file: script.host_path.clone(),
                line: *line,
                rule: None,
                message: format!(
                    "the entrypoint script {} (COPY at {}:{}) ends with `{last}` without `exec`: its shell stays PID 1 \
                     and SIGTERM never reaches the server (hadolint does not read scripts); end it with `exec \"$@\"`",
                    script.image_path,
                    self.path.display(),
                    script.copied_at
                ),
            }),
            (Some((line, last)), _) => self.found.push(Finding {
                file: script.host_path.clone(),
                line: *line,
                rule: None,
                message: format!(
                    "the entrypoint script {} ends with `{last}`: the command replaces the shell as PID 1",
                    script.image_path
                ),
            }),
            (None, _) => self.at(
                script.copied_at,
                None,
                format!(
                    "the entrypoint script {} is copied from {from}, which could not be read: cannot tell whether it ends with `exec`",
                    script.image_path
                ),
            ),
        }
    }

    /// What `docker stop` sends: the STOPSIGNAL, or else SIGTERM (said at the `command`).
    fn stop_signal(
        &mut self,
        stop_signal: Option<&(usize, String)>,
        command: Option<&CommandFacts>,
    ) {
        match stop_signal {
            Some((line, signal)) => self.at(
                *line,
                None,
                format!("STOPSIGNAL {signal}: docker stop sends {signal}; the server must shut down gracefully on it"),
            ),
            None => {
                if let Some(command) = command {
                    self.at(
                        command.line,
                        None,
                        "no STOPSIGNAL: docker stop sends SIGTERM, then SIGKILL after the stop timeout (10 s unless set)"
                            .to_string(),
                    );
                }
            }
        }
    }
}

fn command_facts(instruction: &Instruction, shell: &[String]) -> CommandFacts {
    match &instruction.json {
        Some(args) => CommandFacts {
            line: instruction.line,
            form: Form::Exec,
            args: args.clone(),
            shell_script: super::predict::shell_script(args),
        },
        None => CommandFacts {
            line: instruction.line,
            form: Form::Shell,
            args: shell
                .iter()
                .cloned()
                .chain([instruction.args.clone()])
                .collect(),
            shell_script: Some(instruction.args.clone()),
        },
    }
}

fn starts_with_exec(script: &str) -> bool {
    script.split_whitespace().next() == Some("exec")
}

/// The script the command runs, when a COPY/ADD put it there from the build context: the
/// program itself (`["/entrypoint.sh"]`) or a shell's first argument (`["sh", "/entrypoint.sh"]`).
fn find_script(
    dockerfile: &Path,
    instructions: &[Instruction],
    command: Option<&CommandFacts>,
) -> Option<ScriptFacts> {
    let command = command?;
    let words: Vec<String> = match command.form {
        Form::Exec => command.args.clone(),
        Form::Shell => command
            .shell_script
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .filter(|w| *w != "exec")
            .map(str::to_string)
            .collect(),
    };
    let copies = copied_files(instructions);
    let candidates = words.iter().take(2);
    let (image_path, (line, source)) = candidates.into_iter().find_map(|word| {
        copies
            .iter()
            .rev()
            .find(|(dest, _)| {
                dest == word || (!word.contains('/') && dest.rsplit('/').next() == Some(word))
            })
            .map(|(dest, from)| (dest.clone(), from.clone()))
    })?;
    let context = dockerfile.parent().unwrap_or_else(|| Path::new("."));
    let host_path = context.join(&source);
    let text = std::fs::read_to_string(&host_path).ok();
    // Only a text file is a script; the server binary is copied too.
    if let Some(text) = &text {
        if !text.starts_with("#!") && !source.ends_with(".sh") {
            return None;
        }
    } else if !source.ends_with(".sh") {
        return None;
    }
    let last_command = text.as_deref().and_then(last_command);
    Some(ScriptFacts {
        image_path,
        copied_at: line,
        host_path,
        ends_with_exec: last_command.as_ref().map(|(_, c)| starts_with_exec(c)),
        last_command,
    })
}

/// Every file a COPY/ADD (not `--from` another stage) puts in the image: (destination, (line, source)).
fn copied_files(instructions: &[Instruction]) -> Vec<(String, (usize, String))> {
    let mut copies = Vec::new();
    for i in instructions
        .iter()
        .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
    {
        let words = i.words();
        if words.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        let words: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
        let Some((dest, sources)) = words.split_last() else {
            continue;
        };
        for source in sources {
            let into_dir = dest.ends_with('/') || sources.len() > 1;
            let dest = if into_dir {
                let name = source.rsplit('/').next().unwrap_or(source);
                format!("{}/{name}", dest.trim_end_matches('/'))
            } else {
                dest.to_string()
            };
            copies.push((dest, (i.line, source.to_string())));
        }
    }
    copies
}

/// The last command of a shell script and its line: its last line that is not blank or a comment.
fn last_command(text: &str) -> Option<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .into_iter()
        .enumerate()
        .rev()
        .map(|(i, line)| (i + 1, line.trim()))
        .find(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(line, text)| (line, text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_form_is_dl3025() {
        let facts = facts_of(Path::new("Dockerfile"), "FROM scratch\nENTRYPOINT server\n");
        assert!(facts.dl3025_warns());
        assert_eq!(facts.findings[0].line, 2);
        assert_eq!(
            facts.entrypoint.unwrap().shell_script.as_deref(),
            Some("server")
        );
    }

    #[test]
    fn exec_form_sh_is_not_dl3025_but_goes_through_a_shell() {
        let facts = facts_of(
            Path::new("Dockerfile"),
            "FROM scratch\nENTRYPOINT [\"/bin/sh\", \"-c\", \"server\"]\n",
        );
        assert!(!facts.dl3025_warns());
        assert!(facts.findings[0].message.contains("goes through /bin/sh"));
    }

    #[test]
    fn copies_map_destinations_to_sources() {
        let parsed = dockerfile::parse("COPY a.sh /usr/local/bin/entrypoint.sh\nCOPY b c /opt/\n");
        let copies = copied_files(&parsed);
        assert_eq!(copies[0].0, "/usr/local/bin/entrypoint.sh");
        assert_eq!(copies[2], ("/opt/c".to_string(), (2, "c".to_string())));
    }

    #[test]
    fn last_command_skips_comments_and_blanks() {
        assert_eq!(
            last_command("#!/bin/sh\nset -e\nexec \"$@\"\n# done\n\n"),
            Some((3, "exec \"$@\"".to_string()))
        );
    }
}
