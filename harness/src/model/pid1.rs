//! What PID 1 of a container is and which signals it takes, as read from the host's `/proc`.

use serde::Serialize;

/// PID 1 of a container as the host sees it (through the engine's `State.Pid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pid1 {
    /// Its command line, arguments joined by spaces (`/bin/sh -c server`).
    pub command: String,
    /// The signals it has a handler for (`SigCgt`), by name (`SIGTERM`), in number order.
    pub catches: Vec<String>,
    /// The signals it blocks (`SigBlk`).
    pub blocks: Vec<String>,
    /// Whether it sits in `rt_sigtimedwait`, taking signals without a handler, as tini does.
    /// While it waits the kernel shows the awaited signals unblocked, so the masks cannot tell.
    pub sigwaits: bool,
    /// Whether it takes the scenario's stop signal (caught, blocked, or awaited): if not, as
    /// PID 1 the kernel drops it.
    pub handles_stop_signal: bool,
    /// The command lines of its direct children (a shell's server, for example).
    pub children: Vec<String>,
}
