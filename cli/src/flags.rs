//! The library's options spelled as this command's flags, so that an error the command prints
//! names the flag to change (the library names options in its own words).

use shutdown_harness::{Error, OptionName};

/// The flag that sets `option`.
pub fn flag(option: OptionName) -> &'static str {
    match option {
        OptionName::Path => "--path",
        OptionName::ReadyPath => "--ready-path",
        OptionName::Protocol => "--protocol",
        OptionName::Port => "--port",
        OptionName::Requests => "--requests",
        OptionName::StopTimeout => "--stop-timeout",
        OptionName::Signal => "--signal",
        OptionName::StopAfter => "--stop-after",
        OptionName::AfterStop => "--after-stop",
        OptionName::StartupTimeout => "--startup-timeout",
        OptionName::LoadRate => "--load",
        OptionName::LoadPath => "--load-path",
        OptionName::LoadDuration => "--load-duration",
        OptionName::Vantage => "--vantage",
        OptionName::LoadClient => "--load-client",
        OptionName::LoadConnections => "--load-connections",
        OptionName::Rollout => "--rollout",
        OptionName::Replicas => "--replicas",
        OptionName::MaxLost => "--max-lost",
        OptionName::MaxCut => "--max-cut",
        OptionName::MaxP99 => "--max-p99",
        OptionName::Workspace => "--workspace",
        OptionName::Filter => "--filter",
        OptionName::Engine => "--engine",
    }
}

/// `option` as [`flag`] spells it, in the form [`Error::message_with`] takes.
pub fn spell(option: OptionName) -> String {
    flag(option).to_string()
}

/// `error`'s message as the command prints it: each option it names is its flag.
pub fn message(error: &Error) -> String {
    error.message_with(&spell)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use shutdown_harness::{CheckOptions, ScenarioError};

    use super::*;
    use crate::args::Cli;

    /// Every flag named is one the command has, in a subcommand or globally.
    #[test]
    fn every_option_is_a_flag_of_the_command() {
        let command = Cli::command();
        let longs: Vec<String> = command
            .get_arguments()
            .chain(command.get_subcommands().flat_map(|c| c.get_arguments()))
            .filter_map(|a| a.get_long())
            .map(|long| format!("--{long}"))
            .collect();
        for option in OptionName::ALL {
            assert!(longs.iter().any(|l| l == flag(option)), "{option:?}");
        }
    }

    #[test]
    fn messages_name_flags() {
        let options = CheckOptions {
            requests: 0,
            ..CheckOptions::new(8080, "/")
        };
        let error = options.validate().unwrap_err();
        assert!(message(&error).starts_with("--requests: "), "{error}");

        let not_ok = Error::Scenario(std::sync::Arc::new(ScenarioError::NotOk {
            what: "nginx".to_string(),
            path: "/nope".to_string(),
            status: 404,
        }));
        assert!(
            message(&not_ok).ends_with("(--path or --ready-path)"),
            "{}",
            message(&not_ok)
        );
        assert!(message(&Error::NoWorkspace).ends_with("pass --workspace"));
    }
}
