//! The variant axes of a scenario: base image, entrypoint form, server mode, stop signal.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which shell (if any) a base image provides as `/bin/sh`.
///
/// Bases are forged from host binaries because nothing can be pulled: see the `images` module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Base {
    /// Debian-like: `/bin/sh` is dash, which forks for `sh -c server` and stays PID 1.
    Dash,
    /// Fedora/UBI-like: `/bin/sh` is bash, which execs the last simple command.
    Bash,
    /// Alpine-like: `/bin/sh` is busybox ash, which execs the last simple command.
    Busybox,
    /// `FROM scratch`: no shell at all.
    None,
}

impl Base {
    /// Every base, in display order.
    pub const ALL: [Base; 4] = [Base::Dash, Base::Bash, Base::Busybox, Base::None];

    /// The name used in scenario files, image tags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Base::Dash => "dash",
            Base::Bash => "bash",
            Base::Busybox => "busybox",
            Base::None => "none",
        }
    }

    /// Whether the base has a `/bin/sh`.
    pub fn has_shell(self) -> bool {
        self != Base::None
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the Dockerfile starts the server: one file per variant in `Dockerfiles/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// `ENTRYPOINT server`: runs as `/bin/sh -c server`.
    ShellForm,
    /// `ENTRYPOINT ["server"]`: the server is PID 1.
    ExecForm,
    /// `ENTRYPOINT exec server`: shell form, but the shell replaces itself.
    ShellFormExec,
    /// `ENTRYPOINT ["/bin/sh", "-c", "server"]`: exec form that still goes through a shell.
    ExecFormSh,
    /// An entrypoint script that runs the server without `exec`.
    ScriptNoExec,
    /// An entrypoint script that ends with `exec "$@"`.
    ScriptExec,
    /// tini (tini-static from the host) as PID 1, forwarding signals to the server.
    Tini,
}

impl Variant {
    /// Every variant, in display order.
    pub const ALL: [Variant; 7] = [
        Variant::ShellForm,
        Variant::ExecForm,
        Variant::ShellFormExec,
        Variant::ExecFormSh,
        Variant::ScriptNoExec,
        Variant::ScriptExec,
        Variant::Tini,
    ];

    /// The name used in scenario files, image tags and reports; also the Dockerfile's stem.
    pub fn name(self) -> &'static str {
        match self {
            Variant::ShellForm => "shell-form",
            Variant::ExecForm => "exec-form",
            Variant::ShellFormExec => "shell-form-exec",
            Variant::ExecFormSh => "exec-form-sh",
            Variant::ScriptNoExec => "script-no-exec",
            Variant::ScriptExec => "script-exec",
            Variant::Tini => "tini",
        }
    }

    /// The Dockerfile's file name under `Dockerfiles/`.
    pub fn dockerfile(self) -> String {
        format!("{}.Dockerfile", self.name())
    }

    /// Whether the variant needs `/bin/sh` in the base image.
    pub fn needs_shell(self) -> bool {
        matches!(
            self,
            Variant::ShellForm
                | Variant::ShellFormExec
                | Variant::ExecFormSh
                | Variant::ScriptNoExec
                | Variant::ScriptExec
        )
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the server under test reacts to its shutdown signals (`graceful-server --mode`); the
/// one definition both sides share.
pub use server_contract::Mode as ServerMode;
/// A signal that stops the server: `docker stop`'s first signal, or the one a process is sent;
/// the one set both sides share.
pub use server_contract::StopSignal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scratch_has_no_shell() {
        assert!(!Base::None.has_shell());
        assert!(Variant::ExecFormSh.needs_shell());
        assert!(!Variant::ExecForm.needs_shell());
    }
}
