//! How the library names an option when a message asks for a different one: in its own words
//! by default, and each front end spells it its own way (the CLI, as the flag to change).
//! Imports nothing, so that every layer's errors can name options.

/// An option of a check, an explanation or a run, as the library knows it: the errors that ask
/// for a different one name it by this, and each front end spells it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionName {
    /// The path requested ([`CheckOptions::path`](crate::CheckOptions::path)).
    Path,
    /// The path polled until the server is ready.
    ReadyPath,
    /// The protocol of the check's requests (HTTP/1.1, or long-lived streams).
    Protocol,
    /// The container port the server listens on.
    Port,
    /// How many requests are in flight at the stop.
    Requests,
    /// The stop's grace period.
    StopTimeout,
    /// The stop signal.
    Signal,
    /// How long after the in-flight requests the stop goes out.
    StopAfter,
    /// How long after the stop the late request goes out.
    AfterStop,
    /// How long the server may take to answer after the start.
    StartupTimeout,
    /// The steady stream's rate.
    LoadRate,
    /// The path the stream asks for.
    LoadPath,
    /// How long the stream runs.
    LoadDuration,
    /// Where the stream's client stands.
    Vantage,
    /// Which client sends the load.
    LoadClient,
    /// How many connections the load's fixed client keeps.
    LoadConnections,
    /// A rolling update instead of one stop.
    Rollout,
    /// How many replicas a rollout runs.
    Replicas,
    /// The most of the stream that may be lost.
    MaxLost,
    /// The most of the stream that may be cut.
    MaxCut,
    /// The longest the stream's 99th percentile latency may be.
    MaxP99,
    /// The project checkout graceful-server is built from.
    Workspace,
    /// The glob that narrows the scenarios by name.
    Filter,
    /// Which container engine to talk to.
    Engine,
}

impl OptionName {
    /// Every option, so that a front end can prove it spells each.
    pub const ALL: [OptionName; 24] = [
        OptionName::Path,
        OptionName::ReadyPath,
        OptionName::Protocol,
        OptionName::Port,
        OptionName::Requests,
        OptionName::StopTimeout,
        OptionName::Signal,
        OptionName::StopAfter,
        OptionName::AfterStop,
        OptionName::StartupTimeout,
        OptionName::LoadRate,
        OptionName::LoadPath,
        OptionName::LoadDuration,
        OptionName::Vantage,
        OptionName::LoadClient,
        OptionName::LoadConnections,
        OptionName::Rollout,
        OptionName::Replicas,
        OptionName::MaxLost,
        OptionName::MaxCut,
        OptionName::MaxP99,
        OptionName::Workspace,
        OptionName::Filter,
        OptionName::Engine,
    ];

    /// How the library's own messages name the option.
    pub fn words(self) -> String {
        match self {
            OptionName::Path => "the path",
            OptionName::ReadyPath => "the ready path",
            OptionName::Protocol => "the protocol",
            OptionName::Port => "the port",
            OptionName::Requests => "the number of requests in flight",
            OptionName::StopTimeout => "the stop timeout",
            OptionName::Signal => "a stop signal",
            OptionName::StopAfter => "the stop's delay after the requests",
            OptionName::AfterStop => "the late request's delay after the stop",
            OptionName::StartupTimeout => "the startup timeout",
            OptionName::LoadRate => "the load's rate",
            OptionName::LoadPath => "the load's path",
            OptionName::LoadDuration => "the load's duration",
            OptionName::Vantage => "the load's vantage",
            OptionName::LoadClient => "the load's client",
            OptionName::LoadConnections => "the load's connections",
            OptionName::Rollout => "the rollout",
            OptionName::Replicas => "the rollout's replicas",
            OptionName::MaxLost => "the most lost",
            OptionName::MaxCut => "the most cut",
            OptionName::MaxP99 => "the longest p99",
            OptionName::Workspace => "the workspace",
            OptionName::Filter => "the filter",
            OptionName::Engine => "the engine",
        }
        .to_string()
    }
}

impl std::fmt::Display for OptionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words())
    }
}
