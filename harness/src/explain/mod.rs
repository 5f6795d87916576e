//! `explain`: says, without any load, whether `docker stop`'s signal will reach the server in an
//! image, why, and what fixes it, from the image config, a short run's `/proc` and the Dockerfile.

mod advice;
mod dockerfile;
mod dockerfile_facts;
mod predict;
mod read;
mod render;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::engine::Engine;
use crate::engine::new_run_id;
use crate::error::{Error, Result};
use crate::model::pid1::Pid1;
use crate::model::variant::StopSignal;
use crate::option_name::OptionName;

pub use dockerfile_facts::{
    CommandFacts, DockerfileFacts, Finding, Form, ScriptFacts, explain_dockerfile,
};
pub use render::{render, render_dockerfile};

/// Docker's stop timeout when neither the image nor the caller sets one.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How to run the image for the diagnosis.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// The Dockerfile the image was built from: its findings join the diagnosis.
    pub dockerfile: Option<PathBuf>,
    /// The stop signal set at create (API 1.41 has no per-call one); None: the image's
    /// `STOPSIGNAL`, else SIGTERM.
    pub stop_signal: Option<StopSignal>,
    /// `docker stop`'s grace period, named in the prediction (the image config as the engine reports it
    /// carries no stop timeout).
    pub stop_timeout: Duration,
    /// `docker run --init`: docker-init (tini) becomes PID 1.
    pub init: bool,
    /// A container port to publish on 127.0.0.1 and wait on until `GET path` answers 2xx; None:
    /// wait until the process tree settles instead.
    pub port: Option<u16>,
    /// The path probed on `port`.
    pub path: String,
    /// The run id the short-lived container carries (label `shutdown-harness.run`), so that the
    /// invoking command's cleanup finds it.
    pub run_id: String,
    /// Cancel it to stop at once; the container is removed.
    pub cancel: tokio_util::sync::CancellationToken,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            dockerfile: None,
            stop_signal: None,
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            init: false,
            port: None,
            path: "/".to_string(),
            run_id: new_run_id(),
            cancel: tokio_util::sync::CancellationToken::new(),
        }
    }
}

/// The whole diagnosis of one image. Serialised, it is `explain --format json`: what `/proc`
/// and the image tell, with `null` where they cannot tell (whether the server drains is only
/// known under load: `check`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The image explained.
    pub image: String,
    /// PID 1 of its container, as the host's `/proc` showed it.
    pub pid1: Pid1,
    /// The stop signal `docker stop` sends (option, else the image's, else SIGTERM).
    pub stop_signal: String,
    /// Whether the stop signal reaches the server process; None when a script or a runner
    /// (npm) decides.
    pub signal_reaches_server: Option<bool>,
    /// Whether the server drains its requests in flight; None unless the facts settle it.
    pub drains: Option<bool>,
    /// The exit code that follows `docker stop`; None when the program decides.
    pub expected_exit_code: Option<i64>,
    /// The prediction in plain words.
    pub summary: String,
    /// Each fact, with where it comes from.
    pub facts: Vec<Fact>,
    /// What to change, most direct first; empty when nothing is known to need it.
    pub fixes: Vec<String>,
    /// The run id the short-lived container carried (label `shutdown-harness.run`).
    #[serde(skip)]
    pub run_id: String,
    /// What the image config says.
    #[serde(skip)]
    pub config: ImageFacts,
    /// What the short run showed.
    #[serde(skip)]
    pub observed: RunFacts,
    /// Where the stop signal goes.
    #[serde(skip)]
    pub prediction: Prediction,
    /// Whole seconds `docker stop` waits before SIGKILL.
    #[serde(skip)]
    pub stop_timeout_secs: u64,
    /// Whether the container ran with `--init`.
    #[serde(skip)]
    pub init: bool,
    /// The Dockerfile's facts, when one was given.
    #[serde(skip)]
    pub dockerfile: Option<DockerfileFacts>,
}

/// One fact of an explanation and its source: where it was read, or what recognised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// The fact.
    pub fact: String,
    /// Where it comes from (`/proc`, the image config, `Dockerfile:6`, nginx's documentation).
    pub source: String,
}

