//! A Docker Swarm for the Swarm tests, as the Podman tests get their service: the engine's own
//! when it already is a manager (`.ci/run` makes one), else one made for the tests and left when
//! the last test holding it is done, so that `cargo test --workspace` on a fresh machine leaves
//! the engine as it found it. The harness itself never makes a swarm; only these tests do.

use shutdown_harness::engine::SwarmState;

/// How many tests hold the swarm, and whether the tests made it (and so must leave it).
static HELD: tokio::sync::Mutex<(usize, bool)> = tokio::sync::Mutex::const_new((0, false));

/// The swarm, held until dropped.
pub struct SwarmGuard(());

/// Makes the engine a swarm manager for as long as the guard lives, unless it already is one.
pub async fn swarm() -> SwarmGuard {
    let engine = super::engine().await;
    let mut held = HELD.lock().await;
    if held.0 == 0 {
        match engine.swarm_state().await.expect("the engine answers") {
            SwarmState::Manager => held.1 = false,
            SwarmState::Inactive => {
                engine
                    .swarm_init()
                    .await
                    .unwrap_or_else(|e| panic!("cannot make a swarm for the tests: {e}"));
                held.1 = true;
            }
            SwarmState::Other(state) => panic!(
                "the engine is in a swarm as {state}, not a manager: these tests need a manager (or no swarm at all)"
            ),
        }
    }
    held.0 += 1;
    SwarmGuard(())
}

impl Drop for SwarmGuard {
    fn drop(&mut self) {
        // Drop cannot wait on the test's runtime: the last holder leaves on a thread of its own.
        let left = std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut held = HELD.lock().await;
                held.0 = held.0.saturating_sub(1);
                if held.0 == 0 && held.1 {
                    let engine = super::engine().await;
                    let _ = engine.swarm_leave().await;
                    held.1 = false;
                }
            });
        });
        let _ = left.join();
    }
}
