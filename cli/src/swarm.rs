//! `shutdown-harness swarm init|leave`: the explicit commands that make the engine a
//! single-node swarm manager (advertising 127.0.0.1) and undo it. The harness never does either
//! by itself; a rollout with `orchestrator = "swarm"` is skipped without one. Also the
//! `--orchestrator` flag of `check --rollout`.

use clap::{Args, Subcommand, ValueEnum};
use shutdown_harness::{Engine, EngineKind, Error, Orchestrator};

use super::EXIT_OK;
use super::stdout;

/// `swarm init` or `swarm leave`.
#[derive(Debug, Args)]
pub struct SwarmArgs {
    #[command(subcommand)]
    pub action: SwarmAction,
}

/// What to do with the engine's swarm.
#[derive(Debug, Subcommand)]
pub enum SwarmAction {
    /// Make the engine a single-node swarm manager on 127.0.0.1, for rollouts with
    /// `orchestrator = "swarm"` (nothing changes if it already is in a swarm).
    Init,
    /// Leave the swarm (forcing, as the last manager must) and remove the bridge it left.
    Leave,
}

/// Who runs `check --rollout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrchestratorArg {
    /// The harness, in Kubernetes' order of termination.
    Emulated,
    /// A Docker Swarm rolling update (start-first, one task at a time); needs `swarm init`.
    Swarm,
}

impl OrchestratorArg {
    /// The library's value.
    pub fn orchestrator(self) -> Orchestrator {
        match self {
            OrchestratorArg::Emulated => Orchestrator::Emulated,
            OrchestratorArg::Swarm => Orchestrator::swarm(),
        }
    }
}

/// Refuses the emulation's flags (`given`: each flag's name and whether it was given) on a
/// Swarm rollout: Swarm has nothing they could set, and a run would test something else. The
/// refusal's message, naming the first flag given; None when there is nothing to refuse.
pub fn refuse_emulated_flags(
    orchestrator: OrchestratorArg,
    given: &[(&'static str, bool)],
) -> Option<String> {
    if orchestrator != OrchestratorArg::Swarm {
        return None;
    }
    given.iter().find(|(_, given)| *given).map(|(flag, _)| {
        format!(
            "--{flag}: has no Swarm equivalent (Swarm runs no hook, allocates task addresses itself, and the balancer finds tasks through DNS alone): leave it out with --orchestrator swarm"
        )
    })
}

/// Runs `swarm init` or `swarm leave`, saying what it did.
pub async fn swarm_command(args: &SwarmArgs, engine: Option<EngineKind>) -> Result<u8, Error> {
    let engine = Engine::connect_to(engine).await?;
    match args.action {
        SwarmAction::Init => {
            if engine.swarm_init().await? {
                stdout::println(
                    "the engine is now a single-node swarm manager on 127.0.0.1; `shutdown-harness swarm leave` undoes it",
                );
            } else {
                stdout::println("the engine already is in a swarm: nothing changed");
            }
        }
        SwarmAction::Leave => {
            if engine.swarm_leave().await? {
                stdout::println("the engine left its swarm");
            } else {
                stdout::println("the engine is in no swarm: nothing changed");
            }
        }
    }
    Ok(EXIT_OK)
}