/// What the image config says about how the container starts and stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageFacts {
    /// `Config.Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Config.Cmd`.
    pub cmd: Vec<String>,
    /// What Docker executes: the entrypoint followed by the cmd (the cmd alone without one).
    pub command: Vec<String>,
    /// When the command is `<shell> -c <script>`: the script. Shell form and exec-form
    /// `["/bin/sh","-c",...]` look the same in the config; only the Dockerfile tells them apart.
    pub shell_script: Option<String>,
    /// `Config.StopSignal`, if the image sets one.
    pub stop_signal: Option<String>,
    /// `Config.User` (empty: root).
    pub user: String,
}

/// What a short run of the image showed in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunFacts {
    /// PID 1 as the host sees it.
    pub pid1: Pid1,
    /// Where PID 1's executable lives inside the container (`/bin/dash`, `/bin/busybox`).
    pub pid1_exe: Option<String>,
    /// Which shell PID 1 is, when it is one (`dash`, `bash`, `busybox`).
    pub shell: Option<String>,
    /// PID 1's direct children, with their signal masks.
    pub children: Vec<Pid1>,
    /// The fact the reading was synchronised on.
    pub synchronised_on: String,
}

/// Where the stop signal goes when `docker stop` sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Prediction {
    /// PID 1 is the server and handles the signal.
    Delivered {
        /// PID 1's command.
        to: String,
    },
    /// PID 1 is an init (tini, docker-init) that forwards the signal to its child.
    Forwarded {
        /// PID 1's command.
        by: String,
        /// The child it forwards to.
        to: String,
        /// Whether the child handles the signal: if not, it dies at once without draining.
        child_handles: bool,
    },
    /// The signal is dropped: PID 1 neither handles nor forwards it.
    Dropped {
        /// PID 1's command.
        pid1: String,
        /// Why, in words.
        why: String,
    },
    /// PID 1 handles other stop signals but not the one `docker stop` sends.
    WrongSignal {
        /// The stop signals it does handle.
        handles: Vec<String>,
        /// The one `docker stop` sends.
        stop_signal: String,
    },
    /// PID 1 is a shell that traps the signal: whether it passes it on depends on the trap.
    Trapped {
        /// PID 1's command.
        pid1: String,
    },
}

/// Explains `image` (present locally; never pulled): reads its config, runs it briefly to read
/// PID 1 from `/proc`, removes the container, and predicts where the stop signal goes.
pub async fn explain(
    engine: &Engine,
    image: &str,
    options: &ExplainOptions,
) -> Result<Explanation> {
    if let Some(problem) = crate::client::path_problem(&options.path) {
        return Err(Error::InvalidOption {
            option: OptionName::Path,
            reason: problem,
        });
    }
    if options.stop_timeout > crate::engine::MAX_STOP_TIMEOUT {
        return Err(Error::InvalidOption {
            option: OptionName::StopTimeout,
            reason: format!(
                "at most {} seconds",
                crate::engine::MAX_STOP_TIMEOUT.as_secs()
            ),
        });
    }
    let dockerfile = options
        .dockerfile
        .as_deref()
        .map(explain_dockerfile)
        .transpose()?;
    let config = read::image_facts(engine, image).await?;
    let signal = match (options.stop_signal, config.stop_signal.as_deref()) {
        (Some(signal), _) => signal,
        (None, Some(name)) => StopSignal::parse(name).ok_or_else(|| Error::UnknownStopSignal {
            image: image.to_string(),
            signal: name.to_string(),
        })?,
        (None, None) => StopSignal::Sigterm,
    };
    let run_id = options.run_id.clone();
    let observed = read::observe(engine, image, options, signal, &run_id).await?;
    let assessment = predict::assess(&observed, signal);
    let mut explanation = Explanation {
        image: image.to_string(),
        pid1: observed.pid1.clone(),
        stop_signal: signal.name().to_string(),
        signal_reaches_server: assessment.signal_reaches_server,
        drains: assessment.drains,
        expected_exit_code: assessment.expected_exit_code,
        summary: String::new(),
        facts: Vec::new(),
        fixes: Vec::new(),
        run_id,
        config,
        observed,
        prediction: assessment.prediction.clone(),
        stop_timeout_secs: options.stop_timeout.as_secs(),
        init: options.init,
        dockerfile,
    };
    explanation.summary = advice::summary(&explanation, &assessment);
    explanation.facts = advice::facts(&explanation, &assessment);
    explanation.fixes = advice::fixes(&explanation, &assessment);
    Ok(explanation)
}
